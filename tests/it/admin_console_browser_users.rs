//! The users area of the admin console in a real browser (headless Chromium, a real server
//! process over loopback HTTP): an administrator signs in, creates a user through the form (no
//! script on the page), and finds it in the listing. The listing's screenshot is kept as
//! `docs/screenshots/admin-users.png` for the README.

use std::path::Path;

use fantoccini::Locator;

use crate::browser::Browser;
use crate::flows::{PASSWORD, USERNAME};
use crate::harness::{Server, assert_success, default_config};

#[tokio::test]
async fn an_administrator_creates_a_user_through_the_form_and_finds_it_listed_in_chromium() {
    let mut server = Server::with_config(default_config);
    server.start();
    let people = [
        ("root", "Root Admin", "root@example.com", &["admins"][..]),
        (USERNAME, "Alice Liddell", "alice@example.com", &["staff"][..]),
    ];
    for (name, display, email, groups) in people {
        let mut args = vec!["user", "add", name, "--name", display, "--email", email];
        for g in groups {
            args.extend(["--group", g]);
        }
        args.push("--password-stdin");
        assert_success(&server.cli_stdin(&args, &format!("{PASSWORD}\n")));
    }
    let base = server.base_url();
    let browser = Browser::start().await;
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("the window can be resized");
    browser
        .client
        .goto(&format!("{base}/admin/users"))
        .await
        .expect("the console opens");
    browser.wait_for("form[action='/login'] input#username").await;
    browser.type_into("input#username", "root").await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_for("form[action='/admin/users/create']").await;
    assert_eq!(browser.text("h1").await, "Users");
    assert_eq!(
        browser
            .attr("nav.admin-nav a[aria-current='page']", "href")
            .await
            .as_deref(),
        Some("/admin/users")
    );

    browser.type_into("input#new-username", "grace").await;
    browser.type_into("input#new-name", "Grace Hopper").await;
    browser.type_into("input#new-email", "grace@example.com").await;
    browser.type_into("input#new-groups", "staff, ops").await;
    browser
        .click("form[action='/admin/users/create'] button[type='submit']")
        .await;
    browser.wait_for("p.notice").await;
    assert_eq!(browser.text("h1").await, "grace");
    assert_eq!(browser.text("p.notice").await, "The user was created.");
    let url = browser.client.current_url().await.expect("a URL");
    assert_eq!(url.path(), "/admin/users/grace");

    // The user's own page, for a person to look at (not kept in docs).
    browser.screenshot("admin-user").await;
    browser.click("a[href='/admin/users']").await;
    browser.wait_for("tr[data-user='grace']").await;
    assert_eq!(browser.text("tr[data-user='grace'] td").await, "Grace Hopper");
    let rows = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('tbody tr')).map(r => r.dataset.user)",
            vec![],
        )
        .await
        .expect("the script runs");
    assert_eq!(rows, serde_json::json!([USERNAME, "grace", "root"]), "{rows}");
    let shot = browser.screenshot("admin-users").await;
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/admin-users.png");
    std::fs::copy(&shot, &docs).unwrap_or_else(|e| panic!("cannot copy to {}: {e}", docs.display()));

    // The switcher at the foot of the page turns the console Korean; the pages are kept in
    // target/tmp/screenshots for a person to look at.
    browser
        .client
        .find(Locator::Css("select#language-choice"))
        .await
        .expect("the language switcher")
        .select_by_value("ko")
        .await
        .expect("Korean can be chosen");
    browser.click("form.language button[type='submit']").await;
    browser.wait_for("html[lang='ko'] tr[data-user='grace']").await;
    assert_eq!(browser.text("h1").await, "사용자");
    browser.screenshot("admin-users-ko").await;
    for (path, title, name) in [
        ("/admin", "대시보드", "admin-dashboard-ko"),
        ("/admin/clients", "애플리케이션", "admin-clients-ko"),
        ("/admin/users/grace", "grace", "admin-user-ko"),
    ] {
        browser
            .client
            .goto(&format!("{base}{path}"))
            .await
            .expect("the console page opens");
        browser.wait_for("html[lang='ko'] h1").await;
        assert_eq!(browser.text("h1").await, title, "{path}");
        browser.screenshot(name).await;
    }
    browser.close().await;
}
