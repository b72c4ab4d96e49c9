//! `GET /metrics` on a real server over loopback: the scrape is parsed line by line (the
//! OpenMetrics text format), the families exist with their label values, and the counters move
//! by what the test did; who may scrape (loopback by default, the address behind a trusted
//! proxy, `[metrics] networks`, the bearer token); `enabled = false` is a 404.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use latchkey::service::clients;
use reqwest::StatusCode;

use crate::harness::{Server, default_config, http};

const SECRET: &str = "metrics-robot-secret-0123456789-abcdefghijkl";
const PASSWORD: &str = "a long enough password 0123456789";

fn robot() -> String {
    format!(
        "\n[[client]]\nclient_id = \"robot\"\ngrant_types = [\"client_credentials\", \"password\", \"refresh_token\"]\nscopes = [\"openid\"]\nsecret_digest = \"{}\"\n",
        clients::digest_text(SECRET)
    )
}

/// One sample: its name, labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses a whole scrape strictly: `# HELP`/`# TYPE`/`# UNIT` lines, samples
/// `name{label="value",...} value [timestamp]` with escaped label values, and the final
/// `# EOF`. Any other line fails the test.
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the scrape ends with # EOF");
    assert!(text.ends_with("# EOF\n"), "and a newline");
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap_or_default();
            let name = parts.next().unwrap_or_default();
            assert!(is_name(name), "metadata names a metric: {line}");
            match kind {
                "TYPE" => {
                    let t = parts.next().unwrap_or_default();
                    assert!(
                        ["counter", "gauge", "histogram", "info", "unknown"].contains(&t),
                        "{line}"
                    );
                    types.insert(name.to_owned(), t.to_owned());
                }
                "HELP" | "UNIT" => assert!(parts.next().is_some_and(|h| !h.is_empty()), "{line}"),
                _ => panic!("unknown comment line: {line}"),
            }
            continue;
        }
        samples.push(sample(line));
    }
    (samples, types)
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(is_name(name), "a sample's name: {line}");
    let (labels, rest) = match line[name_end..].strip_prefix('{') {
        Some(inner) => label_set(inner, line),
        None => (BTreeMap::new(), &line[name_end..]),
    };
    let rest = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("one space before the value: {line}"));
    let mut fields = rest.split(' ');
    let value = fields.next().unwrap_or_else(|| panic!("{line}"));
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("a float value: {line}")),
    };
    if let Some(ts) = fields.next() {
        ts.parse::<f64>()
            .unwrap_or_else(|_| panic!("a timestamp: {line}"));
    }
    assert!(fields.next().is_none(), "nothing after the timestamp: {line}");
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// The labels after a `{`, and what follows the closing `}`.
fn label_set<'a>(inner: &'a str, line: &str) -> (BTreeMap<String, String>, &'a str) {
    let bytes = inner.as_bytes();
    let mut labels = BTreeMap::new();
    if bytes.first() == Some(&b'}') {
        return (labels, &inner[1..]);
    }
    let mut i = 0;
    loop {
        let eq = inner[i..]
            .find('=')
            .unwrap_or_else(|| panic!("a label without =: {line}"))
            + i;
        let key = &inner[i..eq];
        assert!(is_name(key), "a label name: {line}");
        assert_eq!(bytes.get(eq + 1), Some(&b'"'), "a quoted value: {line}");
        let mut value = String::new();
        i = eq + 2;
        loop {
            match bytes.get(i) {
                Some(b'\\') => {
                    match bytes.get(i + 1) {
                        Some(b'\\') => value.push('\\'),
                        Some(b'"') => value.push('"'),
                        Some(b'n') => value.push('\n'),
                        _ => panic!("a bad escape: {line}"),
                    }
                    i += 2;
                }
                Some(b'"') => break,
                None => panic!("an unclosed label value: {line}"),
                Some(_) => {
                    let c = inner[i..].chars().next().unwrap_or_else(|| panic!("{line}"));
                    value.push(c);
                    i += c.len_utf8();
                }
            }
        }
        assert!(
            labels.insert(key.to_owned(), value).is_none(),
            "a label twice: {line}"
        );
        i += 1;
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return (labels, &inner[i + 1..]),
            _ => panic!("after a label value comes , or }}: {line}"),
        }
    }
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(server: &Server) -> reqwest::Response {
    http()
        .get(format!("{}/metrics", server.base_url()))
        .send()
        .await
        .unwrap()
}

async fn token(server: &Server, form: &[(&str, &str)]) -> StatusCode {
    http()
        .post(format!("{}/oauth/token", server.base_url()))
        .basic_auth("robot", Some(SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_scrape_parses_line_by_line_and_its_counters_follow_the_traffic() {
    let mut server = Server::with_config(|port| default_config(port) + &robot());
    server.start();
    let added = server.cli_stdin(&["user", "add", "mia", "--password-stdin"], PASSWORD);
    assert!(added.status.success(), "{added:?}");

    let first = scrape(&server).await;
    assert_eq!(first.status(), StatusCode::OK);
    let (before, _) = parse(&first.text().await.unwrap());

    assert_eq!(
        token(&server, &[("grant_type", "client_credentials")]).await,
        StatusCode::OK
    );
    assert_eq!(
        token(
            &server,
            &[("grant_type", "refresh_token"), ("refresh_token", "nope")]
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    let wrong = [
        ("grant_type", "password"),
        ("username", "mia"),
        ("password", "wrong password here"),
    ];
    assert_eq!(token(&server, &wrong).await, StatusCode::BAD_REQUEST);
    let right = [
        ("grant_type", "password"),
        ("username", "mia"),
        ("password", PASSWORD),
        ("scope", "openid"),
    ];
    assert_eq!(token(&server, &right).await, StatusCode::OK);
    let unknown = http()
        .get(format!("{}/no/such/path/{}", server.base_url(), "x".repeat(20)))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let second = scrape(&server).await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(second.headers()["cache-control"], "no-store");
    assert!(
        second.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let (after, types) = parse(&second.text().await.unwrap());
    let moved =
        |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);

    let ty = |name: &str| types.get(name).map(String::as_str);
    assert_eq!(ty("latchkey_http_requests"), Some("counter"));
    assert_eq!(ty("latchkey_http_request_duration_seconds"), Some("histogram"));
    assert_eq!(ty("latchkey_token_requests"), Some("counter"));
    assert_eq!(ty("latchkey_sign_ins"), Some("counter"));
    assert_eq!(ty("latchkey_store_commit_batch_size"), Some("histogram"));
    assert_eq!(ty("latchkey_store_commit_duration_seconds"), Some("histogram"));
    assert_eq!(ty("latchkey_hashing_queue_depth"), Some("gauge"));
    assert_eq!(ty("latchkey_hashing_wait_seconds"), Some("histogram"));
    assert_eq!(ty("latchkey_throttle_refusals"), Some("counter"));
    assert_eq!(ty("latchkey_audit_entries_dropped"), Some("counter"));
    assert_eq!(ty("latchkey_forward_auth_decisions"), Some("counter"));
    assert_eq!(ty("latchkey_process_resident_memory_bytes"), Some("gauge"));
    assert_eq!(ty("latchkey_sessions"), Some("gauge"));
    assert_eq!(ty("latchkey_grants"), Some("gauge"));
    assert_eq!(ty("latchkey_build_info"), Some("gauge"));

    let token_route = [("route", "/oauth/token"), ("method", "POST")];
    assert_eq!(moved("latchkey_http_requests_total", &token_route), 4.0);
    assert_eq!(
        moved(
            "latchkey_http_requests_total",
            &[("route", "/oauth/token"), ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        moved(
            "latchkey_http_requests_total",
            &[("route", "unknown"), ("status", "404")]
        ),
        1.0
    );
    assert!(
        after
            .iter()
            .all(|s| !s.labels.get("route").is_some_and(|r| r.starts_with("/no/"))),
        "a raw path is never a label"
    );
    assert_eq!(
        moved(
            "latchkey_http_request_duration_seconds_count",
            &[("route", "/oauth/token")]
        ),
        4.0
    );
    let grant = |g: &str, o: &str| moved("latchkey_token_requests_total", &[("grant", g), ("outcome", o)]);
    assert_eq!(grant("client_credentials", "issued"), 1.0);
    assert_eq!(grant("refresh_token", "invalid_grant"), 1.0);
    assert_eq!(grant("password", "invalid_grant"), 1.0);
    assert_eq!(grant("password", "issued"), 1.0);
    let sign_in = |o: &str| {
        moved(
            "latchkey_sign_ins_total",
            &[("method", "password"), ("outcome", o)],
        )
    };
    assert_eq!(sign_in("success"), 1.0);
    assert_eq!(sign_in("failure"), 1.0);
    assert!(
        moved("latchkey_store_commit_batch_size_count", &[]) >= 1.0,
        "the grants were committed"
    );
    assert!(
        moved("latchkey_hashing_wait_seconds_count", &[]) >= 2.0,
        "two password checks waited"
    );
    assert_eq!(value(&after, "latchkey_hashing_queue_depth", &[]), 0.0);
    assert!(
        value(&after, "latchkey_grants", &[]) >= 1.0,
        "the password grant stored a grant"
    );
    assert!(value(&after, "latchkey_process_resident_memory_bytes", &[]) > 1_000_000.0);
    assert_eq!(
        value(
            &after,
            "latchkey_throttle_refusals_total",
            &[("throttle", "password")]
        ),
        0.0
    );
    assert_eq!(value(&after, "latchkey_audit_entries_dropped_total", &[]), 0.0);
    assert_eq!(
        value(
            &after,
            "latchkey_forward_auth_decisions_total",
            &[("decision", "deny")]
        ),
        0.0
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(value(&after, "latchkey_build_info", &[("version", version)]), 1.0);
}

#[test]
fn the_parser_reads_escapes_and_refuses_a_broken_line() {
    let ok = sample(r#"m_total{a="x\"y\\z\n",b="2"} 3.5 1700000000"#);
    assert_eq!(ok.labels["a"], "x\"y\\z\n");
    assert_eq!(ok.labels["b"], "2");
    assert_eq!(ok.value, 3.5);
    for bad in [
        r#"m{a="x} 1"#,
        "m 1 2 3",
        r#"m{a=x} 1"#,
        "m nope",
        r#"m{a="\q"} 1"#,
    ] {
        assert!(std::panic::catch_unwind(|| sample(bad)).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_trusted_proxy_on_loopback_does_not_open_metrics_to_the_visitor_it_forwards() {
    let mut server = Server::with_config(|port| {
        default_config(port) + "trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]\n"
    });
    server.start();
    let url = format!("{}/metrics", server.base_url());
    let forwarded = http()
        .get(&url)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), StatusCode::FORBIDDEN);
    assert_eq!(forwarded.headers()["cache-control"], "no-store");
    let local = http().get(&url).send().await.unwrap();
    assert_eq!(
        local.status(),
        StatusCode::OK,
        "the proxy's own machine still may"
    );
    let other = http().post(&url).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(other.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn networks_allow_a_forwarded_address_and_replace_the_loopback_default() {
    let mut server = Server::with_config(|port| {
        default_config(port)
            + "trusted_proxies = [\"127.0.0.1/32\", \"::1/128\"]\n\n[metrics]\nnetworks = [\"203.0.113.0/24\"]\n"
    });
    server.start();
    let url = format!("{}/metrics", server.base_url());
    let from = |ip: &'static str| http().get(&url).header("x-forwarded-for", ip).send();
    assert_eq!(from("203.0.113.9").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        from("198.51.100.1").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let local = http().get(&url).send().await.unwrap();
    assert_eq!(
        local.status(),
        StatusCode::FORBIDDEN,
        "loopback is no longer listed"
    );
}

#[tokio::test]
async fn a_configured_bearer_token_is_required_and_compared() {
    let mut server =
        Server::with_config(|port| default_config(port) + "\n[metrics]\ntoken_file = \"metrics.token\"\n");
    let token_path = server.dir().join("metrics.token");
    std::fs::write(&token_path, "scrape-token-0123456789abcdef\n").unwrap();
    std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    server.start();
    let url = format!("{}/metrics", server.base_url());
    let missing = http().get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let wrong = http()
        .get(&url)
        .bearer_auth("scrape-token-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = http()
        .get(&url)
        .bearer_auth("scrape-token-0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().ends_with("# EOF\n"));
}

#[tokio::test]
async fn metrics_turned_off_answer_404() {
    let mut server = Server::with_config(|port| default_config(port) + "\n[metrics]\nenabled = false\n");
    server.start();
    assert_eq!(scrape(&server).await.status(), StatusCode::NOT_FOUND);
}
