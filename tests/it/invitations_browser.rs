//! An invitation end to end in headless Chromium: an administrator invites through the admin
//! API, the invitee opens the link, chooses a password and is signed in, looks at the account
//! page, signs out, signs in with the new password, and finds the link used up. Screenshots of the
//! invitation page and the account page land in `target/tmp/screenshots/`. Another invitee
//! registers a passkey on the invitation page instead (the DevTools virtual authenticator) and
//! lands signed in on the account page.

use serde_json::{Value, json};

use crate::browser::Browser;
use crate::flows::basic_authorization;
use crate::harness::{Server, default_config, http};
use crate::passkeys_browser::{credentials, virtual_authenticator};

const ROBOT_SECRET: &str = "invitation-robot-secret-0123456789-abcdefgh";
const CHOSEN: &str = "grace's chosen password, 2026";

/// A server with `robot`, a client allowed client_credentials and `admin`.
fn server() -> Server {
    server_with(default_config)
}

/// [`server`] with the issuer `http://localhost:PORT`, where passkeys work (a secure context
/// with a valid RP ID, which `127.0.0.1` is not).
fn localhost_server() -> Server {
    server_with(|port| {
        format!(
            "issuer = \"http://localhost:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndata = \"data/identity.redb\"\n"
        )
    })
}

fn server_with(top: fn(u16) -> String) -> Server {
    let mut server = Server::with_config(|port| {
        top(port)
            + r#"
[[client]]
client_id = "robot"
name = "Invitation robot"
grant_types = ["client_credentials"]
scopes = ["admin"]
secret_env = "LATCHKEY_TEST_ROBOT_SECRET"
"#
    });
    server.env("LATCHKEY_TEST_ROBOT_SECRET", ROBOT_SECRET);
    server.start();
    server
}

/// Invites `username` through the admin API with the robot's token; returns the answer.
async fn invite(base: &str, username: &str) -> Value {
    let http = http();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .header("authorization", basic_authorization("robot", ROBOT_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().expect("an admin token");
    let reply = http
        .post(format!("{base}/api/v1/invitations"))
        .bearer_auth(token)
        .json(&json!({ "username": username, "name": "Grace Hopper", "email": "grace@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    reply.json().await.unwrap()
}

#[tokio::test]
async fn an_invitee_accepts_in_a_browser_signs_in_again_and_the_link_is_used_up() {
    let server = server();
    let base = server.base_url();
    let invited = invite(&base, "grace").await;
    let url = invited["url"].as_str().unwrap().to_owned();

    let browser = Browser::start().await;
    browser.client.goto(&url).await.unwrap();
    browser.wait_for("form input#password_repeat").await;
    assert_eq!(browser.text("h1").await, "Accept your invitation");
    assert!(browser.text("p.lead").await.contains("grace"));
    assert_eq!(browser.text("label[for='password']").await, "Password");
    browser.screenshot("invitation").await;
    browser.type_into("input#password", CHOSEN).await;
    browser.type_into("input#password_repeat", CHOSEN).await;
    browser.click("form button[type='submit']").await;

    browser.wait_for("a[href='/account/passkeys']").await;
    assert_eq!(browser.text("h1").await, "Welcome");
    assert!(browser.text("p.lead").await.contains("you are signed in"));
    browser.screenshot("invitation-accepted").await;

    browser.client.goto(&format!("{base}/account")).await.unwrap();
    browser
        .wait_for("section[aria-labelledby='methods-heading']")
        .await;
    assert_eq!(browser.text("h1").await, "Your account");
    assert_eq!(
        browser.attr("input#name", "value").await.as_deref(),
        Some("Grace Hopper")
    );
    assert!(
        browser
            .text("ul.sessions li.current")
            .await
            .contains("This browser.")
    );
    browser.screenshot("account").await;
    browser
        .client
        .execute(
            "document.getElementById('methods-heading').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("account-methods-and-sessions").await;

    // Sign out from the account page, then sign in with the chosen password.
    browser.click("form[action='/logout'] button").await;
    let mut signed_out = false;
    for _ in 0..300 {
        let source = browser.client.source().await.unwrap_or_default();
        if source.contains("You are signed out") {
            signed_out = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(signed_out, "the sign-out page did not show");
    browser.client.goto(&format!("{base}/login")).await.unwrap();
    browser.wait_for("form[action='/login'] input#username").await;
    browser.type_into("input#username", "grace").await;
    browser.type_into("input#password", CHOSEN).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_for("a[href='/account']").await;
    assert!(browser.text("p.lead").await.contains("grace"));

    // The link worked once.
    browser.client.goto(&url).await.unwrap();
    browser.wait_for("h1").await;
    assert_eq!(browser.text("h1").await, "Invitation not valid");
    browser.close().await;
}

#[tokio::test]
async fn an_invitee_registers_a_passkey_in_a_browser_and_lands_signed_in_on_the_account_page() {
    let server = localhost_server();
    let base = format!("http://localhost:{}", server.port());
    let invited = invite(&base, "hedy").await;
    let url = invited["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{base}/invite/")), "{url}");

    let browser = Browser::start().await;
    let authenticator = virtual_authenticator(&browser).await;
    browser.client.goto(&url).await.unwrap();
    browser
        .wait_for("form[data-passkey='register']:not([hidden])")
        .await;
    assert_eq!(
        browser.text("#passkey-register").await,
        "Register a passkey instead"
    );
    browser.screenshot("invitation-passkey").await;
    browser.click("#passkey-register").await;

    browser
        .wait_for("section[aria-labelledby='methods-heading']")
        .await;
    assert_eq!(browser.text("h1").await, "Your account");
    assert!(
        browser.text("ul.sessions li.current").await.contains("a passkey"),
        "the session was signed in with the passkey"
    );
    assert_eq!(credentials(&browser, &authenticator).await.len(), 1);

    // The link worked once.
    browser.client.goto(&url).await.unwrap();
    browser.wait_for("h1").await;
    assert_eq!(browser.text("h1").await, "Invitation not valid");
    browser.close().await;
}
