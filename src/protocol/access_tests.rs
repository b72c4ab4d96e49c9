//! The rule walk: first match wins, subjects and anonymous visitors, policies, the default.

use std::net::IpAddr;

use super::*;
use crate::domain::{AccessRule, DomainPattern, ForwardAuth, Policy, RuleSubject};

fn rule(number: usize, domain: &str, policy: Policy) -> AccessRule {
    let domains = match domain.strip_prefix("*.") {
        Some(parent) => vec![DomainPattern::Subdomains(parent.to_owned())],
        None => vec![DomainPattern::Exact(domain.to_owned())],
    };
    AccessRule {
        number,
        line: None,
        domains,
        path: None,
        methods: vec![],
        networks: vec![],
        subjects: vec![],
        policy,
    }
}

fn rules() -> ForwardAuth {
    let mut open_path = rule(2, "app.example.test", Policy::Bypass);
    open_path.path = regex::Regex::new("^/open/").ok();
    let mut staff = rule(5, "*.example.test", Policy::OneFactor);
    staff.subjects = vec![RuleSubject::Group("staff".into())];
    let mut lan = rule(4, "lan.example.test", Policy::OneFactor);
    lan.networks = vec!["10.0.0.0/8".parse().expect("a network")];
    lan.methods = vec!["GET".into()];
    ForwardAuth {
        cookie_domains: vec!["example.test".into()],
        default_policy: Policy::Deny,
        require_https: true,
        rules: vec![
            rule(1, "public.example.test", Policy::Bypass),
            open_path,
            rule(3, "secure.example.test", Policy::TwoFactor),
            lan,
            staff,
        ],
    }
}

const OUTSIDE: &str = "192.0.2.9";
fn ask<'a>(host: &'a str, path: &'a str, method: &'a str, ip: &str) -> AccessRequest<'a> {
    AccessRequest {
        host,
        path,
        method,
        ip: ip.parse::<IpAddr>().expect("an address"),
    }
}

fn staff() -> Vec<String> {
    vec!["staff".to_owned()]
}

#[test]
fn a_wildcard_matches_subdomains_only_and_an_exact_domain_only_itself() {
    let wild = DomainPattern::Subdomains("example.test".into());
    assert!(wild.matches("a.example.test"));
    assert!(wild.matches("a.b.example.test"));
    assert!(!wild.matches("example.test"));
    assert!(!wild.matches("badexample.test"));
    assert!(!wild.matches(".example.test"));
    let exact = DomainPattern::Exact("app.example.test".into());
    assert!(exact.matches("app.example.test"));
    assert!(!exact.matches("x.app.example.test"));
}

#[test]
fn bypass_lets_anyone_through_without_identity() {
    let fa = rules();
    let d = decide(&fa, &ask("public.example.test", "/", "POST", OUTSIDE), None);
    assert_eq!(d.verdict, Verdict::Allow { identity: false });
    assert_eq!(d.matched, Matched::Rule(1));
    let groups = staff();
    let who = Visitor {
        username: "ann",
        groups: &groups,
        two_factors: true,
    };
    let d = decide(&fa, &ask("public.example.test", "/", "GET", OUTSIDE), Some(&who));
    assert_eq!(d.verdict, Verdict::Allow { identity: false });
}

#[test]
fn a_path_rule_matches_its_paths_only() {
    let fa = rules();
    let open = decide(&fa, &ask("app.example.test", "/open/x?y=1", "GET", OUTSIDE), None);
    assert_eq!(open.matched, Matched::Rule(2));
    let closed = decide(&fa, &ask("app.example.test", "/private", "GET", OUTSIDE), None);
    // The staff rule names subjects: an anonymous visitor must sign in to find out.
    assert_eq!(closed.verdict, Verdict::SignIn);
    assert_eq!(closed.matched, Matched::Rule(5));
}

#[test]
fn a_subject_rule_admits_its_members_and_others_fall_to_the_default() {
    let fa = rules();
    let groups = staff();
    let member = Visitor {
        username: "ann",
        groups: &groups,
        two_factors: false,
    };
    let d = decide(&fa, &ask("wiki.example.test", "/", "GET", OUTSIDE), Some(&member));
    assert_eq!(d.verdict, Verdict::Allow { identity: true });
    let none: Vec<String> = vec![];
    let outsider = Visitor {
        username: "bob",
        groups: &none,
        two_factors: true,
    };
    let d = decide(
        &fa,
        &ask("wiki.example.test", "/", "GET", OUTSIDE),
        Some(&outsider),
    );
    assert_eq!((d.verdict, d.matched), (Verdict::Deny, Matched::Default));
    // By user name as well.
    let mut fa = rules();
    fa.rules[4].subjects.push(RuleSubject::User("bob".into()));
    let d = decide(
        &fa,
        &ask("wiki.example.test", "/", "GET", OUTSIDE),
        Some(&outsider),
    );
    assert_eq!(d.verdict, Verdict::Allow { identity: true });
}

#[test]
fn two_factor_asks_a_one_factor_session_for_the_second() {
    let fa = rules();
    let none: Vec<String> = vec![];
    let one = Visitor {
        username: "ann",
        groups: &none,
        two_factors: false,
    };
    let two = Visitor {
        two_factors: true,
        ..one
    };
    let req = ask("secure.example.test", "/", "GET", OUTSIDE);
    assert_eq!(decide(&fa, &req, None).verdict, Verdict::SignIn);
    assert_eq!(decide(&fa, &req, Some(&one)).verdict, Verdict::SecondFactor);
    assert_eq!(
        decide(&fa, &req, Some(&two)).verdict,
        Verdict::Allow { identity: true }
    );
}

#[test]
fn networks_and_methods_narrow_a_rule() {
    let fa = rules();
    let groups: Vec<String> = vec![];
    let who = Visitor {
        username: "ann",
        groups: &groups,
        two_factors: false,
    };
    let inside = decide(&fa, &ask("lan.example.test", "/", "GET", "10.1.2.3"), Some(&who));
    assert_eq!(inside.matched, Matched::Rule(4));
    let outside = decide(&fa, &ask("lan.example.test", "/", "GET", OUTSIDE), Some(&who));
    assert_eq!(
        (outside.verdict, outside.matched),
        (Verdict::Deny, Matched::Default)
    );
    let post = decide(&fa, &ask("lan.example.test", "/", "POST", "10.1.2.3"), Some(&who));
    assert_eq!(post.matched, Matched::Default);
}

#[test]
fn the_default_policy_decides_when_nothing_matches() {
    let mut fa = rules();
    fa.default_policy = Policy::OneFactor;
    let d = decide(&fa, &ask("other.test", "/", "GET", OUTSIDE), None);
    assert_eq!((d.verdict, d.matched), (Verdict::SignIn, Matched::Default));
    fa.default_policy = Policy::Deny;
    assert_eq!(
        decide(&fa, &ask("other.test", "/", "GET", OUTSIDE), None).verdict,
        Verdict::Deny
    );
}

#[test]
fn explain_names_every_rule_it_passed_and_why() {
    let fa = rules();
    let none: Vec<String> = vec![];
    let who = Visitor {
        username: "bob",
        groups: &none,
        two_factors: false,
    };
    let (steps, decision) = explain(&fa, &ask("wiki.example.test", "/", "GET", OUTSIDE), Some(&who));
    let judged: Vec<Judged> = steps.iter().map(|s| s.judged).collect();
    assert_eq!(
        judged,
        [
            Judged::Misses(Miss::Domain),
            Judged::Misses(Miss::Domain),
            Judged::Misses(Miss::Domain),
            Judged::Misses(Miss::Domain),
            Judged::Misses(Miss::Subject),
        ]
    );
    assert_eq!(
        decision,
        decide(&fa, &ask("wiki.example.test", "/", "GET", OUTSIDE), Some(&who))
    );
    assert_eq!(decision.matched, Matched::Default);
}

#[test]
fn the_launcher_offers_exact_hosts_the_visitor_may_open() {
    let fa = rules();
    let groups = staff();
    let who = Visitor {
        username: "ann",
        groups: &groups,
        two_factors: false,
    };
    let ip: IpAddr = OUTSIDE.parse().expect("an address");
    // From outside 10/8 the lan rule passes ann on to the staff rule, which lets her in; secure
    // needs a second factor first, which she can add.
    assert_eq!(
        launchable(&fa, &who, ip),
        [
            "public.example.test",
            "app.example.test",
            "secure.example.test",
            "lan.example.test"
        ]
    );
    let none: Vec<String> = vec![];
    let outsider = Visitor {
        username: "bob",
        groups: &none,
        two_factors: false,
    };
    // app.example.test's front page is for staff (its /open/ path is not the front page), and so
    // is lan.example.test from outside 10/8.
    assert_eq!(
        launchable(&fa, &outsider, ip),
        ["public.example.test", "secure.example.test"]
    );
}
