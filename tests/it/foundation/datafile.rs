//! The data file's durability: restart, schema version, exclusive use, backup under load and kill -9.

use super::*;

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

    let mut server = Server::new();
    server.on_file();
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
    let mut first = Server::running_on_file();
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
    // A backup is a redb file, whichever engine the server ran on: the restored server serves it.
    restored.on_file();
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
