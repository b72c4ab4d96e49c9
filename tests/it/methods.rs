//! Method routing, in process: a method a path does not answer gets 405 with an `Allow` header
//! (RFC 9110 section 15.5.6), and every method that header names is one the path answers. The
//! paths are those of the OpenAPI document and the HTML pages.

use poem::http::{Method, StatusCode};

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
