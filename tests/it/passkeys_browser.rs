//! Passkeys in headless Chromium with the DevTools virtual authenticator (a CTAP2 platform
//! authenticator with resident keys and user verification): a passkey is registered on
//! `/account/passkeys`, the user signs out, signs in with the passkey alone (the button, then the
//! autofill) through an authorization code flow, and the ID token's `amr` says how; the same
//! with the passkey as the second step after a password.

use serde_json::{Value, json};

use crate::browser::{Browser, Callback};
use crate::flows::{
    AuthRequest, Authorized, ClientAuth, PASSWORD, USERNAME, WEB_ID, WEB_SECRET, query_param, redeem,
};
use crate::harness::{Server, assert_success};
use crate::inproc::claims;

const WEB_SECRET_VAR: &str = "LATCHKEY_TEST_PASSKEY_WEB_SECRET";

/// A server whose issuer is `http://localhost:PORT` (a secure context with a valid RP ID, which
/// `127.0.0.1` is not), with a confidential client allowed `openid`, and the user [`USERNAME`].
fn passkey_server() -> Server {
    let mut server = Server::with_config(|port| {
        format!(
            r#"issuer = "http://localhost:{port}"
listen = "127.0.0.1:{port}"
data = "data/identity.redb"

[[client]]
client_id = "{WEB_ID}"
name = "Passkey Console"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile"]
secret_env = "{WEB_SECRET_VAR}"
"#
        )
    });
    server.env(WEB_SECRET_VAR, WEB_SECRET);
    server.start();
    let added = server.cli_stdin(
        &["user", "add", USERNAME, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&added);
    server
}

fn base(server: &Server) -> String {
    format!("http://localhost:{}", server.port())
}

async fn cdp(browser: &Browser, cmd: &'static str, params: Value) -> Value {
    browser.cdp(cmd, params).await
}

/// Adds a virtual CTAP2 platform authenticator with resident keys and user verification that
/// answers every request at once; returns its id.
pub(crate) async fn virtual_authenticator(browser: &Browser) -> String {
    cdp(browser, "WebAuthn.enable", json!({ "enableUI": false })).await;
    let added = cdp(
        browser,
        "WebAuthn.addVirtualAuthenticator",
        json!({ "options": {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        }}),
    )
    .await;
    added["authenticatorId"]
        .as_str()
        .unwrap_or_else(|| panic!("no authenticator id in {added}"))
        .to_owned()
}

/// Makes every page say conditional mediation is unavailable (until the returned script is
/// removed), or the virtual authenticator would answer the login page's autofill request with
/// the passkey it holds as soon as the page loads.
async fn hide_conditional_mediation(browser: &Browser) -> Value {
    cdp(
        browser,
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "PublicKeyCredential.isConditionalMediationAvailable = async () => false;" }),
    )
    .await
}

/// The credentials the virtual authenticator holds.
pub(crate) async fn credentials(browser: &Browser, authenticator: &str) -> Vec<Value> {
    let listed = cdp(
        browser,
        "WebAuthn.getCredentials",
        json!({ "authenticatorId": authenticator }),
    )
    .await;
    listed["credentials"].as_array().cloned().unwrap_or_default()
}

async fn goto(browser: &Browser, url: &str) {
    browser
        .client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
}

/// Signs in with the password on the login page the browser shows.
async fn sign_in_with_password(browser: &Browser) {
    browser.wait_for("form[action='/login'] input#username").await;
    browser.type_into("input#username", USERNAME).await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
}

/// Registers a passkey named `name` on `/account/passkeys` (signing in with the password first).
async fn register_passkey(browser: &Browser, base: &str, name: &str) {
    goto(browser, &format!("{base}/account/passkeys")).await;
    sign_in_with_password(browser).await;
    browser
        .wait_for("form[data-passkey='register']:not([hidden])")
        .await;
    let field = browser
        .client
        .find(fantoccini::Locator::Css("#passkey-name"))
        .await
        .expect("the name field");
    field.clear().await.expect("the name field clears");
    field.send_keys(name).await.expect("the name is typed");
    browser.click("#passkey-register").await;
    browser.wait_for("p.notice").await;
    assert_eq!(browser.text(".passkey h2").await, name);
}

/// Ends the session with the home page's sign-out button.
async fn sign_out(browser: &Browser, base: &str) {
    goto(browser, &format!("{base}/")).await;
    browser
        .click("form[action='/logout'] button[type='submit']")
        .await;
    let signed_out = url::Url::parse(&format!("{base}/logout")).expect("a URL");
    browser
        .client
        .wait()
        .for_url(&signed_out)
        .await
        .unwrap_or_else(|e| panic!("the sign-out did not answer: {e}"));
}

/// An OpenID Connect authorization request of the web client, answered at `callback`.
fn code_request(callback: &Callback) -> AuthRequest {
    let mut request = AuthRequest::new(WEB_ID, &callback.redirect_uri());
    request.scope = "openid profile".into();
    request
}

/// Allows the consent page and returns the code the callback received.
async fn allow(browser: &Browser, callback: &mut Callback, request: AuthRequest) -> Authorized {
    let button = "form[action='/oauth/consent'] button[name='decision'][value='allow']";
    browser.wait_for(button).await;
    browser.click(button).await;
    let landed = callback.next().await;
    let code = query_param(&landed, "code").unwrap_or_else(|| panic!("no code in {landed}"));
    Authorized { code, request }
}

/// The `amr` of the ID token the code of `authorized` redeems for.
async fn amr_of(base: &str, authorized: &Authorized) -> Vec<String> {
    let web = ClientAuth::Basic {
        id: WEB_ID,
        secret: WEB_SECRET,
    };
    let tokens = redeem(&crate::harness::http(), base, web, authorized).await;
    let id_token = tokens.string("id_token");
    let amr = claims(&id_token)["amr"].clone();
    serde_json::from_value(amr.clone()).unwrap_or_else(|_| panic!("amr is not a list of strings: {amr}"))
}

#[tokio::test]
async fn a_passkey_registered_on_the_account_page_signs_in_alone_and_the_id_token_says_hwk_user_mfa() {
    let server = passkey_server();
    let base = base(&server);
    let browser = Browser::start().await;
    goto(&browser, &format!("{base}/login")).await;
    let authenticator = virtual_authenticator(&browser).await;

    register_passkey(&browser, &base, "Laptop").await;
    browser.screenshot("passkeys-account-page").await;
    assert_eq!(credentials(&browser, &authenticator).await.len(), 1);
    let page = browser.text("main").await;
    assert!(page.contains("Last used never"), "{page}");
    sign_out(&browser, &base).await;

    // The button (conditional mediation hidden, so that the autofill does not answer first).
    let hidden = hide_conditional_mediation(&browser).await;
    let mut callback = Callback::start();
    let request = code_request(&callback);
    goto(&browser, &request.url(&base)).await;
    browser.wait_for("button#passkey-sign-in:not([hidden])").await;
    assert_eq!(
        browser.attr("input#username", "autocomplete").await.as_deref(),
        Some("username webauthn")
    );
    browser.screenshot("passkeys-login-page").await;
    browser.click("button#passkey-sign-in").await;
    let authorized = allow(&browser, &mut callback, request).await;
    let amr = amr_of(&base, &authorized).await;
    assert_eq!(amr, ["hwk", "user", "mfa"], "the passkey verified the user");
    sign_out(&browser, &base).await;

    // The autofill: with conditional mediation, the login page asks for a passkey as it loads
    // (the virtual authenticator picks the one it holds) and nothing is clicked.
    cdp(
        &browser,
        "Page.removeScriptToEvaluateOnNewDocument",
        json!({ "identifier": hidden["identifier"] }),
    )
    .await;
    // The consent is remembered, so the browser goes straight back to the client.
    let request = code_request(&callback);
    goto(&browser, &request.url(&base)).await;
    let landed = callback.next().await;
    let code = query_param(&landed, "code").unwrap_or_else(|| panic!("no code in {landed}"));
    let authorized = Authorized { code, request };
    assert_eq!(amr_of(&base, &authorized).await, ["hwk", "user", "mfa"]);

    // The use was recorded: the page shows a last use, the authenticator's counter moved on.
    goto(&browser, &format!("{base}/account/passkeys")).await;
    browser.wait_for(".passkey h2").await;
    let page = browser.text("main").await;
    assert!(!page.contains("Last used never"), "{page}");
    let held = credentials(&browser, &authenticator).await;
    assert!(held[0]["signCount"].as_u64().unwrap_or(0) >= 1, "{held:?}");
    browser.close().await;
}

#[tokio::test]
async fn a_passkey_as_the_second_step_after_a_password_gives_pwd_hwk_user_mfa() {
    let server = passkey_server();
    let base = base(&server);
    let browser = Browser::start().await;
    goto(&browser, &format!("{base}/login")).await;
    virtual_authenticator(&browser).await;
    hide_conditional_mediation(&browser).await;
    register_passkey(&browser, &base, "Security key").await;
    sign_out(&browser, &base).await;

    let mut callback = Callback::start();
    let request = code_request(&callback);
    goto(&browser, &request.url(&base)).await;
    sign_in_with_password(&browser).await;
    browser.wait_for("button#passkey-second-factor").await;
    let page = browser.text("main").await;
    assert!(page.contains(USERNAME), "{page}");
    browser.screenshot("passkeys-second-step").await;
    browser.click("button#passkey-second-factor").await;
    let authorized = allow(&browser, &mut callback, request).await;

    let amr = amr_of(&base, &authorized).await;
    assert_eq!(amr, ["pwd", "hwk", "user", "mfa"], "a password, then the passkey");
    browser.close().await;
}
