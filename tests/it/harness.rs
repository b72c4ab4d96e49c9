//! Shared helpers for the integration tests: a Latchkey instance in its own temporary directory on
//! its own loopback port, the command line pointed at it, and small checks on command output.
//!
//! Every child process gets a scrubbed environment (no `LATCHKEY_*` from the machine running the
//! tests), runs in the instance's directory, and is waited for with a bound, so a hung child fails
//! its test instead of hanging the run.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The `latchkey` executable Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

/// How long a started server may take to answer `GET /readyz` with 200.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// How long one command-line invocation may run before its test fails.
const COMMAND_WITHIN: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM.
const STOP_WITHIN: Duration = Duration::from_secs(20);
/// How often bounded waits look again.
const POLL: Duration = Duration::from_millis(10);

/// Variables that would make a child depend on the environment of whoever runs the tests.
const AMBIENT_VARS: [&str; 8] = [
    "LATCHKEY_CONFIG",
    "LATCHKEY_LISTEN",
    "LATCHKEY_ISSUER",
    "LATCHKEY_DATA",
    "LATCHKEY_LOG_FORMAT",
    "LATCHKEY_LOG",
    "LATCHKEY_STORE_URL",
    "LATCHKEY_STORE_SCHEMA",
];

/// The PostgreSQL database the tests may use, from `LATCHKEY_TEST_POSTGRES` (`.ci/run` starts a
/// throwaway cluster and sets it). The tests of several nodes on one database need it and fail,
/// saying so, without it.
pub fn postgres_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!("LATCHKEY_TEST_POSTGRES is not set: run the tests through `bash .ci/run`, or start PostgreSQL with `bash .ci/postgres start DIR PORT` and export the URL it prints")
    })
}

/// The harness's one switch: with `LATCHKEY_TEST_STORE=postgres`, every instance (its server and
/// its commands) keeps its store in a PostgreSQL schema of its own instead of a redb file, so the
/// whole suite runs again against PostgreSQL (`.ci/test` does that second run).
pub fn on_postgres() -> bool {
    std::env::var("LATCHKEY_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// Where one instance keeps its store in PostgreSQL: the database and a schema of its own.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub url: String,
    pub schema: String,
}

impl PgStore {
    /// A new schema name for the instance in `dir` (its temporary directory's random name, with
    /// this process's id, so that reruns against a kept cluster start empty).
    pub fn for_dir(dir: &Path) -> PgStore {
        let name: String = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        PgStore {
            url: postgres_url(),
            schema: format!("it_{}_{name}", std::process::id()),
        }
    }

    /// Opens the store (for tests that read it directly).
    pub fn open(&self) -> latchkey::store::Store {
        latchkey::store::Store::connect(&latchkey::store::PostgresOptions {
            url: self.url.clone(),
            schema: self.schema.clone(),
            pool_size: 4,
            tls_ca_file: None,
        })
        .expect("the PostgreSQL store opens")
    }
}

/// A loopback port that was free a moment ago: bound to port 0, read, released.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .port()
}

/// The configuration a [`Server`] gets unless a test writes its own: issuer and listen address on
/// `port`, and the data file at `data/identity.redb` beside the configuration file.
pub fn default_config(port: u16) -> String {
    format!(
        "issuer = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndata = \"data/identity.redb\"\n"
    )
}

/// An `[outbound]` table that lets the server call loopback addresses: for configurations whose
/// back-channel receivers or upstream providers are test servers on this machine.
pub const ALLOW_LOOPBACK: &str = "\n[outbound]\nallow_networks = [\"127.0.0.0/8\", \"::1/128\"]\n";

/// A path written as a TOML basic string.
pub fn toml_path(path: &Path) -> String {
    let text = path.to_str().expect("test paths are UTF-8");
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A `latchkey` command with a scrubbed environment, run in `dir`.
pub fn bare_command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for var in AMBIENT_VARS {
        cmd.env_remove(var);
    }
    cmd.env("LATCHKEY_LOG", "info").env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd` to completion with `stdin` as its standard input (or none), capturing its output.
/// Panics if it runs longer than a minute.
pub fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    let describe = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {describe}: {e}"));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A command may exit without reading its input; the broken pipe is then its answer.
        let _ = pipe.write_all(text.as_bytes());
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let Some(status) = wait_bounded(&mut child, COMMAND_WITHIN) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{describe} did not finish within {COMMAND_WITHIN:?}");
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Waits for `child` to exit; `None` if it is still running after `limit`.
fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => panic!("cannot wait for a child process: {e}"),
        }
    }
}

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that a command succeeded, showing its standard error if not.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "the command failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Asserts that a command failed with an `error:` message on standard error, and returns that.
#[track_caller]
pub fn assert_failure(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "the command should have failed\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    let text = stderr(output);
    assert!(
        text.contains("error:"),
        "a failure should explain itself on standard error; it printed:\n{text}"
    );
    text
}

/// Asserts that a command succeeded and parses its standard output as JSON.
#[track_caller]
pub fn parse_json(output: &Output) -> Value {
    assert_success(output);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("standard output is not JSON ({e}):\n{}", stdout(output)))
}

/// The usernames in a `user list --json` page.
#[track_caller]
pub fn usernames(page: &Value) -> BTreeSet<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a user page has an `items` array: {page}"))
        .iter()
        .map(|u| {
            u["username"]
                .as_str()
                .expect("every user has a username")
                .to_owned()
        })
        .collect()
}

/// Every object key anywhere in `value`.
pub fn all_keys(value: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                keys.extend(map.keys().cloned());
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    keys
}

/// An HTTP client that follows no redirects and keeps no cookies.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

/// The command line pointed at one instance's configuration, with that instance's extra
/// environment. Cheap to clone into a background thread.
#[derive(Debug, Clone)]
pub struct Cli {
    dir: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    /// The PostgreSQL schema of the instance's store, when it has one.
    postgres: Option<PgStore>,
}

impl Cli {
    /// `latchkey --config CONFIG ARGS...`, not yet run; add to it before [`run`]ning it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = bare_command(&self.dir);
        cmd.arg("--config").arg(&self.config).args(args);
        if let Some(pg) = &self.postgres {
            cmd.env("LATCHKEY_STORE_URL", &pg.url)
                .env("LATCHKEY_STORE_SCHEMA", &pg.schema);
        }
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs `latchkey --config CONFIG ARGS...` with no standard input.
    pub fn run(&self, args: &[&str]) -> Output {
        run(self.command(args), None)
    }

    /// Runs `latchkey --config CONFIG ARGS...` with `stdin` as its standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        run(self.command(args), Some(stdin))
    }
}

/// One Latchkey instance: a temporary directory holding its configuration, data and logs, a
/// loopback port, and (once started) a `latchkey serve` process, killed when this is dropped.
pub struct Server {
    dir: TempDir,
    port: u16,
    cli: Cli,
    child: Option<Child>,
}

impl Server {
    /// An instance with [`default_config`], not started.
    pub fn new() -> Server {
        Server::with_config(default_config)
    }

    /// An instance whose configuration `make` writes for the chosen port, not started.
    pub fn with_config(make: impl FnOnce(u16) -> String) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("latchkey-it-")
            .tempdir()
            .expect("a temporary directory");
        let port = free_port();
        let config = dir.path().join("identity.toml");
        std::fs::write(&config, make(port)).expect("cannot write the configuration");
        let cli = Cli {
            dir: dir.path().to_owned(),
            config,
            env: Vec::new(),
            postgres: on_postgres().then(|| PgStore::for_dir(dir.path())),
        };
        Server {
            dir,
            port,
            cli,
            child: None,
        }
    }

    /// An instance with [`default_config`], started and ready.
    pub fn running() -> Server {
        let mut server = Server::new();
        server.start();
        server
    }

    /// An instance with [`default_config`] whose store is its redb file whatever engine the
    /// suite runs on (see [`Server::on_file`]), started and ready.
    pub fn running_on_file() -> Server {
        let mut server = Server::new();
        server.on_file();
        server.start();
        server
    }

    /// Keeps this instance's store in its redb file even when the suite runs on PostgreSQL: for
    /// the tests of the data file itself (its modes, a full disk, a crash mid-write, backups
    /// of the file).
    pub fn on_file(&mut self) -> &mut Server {
        self.cli.postgres = None;
        self
    }

    /// Keeps this instance's store in `pg` (a schema another instance may share).
    pub fn on_postgres(&mut self, pg: PgStore) -> &mut Server {
        self.cli.postgres = Some(pg);
        self
    }

    /// Where this instance's store is in PostgreSQL, if it is there.
    pub fn postgres(&self) -> Option<&PgStore> {
        self.cli.postgres.as_ref()
    }

    /// Opens this instance's store directly, in whichever engine it is (for tests that look at
    /// the stored records; with redb, only while the server is stopped).
    pub fn open_store(&self) -> latchkey::store::Store {
        match &self.cli.postgres {
            Some(pg) => pg.open(),
            None => latchkey::store::Store::open(&self.data_path()).expect("the data file opens"),
        }
    }

    /// Sets an environment variable for the server and for every command run through it.
    pub fn env(&mut self, key: &str, value: impl Into<String>) -> &mut Server {
        self.cli.env.push((key.to_owned(), value.into()));
        self
    }

    /// Starts `latchkey serve` and waits until `GET /readyz` answers 200. Panics, showing the
    /// server's standard error, if it exits first or is not ready within 20 seconds.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let log = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.path().join(name))
                .expect("cannot open a log file")
        };
        let mut cmd = self.cli.command(&["serve"]);
        cmd.stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"));
        let child = cmd.spawn().expect("cannot start latchkey serve");
        self.child = Some(child);
        let ready = eventually(READY_WITHIN, || {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "latchkey serve exited with {status} before it was ready; standard error:\n{}",
                    self.stderr_text()
                );
            }
            self.is_ready()
        });
        assert!(
            ready,
            "latchkey serve was not ready within {READY_WITHIN:?}; standard error:\n{}",
            self.stderr_text()
        );
    }

    /// Starts `latchkey serve` like [`Server::start`], but waits until `ready` holds instead of
    /// asking `GET /readyz` over plain HTTP: for a server that speaks only TLS, say. Panics,
    /// showing the server's standard error, if it exits first or `ready` does not hold within
    /// 20 seconds.
    pub fn start_until(&mut self, mut ready: impl FnMut(&Server) -> bool) {
        assert!(self.child.is_none(), "the server is already running");
        let log = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.path().join(name))
                .expect("cannot open a log file")
        };
        let mut cmd = self.cli.command(&["serve"]);
        cmd.stdin(Stdio::null())
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"));
        self.child = Some(cmd.spawn().expect("cannot start latchkey serve"));
        let started = eventually(READY_WITHIN, || {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "latchkey serve exited with {status} before it was ready; standard error:\n{}",
                    self.stderr_text()
                );
            }
            ready(self)
        });
        assert!(
            started,
            "latchkey serve was not ready within {READY_WITHIN:?}; standard error:\n{}",
            self.stderr_text()
        );
    }

    /// Whether something on this instance's port answers `GET /readyz` with 200.
    pub fn is_ready(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        let mut head = [0u8; 12];
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_exact(&mut head).is_ok()
            && &head == b"HTTP/1.1 200"
    }

    /// Whether the server process is still alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the server with SIGKILL, giving it no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("cannot kill the server");
            child.wait().expect("cannot reap the server");
        }
    }

    /// Sends SIGTERM and waits (at most 20 seconds) for the server to exit; returns its status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("the server is not running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("cannot run kill");
        assert!(sent.success(), "kill -TERM failed");
        match wait_bounded(&mut child, STOP_WITHIN) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "latchkey serve did not stop within {STOP_WITHIN:?} of SIGTERM; standard error:\n{}",
                    self.stderr_text()
                );
            }
        }
    }

    /// Stops the server with SIGTERM (if it runs) and starts it again on the same port and data.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            let status = self.terminate();
            assert!(status.success(), "the server stopped with {status}");
        }
        self.start();
    }

    /// Runs a command against this instance (through its admin socket while the server runs).
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli.run(args)
    }

    /// Runs a command against this instance with `stdin` as its standard input.
    pub fn cli_stdin(&self, args: &[&str], stdin: &str) -> Output {
        self.cli.run_stdin(args, stdin)
    }

    /// Runs a command that must succeed and print JSON, and returns that JSON.
    #[track_caller]
    pub fn cli_json(&self, args: &[&str]) -> Value {
        parse_json(&self.cli(args))
    }

    /// The command line for this instance, to hand to another thread.
    pub fn cli_handle(&self) -> Cli {
        self.cli.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The instance's directory, which holds the configuration and the logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> &Path {
        &self.cli.config
    }

    /// The data file [`default_config`] names.
    pub fn data_path(&self) -> PathBuf {
        self.dir.path().join("data").join("identity.redb")
    }

    /// The admin socket beside [`Server::data_path`].
    pub fn socket_path(&self) -> PathBuf {
        socket_path(&self.data_path())
    }

    /// Everything every run of this server wrote to standard error.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The last first-start setup link the server printed, if any.
    pub fn setup_link(&self) -> Option<String> {
        self.stderr_text()
            .lines()
            .rev()
            .find(|line| line.contains("/setup?token="))
            .map(|line| line.trim().to_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- standard error of latchkey serve in {} ---\n{}",
                self.dir.path().display(),
                self.stderr_text()
            );
        }
    }
}

/// The admin socket of a data file: its path with `.sock` appended.
pub fn socket_path(data: &Path) -> PathBuf {
    let mut path = data.as_os_str().to_owned();
    path.push(".sock");
    PathBuf::from(path)
}
