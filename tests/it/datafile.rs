//! The data file as the operating system sees it: private modes whatever the umask, a refusal
//! to serve a file others can read, and a command line that never makes a data file nobody
//! configured.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{Server, assert_failure, assert_success, bare_command, parse_json, run, stdout};

const PASSWORD: &str = "correct horse battery staple";

/// `cmd`, run by a shell that first sets the umask to 000, so that nothing is private by accident.
fn under_umask_000(cmd: Command) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    sh
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn the_data_directory_data_file_and_backups_are_private_even_under_umask_000() {
    let mut server = Server::new();
    server.on_file();
    let add = server
        .cli_handle()
        .command(&["user", "add", "admin", "--group", "admins", "--password-stdin"]);
    assert_success(&run(under_umask_000(add), Some(&format!("{PASSWORD}\n"))));
    let data = server.data_path();
    let dir = data.parent().expect("the data file has a directory");
    assert_eq!(mode(dir), 0o700, "the data directory");
    assert_eq!(mode(&data), 0o600, "the data file");

    let backup = server.dir().join("backup.redb");
    let copy = server
        .cli_handle()
        .command(&["backup", backup.to_str().expect("UTF-8 path"), "--json"]);
    assert_success(&run(under_umask_000(copy), None));
    assert_eq!(mode(&backup), 0o600, "the backup");
}

#[test]
fn serve_refuses_a_data_file_or_directory_others_can_read_unless_told_to_warn() {
    let mut server = Server::new();
    server.on_file();
    assert_success(&server.cli_stdin(
        &["user", "add", "admin", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    let data = server.data_path();
    let dir = data.parent().expect("the data file has a directory").to_owned();

    chmod(&data, 0o644);
    for command in ["serve", "check-config"] {
        let message = assert_failure(&server.cli(&[command]));
        assert!(
            message.contains(&data.display().to_string()) && message.contains("0644"),
            "`{command}` names the readable data file and its mode: {message}"
        );
    }
    assert!(
        assert_failure(&server.cli(&["serve"])).contains("--allow-readable-data"),
        "the refusal says how to start anyway"
    );
    chmod(&data, 0o600);
    chmod(&dir, 0o755);
    let message = assert_failure(&server.cli(&["serve"]));
    assert!(
        message.contains(&dir.display().to_string()) && message.contains("0755"),
        "a readable data directory is refused too: {message}"
    );
    assert!(!server.socket_path().exists(), "a refused start opens nothing");

    server.env("LATCHKEY_ALLOW_READABLE_DATA", "true");
    server.start();
    assert!(
        server.stderr_text().contains("WARNING") && server.stderr_text().contains(&dir.display().to_string()),
        "the explicit flag starts the server with a loud warning: {}",
        server.stderr_text()
    );
}

#[test]
fn a_command_run_where_no_configuration_is_found_makes_no_data_file_and_says_where_it_looked() {
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let mut add = bare_command(elsewhere.path());
    add.args([
        "client",
        "add",
        "app",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
        "--json",
    ]);
    let message = assert_failure(&run(add, None));
    let looked = elsewhere.path().join("data").join("identity.redb");
    assert!(
        message.contains(&looked.display().to_string())
            && message.contains("--config")
            && message.contains("LATCHKEY_DATA"),
        "the error names the file it looked for and how to point at the right one: {message}"
    );
    assert!(
        !elsewhere.path().join("data").exists(),
        "no data file is made where nobody configured one"
    );

    // Pointed at a configuration from elsewhere, the command uses that configuration's file
    // (the first-administrator flow: `user add` before the first `serve`) and names it.
    let server = Server::new();
    let mut add = bare_command(elsewhere.path());
    add.arg("--config").arg(server.config_path()).args([
        "user",
        "add",
        "admin",
        "--group",
        "admins",
        "--password-stdin",
        "--json",
    ]);
    let added = run(add, Some(&format!("{PASSWORD}\n")));
    let added = parse_json(&added);
    assert_eq!(
        added["data_file"],
        Value::from(server.data_path().display().to_string()),
        "{added}"
    );
    assert!(server.data_path().exists());
    assert!(!elsewhere.path().join("data").exists());

    // LATCHKEY_DATA names a file explicitly, so it may be made.
    let named = elsewhere.path().join("named").join("identity.redb");
    let mut list = bare_command(elsewhere.path());
    list.env("LATCHKEY_DATA", &named).args(["user", "list"]);
    let listed = run(list, None);
    assert_success(&listed);
    assert!(named.exists(), "{}", stdout(&listed));
    assert!(
        String::from_utf8_lossy(&listed.stderr).contains(&named.display().to_string()),
        "a command without --json names its data file on standard error"
    );
}

#[test]
fn a_configuration_without_a_data_key_keeps_its_data_beside_it_wherever_the_command_runs() {
    let server = Server::with_config(|port| {
        format!("issuer = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\n")
    });
    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let mut add = bare_command(elsewhere.path());
    add.arg("--config").arg(server.config_path()).args([
        "user",
        "add",
        "admin",
        "--password-stdin",
        "--json",
    ]);
    let added = parse_json(&run(add, Some(&format!("{PASSWORD}\n"))));
    assert_eq!(
        added["data_file"],
        Value::from(server.data_path().display().to_string())
    );
    assert!(!elsewhere.path().join("data").exists());
}
