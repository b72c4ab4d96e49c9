//! Crash safety against a real server process: parallel clients redeem codes, rotate refresh
//! tokens and add users while the server is killed with SIGKILL at a random moment, round after
//! round. After every restart, everything the server acknowledged must still hold:
//!
//! - the file opens cleanly (the restarted server becomes ready);
//! - every user whose `user add` succeeded exists;
//! - every code handed out (a 303 to the client) and never presented still redeems, once;
//! - every refresh token handed out in a 200 works exactly once, and no refresh token whose
//!   rotation was answered with 200 works again;
//! - no code whose redemption was answered with 200 can be redeemed again.
//!
//! A request whose answer never arrived (the kill came first) may or may not have taken effect;
//! the test then only checks what stays true either way. Kill timing comes from a seeded RNG;
//! the seed is printed, and `LATCHKEY_CRASH_SEED=N` replays its schedule (thread timing still
//! varies from run to run).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::cookie::Jar;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::flows::{AuthRequest, PASSWORD, USERNAME, form_field, query_param, redirect_uri_on};
use crate::harness::{Cli, Server, assert_success, default_config, free_port, usernames};

/// How many times the server is killed.
const ROUNDS: u32 = 50;
/// The shortest and longest load before the kill, in milliseconds.
const LOAD_MS: (u64, u64) = (50, 450);
/// Parallel clients of each kind.
const CODE_WORKERS: u32 = 2;
const REFRESH_WORKERS: u32 = 2;
/// The most operations one worker tries in one round, so that a round is bounded even if a kill
/// were somehow late.
const OPS_PER_ROUND: u32 = 200;

/// A public, first-party client: no consent page and no client secret, so a code costs one
/// request and nothing here can trip the secret throttle.
const CLIENT_ID: &str = "crash-app";

fn config(port: u16) -> String {
    default_config(port)
        + &format!(
            r#"
[tokens]
authorization_code = "10m"

[[client]]
client_id = "{CLIENT_ID}"
name = "Crash App"
public = true
first_party = true
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["profile", "offline_access"]
"#
        )
}

/// A code the server handed out, with what redeeming it needs.
#[derive(Debug, Clone)]
struct Issued {
    code: String,
    request: AuthRequest,
}

/// The tokens of one grant whose current state the test knows.
#[derive(Debug, Clone)]
struct Family {
    /// The code the grant came from; its redemption was acknowledged.
    issued: Issued,
    /// The refresh token last handed out in a 200.
    current: String,
    /// Refresh tokens whose rotation was acknowledged.
    rotated: Vec<String>,
    /// How many restarts the family has been checked across.
    checked: u32,
}

/// What the server acknowledged, and what is uncertain because the answer never came.
#[derive(Debug, Default)]
struct Ledger {
    users: Vec<String>,
    /// Codes handed out and never presented.
    parked: Vec<Issued>,
    /// Grants in a known state, idle.
    families: Vec<Family>,
    /// Grants whose last rotation got no answer: the old token may or may not have rotated.
    abandoned: Vec<Family>,
    /// Codes presented whose answer never came.
    uncertain: Vec<Issued>,
    /// Answers that break a rule (a worker records them; the round fails on them).
    violations: Vec<String>,
    /// Acknowledged operations, for the summary.
    acknowledged: u64,
    /// Token requests the kill cut off (sent, answer lost), for the summary.
    cut_off: u64,
}

/// A token endpoint answer: status and JSON body. `Err` when the whole answer did not arrive.
async fn token_request(
    http: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
) -> reqwest::Result<(StatusCode, Value)> {
    let response = http.post(format!("{base}/oauth/token")).form(form).send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

async fn redeem(http: &reqwest::Client, base: &str, issued: &Issued) -> reqwest::Result<(StatusCode, Value)> {
    token_request(
        http,
        base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &issued.code),
            ("redirect_uri", &issued.request.redirect_uri),
            ("code_verifier", &issued.request.pkce.verifier),
            ("client_id", CLIENT_ID),
        ],
    )
    .await
}

async fn rotate(
    http: &reqwest::Client,
    base: &str,
    refresh_token: &str,
) -> reqwest::Result<(StatusCode, Value)> {
    token_request(
        http,
        base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
        ],
    )
    .await
}

/// The refresh token of a 200 token response.
fn refresh_token_of(status: StatusCode, body: &Value) -> Option<String> {
    (status == StatusCode::OK)
        .then(|| body["refresh_token"].as_str().map(str::to_owned))
        .flatten()
        .filter(|t| !t.is_empty())
}

fn is_invalid_grant(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::BAD_REQUEST && body["error"] == "invalid_grant"
}

/// What a signed-in browser's authorization request came to.
enum Authorize {
    /// A 303 to the client carrying a code.
    Code(Issued),
    /// Any other complete answer (a violation: the session and client are durable).
    Other(String),
}

/// Asks for a code with the signed-in session in `http`'s cookie jar.
async fn authorize(http: &reqwest::Client, base: &str) -> reqwest::Result<Authorize> {
    let request = AuthRequest::new(CLIENT_ID, &redirect_uri_on(free_port()));
    let response = http.get(request.url(base)).send().await?;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await?;
    let code = location
        .filter(|_| status == StatusCode::SEE_OTHER)
        .and_then(|l| url::Url::parse(&l).ok())
        .filter(|u| u.as_str().starts_with(&request.redirect_uri))
        .and_then(|u| query_param(&u, "code"));
    Ok(match code {
        Some(code) => Authorize::Code(Issued { code, request }),
        None => Authorize::Other(format!("{status}: {body}")),
    })
}

/// A client with the shared cookie jar (the session survives restarts; connections do not).
fn browser(jar: &Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(Arc::clone(jar))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

/// Signs in through the login page, leaving the session cookie in `http`'s jar, and returns the
/// code the flow ends with.
async fn sign_in(http: &reqwest::Client, base: &str) -> Issued {
    let request = AuthRequest::new(CLIENT_ID, &redirect_uri_on(free_port()));
    let page = http.get(request.url(base)).send().await.expect("the login page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("the login page's body");
    let csrf = form_field(&html, "csrf").expect("a csrf field");
    let return_to = form_field(&html, "return_to").expect("a return_to field");
    let login = http
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("return_to", return_to.as_str()),
            ("username", USERNAME),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "signing in failed");
    match authorize(http, base).await.expect("an authorization request") {
        Authorize::Code(issued) => issued,
        Authorize::Other(answer) => panic!("a signed-in first-party request got no code: {answer}"),
    }
}

/// Gets codes and redeems most of them; parks some unpresented.
async fn code_worker(
    http: reqwest::Client,
    base: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..OPS_PER_ROUND {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let issued = match authorize(&http, &base).await {
            Ok(Authorize::Code(issued)) => issued,
            Ok(Authorize::Other(answer)) => {
                let mut l = ledger.lock().unwrap();
                l.violations
                    .push(format!("a signed-in authorization request got no code: {answer}"));
                return;
            }
            Err(_) => return,
        };
        ledger.lock().unwrap().acknowledged += 1;
        if rng.u8(0..4) == 0 {
            ledger.lock().unwrap().parked.push(issued);
            continue;
        }
        let answer = redeem(&http, &base, &issued).await;
        let mut l = ledger.lock().unwrap();
        match answer {
            Ok((status, body)) => match refresh_token_of(status, &body) {
                Some(current) => {
                    l.acknowledged += 1;
                    l.families.push(Family {
                        issued,
                        current,
                        rotated: Vec::new(),
                        checked: 0,
                    });
                }
                None => l
                    .violations
                    .push(format!("redeeming a fresh code was answered {status} {body}")),
            },
            // No connection: the server never saw the code, which is as good as new.
            Err(e) if e.is_connect() => {
                l.parked.push(issued);
                return;
            }
            Err(_) => {
                l.cut_off += 1;
                l.uncertain.push(issued);
                return;
            }
        }
    }
}

/// Rotates the refresh tokens of idle families.
async fn refresh_worker(
    http: reqwest::Client,
    base: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    seed: u64,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..OPS_PER_ROUND {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let taken = {
            let mut l = ledger.lock().unwrap();
            let n = l.families.len();
            (n > 0).then(|| l.families.swap_remove(rng.usize(0..n)))
        };
        let Some(mut family) = taken else {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        };
        let answer = rotate(&http, &base, &family.current).await;
        let mut l = ledger.lock().unwrap();
        match answer {
            Ok((status, body)) => match refresh_token_of(status, &body) {
                Some(next) => {
                    l.acknowledged += 1;
                    let old = std::mem::replace(&mut family.current, next);
                    family.rotated.push(old);
                    l.families.push(family);
                }
                None => {
                    l.violations.push(format!(
                        "rotating the current refresh token was answered {status} {body}"
                    ));
                    return;
                }
            },
            // No connection: the server never saw the token, so nothing changed.
            Err(e) if e.is_connect() => {
                l.families.push(family);
                return;
            }
            Err(_) => {
                l.cut_off += 1;
                l.abandoned.push(family);
                return;
            }
        }
    }
}

/// Adds users through the command line (the admin socket while the server runs).
fn user_worker(cli: Cli, round: u32, ledger: Arc<Mutex<Ledger>>, stop: Arc<AtomicBool>) {
    for i in 0..OPS_PER_ROUND {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let name = format!("crash-{round}-{i}");
        if cli
            .run(&["user", "add", &name, "--no-password", "--json"])
            .status
            .success()
        {
            let mut l = ledger.lock().unwrap();
            l.users.push(name);
            l.acknowledged += 1;
        }
    }
}

/// Every username, page by page.
fn all_usernames(server: &Server) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = vec!["user", "list", "--json", "--limit", "500"];
        if let Some(cursor) = &after {
            args.extend(["--after", cursor.as_str()]);
        }
        let page = server.cli_json(&args);
        names.extend(usernames(&page));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return names,
        }
    }
}

/// The checks after a restart. Everything here runs against a stable server, so a transport
/// error is itself a failure.
async fn check_after_restart(
    server: &Server,
    http: &reqwest::Client,
    ledger: &mut Ledger,
    rng: &mut fastrand::Rng,
    round: u32,
) {
    let base = server.base_url();
    let ctx = |what: &str| format!("after restart {round}: {what}");

    let names = all_usernames(server);
    let missing: Vec<&String> = ledger.users.iter().filter(|u| !names.contains(*u)).collect();
    assert!(
        missing.is_empty(),
        "{}: {missing:?}",
        ctx("acknowledged users are missing")
    );

    // A code handed out and never presented still redeems; its grant joins the families.
    for issued in std::mem::take(&mut ledger.parked) {
        let (status, body) = redeem(http, &base, &issued)
            .await
            .expect("redeeming a parked code");
        let current = refresh_token_of(status, &body).unwrap_or_else(|| {
            panic!(
                "{}: {status} {body}",
                ctx("a code handed out before the crash no longer redeems")
            )
        });
        ledger.families.push(Family {
            issued,
            current,
            rotated: Vec::new(),
            checked: 0,
        });
    }

    // A code presented without an answer: redeemed or not, never a server error.
    for issued in std::mem::take(&mut ledger.uncertain) {
        let (status, body) = redeem(http, &base, &issued)
            .await
            .expect("redeeming an uncertain code");
        assert!(
            status == StatusCode::OK || is_invalid_grant(status, &body),
            "{}: {status} {body}",
            ctx("a code whose redemption went unanswered got neither 200 nor invalid_grant")
        );
    }

    // A grant whose last rotation went unanswered: what was acknowledged still holds.
    for family in std::mem::take(&mut ledger.abandoned) {
        for stale in &family.rotated {
            let (status, body) = rotate(http, &base, stale)
                .await
                .expect("presenting a rotated token");
            assert!(
                is_invalid_grant(status, &body),
                "{}: {status} {body}",
                ctx("a refresh token whose rotation was acknowledged worked again")
            );
        }
        let (status, body) = redeem(http, &base, &family.issued)
            .await
            .expect("replaying a code");
        assert!(
            is_invalid_grant(status, &body),
            "{}: {status} {body}",
            ctx("a code whose redemption was acknowledged redeemed again")
        );
    }

    // Every known grant: its current refresh token works exactly once.
    for mut family in std::mem::take(&mut ledger.families) {
        let (status, body) = rotate(http, &base, &family.current).await.expect("rotating");
        let next = refresh_token_of(status, &body).unwrap_or_else(|| {
            panic!(
                "{}: {status} {body}",
                ctx("an acknowledged refresh token no longer works")
            )
        });
        let old = std::mem::replace(&mut family.current, next);
        family.rotated.push(old);
        family.checked += 1;
        // Spending a grant's replays revokes it, so only some grants are spent each time; the
        // others live on to be checked after later crashes.
        if family.checked < 3 && rng.bool() {
            ledger.families.push(family);
            continue;
        }
        for stale in family.rotated.iter().rev() {
            let (status, body) = rotate(http, &base, stale)
                .await
                .expect("presenting a rotated token");
            assert!(
                is_invalid_grant(status, &body),
                "{}: {status} {body}",
                ctx("a refresh token whose rotation was acknowledged worked again")
            );
        }
        let (status, body) = redeem(http, &base, &family.issued)
            .await
            .expect("replaying a code");
        assert!(
            is_invalid_grant(status, &body),
            "{}: {status} {body}",
            ctx("a code whose redemption was acknowledged redeemed again")
        );
        let (status, body) = rotate(http, &base, &family.current).await.expect("rotating");
        assert!(
            is_invalid_grant(status, &body),
            "{}: {status} {body}",
            ctx("a replayed refresh token did not revoke its grant")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let seed = std::env::var("LATCHKEY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("crash test seed: {seed} (replay with LATCHKEY_CRASH_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);

    let mut server = Server::with_config(config);
    server.start();
    assert_success(&server.cli_stdin(
        &["user", "add", USERNAME, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    let base = server.base_url();
    let jar = Arc::new(Jar::default());
    let first = sign_in(&browser(&jar), &base).await;
    let ledger = Arc::new(Mutex::new(Ledger {
        parked: vec![first],
        ..Ledger::default()
    }));

    for round in 1..=ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        // A fresh client each round: connections to the killed process are dead.
        let http = browser(&jar);
        let mut workers = JoinSet::new();
        for _ in 0..CODE_WORKERS {
            let worker_seed = rng.u64(..);
            workers.spawn(code_worker(
                http.clone(),
                base.clone(),
                ledger.clone(),
                stop.clone(),
                worker_seed,
            ));
        }
        for w in 0..REFRESH_WORKERS {
            let worker_seed = rng.u64(..) ^ u64::from(w);
            workers.spawn(refresh_worker(
                http.clone(),
                base.clone(),
                ledger.clone(),
                stop.clone(),
                worker_seed,
            ));
        }
        let users = {
            let (cli, ledger, stop) = (server.cli_handle(), ledger.clone(), stop.clone());
            tokio::task::spawn_blocking(move || user_worker(cli, round, ledger, stop))
        };

        tokio::time::sleep(Duration::from_millis(rng.u64(LOAD_MS.0..=LOAD_MS.1))).await;
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        while let Some(done) = workers.join_next().await {
            done.expect("a worker panicked");
        }
        users.await.expect("the user worker panicked");

        // The file must open cleanly: `start` fails the test unless the server becomes ready.
        server.start();
        let mut l = std::mem::take(&mut *ledger.lock().unwrap());
        assert!(
            l.violations.is_empty(),
            "round {round} (seed {seed}): {:?}",
            l.violations
        );
        check_after_restart(&server, &browser(&jar), &mut l, &mut rng, round).await;
        *ledger.lock().unwrap() = l;
    }
    let l = ledger.lock().unwrap();
    println!(
        "{ROUNDS} kills; {} acknowledged operations, {} users among them; {} token requests cut off by a kill",
        l.acknowledged,
        l.users.len(),
        l.cut_off
    );
    assert!(
        l.acknowledged > u64::from(ROUNDS),
        "the load made almost no progress"
    );
}
