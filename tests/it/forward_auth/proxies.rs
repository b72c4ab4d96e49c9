//! The proxies in front of the echo app: nginx and Caddy as real processes, each run with the
//! documented configuration from `docs/forward-auth/` (placeholders filled in, nothing else
//! changed but what the test's own process needs: paths inside a temporary directory, loopback
//! only), and the Traefik stand-in. Each listens on a free loopback port with the test
//! certificate and is stopped when dropped.
//!
//! The binaries come from `LATCHKEY_TEST_NGINX` / `LATCHKEY_TEST_CADDY` (which `.ci/run` exports)
//! or `PATH`; a missing one fails the test with what to install, since CI installs both.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::fake_traefik::FakeTraefik;
use super::{DOMAIN, Rig, docs_dir};
use crate::harness::{eventually, free_port};

/// How long a proxy may take to listen.
const LISTEN_WITHIN: Duration = Duration::from_secs(20);

/// Which proxy a test goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Caddy,
    Traefik,
}

/// A running proxy.
pub struct Proxy {
    pub kind: Kind,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
    _fake: Option<FakeTraefik>,
}

impl Proxy {
    /// Starts `kind` in front of `rig`'s echo app, asking `rig`'s Latchkey.
    pub fn start(kind: Kind, rig: &Rig) -> Proxy {
        let dir = tempfile::Builder::new()
            .prefix("latchkey-fa-proxy-")
            .tempdir()
            .expect("a temporary directory");
        let port = free_port();
        let (child, fake) = match kind {
            Kind::Nginx => (Some(start_nginx(dir.path(), port, rig)), None),
            Kind::Caddy => (Some(start_caddy(dir.path(), port, rig)), None),
            Kind::Traefik => (None, Some(FakeTraefik::start(port, rig))),
        };
        let mut proxy = Proxy {
            kind,
            port,
            dir,
            child,
            _fake: fake,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listening = eventually(LISTEN_WITHIN, || {
            if let Some(status) = proxy.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "{kind:?} exited with {status} before it listened:\n{}",
                    proxy.log()
                );
            }
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        assert!(
            listening,
            "{kind:?} did not listen within {LISTEN_WITHIN:?}:\n{}",
            proxy.log()
        );
        proxy
    }

    /// `https://HOST:PORT{path}` through this proxy, for a host of `example.test`.
    pub fn url(&self, host: &str, path: &str) -> String {
        assert!(host.ends_with(DOMAIN), "{host} is not under {DOMAIN}");
        format!("https://{host}:{}{path}", self.port)
    }

    /// What the proxy wrote to its logs (for failure messages).
    pub fn log(&self) -> String {
        ["error.log", "stderr.log"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(self.dir.path().join(name)).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The process group: nginx's master and its workers.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- {:?} logs ---\n{}", self.kind, self.log());
        }
    }
}

/// The documented configuration `file` with each placeholder `<<NAME>>` replaced by its value.
/// Panics if a value is given for a placeholder the file lacks, or if one is left.
pub fn documented(file: &str, values: &[(&str, String)]) -> String {
    let path = docs_dir().join(file);
    let mut text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    for (name, value) in values {
        let placeholder = format!("<<{name}>>");
        assert!(text.contains(&placeholder), "{file} has no {placeholder}");
        text = text.replace(&placeholder, value);
    }
    let left: Vec<&str> = text.lines().filter(|l| l.contains("<<")).collect();
    assert!(left.is_empty(), "placeholders left in {file}: {left:?}");
    text
}

/// The executable for `name`: `$env_var` if set, else `name` on `PATH` (or in `fallback`).
/// Panics with an installation hint if there is none.
fn binary(name: &str, env_var: &str, fallback: &str) -> PathBuf {
    let candidates = std::env::var_os(env_var)
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("PATH").into_iter().flat_map(|p| {
            std::env::split_paths(&p)
                .map(|dir| dir.join(name))
                .collect::<Vec<_>>()
        }))
        .chain(std::iter::once(PathBuf::from(fallback)));
    for candidate in candidates {
        if candidate
            .metadata()
            .is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
        {
            return candidate;
        }
    }
    panic!(
        "the forward-auth tests need {name}, which is missing: install Debian's package with \
         `apt-get install -y {name}` (as .ci/run does), or name the executable in {env_var}"
    );
}

/// Standard output and error of a proxy go to `stderr.log` in its directory.
fn logs(dir: &Path) -> (File, File) {
    let file = File::create(dir.join("stderr.log")).expect("cannot create a log file");
    (file.try_clone().expect("a second handle"), file)
}

fn display(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// nginx with `docs/forward-auth/nginx.conf` included in an `http` block whose pid file, logs
/// and temporary paths are inside `dir`.
fn start_nginx(dir: &Path, port: u16, rig: &Rig) -> Child {
    let nginx = binary("nginx", "LATCHKEY_TEST_NGINX", "/usr/sbin/nginx");
    let site = documented(
        "nginx.conf",
        &[
            ("LISTEN", format!("127.0.0.1:{port}")),
            ("CERTIFICATE", display(&rig.pki.cert_file())),
            ("CERTIFICATE_KEY", display(&rig.pki.key_file())),
            ("APP_URL", rig.upstream.url()),
            ("LATCHKEY_URL", rig.latchkey_url()),
            ("LATCHKEY_NAME", super::AUTH_HOST.to_owned()),
            ("CA_FILE", display(&rig.pki.ca_file())),
        ],
    );
    std::fs::write(dir.join("site.conf"), site).expect("cannot write site.conf");
    let d = display(dir);
    // nginx started by root runs its workers as `nobody`, which could not read this directory.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let user = if root { "user root;\n" } else { "" };
    let main = format!(
        "{user}worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\n    include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).expect("cannot write nginx.conf");
    let (out, err) = logs(dir);
    Command::new(&nginx)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .args(["-g", "daemon off;"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", nginx.display()))
}

/// Caddy with `docs/forward-auth/Caddyfile` after a global block that turns off the admin
/// endpoint and automatic HTTPS (no certificates fetched, no port 80), with its data and
/// configuration directories inside `dir`. The site also gets `bind 127.0.0.1`.
fn start_caddy(dir: &Path, port: u16, rig: &Rig) -> Child {
    let caddy = binary("caddy", "LATCHKEY_TEST_CADDY", "/usr/bin/caddy");
    let site_address = format!("https://*.{DOMAIN}:{port}");
    let site = documented(
        "Caddyfile",
        &[
            ("SITES", site_address.clone()),
            ("CERTIFICATE", display(&rig.pki.cert_file())),
            ("CERTIFICATE_KEY", display(&rig.pki.key_file())),
            ("APP_URL", rig.upstream.url()),
            ("LATCHKEY_URL", rig.latchkey_url()),
            ("LATCHKEY_NAME", super::AUTH_HOST.to_owned()),
            ("CA_FILE", display(&rig.pki.ca_file())),
        ],
    );
    let opening = format!("{site_address} {{\n");
    assert!(
        site.contains(&opening),
        "the Caddyfile opens its site block with `<<SITES>> {{`"
    );
    let site = site.replacen(&opening, &format!("{opening}\tbind 127.0.0.1\n"), 1);
    let d = display(dir);
    let global = format!("{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {d}/data\n}}\n\n");
    std::fs::write(dir.join("Caddyfile"), global + &site).expect("cannot write the Caddyfile");
    let (out, err) = logs(dir);
    Command::new(&caddy)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", caddy.display()))
}
