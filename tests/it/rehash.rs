//! `[password_policy] argon2` against a real server: a password hashed at an old cost is hashed
//! again at the configured one by the next successful sign-in, and never by a failed one.

use latchkey::crypto::password::{self, Argon2Cost};
use reqwest::StatusCode;

use crate::harness::{Server, assert_success, default_config, http};

const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "legacy-client-secret-0123456789-abcdefghij";

/// The server's configuration: a client allowed the password grant, and `argon2` (TOML) under
/// `[password_policy]`, if any.
fn config(port: u16, argon2: Option<&str>) -> String {
    let policy = argon2.map_or(String::new(), |a| format!("\n[password_policy]\nargon2 = {a}\n"));
    format!(
        "{}\n[[client]]\nclient_id = \"legacy\"\ngrant_types = [\"password\"]\nscopes = [\"profile\"]\nsecret_digest = \"{}\"\n{policy}",
        default_config(port),
        latchkey::service::clients::digest_text(SECRET),
    )
}

/// Signs in as alice through the password grant; the answer's status.
async fn sign_in(server: &Server, password: &str) -> StatusCode {
    http()
        .post(format!("{}/oauth/token", server.base_url()))
        .basic_auth("legacy", Some(SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", password),
            ("scope", "profile"),
        ])
        .send()
        .await
        .expect("POST /oauth/token")
        .status()
}

/// Alice's stored hash and the `password.rehash` audit entries, read from the data file of the
/// stopped server.
fn stored(server: &mut Server) -> (String, Vec<latchkey::store::AuditRecord>) {
    assert!(server.terminate().success());
    let store = server.open_store();
    let user = store
        .read(|tx| tx.user_by_username_key("alice"))
        .expect("a read")
        .expect("alice exists");
    let audit = store
        .read(|tx| tx.audit_entries(None, 1000))
        .expect("the audit feed");
    let rehashes = audit
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| r.action == "password.rehash")
        .collect();
    (user.password_hash.expect("alice has a password"), rehashes)
}

#[tokio::test]
async fn a_hash_made_at_an_old_cost_is_replaced_at_the_next_successful_sign_in_only() {
    let old = "{ m = 8192, t = 1, p = 1 }";
    let mut server = Server::with_config(|port| config(port, Some(old)));
    server.start();
    assert_success(&server.cli_stdin(
        &["user", "add", "alice", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
    let (first, _) = stored(&mut server);
    let cheap = Argon2Cost { m: 8192, t: 1, p: 1 };
    assert!(first.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{first}");

    // The operator raises the cost back to the default.
    let port = server.port();
    std::fs::write(server.config_path(), config(port, None)).expect("the new configuration");
    server.start();
    assert_eq!(
        sign_in(&server, "not the password at all").await,
        StatusCode::BAD_REQUEST
    );
    let (after_failure, rehashes) = stored(&mut server);
    assert_eq!(after_failure, first, "a failed sign-in re-hashes nothing");
    assert!(rehashes.is_empty(), "{rehashes:?}");

    server.start();
    assert_eq!(sign_in(&server, PASSWORD).await, StatusCode::OK);
    let (after_success, rehashes) = stored(&mut server);
    assert!(
        after_success.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{after_success}"
    );
    assert!(!password::needs_rehash(&after_success, Argon2Cost::DEFAULT));
    assert!(password::needs_rehash(&first, Argon2Cost::DEFAULT) && !password::needs_rehash(&first, cheap));
    assert_eq!(rehashes.len(), 1, "{rehashes:?}");
    let entry = &rehashes[0];
    assert_eq!(entry.actor, "system");
    assert!(entry.success);
    assert!(
        !format!("{entry:?}").contains('$'),
        "no hash in the audit feed: {entry:?}"
    );

    // The new hash is the same password, and nothing else; a sign-in at the configured cost
    // writes nothing more.
    server.start();
    assert_eq!(sign_in(&server, PASSWORD).await, StatusCode::OK);
    assert_eq!(
        sign_in(&server, "correct horse battery stapl").await,
        StatusCode::BAD_REQUEST
    );
    let (last, rehashes) = stored(&mut server);
    assert_eq!(last, after_success);
    assert_eq!(rehashes.len(), 1, "{rehashes:?}");
    let log = server.stderr_text();
    assert!(!log.contains("$argon2"), "no hash in the log:\n{log}");
}
