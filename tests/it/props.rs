//! Property tests (proptest) for the parsers that read hostile input: redirect URIs, form
//! parameters, HTTP Basic client credentials, compact JWS, and the configuration file. None may
//! panic on any input, and each refuses bad input with the right error. (Cookie and CSRF token
//! decoding are crate-private; their properties live in `src/web/csrf.rs`.)
//!
//! Case counts are modest so the suite stays fast; failures are not persisted to files, and
//! proptest prints the smallest failing input it finds.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use latchkey::config::{self, Overrides};
use latchkey::crypto::jwt::{self, JwtError, MAX_TOKEN_LEN};
use latchkey::crypto::{b64url, keys};
use latchkey::domain::{RedirectUri, SigningKeyRecord, Timestamp};
use latchkey::protocol::ErrorCode;
use latchkey::protocol::client_auth::{self, ClientCredentials};
use latchkey::protocol::params::{MAX_PARAMS, MAX_VALUE_LEN, Params, ParamsError};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::{Map, Value, json};

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Redirect URIs

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

// ---------------------------------------------------------------------------------------------
// Form parameters

fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code",
            "a",
            "A",
            "a b",
            "é"
        ])
        .prop_map(str::to_owned),
        "\\PC{0,6}",
    ]
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "\\PC{0,12}", "[&=+%; ]{1,6}",]
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn parameter_parsing_never_panics_and_stays_within_bounds(
        text in prop_oneof![
            any::<String>(),
            "([a-z%&=+;]|%[0-9a-fA-F]{0,2}|%[^0-9a-fA-F]){0,80}",
        ]
    ) {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(text.as_bytes()).into_owned().collect();
        match Params::parse(&text) {
            Ok(params) => {
                prop_assert!(pairs.len() <= MAX_PARAMS);
                for (name, value) in &pairs {
                    prop_assert!(value.len() <= MAX_VALUE_LEN);
                    let first = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
                    prop_assert_eq!(params.get(name), first.filter(|v| !v.is_empty()));
                }
            }
            Err(ParamsError::TooMany) => prop_assert!(pairs.len() > MAX_PARAMS),
            Err(ParamsError::TooLong(name)) => {
                prop_assert!(pairs.iter().any(|(n, v)| *n == name && v.len() > MAX_VALUE_LEN));
            }
        }
    }

    #[test]
    fn repeated_parameters_are_detected_and_the_first_value_is_kept(
        pairs in prop::collection::vec((param_name(), param_value()), 0..24)
    ) {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            encoded.append_pair(k, v);
        }
        let params = Params::parse(&encoded.finish()).expect("few short parameters parse");
        for (name, _) in &pairs {
            let count = pairs.iter().filter(|(n, _)| n == name).count();
            prop_assert_eq!(params.is_repeated(name), count > 1, "{}", name);
            let first = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            prop_assert_eq!(params.get(name), first.filter(|v| !v.is_empty()));
        }
        prop_assert!(!params.is_repeated("never-sent"));
    }

    #[test]
    fn parameter_count_and_length_are_bounded(
        count in 0..(3 * MAX_PARAMS),
        len in (MAX_VALUE_LEN - 2)..=(MAX_VALUE_LEN + 2),
        percent_encoded in any::<bool>(),
    ) {
        let many: Vec<String> = (0..count).map(|i| format!("p{i}=1")).collect();
        let result = Params::parse(&many.join("&"));
        if count > MAX_PARAMS {
            prop_assert_eq!(result, Err(ParamsError::TooMany));
        } else {
            prop_assert!(result.is_ok());
        }
        // The bound is on the decoded value, however it was encoded.
        let value = if percent_encoded { "%41".repeat(len) } else { "A".repeat(len) };
        let result = Params::parse(&format!("state={value}"));
        if len > MAX_VALUE_LEN {
            prop_assert_eq!(result, Err(ParamsError::TooLong("state".into())));
        } else {
            prop_assert_eq!(result.map(|p| p.get("state").map(str::len)), Ok(Some(len)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP Basic client authentication

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Text shaped like an `Authorization` header, valid or not.
fn authorization_like() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![
        prop::sample::select(vec![
            "Basic", "basic", "BASIC", "Bearer", "Digest", "Basic:", "", " Basic"
        ])
        .prop_map(str::to_owned),
        "[A-Za-z]{1,8}",
    ];
    let sep = prop::sample::select(vec![" ", "  ", "\t", "", " \t "]).prop_map(str::to_owned);
    let credentials = prop_oneof![
        // Real Basic credentials of arbitrary text, sometimes form-encoded first.
        ("\\PC{0,10}", any::<bool>()).prop_map(|(raw, encode)| {
            let inner = if encode { form_encode(&raw) } else { raw };
            STANDARD.encode(inner)
        }),
        // Base64 of arbitrary bytes (often not UTF-8, often without a colon).
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| STANDARD.encode(b)),
        // Broken base64: wrong alphabet, padding or length.
        "[A-Za-z0-9+/=_!%-]{0,16}",
        any::<String>(),
    ];
    (scheme, sep, credentials).prop_map(|(s, sep, c)| format!("{s}{sep}{c}"))
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn client_credential_extraction_never_panics(
        header in prop::option::of(prop_oneof![any::<String>(), authorization_like()]),
        form_id in prop::option::of(any::<String>()),
        form_secret in prop::option::of(any::<String>()),
    ) {
        let _ = client_auth::extract(header.as_deref(), form_id.as_deref(), form_secret.as_deref());
    }

    #[test]
    fn an_authorization_header_is_either_basic_credentials_or_invalid_client(
        header in prop_oneof![any::<String>(), authorization_like()]
    ) {
        match client_auth::extract(Some(&header), None, None) {
            Ok(ClientCredentials::Basic { client_id, .. }) => {
                let scheme = header.trim().split(' ').next().unwrap_or_default();
                prop_assert!(scheme.eq_ignore_ascii_case("basic"), "{:?}", header);
                prop_assert!(!client_id.is_empty());
            }
            Ok(other) => prop_assert!(false, "{:?} read as {:?}", header, other),
            Err(e) => {
                prop_assert_eq!(e.error.code, ErrorCode::InvalidClient, "{:?}", header);
                prop_assert!(e.basic, "a bad header is answered with a Basic challenge: {:?}", header);
            }
        }
    }

    #[test]
    fn basic_credentials_round_trip_through_form_encoding(
        id in "\\PC{1,16}",
        secret in "\\PC{0,40}",
    ) {
        let header = format!("Basic {}", STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret))));
        prop_assert_eq!(
            client_auth::extract(Some(&header), None, None),
            Ok(ClientCredentials::Basic { client_id: id, secret })
        );
    }

    #[test]
    fn malformed_basic_credentials_are_invalid_client(
        scheme in prop_oneof![
            "[A-Za-z]{1,8}".prop_filter("not Basic", |s| !s.eq_ignore_ascii_case("basic")),
            Just("Basic".to_owned()),
        ],
        junk in prop_oneof![
            // A character outside the standard base64 alphabet.
            ("[A-Za-z0-9]{0,8}", "[-_!*.~@]", "[A-Za-z0-9]{0,8}").prop_map(|(a, b, c)| format!("{a}{b}{c}")),
            // Valid base64 of text without a colon.
            "[^:]{0,12}".prop_map(|s| STANDARD.encode(s)),
            // Valid base64 of bytes that are not UTF-8.
            prop::collection::vec(128u8..192, 1..8).prop_map(|b| STANDARD.encode(b)),
            // An empty client id, or a broken percent-escape.
            "[a-z]{0,6}".prop_map(|s| STANDARD.encode(format!(":{s}"))),
            "%[g-z]?|%[0-9]".prop_map(|bad| STANDARD.encode(format!("app{bad}:secret"))),
        ],
    ) {
        let e = client_auth::extract(Some(&format!("{scheme} {junk}")), Some("app"), None)
            .expect_err("a malformed header is refused");
        prop_assert_eq!(e.error.code, ErrorCode::InvalidClient);
        prop_assert!(e.basic);
    }
}

// ---------------------------------------------------------------------------------------------
// Compact JWS

static ED: LazyLock<SigningKeyRecord> =
    LazyLock::new(|| keys::generate(Timestamp(1)).expect("an Ed25519 key"));
static RSA: LazyLock<SigningKeyRecord> =
    LazyLock::new(|| keys::generate_rsa(Timestamp(1)).expect("an RSA key"));

fn both_keys() -> Vec<SigningKeyRecord> {
    vec![ED.clone(), RSA.clone()]
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        Just(Value::Null),
    ];
    prop::collection::btree_map("[a-z_]{1,8}", leaf, 0..6).prop_map(|m| m.into_iter().collect())
}

fn forge(header: &Value, payload: &str, signature: &str) -> String {
    format!("{}.{payload}.{signature}", b64url(header.to_string().as_bytes()))
}

/// Replaces the character at byte `i` (an ASCII character) of `s` with `c`.
fn replace_at(s: &str, i: usize, c: char) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    out.push_str(&s[..i]);
    out.push(c);
    out.push_str(&s[i + 1..]);
    out
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn arbitrary_text_never_verifies(
        token in prop_oneof![
            any::<String>(),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..5)
                .prop_map(|parts| parts.iter().map(|p| b64url(p)).collect::<Vec<_>>().join(".")),
            prop::collection::vec("[A-Za-z0-9_=+/-]{0,40}", 0..5).prop_map(|p| p.join(".")),
        ]
    ) {
        prop_assert!(jwt::verify(&token, &both_keys(), None).is_err(), "{}", token);
    }

    #[test]
    fn signed_tokens_verify_to_their_claims(claims in claims(), rsa in any::<bool>()) {
        let key = if rsa { RSA.clone() } else { ED.clone() };
        let token = jwt::sign(&key, "at+jwt", &claims).expect("signing");
        prop_assert_eq!(jwt::verify(&token, &both_keys(), Some("at+jwt")), Ok(claims));
        prop_assert_eq!(jwt::verify(&token, &both_keys(), Some("JWT")), Err(JwtError::Type));
    }

    #[test]
    fn alg_none_is_refused_with_or_without_a_signature(
        alg in prop::sample::select(vec!["none", "None", "NONE", "nOnE"]),
        with_kid in any::<bool>(),
        claims in claims(),
        signature in prop_oneof![Just(String::new()), "[A-Za-z0-9_-]{1,90}"],
    ) {
        let header = if with_kid { json!({"alg": alg, "kid": ED.kid}) } else { json!({"alg": alg}) };
        let payload = b64url(Value::Object(claims).to_string().as_bytes());
        let token = forge(&header, &payload, &signature);
        prop_assert_eq!(jwt::verify(&token, &both_keys(), None), Err(JwtError::Algorithm));
    }

    #[test]
    fn unknown_algorithms_and_algorithms_the_key_lacks_are_refused(
        alg in prop_oneof![
            any::<String>(),
            prop::sample::select(vec!["HS256", "HS512", "RS512", "PS256", "ES256", "eddsa", "EDDSA", "ed25519", "rs256", "EdDSA ", ""])
                .prop_map(str::to_owned),
        ]
        .prop_filter("not an accepted name", |a| !matches!(a.as_str(), "EdDSA" | "Ed25519" | "RS256")),
        claims in claims(),
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let mut parts = good.split('.').skip(1);
        let (payload, signature) = (parts.next().unwrap(), parts.next().unwrap());
        let forged = forge(&json!({"alg": alg, "kid": ED.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&forged, &both_keys(), None), Err(JwtError::Algorithm));
        // A name the server knows, on a key of the other kind.
        let rs_on_ed = forge(&json!({"alg": "RS256", "kid": ED.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&rs_on_ed, &both_keys(), None), Err(JwtError::Algorithm));
        let ed_on_rsa = forge(&json!({"alg": "EdDSA", "kid": RSA.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&ed_on_rsa, &both_keys(), None), Err(JwtError::Algorithm));
        // A non-string algorithm.
        let numeric = forge(&json!({"alg": 1, "kid": ED.kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&numeric, &both_keys(), None), Err(JwtError::Algorithm));
    }

    #[test]
    fn an_unknown_or_missing_kid_is_refused(
        kid in prop_oneof![
            any::<String>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
        ]
        .prop_filter("not a known kid", |k| k.as_str() != Some(ED.kid.as_str()) && k.as_str() != Some(RSA.kid.as_str())),
        claims in claims(),
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let mut parts = good.split('.').skip(1);
        let (payload, signature) = (parts.next().unwrap(), parts.next().unwrap());
        let forged = forge(&json!({"alg": "EdDSA", "kid": kid}), payload, signature);
        prop_assert_eq!(jwt::verify(&forged, &both_keys(), None), Err(JwtError::UnknownKey));
        let kidless = forge(&json!({"alg": "EdDSA"}), payload, signature);
        prop_assert_eq!(jwt::verify(&kidless, &both_keys(), None), Err(JwtError::UnknownKey));
        // The right kid, but the key set no longer has it.
        prop_assert_eq!(jwt::verify(&good, std::slice::from_ref(&RSA), None), Err(JwtError::UnknownKey));
    }

    #[test]
    fn truncated_tokens_are_refused(claims in claims(), cut in any::<prop::sample::Index>()) {
        let ed = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let short = &ed[..cut.index(ed.len())];
        prop_assert_eq!(jwt::verify(short, &both_keys(), None), Err(JwtError::Malformed), "{}", short);
        // An RSA signature has no fixed length here, so a shortened one may decode and then fail.
        let rs = jwt::sign(&RSA, "JWT", &claims).expect("signing");
        let short = &rs[..cut.index(rs.len())];
        let result = jwt::verify(short, &both_keys(), None);
        prop_assert!(matches!(result, Err(JwtError::Malformed | JwtError::Signature)), "{:?} for {}", result, short);
    }

    #[test]
    fn oversized_tokens_are_refused_before_anything_is_decoded(
        claims in claims(),
        extra in 1usize..2048,
        filler in "[A-Za-z0-9._-]",
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let padded = format!("{good}{}", filler.repeat(MAX_TOKEN_LEN + extra - good.len()));
        prop_assert_eq!(jwt::verify(&padded, &both_keys(), None), Err(JwtError::Oversized));
        let junk = filler.repeat(MAX_TOKEN_LEN + extra);
        prop_assert_eq!(jwt::verify(&junk, &both_keys(), None), Err(JwtError::Oversized));
    }

    #[test]
    fn bad_base64_is_refused(
        claims in claims(),
        part in 0usize..3,
        at in any::<prop::sample::Index>(),
        bad in prop::sample::select(vec!['+', '/', '=', '!', '*', ' ', '~', '%', 'é', '\u{0}']),
        rsa in any::<bool>(),
    ) {
        let key = if rsa { RSA.clone() } else { ED.clone() };
        let good = jwt::sign(&key, "JWT", &claims).expect("signing");
        let parts: Vec<&str> = good.split('.').collect();
        let start: usize = parts[..part].iter().map(|p| p.len() + 1).sum();
        let i = start + at.index(parts[part].len());
        let broken = replace_at(&good, i, bad);
        // The header and signature are decoded; the payload is covered by the signature, which
        // then no longer verifies.
        let expected = if part == 1 { JwtError::Signature } else { JwtError::Malformed };
        prop_assert_eq!(jwt::verify(&broken, &both_keys(), None), Err(expected), "{}", broken);
    }

    #[test]
    fn tampered_payloads_are_refused(
        claims in claims(),
        at in any::<prop::sample::Index>(),
        with in "[A-Za-z0-9_-]",
    ) {
        let good = jwt::sign(&ED, "JWT", &claims).expect("signing");
        let mut parts = good.split('.');
        let (header, payload, signature) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let i = at.index(payload.len());
        let c = with.chars().next().unwrap();
        prop_assume!(payload.as_bytes()[i] != c as u8);
        let tampered = format!("{header}.{}.{signature}", replace_at(payload, i, c));
        prop_assert_eq!(jwt::verify(&tampered, &both_keys(), None), Err(JwtError::Signature));
    }
}

// ---------------------------------------------------------------------------------------------
// The configuration file

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
