//! The RP-Initiated Logout plan's cases.

use super::*;

const LOGGED_OUT: &str = "https://app.example.com/logged-out";

async fn signed_in_with_hint(s: &mut InProc) -> String {
    let tokens = code_flow(s, &[("scope", "openid")]).await;
    id_token(&tokens).to_owned()
}

async fn still_signed_in(s: &mut InProc) -> bool {
    let reply = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("prompt", "none")],
        ))
        .await;
    reply.location_param("code").is_some()
}

fn logout_uri(pairs: &[(&str, &str)]) -> String {
    format!("/oauth/logout?{}", crate::inproc::form(pairs))
}

#[tokio::test]
async fn rp_logout_with_a_valid_hint_redirects_with_state_and_ends_single_sign_on() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "bye"),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), format!("{LOGGED_OUT}?state=bye"));
    assert!(!still_signed_in(&mut s).await);
}

/// Streamlit sends its login redirect URI as `post_logout_redirect_uri`. With a valid hint the
/// user is signed out all the same, and the page names the URI to register; nothing redirects.
#[tokio::test]
async fn rp_logout_unregistered_post_logout_redirect_uri_signs_out_without_redirecting() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", "https://evil.example/out"),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.header("location").is_none());
    assert!(reply.body.contains("https://evil.example/out"), "{}", reply.body);
    assert!(reply.body.contains("post-logout redirect URI"), "{}", reply.body);
    assert!(!still_signed_in(&mut s).await);
}

/// The review finding: any server-signed JWT signed out whoever was signed in. An access token
/// (`typ` `at+jwt`) is no ID token hint at all.
#[tokio::test]
async fn rp_logout_an_access_token_is_not_an_id_token_hint() {
    let mut s = InProc::new("").await;
    let tokens = code_flow(&mut s, &[("scope", "openid")]).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &access),
            ("client_id", "web"),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.header("location").is_none());
    assert!(
        reply.body.contains("action=\"/oauth/logout/confirm\""),
        "the user is asked: {}",
        reply.body
    );
    assert!(still_signed_in(&mut s).await);
    // Nor does it work as a hint at the authorization endpoint.
    let r = s
        .get(&InProc::authorize_uri(
            "web",
            REDIRECT,
            &[("scope", "openid"), ("id_token_hint", &access)],
        ))
        .await;
    assert_eq!(r.location_param("error").as_deref(), Some("invalid_request"));
}

/// Another user's genuine ID token proves nothing about this browser's session: the user is
/// asked first, and nobody is signed out until they confirm.
#[tokio::test]
async fn rp_logout_another_users_id_token_asks_for_confirmation() {
    let mut s = InProc::new("").await;
    latchkey::service::users::add(
        &s.app,
        latchkey::domain::NewUser {
            username: "bob".into(),
            name: None,
            email: None,
            email_verified: false,
            groups: vec![],
        },
        Some(PASSWORD.into()),
    )
    .await
    .unwrap();
    signed_in_with_hint(&mut s).await;
    let alice = s.switch_browser(Default::default());
    let bob = s
        .authorize_as(
            &InProc::authorize_uri("web", REDIRECT, &[("scope", "openid")]),
            "bob",
            PASSWORD,
        )
        .await;
    let code = bob.location_param("code").unwrap();
    let bob_hint = s.exchange(&code).await.json()["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    s.switch_browser(alice);
    assert!(still_signed_in(&mut s).await);
    let page = s
        .get(&logout_uri(&[
            ("id_token_hint", &bob_hint),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.header("location").is_none());
    assert!(
        page.body.contains("action=\"/oauth/logout/confirm\""),
        "{}",
        page.body
    );
    assert!(
        still_signed_in(&mut s).await,
        "alice stays signed in until she confirms"
    );
}

#[tokio::test]
async fn rp_logout_modified_id_token_hint_is_refused() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let mut parts: Vec<String> = hint.split('.').map(str::to_owned).collect();
    let mut c = claims(&hint);
    c["sub"] = Value::String("someone-else".into());
    parts[1] = latchkey::crypto::b64url(c.to_string().as_bytes());
    let forged = parts.join(".");
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &forged),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.header("location").is_none());
    assert!(still_signed_in(&mut s).await);
}

#[tokio::test]
async fn rp_logout_without_a_hint_asks_for_confirmation_first() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let page = s
        .get(&logout_uri(&[
            ("client_id", "web"),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "s1"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("action=\"/oauth/logout/confirm\""),
        "{}",
        page.body
    );
    assert!(
        still_signed_in(&mut s).await,
        "nothing happens before confirmation"
    );
    let (csrf, request) = (page.field("csrf"), page.field("request"));
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(done.location(), format!("{LOGGED_OUT}?state=s1"));
    assert!(!still_signed_in(&mut s).await);
}

#[tokio::test]
async fn rp_logout_query_added_to_the_redirect_uri_is_not_followed() {
    let mut s = InProc::new("").await;
    let hint = signed_in_with_hint(&mut s).await;
    let with_query = format!("{LOGGED_OUT}?foo=bar");
    let reply = s
        .get(&logout_uri(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", &with_query),
        ]))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("location").is_none());
}

#[tokio::test]
async fn rp_logout_with_no_parameters_confirms_then_shows_signed_out() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let page = s.get("/oauth/logout").await;
    assert!(page.body.contains("action=\"/oauth/logout/confirm\""));
    let (csrf, request) = (page.field("csrf"), page.field("request"));
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("Signed out"));
    assert!(!still_signed_in(&mut s).await);
}

#[tokio::test]
async fn rp_logout_with_only_state_does_not_redirect() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let page = s.get(&logout_uri(&[("state", "only")])).await;
    let (csrf, request) = (page.field("csrf"), page.field("request"));
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.header("location").is_none());
}

#[tokio::test]
async fn a_forged_logout_confirmation_is_refused() {
    let mut s = InProc::new("").await;
    signed_in_with_hint(&mut s).await;
    let done = s
        .post("/oauth/logout/confirm", &[("csrf", "x"), ("request", "")])
        .await;
    assert_eq!(done.status, StatusCode::FORBIDDEN);
    assert!(still_signed_in(&mut s).await);
    let _ = basic("web", WEB_SECRET);
}
