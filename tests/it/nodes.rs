//! Several Latchkey nodes on one PostgreSQL database: any node serves any request, races
//! across nodes are decided once, what one node (or its command line) changes the other sees at
//! once, a node killed under load loses nothing it acknowledged, and a database restart makes
//! both nodes unready and then ready again by themselves. These tests need PostgreSQL
//! (`LATCHKEY_TEST_POSTGRES`, which `.ci/run` sets) whichever engine the rest of the suite runs on.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::flows::{
    self, ClientAuth, PASSWORD, Reply, SERVICE_SECRET, SERVICE_SECRET_VAR, USERNAME, WEB_ID, WEB_SECRET,
    WEB_SECRET_VAR, assert_token_pair, authorization_code, clients_config,
};
use crate::harness::{PgStore, Server, assert_success, eventually, free_port, postgres_url};

const WEB: ClientAuth<'static> = ClientAuth::Basic {
    id: WEB_ID,
    secret: WEB_SECRET,
};

/// A schema no other test uses, in the database at `url`.
fn fresh_schema(url: &str) -> PgStore {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator");
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    PgStore {
        url: url.to_owned(),
        schema: format!("nodes_{name}"),
    }
}

/// Two nodes on `pg` with the clients of `flows`, both with the issuer of the first (as behind a
/// load balancer), and the user `alice`.
fn two_nodes(pg: &PgStore) -> (Server, Server) {
    let mut a = Server::with_config(|port| crate::harness::default_config(port) + &clients_config());
    a.on_postgres(pg.clone())
        .env(WEB_SECRET_VAR, WEB_SECRET)
        .env(SERVICE_SECRET_VAR, SERVICE_SECRET);
    a.start();
    let issuer = a.base_url();
    let mut b = Server::with_config(|port| {
        format!("issuer = \"{issuer}\"\nlisten = \"127.0.0.1:{port}\"\ndata = \"data/identity.redb\"\n")
            + &clients_config()
    });
    b.on_postgres(pg.clone())
        .env(WEB_SECRET_VAR, WEB_SECRET)
        .env(SERVICE_SECRET_VAR, SERVICE_SECRET);
    b.start();
    // Added through B's command line, on the database directly; signed in through A below.
    let added = b.cli_stdin(
        &["user", "add", USERNAME, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_success(&added);
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_from_a_sign_in_on_one_node_is_redeemed_on_the_other_once() {
    let pg = fresh_schema(&postgres_url());
    let (a, b) = two_nodes(&pg);
    let http = crate::harness::http();
    let authorized = authorization_code(&a.base_url(), WEB_ID).await;

    let on_b = flows::redeem(&http, &b.base_url(), WEB, &authorized).await;
    assert_token_pair(&on_b);
    // The access token B issued is live at A's introspection endpoint.
    let token = on_b.string("access_token");
    let introspected = flows::introspect(&http, &a.base_url(), WEB, &token).await;
    assert_eq!(
        introspected.body["active"],
        serde_json::Value::Bool(true),
        "{}",
        introspected.body
    );
    // A second redemption, on the other node, is refused (and revokes what the code gave).
    let again_on_a = flows::redeem(&http, &a.base_url(), WEB, &authorized).await;
    assert_eq!(
        (again_on_a.status, again_on_a.error()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{}",
        again_on_a.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_parallel_redemptions_split_across_two_nodes_succeed_exactly_once() {
    let pg = fresh_schema(&postgres_url());
    let (a, b) = two_nodes(&pg);
    let authorized = Arc::new(authorization_code(&a.base_url(), WEB_ID).await);
    let bases = [a.base_url(), b.base_url()];
    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = JoinSet::new();
    for i in 0..8 {
        let (base, authorized, barrier) = (bases[i % 2].clone(), authorized.clone(), barrier.clone());
        tasks.spawn(async move {
            let http = crate::harness::http();
            barrier.wait().await;
            flows::redeem(&http, &base, WEB, &authorized).await
        });
    }
    let mut replies: Vec<Reply> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        replies.push(done.expect("a racing request panicked"));
    }
    let won = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(won, 1, "exactly one of eight redemptions may succeed");
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(
            (r.status, r.error()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "a losing redemption gets 400 invalid_grant, never a server error: {}",
            r.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_rotated_on_one_node_and_replayed_on_the_other_revokes_the_family() {
    let pg = fresh_schema(&postgres_url());
    let (a, b) = two_nodes(&pg);
    let http = crate::harness::http();
    let authorized = authorization_code(&a.base_url(), WEB_ID).await;
    let first = flows::redeem(&http, &a.base_url(), WEB, &authorized).await;
    assert_token_pair(&first);
    let old = first.string("refresh_token");

    let rotated = flows::refresh(&http, &a.base_url(), WEB, &old).await;
    assert_token_pair(&rotated);
    let new = rotated.string("refresh_token");

    let replay = flows::refresh(&http, &b.base_url(), WEB, &old).await;
    assert_eq!(
        (replay.status, replay.error()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{}",
        replay.body
    );
    let after = flows::refresh(&http, &a.base_url(), WEB, &new).await;
    assert_eq!(
        (after.status, after.error()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "the replay on B revoked the family, so A refuses its newest token: {}",
        after.body
    );
}

async fn jwks_kids(base: &str) -> Vec<String> {
    let jwks: serde_json::Value = crate::harness::http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .expect("the JWKS answers")
        .json()
        .await
        .expect("the JWKS is JSON");
    jwks["keys"]
        .as_array()
        .expect("a key list")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_on_one_node_is_in_the_other_nodes_jwks_at_once() {
    let pg = fresh_schema(&postgres_url());
    let (a, b) = two_nodes(&pg);
    let rotated = a.cli_json(&["keys", "rotate", "--json"]);
    let kid = rotated["kid"].as_str().expect("the new key's kid").to_owned();
    assert!(
        jwks_kids(&b.base_url()).await.contains(&kid),
        "B publishes A's new key"
    );
    // And B signs with it: an ID token from B names the new kid.
    let http = crate::harness::http();
    let authorized = authorization_code(&a.base_url(), WEB_ID).await;
    let tokens = flows::redeem(&http, &b.base_url(), WEB, &authorized).await;
    assert_token_pair(&tokens);
    let access = tokens.string("access_token");
    let header = access.split('.').next().expect("a JWS header");
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
            .expect("base64url"),
    )
    .expect("JSON");
    assert_eq!(header["kid"], kid.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_added_through_one_nodes_command_line_works_on_the_other_at_once() {
    let pg = fresh_schema(&postgres_url());
    let (a, b) = two_nodes(&pg);
    let created = b.cli_json(&[
        "client",
        "add",
        "reports-b",
        "--grant",
        "client_credentials",
        "--scope",
        "reports.read",
        "--json",
    ]);
    let secret = created["client_secret"].as_str().expect("a secret").to_owned();
    let http = crate::harness::http();
    let reply = flows::post_form(
        &http,
        &a.base_url(),
        "/oauth/token",
        ClientAuth::Basic {
            id: "reports-b",
            secret: &secret,
        },
        &[("grant_type", "client_credentials"), ("scope", "reports.read")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_under_load_loses_nothing_it_acknowledged_and_the_other_keeps_serving() {
    let pg = fresh_schema(&postgres_url());
    let (mut a, b) = two_nodes(&pg);
    let base_a = a.base_url();
    // Sign-ins on A, each ending in a code: every code A handed out was committed first.
    let mut load = JoinSet::new();
    for _ in 0..3 {
        let base = base_a.clone();
        load.spawn(async move {
            let mut acknowledged = Vec::new();
            loop {
                let request = flows::AuthRequest::new(WEB_ID, &flows::redirect_uri_on(free_port()));
                let landed = tokio::spawn({
                    let (base, url) = (base.clone(), request.url(&base));
                    async move {
                        flows::Agent::new(&base)
                            .authorize(&url, USERNAME, PASSWORD, flows::Decision::Allow)
                            .await
                    }
                })
                .await;
                // A request cut off by the kill panics inside its task: the load ends there.
                let Ok(landed) = landed else { break };
                let Some(code) = flows::query_param(&landed, "code") else {
                    break;
                };
                acknowledged.push(flows::Authorized { code, request });
            }
            acknowledged
        });
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill9();
    let mut acknowledged = Vec::new();
    while let Some(done) = load.join_next().await {
        acknowledged.extend(done.expect("a load task"));
    }
    assert!(
        !acknowledged.is_empty(),
        "the load got codes from A before the kill"
    );
    let http = crate::harness::http();
    for authorized in &acknowledged {
        let reply = flows::redeem(&http, &b.base_url(), WEB, authorized).await;
        assert_token_pair(&reply);
    }
    // And B goes on serving new sign-ins.
    let request = flows::AuthRequest::new(WEB_ID, &flows::redirect_uri_on(free_port()));
    let landed = flows::Agent::new(&b.base_url())
        .authorize(
            &request.url(&b.base_url()),
            USERNAME,
            PASSWORD,
            flows::Decision::Allow,
        )
        .await;
    assert!(
        flows::query_param(&landed, "code").is_some(),
        "B signs in after A died"
    );
}

/// A PostgreSQL cluster of this test's own (`.ci/postgres`), stopped when dropped.
struct OwnCluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnCluster {
    fn start() -> OwnCluster {
        OwnCluster::start_with(|_| String::new())
    }

    /// Starts a cluster with the server options `options` writes, given the cluster's folder
    /// (before the server starts, so that files it names can be put there).
    fn start_with(options: impl FnOnce(&std::path::Path) -> String) -> OwnCluster {
        let dir = tempfile::Builder::new()
            .prefix("latchkey-pg-")
            .tempdir()
            .expect("a temporary directory");
        let port = free_port();
        let cluster = OwnCluster { dir, port };
        std::fs::create_dir_all(cluster.path()).expect("the cluster's folder");
        let extra = options(std::path::Path::new(&cluster.path()));
        cluster.run(&["start", &cluster.path(), &port.to_string(), &extra]);
        cluster
    }

    fn path(&self) -> String {
        self.dir.path().join("pg").display().to_string()
    }

    fn url(&self) -> String {
        format!(
            "postgres://latchkey@127.0.0.1:{}/latchkey_test?sslmode=disable",
            self.port
        )
    }

    fn run(&self, args: &[&str]) {
        let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), ".ci", "postgres"].iter().collect();
        let out = Command::new("bash")
            .arg(script)
            .args(args)
            .output()
            .expect("bash runs .ci/postgres");
        assert!(
            out.status.success(),
            ".ci/postgres {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), ".ci", "postgres"].iter().collect();
        let _ = Command::new("bash")
            .arg(script)
            .args(["stop", &self.path()])
            .output();
    }
}

fn readyz(server: &Server) -> Option<u16> {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"])
        .arg(format!("{}/readyz", server.base_url()))
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_makes_both_nodes_unready_then_ready_again_without_a_restart() {
    let cluster = OwnCluster::start();
    let pg = fresh_schema(&cluster.url());
    let (mut a, mut b) = two_nodes(&pg);
    assert_eq!((readyz(&a), readyz(&b)), (Some(200), Some(200)));

    cluster.run(&["stop", &cluster.path()]);
    let both_unready = eventually(Duration::from_secs(30), || {
        (readyz(&a), readyz(&b)) == (Some(503), Some(503))
    });
    assert!(
        both_unready,
        "both nodes answer /readyz with 503 while the database is down"
    );
    assert!(
        a.is_running() && b.is_running(),
        "neither node exits while the database is down"
    );

    cluster.run(&["start", &cluster.path(), &cluster.port.to_string()]);
    let both_ready = eventually(Duration::from_secs(30), || {
        (readyz(&a), readyz(&b)) == (Some(200), Some(200))
    });
    assert!(both_ready, "both nodes are ready again once the database is back");
    // And they serve: a sign-in on A, redeemed on B.
    let http = crate::harness::http();
    let authorized = authorization_code(&a.base_url(), WEB_ID).await;
    assert_token_pair(&flows::redeem(&http, &b.base_url(), WEB, &authorized).await);
}

#[test]
fn a_postgresql_schema_newer_than_the_binary_is_refused_at_start_and_nothing_is_changed() {
    let pg = fresh_schema(&postgres_url());
    let mut server = Server::new();
    server.on_postgres(pg.clone());
    server.start();
    assert!(server.terminate().success());
    let psql = |sql: &str| {
        let out = Command::new("psql")
            .args([pg.url.as_str(), "-qtAc", sql])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    psql(&format!(
        "INSERT INTO \"{}\".schema_migrations (version) VALUES (99)",
        pg.schema
    ));
    let refused = crate::harness::assert_failure(&server.cli(&["user", "list", "--json"]));
    assert!(
        refused.contains("newer than this build") && refused.contains(&pg.schema),
        "{refused}"
    );
    assert!(!refused.contains(&pg.url), "the URL is never printed: {refused}");
    assert_eq!(
        psql(&format!(
            "SELECT max(version) FROM \"{}\".schema_migrations",
            pg.schema
        )),
        "99"
    );
}

/// Runs openssl in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate it signed for 127.0.0.1, in `dir`: `ca.crt`, `server.crt`, `server.key`.
fn certificates(dir: &std::path::Path, ca_name: &str) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                &format!("/CN={ca_name}"),
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("the extension file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    std::fs::set_permissions(
        dir.join("server.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod 600");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reaches_postgresql_over_tls_and_refuses_a_certificate_its_ca_did_not_sign() {
    let cluster = OwnCluster::start_with(|dir| {
        certificates(dir, "latchkey-test-db-ca");
        format!(
            "-c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
            dir.display()
        )
    });
    let url = cluster.url().replace("sslmode=disable", "sslmode=require");
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    certificates(elsewhere.path(), "someone-else");
    let config = |ca: &std::path::Path| {
        let (url, ca) = (url.clone(), ca.display().to_string());
        move |port: u16| {
            crate::harness::default_config(port)
                + &format!(
                    "\n[store]\nkind = \"postgres\"\nurl = \"{url}\"\nschema = \"tls_test\"\ntls_ca_file = \"{ca}\"\n"
                )
        }
    };
    // `on_file` turns off the suite's own PostgreSQL switch: these nodes use the `[store]` written above.
    let mut trusted = Server::with_config(config(&std::path::Path::new(&cluster.path()).join("ca.crt")));
    trusted.on_file();
    trusted.start();
    assert_eq!(
        readyz(&trusted),
        Some(200),
        "a node that trusts the database's CA starts"
    );

    let mut stranger = Server::with_config(config(&elsewhere.path().join("ca.crt")));
    stranger.on_file();
    let refused = crate::harness::assert_failure(&stranger.cli(&["user", "list", "--json"]));
    assert!(
        refused.contains("certificate") || refused.contains("Certificate"),
        "{refused}"
    );
}
