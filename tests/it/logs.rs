//! Secrets stay out of the logs: a full flow against a real server logging at `trace` (the most
//! verbose level, every crate included), in text and in JSON, and then every line the server and
//! the command line wrote is searched for every secret the flow saw: passwords, the setup token,
//! client secrets, codes, access, refresh and ID tokens, session cookies, CSRF tokens, password
//! hashes, and the distinctive parts of each (a JWT's payload and signature, any 16 characters of
//! a random token), raw and in the encodings a request carries them in.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::cookie::{CookieStore as _, Jar};
use serde_json::Value;
use url::Url;

use crate::flows::{
    self, AuthRequest, ClientAuth, basic_authorization, form_field, query_param, redirect_uri_on,
};
use crate::harness::{Server, assert_success, default_config, free_port, parse_json, stderr};

const CLIENT_ID: &str = "log-app";
const ADMIN: &str = "root";
const ADMIN_PASSWORD: &str = "setup pass phrase: violet-otter-94";
const USER: &str = "alice";
const FIRST_PASSWORD: &str = "first pass phrase: amber-heron-17";
const SECOND_PASSWORD: &str = "second pass phrase: cobalt-lynx-58";
const WRONG_PASSWORD: &str = "wrong pass phrase: ochre-moth-33";
const WRONG_SECRET: &str = "wrong-client-secret-Zk4Qm8Rr2Tt6Vv0Xx3Yy7";
const SCOPE: &str = "openid profile email offline_access";

/// How many consecutive characters of a random value count as leaking it.
const WINDOW: usize = 16;

/// Everything secret the flow saw, with what each one is.
#[derive(Default)]
struct Secrets {
    /// Values that must not appear whole, in any of their encodings.
    whole: Vec<(String, String)>,
    /// High-entropy values none of whose [`WINDOW`]-character pieces may appear.
    random: Vec<(String, String)>,
}

impl Secrets {
    /// A password or other chosen secret.
    fn chosen(&mut self, what: &str, value: &str) {
        self.whole.push((what.to_owned(), value.to_owned()));
    }

    /// A random token, code, secret, cookie or CSRF value.
    fn random(&mut self, what: &str, value: &str) {
        assert!(
            value.len() >= WINDOW,
            "{what} is too short to be a secret: {value:?}"
        );
        self.whole.push((what.to_owned(), value.to_owned()));
        self.random.push((what.to_owned(), value.to_owned()));
    }

    /// A JWT: the whole token, its payload, and its signature piece by piece.
    fn jwt(&mut self, what: &str, token: &str) {
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{what} is not a compact JWS: {token}");
        self.whole.push((what.to_owned(), token.to_owned()));
        self.whole
            .push((format!("{what} (payload)"), parts[1].to_owned()));
        self.random
            .push((format!("{what} (signature)"), parts[2].to_owned()));
    }

    /// The tokens of a successful token response.
    fn token_response(&mut self, what: &str, body: &Value) {
        if let Some(t) = body["access_token"].as_str() {
            self.jwt(&format!("{what}: access token"), t);
        }
        if let Some(t) = body["refresh_token"].as_str() {
            self.random(&format!("{what}: refresh token"), t);
        }
        if let Some(t) = body["id_token"].as_str() {
            self.jwt(&format!("{what}: ID token"), t);
        }
    }

    /// Every place a secret shows in `log`, as "what: line".
    fn leaks(&self, log: &str) -> Vec<String> {
        let mut found = Vec::new();
        let line_of = |needle: &str| {
            log.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_default()
                .chars()
                .take(400)
                .collect::<String>()
        };
        for (what, value) in &self.whole {
            for form in encodings(value) {
                if log.contains(&form) {
                    found.push(format!("{what} ({form}) in: {}", line_of(&form)));
                }
            }
        }
        for (what, value) in &self.random {
            let bytes = value.as_bytes();
            for start in 0..=bytes.len() - WINDOW {
                let Some(piece) = value.get(start..start + WINDOW) else {
                    continue;
                };
                if log.contains(piece) {
                    found.push(format!("part of {what} ({piece}) in: {}", line_of(piece)));
                    break;
                }
            }
        }
        if log.contains("$argon2") {
            found.push(format!("a password hash in: {}", line_of("$argon2")));
        }
        found
    }
}

/// A value as it appears raw, form-urlencoded, percent-encoded and as a JSON string.
fn encodings(value: &str) -> Vec<String> {
    let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let json = serde_json::to_string(value).expect("a string serialises");
    let mut all = vec![
        value.to_owned(),
        form.clone(),
        form.replace('+', "%20"),
        json.trim_matches('"').to_owned(),
    ];
    all.sort();
    all.dedup();
    all
}

/// A browser of plain HTTP requests whose cookies the test can read.
struct Browser {
    base: Url,
    jar: Arc<Jar>,
    http: reqwest::Client,
}

/// One answer, read whole.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(base: &str) -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Browser {
            base: Url::parse(base).expect("a base URL"),
            jar,
            http,
        }
    }

    async fn read(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            location: response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: response.text().await.expect("a readable body"),
        }
    }

    async fn get(&self, url: &str) -> Page {
        let url = self.base.join(url).expect("a URL");
        Browser::read(self.http.get(url).send().await.expect("a GET")).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let url = self.base.join(path).expect("a URL");
        Browser::read(self.http.post(url).form(form).send().await.expect("a POST")).await
    }

    /// Records the value of every cookie the browser holds.
    fn record_cookies(&self, secrets: &mut Secrets) {
        let Some(header) = self.jar.cookies(&self.base) else {
            return;
        };
        let header = header.to_str().expect("cookies are text").to_owned();
        for pair in header.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=')
                && !value.is_empty()
            {
                secrets.random(&format!("cookie {name}"), value);
            }
        }
    }

    /// Signs in (trying `passwords` in order at each login page), consents, and returns the
    /// code the flow ends with.
    async fn authorize(
        &self,
        request: &AuthRequest,
        nonce: &str,
        passwords: &[&str],
        secrets: &mut Secrets,
    ) -> String {
        let url = format!(
            "{}&nonce={nonce}",
            request.url(self.base.as_str().trim_end_matches('/'))
        );
        let mut page = self.get(&url).await;
        let mut passwords = passwords.iter();
        for _ in 0..8 {
            self.record_cookies(secrets);
            if let Some(csrf) = form_field(&page.body, "csrf") {
                secrets.random("a CSRF token", &csrf);
            }
            if page.status == StatusCode::SEE_OTHER {
                let location = page.location.clone().expect("a 303 has a Location");
                let target = self.base.join(&location).expect("a redirect target");
                if target.as_str().starts_with(&request.redirect_uri) {
                    let code = query_param(&target, "code").expect("a code");
                    secrets.random("a code", &code);
                    return code;
                }
                page = self.get(target.as_str()).await;
                continue;
            }
            assert_eq!(page.status, StatusCode::OK, "unexpected page: {}", page.body);
            let csrf = form_field(&page.body, "csrf").expect("a csrf field");
            if page.body.contains("action=\"/login\"") {
                let password = passwords.next().expect("a password for this login page");
                let return_to = form_field(&page.body, "return_to").expect("a return_to field");
                page = self
                    .post(
                        "/login",
                        &[
                            ("csrf", &csrf),
                            ("return_to", &return_to),
                            ("username", USER),
                            ("password", password),
                        ],
                    )
                    .await;
            } else if page.body.contains("action=\"/oauth/consent\"") {
                let request = form_field(&page.body, "request").expect("a request field");
                page = self
                    .post(
                        "/oauth/consent",
                        &[("csrf", &csrf), ("request", &request), ("decision", "allow")],
                    )
                    .await;
            } else {
                panic!("a page the flow cannot go on from: {}", page.body);
            }
        }
        panic!("the authorization flow did not end");
    }
}

/// The text between `start` and the next `end` in `body`.
fn between(body: &str, start: &str, end: &str) -> String {
    let at = body
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {body}"))
        + start.len();
    let len = body[at..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
    body[at..at + len].trim().to_owned()
}

/// The second factors: TOTP set up on the account page of the signed-in `browser` (its key
/// recorded), recovery codes made (each recorded), and then two sign-ins that take the password
/// and a second step through the pending cookie: one with a TOTP code, one with a recovery code.
async fn second_factors(base: &str, browser: &Browser, secrets: &mut Secrets) {
    let enrol = browser.get("/account/totp").await;
    assert_eq!(enrol.status, StatusCode::OK, "{}", enrol.body);
    let key = between(&enrol.body, "id=\"secret\" class=\"secret\">", "<");
    secrets.random("the TOTP key", &key);
    let seed = totp_rs::Secret::try_from_base32(&key)
        .expect("a base32 key")
        .as_bytes()
        .to_vec();
    let csrf = form_field(&enrol.body, "csrf").expect("a csrf field");
    secrets.random("a CSRF token", &csrf);
    let enrolment = form_field(&enrol.body, "enrolment").expect("an enrolment field");
    secrets.random("a TOTP enrolment id", &enrolment);
    let now = latchkey::clock::Clock::System.now().0;
    let code = latchkey::protocol::totp::code_at(&seed, now, 6);
    let confirmed = browser
        .post(
            "/account/totp",
            &[("csrf", &csrf), ("enrolment", &enrolment), ("code", &code)],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER, "{}", confirmed.body);

    let page = browser.get("/account/recovery").await;
    let csrf = form_field(&page.body, "csrf").expect("a csrf field");
    let made = browser.post("/account/recovery", &[("csrf", &csrf)]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let codes: Vec<String> = between(&made.body, "id=\"recovery-codes\">", "</ol>")
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{}", made.body);
    for code in &codes {
        secrets.chosen("a recovery code", code);
        secrets.random("a recovery code without dashes", &code.replace('-', ""));
    }

    // The next step's code (the window allows one step ahead): the enrolment used this step's.
    let next = latchkey::protocol::totp::code_at(&seed, now + 30, 6);
    for (method, second) in [("totp", next.as_str()), ("recovery", codes[0].as_str())] {
        let fresh = Browser::new(base);
        let login = fresh.get("/login").await;
        let csrf = form_field(&login.body, "csrf").expect("a csrf field");
        let first = fresh
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("return_to", "/"),
                    ("username", USER),
                    ("password", SECOND_PASSWORD),
                ],
            )
            .await;
        assert_eq!(first.location.as_deref(), Some("/login/factor"), "{}", first.body);
        fresh.record_cookies(secrets);
        let step = fresh.get("/login/factor").await;
        assert_eq!(step.status, StatusCode::OK, "{}", step.body);
        let csrf = form_field(&step.body, "csrf").expect("a csrf field");
        let done = fresh
            .post(
                "/login/factor",
                &[("csrf", &csrf), ("method", method), ("code", second)],
            )
            .await;
        // A code goes on at once; a recovery code first says how many are left.
        let expected = if method == "totp" {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::OK
        };
        assert_eq!(done.status, expected, "{method}: {}", done.body);
        assert!(!done.body.contains("role=\"alert\""), "{method}: {}", done.body);
        fresh.record_cookies(secrets);
    }
}

/// A token endpoint request that must succeed; its tokens are recorded.
async fn tokens(
    http: &reqwest::Client,
    base: &str,
    auth: ClientAuth<'_>,
    form: &[(&str, &str)],
    what: &str,
    secrets: &mut Secrets,
) -> Value {
    let reply = flows::post_form(http, base, "/oauth/token", auth, form).await;
    assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
    secrets.token_response(what, &reply.body);
    reply.body
}

/// A request that must be answered (not 5xx); the answer is not otherwise checked.
#[track_caller]
fn answered(status: StatusCode, what: &str) {
    assert!(!status.is_server_error(), "{what} failed inside: {status}");
}

/// The banner `latchkey serve` prints on first start. It is written straight to standard error,
/// outside the log, on purpose: it is the one way an operator learns the setup link, and logs are
/// shipped elsewhere. It is the only place the setup token may appear, so the test removes exactly
/// this block, once, before searching.
fn setup_banner(link: &str) -> String {
    format!("\nNo user exists yet. Create the first administrator within one hour at:\n\n    {link}\n")
}

/// Runs the whole flow against a server logging at `trace` in `format` and returns the secrets
/// seen and everything written to standard error and output outside the setup banner.
async fn full_flow(format: &str) -> (Secrets, String) {
    let mut secrets = Secrets::default();
    secrets.chosen("the administrator's password", ADMIN_PASSWORD);
    secrets.chosen("the first password", FIRST_PASSWORD);
    secrets.chosen("the second password", SECOND_PASSWORD);
    secrets.chosen("a wrong password", WRONG_PASSWORD);
    secrets.random("a wrong client secret", WRONG_SECRET);

    let mut server = Server::with_config(default_config);
    server
        .env("LATCHKEY_LOG", "trace")
        .env("LATCHKEY_LOG_FORMAT", format);
    server.start();
    let base = server.base_url();
    let http = crate::harness::http();
    let mut cli_stderr = String::new();

    // The first-start setup link, used to create the administrator.
    let link = server.setup_link().expect("a first start prints a setup link");
    let setup_token = Url::parse(&link)
        .ok()
        .and_then(|u| query_param(&u, "token"))
        .expect("the setup link carries a token");
    secrets.random("the setup token", &setup_token);
    let browser = Browser::new(&base);
    let page = browser.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = form_field(&page.body, "csrf").expect("a csrf field");
    secrets.random("a CSRF token", &csrf);
    browser.record_cookies(&mut secrets);
    let created = browser
        .post(
            "/setup",
            &[
                ("token", &setup_token),
                ("csrf", &csrf),
                ("username", ADMIN),
                ("password", ADMIN_PASSWORD),
                ("password_repeat", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);

    // A user, and a client whose secret is shown once and then rotated.
    let added = server.cli_stdin(
        &[
            "user",
            "add",
            USER,
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        &format!("{FIRST_PASSWORD}\n"),
    );
    assert_success(&added);
    cli_stderr += &stderr(&added);
    let redirect = "http://127.0.0.1/callback";
    let client_args = [
        "client",
        "add",
        CLIENT_ID,
        "--redirect-uri",
        redirect,
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--scope",
        "email",
        "--scope",
        "offline_access",
        "--grant",
        "authorization_code",
        "--grant",
        "refresh_token",
        "--grant",
        "client_credentials",
        "--json",
    ];
    let client = server.cli(&client_args);
    cli_stderr += &stderr(&client);
    let first_secret = parse_json(&client)["client_secret"]
        .as_str()
        .expect("a confidential client's secret is shown once")
        .to_owned();
    secrets.random("the first client secret", &first_secret);
    let rotated = server.cli(&["client", "rotate-secret", CLIENT_ID, "--json"]);
    cli_stderr += &stderr(&rotated);
    let secret = parse_json(&rotated)["client_secret"]
        .as_str()
        .expect("a rotated secret is shown once")
        .to_owned();
    secrets.random("the rotated client secret", &secret);
    for s in [&first_secret, &secret, &WRONG_SECRET.to_owned()] {
        let header = basic_authorization(CLIENT_ID, s);
        let encoded = header.trim_start_matches("Basic ").to_owned();
        secrets.random("a Basic credential", &encoded);
    }
    let basic = ClientAuth::Basic {
        id: CLIENT_ID,
        secret: &secret,
    };
    let post = ClientAuth::Post {
        id: CLIENT_ID,
        secret: &secret,
    };

    // Sign in (a wrong password first), consent, and redeem the code.
    let mut request = AuthRequest::new(CLIENT_ID, &redirect_uri_on(free_port()));
    request.scope = SCOPE.to_owned();
    secrets.random("a PKCE verifier", &request.pkce.verifier);
    let code = browser
        .authorize(
            &request,
            "nonce-for-the-log-test",
            &[WRONG_PASSWORD, FIRST_PASSWORD],
            &mut secrets,
        )
        .await;
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", request.redirect_uri.as_str()),
        ("code_verifier", request.pkce.verifier.as_str()),
    ];
    let first = tokens(&http, &base, basic, &redeem, "redeeming the code", &mut secrets).await;
    let first_refresh = first["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let first_id_token = first["id_token"].as_str().expect("an ID token").to_owned();

    // Refresh, userinfo, introspection, client credentials.
    let second = tokens(
        &http,
        &base,
        post,
        &[("grant_type", "refresh_token"), ("refresh_token", &first_refresh)],
        "refreshing",
        &mut secrets,
    )
    .await;
    let access = second["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    let refresh = second["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_owned();
    let userinfo = http
        .get(format!("{base}/oauth/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(userinfo.status(), StatusCode::OK);
    for token in [&access, &refresh] {
        let reply = flows::introspect(&http, &base, basic, token).await;
        assert_eq!(reply.body["active"], true, "{}", reply.body);
    }
    tokens(
        &http,
        &base,
        basic,
        &[("grant_type", "client_credentials"), ("scope", "profile")],
        "client credentials",
        &mut secrets,
    )
    .await;

    // Failures: an old and a wrong client secret, a replayed code, a replayed refresh token.
    for wrong in [first_secret.as_str(), WRONG_SECRET] {
        let auth = ClientAuth::Basic {
            id: CLIENT_ID,
            secret: wrong,
        };
        let reply = flows::introspect(&http, &base, auth, &access).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    }
    let replayed = flows::post_form(&http, &base, "/oauth/token", basic, &redeem).await;
    assert_eq!(replayed.error(), Some("invalid_grant"), "{}", replayed.body);
    let replayed = flows::refresh(&http, &base, basic, &first_refresh).await;
    assert_eq!(replayed.error(), Some("invalid_grant"), "{}", replayed.body);

    // Revocation.
    for token in [&access, &refresh] {
        let reply = flows::post_form(&http, &base, "/oauth/revoke", basic, &[("token", token)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    // A password change through the command line, and a sign-in with the new password.
    let changed = server.cli_stdin(
        &["user", "passwd", USER, "--password-stdin"],
        &format!("{SECOND_PASSWORD}\n"),
    );
    assert_success(&changed);
    cli_stderr += &stderr(&changed);
    let again = Browser::new(&base);
    let mut request = AuthRequest::new(CLIENT_ID, &redirect_uri_on(free_port()));
    request.scope = SCOPE.to_owned();
    secrets.random("a PKCE verifier", &request.pkce.verifier);
    let code = again
        .authorize(
            &request,
            "another-nonce",
            &[FIRST_PASSWORD, SECOND_PASSWORD],
            &mut secrets,
        )
        .await;
    tokens(
        &http,
        &base,
        basic,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &request.redirect_uri),
            ("code_verifier", &request.pkce.verifier),
        ],
        "redeeming the second code",
        &mut secrets,
    )
    .await;

    second_factors(&base, &again, &mut secrets).await;

    // RP-initiated logout with an ID token hint in the query, then signing out by form.
    let hint = format!("/oauth/logout?id_token_hint={first_id_token}&client_id={CLIENT_ID}");
    answered(again.get(&hint).await.status, "RP-initiated logout");
    again.record_cookies(&mut secrets);
    let home = again.get("/").await;
    if let Some(csrf) = form_field(&home.body, "csrf") {
        secrets.random("a CSRF token", &csrf);
        answered(
            again.post("/logout", &[("csrf", &csrf)]).await.status,
            "signing out",
        );
    }

    // Stop the server so that every line is written, then read all of it.
    let status = server.terminate();
    assert!(status.success(), "the server stopped with {status}");
    let mut log = server.stderr_text();
    let banner = setup_banner(&link);
    assert_eq!(
        log.matches(&banner).count(),
        1,
        "the setup banner is printed once:\n{log}"
    );
    log = log.replacen(&banner, "", 1);
    log += &std::fs::read_to_string(server.dir().join("stdout.log")).unwrap_or_default();
    log += &cli_stderr;
    (secrets, log)
}

/// Runs the flow and fails on any secret in the log. `marker` shows the log is in `format`.
///
/// Today no crate on the server's path emits `debug` or `trace` events (hyper's tracing is behind
/// an unstable cfg), so `trace` logs what `info` logs; the test is there for the day something
/// starts logging requests, headers or bodies at a verbose level.
async fn no_secret_is_logged(format: &str, marker: &str) {
    let (secrets, log) = full_flow(format).await;
    assert!(
        log.contains(marker),
        "the server did not log in {format}; is LATCHKEY_LOG_FORMAT honoured?\n{log}"
    );
    assert!(
        log.contains(CLIENT_ID) && log.contains("rotated a refresh token"),
        "the log does not show the flow, so searching it proves nothing:\n{log}"
    );
    let leaks = secrets.leaks(&log);
    assert!(
        leaks.is_empty(),
        "secrets in the {format} log at trace level:\n{}",
        leaks.join("\n")
    );
}

#[tokio::test]
async fn no_token_code_secret_password_cookie_or_hash_reaches_the_text_log_at_trace_level() {
    no_secret_is_logged("text", " INFO latchkey::").await;
}

#[tokio::test]
async fn no_token_code_secret_password_cookie_or_hash_reaches_the_json_log_at_trace_level() {
    no_secret_is_logged("json", "\"level\":\"INFO\"").await;
}

#[test]
fn the_leak_search_finds_secrets_in_every_encoding_and_in_part() {
    let mut secrets = Secrets::default();
    secrets.chosen("a password", "pass word: x/y+z");
    secrets.random("a token", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde");
    secrets.jwt(
        "a JWT",
        "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU",
    );
    for (log, found) in [
        ("nothing to see here", false),
        ("password=pass+word%3A+x%2Fy%2Bz", true),
        ("body: \"pass word: x/y+z\"", true),
        ("token prefix AbCdEfGhIjKlMnOp…", true),
        ("…Yz0123456789-_abcde", true),
        ("payload eyJzdWIiOiJ1c2VyLTEyMyJ9", true),
        ("sig NpZ25hdHVyZS1zaWduYX", true),
        ("hash $argon2id$v=19$m=19456,t=2,p=1$...", true),
        ("header eyJhbGciOiJFZERTQSJ9 is public", false),
    ] {
        assert_eq!(!secrets.leaks(log).is_empty(), found, "{log}");
    }
}

/// The review: at the default level Latchkey logged nothing when it refused an authorization
/// request or a logout, so the operator saw only the app's vague page. Each refusal is logged
/// once at `info` with the client id and the reason.
#[tokio::test]
async fn refusals_are_logged_once_at_info_with_the_client_and_the_reason() {
    let mut server = Server::with_config(|port| {
        format!(
            "{}[[client]]\nclient_id = \"example-cli\"\npublic = true\nredirect_uris = [\"http://127.0.0.1/callback\"]\nscopes = [\"openid\"]\n",
            default_config(port)
        )
    });
    server.start();
    let base = server.base_url();
    let http = crate::harness::http();
    let no_pkce = format!(
        "{base}/oauth/authorize?response_type=code&client_id=example-cli&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=openid"
    );
    let reply = http.get(&no_pkce).send().await.expect("GET /oauth/authorize");
    assert_eq!(reply.status(), StatusCode::SEE_OTHER);
    let unknown = format!(
        "{base}/oauth/authorize?response_type=code&client_id=nobody-here&redirect_uri=https%3A%2F%2Fa.example%2Fcb"
    );
    let reply = http.get(&unknown).send().await.expect("GET /oauth/authorize");
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let logout = format!("{base}/oauth/logout?id_token_hint=not.a.token&client_id=example-cli");
    let reply = http.get(&logout).send().await.expect("GET /oauth/logout");
    assert_eq!(
        reply.status(),
        StatusCode::OK,
        "the hint is refused; the user is asked to confirm"
    );
    let mut log = String::new();
    let seen = crate::harness::eventually(Duration::from_secs(10), || {
        log = server.stderr_text();
        log.contains("refused a logout request")
    });
    assert!(seen, "{log}");
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("refused an authorization request"))
        .collect();
    assert_eq!(refusals.len(), 2, "{log}");
    assert!(
        refusals.iter().any(|l| l.contains("INFO")
            && l.contains("example-cli")
            && l.contains("code_challenge is required")),
        "{log}"
    );
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("nobody-here") && l.contains("No application")),
        "{log}"
    );
    assert_eq!(log.matches("refused a logout request").count(), 1, "{log}");
    assert!(
        log.lines().any(|l| l.contains("refused a logout request")
            && l.contains("example-cli")
            && l.contains("id_token_hint")),
        "{log}"
    );
    // And counted in the audit feed: folded per address, action and reason (these requests
    // proved nothing, so they cost no write of their own), written at the latest as it stops.
    assert!(server.terminate().success());
    let store = server.open_store();
    let rows = store.read(|tx| tx.audit_entries(None, 1000)).unwrap();
    let count = |action: &str| -> u64 {
        rows.iter()
            .filter(|(_, r)| r.action == action)
            .map(|(_, r)| r.count)
            .sum()
    };
    assert_eq!(count("authorize.refused"), 2, "{rows:?}");
    assert_eq!(count("logout.refused"), 1, "{rows:?}");
}
