//! Who may call the admin API: no token, bad and throttled tokens, expired or revoked ones, tokens
//! without the admin scope, and users or clients that lost the right after getting a token.

use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::admin_fixture::*;
use crate::inproc::{ISSUER, InProc, PASSWORD, basic};

#[tokio::test]
async fn admin_calls_without_a_token_are_401_problems_with_www_authenticate() {
    let mut a = Admin::new().await;
    for (method, path, body) in operations() {
        let what = format!("{method} {path}");
        for auth in [
            None,
            Some("Bearer".to_owned()),
            Some("Bearer ".to_owned()),
            Some("Bearer not-a-jwt".to_owned()),
            Some(basic("ops", OPS_SECRET)),
            Some(format!("Bearer {}x", a.token)),
        ] {
            let headers: Vec<(&str, &str)> = auth.iter().map(|v| ("authorization", v.as_str())).collect();
            let reply = a.s.send_json(method.clone(), path, body.as_ref(), &headers).await;
            let problem = assert_problem(&reply, 401, "unauthorized");
            let challenge = reply.header("www-authenticate").unwrap_or("");
            assert!(
                challenge.starts_with("Bearer"),
                "{what} with {auth:?}: WWW-Authenticate names Bearer, not `{challenge}`"
            );
            assert!(problem["detail"].is_string(), "{problem}");
        }
    }
    assert_untouched(&mut a).await;
}

#[tokio::test]
async fn bad_admin_tokens_from_one_address_are_throttled_with_retry_after() {
    let mut a = Admin::new().await;
    let bad = format!("{}x", a.token);
    for n in 0..50 {
        let reply = a.call_as(Some(&bad), Method::GET, "/api/v1/users", None).await;
        assert!(
            reply.status == StatusCode::UNAUTHORIZED,
            "attempt {n}: {}",
            reply.body
        );
    }
    let throttled = a.call_as(Some(&bad), Method::GET, "/api/v1/users", None).await;
    let problem = assert_problem(&throttled, 429, "too-many-requests");
    let wait: u64 = throttled
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in seconds: {throttled:?}"));
    assert!(wait >= 1, "{problem}");
    assert_eq!(throttled.header("cache-control"), Some("no-store"));
    // While the address waits, even a good token from it waits: nothing is checked.
    let waiting = a.call(Method::GET, "/api/v1/users", None).await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS, "{}", waiting.body);
    // Another address is not affected: no lock-out of the real administrator.
    a.s.set_peer("198.51.100.99:40000".parse().expect("a socket address"));
    a.get("/api/v1/users").await;
    // Nor is the first address once the delay has passed.
    a.s.set_peer(PEER.parse().expect("a socket address"));
    a.s.advance(wait);
    a.get("/api/v1/users").await;
}

#[tokio::test]
async fn an_expired_or_revoked_admin_token_is_401() {
    let mut a = Admin::new().await;
    a.get("/api/v1/users").await;
    a.s.advance(ACCESS_TOKEN_LIFETIME - 1);
    a.get("/api/v1/users").await;
    a.s.advance(2);
    for (method, path, body) in operations() {
        let reply = a.call(method, path, body).await;
        assert_problem(&reply, 401, "unauthorized");
        assert!(reply.header("www-authenticate").is_some());
    }
    // A fresh token works; revoked, it stops.
    a.token = ops_token(&mut a.s).await;
    a.get("/api/v1/users").await;
    let revoked =
        a.s.post_with(
            "/oauth/revoke",
            &[("token", &a.token)],
            &[("authorization", &basic("ops", OPS_SECRET))],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_problem(
        &a.call(Method::GET, "/api/v1/users", None).await,
        401,
        "unauthorized",
    );
    a.token = ops_token(&mut a.s).await;
    assert_untouched(&mut a).await;
}

#[tokio::test]
async fn a_token_without_the_admin_scope_is_403() {
    let mut a = Admin::new().await;
    // A client's own token, and alice's token from the code flow, neither with `admin`.
    let client_token = access_token(&a.s.token(&[("grant_type", "client_credentials")]).await);
    let code = a.s.code(&[]).await;
    let user_token = access_token(&a.s.exchange(&code).await);
    let console = console_code_flow(&mut a.s, "alice", PASSWORD, "openid profile").await;
    let console_token = access_token(&console);
    for token in [&client_token, &user_token, &console_token] {
        for (method, path, body) in operations() {
            let reply = a.call_as(Some(token), method, path, body).await;
            let problem = assert_problem(&reply, 403, "forbidden");
            assert!(
                problem["detail"].as_str().is_some_and(|d| d.contains("admin")),
                "{problem}"
            );
        }
    }
    assert_untouched(&mut a).await;
}

#[tokio::test]
async fn a_non_admin_user_cannot_obtain_the_admin_scope() {
    let mut a = Admin::new().await;
    let grant = password_grant(&mut a.s, "alice", PASSWORD, "openid admin").await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST, "{}", grant.body);
    assert_eq!(grant.json()["error"], "invalid_scope");
    let only_admin = password_grant(&mut a.s, "alice", PASSWORD, "admin").await;
    assert_eq!(only_admin.json()["error"], "invalid_scope");

    // The code flow sends her back to the client with access_denied, with no code.
    let uri = InProc::authorize_uri("console", CONSOLE_REDIRECT, &[("scope", "openid admin")]);
    let page = a.s.get(&uri).await;
    let mut reply = a.s.login_from(&page, "alice", PASSWORD).await;
    for _ in 0..3 {
        if reply.status == StatusCode::SEE_OTHER && reply.location().starts_with('/') {
            let next = reply.location().to_owned();
            reply = a.s.get(&next).await;
        }
    }
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(
        reply.location().starts_with(CONSOLE_REDIRECT),
        "{}",
        reply.location()
    );
    assert_eq!(reply.location_param("error").as_deref(), Some("access_denied"));
    assert_eq!(reply.location_param("code"), None);
    // Signed in now, she is refused at once, and the docs client refuses her too.
    let again = a.s.get(&uri).await;
    assert_eq!(again.location_param("error").as_deref(), Some("access_denied"));
    let docs = InProc::authorize_uri(
        "latchkey-docs",
        &format!("{ISSUER}/docs/oauth-receiver.html"),
        &[("scope", "openid admin")],
    );
    let docs = a.s.get(&docs).await;
    assert_eq!(docs.location_param("error").as_deref(), Some("access_denied"));
    // A client not registered for `admin` cannot have it for itself either.
    let web =
        a.s.token(&[("grant_type", "client_credentials"), ("scope", "admin")])
            .await;
    assert_eq!(web.status, StatusCode::BAD_REQUEST, "{}", web.body);
    assert_eq!(web.json()["error"], "invalid_scope");
}

#[tokio::test]
async fn an_administrator_token_from_the_code_flow_or_password_grant_opens_the_api() {
    let mut a = Admin::new().await;
    add_admin(&a.s, "root").await;
    let from_code = access_token(&console_code_flow(&mut a.s, "root", ROOT_PASSWORD, "openid admin").await);
    let from_password = access_token(&password_grant(&mut a.s, "root", ROOT_PASSWORD, "admin").await);
    for token in [&from_code, &from_password] {
        let reply = a
            .call_as(Some(token), Method::GET, "/api/v1/users?search=root", None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(usernames(&reply.json()), ["root"]);
    }
    let reply = a
        .call_as(
            Some(&from_code),
            Method::POST,
            "/api/v1/users",
            Some(json!({ "username": "made-by-root" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let (events, _) = a.audit_feed(500).await;
    assert_eq!(
        event(&events, "user.create", Some("made-by-root"))["actor"],
        "root"
    );
}

#[tokio::test]
async fn a_user_removed_from_admins_after_getting_a_token_is_403_and_a_disabled_or_deleted_one_401() {
    let mut a = Admin::new().await;
    add_admin(&a.s, "root").await;
    // Another administrator, so that root is not the last one (which could not be demoted).
    add_admin(&a.s, "keeper").await;
    let token = access_token(&password_grant(&mut a.s, "root", ROOT_PASSWORD, "openid admin").await);
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK);

    a.expect(
        200,
        Method::PATCH,
        "/api/v1/users/root",
        Some(json!({ "groups": ["staff"] })),
    )
    .await;
    for (method, path, body) in operations() {
        let reply = a.call_as(Some(&token), method, path, body).await;
        assert_problem(&reply, 403, "forbidden");
    }
    // Back in the group, the same token works again.
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/users/root",
        Some(json!({ "groups": ["admins"] })),
    )
    .await;
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    a.expect(200, Method::POST, "/api/v1/users/root/disable", None)
        .await;
    // Disabling revokes the user's tokens outright, and enabling does not bring them back.
    let disabled = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_problem(&disabled, 401, "unauthorized");
    a.expect(200, Method::POST, "/api/v1/users/root/enable", None)
        .await;
    let enabled = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_problem(&enabled, 401, "unauthorized");
    // A deleted administrator's token is refused too.
    let token = access_token(&password_grant(&mut a.s, "root", ROOT_PASSWORD, "admin").await);
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    a.expect_done(Method::DELETE, "/api/v1/users/root", None).await;
    assert_problem(
        &a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await,
        401,
        "unauthorized",
    );
    assert_untouched(&mut a).await;
}

/// Regression: a client's admin token kept working after the client was deleted or lost the
/// `admin` scope, where a person's is checked against the `admins` group at every call.
#[tokio::test]
async fn a_client_deleted_or_stripped_of_admin_after_getting_a_token_is_refused() {
    let mut a = Admin::new().await;
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "client_id": "robot", "grant_types": ["client_credentials"], "scopes": ["admin", "reports"] })),
        )
        .await;
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let token = client_admin_token(&mut a.s, "robot", &secret).await;
    let ok = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/clients/robot",
        Some(json!({ "scopes": ["reports"] })),
    )
    .await;
    let stripped = a.call_as(Some(&token), Method::GET, "/api/v1/users", None).await;
    assert_problem(&stripped, 403, "forbidden");
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/clients/robot",
        Some(json!({ "scopes": ["admin"] })),
    )
    .await;
    let token = client_admin_token(&mut a.s, "robot", &secret).await;
    a.expect_done(Method::DELETE, "/api/v1/clients/robot", None).await;
    let deleted = a
        .call_as(Some(&token), Method::POST, "/api/v1/keys/rotate", None)
        .await;
    assert_problem(&deleted, 401, "unauthorized");
}
