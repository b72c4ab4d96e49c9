//! CSRF protection for forms: a signed double-submit token bound to the browser's session.
//!
//! The `SameSite=Strict`, `HttpOnly` cookie holds a random nonce and a MAC of it under the
//! server's form key (kept in the store, so it survives restarts and every node shares it): only
//! Latchkey can mint a cookie that verifies, so a cookie planted over plain http by a sibling
//! host (cookie tossing) with a value of the attacker's choosing never validates. The hidden form
//! field holds a second MAC, of the nonce and the browser's session cookie: a form token is good
//! only for the cookie and the session it was issued with, so a pair copied from the attacker's
//! own browser does not work in a signed-in victim's. A POST is accepted only when both verify.

use poem::Request;

use crate::crypto::{self, b64url, random};
use crate::service::{App, forms};

/// The length of a base64url SHA-256 MAC or a 32-byte nonce.
const PART_LEN: usize = 43;

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

fn base64url_part(part: &str) -> bool {
    part.len() == PART_LEN
        && part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The nonce of a cookie value `nonce.mac` whose MAC verifies under `key`.
fn cookie_nonce<'c>(cookie: &'c str, key: &[u8; 32]) -> Option<&'c str> {
    let (nonce, tag) = cookie.split_once('.')?;
    if !base64url_part(nonce) || !base64url_part(tag) {
        return None;
    }
    let expected = b64url(&crypto::hmac_sha256(key, &[b"csrf-cookie", nonce.as_bytes()]));
    crypto::constant_time_eq(expected.as_bytes(), tag.as_bytes()).then_some(nonce)
}

/// The form token for `nonce` and the browser's session cookie (empty without one).
fn form_token(key: &[u8; 32], nonce: &str, session: &str) -> String {
    b64url(&crypto::hmac_sha256(
        key,
        &[b"csrf-form", nonce.as_bytes(), session.as_bytes()],
    ))
}

fn session_of(req: &Request, https: bool) -> &str {
    read_cookie(req, super::session_cookie::name(https)).unwrap_or("")
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

/// The token to put in a form, and a `Set-Cookie` value when the browser has no valid cookie.
/// Inside a page request every call shares one token (the language switcher's form and the
/// page's own), and only the first gets the `Set-Cookie`.
pub fn issue(req: &Request, app: &App) -> Result<(String, Option<String>), String> {
    if let Some(shared) = crate::web::i18n::shared_form_token() {
        return shared;
    }
    issue_from(&source(req, app)?)
        .map(|i| (i.token, i.cookie))
        .map_err(|e| e.to_string())
}

/// What issuing a form token needs from a request, taken once so that a template can issue one
/// later (the language switcher of every page).
#[derive(Debug, Clone)]
pub struct Source {
    https: bool,
    key: [u8; 32],
    /// The browser's form cookie, if it sent one.
    cookie: Option<String>,
    /// The browser's session cookie ("" without one).
    session: String,
}

/// A form token, and the `Set-Cookie` value still to send when the browser had no valid cookie.
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub cookie: Option<String>,
}

/// Takes what [`issue_from`] needs from the request.
pub fn source(req: &Request, app: &App) -> Result<Source, String> {
    let https = app.config.is_https();
    Ok(Source {
        https,
        key: forms::key(app).map_err(|e| e.to_string())?,
        cookie: read_cookie(req, cookie_name(https)).map(str::to_owned),
        session: session_of(req, https).to_owned(),
    })
}

/// Issues a form token for the request [`source`] read.
pub fn issue_from(source: &Source) -> Result<Issued, random::RngError> {
    let key = &source.key;
    if let Some(nonce) = source.cookie.as_deref().and_then(|c| cookie_nonce(c, key)) {
        return Ok(Issued {
            token: form_token(key, nonce, &source.session),
            cookie: None,
        });
    }
    let nonce = random::token()?;
    let tag = b64url(&crypto::hmac_sha256(key, &[b"csrf-cookie", nonce.as_bytes()]));
    let cookie = set_cookie(
        cookie_name(source.https),
        &format!("{nonce}.{tag}"),
        source.https,
        "Strict",
        None,
    );
    Ok(Issued {
        token: form_token(key, &nonce, &source.session),
        cookie: Some(cookie),
    })
}

/// Whether the form's token verifies for this browser's cookie and session, and the POST comes
/// from the issuer's own pages.
pub fn verify(req: &Request, app: &App, form: &str) -> bool {
    if let Err(sent) = same_origin(req, &app.config.issuer) {
        tracing::info!(origin = ?sent, issuer = %app.config.issuer, "refused a form posted from another origin");
        return false;
    }
    match forms::key(app) {
        Ok(key) => verify_with(req, app.config.is_https(), &key, form),
        Err(e) => {
            tracing::error!(error = %e, "no form key: every form is refused");
            false
        }
    }
}

/// Checks that a form POST comes from a page of the issuer's own origin, as the browser says.
/// Over plain http a sibling host can plant a genuine cookie and form token taken from the
/// attacker's own browser (login CSRF), which no token can tell apart; the browser's own word on
/// where the POST comes from can. `Sec-Fetch-Site` first (every current browser sends it; a
/// sibling host is `same-site`, another site `cross-site`). Without it, an `Origin` other than
/// `null` must be the issuer's: Latchkey's pages send `Referrer-Policy: no-referrer`, under which
/// a browser sends `Origin: null` for its own form posts. A request with neither (not a browser)
/// is left to the token. `Err` carries what was sent.
fn same_origin(req: &Request, issuer: &str) -> Result<(), String> {
    let headers = req.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            other => Err(format!(
                "Sec-Fetch-Site: {}",
                other.chars().take(64).collect::<String>()
            )),
        };
    }
    match header("origin") {
        None | Some("null") => Ok(()),
        Some(origin) => {
            let expected = url::Url::parse(issuer).map(|u| u.origin().ascii_serialization());
            match expected {
                Ok(expected) if expected == origin => Ok(()),
                _ => Err(origin.chars().take(256).collect()),
            }
        }
    }
}

/// [`issue_from`] for a request, as the tests call it.
#[cfg(test)]
fn issue_with(
    req: &Request,
    https: bool,
    key: &[u8; 32],
) -> Result<(String, Option<String>), random::RngError> {
    let source = Source {
        https,
        key: *key,
        cookie: read_cookie(req, cookie_name(https)).map(str::to_owned),
        session: session_of(req, https).to_owned(),
    };
    issue_from(&source).map(|i| (i.token, i.cookie))
}

fn verify_with(req: &Request, https: bool, key: &[u8; 32], form: &str) -> bool {
    let Some(nonce) = read_cookie(req, cookie_name(https)).and_then(|c| cookie_nonce(c, key)) else {
        return false;
    };
    let expected = form_token(key, nonce, session_of(req, https));
    crypto::constant_time_eq(expected.as_bytes(), form.as_bytes())
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

    const KEY: [u8; 32] = [7; 32];

    fn with_headers(pairs: &[(&'static str, &str)]) -> Request {
        let mut req = Request::builder().finish();
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(value) {
                req.headers_mut().append(*name, v);
            }
        }
        req
    }

    /// The review's login CSRF over plain http: a genuine pair planted from the attacker's own
    /// browser cannot be told apart by tokens, but the browser says where the POST comes from.
    #[test]
    fn a_form_post_from_another_origin_is_refused_whatever_its_tokens() {
        let issuer = "http://auth.example.test:8080";
        assert!(
            same_origin(
                &with_headers(&[("origin", "http://auth.example.test:8080")]),
                issuer
            )
            .is_ok()
        );
        assert!(
            same_origin(&with_headers(&[]), issuer).is_ok(),
            "no browser headers: left to the token"
        );
        assert!(same_origin(&with_headers(&[("sec-fetch-site", "same-origin")]), issuer).is_ok());
        // What Chromium sends for a form on a no-referrer page of the issuer.
        let own = [("sec-fetch-site", "same-origin"), ("origin", "null")];
        assert!(same_origin(&with_headers(&own), issuer).is_ok());
        for bad in [
            vec![("origin", "http://evil.example.test:8080")],
            vec![("origin", "http://auth.example.test")],
            vec![("origin", "https://auth.example.test:8080")],
            vec![("sec-fetch-site", "same-site"), ("origin", "null")],
            vec![("sec-fetch-site", "cross-site")],
            vec![
                ("sec-fetch-site", "same-site"),
                ("origin", "http://auth.example.test:8080"),
            ],
        ] {
            assert!(same_origin(&with_headers(&bad), issuer).is_err(), "{bad:?}");
        }
        let https = "https://id.example.com/base";
        assert!(same_origin(&with_headers(&[("origin", "https://id.example.com")]), https).is_ok());
    }

    /// A cookie value Latchkey itself would mint for `nonce`.
    fn minted(nonce: &str) -> String {
        format!(
            "{nonce}.{}",
            b64url(&crypto::hmac_sha256(&KEY, &[b"csrf-cookie", nonce.as_bytes()]))
        )
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
                let _ = verify_with(&req, https, &KEY, "");
                let _ = issue_with(&req, https, &KEY);
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

        /// The review's cookie tossing: a planted cookie whose value the attacker chose, with the
        /// form repeating it (plain double submit) or anything else, never verifies.
        #[test]
        fn a_planted_cookie_never_verifies_whatever_the_form_says(
            (nonce, other) in token().prop_flat_map(|t| (Just(t.clone()), other_than(t))),
            https in any::<bool>(),
        ) {
            for planted in [nonce.clone(), format!("{nonce}.{nonce}"), format!("{nonce}.{other}")] {
                let req = with_cookie(cookie_name(https), &planted);
                prop_assert!(!verify_with(&req, https, &KEY, &planted));
                prop_assert!(!verify_with(&req, https, &KEY, &form_token(&KEY, &nonce, "")));
            }
            // A cookie minted under another key (another server) does not verify either.
            let foreign = format!("{nonce}.{}", b64url(&crypto::hmac_sha256(&[8; 32], &[b"csrf-cookie", nonce.as_bytes()])));
            let req = with_cookie(cookie_name(https), &foreign);
            prop_assert!(!verify_with(&req, https, &KEY, &form_token(&KEY, &nonce, "")));
        }

        #[test]
        fn a_form_token_is_accepted_only_for_its_cookie_and_session(
            (nonce, other) in token().prop_flat_map(|t| (Just(t.clone()), other_than(t))),
            session in "[A-Za-z0-9_-]{43}",
            https in any::<bool>(),
        ) {
            let cookie = minted(&nonce);
            let session_pair = format!("{}={session}", crate::web::session_cookie::name(https));
            let req = request(&[format!("{}={cookie}; {session_pair}", cookie_name(https)).into_bytes()]);
            let (token, set) = issue_with(&req, https, &KEY).expect("no randomness needed");
            prop_assert_eq!(set, None, "a valid cookie is reused");
            prop_assert!(verify_with(&req, https, &KEY, &token));
            prop_assert!(!verify_with(&req, https, &KEY, &other));
            // The same cookie without the session, or with another one: the token was bound to it.
            prop_assert!(!verify_with(&with_cookie(cookie_name(https), &cookie), https, &KEY, &token));
            let other_session = request(&[format!("{}={cookie}; {}={}x", cookie_name(https), crate::web::session_cookie::name(https), &session).into_bytes()]);
            prop_assert!(!verify_with(&other_session, https, &KEY, &token));
            // The other scheme's cookie does not count (an http subdomain can set `latchkey-csrf`,
            // never `__Host-latchkey-csrf`).
            let req = with_cookie(cookie_name(!https), &cookie);
            prop_assert!(!verify_with(&req, https, &KEY, &form_token(&KEY, &nonce, "")));
            prop_assert!(!verify_with(&request(&[]), https, &KEY, &token));
        }

        #[test]
        fn an_unverifiable_cookie_is_replaced_by_a_fresh_minted_one(
            cookie in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}"],
            https in any::<bool>(),
        ) {
            let req = with_cookie(cookie_name(https), &cookie);
            prop_assume!(read_cookie(&req, cookie_name(https)).is_none_or(|seen| cookie_nonce(seen, &KEY).is_none()));
            if let Ok((token, set)) = issue_with(&req, https, &KEY) {
                let set = set.unwrap_or_default();
                let value = set
                    .strip_prefix(&format!("{}=", cookie_name(https)))
                    .and_then(|rest| rest.split(';').next())
                    .unwrap_or_default()
                    .to_owned();
                prop_assert!(cookie_nonce(&value, &KEY).is_some(), "{}", set);
                prop_assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{}", set);
                prop_assert_eq!(set.contains("Secure"), https, "{}", set);
                let fresh = with_cookie(cookie_name(https), &value);
                prop_assert!(verify_with(&fresh, https, &KEY, &token));
            }
        }
    }
}
