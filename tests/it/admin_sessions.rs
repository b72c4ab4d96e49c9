//! The admin API's sessions and consents: listed and revoked.

use poem::http::{Method, StatusCode};
use serde_json::json;

use crate::admin_fixture::*;
use crate::inproc::{InProc, REDIRECT};

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_at_a_time_or_all_at_once() {
    let mut a = Admin::new().await;
    assert_eq!(a.get("/api/v1/users/alice/sessions").await, json!([]));
    a.s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let first_browser = a.s.switch_browser(Default::default());
    a.s.advance(10);
    a.s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;

    let sessions = a.get("/api/v1/users/alice/sessions").await;
    let list = sessions.as_array().expect("a list of sessions");
    assert_eq!(list.len(), 2, "{sessions}");
    assert_eq!(list[0]["amr"], json!(["pwd"]));
    assert_eq!(list[0]["created_at"], 1_800_000_000u64);
    assert_eq!(list[1]["created_at"], 1_800_000_010u64);
    assert!(list[0]["expires_at"].as_u64() > list[0]["created_at"].as_u64());
    let (first_sid, second_sid) = (
        list[0]["sid"].as_str().unwrap().to_owned(),
        list[1]["sid"].as_str().unwrap().to_owned(),
    );
    assert_ne!(first_sid, second_sid);
    for cookie in a.s.cookies().values().chain(first_browser.values()) {
        assert!(!sessions.to_string().contains(cookie.as_str()), "never a cookie");
    }
    let subject = a.get("/api/v1/users/alice").await["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.get(&format!("/api/v1/users/{subject}/sessions")).await,
        sessions,
        "a user is found by subject too"
    );

    a.expect_done(
        Method::DELETE,
        &format!("/api/v1/users/alice/sessions/{first_sid}"),
        None,
    )
    .await;
    let left = a.get("/api/v1/users/alice/sessions").await;
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["sid"], second_sid.as_str());
    assert!(signed_in(&mut a.s).await, "the second browser is still signed in");
    let second_browser = a.s.switch_browser(first_browser);
    assert!(!signed_in(&mut a.s).await, "the first browser's session ended");
    assert_problem(
        &a.call(
            Method::DELETE,
            &format!("/api/v1/users/alice/sessions/{first_sid}"),
            None,
        )
        .await,
        404,
        "not-found",
    );

    a.s.switch_browser(second_browser);
    a.expect_done(Method::DELETE, "/api/v1/users/alice/sessions", None)
        .await;
    assert_eq!(a.get("/api/v1/users/alice/sessions").await, json!([]));
    assert!(!signed_in(&mut a.s).await, "every session ended");
    for (method, path) in [
        (Method::GET, "/api/v1/users/nobody/sessions"),
        (Method::DELETE, "/api/v1/users/nobody/sessions"),
        (Method::DELETE, "/api/v1/users/nobody/sessions/abc"),
    ] {
        assert_problem(&a.call(method, path, None).await, 404, "not-found");
    }
}

#[tokio::test]
async fn a_revoked_consent_is_asked_for_again() {
    let mut a = Admin::new().await;
    assert_eq!(a.get("/api/v1/users/alice/consents").await, json!([]));
    a.s.authorize(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    let consents = a.get("/api/v1/users/alice/consents").await;
    assert_eq!(
        consents,
        json!([{ "client_id": "web", "scopes": ["openid", "profile"], "granted_at": 1_800_000_000u64 }])
    );
    // Remembered: the next request goes straight back to the client.
    let again = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert!(again.location().starts_with(REDIRECT));

    a.expect_done(Method::DELETE, "/api/v1/users/alice/consents/web", None)
        .await;
    assert_eq!(a.get("/api/v1/users/alice/consents").await, json!([]));
    let asked = a.s.get(&InProc::authorize_uri("web", REDIRECT, &[])).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(
        asked.body.contains("action=\"/oauth/consent\""),
        "the consent page is shown again: {}",
        asked.body
    );
    assert_problem(
        &a.call(Method::DELETE, "/api/v1/users/alice/consents/web", None)
            .await,
        404,
        "not-found",
    );
    for (method, path) in [
        (Method::GET, "/api/v1/users/nobody/consents"),
        (Method::DELETE, "/api/v1/users/nobody/consents/web"),
        (Method::DELETE, "/api/v1/users/alice/consents/nobody"),
        (Method::DELETE, "/api/v1/users/alice/consents/not%20a%20client"),
    ] {
        assert_problem(&a.call(method, path, None).await, 404, "not-found");
    }
}
