//! The automated accessibility check: axe-core (from npm, pinned in `.ci/axe/package-lock.json`,
//! installed by `.ci/axe/install`; its `axe.min.js` is found through `LATCHKEY_TEST_AXE`) runs in
//! headless Chromium on every page a person meets, in the light and the dark colour scheme
//! (emulated through DevTools), and the test fails on any violation of impact "serious" or
//! "critical", naming the rule, the element and the page.
//!
//! The pages' CSP (`script-src 'self'` at most) would refuse a `<script>` with axe in it, but
//! WebDriver's `execute` runs in the page outside the CSP, so axe is injected that way; nothing
//! is added to the pages for the test.

use std::path::PathBuf;

use serde_json::json;

use crate::browser::{Browser, Callback};
use crate::flows::AuthRequest;
use crate::harness::{Server, assert_success};

/// The variable that names `axe.min.js` (set by `.ci/run`).
const AXE_VAR: &str = "LATCHKEY_TEST_AXE";

/// The source of `axe.min.js`: from `LATCHKEY_TEST_AXE`, else where `.ci/axe/install` puts it.
/// Panics (the test fails, it never skips) when it is not there.
pub fn axe_source() -> String {
    let path = std::env::var_os(AXE_VAR).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/axe/node_modules/axe-core/axe.min.js")
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the accessibility test needs axe-core's axe.min.js at {} ({e}): run `bash .ci/axe/install`, \
             which installs the pinned axe-core from the npm registry into target/axe, or set {AXE_VAR} \
             to an axe.min.js; if the npm registry cannot be reached, this test cannot run",
            path.display()
        )
    })
}

/// The colour schemes every page is checked in.
const SCHEMES: [&str; 2] = ["light", "dark"];

/// Makes the page (and later pages in this tab) prefer the `scheme` colour scheme.
pub async fn emulate_scheme(browser: &Browser, scheme: &str) {
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
}

/// Runs axe on the current page in both colour schemes and returns its serious and critical
/// violations, one line each: page, scheme, rule, impact, element and what is wrong.
pub async fn audit(browser: &Browser, axe: &str, page: &str) -> Vec<String> {
    let present = browser
        .client
        .execute(
            &format!("if (typeof window.axe === 'undefined') {{ {axe}\n }} return typeof window.axe;"),
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("cannot inject axe into {page}: {e}"));
    assert_eq!(present, json!("object"), "axe did not load on {page}");
    let mut findings = Vec::new();
    for scheme in SCHEMES {
        emulate_scheme(browser, scheme).await;
        let answer = browser
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done({ violations: r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary || '' })) })) }))
  .catch(e => done({ error: String(e) }));"#,
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("axe did not run on {page}: {e}"));
        if let Some(error) = answer.get("error") {
            panic!("axe failed on {page} ({scheme}): {error}");
        }
        for v in answer["violations"].as_array().into_iter().flatten() {
            for n in v["nodes"].as_array().into_iter().flatten() {
                findings.push(format!(
                    "{page} ({scheme}): {} ({}) at `{}`: {} — {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    n["target"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or(""),
                    n["summary"].as_str().unwrap_or("").replace('\n', " "),
                ));
            }
        }
    }
    emulate_scheme(browser, "light").await;
    findings
}

/// Opens `url`, waits for `ready` (a CSS selector) and audits the page, named `page`.
async fn visit(browser: &Browser, axe: &str, url: &str, ready: &str, page: &str, found: &mut Vec<String>) {
    browser
        .client
        .goto(url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    browser.wait_for(ready).await;
    // The page itself, not a sign-in or error it was sent on to.
    let asked = url::Url::parse(url).expect("a page URL");
    let shown = browser.client.current_url().await.expect("the current URL");
    assert_eq!(shown.path(), asked.path(), "{page} was sent on to {shown}");
    found.extend(audit(browser, axe, page).await);
}

const CLIENT_ID: &str = "a11y-web";
const CLIENT_SECRET: &str = "a11y-client-secret-0123456789-abcdefghijklmn";
const SECRET_VAR: &str = "LATCHKEY_TEST_A11Y_SECRET";
const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "an administrator's password, long enough";

/// A server on `http://localhost:PORT` (so passkeys are on), with a confidential client and an
/// administrator.
fn server() -> Server {
    let mut server = Server::with_config(|port| {
        format!(
            r#"issuer = "http://localhost:{port}"
listen = "127.0.0.1:{port}"
data = "data/identity.redb"

[[client]]
client_id = "{CLIENT_ID}"
name = "Accessible App"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["openid", "profile", "offline_access"]
secret_env = "{SECRET_VAR}"
launch_url = "https://app.example.com/"
"#
        )
    });
    server.env(SECRET_VAR, CLIENT_SECRET);
    server.start();
    let added = server.cli_stdin(
        &["user", "add", ADMIN, "--group", "admins", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert_success(&added);
    server
}

#[tokio::test]
async fn every_page_has_no_serious_or_critical_axe_violation_in_light_and_dark() {
    let axe = axe_source();
    let mut found = Vec::new();
    let browser = Browser::start().await;

    // The first-administrator page of a fresh server.
    let mut fresh = Server::new();
    fresh.start();
    let link = fresh.setup_link().expect("a fresh server prints a setup link");
    visit(
        &browser,
        &axe,
        &link,
        "form[action='/setup'] input#username",
        "/setup",
        &mut found,
    )
    .await;
    drop(fresh);

    let server = server();
    let base = format!("http://localhost:{}", server.port());
    let mut callback = Callback::start();
    let request = AuthRequest::new(CLIENT_ID, &callback.redirect_uri());
    let login = "form[action='/login'] input#username";
    visit(
        &browser,
        &axe,
        &format!("{}&ui_locales=ko", request.url(&base)),
        login,
        "/login (Korean)",
        &mut found,
    )
    .await;
    visit(&browser, &axe, &request.url(&base), login, "/login", &mut found).await;
    emulate_scheme(&browser, "dark").await;
    let shot = browser.screenshot("login-dark").await;
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots/login-dark.png");
    std::fs::copy(&shot, &docs).unwrap_or_else(|e| panic!("cannot copy to {}: {e}", docs.display()));
    emulate_scheme(&browser, "light").await;

    browser.type_into("input#username", ADMIN).await;
    browser.type_into("input#password", ADMIN_PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    let allow = "form[action='/oauth/consent'] button[name='decision'][value='allow']";
    browser.wait_for(allow).await;
    found.extend(audit(&browser, &axe, "the consent page").await);
    browser.click(allow).await;
    let landed = callback.next().await;
    assert!(landed.query().is_some_and(|q| q.contains("code=")), "{landed}");

    for (path, ready) in [
        ("/account", "h1"),
        ("/account/passkeys", "h1"),
        ("/account/totp", "h1"),
        ("/apps", "ul.apps"),
        ("/admin", "h1"),
        ("/admin/users", "h1"),
        ("/admin/users/root", "h1"),
        ("/admin/groups", "h1"),
        ("/admin/groups/admins", "h1"),
        ("/admin/clients", "h1"),
        ("/admin/clients/a11y-web", "h1"),
        ("/admin/sessions", "h1"),
        ("/admin/audit", "h1"),
        ("/admin/keys", "h1"),
        ("/oauth/authorize?client_id=nobody", "h1"),
        ("/oauth/logout", "form[action='/oauth/logout/confirm']"),
    ] {
        visit(&browser, &axe, &format!("{base}{path}"), ready, path, &mut found).await;
    }
    browser.close().await;
    assert!(
        found.is_empty(),
        "{} serious or critical accessibility violations:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The check itself works: a page with an unlabelled input and unreadable text fails it.
#[tokio::test]
async fn the_check_finds_a_missing_label_and_poor_contrast() {
    let axe = axe_source();
    let browser = Browser::start().await;
    let page = "<!doctype html><html lang=en><title>t</title><main><p style='color:#bbb;background:#fff'>faint</p><input id=x></main>";
    let url = format!(
        "data:text/html;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, page)
    );
    browser.client.goto(&url).await.expect("the data: page opens");
    let found = audit(&browser, &axe, "the bad page").await;
    browser.close().await;
    let rules: Vec<&str> = found.iter().map(String::as_str).collect();
    assert!(rules.iter().any(|f| f.contains("label (critical)")), "{found:#?}");
    assert!(
        rules.iter().any(|f| f.contains("color-contrast (serious)")),
        "{found:#?}"
    );
}
