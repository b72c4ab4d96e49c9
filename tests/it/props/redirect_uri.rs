//! Properties of redirect URI registration and matching.

use super::*;

const LOOPBACK: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// Text made of the pieces URL parser differentials are made of.
fn uri_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "https://",
            "http://",
            "HTTPS://",
            "javascript:",
            "JaVaScRiPt:",
            "data:",
            "//",
            "http://127.0.0.1",
            "http://[::1]",
            "http://localhost",
            "http://127.0.0.1.evil",
            ":8080",
            ":",
            ":99999",
            "/",
            "?",
            "#",
            "@",
            "a@b@",
            "..",
            "/../",
            "..;/",
            "%2e",
            "%2E%2e",
            "%2f",
            "%5c",
            "%0a",
            "%09",
            "%0D",
            "%7f",
            "%41",
            "%",
            "*",
            "\\",
            " ",
            "\t",
            "\n",
            "\u{0}",
            "\u{85}",
            "\u{a0}",
            "é",
            "app.example.com",
            "app.example.com.evil",
            "cb",
            "x=1&y=2",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9._~-]{1,6}",
    ];
    prop::collection::vec(piece, 0..10).prop_map(|pieces| pieces.concat())
}

fn path_and_query() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,7}", 0..4),
        prop::option::of("[A-Za-z0-9=&_.-]{0,12}"),
        any::<bool>(),
    )
        .prop_map(|(segments, query, trailing)| {
            let mut s: String = segments.iter().map(|seg| format!("/{seg}")).collect();
            if trailing {
                s.push('/');
            }
            if let Some(q) = query {
                s.push('?');
                s.push_str(&q);
            }
            s
        })
}

/// A registered https redirect URI.
fn https_registered() -> impl Strategy<Value = RedirectUri> {
    (
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
        prop::option::of(1u16..),
        path_and_query(),
    )
        .prop_filter_map("a valid registration", |(host, port, rest)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            RedirectUri::parse(&format!("https://{host}{port}{rest}")).ok()
        })
}

/// A registered loopback redirect URI, with or without a port.
fn loopback_registered() -> impl Strategy<Value = RedirectUri> {
    (
        prop::sample::select(LOOPBACK.to_vec()),
        prop::option::of(any::<u16>()),
        path_and_query(),
    )
        .prop_filter_map("a valid registration", |(host, port, rest)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            RedirectUri::parse(&format!("{host}{port}{rest}")).ok()
        })
}

/// The loopback rule of RFC 8252 section 7.3, stated independently of the implementation:
/// `presented` is the registered loopback URI with its port (if any) replaced by another TCP port
/// (1 to 65535, at most five digits), or removed.
fn loopback_equivalent(registered: &str, presented: &str) -> bool {
    LOOPBACK.iter().any(|host| {
        let (Some(reg), Some(pre)) = (registered.strip_prefix(host), presented.strip_prefix(host)) else {
            return false;
        };
        let reg_rest = match reg.strip_prefix(':') {
            Some(p) => p.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => reg,
        };
        let Some(port) = pre.strip_suffix(reg_rest) else {
            return false;
        };
        let port_ok = port.is_empty()
            || port.strip_prefix(':').is_some_and(|d| {
                (1..=5).contains(&d.len())
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && d.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p))
            });
        port_ok && (reg_rest.is_empty() || reg_rest.starts_with(['/', '?']))
    })
}

/// Ways of presenting something close to `uri`.
fn near(uri: String) -> impl Strategy<Value = String> {
    let len = uri.len();
    let (a, b, c, d, e, f) = (
        uri.clone(),
        uri.clone(),
        uri.clone(),
        uri.clone(),
        uri.clone(),
        uri,
    );
    prop_oneof![
        // Case changes.
        (0..len).prop_map(move |i| flip_case(&a, i)),
        // Appended characters.
        "[ -~]{1,6}|%[0-9A-Fa-f]{2}|\\PC{1,3}".prop_map(move |tail| format!("{b}{tail}")),
        // One character percent-encoded, upper or lower hex.
        (0..len, any::<bool>()).prop_map(move |(i, upper)| percent_encode_at(&c, i, upper)),
        // Truncated.
        (0..len).prop_map(move |i| d.get(..i).unwrap_or_default().to_owned()),
        // A character inserted.
        (0..=len, "[ -~]").prop_map(move |(i, ch)| insert_at(&e, i, &ch)),
        // Another port.
        (any::<u16>(), 0..len).prop_map(move |(port, i)| with_port(&f, port, i)),
        // Anything near a URL.
        uri_like(),
    ]
}

fn flip_case(s: &str, i: usize) -> String {
    s.char_indices()
        .map(|(j, c)| {
            if j == i && c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else if j == i {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn percent_encode_at(s: &str, i: usize, upper: bool) -> String {
    s.char_indices()
        .map(|(j, c)| match (j == i, upper) {
            (true, true) if c.is_ascii() => format!("%{:02X}", c as u32),
            (true, false) if c.is_ascii() => format!("%{:02x}", c as u32),
            _ => c.to_string(),
        })
        .collect()
}

fn insert_at(s: &str, i: usize, ins: &str) -> String {
    match (s.get(..i), s.get(i..)) {
        (Some(head), Some(tail)) => format!("{head}{ins}{tail}"),
        _ => format!("{s}{ins}"),
    }
}

/// `uri` with `:port` put after its host (for a loopback URI), or at byte `i` otherwise.
fn with_port(uri: &str, port: u16, i: usize) -> String {
    for host in LOOPBACK {
        if let Some(rest) = uri.strip_prefix(host) {
            let rest = match rest.strip_prefix(':') {
                Some(p) => p.trim_start_matches(|c: char| c.is_ascii_digit()),
                None => rest,
            };
            return format!("{host}:{port}{rest}");
        }
    }
    insert_at(uri, i, &format!(":{port}"))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn redirect_uri_registration_never_panics_and_what_it_accepts_is_safe(
        raw in prop_oneof![any::<String>(), uri_like()]
    ) {
        if let Ok(uri) = RedirectUri::parse(&raw) {
            let s = uri.as_str();
            prop_assert_eq!(s, raw.as_str());
            prop_assert!(s.starts_with("https://") || LOOPBACK.iter().any(|h| s.starts_with(h)), "{}", s);
            prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()), "{:?}", s);
            prop_assert!(!s.contains('#') && !s.contains('*'), "{}", s);
            let after_scheme = s.split_once("://").map(|(_, r)| r).unwrap_or_default();
            let authority = after_scheme.split(['/', '?']).next().unwrap_or_default();
            prop_assert!(!authority.contains('@') && !authority.is_empty(), "{}", s);
            prop_assert!(uri.matches(s), "a registered URI matches itself: {}", s);
        }
    }

    #[test]
    fn an_https_redirect_uri_matches_only_itself(
        (uri, presented) in https_registered().prop_flat_map(|u| {
            let s = u.as_str().to_owned();
            (Just(u), near(s))
        })
    ) {
        prop_assert_eq!(uri.matches(&presented), presented == uri.as_str(), "{} vs {}", uri, presented);
    }

    #[test]
    fn a_loopback_redirect_uri_matches_itself_on_any_port_and_nothing_else(
        (uri, presented) in loopback_registered().prop_flat_map(|u| {
            let s = u.as_str().to_owned();
            (Just(u), near(s))
        }),
        port in any::<u16>(),
    ) {
        let expected = presented == uri.as_str() || loopback_equivalent(uri.as_str(), &presented);
        prop_assert_eq!(uri.matches(&presented), expected, "{} vs {}", uri, presented);
        let any_port = with_port(uri.as_str(), port, 0);
        prop_assert!(uri.matches(&any_port), "{} vs {}", uri, any_port);
    }

    #[test]
    fn case_changes_appended_characters_and_percent_encodings_never_match(
        uri in prop_oneof![https_registered(), loopback_registered()],
        i in any::<prop::sample::Index>(),
        tail in "[ -~]{1,4}|\\PC{1,2}",
        upper in any::<bool>(),
    ) {
        let s = uri.as_str();
        let at = i.index(s.len());
        let flipped = flip_case(s, at);
        if flipped != s {
            prop_assert!(!uri.matches(&flipped), "{} vs {}", s, flipped);
        }
        let encoded = percent_encode_at(s, at, upper);
        prop_assert!(!uri.matches(&encoded), "{} vs {}", s, encoded);
        // Appended text never matches, except digits that make another port of a loopback URI
        // (`http://127.0.0.1:8` + `0`), which the loopback rule allows.
        let appended = format!("{s}{tail}");
        prop_assert_eq!(uri.matches(&appended), loopback_equivalent(s, &appended), "{} vs {}", s, appended);
        if s.starts_with("https://") {
            prop_assert!(!uri.matches(&appended), "{} vs {}", s, appended);
        }
    }
}
