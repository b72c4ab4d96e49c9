//! Forward-auth in headless Chromium through the real nginx: an anonymous visit to an app's page
//! ends on Latchkey's sign-in page, and signing in there lands back on that very page, now
//! answered by the app with the user's identity. Chromium maps every `example.test` host to
//! 127.0.0.1 and accepts the test certificate (`--ignore-certificate-errors`, these tests only).

use std::time::Duration;

use super::{ALICE, Echo, Kind, Proxy, Rig};
use crate::browser::Browser;
use crate::flows::PASSWORD;
use crate::harness::eventually;

/// How long the browser may take to land on a page.
const LAND_WITHIN: Duration = Duration::from_secs(30);

/// The current page's URL.
async fn current(browser: &Browser) -> String {
    browser
        .client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn chromium_signs_in_through_nginx_and_lands_on_the_original_page() {
    let rig = Rig::start();
    let proxy = Proxy::start(Kind::Nginx, &rig);
    let browser = Browser::start_with_args(&[
        "--host-resolver-rules=MAP *.example.test 127.0.0.1".to_owned(),
        "--ignore-certificate-errors".to_owned(),
    ])
    .await;
    let original = proxy.url("app.example.test", "/some/page?x=1");
    browser
        .client
        .goto(&original)
        .await
        .unwrap_or_else(|e| panic!("cannot open {original}: {e}"));
    browser.wait_for("form[action='/login'] input#username").await;
    let at = current(&browser).await;
    assert!(
        at.starts_with(&format!("{}/login?", rig.issuer())),
        "the browser is on Latchkey's sign-in page, not {at}"
    );
    assert_eq!(
        rig.upstream.requests(),
        0,
        "the app was not reached before sign-in"
    );
    browser.screenshot("forward-auth-sign-in").await;

    browser.type_into("input#username", ALICE).await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    let mut landed = String::new();
    for _ in 0..(LAND_WITHIN.as_millis() / 200) {
        landed = current(&browser).await;
        if landed == original {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(landed, original, "the browser lands back on the original URL");
    assert!(
        eventually(Duration::from_secs(5), || rig.upstream.requests() >= 1),
        "the app answered"
    );
    // Chromium shows a JSON answer as text in a <pre>.
    let text = browser.text("pre").await;
    let echo = Echo::parse(&text).unwrap_or_else(|| panic!("the app's answer is shown, not: {text}"));
    assert_eq!(echo.one("remote-user"), ALICE, "the app saw Remote-User: alice");
    assert_eq!(
        echo.uri, "/some/page?x=1",
        "the app was asked for the original page"
    );
    let shot = browser.screenshot("forward-auth-app").await;
    eprintln!("screenshots beside {}", shot.display());
    browser.close().await;
}
