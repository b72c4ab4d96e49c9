//! CSRF protection for forms: a double-submit token. A random token lives in a `SameSite=Strict`,
//! `HttpOnly` cookie and in a hidden form field; a POST is accepted only when both are present and
//! equal. A cross-site page can neither read the cookie nor set it.

use poem::Request;

use crate::crypto::{self, random};

const TOKEN_LEN: usize = 43;

/// The cookie's name: `__Host-` prefixed when served over https.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-latchkey-csrf"
    } else {
        "latchkey-csrf"
    }
}

/// Reads the value of cookie `name` from the request's `Cookie` headers.
pub fn read_cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `Set-Cookie` value with the attributes every Latchkey cookie carries.
pub fn set_cookie(name: &str, value: &str, https: bool, same_site: &str, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if https {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// The token to put in a form, and a `Set-Cookie` value when the browser has no token yet.
pub fn issue(req: &Request, https: bool) -> Result<(String, Option<String>), random::RngError> {
    match read_cookie(req, cookie_name(https)).filter(|t| well_formed(t)) {
        Some(token) => Ok((token.to_owned(), None)),
        None => {
            let token = random::token()?;
            let cookie = set_cookie(cookie_name(https), &token, https, "Strict", None);
            Ok((token, Some(cookie)))
        }
    }
}

/// Whether the form's token matches the cookie.
pub fn verify(req: &Request, https: bool, form_token: &str) -> bool {
    match read_cookie(req, cookie_name(https)) {
        Some(cookie) => {
            well_formed(cookie) && crypto::constant_time_eq(cookie.as_bytes(), form_token.as_bytes())
        }
        None => false,
    }
}

#[cfg(test)]
mod props {
    //! Properties of cookie reading and the CSRF double-submit check on arbitrary `Cookie`
    //! headers: nothing panics, and no token is accepted unless it equals a well-formed cookie.

    use poem::http::HeaderValue;
    use poem::http::header::COOKIE;
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    fn cases() -> Config {
        Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// A request carrying each of `headers` as a `Cookie` header (bytes a header cannot hold are
    /// left out, as the HTTP layer would refuse them).
    fn request(headers: &[Vec<u8>]) -> Request {
        let mut req = Request::builder().finish();
        for h in headers {
            if let Ok(v) = HeaderValue::from_bytes(h) {
                req.headers_mut().append(COOKIE, v);
            }
        }
        req
    }

    fn with_cookie(name: &str, value: &str) -> Request {
        request(&[format!("{name}={value}").into_bytes()])
    }

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{43}"
    }

    /// Text shaped like a `Cookie` header: pairs, stray separators, our names, odd bytes.
    fn cookie_header() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "latchkey-csrf",
                "__Host-latchkey-csrf",
                "latchkey-session",
                "=",
                ";",
                "; ",
                " ",
                "==",
                "\"",
                "\t",
                ",",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            "[A-Za-z0-9_-]{0,43}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..6),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    /// Tokens that differ from `t`: one character changed, cut short, lengthened, or anything.
    fn other_than(t: String) -> impl Strategy<Value = String> {
        let (a, b, c) = (t.clone(), t.clone(), t.clone());
        prop_oneof![
            (0..t.len(), "[A-Za-z0-9_-]").prop_map(move |(i, ch)| {
                let mut s = a.clone();
                s.replace_range(i..=i, &ch);
                s
            }),
            (0..t.len()).prop_map(move |n| b[..n].to_owned()),
            "[A-Za-z0-9_= -]{1,3}".prop_map(move |tail| format!("{c}{tail}")),
            any::<String>(),
        ]
        .prop_filter("a different token", move |o| *o != t)
    }

    proptest! {
        #![proptest_config(cases())]

        #[test]
        fn reading_cookies_never_panics_and_returns_only_what_a_pair_holds(
            headers in prop::collection::vec(cookie_header(), 0..3),
            name in prop_oneof![
                Just("latchkey-csrf".to_owned()),
                Just("__Host-latchkey-csrf".to_owned()),
                "\\PC{0,8}",
            ],
        ) {
            let req = request(&headers);
            if let Some(value) = read_cookie(&req, &name) {
                let pair = format!("{name}={value}");
                let found = req
                    .headers()
                    .get_all(COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(';'))
                    .any(|p| p.trim() == pair);
                prop_assert!(found, "{:?} is not a pair in {:?}", pair, headers);
            }
            for https in [false, true] {
                let _ = verify(&req, https, "");
                let _ = issue(&req, https);
            }
        }

        #[test]
        fn a_cookie_is_found_among_others(
            before in prop::collection::vec("[a-z]{1,6}=[a-z0-9=]{0,6}", 0..4),
            after in prop::collection::vec("[a-z]{1,6}=[a-z0-9=]{0,6}", 0..4),
            value in "[A-Za-z0-9_=-]{0,50}",
            https in any::<bool>(),
        ) {
            let name = cookie_name(https);
            let mut pairs = before;
            pairs.push(format!("{name}={value}"));
            pairs.extend(after);
            let req = request(&[pairs.join("; ").into_bytes()]);
            prop_assert_eq!(read_cookie(&req, name), Some(value.as_str()));
        }

        #[test]
        fn a_form_token_is_accepted_only_when_it_equals_a_well_formed_cookie(
            (cookie, form) in token().prop_flat_map(|t| (Just(t.clone()), other_than(t))),
            https in any::<bool>(),
        ) {
            let req = with_cookie(cookie_name(https), &cookie);
            prop_assert!(verify(&req, https, &cookie));
            prop_assert!(!verify(&req, https, &form), "{:?} accepted for cookie {:?}", form, cookie);
            // The token in the other scheme's cookie does not count (an http subdomain can set
            // `latchkey-csrf`, never `__Host-latchkey-csrf`).
            let req = with_cookie(cookie_name(!https), &cookie);
            prop_assert!(!verify(&req, https, &cookie));
            // No cookie at all.
            prop_assert!(!verify(&request(&[]), https, &cookie));
        }

        #[test]
        fn a_malformed_cookie_is_never_accepted_even_when_the_form_repeats_it(
            cookie in prop_oneof![
                any::<String>(),
                "[A-Za-z0-9_-]{0,42}",
                "[A-Za-z0-9_-]{44,60}",
                "[A-Za-z0-9_-]{20}[^A-Za-z0-9_-][A-Za-z0-9_-]{22}",
            ]
            .prop_filter("malformed", |c| !well_formed(c)),
            https in any::<bool>(),
        ) {
            let req = with_cookie(cookie_name(https), &cookie);
            // A value cut at a `;` may leave a well-formed token in front; that is not this case.
            prop_assume!(read_cookie(&req, cookie_name(https)).is_none_or(|seen| !well_formed(seen)));
            prop_assert!(!verify(&req, https, &cookie), "{:?}", cookie);
            // And it is replaced by a fresh, well-formed token.
            if let Ok((token, set)) = issue(&req, https) {
                prop_assert!(well_formed(&token));
                prop_assert_ne!(&token, &cookie);
                let set = set.unwrap_or_default();
                prop_assert!(set.starts_with(&format!("{}={token};", cookie_name(https))), "{}", set);
                prop_assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{}", set);
                prop_assert_eq!(set.contains("Secure"), https, "{}", set);
            }
        }

        #[test]
        fn a_well_formed_cookie_is_reused_without_a_new_set_cookie(cookie in token(), https in any::<bool>()) {
            let req = with_cookie(cookie_name(https), &cookie);
            let (token, set) = issue(&req, https).expect("no randomness needed");
            prop_assert_eq!(token, cookie);
            prop_assert_eq!(set, None);
        }
    }
}
