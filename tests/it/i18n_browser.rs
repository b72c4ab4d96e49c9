//! The Korean sign-in in a real browser (headless Chromium through chromedriver): a client asks
//! for `ui_locales=ko`, the login and consent pages are Korean, the code reaches the client, and
//! then the switcher (a plain form, no script) turns the pages English. The login page's
//! screenshot is kept as `docs/screenshots/login-ko.png` for the README.

use std::path::Path;

use crate::browser::{Browser, Callback};
use crate::flows::{self, AuthRequest, PASSWORD, USERNAME, WEB_ID, WEB_NAME, query_param};

async fn goto(browser: &Browser, url: &str) {
    browser
        .client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
}

#[tokio::test]
async fn a_user_signs_in_through_the_korean_pages_in_chromium() {
    let server = flows::oauth_server();
    let base = server.base_url();
    let browser = Browser::start().await;
    let mut callback = Callback::start();
    let request = AuthRequest::new(WEB_ID, &callback.redirect_uri());
    goto(&browser, &format!("{}&ui_locales=ko", request.url(&base))).await;

    browser.wait_for("form[action='/login'] input#username").await;
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some("ko"));
    assert_eq!(browser.text("h1").await, "로그인");
    assert_eq!(browser.text("label[for='password']").await, "비밀번호");
    assert_eq!(
        browser.text("p.lead").await,
        format!("{WEB_NAME} 애플리케이션으로 이동하려면 로그인하십시오")
    );
    let shot = browser.screenshot("login-ko").await;
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/login-ko.png");
    std::fs::copy(&shot, &docs).unwrap_or_else(|e| panic!("cannot copy to {}: {e}", docs.display()));

    browser.type_into("input#username", USERNAME).await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    let allow = "form[action='/oauth/consent'] button[name='decision'][value='allow']";
    browser.wait_for(allow).await;
    assert_eq!(browser.attr("html", "lang").await.as_deref(), Some("ko"));
    assert_eq!(browser.text("h1").await, "접근을 허용하시겠습니까?");
    assert_eq!(browser.text(allow).await, "허용");
    browser.screenshot("consent-ko").await;
    browser.click(allow).await;
    let landed = callback.next().await;
    assert!(query_param(&landed, "code").is_some(), "no code in {landed}");

    // The switcher: a plain form that works without JavaScript.
    goto(&browser, &format!("{base}/account")).await;
    browser.wait_for("form[action='/language'] select").await;
    assert_eq!(
        browser.attr("html", "lang").await.as_deref(),
        Some("en"),
        "no cookie, no ui_locales"
    );
    browser.click("form[action='/language'] option[value='ko']").await;
    browser
        .click("form[action='/language'] button[type='submit']")
        .await;
    browser.wait_for("html[lang='ko']").await;
    assert_eq!(browser.text("h1").await, "내 계정");
    browser.screenshot("account-ko").await;
    browser.close().await;
}
