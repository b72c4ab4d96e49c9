//! Acceptance tests of the foundation: the command line with and without a running server, the
//! data file's durability (restart, kill -9, backup under load, schema version, exclusive use),
//! configuration errors, the JWKS, environment overrides and the first-start setup link.

use std::collections::BTreeSet;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::harness::{
    Cli, Server, all_keys, assert_failure, assert_success, bare_command, eventually, free_port, parse_json,
    run, socket_path, stdout, toml_path, usernames,
};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "another long passphrase";

/// A password as a line on standard input.
fn line(password: &str) -> String {
    format!("{password}\n")
}

/// Asserts that command output carries no password, password hash or password field.
#[track_caller]
fn assert_no_password_material(text: &str, passwords: &[&str]) {
    for password in passwords {
        assert!(!text.contains(password), "a password was printed:\n{text}");
    }
    assert!(!text.contains("$argon2"), "a password hash was printed:\n{text}");
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    let leaks: Vec<String> = all_keys(&value)
        .into_iter()
        .filter(|k| (k.contains("password") && k != "has_password") || k.contains("hash"))
        .collect();
    assert!(leaks.is_empty(), "password fields {leaks:?} in:\n{text}");
}

/// Asserts that command output carries none of `secrets` and no secret field.
#[track_caller]
fn assert_no_client_secret(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "a client secret was printed:\n{text}");
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let leaks: Vec<String> = all_keys(&value)
            .into_iter()
            .filter(|k| k.contains("secret"))
            .collect();
        assert!(leaks.is_empty(), "secret fields {leaks:?} in:\n{text}");
    }
}

/// The secret of a `client add` or `client rotate-secret` answer, checked to be long enough.
#[track_caller]
fn client_secret(created: &Value) -> String {
    let secret = created["client_secret"]
        .as_str()
        .unwrap_or_else(|| panic!("a confidential client gets a secret: {created}"));
    assert!(
        secret.len() >= 43,
        "the secret `{secret}` is shorter than 43 characters"
    );
    secret.to_owned()
}

/// Adds, lists, shows, re-passwords, disables, enables and deletes a user through `server`'s
/// command line; the same whether or not the server runs.
fn manage_a_user(server: &Server) {
    let added = server.cli_stdin(
        &[
            "user",
            "add",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice Example",
            "--group",
            "staff",
            "--password-stdin",
            "--json",
        ],
        &line(PASSWORD),
    );
    let alice = parse_json(&added);
    assert_no_password_material(&stdout(&added), &[PASSWORD]);
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["name"], "Alice Example");
    assert_eq!(alice["groups"], json!(["staff"]));
    assert_eq!(alice["has_password"], true);
    assert_eq!(alice["disabled"], false);
    let subject = alice["subject"]
        .as_str()
        .expect("a user has a subject")
        .to_owned();
    assert!(!subject.is_empty());

    let listed = server.cli(&["user", "list", "--json"]);
    let page = parse_json(&listed);
    assert_no_password_material(&stdout(&listed), &[PASSWORD]);
    let fields: BTreeSet<&str> = page
        .as_object()
        .expect("a page is an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, BTreeSet::from(["data_file", "items", "next"]));
    assert_eq!(
        page["data_file"],
        server.data_path().display().to_string(),
        "the command names the data file it used"
    );
    assert_eq!(page["next"], Value::Null);
    let listed_alice = page["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap_or_else(|| panic!("alice is not listed: {page}"));
    let mut alice_record = alice.clone();
    alice_record
        .as_object_mut()
        .expect("a user is an object")
        .remove("data_file");
    assert_eq!(listed_alice, &alice_record);

    for ident in ["alice", subject.as_str()] {
        let shown = server.cli(&["user", "show", ident, "--json"]);
        assert_eq!(parse_json(&shown), alice, "user show {ident}");
        assert_no_password_material(&stdout(&shown), &[PASSWORD]);
    }

    let changed = server.cli_stdin(
        &["user", "passwd", "alice", "--password-stdin", "--json"],
        &line(NEW_PASSWORD),
    );
    assert_eq!(parse_json(&changed)["has_password"], true);
    assert_no_password_material(&stdout(&changed), &[PASSWORD, NEW_PASSWORD]);
    let too_short = server.cli_stdin(&["user", "passwd", "alice", "--password-stdin"], &line("short"));
    assert!(assert_failure(&too_short).contains("at least 12"));

    assert_eq!(
        server.cli_json(&["user", "disable", "alice", "--json"])["disabled"],
        true
    );
    assert_eq!(
        server.cli_json(&["user", "show", "alice", "--json"])["disabled"],
        true
    );
    assert_eq!(
        server.cli_json(&["user", "enable", "alice", "--json"])["disabled"],
        false
    );
    assert_eq!(
        server.cli_json(&["user", "show", "alice", "--json"])["disabled"],
        false
    );

    assert_eq!(
        server.cli_json(&["user", "delete", "alice", "--json"])["subject"],
        subject.as_str()
    );
    let gone = assert_failure(&server.cli(&["user", "show", "alice", "--json"]));
    assert!(gone.contains("alice") && gone.contains("not found"), "{gone}");
    assert!(!usernames(&server.cli_json(&["user", "list", "--json"])).contains("alice"));
}

/// Registers, lists, shows and re-keys clients through `server`'s command line, and sees a
/// forbidden redirect URI refused; the same whether or not the server runs.
fn manage_clients(server: &Server) {
    let created = server.cli_json(&[
        "client",
        "add",
        "webapp",
        "--redirect-uri",
        "https://app.example.com/cb",
        "--scope",
        "openid",
        "--json",
    ]);
    assert_eq!(created["client_id"], "webapp");
    assert_eq!(created["public"], false);
    assert_eq!(created["redirect_uris"], json!(["https://app.example.com/cb"]));
    assert_eq!(created["scopes"], json!(["openid"]));
    let secret = client_secret(&created);

    let list = server.cli(&["client", "list", "--json"]);
    assert_no_client_secret(&stdout(&list), &[&secret]);
    let clients = parse_json(&list);
    assert!(
        clients
            .as_array()
            .expect("a client list is an array")
            .iter()
            .any(|c| c["client_id"] == "webapp"),
        "webapp is not listed: {clients}"
    );
    let show = server.cli(&["client", "show", "webapp", "--json"]);
    assert_no_client_secret(&stdout(&show), &[&secret]);
    assert_eq!(
        parse_json(&show)["redirect_uris"],
        json!(["https://app.example.com/cb"])
    );
    let text = server.cli(&["client", "show", "webapp"]);
    assert_success(&text);
    assert_no_client_secret(&stdout(&text), &[&secret]);

    let rotated = client_secret(&server.cli_json(&["client", "rotate-secret", "webapp", "--json"]));
    assert_ne!(rotated, secret, "rotate-secret must make a new secret");
    let show = server.cli(&["client", "show", "webapp", "--json"]);
    assert_no_client_secret(&stdout(&show), &[&secret, &rotated]);

    let evil = server.cli(&[
        "client",
        "add",
        "evil",
        "--redirect-uri",
        "http://evil.example/cb",
        "--json",
    ]);
    let message = assert_failure(&evil);
    assert!(
        message.contains("http://evil.example/cb") && message.contains("https"),
        "the refusal should name the URI and the rule: {message}"
    );
    assert_failure(&server.cli(&["client", "show", "evil"]));

    let public = server.cli_json(&[
        "client",
        "add",
        "spa",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--scope",
        "openid",
        "--json",
    ]);
    assert_eq!(public["public"], true);
    assert_eq!(public["client_secret"], Value::Null);
}

#[test]
fn users_can_be_managed_from_the_command_line_without_a_server() {
    let server = Server::new();
    manage_a_user(&server);
    assert!(
        server.data_path().exists(),
        "the command line creates the data file"
    );
}

#[test]
fn upstream_identities_are_linked_listed_and_unlinked_from_the_command_line() {
    let server = Server::new();
    assert_success(&server.cli(&["user", "add", "bob", "--no-password", "--json"]));
    let linked = server.cli_json(&[
        "user",
        "link",
        "bob",
        "--upstream",
        "corp",
        "--subject",
        "-42",
        "--json",
    ]);
    assert_eq!(linked["upstream"], "corp");
    assert_eq!(linked["upstream_subject"], "-42");
    let list = server.cli_json(&["user", "links", "bob", "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["upstream_subject"], "-42");
    let again =
        assert_failure(&server.cli(&["user", "link", "bob", "--upstream", "corp", "--subject", "-42"]));
    assert!(again.contains("linked to `bob` already"), "{again}");
    let bad = assert_failure(&server.cli(&["user", "link", "bob", "--upstream", "Corp!", "--subject", "1"]));
    assert!(bad.contains("upstream"), "{bad}");
    server.cli_json(&[
        "user",
        "unlink",
        "bob",
        "--upstream",
        "corp",
        "--subject",
        "-42",
        "--json",
    ]);
    assert_eq!(
        server.cli_json(&["user", "links", "bob", "--json"]),
        serde_json::json!([])
    );
}

#[test]
fn clients_can_be_managed_from_the_command_line_without_a_server() {
    let server = Server::new();
    manage_clients(&server);
}

#[test]
fn bad_usage_exits_non_zero_with_a_message_on_stderr() {
    let server = Server::new();
    let unknown = assert_failure(&server.cli(&["user", "frobnicate"]));
    assert!(unknown.contains("frobnicate"), "{unknown}");
    let unknown_top = assert_failure(&server.cli(&["frobnicate"]));
    assert!(unknown_top.contains("frobnicate"), "{unknown_top}");
    let missing = assert_failure(&server.cli(&["user", "show"]));
    assert!(
        missing.contains("required") && missing.contains("<USER>"),
        "{missing}"
    );
    let missing_id = assert_failure(&server.cli(&["client", "add"]));
    assert!(missing_id.contains("required"), "{missing_id}");

    // Standard input is not a terminal here, so there is no way to ask for the password.
    let no_password = assert_failure(&server.cli(&["user", "add", "carol"]));
    assert!(no_password.contains("--password-stdin"), "{no_password}");
    let short =
        assert_failure(&server.cli_stdin(&["user", "add", "carol", "--password-stdin"], &line("short")));
    assert!(short.contains("at least 12"), "{short}");
    assert!(usernames(&server.cli_json(&["user", "list", "--json"])).is_empty());
}

/// Subjects are random base64url, so about one in 64 begins with '-'; the command line used to
/// read such a subject as an unknown option.
#[test]
fn a_subject_that_begins_with_a_hyphen_is_read_as_a_user_not_an_option() {
    let server = Server::new();
    let commands: [&[&str]; 5] = [
        &["user", "show", "-Zm9v", "--json"],
        &["user", "disable", "-Zm9v"],
        &["user", "enable", "--json", "-Zm9v"],
        &["user", "delete", "-Zm9v"],
        &["user", "passwd", "-Zm9v", "--password-stdin"],
    ];
    for args in commands {
        let message = assert_failure(&server.cli_stdin(args, &line(PASSWORD)));
        assert!(
            message.contains("user `-Zm9v` not found"),
            "`{}` should look the user up: {message}",
            args.join(" ")
        );
    }
}

#[test]
fn usernames_are_unique_regardless_of_case() {
    let server = Server::new();
    assert_success(&server.cli_stdin(&["user", "add", "Bob", "--password-stdin"], &line(PASSWORD)));
    let taken =
        assert_failure(&server.cli_stdin(&["user", "add", "bob", "--password-stdin"], &line(PASSWORD)));
    assert!(taken.contains("already exists"), "{taken}");
    assert_eq!(
        server.cli_json(&["user", "show", "BOB", "--json"])["username"],
        "Bob"
    );
    assert_eq!(
        usernames(&server.cli_json(&["user", "list", "--json"])),
        BTreeSet::from(["Bob".to_owned()])
    );
}

#[test]
fn the_command_line_works_through_an_owner_only_socket_while_the_server_runs() {
    let mut server = Server::running();
    let socket = server.socket_path();
    let meta = std::fs::symlink_metadata(&socket).expect("the admin socket exists while the server runs");
    assert!(
        meta.file_type().is_socket(),
        "{} is not a socket",
        socket.display()
    );
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "the admin socket's mode"
    );

    manage_a_user(&server);
    manage_clients(&server);
    assert_success(&server.cli_stdin(
        &["user", "add", "dave", "--group", "ops", "--password-stdin"],
        &line(PASSWORD),
    ));
    assert!(usernames(&server.cli_json(&["user", "list", "--json"])).contains("dave"));
    assert!(
        server.stderr_text().contains("admin command through the socket"),
        "the commands should have reached the server"
    );
    assert!(server.is_running());

    assert!(server.terminate().success());
    assert!(!socket.exists(), "the server removes its socket when it stops");
}

#[test]
fn a_restart_keeps_every_user_client_and_key() {
    let mut server = Server::running();
    for name in ["erin", "frank"] {
        let args = [
            "user",
            "add",
            name,
            "--email",
            "x@example.com",
            "--group",
            "staff",
            "--password-stdin",
        ];
        assert_success(&server.cli_stdin(&args, &line(PASSWORD)));
    }
    let args = [
        "client",
        "add",
        "svc",
        "--redirect-uri",
        "https://svc.example.com/cb",
        "--json",
    ];
    client_secret(&server.cli_json(&args));
    let args = [
        "client",
        "add",
        "cli",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--json",
    ];
    server.cli_json(&args);
    server.cli_json(&["keys", "rotate", "--json"]);

    let state = |s: &Server| {
        [
            s.cli_json(&["user", "list", "--json"]),
            s.cli_json(&["client", "list", "--json"]),
            s.cli_json(&["keys", "list", "--json"]),
        ]
    };
    let before = state(&server);
    assert_eq!(before[0]["items"].as_array().map(Vec::len), Some(2));
    let created = |list: &Value| {
        list.as_array()
            .map(|l| l.iter().filter(|c| c["source"] == "store").count())
    };
    assert_eq!(
        created(&before[1]),
        Some(2),
        "the two created clients, beside the built-in docs client"
    );
    assert_eq!(before[2].as_array().map(Vec::len), Some(2));

    server.restart();
    assert_eq!(state(&server), before);
}

#[test]
fn a_data_file_written_by_a_newer_schema_version_is_refused() {
    // The data file's layout is the store engine's own; the test names the two facts it needs.
    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    const SCHEMA_VERSION_KEY: &str = "schema_version";

    let server = Server::new();
    let data = server.data_path();
    drop(latchkey::store::Store::open(&data).expect("a new data file"));
    let set_version = |version: &str| {
        let db = redb::Database::open(&data).expect("the data file opens with redb");
        let tx = db.begin_write().expect("a write transaction");
        tx.open_table(META)
            .expect("the meta table")
            .insert(SCHEMA_VERSION_KEY, version.as_bytes())
            .expect("insert");
        tx.commit().expect("commit");
    };
    set_version("99");

    for args in [&["serve"][..], &["user", "list", "--json"][..]] {
        let message = assert_failure(&server.cli(args));
        assert!(
            message.contains(&data.display().to_string()) && message.contains("99"),
            "`{}` should name the file and its version: {message}",
            args.join(" ")
        );
    }

    use redb::ReadableDatabase;
    let db = redb::Database::open(&data).expect("the data file still opens");
    let tx = db.begin_read().expect("a read transaction");
    let meta = tx.open_table(META).expect("the meta table");
    let version = meta
        .get(SCHEMA_VERSION_KEY)
        .expect("get")
        .expect("a schema version");
    assert_eq!(version.value(), b"99", "a refused file is left as it was");
}

#[test]
fn a_second_server_on_the_same_data_file_exits_naming_the_file() {
    let mut first = Server::running();
    let mut second = first.cli_handle().command(&["serve"]);
    second.env("LATCHKEY_LISTEN", format!("127.0.0.1:{}", free_port()));
    let message = assert_failure(&run(second, None));
    assert!(
        message.contains(&first.data_path().display().to_string()) && message.contains("already open"),
        "{message}"
    );

    assert!(
        first.is_running() && first.is_ready(),
        "the first server keeps serving"
    );
    assert!(
        first.socket_path().exists(),
        "the first server keeps its admin socket"
    );
    assert_success(&first.cli_stdin(&["user", "add", "grace", "--password-stdin"], &line(PASSWORD)));
    assert!(usernames(&first.cli_json(&["user", "list", "--json"])).contains("grace"));
}

/// A background thread adding users through the command line until stopped, recording each
/// user whose `user add` exited 0.
struct AddLoop {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl AddLoop {
    /// Stays well under one `user list` page.
    const MAX_ADDS: usize = 300;

    fn start(cli: Cli, prefix: &'static str) -> AddLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let stop = Arc::clone(&stop);
            let acknowledged = Arc::clone(&acknowledged);
            std::thread::spawn(move || {
                for i in 0..Self::MAX_ADDS {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let name = format!("{prefix}-{i}");
                    let out = cli.run_stdin(&["user", "add", &name, "--password-stdin"], &line(PASSWORD));
                    if out.status.success() {
                        acknowledged.lock().unwrap().push(name);
                    }
                }
            })
        };
        AddLoop {
            stop,
            acknowledged,
            thread: Some(thread),
        }
    }

    /// The users acknowledged so far.
    fn acknowledged(&self) -> Vec<String> {
        self.acknowledged.lock().unwrap().clone()
    }

    /// Waits until `count` users are acknowledged or `limit` passes.
    fn wait_for(&self, count: usize, limit: Duration) {
        eventually(limit, || self.acknowledged.lock().unwrap().len() >= count);
    }

    /// Stops the loop, waits for the add in flight, and returns every acknowledged user.
    fn stop(mut self) -> Vec<String> {
        self.halt();
        self.acknowledged()
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the add loop panicked");
        }
    }
}

impl Drop for AddLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_backup_taken_under_write_load_holds_every_user_acknowledged_before_it_began() {
    let server = Server::running();
    let load = AddLoop::start(server.cli_handle(), "load");
    load.wait_for(5, Duration::from_secs(20));
    let acknowledged = load.acknowledged();
    assert!(!acknowledged.is_empty(), "no user add succeeded");

    // A private directory: a server refuses a data file in one that others can read.
    let backups = server.dir().join("backups");
    std::fs::create_dir(&backups).expect("a backup directory");
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o700)).expect("chmod 700");
    let backup = backups.join("backup.redb");
    let report = server.cli_json(&["backup", backup.to_str().expect("UTF-8 path"), "--json"]);
    let all = load.stop();
    assert_eq!(report["path"], backup.to_str().expect("UTF-8 path"));
    let users_in_report = report["tables"]
        .as_array()
        .expect("a table list")
        .iter()
        .find(|t| t[0] == "users")
        .and_then(|t| t[1].as_u64())
        .expect("a row count for users");
    assert!(users_in_report >= acknowledged.len() as u64, "{report}");

    let mut restored = Server::with_config(|port| {
        format!(
            "issuer = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndata = {}\n",
            toml_path(&backup)
        )
    });
    restored.start();
    let names = usernames(&restored.cli_json(&["user", "list", "--json"]));
    let missing: Vec<&String> = acknowledged.iter().filter(|n| !names.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "the backup lost acknowledged users {missing:?}"
    );
    assert!(
        names.iter().all(|n| all.contains(n)),
        "the backup holds users never added: {names:?}"
    );
}

#[test]
fn users_acknowledged_before_a_kill_9_are_there_after_restart() {
    let mut server = Server::running();
    let load = AddLoop::start(server.cli_handle(), "crash");
    load.wait_for(5, Duration::from_secs(15));
    server.kill9();
    let acknowledged = load.stop();
    assert!(!acknowledged.is_empty(), "no user add succeeded before the kill");

    server.start();
    let names = usernames(&server.cli_json(&["user", "list", "--json"]));
    let missing: Vec<&String> = acknowledged.iter().filter(|n| !names.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged users lost in the crash: {missing:?}"
    );
    assert_success(&server.cli_stdin(
        &["user", "add", "after-crash", "--password-stdin"],
        &line(PASSWORD),
    ));
}

#[test]
fn an_unknown_config_key_is_refused_naming_the_key_and_its_line() {
    let cases = [
        (
            "[tokens]\naccess_token = \"5m\"\naccess_tokn_lifetime = \"5m\"\n",
            "access_tokn_lifetime",
            5,
        ),
        ("\nlisten_adress = \"127.0.0.1:1\"\n", "listen_adress", 4),
    ];
    for (tail, key, line_no) in cases {
        let server = Server::with_config(|port| {
            format!("issuer = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\n{tail}")
        });
        for command in ["check-config", "serve"] {
            let message = assert_failure(&server.cli(&[command]));
            let config = server.config_path().display().to_string();
            assert!(
                message.contains(key)
                    && message.contains(&format!("line {line_no}:"))
                    && message.contains(&config),
                "`{command}` should name {key} at line {line_no} of {config}: {message}"
            );
        }
        assert!(
            !server.data_path().exists(),
            "a refused configuration opens no data file"
        );
    }
}

#[test]
fn check_config_reports_every_bad_value_at_once() {
    let server = Server::with_config(|_| {
        "issuer = \"ftp://id.example\"\nlisten = \"nowhere\"\n[tokens]\naccess_token = \"10 minutes\"\n[keys]\nretire_after = \"0s\"\n"
            .to_owned()
    });
    let message = assert_failure(&server.cli(&["check-config"]));
    for (key, line_no) in [
        ("issuer", 1),
        ("listen", 2),
        ("tokens.access_token", 4),
        ("keys.retire_after", 6),
    ] {
        assert!(
            message
                .lines()
                .any(|l| l.contains(&format!("line {line_no}:")) && l.contains(&format!("`{key}`"))),
            "{key} at line {line_no} is not reported: {message}"
        );
    }
}

#[test]
fn check_config_reports_every_bad_upstream_value_with_its_line() {
    let server = Server::with_config(|_| {
        [
            "[[upstream]]",                                                     // 1
            "name = \"Corp SSO\"",                                              // 2
            "kind = \"oidc\"",                                                  // 3
            "issuer = \"http://sso.example.com\"",                              // 4
            "client_id = \"latchkey\"",                                         // 5
            "client_secret_env = \"LATCHKEY_IT_NO_SUCH_VAR\"",                  // 6
            "link = \"sometimes\"",                                             // 7
            "timeout_seconds = 600",                                            // 8
            "[[upstream]]",                                                     // 9
            "name = \"gh\"",                                                    // 10
            "kind = \"oauth2\"",                                                // 11
            "authorization_url = \"https://github.com/login/oauth/authorize\"", // 12
            "client_id = \"x\"",                                                // 13
            "[[upstream]]",                                                     // 14
            "name = \"saml\"",                                                  // 15
            "kind = \"saml\"",                                                  // 16
            "client_id = \"x\"",                                                // 17
        ]
        .join("\n")
    });
    let message = assert_failure(&server.cli(&["check-config"]));
    for (key, line_no) in [
        ("upstream[0].name", 2),
        ("upstream[0].issuer", 4),
        ("upstream[0].client_secret_env", 6),
        ("upstream[0].link", 7),
        ("upstream[0].timeout_seconds", 8),
        ("upstream[1].token_url", 11),
        ("upstream[1].userinfo_url", 11),
        ("upstream[2].kind", 16),
    ] {
        assert!(
            message
                .lines()
                .any(|l| l.contains(&format!("line {line_no}:")) && l.contains(&format!("`{key}`"))),
            "{key} at line {line_no} is not reported: {message}"
        );
    }
}

#[tokio::test]
async fn the_jwks_serves_the_active_key_and_after_rotation_the_old_one_too() {
    let server = Server::running();
    let jwks_url = format!("{}/.well-known/jwks.json", server.base_url());
    let fetch_jwks = || async {
        let response = crate::harness::http()
            .get(&jwks_url)
            .send()
            .await
            .expect("GET jwks");
        assert_eq!(response.status(), StatusCode::OK);
        let jwks: Value = response.json().await.expect("the JWKS is JSON");
        let keys = jwks["keys"].as_array().expect("a keys array").clone();
        for key in &keys {
            assert_eq!(key["kty"], "OKP", "{key}");
            assert_eq!(key["crv"], "Ed25519", "{key}");
            assert!(key["alg"] == "EdDSA" || key["alg"] == "Ed25519", "{key}");
            assert_eq!(key["x"].as_str().map(str::len), Some(43), "{key}");
            assert!(key.get("d").is_none(), "the JWKS publishes a private key: {key}");
        }
        keys.iter()
            .map(|k| k["kid"].as_str().expect("every key has a kid").to_owned())
            .collect::<BTreeSet<String>>()
    };
    let active = |list: &Value| {
        let active: Vec<&Value> = list
            .as_array()
            .expect("a key list")
            .iter()
            .filter(|k| k["status"] == "active")
            .collect();
        assert_eq!(active.len(), 1, "exactly one active key: {list}");
        active[0]["kid"].as_str().expect("a kid").to_owned()
    };

    let old = active(&server.cli_json(&["keys", "list", "--json"]));
    assert_eq!(fetch_jwks().await, BTreeSet::from([old.clone()]));

    let rotated = server.cli_json(&["keys", "rotate", "--json"]);
    let new = rotated["kid"].as_str().expect("the new key's kid").to_owned();
    assert_ne!(new, old);
    let list = server.cli_json(&["keys", "list", "--json"]);
    assert_eq!(active(&list), new);
    let old_entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == old.as_str())
        .expect("the old key is listed");
    assert_eq!(old_entry["status"], "retiring");
    assert_eq!(fetch_jwks().await, BTreeSet::from([old, new]));
}

#[test]
fn environment_variables_override_listen_data_and_issuer() {
    let other = free_port();
    let mut server = Server::with_config(|_| {
        format!(
            "issuer = \"http://127.0.0.1:{other}\"\nlisten = \"127.0.0.1:{other}\"\ndata = \"file-data/identity.redb\"\n"
        )
    });
    let data = server.dir().join("env-data").join("identity.redb");
    let listen = format!("127.0.0.1:{}", server.port());
    server
        .env("LATCHKEY_LISTEN", listen.clone())
        .env("LATCHKEY_DATA", data.to_str().expect("UTF-8 path"))
        .env("LATCHKEY_ISSUER", "https://id.example.test");

    let checked = server.cli(&["check-config"]);
    assert_success(&checked);
    let report = stdout(&checked);
    for expected in [
        "issuer https://id.example.test",
        &format!("listen {listen}"),
        &format!("data {}", data.display()),
    ] {
        assert!(
            report.contains(expected),
            "check-config should show `{expected}`: {report}"
        );
    }

    // `start` waits for /readyz on the port LATCHKEY_LISTEN names, not the file's.
    server.start();
    assert!(
        socket_path(&data).exists(),
        "the server uses the data file LATCHKEY_DATA names"
    );
    assert!(
        !server.dir().join("file-data").exists(),
        "the file's data path is not used"
    );
    let link = server.setup_link().expect("a setup link");
    assert!(link.starts_with("https://id.example.test/setup?token="), "{link}");
    assert_success(&server.cli_stdin(&["user", "add", "heidi", "--password-stdin"], &line(PASSWORD)));
    assert!(usernames(&server.cli_json(&["user", "list", "--json"])).contains("heidi"));
}

#[test]
fn version_and_help_describe_the_binary() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut version = bare_command(dir.path());
    version.arg("--version");
    let version = run(version, None);
    assert_success(&version);
    assert_eq!(
        stdout(&version).trim(),
        format!("latchkey {}", env!("CARGO_PKG_VERSION"))
    );

    let mut help = bare_command(dir.path());
    help.arg("--help");
    let help = run(help, None);
    assert_success(&help);
    let text = stdout(&help);
    for command in ["serve", "check-config", "user", "client", "keys", "backup"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{command} "))),
            "--help should list `{command}`:\n{text}"
        );
    }
}

/// Asserts the security headers every HTML page carries.
#[track_caller]
fn assert_page_headers(headers: &HeaderMap) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
            .to_owned()
    };
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-content-type-options"), "nosniff");
}

/// The value of the hidden form field `name` in `html`.
#[track_caller]
fn hidden_field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no field {name} in:\n{html}"));
    let start = html[..at].rfind('<').expect("the field is in a tag");
    let end = at + html[at..].find('>').expect("the tag ends");
    let tag = &html[start..end];
    assert!(
        tag.starts_with("<input") && tag.contains("type=\"hidden\""),
        "{tag} is not a hidden input"
    );
    let value = tag.split("value=\"").nth(1).expect("the field has a value");
    value[..value.find('"').expect("the value ends")].to_owned()
}

/// The setup page a fresh server links to: the link, its token, the CSRF cookie and field.
struct SetupForm {
    link: String,
    token: String,
    cookie: String,
    csrf: String,
}

async fn open_setup_page(server: &Server) -> SetupForm {
    let link = server.setup_link().expect("a fresh server prints a setup link");
    let prefix = format!("{}/setup?token=", server.base_url());
    let token = link
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{link} is not under {prefix}"))
        .to_owned();

    let page = crate::harness::http()
        .get(&link)
        .send()
        .await
        .expect("GET the setup link");
    assert_eq!(page.status(), StatusCode::OK);
    assert_page_headers(page.headers());
    let set_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latchkey-csrf="))
        .expect("a latchkey-csrf cookie")
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("a name=value pair")
        .to_owned();
    let body = page.text().await.expect("a page body");
    let csrf = hidden_field(&body, "csrf");
    let value = cookie.strip_prefix("latchkey-csrf=").expect("the csrf cookie");
    let (nonce, mac) = value.split_once('.').expect("a minted cookie: nonce.mac");
    assert_eq!((nonce.len(), mac.len()), (43, 43), "{value}");
    assert_eq!(csrf.len(), 43, "the field is a MAC of the nonce and the session");
    assert!(!value.contains(&csrf), "the field does not repeat the cookie");
    assert_eq!(hidden_field(&body, "token"), token);
    SetupForm {
        link,
        token,
        cookie,
        csrf,
    }
}

fn setup_fields<'a>(form: &'a SetupForm, csrf: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("token", &form.token),
        ("csrf", csrf),
        ("username", "root-admin"),
        ("password", PASSWORD),
        ("password_repeat", PASSWORD),
    ]
}

#[tokio::test]
async fn the_setup_link_creates_one_administrator_and_then_stops_working() {
    let server = Server::running();
    let form = open_setup_page(&server).await;
    let http = crate::harness::http();
    let setup_url = format!("{}/setup", server.base_url());

    let created = http
        .post(&setup_url)
        .header("cookie", &form.cookie)
        .form(&setup_fields(&form, &form.csrf))
        .send()
        .await
        .expect("POST /setup");
    assert_eq!(created.status(), StatusCode::OK);
    assert_page_headers(created.headers());
    let admin = server.cli_json(&["user", "show", "root-admin", "--json"]);
    assert_eq!(admin["groups"], json!(["admins"]));
    assert_eq!(admin["has_password"], true);

    let again = http.get(&form.link).send().await.expect("GET the used link");
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_page_headers(again.headers());
    let replay = http
        .post(&setup_url)
        .header("cookie", &form.cookie)
        .form(&setup_fields(&form, &form.csrf))
        .send()
        .await
        .expect("POST /setup again");
    assert_eq!(replay.status(), StatusCode::NOT_FOUND);
    assert_eq!(usernames(&server.cli_json(&["user", "list", "--json"])).len(), 1);
}

#[tokio::test]
async fn a_setup_post_without_a_matching_csrf_cookie_is_refused_and_creates_nothing() {
    let server = Server::running();
    let form = open_setup_page(&server).await;
    let http = crate::harness::http();
    let setup_url = format!("{}/setup", server.base_url());

    let no_cookie = http
        .post(&setup_url)
        .form(&setup_fields(&form, &form.csrf))
        .send()
        .await
        .expect("POST /setup");
    assert_eq!(no_cookie.status(), StatusCode::FORBIDDEN);
    assert_page_headers(no_cookie.headers());
    let other = "x".repeat(43);
    let mismatched = http
        .post(&setup_url)
        .header("cookie", &form.cookie)
        .form(&setup_fields(&form, &other))
        .send()
        .await
        .expect("POST /setup");
    assert_eq!(mismatched.status(), StatusCode::FORBIDDEN);

    assert!(usernames(&server.cli_json(&["user", "list", "--json"])).is_empty());
    let still = http.get(&form.link).send().await.expect("GET the link again");
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "a refused post does not use up the link"
    );
}

/// The CLI's side of the review's client options: `--allow-http-localhost`, `--require-pkce`,
/// `--no-pkce` and `--resource`, each visible in `client show --json`.
#[test]
fn client_add_takes_the_localhost_pkce_and_resource_options() {
    let server = Server::new();
    let refused = assert_failure(&server.cli(&[
        "client",
        "add",
        "dev",
        "--redirect-uri",
        "http://localhost:8000/callback",
    ]));
    assert!(refused.contains("--allow-http-localhost"), "{refused}");
    assert!(refused.contains("http://127.0.0.1"), "{refused}");
    let dev = server.cli_json(&[
        "client",
        "add",
        "dev",
        "--redirect-uri",
        "http://localhost:8000/callback",
        "--allow-http-localhost",
        "--require-pkce",
        "--resource",
        "https://api.example.com",
        "--json",
    ]);
    assert_eq!(dev["allow_http_localhost"], true);
    assert_eq!(dev["require_pkce"], true);
    assert_eq!(dev["resources"], json!(["https://api.example.com"]));
    let legacy = server.cli_json(&[
        "client",
        "add",
        "legacy",
        "--redirect-uri",
        "https://a.example/cb",
        "--no-pkce",
        "--json",
    ]);
    assert_eq!(legacy["require_pkce"], false);
    let default = server.cli_json(&[
        "client",
        "add",
        "plain",
        "--redirect-uri",
        "https://a.example/cb",
        "--json",
    ]);
    assert_eq!(default["require_pkce"], Value::Null);
    let bad = assert_failure(&server.cli(&[
        "client",
        "add",
        "x",
        "--grant",
        "client_credentials",
        "--resource",
        "http://api.example.com",
    ]));
    assert!(bad.contains("resources"), "{bad}");
}
