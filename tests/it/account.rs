//! The account page (`/account`): over real HTTP, a browser that is not signed in is sent to sign
//! in and back, and edits its profile; in process (where the clock can move), the password change
//! (current password, other sessions ended, fresh sign-in), signing sessions out and revoking an
//! application.

use std::collections::BTreeMap;

use poem::http::StatusCode;
use serde_json::Value;

use crate::flows::{PASSWORD as HTTP_PASSWORD, USERNAME as HTTP_USERNAME, form_field};
use crate::harness::{Server, assert_success};
use crate::inproc::{InProc, PASSWORD, Reply};

const NEW_PASSWORD: &str = "a new and longer password 2026";

/// A browser over real HTTP that keeps cookies and follows no redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location in the {} answer", r.status()))
        .to_owned()
}

#[tokio::test]
async fn over_http_the_account_page_sends_a_stranger_to_sign_in_and_back_and_edits_the_profile() {
    let mut server = Server::new();
    server.start();
    let added = server.cli_stdin(
        &["user", "add", HTTP_USERNAME, "--password-stdin"],
        &format!("{HTTP_PASSWORD}\n"),
    );
    assert_success(&added);
    let base = server.base_url();
    let http = browser();

    let first = http.get(format!("{base}/account")).send().await.unwrap();
    assert_eq!(first.status(), 303);
    assert_eq!(location(&first), "/login?return_to=%2Faccount");
    let login = http
        .get(format!("{base}/login?return_to=%2Faccount"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(form_field(&login, "return_to").as_deref(), Some("/account"));
    let csrf = form_field(&login, "csrf").expect("a form token");
    let signed = http
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("return_to", "/account"),
            ("username", HTTP_USERNAME),
            ("password", HTTP_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    assert_eq!(location(&signed), "/account");

    let page = http.get(format!("{base}/account")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body = page.text().await.unwrap();
    for wanted in [
        "<h1>Your account</h1>",
        "Sign-in methods",
        "href=\"/account/passkeys\"",
        "href=\"/account/totp\"",
        "href=\"/account/recovery\"",
        "Passkeys: 0 registered.",
        "This browser.",
    ] {
        assert!(body.contains(wanted), "no {wanted} in {body}");
    }
    let home = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/account\""), "{home}");

    let csrf = form_field(&body, "csrf").expect("a form token");
    let saved = http
        .post(format!("{base}/account/profile"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Alice Pleasance"),
            ("email", "alice@example.org"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    assert_eq!(location(&saved), "/account?done=profile");
    let after = http
        .get(format!("{base}/account?done=profile"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(after.contains("Your profile was saved."), "{after}");
    assert!(after.contains("value=\"Alice Pleasance\""), "{after}");
    let shown = server.cli_json(&["user", "show", HTTP_USERNAME, "--json"]);
    assert_eq!(shown["name"], "Alice Pleasance");
    assert_eq!(shown["email"], "alice@example.org");
    assert_eq!(shown["email_verified"], false);

    // A form without its token changes nothing.
    let forged = http
        .post(format!("{base}/account/profile"))
        .form(&[("csrf", "forged"), ("name", "Mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        server.cli_json(&["user", "show", HTTP_USERNAME, "--json"])["name"],
        "Alice Pleasance"
    );
}

/// Alice signed in through `/login?return_to=/account`, in the in-process server's current browser.
async fn sign_in(s: &mut InProc, password: &str) -> Reply {
    let page = s.get("/login?return_to=%2Faccount").await;
    s.login_from(&page, "alice", password).await
}

async fn signed_in() -> InProc {
    let mut s = InProc::new("").await;
    let reply = sign_in(&mut s, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), "/account");
    s
}

/// The account page of the current browser, which must be signed in.
async fn account(s: &mut InProc) -> Reply {
    let page = s.get("/account").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

async fn post_on_page(s: &mut InProc, action: &str, pairs: &[(&str, &str)]) -> Reply {
    let csrf = account(s).await.field("csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(pairs);
    s.post(action, &all).await
}

async fn audited(s: &InProc, action: &str) -> Vec<Value> {
    let page = latchkey::service::audit::list(&s.app, None, Some(500))
        .await
        .unwrap();
    page.items
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

/// Whether the browser with cookie jar `jar` is still signed in (its account page shows).
async fn still_signed_in(s: &mut InProc, jar: BTreeMap<String, String>) -> (bool, BTreeMap<String, String>) {
    let mine = s.switch_browser(jar);
    let reply = s.get("/account").await;
    let jar = s.switch_browser(mine);
    (reply.status == StatusCode::OK, jar)
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_and_ends_the_other_sessions() {
    let mut s = InProc::new("").await;
    // Another browser signs in first.
    assert_eq!(sign_in(&mut s, PASSWORD).await.status, StatusCode::SEE_OTHER);
    let other = s.switch_browser(BTreeMap::new());
    assert_eq!(sign_in(&mut s, PASSWORD).await.status, StatusCode::SEE_OTHER);

    let pairs = |current: &'static str| {
        vec![
            ("current", current),
            ("password", NEW_PASSWORD),
            ("password_repeat", NEW_PASSWORD),
        ]
    };
    let wrong = post_on_page(&mut s, "/account/password", &pairs("not the password")).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.body);
    assert!(
        wrong.body.contains("The current password is not correct."),
        "{}",
        wrong.body
    );
    let (other_in, other) = still_signed_in(&mut s, other).await;
    assert!(other_in, "a refused change ends nothing");
    assert_eq!(audited(&s, "account.password").await[0]["success"], false);

    let changed = post_on_page(&mut s, "/account/password", &pairs(PASSWORD)).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(changed.location(), "/account?done=password");
    let page = s.get("/account?done=password").await;
    assert_eq!(page.status, StatusCode::OK, "this browser stays signed in");
    assert!(page.body.contains("Your password was changed."), "{}", page.body);
    let (other_in, _) = still_signed_in(&mut s, other).await;
    assert!(!other_in, "the other browser's session ended");
    assert!(
        audited(&s, "account.password")
            .await
            .iter()
            .any(|e| e["success"] == true && e["actor"] == "alice")
    );

    s.switch_browser(BTreeMap::new());
    let old = sign_in(&mut s, PASSWORD).await;
    assert_eq!(old.status, StatusCode::OK, "the old password no longer signs in");
    let new = sign_in(&mut s, NEW_PASSWORD).await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_password_change_is_refused_without_a_fresh_sign_in_and_works_after_one() {
    let mut s = signed_in().await;
    s.advance(11 * 60);
    let pairs = [
        ("current", PASSWORD),
        ("password", NEW_PASSWORD),
        ("password_repeat", NEW_PASSWORD),
    ];
    let stale = post_on_page(&mut s, "/account/password", &pairs).await;
    assert_eq!(stale.status, StatusCode::SEE_OTHER, "{}", stale.body);
    assert_eq!(stale.location(), "/login?return_to=%2Faccount&fresh=1");

    // Nothing changed: the old password still signs in, in another browser.
    let mine = s.switch_browser(BTreeMap::new());
    assert_eq!(sign_in(&mut s, PASSWORD).await.status, StatusCode::SEE_OTHER);
    s.switch_browser(mine);

    // Signed in, the login page asks again instead of skipping to the account page.
    let again = s.get("/login?return_to=%2Faccount&fresh=1").await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again.body.contains("Sign in again to confirm this change."),
        "{}",
        again.body
    );
    assert_eq!(again.field("return_to"), "/account");
    let back = s.login_from(&again, "alice", PASSWORD).await;
    assert_eq!(back.location(), "/account");
    let changed = post_on_page(&mut s, "/account/password", &pairs).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(changed.location(), "/account?done=password");
}

#[tokio::test]
async fn signing_out_one_session_or_the_others_keeps_this_one() {
    let mut s = InProc::new("").await;
    let mut others = Vec::new();
    for _ in 0..2 {
        assert_eq!(sign_in(&mut s, PASSWORD).await.status, StatusCode::SEE_OTHER);
        others.push(s.switch_browser(BTreeMap::new()));
    }
    assert_eq!(sign_in(&mut s, PASSWORD).await.status, StatusCode::SEE_OTHER);
    let page = account(&mut s).await;
    assert_eq!(page.body.matches("data-sid=").count(), 3, "{}", page.body);
    assert_eq!(page.body.matches("This browser.").count(), 1);
    // The first session listed after this one.
    let marker = "<li data-sid=\"";
    let start = page.body.find(marker).expect("another session") + marker.len();
    let sid = &page.body[start..start + page.body[start..].find('"').unwrap()];

    let one = post_on_page(&mut s, "/account/sessions", &[("sid", sid)]).await;
    assert_eq!(one.location(), "/account?done=session");
    let page = account(&mut s).await;
    assert_eq!(page.body.matches("data-sid=").count(), 2);
    assert!(!page.body.contains(sid));

    let rest = post_on_page(&mut s, "/account/sessions", &[]).await;
    assert_eq!(rest.location(), "/account?done=others");
    let page = s.get("/account?done=others").await;
    assert_eq!(page.body.matches("data-sid=").count(), 1);
    assert!(page.body.contains("Your other sessions were signed out."));
    for jar in others {
        let (signed_in, _) = still_signed_in(&mut s, jar).await;
        assert!(!signed_in, "every other browser is signed out");
    }
    assert_eq!(audited(&s, "account.sessions.revoke").await.len(), 2);
}

#[tokio::test]
async fn revoking_an_application_forgets_the_consent_and_stops_its_refresh_token() {
    let mut s = signed_in().await;
    let code = s.code(&[("scope", "openid offline_access")]).await;
    let tokens = s.exchange(&code).await.json();
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let page = account(&mut s).await;
    assert!(
        page.body.contains("<strong>Web App</strong> may"),
        "{}",
        page.body
    );

    let revoked = post_on_page(&mut s, "/account/applications/revoke", &[("client_id", "web")]).await;
    assert_eq!(revoked.location(), "/account?done=application");
    let page = account(&mut s).await;
    assert!(!page.body.contains("<strong>Web App</strong>"), "{}", page.body);
    let again = s
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert_eq!(again.json()["error"], "invalid_grant");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(s.introspect(access).await["active"], false);
    assert_eq!(audited(&s, "account.consent.revoke").await[0]["target"], "web");

    // Revoking it again finds nothing to revoke.
    let twice = post_on_page(&mut s, "/account/applications/revoke", &[("client_id", "web")]).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
}
