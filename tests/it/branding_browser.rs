//! The operator's branding in a real browser (headless Chromium): a branded login page with
//! the logo, the accent on the button in the light and the dark colour scheme (emulated through
//! DevTools) with readable text, the client's `data:` icon, and no serious accessibility
//! violation. The light page's screenshot is kept as `docs/screenshots/login-branded.png`.

use std::path::Path;

use serde_json::json;

use crate::a11y_browser::{audit, axe_source, emulate_scheme};
use crate::browser::{Browser, Callback};
use crate::flows::AuthRequest;
use crate::harness::Server;

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40"><rect x="0" y="4" width="32" height="32" rx="8" fill="#0b6e4f"/><path d="M9 20l6 6 10-12" stroke="#fff" stroke-width="4" fill="none" stroke-linecap="round" stroke-linejoin="round"/><text x="40" y="27" font-family="sans-serif" font-size="18" font-weight="700" fill="#0b6e4f">acme</text></svg>
"##;
const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><rect width="48" height="48" rx="10" fill="#b5451b"/><circle cx="24" cy="24" r="10" fill="#fff"/></svg>"##;

fn branded_server() -> Server {
    let mut server = Server::with_config(|port| {
        let icon = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, ICON);
        format!(
            r##"issuer = "http://127.0.0.1:{port}"
listen = "127.0.0.1:{port}"
data = "data/identity.redb"

[ui]
name = "Acme ID"
logo = "logo.svg"
accent = "#0b6e4f"
accent_dark = "#7fd1b0"
stylesheet = "brand.css"

[[client]]
client_id = "wiki"
name = "Acme Wiki"
public = true
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile", "offline_access"]
icon = "data:image/svg+xml;base64,{icon}"
"##
        )
    });
    std::fs::write(server.dir().join("logo.svg"), LOGO).unwrap();
    std::fs::write(
        server.dir().join("brand.css"),
        ".brand span { letter-spacing: .06em; }\n",
    )
    .unwrap();
    server.start();
    server
}

/// A computed style property of the first element matching `selector`.
async fn style(browser: &Browser, selector: &str, property: &str) -> String {
    let v = browser
        .client
        .execute(
            "return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue(arguments[1]);",
            vec![json!(selector), json!(property)],
        )
        .await
        .unwrap_or_else(|e| panic!("cannot read {property} of {selector}: {e}"));
    v.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_branded_login_page_shows_the_logo_and_accent_in_light_and_dark_in_chromium() {
    let axe = axe_source();
    let server = branded_server();
    let base = server.base_url();
    let browser = Browser::start().await;
    let callback = Callback::start();
    let request = AuthRequest::new("wiki", &callback.redirect_uri());
    browser
        .client
        .goto(&request.url(&base))
        .await
        .expect("the login page opens");
    browser.wait_for("form[action='/login'] input#username").await;
    assert!(browser.client.title().await.unwrap().ends_with(" · Acme ID"));
    assert_eq!(browser.attr("img.logo", "alt").await.as_deref(), Some("Acme ID"));
    assert_eq!(
        browser.attr("img.client-icon", "alt").await.as_deref(),
        Some("Acme Wiki")
    );
    // Both pictures loaded under the page's CSP: they have a size.
    let sizes = browser
        .client
        .execute(
            "return ['img.logo', 'img.client-icon'].map(s => { const i = document.querySelector(s); return i.complete ? i.naturalWidth : 0; });",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        sizes
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w.as_u64().is_some_and(|w| w > 0)),
        "a picture did not render: {sizes}"
    );
    // The extra stylesheet applies.
    assert_eq!(style(&browser, ".brand span", "letter-spacing").await, "0.96px");

    let button = "form[action='/login'] button[type='submit']";
    emulate_scheme(&browser, "light").await;
    assert_eq!(
        style(&browser, button, "background-color").await,
        "rgb(11, 110, 79)"
    );
    assert_eq!(style(&browser, button, "color").await, "rgb(255, 255, 255)");
    let shot = browser.screenshot("login-branded").await;
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/login-branded.png");
    std::fs::copy(&shot, &docs).unwrap_or_else(|e| panic!("cannot copy to {}: {e}", docs.display()));

    emulate_scheme(&browser, "dark").await;
    assert_eq!(
        style(&browser, button, "background-color").await,
        "rgb(127, 209, 176)"
    );
    assert_eq!(style(&browser, button, "color").await, "rgb(0, 0, 0)");
    browser.screenshot("login-branded-dark").await;

    let found = audit(&browser, &axe, "the branded login page").await;
    browser.close().await;
    assert!(
        found.is_empty(),
        "accessibility violations:\n{}",
        found.join("\n")
    );
}
