//! TOTP in a real browser (headless Chromium through chromedriver, a real server process and the
//! wall clock): set up an authenticator app on `/account/totp`, sign out, then sign in to a client
//! with the password and a code on `/login/factor`, and check the ID token's `amr`. Screenshots
//! of both pages go to `target/tmp/screenshots/`.

use latchkey::protocol::totp::code_at;

use crate::browser::{Browser, Callback};
use crate::flows::{self, AuthRequest, Authorized, ClientAuth, PASSWORD, USERNAME, query_param};
use crate::harness::{Server, assert_success, default_config};

/// An OpenID Connect client, so that the sign-in ends in an ID token with `amr`.
const CLIENT: &str = "oidc-app";
const CLIENT_SECRET: &str = "oidc-app-secret-0123456789-abcdefghijklmnopq";

/// A server with [`CLIENT`] and the user [`USERNAME`].
fn server() -> Server {
    let mut server = Server::with_config(|port| {
        default_config(port)
            + &format!(
                "\n[[client]]\nclient_id = \"{CLIENT}\"\nname = \"Harbour Console\"\nredirect_uris = [\"{}\"]\n\
                 scopes = [\"openid\", \"profile\"]\nsecret_env = \"OIDC_APP_SECRET\"\n",
                flows::REDIRECT_URI
            )
    });
    server.env("OIDC_APP_SECRET", CLIENT_SECRET);
    server.start();
    let added = server.cli_stdin(
        &["user", "add", USERNAME, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&added);
    server
}

/// The code of `seed` now, `steps` steps away, by the wall clock the server also reads.
fn code_now(seed: &[u8], steps: u64) -> String {
    let now = latchkey::clock::Clock::System.now().0;
    code_at(seed, now + steps * 30, 6)
}

async fn goto(browser: &Browser, url: &str) {
    browser
        .client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
}

async fn sign_in_with_password(browser: &Browser) {
    browser.wait_for("form[action='/login'] input#username").await;
    browser.type_into("input#username", USERNAME).await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
}

#[tokio::test]
async fn a_user_sets_up_totp_and_signs_in_to_a_client_with_password_and_code_in_chromium() {
    let server = server();
    let base = server.base_url();
    let browser = Browser::start().await;

    // Sign in (password only, no factor yet) and set up an authenticator app.
    goto(&browser, &format!("{base}/login")).await;
    sign_in_with_password(&browser).await;
    browser.wait_for("form[action='/logout']").await;
    goto(&browser, &format!("{base}/account/totp")).await;
    browser.wait_for(".qr svg").await;
    assert_eq!(browser.text("label[for='code']").await, "Six-digit code");
    browser.screenshot("account-totp").await;
    let secret = browser.text("#secret").await;
    let seed = totp_rs::Secret::try_from_base32(&secret)
        .expect("the key is base32")
        .as_bytes()
        .to_vec();
    browser
        .type_into("#enrol-form input#code", &code_now(&seed, 0))
        .await;
    browser.click("#enrol-form button[type='submit']").await;
    browser.wait_for("#totp-remove").await;
    browser.screenshot("account-totp-enrolled").await;

    // A new browser session: the client sends the user to sign in.
    browser
        .client
        .delete_all_cookies()
        .await
        .expect("cookies can be cleared");
    let mut callback = Callback::start();
    let mut request = AuthRequest::new(CLIENT, &callback.redirect_uri());
    request.scope = "openid profile".into();
    goto(&browser, &request.url(&base)).await;
    sign_in_with_password(&browser).await;

    // The second step: only the TOTP form, labelled, then consent.
    browser.wait_for("#totp-form input#code").await;
    assert_eq!(
        browser.text("label[for='code']").await,
        "Code from your authenticator app"
    );
    assert!(browser.text("main").await.contains(USERNAME));
    browser.screenshot("login-factor").await;
    // The setup used this step's code: the next step's is within the window and not yet used.
    browser
        .type_into("#totp-form input#code", &code_now(&seed, 1))
        .await;
    browser.click("#totp-form button[type='submit']").await;
    let allow = "form[action='/oauth/consent'] button[name='decision'][value='allow']";
    browser.wait_for(allow).await;
    browser.click(allow).await;
    let landed = callback.next().await;
    browser.close().await;

    let code = query_param(&landed, "code").unwrap_or_else(|| panic!("no code in {landed}"));
    let authorized = Authorized { code, request };
    let web = ClientAuth::Basic {
        id: CLIENT,
        secret: CLIENT_SECRET,
    };
    let tokens = flows::redeem(&crate::harness::http(), &base, web, &authorized).await;
    assert!(tokens.status.is_success(), "{:?}", tokens.body);
    let id_token = tokens.body["id_token"].as_str().expect("an ID token");
    let claims = crate::inproc::claims(id_token);
    assert_eq!(
        claims["amr"],
        serde_json::json!(["pwd", "otp", "mfa"]),
        "{claims}"
    );
}
