//! The admin console's clients, sessions and audit areas in a real browser (headless Chromium, a
//! real server process over loopback HTTP, no script on the pages): an administrator signs in,
//! registers a client, changes its redirect URI (the authorization endpoint follows at once,
//! without a restart), gives it a new secret, ends another user's session and filters the audit
//! feed. The dashboard's and the clients page's screenshots are kept as
//! `docs/screenshots/admin-dashboard.png` and `admin-clients.png`.

use std::path::Path;

use reqwest::StatusCode;

use crate::browser::{Browser, Callback};
use crate::flows::{AuthRequest, PASSWORD, form_field, query_param};
use crate::harness::{Server, assert_success, default_config, http};

async fn goto(browser: &Browser, url: &str) {
    browser
        .client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
}

fn keep(shot: &Path, name: &str) {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/screenshots")
        .join(name);
    std::fs::copy(shot, &docs).unwrap_or_else(|e| panic!("cannot copy to {}: {e}", docs.display()));
}

/// A client-credentials token request as `ci`: its status.
async fn token_status(base: &str, secret: &str) -> StatusCode {
    http()
        .post(format!("{base}/oauth/token"))
        .basic_auth("ci", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("the token endpoint answers")
        .status()
}

/// Another browser (a cookie jar) signed in as `username`.
async fn signed_in_elsewhere(base: &str, username: &str) -> reqwest::Client {
    let jar = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let form = jar
        .get(format!("{base}/login?return_to=%2Faccount"))
        .send()
        .await
        .expect("the login page")
        .text()
        .await
        .expect("its text");
    let csrf = form_field(&form, "csrf").expect("a form token");
    let signed = jar
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("return_to", "/account"),
            ("username", username),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("the sign-in answers");
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    jar
}

async fn account_status(jar: &reqwest::Client, base: &str) -> StatusCode {
    jar.get(format!("{base}/account"))
        .send()
        .await
        .expect("the account page answers")
        .status()
}

async fn field_value(browser: &Browser, selector: &str) -> String {
    browser
        .wait_for(selector)
        .await
        .prop("value")
        .await
        .expect("a value")
        .unwrap_or_default()
}

#[tokio::test]
async fn an_administrator_manages_a_client_a_session_and_the_audit_feed_in_chromium() {
    let mut server = Server::with_config(default_config);
    server.start();
    for (user, groups) in [("root", vec!["--group", "admins"]), ("alice", vec![])] {
        let mut args = vec!["user", "add", user];
        args.extend(groups);
        args.push("--password-stdin");
        assert_success(&server.cli_stdin(&args, &format!("{PASSWORD}\n")));
    }
    let base = server.base_url();
    let mut callback = Callback::start();
    let new_uri = callback.redirect_uri();
    let old_uri = new_uri.replace("/callback", "/old");
    let alice = signed_in_elsewhere(&base, "alice").await;
    let browser = Browser::start().await;
    // Wide enough for the console's tables, tall enough for the chart, in the screenshots.
    browser
        .client
        .set_window_size(1280, 1100)
        .await
        .expect("the window resizes");

    // A failed sign-in first, for the dashboard's chart; then the administrator.
    goto(&browser, &format!("{base}/login")).await;
    browser.wait_for("input#username").await;
    browser.type_into("input#username", "alice").await;
    browser.type_into("input#password", "not the password").await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_for("p.error:not([hidden])").await;
    goto(&browser, &format!("{base}/admin")).await;
    browser.wait_for("form[action='/login'] input#username").await;
    browser.type_into("input#username", "root").await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_for("svg[role='img']").await;
    assert_eq!(browser.text("h1").await, "Dashboard");
    assert_eq!(browser.text("td[data-count='users']").await, "2");
    let failed = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('g[data-failed]')).reduce((n, g) => n + Number(g.dataset.failed), 0)",
            vec![],
        )
        .await
        .expect("the script runs");
    assert_eq!(failed, serde_json::json!(1));
    keep(
        &browser.screenshot("admin-dashboard").await,
        "admin-dashboard.png",
    );

    // Register a confidential client: the secret is shown once, read-only.
    goto(&browser, &format!("{base}/admin/clients")).await;
    browser
        .wait_for("form[action='/admin/clients'] input#client_id")
        .await;
    browser.type_into("input#client_id", "ci").await;
    browser.type_into("input#name", "Build Server").await;
    browser.type_into("textarea#redirect_uris", &old_uri).await;
    browser
        .click("input[name='grant_types'][value='client_credentials']")
        .await;
    browser
        .click("form[action='/admin/clients'] button[type='submit']")
        .await;
    let first = field_value(&browser, "input#client_secret[readonly]").await;
    assert!(first.len() >= 43, "{first}");
    assert_eq!(token_status(&base, &first).await, StatusCode::OK);
    goto(&browser, &format!("{base}/admin/clients")).await;
    browser.wait_for("tr[data-client='ci']").await;
    keep(&browser.screenshot("admin-clients").await, "admin-clients.png");

    // Change the redirect URI: the next authorization request follows it.
    goto(&browser, &format!("{base}/admin/clients/ci")).await;
    let textarea = browser.wait_for("textarea#redirect_uris").await;
    textarea.clear().await.expect("the textarea clears");
    browser.type_into("textarea#redirect_uris", &new_uri).await;
    browser
        .click("form[action='/admin/clients/ci'] button[type='submit']")
        .await;
    browser.wait_for("p.notice").await;
    let ask = |uri: &str| {
        let mut request = AuthRequest::new("ci", uri);
        request.scope = "openid profile".into();
        request.url(&base)
    };
    goto(&browser, &ask(&old_uri)).await;
    browser.wait_for("h1").await;
    let url = browser.client.current_url().await.expect("a URL");
    assert_eq!(
        url.path(),
        "/oauth/authorize",
        "the old URI is refused on the server's page"
    );
    goto(&browser, &ask(&new_uri)).await;
    let allow = "form[action='/oauth/consent'] button[name='decision'][value='allow']";
    browser.wait_for(allow).await;
    browser.click(allow).await;
    let landed = callback.next().await;
    assert!(query_param(&landed, "code").is_some(), "no code in {landed}");

    // A new secret: the old one stops working.
    goto(&browser, &format!("{base}/admin/clients/ci")).await;
    browser
        .click("form[action='/admin/clients/ci/rotate'] button[type='submit']")
        .await;
    let second = field_value(&browser, "input#client_secret[readonly]").await;
    assert_ne!(second, first);
    assert_eq!(token_status(&base, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(token_status(&base, &second).await, StatusCode::OK);

    // End alice's session: her browser is signed out.
    assert_eq!(account_status(&alice, &base).await, StatusCode::OK);
    goto(&browser, &format!("{base}/admin/sessions")).await;
    browser.wait_for("table").await;
    browser
        .click("form[action='/admin/sessions/revoke']:has(input[value='alice']) button")
        .await;
    browser.wait_for("p.notice").await;
    assert_eq!(account_status(&alice, &base).await, StatusCode::SEE_OTHER);

    // The audit feed, filtered to alice's failures.
    goto(&browser, &format!("{base}/admin/audit")).await;
    browser.type_into("input#actor", "alice").await;
    browser.click("select#outcome option[value='failure']").await;
    browser.click("form.filters button[type='submit']").await;
    browser
        .wait_for("select#outcome option[value='failure'][selected]")
        .await;
    let actions = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('tr[data-action]')).map(r => r.dataset.action)",
            vec![],
        )
        .await
        .expect("the script runs");
    assert_eq!(actions, serde_json::json!(["login.failure"]), "{actions}");
    browser.screenshot("admin-audit").await;
    browser.close().await;
}
