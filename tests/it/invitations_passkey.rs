//! Accepting an invitation with a passkey, in process, with the software authenticator of
//! [`crate::passkeys`]: the invitation page offers it, the two JSON posts register the passkey
//! and sign the invitee in with two factors and no password, the link then refuses, and a
//! ceremony started for another invitation does not finish this one.

use std::collections::BTreeMap;

use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::admin_fixture::Admin;
use crate::factors_totp::session_amr;
use crate::inproc::{ISSUER, InProc};
use crate::passkeys::SoftKey;

/// Creates an invitation for `username`; returns its link's path.
async fn invite(a: &mut Admin, username: &str) -> String {
    let created = a
        .expect(
            201,
            Method::POST,
            "/api/v1/invitations",
            Some(json!({ "username": username })),
        )
        .await;
    let url = created["url"].as_str().expect("a url");
    url.strip_prefix(ISSUER).expect("a link on the issuer").to_owned()
}

/// Opens the invitation page and returns its form token.
async fn page_token(s: &mut InProc, path: &str) -> String {
    let page = s.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.field("csrf")
}

/// Starts a passkey registration on the invitation at `path`; returns the answer as JSON.
async fn start(s: &mut InProc, path: &str, token: &str) -> Value {
    let started = s
        .send_json(
            Method::POST,
            &format!("{path}/passkey/start"),
            None,
            &[("x-csrf-token", token)],
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    started.json()
}

/// Finishes a registration on the invitation at `path` with `key`'s answer to `started`.
async fn finish(
    s: &mut InProc,
    path: &str,
    token: &str,
    started: &Value,
    key: &mut SoftKey,
) -> crate::inproc::Reply {
    let body = json!({
        "ceremony": started["ceremony"],
        "name": "Invite key",
        "credential": key.register(&started["options"]),
    });
    s.send_json(
        Method::POST,
        &format!("{path}/passkey/finish"),
        Some(&body),
        &[("x-csrf-token", token)],
    )
    .await
}

#[tokio::test]
async fn an_invitee_who_registers_a_passkey_is_signed_in_with_two_factors_and_no_password_and_the_link_then_refuses()
 {
    let mut a = Admin::new().await;
    let path = invite(&mut a, "carol").await;
    let page = a.s.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Register a passkey instead"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("data-start=\"{path}/passkey/start\"")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("name=\"password\""),
        "the password form stays: {}",
        page.body
    );
    assert!(
        page.header("content-security-policy")
            .is_some_and(|csp| csp.contains("script-src 'self'")),
        "the invitation page may run the passkey script"
    );
    let token = page.field("csrf");

    let no_token =
        a.s.send_json(Method::POST, &format!("{path}/passkey/start"), None, &[])
            .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let started = start(&mut a.s, &path, &token).await;
    let mut key = SoftKey::new();
    let done = finish(&mut a.s, &path, &token, &started, &mut key).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["redirect"], "/account");

    let amr = session_amr(&a.s).await;
    assert!(amr.iter().any(|m| m == "hwk" || m == "swk"), "{amr:?}");
    assert!(amr.iter().any(|m| m == "user"), "{amr:?}");
    assert!(amr.iter().any(|m| m == "mfa"), "{amr:?}");
    assert!(!amr.iter().any(|m| m == "pwd"), "{amr:?}");
    let account = a.s.get("/account").await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.body);
    assert!(account.body.contains("carol"), "{}", account.body);
    let user = a.get("/api/v1/users/carol").await;
    assert_eq!(user["has_password"], false, "{user}");
    let listed = a.s.get("/account/passkeys").await;
    assert!(listed.body.contains("Invite key"), "{}", listed.body);

    let again = a.s.get(&path).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "the link works once");
    // The sign-in changed the session, so the form token comes from a page of the new one.
    let fresh = listed.field("csrf");
    let restart =
        a.s.send_json(
            Method::POST,
            &format!("{path}/passkey/start"),
            None,
            &[("x-csrf-token", fresh.as_str())],
        )
        .await;
    assert_eq!(restart.status, StatusCode::NOT_FOUND, "{}", restart.body);

    let (events, _) = a.audit_feed(100).await;
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "invitation.accept" && e["actor"] == "carol" && e["target"] == "passkey"),
        "{events:?}"
    );
}

#[tokio::test]
async fn two_passkey_ceremonies_of_one_invitation_accept_it_only_once() {
    let mut a = Admin::new().await;
    let path = invite(&mut a, "dora").await;
    // Two browsers open the link and start a registration each.
    let token = page_token(&mut a.s, &path).await;
    let first = start(&mut a.s, &path, &token).await;
    let one = a.s.switch_browser(BTreeMap::new());
    let other_token = page_token(&mut a.s, &path).await;
    let second = start(&mut a.s, &path, &other_token).await;
    let other = a.s.switch_browser(one);
    let done = finish(&mut a.s, &path, &token, &first, &mut SoftKey::new()).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    a.s.switch_browser(other);
    let late = finish(&mut a.s, &path, &other_token, &second, &mut SoftKey::new()).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND, "{}", late.body);
    let user = a.get("/api/v1/users/dora").await;
    let dora =
        a.s.app
            .store
            .read(|tx| tx.user_by_username_key("dora"))
            .unwrap()
            .unwrap();
    let stored = a.s.app.store.read(|tx| tx.passkeys_of(&dora.subject)).unwrap();
    assert_eq!(stored.len(), 1, "one passkey: {user}");
}

#[tokio::test]
async fn a_passkey_finish_with_the_ceremony_of_another_invitation_is_refused_and_both_links_keep_working() {
    let mut a = Admin::new().await;
    let dave = invite(&mut a, "dave").await;
    let erin = invite(&mut a, "erin").await;
    let token = page_token(&mut a.s, &dave).await;
    let started = start(&mut a.s, &dave, &token).await;
    let refused = finish(&mut a.s, &erin, &token, &started, &mut SoftKey::new()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(
        refused.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("another sign-in")),
        "{}",
        refused.body
    );
    assert_eq!(a.s.get(&dave).await.status, StatusCode::OK);
    assert_eq!(a.s.get(&erin).await.status, StatusCode::OK);
    let user = a.get("/api/v1/users/erin").await;
    assert_eq!(user["has_password"], false, "{user}");
}
