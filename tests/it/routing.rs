//! What the server answers before any operation runs, in process: the routes are exactly the
//! route table's (`latchkey::web::ROUTES`), a method a path does not answer gets 405 with an
//! `Allow` header (RFC 9110 section 15.5.6) that names exactly the methods the path answers, and
//! a body over the size limit gets 413 in the error format of the API it was sent to.

use std::collections::BTreeSet;

use latchkey::web::{ROUTES, Serve, allow_value, find_route};
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::inproc::{ISSUER, InProc, REDIRECT};

/// A path the template matches: a `{parameter}` segment becomes a value that names nothing.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| if seg.starts_with('{') { "nobody" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// The methods the OpenAPI document lists for one path item, upper-case.
fn documented_methods(item: &Value) -> Vec<Method> {
    item.as_object()
        .expect("a path item is an object")
        .keys()
        .filter(|k| k.as_str() != "parameters")
        .map(|k| Method::from_bytes(k.to_ascii_uppercase().as_bytes()).expect("a method"))
        .collect()
}

/// Every route the table lists, as (a concrete path, the `Allow` value it must have); the admin
/// API's tree stands for the documented paths under it.
fn table_paths(document: &Value) -> Vec<(String, String)> {
    let documented = document["paths"].as_object().expect("the document has paths");
    let mut out = Vec::new();
    for route in &ROUTES {
        match route.methods() {
            Some(methods) => out.push((concrete(route.path), allow_value(&methods))),
            None => {
                let under: Vec<_> = documented.iter().filter(|(t, _)| route.matches(t)).collect();
                assert!(
                    !under.is_empty(),
                    "{}: no documented path under this tree",
                    route.path
                );
                for (template, item) in under {
                    out.push((concrete(template), allow_value(&documented_methods(item))));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_405_names_exactly_the_methods_its_path_answers() {
    let mut server = InProc::new("").await;
    let document = server.get("/openapi.json").await.json();
    let probes = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];

    for (path, expected) in table_paths(&document) {
        let refused = server.send(Method::TRACE, &path, None, &[]).await;
        assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "TRACE {path}");
        let allow = refused
            .header("allow")
            .unwrap_or_else(|| panic!("TRACE {path}: 405 without Allow"))
            .to_owned();
        assert_eq!(
            allow, expected,
            "TRACE {path}: the Allow header is not the table's"
        );
        let allowed: Vec<&str> = allow.split(',').map(str::trim).collect();
        for name in &allowed {
            let method = Method::from_bytes(name.as_bytes())
                .unwrap_or_else(|e| panic!("{path}: `{name}` in Allow is not a method: {e}"));
            // No credentials, no CSRF token, no body: nothing changes, but the route answers.
            let answered = server.send(method, &path, None, &[]).await;
            assert_ne!(
                answered.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{name} {path} is in `Allow: {allow}` but answers 405"
            );
        }
        for method in probes.iter().filter(|m| !allowed.contains(&m.as_str())) {
            let answered = server.send(method.clone(), &path, None, &[]).await;
            assert_eq!(
                answered.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is not in `Allow: {allow}` but is answered"
            );
        }
    }
}

#[tokio::test]
async fn every_documented_path_is_in_the_route_table_with_the_documents_methods() {
    let mut server = InProc::new("").await;
    let document = server.get("/openapi.json").await.json();
    let documented = document["paths"].as_object().expect("the document has paths");
    for (template, item) in documented {
        let route = find_route(template).unwrap_or_else(|| panic!("{template} is not in the route table"));
        let mut methods = documented_methods(item);
        match route.serve {
            Serve::OpenApi(listed) => {
                let mut listed = listed.to_vec();
                listed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                assert_eq!(
                    listed, methods,
                    "{template}: the table's methods are not the document's"
                );
            }
            Serve::OpenApiTree => {}
            Serve::Handlers(_) => panic!("{template} is documented but routed to a page"),
        }
    }
    for route in ROUTES.iter().filter(|r| matches!(r.serve, Serve::OpenApi(_))) {
        assert!(
            documented.contains_key(route.path),
            "{} is served by the OpenAPI service but not documented",
            route.path
        );
    }
}

/// The local paths a page links to or sends its forms to.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "action=\""] {
        for (start, _) in html.match_indices(attr) {
            let rest = &html[start + attr.len()..];
            let value = &rest[..rest.find('"').unwrap_or(0)];
            if value.starts_with('/') {
                out.push(value.split(['?', '#']).next().unwrap_or_default().to_owned());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_server_answers_no_route_that_is_not_in_the_table() {
    let mut server = InProc::new("").await;
    // Every path the server names: the discovery document's endpoints, what its pages link to and
    // where they send forms and redirects, and every route of the table with its parents and a
    // child that names nothing.
    let mut paths = BTreeSet::new();
    let discovery = server.get("/.well-known/openid-configuration").await.json();
    for value in discovery.as_object().expect("an object").values() {
        if let Some(path) = value.as_str().and_then(|v| v.strip_prefix(ISSUER))
            && path.starts_with('/')
        {
            paths.insert(path.to_owned());
        }
    }
    let authorize = InProc::authorize_uri("web", REDIRECT, &[("scope", "openid")]);
    for page in ["/", "/login", authorize.as_str()] {
        let reply = server.get(page).await;
        paths.extend(links(&reply.body));
        if let Some(location) = reply.header("location").filter(|l| l.starts_with('/')) {
            paths.insert(location.split('?').next().unwrap_or_default().to_owned());
        }
    }
    for route in &ROUTES {
        let path = concrete(route.path);
        let mut parent = String::new();
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            parent.push('/');
            parent.push_str(seg);
            paths.insert(parent.clone());
        }
        paths.insert(format!("{}/nothing", path.trim_end_matches('/')));
        paths.insert(path);
    }
    assert!(
        paths.contains("/oauth/authorize") && paths.contains("/login"),
        "{paths:?}"
    );

    for path in &paths {
        for method in [Method::GET, Method::POST] {
            let reply = server.send(method.clone(), path, None, &[]).await;
            if reply.status != StatusCode::NOT_FOUND {
                assert!(
                    find_route(path).is_some(),
                    "{method} {path} answers {} but is not in the route table",
                    reply.status
                );
            }
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
