//! A refused input in the page's language (issue #16): the service's typed reason becomes a
//! Korean sentence on a Korean page and the English one on an English page, while the admin
//! API's problem says it in the same English as before.

use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::admin_fixture::Admin;
use crate::inproc::{ISSUER, InProc, PASSWORD, Reply};
use latchkey::domain::NewUser;

const KO_TOO_SHORT: &str = "비밀번호는 12자 이상이어야 합니다.";
const EN_TOO_SHORT: &str = "The password must have at least 12 characters.";
const SERVICE_TOO_SHORT: &str = "the password must have at least 12 characters";

/// A server with Alice signed in (a fresh sign-in, so that she may change her password).
async fn signed_in() -> InProc {
    let mut s = InProc::new("").await;
    let page = s.get("/login?return_to=%2Faccount").await;
    let reply = s.login_from(&page, "alice", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    s
}

/// Posts the account page's password form in `language` (by `Accept-Language`).
async fn change_password(s: &mut InProc, language: &str, password: &str, repeat: &str) -> Reply {
    let headers = [("accept-language", language)];
    let page = s.send(Method::GET, "/account", None, &headers).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.field("csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("current", PASSWORD),
        ("password", password),
        ("password_repeat", repeat),
    ];
    s.post_with("/account/password", &form, &headers).await
}

#[tokio::test]
async fn a_too_short_password_on_the_account_page_is_refused_in_korean_on_a_korean_page() {
    let mut s = signed_in().await;
    let ko = change_password(&mut s, "ko", "short", "short").await;
    assert_eq!(ko.status, StatusCode::BAD_REQUEST, "{}", ko.body);
    assert!(ko.body.contains(KO_TOO_SHORT), "{}", ko.body);
    assert!(
        !ko.body.contains("at least") && !ko.body.contains("must have"),
        "no English reason on the Korean page: {}",
        ko.body
    );

    let differ = change_password(&mut s, "ko", "a long enough password 1", "another one 2").await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    assert!(
        differ.body.contains("두 새 비밀번호가 일치하지 않습니다."),
        "{}",
        differ.body
    );
}

#[tokio::test]
async fn a_too_short_password_on_the_account_page_is_refused_in_english_on_an_english_page() {
    let mut s = signed_in().await;
    let en = change_password(&mut s, "en", "short", "short").await;
    assert_eq!(en.status, StatusCode::BAD_REQUEST, "{}", en.body);
    assert!(en.body.contains(EN_TOO_SHORT), "{}", en.body);
    assert!(!en.body.contains(KO_TOO_SHORT));
}

#[tokio::test]
async fn a_too_short_password_on_the_invitation_page_is_refused_in_korean() {
    let mut s = InProc::new("").await;
    let bob = NewUser {
        username: "bob".into(),
        name: None,
        email: None,
        email_verified: false,
        groups: vec![],
    };
    let invitation = latchkey::service::invitations::create(&s.app, bob, None, "alice".into())
        .await
        .unwrap();
    let path = invitation
        .url
        .strip_prefix(ISSUER)
        .expect("the link is on the issuer")
        .to_owned();
    let headers = [("accept-language", "ko")];
    let page = s.send(Method::GET, &path, None, &headers).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.field("csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("password", "short"),
        ("password_repeat", "short"),
    ];
    let refused = s.post_with(&path, &form, &headers).await;
    assert!(refused.body.contains(KO_TOO_SHORT), "{}", refused.body);
    assert!(!refused.body.contains("at least"), "{}", refused.body);
}

#[tokio::test]
async fn the_admin_apis_problem_for_a_refused_input_stays_in_english() {
    let mut a = Admin::new().await;
    let auth = format!("Bearer {}", a.token);
    let headers = [("authorization", auth.as_str()), ("accept-language", "ko")];
    let short =
        a.s.send_json(
            Method::PUT,
            "/api/v1/users/alice/password",
            Some(&json!({ "password": "short" })),
            &headers,
        )
        .await;
    assert_eq!(short.status.as_u16(), 422, "{}", short.body);
    let problem = short.json();
    assert_eq!(problem["detail"], SERVICE_TOO_SHORT, "{problem}");
    assert_eq!(
        problem["errors"],
        json!([{ "field": "password", "message": SERVICE_TOO_SHORT }])
    );

    let client =
        a.s.send_json(
            Method::POST,
            "/api/v1/clients",
            Some(&json!({ "client_id": "c1", "redirect_uris": ["http://app.example.com/cb"] })),
            &headers,
        )
        .await;
    assert_eq!(client.status.as_u16(), 422, "{}", client.body);
    assert_eq!(
        client.json()["detail"],
        "redirect URI `http://app.example.com/cb` uses plain http; only https, or http on 127.0.0.1 \
         or [::1] for native apps, is allowed"
    );
}
