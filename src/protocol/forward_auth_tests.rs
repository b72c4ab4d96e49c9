//! Target addresses and `rd`: what is accepted, and every way an address is refused.

use super::*;
use crate::domain::{ForwardAuth, Policy};

fn fa() -> ForwardAuth {
    ForwardAuth {
        cookie_domains: vec!["example.test".into()],
        default_policy: Policy::Deny,
        require_https: true,
        rules: vec![],
    }
}

const NAMES: [&str; 3] = ["X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri"];

#[test]
fn parts_make_a_lower_case_target_with_its_port() {
    let t = from_parts(
        Some("https"),
        Some("App.Example.Test:8443"),
        Some("/a/B?c=d"),
        NAMES,
        &fa(),
    )
    .expect("a target");
    assert_eq!(t.host, "app.example.test");
    assert_eq!(t.path, "/a/B?c=d");
    assert_eq!(t.url, "https://app.example.test:8443/a/B?c=d");
    assert!(t.https);
    let apex = from_parts(Some("https"), Some("example.test"), Some("/"), NAMES, &fa()).expect("the apex");
    assert_eq!(apex.url, "https://example.test/");
}

#[test]
fn missing_or_malformed_parts_are_refused_by_name() {
    let f = fa();
    let part = |s: Option<&str>, h: Option<&str>, p: Option<&str>| from_parts(s, h, p, NAMES, &f);
    assert_eq!(
        part(None, Some("a.example.test"), Some("/")),
        Err(TargetError::Missing("X-Forwarded-Proto"))
    );
    assert_eq!(
        part(Some("https"), None, Some("/")),
        Err(TargetError::Missing("X-Forwarded-Host"))
    );
    assert_eq!(
        part(Some("https"), Some("a.example.test"), None),
        Err(TargetError::Missing("X-Forwarded-Uri"))
    );
    assert_eq!(
        part(Some("ftp"), Some("a.example.test"), Some("/")),
        Err(TargetError::Malformed("X-Forwarded-Proto"))
    );
    for host in [
        "evil.test@a.example.test",
        "a.example.test/x",
        "a.example.test\\x",
        "a .example.test",
        "a.example.test:0",
        "a.example.test:99999",
        "a.example.test:",
        "-a.example.test",
        "a..example.test",
        "",
        "[::1]",
    ] {
        assert_eq!(
            part(Some("https"), Some(host), Some("/")),
            Err(TargetError::Malformed("X-Forwarded-Host")),
            "{host:?}"
        );
    }
    for path in ["x", "//evil.test/", "/a\\b", "/a b", "/a\r\nb", "/a#b", "/\u{e9}"] {
        assert_eq!(
            part(Some("https"), Some("a.example.test"), Some(path)),
            Err(TargetError::Malformed("X-Forwarded-Uri")),
            "{path:?}"
        );
    }
}

#[test]
fn a_host_outside_the_cookie_domains_or_plain_http_is_refused() {
    let f = fa();
    for host in [
        "evil.test",
        "example.test.evil.test",
        "badexample.test",
        "127.0.0.1",
    ] {
        assert_eq!(
            from_parts(Some("https"), Some(host), Some("/"), NAMES, &f),
            Err(TargetError::OutsideDomains),
            "{host}"
        );
    }
    assert_eq!(
        from_parts(Some("http"), Some("a.example.test"), Some("/"), NAMES, &f),
        Err(TargetError::PlainHttp)
    );
    let relaxed = ForwardAuth {
        require_https: false,
        ..fa()
    };
    assert!(from_parts(Some("http"), Some("a.example.test"), Some("/"), NAMES, &relaxed).is_ok());
}

#[test]
fn an_absolute_address_is_split_and_checked_like_the_parts() {
    let f = fa();
    let t = from_url(Some("https://a.example.test:8443/x?y=1"), "rd", &f).expect("a target");
    assert_eq!((t.host.as_str(), t.path.as_str()), ("a.example.test", "/x?y=1"));
    assert_eq!(
        from_url(Some("https://a.example.test"), "rd", &f).map(|t| t.url),
        Ok("https://a.example.test/".into())
    );
    assert_eq!(
        from_url(Some("https://a.example.test?q"), "rd", &f).map(|t| t.url),
        Ok("https://a.example.test/?q".into())
    );
    assert_eq!(from_url(None, "rd", &f), Err(TargetError::Missing("rd")));
    for bad in [
        "/relative",
        "//a.example.test/",
        "https://user:pw@a.example.test/",
        "https://evil.test\\@a.example.test/",
        "https://evil.test%2f@a.example.test/",
        "https://a.example.test/\nx",
        "javascript:alert(1)",
        "https:/a.example.test/",
        "https://a.example.test/#frag",
    ] {
        assert_eq!(
            from_url(Some(bad), "rd", &f),
            Err(TargetError::Malformed("rd")),
            "{bad}"
        );
    }
    assert_eq!(
        from_url(Some("https://evil.test/"), "rd", &f),
        Err(TargetError::OutsideDomains)
    );
    assert_eq!(
        from_url(Some("http://a.example.test/"), "rd", &f),
        Err(TargetError::PlainHttp)
    );
}

#[test]
fn methods_are_letters_upper_cased() {
    assert_eq!(method(Some("post"), "M"), Ok("POST".into()));
    assert_eq!(method(None, "M"), Err(TargetError::Missing("M")));
    for bad in ["", "GE T", "G3T", "PROPFINDPROPFINDPROPFIND"] {
        assert_eq!(
            method(Some(bad), "M"),
            Err(TargetError::Malformed("M")),
            "{bad:?}"
        );
    }
}

#[test]
fn only_browsers_asking_for_html_are_redirected() {
    assert!(redirects(
        Some("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        None
    ));
    assert!(!redirects(Some("text/html"), Some("XMLHttpRequest")));
    assert!(!redirects(Some("application/json"), None));
    assert!(!redirects(Some("*/*"), None));
    assert!(!redirects(None, None));
    assert!(keeps_method("HEAD") && keeps_method("OPTIONS") && !keeps_method("POST"));
}
