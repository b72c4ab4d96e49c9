//! What the server answers before any operation runs, in process: a method a path does not
//! answer gets 405 with an `Allow` header (RFC 9110 section 15.5.6) that names exactly the
//! methods the path answers (the paths of the OpenAPI document and the HTML pages), and a body
//! over the size limit gets 413 in the error format of the API it was sent to.

use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::inproc::InProc;

/// The pages and other routes outside the OpenAPI document.
const PAGES: [&str; 14] = [
    "/",
    "/login",
    "/logout",
    "/oauth/authorize",
    "/oauth/consent",
    "/oauth/logout",
    "/oauth/logout/confirm",
    "/setup",
    "/setup/",
    "/static/style.css",
    "/openapi.json",
    "/docs",
    "/docs/",
    "/docs/oauth-receiver.html",
];

#[tokio::test]
async fn a_405_names_exactly_the_methods_its_path_answers() {
    let mut server = InProc::new("").await;
    let spec = server.get("/openapi.json").await.json();
    let mut paths: Vec<String> = spec["paths"]
        .as_object()
        .expect("the document has paths")
        .keys()
        // A `{parameter}` segment becomes a value that names nothing.
        .map(|template| {
            template
                .split('/')
                .map(|seg| if seg.starts_with('{') { "nobody" } else { seg })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    paths.extend(PAGES.iter().map(|p| (*p).to_owned()));

    for path in &paths {
        let refused = server.send(Method::TRACE, path, None, &[]).await;
        assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "TRACE {path}");
        let allow = refused
            .header("allow")
            .unwrap_or_else(|| panic!("TRACE {path}: 405 without Allow"))
            .to_owned();
        for name in allow.split(',').map(str::trim) {
            let method = Method::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("{path}: `{name}` in Allow is not a method: {e}"));
            // No credentials, no CSRF token, no body: nothing changes, but the route answers.
            let answered = server.send(method, path, None, &[]).await;
            assert_ne!(
                answered.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{name} {path} is in `Allow: {allow}` but answers 405"
            );
        }
    }
}

#[tokio::test]
async fn an_oversized_body_is_an_rfc_6749_error_at_the_token_endpoint_and_a_problem_under_the_admin_api() {
    let mut server = InProc::new("").await;
    let huge = "x".repeat(latchkey::web::MAX_BODY + 1);

    let token = server
        .send(
            Method::POST,
            "/oauth/token",
            Some(format!("grant_type={huge}")),
            &[],
        )
        .await;
    assert_eq!(token.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(token.json()["error"], "invalid_request", "{}", token.body);

    let admin = server
        .send_json(
            Method::POST,
            "/api/v1/users",
            Some(&json!({ "username": huge })),
            &[("authorization", "Bearer whatever")],
        )
        .await;
    assert_eq!(admin.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(admin.header("content-type"), Some("application/problem+json"));
    assert_eq!(admin.header("cache-control"), Some("no-store"));
    let problem = admin.json();
    assert_eq!(problem["status"], 413, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/too-large")),
        "{problem}"
    );
}
