//! A client's `allowed_groups`: a signed-in user in none of them gets a 403 page (no code, no
//! consent, no redirect to the client) and an audit entry; a member goes on; a change of groups
//! counts at the next request; the password grant refuses an outsider and a refresh fails once
//! the user has left the groups. In process, through the real routes.

use latchkey::service::clients;
use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::admin_fixture::{Admin, event};
use crate::inproc::{InProc, PASSWORD, Reply, VERIFIER, basic, form};

/// The secret of `staffapp`, a confidential client limited to the group `staff`.
const STAFF_SECRET: &str = "staffapp-client-secret-0123456789-abcdefgh";
const STAFF_REDIRECT: &str = "https://staff.example.com/cb";

fn staff_client() -> String {
    format!(
        r#"
[[client]]
client_id = "staffapp"
name = "Staff Portal"
redirect_uris = ["{STAFF_REDIRECT}"]
grant_types = ["authorization_code", "refresh_token", "password"]
scopes = ["openid", "profile", "offline_access"]
secret_digest = "{digest}"
allowed_groups = ["staff", "ops"]
"#,
        digest = clients::digest_text(STAFF_SECRET)
    )
}

fn staff_uri(extra: &[(&str, &str)]) -> String {
    InProc::authorize_uri("staffapp", STAFF_REDIRECT, extra)
}

/// A server with `staffapp` whose browser is signed in as alice (groups: `readers`).
async fn signed_in_outsider() -> Admin {
    let mut a = Admin::with(&staff_client()).await;
    a.s.code(&[]).await;
    a
}

/// Puts alice in exactly `groups` through the admin API.
async fn set_groups(a: &mut Admin, groups: &[&str]) {
    a.expect(
        200,
        Method::PATCH,
        "/api/v1/users/alice",
        Some(json!({ "groups": groups })),
    )
    .await;
}

/// Whether the reply carries an authorization code anywhere: its Location or its body.
fn carries_a_code(reply: &Reply) -> bool {
    reply.header("location").is_some_and(|l| l.contains("code=")) || reply.body.contains("code=")
}

#[track_caller]
fn assert_refusal_page(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert!(
        reply.header("location").is_none(),
        "no redirect: {:?}",
        reply.headers
    );
    assert!(!carries_a_code(reply), "{}", reply.body);
    assert!(
        !reply.body.contains("action=\"/oauth/consent\""),
        "no consent form"
    );
    let b = &reply.body;
    assert!(b.contains("<strong>alice</strong>"), "says who is signed in: {b}");
    assert!(b.contains("<strong>Staff Portal</strong>"), "{b}");
    assert!(b.contains("limited to certain groups"), "{b}");
    assert!(b.contains("action=\"/logout\""), "a sign-out button: {b}");
    assert!(b.contains("Sign in with another account"), "{b}");
}

/// A code for `staffapp` exchanged for tokens (with `offline_access`, so a refresh token).
async fn staff_tokens(s: &mut InProc) -> Reply {
    let reply = s
        .authorize(&staff_uri(&[("scope", "openid offline_access")]))
        .await;
    let code = reply
        .location_param("code")
        .unwrap_or_else(|| panic!("no code: {} {}", reply.status, reply.body));
    staff_token(
        s,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", STAFF_REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn staff_token(s: &mut InProc, pairs: &[(&str, &str)]) -> Reply {
    s.post_with(
        "/oauth/token",
        pairs,
        &[("authorization", &basic("staffapp", STAFF_SECRET))],
    )
    .await
}

#[tokio::test]
async fn a_user_outside_the_allowed_groups_gets_a_403_page_without_a_code_and_it_is_audited() {
    let mut a = signed_in_outsider().await;
    for extra in [&[][..], &[("prompt", "none")][..], &[("prompt", "consent")][..]] {
        let reply = a.s.get(&staff_uri(extra)).await;
        assert_refusal_page(&reply);
    }
    // The switch-account link asks the same request again with prompt=login: the login page.
    let page = a.s.get(&staff_uri(&[])).await;
    let switch = html_unescape_href(&page.body, "Sign in with another account");
    assert!(
        switch.starts_with("/oauth/authorize?") && switch.contains("prompt=login"),
        "{switch}"
    );
    assert!(switch.contains("client_id=staffapp"), "{switch}");
    let login = a.s.get(&switch).await;
    assert!(
        login.body.contains("action=\"/login\""),
        "{} {}",
        login.status,
        login.body
    );
    // The consent form's POST cannot get round it either: Allow sends the browser back to the
    // endpoint, which refuses again.
    let csrf = page.field("csrf");
    let request = form(&[
        ("response_type", "code"),
        ("client_id", "staffapp"),
        ("redirect_uri", STAFF_REDIRECT),
        ("scope", "openid profile"),
        ("state", "xyz"),
        ("code_challenge", crate::inproc::CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let posted =
        a.s.post(
            "/oauth/consent",
            &[("csrf", &csrf), ("request", &request), ("decision", "allow")],
        )
        .await;
    assert!(!carries_a_code(&posted), "{} {:?}", posted.status, posted.headers);
    assert!(
        posted.location().starts_with("/oauth/authorize?"),
        "{}",
        posted.location()
    );
    assert_refusal_page(&a.s.get(posted.location()).await);
    let (events, _) = a.audit_feed(100).await;
    let refused = event(&events, "authorize.refused", Some("group client:staffapp"));
    assert_eq!(refused["actor"], "alice", "{refused}");
    assert_eq!(refused["success"], false, "{refused}");
}

/// The `href` of the link whose text is `text`, with `&amp;` read back.
fn html_unescape_href(body: &str, text: &str) -> String {
    let end = body.find(&format!(">{text}</a>")).expect("the link");
    let start = body[..end].rfind("href=\"").expect("an href") + 6;
    let close = body[start..].find('"').expect("a closing quote") + start;
    crate::flows::html_unescape(&body[start..close])
}

#[tokio::test]
async fn a_member_gets_a_code_and_a_change_of_groups_counts_at_the_next_authorization() {
    let mut a = signed_in_outsider().await;
    assert_refusal_page(&a.s.get(&staff_uri(&[])).await);
    set_groups(&mut a, &["readers", "ops"]).await;
    let allowed = a.s.authorize(&staff_uri(&[])).await;
    assert!(allowed.location_param("code").is_some(), "{}", allowed.location());
    assert!(
        allowed.location().starts_with(STAFF_REDIRECT),
        "{}",
        allowed.location()
    );
    set_groups(&mut a, &["readers"]).await;
    assert_refusal_page(&a.s.get(&staff_uri(&[])).await);
    // Clients without allowed groups are unaffected.
    let web =
        a.s.get(&InProc::authorize_uri("web", crate::inproc::REDIRECT, &[]))
            .await;
    assert!(web.location_param("code").is_some(), "{}", web.location());
}

#[tokio::test]
async fn the_password_grant_refuses_a_user_outside_the_allowed_groups_and_says_why() {
    let mut a = Admin::with(&staff_client()).await;
    let pairs = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
        ("scope", "openid"),
    ];
    let refused = staff_token(&mut a.s, &pairs).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let body = refused.json();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(
        body["error_description"],
        "this client is limited to certain groups, and the user is in none of them"
    );
    assert!(body.get("access_token").is_none(), "{body}");
    set_groups(&mut a, &["staff"]).await;
    let ok = staff_token(&mut a.s, &pairs).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn a_refresh_fails_with_invalid_grant_once_the_user_has_left_the_allowed_groups() {
    let mut a = Admin::with(&staff_client()).await;
    set_groups(&mut a, &["staff"]).await;
    let tokens = staff_tokens(&mut a.s).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let refresh = tokens.json()["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let rotated = staff_token(
        &mut a.s,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        rotated.status,
        StatusCode::OK,
        "a member refreshes: {}",
        rotated.body
    );
    let refresh = rotated.json()["refresh_token"]
        .as_str()
        .expect("a new refresh token")
        .to_owned();
    set_groups(&mut a, &["readers"]).await;
    let refused = staff_token(
        &mut a.s,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let body = refused.json();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(
        body["error_description"],
        "this client is limited to certain groups, and the user is in none of them"
    );
    // The grant is revoked: joining the group again does not bring the token back.
    set_groups(&mut a, &["staff"]).await;
    let again = staff_token(
        &mut a.s,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(again.json()["error"], "invalid_grant", "{}", again.body);
}
