//! The Swagger UI at `/docs` in headless Chromium against a real server: it renders the
//! operations under its own Content-Security-Policy, nothing it loads comes from anywhere but
//! the server's origin, and its Authorize button signs an administrator in through Latchkey's
//! own login page (authorization code with PKCE, the built-in public client `latchkey-docs`),
//! after which "list users" answers 200 on the page.

use std::path::Path;
use std::time::Duration;

use fantoccini::Locator;
use fantoccini::wd::WindowHandle;
use serde_json::Value;
use url::Url;

use crate::browser::Browser;
use crate::harness::{Server, assert_success, http};

/// The administrator who signs in through the docs page.
const ADMIN: &str = "admin";
/// Her password (the policy wants at least 12 characters).
const ADMIN_PASSWORD: &str = "docs page administrator password";
/// How long the page may take to show what the test waits for.
const WITHIN: Duration = Duration::from_secs(30);

/// The sources a self-contained page may name in its CSP: no host, no scheme but `data:`, no
/// wildcard, no `'unsafe-eval'`.
fn assert_self_contained_csp(page: &str, csp: &str) {
    for directive in csp.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let mut words = directive.split_whitespace();
        let name = words.next().unwrap_or_default();
        for source in words {
            let allowed = match source {
                "'self'" | "'none'" => true,
                "'unsafe-inline'" => name == "style-src",
                "data:" => matches!(name, "img-src" | "font-src"),
                s => name == "script-src" && s.starts_with("'sha256-") && s.ends_with('\''),
            };
            assert!(
                allowed,
                "{page}: the CSP directive `{directive}` allows `{source}`, which reaches beyond the \
                 page's own origin or its own inline scripts; the whole policy is `{csp}`"
            );
        }
    }
    assert!(
        csp.contains("default-src 'none'"),
        "{page}: the CSP must deny by default: `{csp}`"
    );
    assert!(
        csp.contains("script-src 'sha256-"),
        "{page}: inline scripts must be allowed by hash only: `{csp}`"
    );
}

/// What the pages of `origin` asked Chromium's network stack for, from a NetLog file
/// (`--log-net-log`): every URL (and redirect target) of each request made for a page of the
/// server's site (its network isolation key names the site) or started by one of its pages (its
/// initiator is the origin), navigations and popups included. Chromium's own background
/// requests (updates, sign-in, autofill, which this closed network refuses anyway) carry
/// neither, and are not the page's doing.
fn page_requests(path: &Path, origin: &Url) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("Chromium wrote no NetLog at {}: {e}", path.display()));
    let log: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "the NetLog at {} is not JSON ({e}); it ends with:\n{}",
            path.display(),
            &text[text.len().saturating_sub(500)..]
        )
    });
    let site = format!("{}://{}", origin.scheme(), origin.host_str().unwrap_or_default());
    let origin_text = origin.origin().ascii_serialization();
    let events = log["events"].as_array().cloned().unwrap_or_default();
    let mut ours = std::collections::BTreeSet::new();
    for event in &events {
        let params = &event["params"];
        let keyed_to_site = params["network_isolation_key"]
            .as_str()
            .is_some_and(|nik| nik.split_whitespace().any(|s| s == site));
        let started_by_page = params["initiator"].as_str() == Some(origin_text.as_str());
        if keyed_to_site || started_by_page {
            ours.insert(event["source"]["id"].as_u64());
        }
    }
    let mut urls = Vec::new();
    for event in &events {
        if !ours.contains(&event["source"]["id"].as_u64()) {
            continue;
        }
        for key in ["url", "location", "original_url"] {
            if let Some(url) = event["params"][key].as_str() {
                urls.push(url.to_owned());
            }
        }
    }
    urls
}

/// Whether `url` is on the server's origin, or needs no network at all (`data:`, `about:`).
fn is_local(url: &str, origin: &Url) -> bool {
    match Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https" | "ws" | "wss") => u.origin() == origin.origin(),
        Ok(u) => matches!(u.scheme(), "data" | "blob" | "about"),
        Err(_) => false,
    }
}

/// The names of every resource the current page loaded (Resource Timing), and the page itself.
async fn loaded_resources(browser: &Browser) -> Vec<String> {
    let script = "return [location.href].concat(\
                  performance.getEntriesByType('navigation').map(e => e.name), \
                  performance.getEntriesByType('resource').map(e => e.name));";
    let value = browser
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("cannot read the page's resource timing: {e}"));
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `script` in the page until it returns `true`, for at most [`WITHIN`]; panics with
/// `what` and the page's text otherwise.
async fn wait_until(browser: &Browser, script: &str, what: &str) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let done = browser.client.execute(script, vec![]).await;
        if matches!(done, Ok(Value::Bool(true))) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let text = browser
                .client
                .execute("return document.body ? document.body.innerText : ''", vec![])
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            panic!(
                "{what} did not happen within {WITHIN:?} ({done:?}); the page says:\n{}",
                &text[..text.len().min(4000)]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (bounded) until the browser has exactly `n` windows, and returns them.
async fn wait_for_windows(browser: &Browser, n: usize, what: &str) -> Vec<WindowHandle> {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let windows = browser
            .client
            .windows()
            .await
            .unwrap_or_else(|e| panic!("cannot list the browser's windows: {e}"));
        if windows.len() == n {
            return windows;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: the browser has {} windows, not {n}", windows.len());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_administrator_authorizes_the_docs_page_through_latchkey_and_lists_users_from_it() {
    let mut server = Server::new();
    assert_success(&server.cli_stdin(
        &["user", "add", ADMIN, "--group", "admins", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    ));
    server.start();
    let base = server.base_url();
    let origin = Url::parse(&base).expect("the base URL parses");

    // The page and its receiver allow their own inline scripts and nothing external.
    for page in ["/docs", "/docs/oauth-receiver.html"] {
        let resp = http()
            .get(format!("{base}{page}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {page}: {e}"));
        assert_eq!(resp.status(), 200, "GET {page}");
        let csp = resp
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{page} has no Content-Security-Policy"))
            .to_owned();
        assert_self_contained_csp(page, &csp);
    }

    let netlog_dir = tempfile::Builder::new()
        .prefix("latchkey-netlog-")
        .tempdir()
        .expect("a temporary directory for the NetLog");
    let netlog = netlog_dir.path().join("netlog.json");
    let browser = Browser::start_with_args(&[
        format!("--log-net-log={}", netlog.display()),
        // Chromium's autofill sends the signatures of the forms a page shows (the login form)
        // to a Google server, keyed to the page's site; that is the browser's doing, not the
        // page's, and would blur what this test looks for.
        "--disable-features=AutofillServerCommunication".to_owned(),
    ])
    .await;
    let docs_url = format!("{base}/docs");
    browser
        .client
        .goto(&docs_url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {docs_url}: {e}"));

    // Swagger UI ran under the page's CSP: it rendered the operations.
    let list_users = ".opblock-get:has(.opblock-summary-path[data-path='/api/v1/users'])";
    browser.wait_for(list_users).await;
    browser
        .wait_for(".opblock-post .opblock-summary-path[data-path='/oauth/token']")
        .await;

    // Opening "list users" puts its deep link in the address (`/docs#/...`); a person who
    // reloads or bookmarks the page comes back to that address, and signing in from there must
    // work as well.
    browser.click(&format!("{list_users} .opblock-summary")).await;
    browser
        .wait_for(&format!("{list_users} button.try-out__btn"))
        .await;
    let deep_link = browser.client.current_url().await.expect("the docs page's URL");
    assert!(
        deep_link.fragment().is_some_and(|f| f.starts_with('/')),
        "Swagger UI's deep linking should name the open operation in the fragment: {deep_link}"
    );
    browser.client.refresh().await.expect("reload the docs page");
    browser
        .wait_for(&format!("{list_users} button.try-out__btn"))
        .await;
    // From here on, any CSP violation on the page is recorded.
    browser
        .client
        .execute(
            "window.__cspViolations = []; document.addEventListener('securitypolicyviolation', \
             e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
            vec![],
        )
        .await
        .expect("a listener for CSP violations");

    // Authorize: the authorization code flow, its client id filled in by initOAuth.
    browser.click(".auth-wrapper button.authorize").await;
    let client_id = "#client_id_authorizationCode";
    browser.wait_for(client_id).await;
    let prefilled = browser
        .client
        .find(Locator::Css(client_id))
        .await
        .expect("the client id field")
        .prop("value")
        .await
        .expect("the client id field has a value");
    assert_eq!(
        prefilled.as_deref(),
        Some("latchkey-docs"),
        "initOAuth fills in the built-in docs client"
    );
    let flow = ".auth-container:has(#client_id_authorizationCode)";
    for scope in ["openid", "admin"] {
        let checkbox = format!("{flow} input#{scope}-authorizationCode-checkbox-AdminAuth");
        let checked = browser
            .client
            .find(Locator::Css(&checkbox))
            .await
            .unwrap_or_else(|e| panic!("no `{checkbox}` in the Authorize dialog: {e}"))
            .prop("checked")
            .await
            .expect("a checkbox is checked or not");
        if checked.as_deref() != Some("true") {
            // The input is hidden behind its label, which takes the click.
            browser
                .click(&format!(
                    "{flow} label[for='{scope}-authorizationCode-checkbox-AdminAuth']"
                ))
                .await;
        }
    }
    let docs_window = browser.client.window().await.expect("the docs window");
    browser
        .click(&format!(
            "{flow} button[aria-label='Apply given OAuth2 credentials']"
        ))
        .await;

    // Latchkey's login page opens in a popup on the server's own origin.
    let windows = wait_for_windows(&browser, 2, "Authorize should open a popup").await;
    let popup = windows
        .into_iter()
        .find(|w| *w != docs_window)
        .expect("a window besides the docs page");
    browser
        .client
        .switch_to_window(popup)
        .await
        .expect("switch to the popup");
    wait_until(
        &browser,
        "return !!document.querySelector(\"form[action='/login'] input#username\");",
        "Latchkey's login page in the popup",
    )
    .await;
    let login_url = browser.client.current_url().await.expect("the popup's URL");
    assert_eq!(
        login_url.origin(),
        origin.origin(),
        "the login page is Latchkey's own: {login_url}"
    );
    let mut resources = loaded_resources(&browser).await;
    browser.type_into("input#username", ADMIN).await;
    browser.type_into("input#password", ADMIN_PASSWORD).await;
    // The popup navigates on, to the receiver page, and closes itself: the click's own answer
    // may come from a window that is already gone.
    let _ = browser
        .client
        .find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await
        .expect("the sign-in button")
        .click()
        .await;

    // A first-party client gets no consent page: the receiver page hands the code to the docs
    // page and closes the popup.
    wait_for_windows(&browser, 1, "the popup should close itself after sign-in").await;
    browser
        .client
        .switch_to_window(docs_window)
        .await
        .expect("switch back to the docs page");
    wait_until(
        &browser,
        &format!(
            "return !!document.querySelector(\"{flow} button[aria-label='Remove authorization']\") \
             || Array.from(document.querySelectorAll('.auth-container')).some(c => \
                c.querySelector(\"button[aria-label='Remove authorization']\") && \
                c.textContent.includes('authorizationCode'));"
        ),
        "the Authorize dialog showing the authorization code flow as authorized",
    )
    .await;
    let dialog = browser.text(".modal-ux").await;
    assert!(
        !dialog.to_lowercase().contains("error"),
        "the Authorize dialog reports an error:\n{dialog}"
    );
    browser.click(".modal-ux button.btn-done").await;

    // "List users" (still open from its deep link): Try it out, Execute, and the answer on the
    // page.
    browser.click(&format!("{list_users} button.try-out__btn")).await;
    browser.wait_for(&format!("{list_users} button.execute")).await;
    browser.click(&format!("{list_users} button.execute")).await;
    let status = format!("{list_users} .live-responses-table tbody tr.response td.response-col_status");
    browser.wait_for(&status).await;
    let body_selector =
        format!("{list_users} .live-responses-table tbody tr.response td.response-col_description");
    assert_eq!(
        browser.text(&status).await,
        "200",
        "GET /api/v1/users from the docs page; the page shows:\n{}",
        browser.text(&body_selector).await
    );
    let shown = browser.text(&body_selector).await;
    let compact: String = shown.split_whitespace().collect();
    assert!(
        compact.contains(&format!("\"username\":\"{ADMIN}\"")),
        "the users listed on the page include `{ADMIN}`:\n{shown}"
    );

    // Nothing on the page was refused by its CSP, and nothing came from elsewhere.
    let violations = browser
        .client
        .execute("return window.__cspViolations", vec![])
        .await
        .expect("the recorded CSP violations");
    assert_eq!(
        violations.as_array().map(Vec::len),
        Some(0),
        "the docs page broke its own CSP: {violations}"
    );
    resources.extend(loaded_resources(&browser).await);
    for url in &resources {
        assert!(
            is_local(url, &origin),
            "the docs page or its login popup loaded `{url}`, which is not on {base}"
        );
    }
    assert!(
        resources.iter().any(|r| r.contains("/api/v1/users")),
        "the resource timing of the docs page should show the call to /api/v1/users: {resources:?}"
    );

    // Chromium's own record of every request the pages made, popup and redirects included: all
    // of them went to the server.
    browser.close().await;
    let requested = page_requests(&netlog, &origin);
    for path in [
        "/docs",
        "/oauth/authorize",
        "/login",
        "/docs/oauth-receiver.html",
        "/oauth/token",
        "/api/v1/users",
    ] {
        assert!(
            requested.iter().any(|u| u.starts_with(&format!("{base}{path}"))),
            "the NetLog should record the request to {path}: {requested:?}"
        );
    }
    let elsewhere: Vec<&String> = requested.iter().filter(|u| !is_local(u, &origin)).collect();
    assert!(
        elsewhere.is_empty(),
        "the docs page or its login popup reached beyond {base}: {elsewhere:?}"
    );
}
