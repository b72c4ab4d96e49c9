//! The app launcher in a real browser (headless Chromium, a real server process over loopback
//! HTTP): a stranger opening `/apps` signs in and comes back to the list, whose `data:` icon
//! renders under the page's CSP; the screenshot goes to `target/tmp/screenshots/apps.png`.

use crate::apps::launcher_clients;
use crate::browser::Browser;
use crate::flows::{PASSWORD, USERNAME};
use crate::harness::{Server, assert_success, default_config};

#[tokio::test]
async fn a_signed_in_user_sees_the_applications_of_their_groups_with_icons_in_chromium() {
    let mut server = Server::with_config(|port| default_config(port) + &launcher_clients());
    server.start();
    let added = server.cli_stdin(
        &["user", "add", USERNAME, "--group", "staff", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&added);
    let base = server.base_url();
    let browser = Browser::start().await;
    browser
        .client
        .goto(&format!("{base}/apps"))
        .await
        .expect("the launcher opens");
    browser.wait_for("form[action='/login'] input#username").await;
    browser.type_into("input#username", USERNAME).await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_for("ul.apps").await;
    let url = browser.client.current_url().await.expect("a URL");
    assert_eq!(url.path(), "/apps");
    assert_eq!(browser.text("h1").await, "Your applications");
    let names = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('ul.apps a')).map(a => a.innerText.trim())",
            vec![],
        )
        .await
        .expect("the script runs");
    // An entry without an icon shows its initial (hidden from screen readers) before its name.
    assert_eq!(names, serde_json::json!(["Grafana", "Z\nZeta Wiki"]), "{names}");
    assert_eq!(
        browser.attr("ul.apps li:first-child a", "href").await.as_deref(),
        Some("https://grafana.example.com/")
    );
    // The data: icon was allowed by the CSP and decoded: it has a size.
    let width = browser
        .client
        .execute(
            "const i = document.querySelector('ul.apps img'); return i && i.complete ? i.naturalWidth : 0",
            vec![],
        )
        .await
        .expect("the script runs");
    assert!(
        width.as_u64().is_some_and(|w| w > 0),
        "the icon did not render: {width}"
    );
    let shot = browser.screenshot("apps").await;
    assert!(shot.exists());
    browser.close().await;
}
