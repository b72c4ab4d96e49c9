//! A full disk under a running server: writes fail cleanly, nothing acknowledged is lost, `/readyz`
//! answers 503, and once space is freed the store reopens itself and writes resume. Runs on a
//! small tmpfs, so it needs root (as CI has).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Server, eventually, toml_path, usernames};

/// A tmpfs mounted on a temporary directory, unmounted when dropped (even by a failing test).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("latchkey-tmpfs-")
            .tempdir()
            .expect("a mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("cannot run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed ({status}): this test needs root, as CI has"
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.path())
            .status()
            .expect("cannot run mount");
        assert!(status.success(), "remounting the tmpfs failed ({status})");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy, so that a file a dying server still holds cannot keep the mount.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// Fills the file system holding `dir` with a file until a write fails for want of space.
fn fill(dir: &Path) {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("a filler file");
    let chunk = vec![0x5a_u8; 64 * 1024];
    loop {
        match file.write_all(&chunk) {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "the disk is full (ENOSPC): {e}");
                break;
            }
        }
    }
    // Single bytes too, so that not even a partial page is left.
    while file.write_all(&[0]).is_ok() {}
}

/// The status code of `GET /readyz`.
fn ready_status(server: &Server) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", server.port())).expect("the server listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a read timeout");
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        server.port()
    );
    stream.write_all(request.as_bytes()).expect("the request is sent");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("a status line");
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {head:?}"))
}

const ROBOT_SECRET: &str = "robot-secret-0123456789-abcdefghijklmnopqrstu";
const PASSWORD: &str = "correct horse battery staple";

/// A token from the password grant, whose grant is stored through the group-commit writer.
async fn password_grant(server: &Server) -> u16 {
    crate::harness::http()
        .post(format!("{}/oauth/token", server.base_url()))
        .basic_auth("robot", Some(ROBOT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "owner"),
            ("password", PASSWORD),
            ("scope", "openid"),
        ])
        .send()
        .await
        .expect("the token endpoint answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn after_a_full_disk_is_freed_the_store_reopens_and_writes_resume_with_nothing_acknowledged_lost() {
    let disk = Tmpfs::mount("3M");
    let data = disk.path().join("data").join("identity.redb");
    let mut server = Server::with_config(|port| {
        format!(
            "issuer = \"http://127.0.0.1:{port}\"\nlisten = \"127.0.0.1:{port}\"\ndata = {}\n\n[[client]]\nclient_id = \"robot\"\ngrant_types = [\"password\"]\nscopes = [\"openid\"]\nsecret_digest = \"{}\"\n",
            toml_path(&data),
            latchkey::service::clients::digest_text(ROBOT_SECRET)
        )
    });
    server.on_file();
    server.start();
    let owner = server.cli_stdin(
        &["user", "add", "owner", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        owner.status.success(),
        "{}",
        String::from_utf8_lossy(&owner.stderr)
    );
    assert_eq!(password_grant(&server).await, 200);
    let mut acknowledged = vec!["owner".to_owned()];
    for i in 0..5 {
        let name = format!("before{i}");
        let added = server.cli(&["user", "add", &name, "--no-password"]);
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        acknowledged.push(name);
    }

    fill(disk.path());
    // Until the file system is full for redb too (it may have free pages of its own), users are
    // added; the first refusal shows that the disk is full.
    let mut refused = false;
    for i in 0..500 {
        let name = format!("full{i}");
        let added = server.cli(&["user", "add", &name, "--no-password"]);
        if added.status.success() {
            acknowledged.push(name);
        } else {
            refused = true;
            break;
        }
    }
    assert!(refused, "a write on a full disk fails");
    assert_eq!(
        ready_status(&server),
        503,
        "/readyz says the store cannot take writes"
    );
    let again = server.cli(&["user", "add", "still-full", "--no-password"]);
    assert!(
        !again.status.success(),
        "writes keep failing while the disk is full"
    );
    assert_ne!(
        password_grant(&server).await,
        200,
        "a token whose grant cannot be stored is not issued"
    );

    disk.resize("64M");
    assert!(
        eventually(Duration::from_secs(30), || server
            .cli(&["user", "add", "after", "--no-password"])
            .status
            .success()),
        "writes resume once space is free: {}",
        server.stderr_text()
    );
    acknowledged.push("after".into());
    assert_eq!(ready_status(&server), 200);
    assert_eq!(
        password_grant(&server).await,
        200,
        "the group-commit writer stores grants again"
    );
    let names = usernames(&server.cli_json(&["user", "list", "--json"]));
    let missing: Vec<&String> = acknowledged.iter().filter(|n| !names.contains(*n)).collect();
    assert!(missing.is_empty(), "acknowledged users lost: {missing:?}");

    // And durably: after a restart every acknowledged user is still there.
    server.restart();
    let names = usernames(&server.cli_json(&["user", "list", "--json"]));
    let missing: Vec<&String> = acknowledged.iter().filter(|n| !names.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged users lost after a restart: {missing:?}"
    );
}
