//! Unit tests of parsing and validation.

use super::*;
use crate::crypto;
use crate::domain::ClientSecretDigest;

fn parse_ok(text: &str) -> Config {
    parse("test.toml", text, None, &Overrides::default()).unwrap()
}

fn problems(text: &str) -> Vec<Problem> {
    parse("test.toml", text, None, &Overrides::default())
        .unwrap_err()
        .problems
}

#[test]
fn back_channel_and_upstream_urls_on_internal_addresses_need_an_allowed_network() {
    let text = |outbound: &str| {
        format!(
            r#"issuer = "https://id.example"
{outbound}
[[client]]
client_id = "a"
redirect_uris = ["https://a.example/cb"]
public = true
backchannel_logout_uri = "http://127.0.0.1:6379/"

[[client]]
client_id = "b"
redirect_uris = ["https://b.example/cb"]
public = true
backchannel_logout_uri = "https://169.254.169.254/latest"

[[upstream]]
name = "corp"
kind = "oidc"
issuer = "http://127.0.0.1:9000"
client_id = "x"
"#
        )
    };
    let p = problems(&text(""));
    let keys: Vec<(&str, Option<usize>)> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        keys,
        [
            ("client[0].backchannel_logout_uri", Some(7)),
            ("client[1].backchannel_logout_uri", Some(13)),
            ("upstream[0].issuer", Some(18)),
        ],
        "{p:?}"
    );
    assert!(
        p[0].message.contains("loopback") && p[0].message.contains("allow_networks"),
        "{p:?}"
    );
    assert!(p[1].message.contains("link-local"), "{p:?}");
    // Allowing loopback lets the loopback URLs through, and only them.
    let p = problems(&text("[outbound]\nallow_networks = [\"127.0.0.0/8\", \"::1\"]\n"));
    let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["client[1].backchannel_logout_uri"], "{p:?}");
    let p = problems(&text("[outbound]\nallow_networks = [\"localnet\"]\n"));
    assert_eq!(p[0].key, "outbound.allow_networks", "{p:?}");
}

#[test]
fn the_shipped_example_configuration_is_valid() {
    let c = parse_ok(EMBEDDED_DEFAULT);
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.data, PathBuf::from("data/identity.redb"));
    assert!(!c.clients.is_empty());
}

#[test]
fn an_empty_file_gets_the_documented_defaults() {
    let c = parse_ok("");
    assert_eq!(c.issuer, "http://127.0.0.1:8080");
    assert_eq!(c.lifetimes.authorization_code, Duration::seconds(60));
    assert_eq!(c.data, PathBuf::from("data/identity.redb"));
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let p = problems("issuer = \"https://id.example\"\n\n[tokens]\naccess_tokn = \"5m\"\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, Some(4));
    assert_eq!(p[0].key, "access_tokn");
    assert!(p[0].message.contains("unknown field"), "{}", p[0].message);
}

#[test]
fn every_invalid_value_is_reported_with_key_and_line() {
    let text = r#"
issuer = "ftp://x"
listen = "nowhere"
[tokens]
access_token = "10 minutes"
[[client]]
client_id = "bad id"
redirect_uris = ["http://evil.example/cb"]
grant_types = ["implicit"]
"#;
    let p = problems(text);
    let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
    for expected in [
        ("issuer", Some(2)),
        ("listen", Some(3)),
        ("tokens.access_token", Some(5)),
        ("client[0].client_id", Some(7)),
        ("client[0].redirect_uris", Some(8)),
        ("client[0].grant_types", Some(9)),
    ] {
        assert!(keys.contains(&expected), "missing {expected:?} in {keys:?}");
    }
}

#[test]
fn a_conflict_with_a_default_names_the_line_of_the_value_that_was_written() {
    // Found by the config property test: these problems had no line when the other key of
    // the pair was left at its default.
    let p = problems("[tokens]\nid_token = \"5m\"\naccess_token = \"3d\"\n");
    assert_eq!((p[0].key.as_str(), p[0].line), ("keys.retire_after", Some(3)));
    let p = problems("issuer = \"https://id.example\"\n[tokens]\nid_token = \"3d\"\n");
    assert_eq!((p[0].key.as_str(), p[0].line), ("keys.retire_after", Some(3)));
    let p = problems("\n[password_policy]\nmax_length = 5\n");
    assert_eq!(
        (p[0].key.as_str(), p[0].line),
        ("password_policy.min_length", Some(3))
    );
}

#[test]
fn environment_overrides_win_over_the_file() {
    let o = Overrides {
        listen: Some("127.0.0.1:9999".into()),
        issuer: Some("https://id.example.com/".into()),
        data: Some("/tmp/x.redb".into()),
        ..Overrides::default()
    };
    let c = parse("t", "listen = \"127.0.0.1:1\"\nissuer = \"http://a\"\n", None, &o).unwrap();
    assert_eq!(c.listen.port(), 9999);
    assert_eq!(c.issuer, "https://id.example.com");
    assert_eq!(c.data, PathBuf::from("/tmp/x.redb"));
    assert!(c.is_https());
}

#[test]
fn trusted_proxies_are_addresses_or_networks_and_default_to_none() {
    assert!(parse_ok("").trusted_proxies.is_empty());
    assert_eq!(parse_ok("").forwarded_header, ForwardedHeader::XForwardedFor);
    let c = parse_ok(
        "trusted_proxies = [\"127.0.0.1\", \"10.1.2.3/8\", \"::1/128\"]\nforwarded_header = \"Forwarded\"\n",
    );
    let nets: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
    assert_eq!(c.forwarded_header, ForwardedHeader::Forwarded);
    let p =
        problems("trusted_proxies = [\"10.0.0.0/33\", \"proxy.local\"]\nforwarded_header = \"X-Real-IP\"\n");
    let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
    assert_eq!(
        keys,
        [
            ("trusted_proxies", Some(1)),
            ("trusted_proxies", Some(1)),
            ("forwarded_header", Some(2))
        ]
    );
}

#[test]
fn tls_needs_both_files_and_names_the_bad_one() {
    let p = problems("[tls]\ncertificate = \"cert.pem\"\n");
    assert_eq!(p[0].key, "tls.key");
    let p = problems("[tls]\ncertificate = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n");
    assert_eq!(p[0].key, "tls.certificate");
    assert_eq!(p[0].line, Some(2));
    assert!(p[0].message.contains("cannot read"), "{}", p[0].message);
    // Administrative commands do not read the files.
    let c = load_for_admin_text("[tls]\ncertificate = \"/nonexistent/c\"\nkey = \"/nonexistent/k\"\n");
    assert!(c.tls.is_some());
    assert!(c.issuer.starts_with("https://"), "{}", c.issuer);
}

fn load_for_admin_text(text: &str) -> Config {
    parse_with("test.toml", text, None, &Overrides::default(), Clients::Skip).unwrap()
}

#[test]
fn confidential_clients_need_exactly_one_secret_source() {
    let p = problems("[[client]]\nclient_id = \"c\"\ngrant_types = [\"client_credentials\"]\n");
    assert_eq!(p[0].key, "client[0].secret_file");
    let digest = format!("sha256:{}", crypto::b64url(&[7u8; 32]));
    let c = parse_ok(&format!(
        "[[client]]\nclient_id = \"c\"\ngrant_types = [\"client_credentials\"]\nsecret_digest = \"{digest}\"\n"
    ));
    assert_eq!(c.clients[0].secret, Some(ClientSecretDigest([7u8; 32])));
}

#[test]
fn public_clients_cannot_turn_off_pkce_or_use_client_credentials() {
    let p = problems(
        "[[client]]\nclient_id = \"c\"\npublic = true\nrequire_pkce = false\nredirect_uris = [\"http://127.0.0.1/cb\"]\ngrant_types = [\"client_credentials\", \"authorization_code\"]\n",
    );
    let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"client[0].require_pkce"));
    assert!(keys.contains(&"client[0].grant_types"));
}

#[test]
fn audit_entries_are_kept_90_days_unless_audit_retain_says_otherwise() {
    assert_eq!(parse_ok("").audit_retain, Duration::days(90));
    assert_eq!(
        parse_ok("[audit]\nretain = \"12h\"\n").audit_retain,
        Duration::hours(12)
    );
    let p = problems("[audit]\nretain = \"0s\"\n");
    assert_eq!((p[0].key.as_str(), p[0].line), ("audit.retain", Some(2)));
    assert_eq!(
        problems("[audit]\nkeep = \"1d\"\n").len(),
        1,
        "unknown keys are refused"
    );
}

#[test]
fn login_require_second_factor_for_lists_groups_once_each() {
    assert!(parse_ok("").require_second_factor_for.is_empty());
    assert_eq!(
        parse_ok("[login]\nrequire_second_factor_for = [\"admins\", \"ops\"]\n").require_second_factor_for,
        ["admins", "ops"]
    );
    let p = problems("[login]\nrequire_second_factor_for = [\"admins\", \"admins\"]\n");
    assert_eq!(
        (p[0].key.as_str(), p[0].line),
        ("login.require_second_factor_for", Some(2))
    );
    assert_eq!(problems("[login]\nrequire_second_factor_for = [\"\"]\n").len(), 1);
    assert_eq!(
        problems("[login]\nrequire = []\n").len(),
        1,
        "unknown keys are refused"
    );
}

#[test]
fn require_factors_is_1_or_2_and_acr_says_the_same_with_key_and_line() {
    use crate::domain::RequiredFactors;
    let client = "[[client]]\nclient_id = \"c\"\npublic = true\nredirect_uris = [\"http://127.0.0.1/cb\"]\n";
    assert_eq!(parse_ok(client).clients[0].require_factors, RequiredFactors::One);
    let two = parse_ok(&format!("{client}require_factors = 2\n"));
    assert_eq!(two.clients[0].require_factors, RequiredFactors::Two);
    let by_acr = parse_ok(&format!("{client}acr = \"2fa\"\n"));
    assert_eq!(by_acr.clients[0].require_factors, RequiredFactors::Two);
    assert_eq!(
        parse_ok(&format!("{client}acr = \"1fa\"\n")).clients[0].require_factors,
        RequiredFactors::One
    );
    for (extra, key) in [
        ("require_factors = 3\n", "client[0].require_factors"),
        ("require_factors = 0\n", "client[0].require_factors"),
        ("require_factors = -1\n", "client[0].require_factors"),
        ("acr = \"gold\"\n", "client[0].acr"),
        ("require_factors = 2\nacr = \"2fa\"\n", "client[0].acr"),
    ] {
        let p = problems(&format!("{client}{extra}"));
        let line = extra.lines().count() + 4;
        assert_eq!((p[0].key.as_str(), p[0].line), (key, Some(line)), "{extra}");
    }
}

#[test]
fn allowed_groups_launch_url_and_icon_are_read_and_checked_with_key_and_line() {
    let client = "[[client]]\nclient_id = \"c\"\npublic = true\nredirect_uris = [\"http://127.0.0.1/cb\"]\n";
    let plain = parse_ok(client);
    assert!(plain.clients[0].allowed_groups.is_empty());
    assert_eq!(
        (&plain.clients[0].launch_url, &plain.clients[0].icon),
        (&None, &None)
    );
    let full = parse_ok(&format!(
        "{client}allowed_groups = [\"staff\", \"ops\", \"staff\"]\nlaunch_url = \"https://c.example.com/\"\n\
         icon = \"https://c.example.com/icon.svg\"\n"
    ));
    let c = &full.clients[0];
    assert_eq!(c.allowed_groups, ["ops", "staff"]);
    assert_eq!(
        c.launch_url.as_ref().map(|u| u.as_str()),
        Some("https://c.example.com/")
    );
    assert_eq!(
        c.icon.as_ref().map(|i| i.as_str()),
        Some("https://c.example.com/icon.svg")
    );
    let local = parse_ok(&format!(
        "{client}allow_http_localhost = true\nlaunch_url = \"http://localhost:3000/\"\n"
    ));
    assert!(local.clients[0].launch_url.is_some());
    for (extra, key) in [
        ("allowed_groups = [\"a b\"]\n", "client[0].allowed_groups"),
        ("launch_url = \"http://c.example.com/\"\n", "client[0].launch_url"),
        ("launch_url = \"javascript:alert(1)\"\n", "client[0].launch_url"),
        (
            "launch_url = \"http://localhost:3000/\"\n",
            "client[0].launch_url",
        ),
        ("icon = \"data:text/html;base64,PGI+\"\n", "client[0].icon"),
    ] {
        let p = problems(&format!("{client}{extra}"));
        assert_eq!((p[0].key.as_str(), p[0].line), (key, Some(5)), "{extra}");
    }
}

#[test]
fn the_argon2_cost_defaults_to_owasps_recommendation_and_can_be_raised() {
    use crate::crypto::password::Argon2Cost;
    let c = parse_ok("");
    assert_eq!(c.password_policy.argon2, Argon2Cost { m: 19456, t: 2, p: 1 });
    let c = parse_ok("[password_policy]\nargon2 = { m = 65536, t = 3, p = 4 }\n");
    assert_eq!(c.password_policy.argon2, Argon2Cost { m: 65536, t: 3, p: 4 });
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // A key left out keeps its default.
    let c = parse_ok("[password_policy]\nargon2 = { t = 3 }\n");
    assert_eq!(c.password_policy.argon2, Argon2Cost { m: 19456, t: 3, p: 1 });
}

#[test]
fn each_bad_argon2_parameter_is_a_problem_with_its_key_and_line() {
    let keys = |text: &str| -> Vec<(String, Option<usize>)> {
        problems(text).into_iter().map(|p| (p.key, p.line)).collect()
    };
    let table =
        |inner: &str| format!("issuer = \"https://id.example\"\n[password_policy]\nargon2 = {{ {inner} }}\n");
    let one = |key: &str| vec![(format!("password_policy.argon2.{key}"), Some(3))];
    // Above the verifier's bound (64 MiB), which is also the most a stored hash may ask for.
    assert_eq!(keys(&table("m = 65537")), one("m"));
    assert_eq!(keys(&table("m = 0")), one("m"));
    assert_eq!(keys(&table("m = -5")), one("m"));
    assert_eq!(keys(&table("t = 0")), one("t"));
    assert_eq!(keys(&table("p = 0")), one("p"));
    assert_eq!(keys(&table("p = 17")), one("p"));
    // argon2's own limit: at least 8 KiB per lane.
    let p = problems(&table("m = 64, t = 1, p = 16"));
    assert_eq!(
        (p[0].key.as_str(), p[0].line),
        ("password_policy.argon2.m", Some(3)),
        "{p:?}"
    );
    assert!(p[0].message.contains("8 KiB per lane"), "{p:?}");
    // Every problem at once, each with its own key.
    let all = keys(&table("m = 99999999, t = 0, p = 99"));
    let want: Vec<(String, Option<usize>)> = ["m", "t", "p"]
        .iter()
        .map(|k| (format!("password_policy.argon2.{k}"), Some(3)))
        .collect();
    assert_eq!(all, want);
    // Unknown keys are refused, and so is a value that is not a number.
    let p = problems(&table("m = 19456, memory = 1"));
    assert!(p[0].message.contains("memory"), "{p:?}");
    assert_eq!(p[0].line, Some(3), "{p:?}");
    let p = problems(&table("m = \"19 MiB\""));
    assert_eq!(p[0].line, Some(3), "{p:?}");
}

#[test]
fn an_argon2_cost_under_owasps_minimum_is_a_warning_not_an_error() {
    let text = "issuer = \"https://id.example\"\n[password_policy]\nmin_length = 12\nargon2 = { t = 1, m = 8192, p = 1 }\n";
    let c = parse_ok(text);
    let w: Vec<(&str, Option<usize>)> = c.warnings.iter().map(|w| (w.key.as_str(), w.line)).collect();
    assert_eq!(w, [("password_policy.argon2.m", Some(4))], "{:?}", c.warnings);
    assert!(
        c.warnings[0].message.contains("OWASP") && c.warnings[0].message.contains("m=47104,t=1"),
        "{:?}",
        c.warnings
    );
    // Each line of OWASP's table is enough on its own, and one KiB less is not.
    for (m, t) in [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)] {
        let c = parse_ok(&format!("[password_policy]\nargon2 = {{ m = {m}, t = {t} }}\n"));
        assert!(c.warnings.is_empty(), "m={m},t={t}: {:?}", c.warnings);
        let c = parse_ok(&format!(
            "[password_policy]\nargon2 = {{ m = {}, t = {t} }}\n",
            m - 1
        ));
        assert_eq!(c.warnings.len(), 1, "m={},t={t}", m - 1);
    }
}

#[test]
fn metrics_default_to_on_for_loopback_and_refuse_bad_values_with_key_and_line() {
    let c = parse_ok("");
    assert!(c.metrics.enabled);
    assert!(c.metrics.token.is_none());
    assert!(
        c.metrics
            .networks
            .iter()
            .any(|n| n.contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()))
    );
    let off = parse_ok("[metrics]\nenabled = false\nnetworks = [\"10.0.0.0/8\"]\n");
    assert!(!off.metrics.enabled);
    assert_eq!(
        off.metrics.networks,
        vec!["10.0.0.0/8".parse::<ipnet::IpNet>().unwrap()]
    );
    let p = problems("[metrics]\nnetworks = [\"nope\"]\n");
    assert_eq!((p[0].key.as_str(), p[0].line), ("metrics.networks", Some(2)));
    let p = problems("[metrics]\ntoken_env = \"LATCHKEY_TEST_NO_SUCH_METRICS_TOKEN\"\n");
    assert_eq!((p[0].key.as_str(), p[0].line), ("metrics.token_env", Some(2)));
    let p = problems("[metrics]\ntoken_file = \"a\"\ntoken_env = \"B\"\n");
    assert_eq!((p[0].key.as_str(), p[0].line), ("metrics.token_env", Some(3)));
    let p = problems("[metrics]\nlisten = 1\n");
    assert!(p[0].message.contains("listen"), "{p:?}");
}

#[test]
fn a_metrics_token_file_that_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "scrape-token-0123456789abcdef").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = format!("[metrics]\ntoken_file = \"{}\"\n", path.display());
    let p = problems(&text);
    assert_eq!((p[0].key.as_str(), p[0].line), ("metrics.token_file", Some(2)));
    assert!(p[0].message.contains("chmod 600"), "{p:?}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        parse_ok(&text).metrics.token.as_deref(),
        Some("scrape-token-0123456789abcdef")
    );
}

#[test]
fn the_store_is_the_redb_file_unless_store_says_postgres() {
    assert_eq!(parse_ok("").store, StoreConfig::Redb);
    let c = parse_ok("[store]\nkind = \"redb\"\npath = \"elsewhere/id.redb\"\n");
    assert_eq!(c.store, StoreConfig::Redb);
    assert!(c.data.ends_with("elsewhere/id.redb"));
    let c = parse_ok("[store]\nkind = \"postgres\"\nurl = \"postgres://u@db/x\"\npool_size = 4\n");
    let StoreConfig::Postgres(pg) = c.store else {
        panic!("a PostgreSQL store")
    };
    assert_eq!(
        (pg.url.as_str(), pg.schema.as_str(), pg.pool_size),
        ("postgres://u@db/x", "latchkey", 4)
    );
    assert!(
        !format!("{pg:?}").contains("postgres://"),
        "the URL is never printed"
    );
}

#[test]
fn store_url_env_overrides_the_file_and_picks_postgres() {
    let o = Overrides {
        store_url: Some("postgres://env@db/x".into()),
        store_schema: Some("node_a".into()),
        ..Overrides::default()
    };
    let c = parse("t", "", None, &o).unwrap();
    assert_eq!(
        c.store,
        StoreConfig::Postgres(crate::store::PostgresOptions {
            url: "postgres://env@db/x".into(),
            schema: "node_a".into(),
            pool_size: 16,
            tls_ca_file: None,
        })
    );
}

#[test]
fn bad_store_values_are_named_with_key_and_line() {
    let cases = [
        ("[store]\nkind = \"sqlite\"\n", "store.kind"),
        ("[store]\nkind = \"postgres\"\n", "store.url"),
        ("[store]\nkind = \"postgres\"\nurl = \"mysql://x\"\n", "store.url"),
        (
            "[store]\nkind = \"postgres\"\nurl = \"postgres://x\"\nurl_env = \"X\"\n",
            "store.url",
        ),
        (
            "[store]\nkind = \"postgres\"\nurl = \"postgres://x\"\npool_size = 0\n",
            "store.pool_size",
        ),
        (
            "[store]\nkind = \"postgres\"\nurl = \"postgres://x\"\nschema = \"Bad-Name\"\n",
            "store.schema",
        ),
        ("[store]\nurl = \"postgres://x\"\n", "store.url"),
        (
            "[store]\nkind = \"postgres\"\nurl = \"postgres://x\"\npath = \"a.redb\"\n",
            "store.path",
        ),
        ("data = \"a.redb\"\n[store]\npath = \"b.redb\"\n", "store.path"),
        (
            "[store]\nkind = \"postgres\"\nurl_env = \"LATCHKEY_TEST_SURELY_UNSET_9\"\n",
            "store.url_env",
        ),
    ];
    for (text, key) in cases {
        let found = problems(text);
        assert!(
            found.iter().any(|p| p.key == key && p.line.is_some()),
            "{text:?}: expected a problem at {key} with a line, got {found:?}"
        );
        assert!(
            found.iter().all(|p| !p.message.contains("postgres://x")),
            "{text:?}: a problem never repeats the URL: {found:?}"
        );
    }
}
