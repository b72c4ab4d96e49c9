//! Names the commit the binary is built from, for `latchkey_build_info`: `LATCHKEY_COMMIT` when
//! it is set, else what `git rev-parse` says of the checkout, else `unknown` (a source tarball).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LATCHKEY_COMMIT");
    let commit = std::env::var("LATCHKEY_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=LATCHKEY_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    let git = Path::new(".git");
    // A path that does not exist would make cargo run this script on every build.
    for watched in ["HEAD", "packed-refs"] {
        if git.join(watched).exists() {
            println!("cargo:rerun-if-changed=.git/{watched}");
        }
    }
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    if let Some(reference) = head.trim().strip_prefix("ref: ")
        && git.join(reference).exists()
    {
        println!("cargo:rerun-if-changed=.git/{reference}");
    }
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!commit.is_empty() && commit.bytes().all(|b| b.is_ascii_hexdigit())).then_some(commit)
}
