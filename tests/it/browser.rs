//! End-to-end sign-in in a real browser: headless Chromium, driven through chromedriver
//! (WebDriver), goes through the login and consent pages to the client's redirect URI. Also the
//! reusable pieces for browser tests: [`Browser`] (chromedriver and a Chromium session with a
//! fresh profile) and [`Callback`] (a loopback listener standing in for the client's redirect
//! endpoint).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use url::Url;

use crate::flows::{
    self, AuthRequest, Authorized, ClientAuth, Decision, NATIVE_ID, NATIVE_NAME, PASSWORD, USERNAME, WEB_ID,
    WEB_NAME, WEB_SECRET, assert_token_pair, oauth_server, query_param, random_string,
};

/// Where Debian's `chromium-driver` package puts chromedriver.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Debian's `chromium` package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromedriver may take to start listening, on each attempt.
const DRIVER_WITHIN: Duration = Duration::from_secs(60);
/// How many times chromedriver is started before a test gives up: on a loaded machine (the
/// whole suite runs in parallel on two cores) a start can stall.
const DRIVER_ATTEMPTS: usize = 3;
/// At most this many browsers run at once across the test binary: each is several processes
/// and hundreds of megabytes, and more of them only slows every one down.
static BROWSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
/// How long a page may take to show what a test waits for.
const PAGE_WITHIN: Duration = Duration::from_secs(30);

/// Chromium's command line: headless, as root, and making no connection of its own to the
/// internet (this network is closed, and a test must not depend on it).
const CHROMIUM_ARGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1024,768",
];

/// Panics with an installation hint unless `path` is an executable file.
#[track_caller]
fn require_executable(path: &str, package: &str) {
    use std::os::unix::fs::PermissionsExt;
    let ok = Path::new(path)
        .metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    assert!(
        ok,
        "browser tests need {path}, which is missing: install it with \
         `apt-get install -y chromium chromium-driver` (package `{package}`)"
    );
}

/// A headless Chromium session driven through its own chromedriver. Dropping it kills
/// chromedriver and every browser process it started; [`Browser::close`] ends the session
/// politely first.
pub struct Browser {
    pub client: fantoccini::Client,
    driver: Child,
    _profile: TempDir,
    _slot: tokio::sync::SemaphorePermit<'static>,
}

impl Browser {
    /// Starts chromedriver on a port of its choosing and opens a Chromium session with a fresh
    /// profile. Panics, saying what to install, if chromedriver or Chromium is missing.
    pub async fn start() -> Browser {
        Browser::start_with_args(&[]).await
    }

    /// Like [`Browser::start`], with `extra` added to Chromium's command line (a
    /// `--log-net-log=FILE`, say).
    pub async fn start_with_args(extra: &[String]) -> Browser {
        require_executable(CHROMEDRIVER, "chromium-driver");
        require_executable(CHROMIUM, "chromium");
        let profile = tempfile::Builder::new()
            .prefix("latchkey-chromium-")
            .tempdir()
            .expect("a temporary directory for the browser profile");
        let slot = BROWSERS
            .acquire()
            .await
            .expect("the browser semaphore is never closed");
        let (mut driver, port) = start_driver();
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(extra.iter().cloned());
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("json! of an object literal is an object")
        };
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        let client = match connected {
            Ok(client) => client,
            Err(e) => {
                kill_group(&mut driver);
                panic!("chromedriver could not start a Chromium session: {e}");
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
            _slot: slot,
        }
    }

    /// Ends the browser session, then chromedriver.
    pub async fn close(self) {
        // The session may already be gone; chromedriver is killed either way on drop.
        let _ = self.client.clone().close().await;
    }

    /// Saves a PNG of the current page as `NAME.png` in `target/tmp/screenshots/` (for a person to
    /// look at; nothing compares it) and returns its path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).expect("a directory for screenshots");
        let file: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{file}.png"));
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("cannot take a screenshot of the page: {e}"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Sends a DevTools command through chromedriver's `goog/cdp/execute` extension and returns
    /// its answer (`Emulation.setEmulatedMedia`, `WebAuthn.enable`, ...).
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("the DevTools command {cmd} failed: {e}"))
    }

    /// Waits (bounded) for an element matching the CSS `selector` on the current page.
    pub async fn wait_for(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PAGE_WITHIN)
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no `{selector}` appeared within {PAGE_WITHIN:?} on the page: {e}"))
    }

    /// The trimmed visible text of the first element matching `selector`.
    pub async fn text(&self, selector: &str) -> String {
        let element = self
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no `{selector}` on the page: {e}"));
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("cannot read the text of `{selector}`: {e}"))
            .trim()
            .to_owned()
    }

    /// The attribute `name` of the first element matching `selector`.
    pub async fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no `{selector}` on the page: {e}"))
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("cannot read `{name}` of `{selector}`: {e}"))
    }

    /// Clicks the first element matching `selector`.
    pub async fn click(&self, selector: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no `{selector}` on the page: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click `{selector}`: {e}"));
    }

    /// Types `text` into the first element matching `selector`.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no `{selector}` on the page: {e}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into `{selector}`: {e}"));
    }
}

/// A DevTools command sent through chromedriver's `goog/cdp/execute` extension.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl std::fmt::Display for Cdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.cmd)
    }
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or("")))
    }

    fn method_and_body(&self, _url: &url::Url) -> (poem::http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (poem::http::Method::POST, Some(body.to_string()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Starts chromedriver on a port of its choosing, trying again (a fresh process) when a start
/// stalls; panics with what chromedriver said on its standard error if every attempt fails.
fn start_driver() -> (Child, u16) {
    let mut failures = Vec::new();
    for _ in 0..DRIVER_ATTEMPTS {
        let errors = tempfile::tempfile().expect("a temporary file for chromedriver's standard error");
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(errors.try_clone().expect("a second handle on a temporary file"))
            // Its own process group, so that dropping the browser can end Chromium too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        match driver_port(&mut driver) {
            Ok(port) => return (driver, port),
            Err(why) => {
                kill_group(&mut driver);
                failures.push(format!("{why}; its standard error: {:?}", read_all(errors)));
            }
        }
    }
    panic!("chromedriver did not start in {DRIVER_ATTEMPTS} attempts: {failures:#?}");
}

/// The whole content of a temporary file, from its start.
fn read_all(mut file: std::fs::File) -> String {
    use std::io::Seek;
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text
}

/// Reads chromedriver's standard output until it says which port it listens on; the rest of
/// its output is drained in the background.
fn driver_port(driver: &mut Child) -> Result<u16, String> {
    const STARTED: &str = "was started successfully on port ";
    let stdout = driver.stdout.take().ok_or("no standard output")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut announced = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !announced && let Some(at) = line.find(STARTED) {
                announced = true;
                let port = line[at + STARTED.len()..].trim_end_matches('.').parse();
                let _ = tx.send(port.map_err(|e| format!("unreadable port in `{line}`: {e}")));
            }
        }
    });
    match rx.recv_timeout(DRIVER_WITHIN) {
        Ok(port) => port,
        Err(_) => Err(format!("it did not announce a port within {DRIVER_WITHIN:?}")),
    }
}

/// Kills the process group led by `child` (chromedriver and the browsers it started), then
/// reaps `child`.
fn kill_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// A loopback HTTP listener standing in for a client's redirect endpoint: it answers every
/// request with a small page and reports each request to `/callback` by its URL.
pub struct Callback {
    port: u16,
    received: UnboundedReceiver<Url>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Callback {
    /// Starts listening on a free loopback port.
    pub fn start() -> Callback {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
        let port = listener.local_addr().expect("a bound address").port();
        let (tx, received) = unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let tx = tx.clone();
                    std::thread::spawn(move || answer(stream, port, &tx));
                }
            }
        });
        Callback {
            port,
            received,
            stop,
            thread: Some(thread),
        }
    }

    /// The redirect URI to send: the registered loopback URI on this listener's port.
    pub fn redirect_uri(&self) -> String {
        flows::redirect_uri_on(self.port)
    }

    /// Waits (bounded) for the next request to `/callback` and returns its URL.
    pub async fn next(&mut self) -> Url {
        match tokio::time::timeout(PAGE_WITHIN, self.received.recv()).await {
            Ok(Some(url)) => url,
            Ok(None) => panic!("the callback listener stopped"),
            Err(_) => panic!("the browser did not reach the redirect URI within {PAGE_WITHIN:?}"),
        }
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request head from `stream`, reports it if it is for `/callback`, and answers.
fn answer(mut stream: TcpStream, port: u16, tx: &UnboundedSender<Url>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split(' ').nth(1).unwrap_or("/");
    let (status, body) = match Url::parse(&format!("http://127.0.0.1:{port}{target}")) {
        Ok(url) if url.path() == "/callback" => {
            let _ = tx.send(url);
            (
                "200 OK",
                "<!doctype html><title>Callback</title><p>Signed in.</p>",
            )
        }
        _ => ("404 Not Found", "<!doctype html><title>Not found</title>"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
}

/// A state that only survives if every hop encodes and decodes it exactly: it holds a space and
/// the characters that mean something in a query string (all within RFC 6749's VSCHAR).
fn awkward_state() -> String {
    format!("{} &=+/?:~%", random_string(12))
}

/// Opens the authorization URL, checks the login page, signs in as [`USERNAME`], checks that the
/// consent page names `client_name`, clicks the button of `decision`, and returns the URL the
/// browser was sent to.
async fn sign_in_and_answer(
    browser: &Browser,
    callback: &mut Callback,
    authorize_url: &str,
    client_name: &str,
    decision: Decision,
) -> Url {
    browser
        .client
        .goto(authorize_url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {authorize_url}: {e}"));

    // The login page: labelled fields and a submit button.
    browser.wait_for("form[action='/login'] input#username").await;
    assert_eq!(browser.text("label[for='username']").await, "Username");
    assert_eq!(browser.text("label[for='password']").await, "Password");
    assert_eq!(
        browser.attr("input#username", "name").await.as_deref(),
        Some("username")
    );
    assert_eq!(
        browser.attr("input#password", "name").await.as_deref(),
        Some("password")
    );
    assert_eq!(
        browser.attr("input#password", "type").await.as_deref(),
        Some("password"),
        "the password field must mask what is typed"
    );
    let submit = "form[action='/login'] button[type='submit']";
    assert_eq!(browser.text(submit).await, "Sign in");
    let shot = format!("{client_name}-{}", decision.button_value());
    browser.screenshot(&format!("{shot}-login")).await;

    browser.type_into("input#username", USERNAME).await;
    browser.type_into("input#password", PASSWORD).await;
    browser.click(submit).await;

    // The consent page names the client.
    let button = format!(
        "form[action='/oauth/consent'] button[name='decision'][value='{}']",
        decision.button_value()
    );
    browser.wait_for(&button).await;
    browser.screenshot(&format!("{shot}-consent")).await;
    let page = browser.text("main").await;
    assert!(
        page.contains(client_name),
        "the consent page does not name the client `{client_name}`:\n{page}"
    );
    assert!(
        page.contains(USERNAME),
        "the consent page does not name the account `{USERNAME}`:\n{page}"
    );
    browser.click(&button).await;

    callback.next().await
}

/// Asserts that `landed` is the redirect URI of `request` with `state` and `iss`.
#[track_caller]
fn assert_redirect_back(landed: &Url, request: &AuthRequest, issuer: &str) {
    assert!(
        landed.as_str().starts_with(&request.redirect_uri),
        "the browser was sent to {landed}, not to {}",
        request.redirect_uri
    );
    assert_eq!(
        query_param(landed, "state").as_deref(),
        Some(request.state.as_str()),
        "the state must come back exactly"
    );
    assert_eq!(
        query_param(landed, "iss").as_deref(),
        Some(issuer),
        "RFC 9207: the response names the issuer"
    );
}

/// Runs the flow for `client_id` in Chromium, allows, and returns the code with its request.
async fn browser_code_flow(base: &str, client_id: &str, client_name: &str) -> Authorized {
    let mut callback = Callback::start();
    let mut request = AuthRequest::new(client_id, &callback.redirect_uri());
    request.state = awkward_state();
    let browser = Browser::start().await;

    let landed = sign_in_and_answer(
        &browser,
        &mut callback,
        &request.url(base),
        client_name,
        Decision::Allow,
    )
    .await;
    browser.close().await;

    assert_redirect_back(&landed, &request, base);
    assert_eq!(query_param(&landed, "error"), None, "{landed}");
    let code =
        query_param(&landed, "code").unwrap_or_else(|| panic!("the redirect {landed} carries no code"));
    Authorized { code, request }
}

#[tokio::test]
async fn a_confidential_client_signs_in_through_chromium_and_redeems_the_code() {
    let server = oauth_server();
    let base = server.base_url();

    let authorized = browser_code_flow(&base, WEB_ID, WEB_NAME).await;

    let web = ClientAuth::Basic {
        id: WEB_ID,
        secret: WEB_SECRET,
    };
    let tokens = flows::redeem(&crate::harness::http(), &base, web, &authorized).await;
    assert_token_pair(&tokens);
}

#[tokio::test]
async fn a_public_client_signs_in_through_chromium_and_redeems_the_code_without_a_secret() {
    let server = oauth_server();
    let base = server.base_url();

    let authorized = browser_code_flow(&base, NATIVE_ID, NATIVE_NAME).await;

    let native = ClientAuth::Public { id: NATIVE_ID };
    let tokens = flows::redeem(&crate::harness::http(), &base, native, &authorized).await;
    assert_token_pair(&tokens);
}

#[tokio::test]
async fn denying_consent_in_chromium_sends_access_denied_with_state_and_issuer() {
    let server = oauth_server();
    let base = server.base_url();
    let mut callback = Callback::start();
    let mut request = AuthRequest::new(WEB_ID, &callback.redirect_uri());
    request.state = awkward_state();
    let browser = Browser::start().await;

    let landed = sign_in_and_answer(
        &browser,
        &mut callback,
        &request.url(&base),
        WEB_NAME,
        Decision::Deny,
    )
    .await;
    browser.close().await;

    assert_redirect_back(&landed, &request, &base);
    assert_eq!(query_param(&landed, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        query_param(&landed, "code"),
        None,
        "a denied request gets no code"
    );
}
