//! Configuration errors, the JWKS across a rotation, environment overrides, version and help.

use super::*;

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
