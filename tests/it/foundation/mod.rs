//! Acceptance tests of the foundation: the command line with and without a running server, the
//! data file's durability (restart, kill -9, backup under load, schema version, exclusive use),
//! configuration errors, the JWKS, environment overrides and the first-start setup link.

mod cli;
mod datafile;
mod setup;
mod startup;

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
