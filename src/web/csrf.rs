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
