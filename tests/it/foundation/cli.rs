//! The command line with and without a running server: users, clients, upstream links and bad usage.

use super::*;

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
    match server.postgres() {
        None => assert!(
            server.data_path().exists(),
            "the command line creates the data file"
        ),
        Some(_) => assert!(
            !server.data_path().exists(),
            "with PostgreSQL the command line makes no data file"
        ),
    }
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
    // With PostgreSQL the command line works on the database itself (tests/it/nodes.rs).
    let mut server = Server::running_on_file();
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
