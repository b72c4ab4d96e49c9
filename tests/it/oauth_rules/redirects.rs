//! Redirect rules: untrusted clients and redirect URIs get a page, loopback ports, `iss`, 303 after POST, `state`.

use super::*;

#[tokio::test]
async fn missing_unknown_or_mismatched_client_or_redirect_uri_shows_a_page_and_never_redirects() {
    let mut s = InProc::new("").await;
    for uri in [
        "/oauth/authorize?response_type=code".to_owned(),
        InProc::authorize_uri("nobody", REDIRECT, &[]),
        InProc::authorize_uri("web", "https://evil.example/cb", &[]),
        InProc::authorize_uri("web", "https://APP.example.com/cb", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb/", &[]),
        InProc::authorize_uri("web", "https://app.example.com.evil/cb", &[]),
        InProc::authorize_uri("web", "https://a@b@app.example.com/cb", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb/..;/x", &[]),
        InProc::authorize_uri("web", "https://app.example.com/%2e%2e/cb", &[]),
        InProc::authorize_uri("web", "JaVaScRiPt:alert(1)", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb%09", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb%0a", &[]),
        InProc::authorize_uri("web", "https://app.example.com/cb%0d", &[]),
        InProc::authorize_uri("spa", "http://localhost:9000/cb", &[]),
        InProc::authorize_uri("spa", "http://127.0.0.1:9000/cb?x=1", &[]),
    ] {
        let reply = s.get(&uri).await;
        assert_error_page(&reply);
    }
}

#[tokio::test]
async fn loopback_redirect_uris_match_any_port() {
    let mut s = InProc::new("").await;
    let reply = s
        .authorize(&InProc::authorize_uri("spa", "http://127.0.0.1:41234/cb", &[]))
        .await;
    assert!(
        reply.location().starts_with("http://127.0.0.1:41234/cb?code="),
        "{}",
        reply.location()
    );
}

#[tokio::test]
async fn every_authorization_response_carries_iss_errors_included() {
    let mut s = InProc::new("").await;
    let ok = s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(ok.location_param("iss").as_deref(), Some(ISSUER));
    let err = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("response_type", "token")],
        ))
        .await;
    assert_eq!(
        err.location_param("error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(err.location_param("iss").as_deref(), Some(ISSUER));
    assert_eq!(err.location_param("state").as_deref(), Some("xyz"));
    let meta = s.get("/.well-known/oauth-authorization-server").await.json();
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["issuer"], ISSUER);
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
}

#[tokio::test]
async fn redirects_after_a_post_use_303() {
    let mut s = InProc::new("").await;
    let login = s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let after_login = s.login_from(&login, "alice", PASSWORD).await;
    assert_eq!(after_login.status, StatusCode::SEE_OTHER);
    let consent = s.get(after_login.location()).await;
    let (csrf, request) = (consent.field("csrf"), consent.field("request"));
    let done = s
        .post(
            "/oauth/consent",
            &[("csrf", &csrf), ("request", &request), ("decision", "allow")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let uri = InProc::authorize_uri("web", REDIRECT, &[]);
    let query = uri.split_once('?').unwrap().1.to_owned();
    let post_authorize = s
        .send(poem::http::Method::POST, "/oauth/authorize", Some(query), &[])
        .await;
    assert_eq!(post_authorize.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn authorization_requests_work_by_post_as_by_get_and_ignore_unknown_parameters() {
    let mut s = InProc::new("").await;
    s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let uri = InProc::authorize_uri("web", REDIRECT, &[("unknown_param", "1"), ("another", "x")]);
    let query = uri.split_once('?').unwrap().1.to_owned();
    let reply = s
        .send(poem::http::Method::POST, "/oauth/authorize", Some(query), &[])
        .await;
    assert!(reply.location_param("code").is_some(), "{}", reply.location());
}

#[tokio::test]
async fn state_round_trips_exactly_and_an_overlong_state_is_invalid_request() {
    let mut s = InProc::new("").await;
    let state = format!("{}&=+ %é\u{1f511}", "s".repeat(500));
    let reply = s
        .authorize(&InProc::authorize_uri("web", REDIRECT, &[("state", &state)]))
        .await;
    assert_eq!(reply.location_param("state").as_deref(), Some(state.as_str()));
    let long = "s".repeat(3000);
    let reply = s
        .get(&InProc::authorize_uri("web", REDIRECT, &[("state", &long)]))
        .await;
    assert_eq!(reply.location_param("error").as_deref(), Some("invalid_request"));
}

// Codes and PKCE
