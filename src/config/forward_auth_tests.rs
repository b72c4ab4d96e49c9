//! `[forward_auth]` in the file: the shape the issue fixes, and every problem named with its line.

use super::*;
use crate::domain::{DomainPattern, Policy, RuleSubject};

fn parse_text(text: &str) -> Result<Config, ConfigError> {
    parse("test.toml", text, None, &Overrides::default())
}

fn problems(text: &str) -> Vec<(String, Option<usize>, String)> {
    match parse_text(text) {
        Ok(_) => panic!("no problem found in:\n{text}"),
        Err(e) => e
            .problems
            .into_iter()
            .map(|p| (p.key, p.line, p.message))
            .collect(),
    }
}

const ISSUER: &str = "issuer = \"https://auth.example.test\"\n";

#[test]
fn the_documented_shape_reads_into_rules_in_file_order() {
    let text = format!(
        r#"{ISSUER}[forward_auth]
cookie_domain = "example.test"
default_policy = "deny"
[[forward_auth.rule]]
domain = "public.example.test"
policy = "bypass"
[[forward_auth.rule]]
domain = ["*.example.test", "Wiki.Example.Test"]
path = "^/admin(/|$)"
methods = ["get", "POST"]
networks = ["10.0.0.0/8", "192.0.2.7"]
subject = ["group:staff", "user:ann"]
policy = "two_factor"
"#
    );
    let fa = parse_text(&text)
        .expect("valid")
        .forward_auth
        .expect("a forward_auth section");
    assert_eq!(fa.cookie_domains, ["example.test"]);
    assert_eq!(fa.default_policy, Policy::Deny);
    assert!(fa.require_https);
    assert_eq!(fa.rules.len(), 2);
    let r = &fa.rules[1];
    assert_eq!((r.number, r.line), (2, Some(8)));
    assert_eq!(
        r.domains,
        [
            DomainPattern::Subdomains("example.test".into()),
            DomainPattern::Exact("wiki.example.test".into())
        ]
    );
    assert!(
        r.path
            .as_ref()
            .is_some_and(|p| p.is_match("/admin/x") && !p.is_match("/administrator"))
    );
    assert_eq!(r.methods, ["GET", "POST"]);
    assert_eq!(r.networks.len(), 2);
    assert_eq!(
        r.subjects,
        [
            RuleSubject::Group("staff".into()),
            RuleSubject::User("ann".into())
        ]
    );
    assert_eq!(r.policy, Policy::TwoFactor);
    // Without the section there is no forward-auth at all; without default_policy it is deny.
    assert!(parse_text(ISSUER).expect("valid").forward_auth.is_none());
    let bare = parse_text(&format!(
        "{ISSUER}[forward_auth]\ncookie_domain = \"example.test\"\nrequire_https = false\n"
    ))
    .expect("valid")
    .forward_auth
    .expect("a section");
    assert_eq!((bare.default_policy, bare.require_https), (Policy::Deny, false));
}

#[test]
fn cookie_domains_must_hold_the_issuer_and_not_be_public_suffixes() {
    let cases = [
        ("\"test\"", "is a public suffix"),
        ("\"co.uk\"", "is a public suffix"),
        ("\"github.io\"", "is a public suffix"),
        ("\"other.test\"", "does not contain the issuer's host"),
        ("\"ample.test\"", "does not contain the issuer's host"),
        ("\"10.0.0.1\"", "is not a domain name"),
        ("\"exa mple.test\"", "is not a domain name"),
        ("[\"example.test\", \"example.test\"]", "is listed twice"),
        ("[]", "must name at least one domain"),
    ];
    for (value, says) in cases {
        let text = format!("{ISSUER}[forward_auth]\ncookie_domain = {value}\n");
        let found = problems(&text);
        assert!(
            found.iter().any(|(k, line, m)| k == "forward_auth.cookie_domain"
                && *line == Some(3)
                && m.contains(says)),
            "{value}: {found:?}"
        );
    }
    let missing = problems(&format!("{ISSUER}[forward_auth]\n"));
    assert!(
        missing
            .iter()
            .any(|(k, _, m)| k == "forward_auth.cookie_domain" && m.contains("required"))
    );
}

#[test]
fn every_bad_rule_key_is_named_with_its_line() {
    let text = format!(
        r#"{ISSUER}[forward_auth]
cookie_domain = "example.test"
default_policy = "maybe"
[[forward_auth.rule]]
domain = "app.other.test"
path = "(unclosed"
methods = ["GE T"]
networks = ["10.0.0.0/33"]
subject = ["team:x", "group:"]
policy = "allow"
[[forward_auth.rule]]
domain = "*."
subject = "group:staff"
policy = "bypass"
[[forward_auth.rule]]
policy = "deny"
[[forward_auth.rule]]
domain = "x.example.test"
"#
    );
    let found = problems(&text);
    let has = |key: &str, line: usize, says: &str| {
        assert!(
            found
                .iter()
                .any(|(k, l, m)| k == key && *l == Some(line) && m.contains(says)),
            "{key} line {line} `{says}` not in {found:#?}"
        );
    };
    has(
        "forward_auth.default_policy",
        4,
        "must be bypass, one_factor, two_factor or deny",
    );
    has("forward_auth.rule[0].domain", 6, "is not under a cookie domain");
    has(
        "forward_auth.rule[0].path",
        7,
        "is not a valid regular expression",
    );
    has("forward_auth.rule[0].methods", 8, "is not a method name");
    has(
        "forward_auth.rule[0].networks",
        9,
        "is not an address or a network",
    );
    has(
        "forward_auth.rule[0].subject",
        10,
        "`team:x` must be user:NAME or group:NAME",
    );
    has(
        "forward_auth.rule[0].subject",
        10,
        "`group:` must be user:NAME or group:NAME",
    );
    has("forward_auth.rule[0].policy", 11, "`allow` must be");
    has("forward_auth.rule[1].domain", 13, "is not a host name");
    has("forward_auth.rule[1].subject", 14, "cannot name subjects");
    has("forward_auth.rule[2].domain", 16, "is required");
    has("forward_auth.rule[3].policy", 18, "is required");
    assert_eq!(found.len(), 12, "{found:#?}");
}

#[test]
fn unknown_keys_in_a_rule_are_refused() {
    let text = format!(
        "{ISSUER}[forward_auth]\ncookie_domain = \"example.test\"\n[[forward_auth.rule]]\ndomain = \"a.example.test\"\npolicy = \"deny\"\nsubjects = [\"group:x\"]\n"
    );
    assert!(parse_text(&text).is_err());
}
