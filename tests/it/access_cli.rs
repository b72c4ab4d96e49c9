//! `latchkey access explain` and `latchkey check-config` on a `[forward_auth]` section, as a
//! person types them: which rule matches and why, in text and `--json`, and every problem of a
//! bad rule with its line.

use crate::harness::{Server, assert_failure, assert_success, stdout};

fn config(port: u16, rules: &str) -> String {
    format!(
        "issuer = \"https://auth.example.test\"\nlisten = \"127.0.0.1:{port}\"\ndata = \"data/identity.redb\"\n{rules}"
    )
}

const RULES: &str = r#"
[forward_auth]
cookie_domain = "example.test"
[[forward_auth.rule]]
domain = "public.example.test"
policy = "bypass"
[[forward_auth.rule]]
domain = "*.example.test"
networks = ["10.0.0.0/8"]
policy = "deny"
[[forward_auth.rule]]
domain = "*.example.test"
subject = ["group:staff"]
policy = "two_factor"
"#;

#[test]
fn explain_names_the_deciding_rule_and_the_misses_before_it() {
    let server = Server::with_config(|port| config(port, RULES));
    let ok = server.cli(&["check-config"]);
    assert_success(&ok);
    assert!(
        stdout(&ok).contains("forward-auth for example.test with 3 rules"),
        "{}",
        stdout(&ok)
    );
    assert_success(&server.cli_stdin(
        &["user", "add", "bob", "--group", "staff", "--password-stdin"],
        "a long enough password\n",
    ));
    let json = server.cli_json(&[
        "access",
        "explain",
        "https://wiki.example.test/x?y=1",
        "--user",
        "bob",
        "--ip",
        "192.0.2.4",
        "--json",
    ]);
    assert_eq!(json["url"], "https://wiki.example.test/x?y=1");
    assert_eq!(json["rule"], 3);
    assert_eq!(json["line"], 14);
    assert_eq!(json["policy"], "two_factor");
    assert_eq!(json["verdict"], "second_factor");
    assert_eq!(json["verdict_two_factors"], "allow");
    assert_eq!(json["groups"], serde_json::json!(["staff"]));
    let reasons: Vec<&str> = json["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or("matches"))
        .collect();
    assert_eq!(
        reasons,
        [
            "the host is not one of its domains",
            "the address is not in its networks",
            "matches"
        ]
    );
    let text = stdout(&server.cli(&[
        "access",
        "explain",
        "https://wiki.example.test/",
        "--user",
        "bob",
        "--ip",
        "10.1.1.1",
        "--method",
        "post",
    ]));
    assert!(
        text.starts_with("POST https://wiki.example.test/ by bob (groups: staff) from 10.1.1.1:"),
        "{text}"
    );
    assert!(text.contains("rule 2 (line 10), policy deny: matches"), "{text}");
    assert!(text.contains("The request is denied (403)."), "{text}");
    let anonymous = stdout(&server.cli(&["access", "explain", "https://wiki.example.test/"]));
    assert!(
        anonymous.contains("names subjects: it may match once the visitor signs in"),
        "{anonymous}"
    );
    assert!(anonymous.contains("sent to sign in"), "{anonymous}");
    let outside = assert_failure(&server.cli(&["access", "explain", "https://evil.test/"]));
    assert!(
        outside.contains("the host is not on a domain this server protects"),
        "{outside}"
    );
    let nobody = assert_failure(&server.cli(&[
        "access",
        "explain",
        "https://wiki.example.test/",
        "--user",
        "nobody",
    ]));
    assert!(nobody.contains("nobody"), "{nobody}");
}

#[test]
fn check_config_reports_every_bad_rule_with_its_line() {
    let bad = r#"
[forward_auth]
cookie_domain = "co.uk"
[[forward_auth.rule]]
domain = "app.example.test"
path = "(open"
policy = "sometimes"
"#;
    let server = Server::with_config(|port| config(port, bad));
    let message = assert_failure(&server.cli(&["check-config"]));
    for said in [
        "line 6: `forward_auth.cookie_domain`: `co.uk` is a public suffix",
        "line 9: `forward_auth.rule[0].path`: is not a valid regular expression",
        "line 10: `forward_auth.rule[0].policy`: `sometimes` must be bypass, one_factor, two_factor or deny",
    ] {
        assert!(message.contains(said), "{said} not in {message}");
    }
}
