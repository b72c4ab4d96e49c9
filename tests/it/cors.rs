//! What browsers are told: CORS only on the endpoints browser-based clients call (token,
//! revocation, introspection, userinfo, JWKS and discovery), never on the authorization
//! endpoint, the pages or the admin API; and the page security headers on every page, error
//! pages included.

use poem::http::{HeaderMap, Method, StatusCode};

use crate::inproc::{InProc, REDIRECT, WEB_SECRET, basic};

const ORIGIN: &str = "https://spa.example.net";

/// Asserts the page security headers: a CSP that forbids framing and names no external source,
/// `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer` and `X-Content-Type-Options: nosniff`.
#[track_caller]
pub fn assert_security_headers(headers: &HeaderMap) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
            .to_owned()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("http:") && !csp.contains("https:") && !csp.contains('*'),
        "no external sources: {csp}"
    );
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-content-type-options"), "nosniff");
}

fn preflight_headers(method: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("origin", ORIGIN),
        ("access-control-request-method", method),
        ("access-control-request-headers", "authorization, content-type"),
    ]
}

#[tokio::test]
async fn preflights_to_the_browser_client_endpoints_are_allowed_from_any_origin_without_credentials() {
    let mut s = InProc::new("").await;
    for (path, method) in [
        ("/oauth/token", "POST"),
        ("/oauth/revoke", "POST"),
        ("/oauth/introspect", "POST"),
        ("/oauth/userinfo", "GET"),
        ("/oauth/userinfo", "POST"),
        ("/.well-known/jwks.json", "GET"),
        ("/.well-known/openid-configuration", "GET"),
        ("/.well-known/oauth-authorization-server", "GET"),
    ] {
        let reply = s
            .send(Method::OPTIONS, path, None, &preflight_headers(method))
            .await;
        assert!(reply.status.is_success(), "{path}: {}", reply.status);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{path}");
        let methods = reply.header("access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains(method), "{path}: {methods}");
        let allowed = reply
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{path}: {allowed}"
        );
        assert!(
            reply.header("access-control-allow-credentials").is_none(),
            "{path}: never with credentials"
        );
    }
}

/// Regression: the preflight allowed only `Authorization, Content-Type`, so Swagger UI (which
/// always sends `X-Requested-With`) in another origin failed to fetch the token endpoint. The
/// headers asked for are allowed when each is a field name; a malformed list gets only the
/// fixed ones, and never credentials.
#[tokio::test]
async fn a_preflight_asking_for_x_requested_with_is_allowed_and_a_malformed_header_name_is_not() {
    let mut s = InProc::new("").await;
    let ask = |headers: &'static str| {
        [
            ("origin", ORIGIN),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", headers),
        ]
    };
    let reply = s
        .send(
            Method::OPTIONS,
            "/oauth/token",
            None,
            &ask("X-Requested-With, Content-Type"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let allowed: Vec<String> = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for name in ["x-requested-with", "content-type", "authorization"] {
        assert!(allowed.iter().any(|a| a == name), "{name} in {allowed:?}");
    }
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert!(reply.header("access-control-allow-credentials").is_none());
    assert!(
        reply
            .header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("access-control-request-headers")),
        "the answer depends on the request: {:?}",
        reply.headers
    );

    let reply = s
        .send(
            Method::OPTIONS,
            "/oauth/token",
            None,
            &ask("X-Requested-With, bad(name)"),
        )
        .await;
    let allowed = reply
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        !allowed.contains("bad") && !allowed.contains("x-requested-with"),
        "{allowed}"
    );
    assert!(allowed.contains("authorization"), "{allowed}");
    assert!(reply.header("access-control-allow-credentials").is_none());

    // Paths without CORS stay without it, whatever the preflight asks.
    let reply = s
        .send(
            Method::OPTIONS,
            "/oauth/authorize",
            None,
            &ask("X-Requested-With"),
        )
        .await;
    assert!(reply.header("access-control-allow-origin").is_none());
    assert!(reply.header("access-control-allow-headers").is_none());
}

#[tokio::test]
async fn answers_of_the_browser_client_endpoints_are_readable_cross_origin_errors_included() {
    let mut s = InProc::new("").await;
    let with_origin = [("origin", ORIGIN)];
    let auth = basic("web", WEB_SECRET);
    let replies = [
        (
            "jwks",
            s.send(Method::GET, "/.well-known/jwks.json", None, &with_origin)
                .await,
        ),
        (
            "discovery",
            s.send(
                Method::GET,
                "/.well-known/openid-configuration",
                None,
                &with_origin,
            )
            .await,
        ),
        (
            "token",
            s.send(
                Method::POST,
                "/oauth/token",
                Some("grant_type=client_credentials&scope=profile".into()),
                &[("origin", ORIGIN), ("authorization", &auth)],
            )
            .await,
        ),
        (
            "token with a wrong secret",
            s.send(
                Method::POST,
                "/oauth/token",
                Some("grant_type=client_credentials".into()),
                &[("origin", ORIGIN), ("authorization", &basic("web", "wrong"))],
            )
            .await,
        ),
        (
            "revocation",
            s.send(
                Method::POST,
                "/oauth/revoke",
                Some("token=unknown".into()),
                &[("origin", ORIGIN), ("authorization", &auth)],
            )
            .await,
        ),
        (
            "introspection",
            s.send(
                Method::POST,
                "/oauth/introspect",
                Some("token=unknown".into()),
                &[("origin", ORIGIN), ("authorization", &auth)],
            )
            .await,
        ),
        (
            "userinfo",
            s.send(Method::GET, "/oauth/userinfo", None, &with_origin).await,
        ),
    ];
    for (what, reply) in &replies {
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some("*"),
            "{what}: {} {}",
            reply.status,
            reply.body
        );
        assert!(
            reply.header("access-control-allow-credentials").is_none(),
            "{what}"
        );
    }
    let (_, jwks) = &replies[0];
    assert_eq!(jwks.status, StatusCode::OK);
    let (_, denied) = &replies[3];
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    let exposed = denied
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("www-authenticate"),
        "a browser client can read the challenge: {exposed}"
    );
}

#[tokio::test]
async fn the_authorization_endpoint_the_pages_and_the_admin_api_have_no_cors() {
    let mut s = InProc::new("").await;
    let authorize = InProc::authorize_uri("web", REDIRECT, &[]);
    for path in [
        authorize.as_str(),
        "/oauth/authorize",
        "/oauth/consent",
        "/oauth/logout",
        "/oauth/logout/confirm",
        "/login",
        "/logout",
        "/",
        "/setup",
        "/docs",
        "/openapi.json",
        "/api/v1/users",
        "/api/v1/clients",
        "/healthz",
    ] {
        for method in ["GET", "POST"] {
            let preflight = s
                .send(Method::OPTIONS, path, None, &preflight_headers(method))
                .await;
            let plain = s
                .send(
                    method.parse().expect("a method"),
                    path,
                    (method == "POST").then(String::new),
                    &[("origin", ORIGIN)],
                )
                .await;
            for (what, reply) in [("preflight", &preflight), ("request", &plain)] {
                let cors: Vec<_> = reply
                    .headers
                    .keys()
                    .filter(|k| k.as_str().starts_with("access-control-"))
                    .collect();
                assert!(cors.is_empty(), "{method} {path} {what}: {cors:?}");
            }
        }
    }
}

#[tokio::test]
async fn every_page_carries_the_security_headers_error_pages_included() {
    let mut s = InProc::new("").await;
    let authorize = InProc::authorize_uri("web", REDIRECT, &[]);
    let long_query = format!("/oauth/authorize?state={}", "a".repeat(48 * 1024));
    let big_body = format!("state={}", "a".repeat(70 * 1024));
    let cases: Vec<(Method, &str, Option<String>)> = vec![
        (Method::GET, "/", None),
        (Method::GET, "/login", None),
        (Method::POST, "/login", Some("username=a&password=b".into())),
        (Method::POST, "/logout", Some(String::new())),
        (Method::GET, authorize.as_str(), None),
        (Method::POST, authorize.as_str(), Some(String::new())),
        (Method::GET, "/oauth/authorize", None),
        (Method::GET, "/oauth/authorize?client_id=nobody", None),
        (Method::POST, "/oauth/authorize", Some(big_body.clone())),
        (Method::GET, long_query.as_str(), None),
        (Method::POST, "/oauth/consent", Some("request=x".into())),
        (Method::GET, "/oauth/logout", None),
        (Method::POST, "/oauth/logout", Some(String::new())),
        (Method::POST, "/oauth/logout/confirm", Some("request=x".into())),
        (Method::GET, "/setup", None),
        (Method::GET, "/setup?token=guess", None),
        (Method::POST, "/setup", Some("token=guess".into())),
        (Method::GET, "/static/style.css", None),
        (Method::GET, "/docs", None),
        (Method::GET, "/no/such/page", None),
        (Method::GET, "/oauth/authorize/extra", None),
        (Method::GET, "/static/missing.css", None),
        (Method::PUT, "/login", Some(String::new())),
        (Method::DELETE, "/", None),
        (Method::GET, "/oauth/consent", None),
    ];
    let mut statuses = Vec::new();
    for (method, path, body) in cases {
        let reply = s.send(method.clone(), path, body, &[]).await;
        let shown: String = path.chars().take(60).collect();
        statuses.push(reply.status);
        assert!(
            reply.status != StatusCode::INTERNAL_SERVER_ERROR,
            "{method} {shown}: {}",
            reply.body
        );
        if !reply.headers.contains_key("content-security-policy") {
            panic!(
                "{method} {shown} ({}) has no CSP: {:?}",
                reply.status, reply.headers
            );
        }
        assert_security_headers(&reply.headers);
    }
    for expected in [
        StatusCode::OK,
        StatusCode::NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED,
        StatusCode::FORBIDDEN,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::URI_TOO_LONG,
    ] {
        assert!(
            statuses.contains(&expected),
            "the cases should cover a {expected} page: {statuses:?}"
        );
    }
}
