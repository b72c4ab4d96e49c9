//! Properties of the configuration file parser.

use super::*;

/// A TOML string literal.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn config_text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "5m",
            "0s",
            "3d",
            "11m",
            "1h",
            "59m",
            "-1s",
            "10",
            "abc",
            "",
            "99999999999999d",
            "http://127.0.0.1:8080",
            "https://id.example.com",
            "https://id.example.com/?q=1",
            "https://u@id.example.com",
            "127.0.0.1:0",
            "[::1]:80",
            "not an address",
            "data/x.redb",
            "EdDSA",
            "RS256",
            "none",
            "authorization_code",
            "client_credentials",
            "password",
            "refresh_token",
            "implicit",
            "openid",
            "profile",
            "offline_access",
            "bad scope",
            "https://app.example.com/cb",
            "http://127.0.0.1/cb",
            "javascript:alert(1)",
            "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sha256:short",
            "app",
            "my app",
            "web",
            "LATCHKEY_PROP_TEST_UNSET",
            "/nonexistent/latchkey-prop-secret",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,12}",
    ]
}

fn config_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => config_text_value().prop_map(|s| toml_string(&s)),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (0i64..40).prop_map(|n| n.to_string()),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => Just("1.5".to_owned()),
        1 => Just("1979-05-27T07:32:00Z".to_owned()),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", body.join(", "))
            }),
        ]
    })
}

/// A value of the type `key` wants, valid or not, so that validation (not only deserialisation)
/// is reached.
fn typed_value(key: &str) -> BoxedStrategy<String> {
    let strings = |list: &'static [&'static str]| prop::sample::select(list).prop_map(toml_string);
    let durations: &'static [&'static str] = &[
        "1s",
        "59s",
        "60s",
        "5m",
        "10m",
        "11m",
        "1h",
        "12h",
        "2d",
        "3d",
        "30d",
        "0s",
        "-1s",
        "1x",
        "",
        "1000000000000d",
    ];
    let uris: &'static [&'static str] = &[
        "https://app.example.com/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/",
        "http://app.example.com/cb",
        "https://app.example.com/cb#x",
        "javascript:alert(1)",
        "https://a@b/",
        "",
    ];
    match key {
        "access_token" | "refresh_token" | "id_token" | "authorization_code" | "lifetime"
        | "retire_after" | "rotate_every" => strings(durations).boxed(),
        "min_length" | "max_length" => (-2i64..5000).prop_map(|n| n.to_string()).boxed(),
        "public" | "first_party" | "require_pkce" | "refresh_without_offline_access" => {
            any::<bool>().prop_map(|b| b.to_string()).boxed()
        }
        "redirect_uris" | "post_logout_redirect_uris" => prop::collection::vec(strings(uris), 0..3)
            .prop_map(|v| format!("[{}]", v.join(", ")))
            .boxed(),
        "backchannel_logout_uri" | "issuer" => strings(uris).boxed(),
        "trusted_proxies" => prop::collection::vec(
            strings(&[
                "127.0.0.1",
                "10.0.0.0/8",
                "::1",
                "fd00::/8",
                "not-an-ip",
                "300.1.1.1",
                "10.0.0.0/33",
                "",
            ]),
            0..3,
        )
        .prop_map(|v| format!("[{}]", v.join(", ")))
        .boxed(),
        "forwarded_header" => strings(&["x-forwarded-for", "forwarded", "x-real-ip", "bogus", ""]).boxed(),
        "certificate" | "key" => {
            strings(&["/nonexistent/latchkey-prop/cert.pem", "", "no-such-file.pem"]).boxed()
        }
        "grant_types" | "scopes" => {
            prop::collection::vec(config_text_value().prop_map(|s| toml_string(&s)), 0..4)
                .prop_map(|v| format!("[{}]", v.join(", ")))
                .boxed()
        }
        _ => config_text_value().prop_map(|s| toml_string(&s)).boxed(),
    }
}

/// Up to six lines of `key = value` with keys from `keys`, now and then a blank or comment line.
/// `loose` lines also have unknown keys and values of any type.
fn config_lines(keys: &'static [&'static str], loose: bool) -> impl Strategy<Value = Vec<String>> {
    let odd = if loose { 1 } else { 0 };
    let key = prop_oneof![
        8 => prop::sample::select(keys),
        odd => Just("unknown_key"),
    ];
    let entry = key.prop_flat_map(move |k| {
        let value = prop_oneof![3 => typed_value(k), odd => config_value()];
        (Just(k), value)
    });
    let line = prop_oneof![
        8 => entry.prop_map(|(k, v)| format!("{k} = {v}")),
        1 => Just(String::new()),
        1 => Just("# a comment".to_owned()),
    ];
    prop::collection::vec(line, 0..6)
}

const ROOT_KEYS: &[&str] = &["issuer", "listen", "data", "trusted_proxies", "forwarded_header"];
const TLS_KEYS: &[&str] = &["certificate", "key"];
const TOKEN_KEYS: &[&str] = &["access_token", "refresh_token", "id_token", "authorization_code"];
const SESSION_KEYS: &[&str] = &["lifetime"];
const KEY_KEYS: &[&str] = &["retire_after", "rotate_every"];
const POLICY_KEYS: &[&str] = &["min_length", "max_length"];
const CLIENT_KEYS: &[&str] = &[
    "client_id",
    "name",
    "redirect_uris",
    "public",
    "grant_types",
    "scopes",
    "first_party",
    "require_pkce",
    "secret_file",
    "secret_env",
    "secret_digest",
    "id_token_signed_response_alg",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "refresh_without_offline_access",
];

/// A configuration file: root keys, then tables and client entries, mostly well-formed TOML with
/// values of every type in every place.
fn config_document() -> impl Strategy<Value = String> {
    any::<bool>().prop_flat_map(config_document_of)
}

/// A document whose keys are all known and whose values have the right types (so that it gets past
/// deserialisation to validation), or a `loose` one with anything anywhere.
fn config_document_of(loose: bool) -> impl Strategy<Value = String> {
    let odd = if loose { 1 } else { 0 };
    let section = prop_oneof![
        2 => config_lines(TOKEN_KEYS, loose).prop_map(|l| ("[tokens]", l)),
        1 => config_lines(SESSION_KEYS, loose).prop_map(|l| ("[sessions]", l)),
        2 => config_lines(KEY_KEYS, loose).prop_map(|l| ("[keys]", l)),
        2 => config_lines(POLICY_KEYS, loose).prop_map(|l| ("[password_policy]", l)),
        2 => config_lines(CLIENT_KEYS, loose).prop_map(|l| ("[[client]]", l)),
        1 => config_lines(TLS_KEYS, loose).prop_map(|l| ("[tls]", l)),
        odd => config_lines(TOKEN_KEYS, loose).prop_map(|l| ("[tokenz]", l)),
    ];
    (
        config_lines(ROOT_KEYS, loose),
        prop::collection::vec(section, 0..5),
    )
        .prop_map(|(root, sections)| {
            // Mostly valid TOML: a key once per table, a plain table once per document.
            let unique = |lines: Vec<String>| {
                let mut seen = std::collections::HashSet::new();
                lines
                    .into_iter()
                    .filter(|l| match l.split_once(" = ") {
                        Some((key, _)) => seen.insert(key.to_owned()),
                        None => true,
                    })
                    .collect::<Vec<_>>()
            };
            let mut out = unique(root).join("\n");
            let mut tables = std::collections::HashSet::new();
            for (header, lines) in sections {
                if !header.starts_with("[[") && !tables.insert(header) {
                    continue;
                }
                out.push('\n');
                out.push_str(header);
                for line in unique(lines) {
                    out.push('\n');
                    out.push_str(&line);
                }
            }
            out.push('\n');
            out
        })
}

fn parse_config(text: &str) -> Result<config::Config, config::ConfigError> {
    config::parse("prop.toml", text, None, &Overrides::default())
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn the_config_parser_never_panics(text in prop_oneof![any::<String>(), config_document()]) {
        if let Err(e) = parse_config(&text) {
            prop_assert!(!e.problems.is_empty(), "an error names at least one problem");
        }
    }

    #[test]
    fn every_problem_in_a_toml_document_names_its_line(text in config_document()) {
        prop_assume!(toml::from_str::<toml::Table>(&text).is_ok());
        if let Err(e) = parse_config(&text) {
            let lines = text.lines().count().max(1);
            for p in &e.problems {
                prop_assert!(
                    p.line.is_some_and(|l| (1..=lines + 1).contains(&l)),
                    "problem without a line: {:?}\n--- in ---\n{}",
                    p,
                    text
                );
            }
        }
    }
}
