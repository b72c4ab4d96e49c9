//! Redirect URIs: the rules for registering one and for matching a presented one.
//!
//! Matching is exact string equality, with one exception from RFC 8252 section 7.3: a redirect URI
//! registered on a loopback IP literal (`http://127.0.0.1` or `http://[::1]`) matches any TCP port
//! (1 to 65535).
//! Nothing is case-folded, decoded or normalised.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a redirect URI cannot be registered: the URI (escaped for display) and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("redirect URI `{uri}` {reason}")]
pub struct InvalidRedirectUri {
    pub uri: String,
    pub reason: RedirectUriProblem,
}

/// The registration rule a redirect URI broke. The text is the English the admin API and the
/// CLI show after the URI; the pages say it in their language (`web::pages::copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedirectUriProblem {
    #[error("is longer than 2048 characters")]
    TooLong,
    #[error("contains whitespace or control characters")]
    Whitespace,
    #[error("contains a percent-encoded control character")]
    EncodedControl,
    #[error("contains a wildcard; redirect URIs are matched exactly")]
    Wildcard,
    #[error("has a fragment, which RFC 6749 section 3.1.2 forbids")]
    Fragment,
    #[error(
        "uses plain http on localhost; use http://127.0.0.1 (any port), or register the client \
         with allow_http_localhost = true (CLI --allow-http-localhost) for development"
    )]
    HttpLocalhost,
    #[error("uses plain http; only https, or http on 127.0.0.1 or [::1] for native apps, is allowed")]
    PlainHttp,
    #[error("must start with https:// (or http://127.0.0.1 or http://[::1])")]
    Scheme,
    #[error("has user information before the host")]
    UserInfo,
    #[error("has no host")]
    NoHost,
    #[error("has an encoded or escaped host")]
    EncodedHost,
    #[error("has an encoded dot, slash or backslash in its path")]
    EncodedPath,
    #[error("has a `.` or `..` path segment")]
    DotSegment,
    #[error("is not a valid absolute URL")]
    NotAbsolute,
}

/// A redirect URI that passed the registration rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUri(String);

const LOOPBACK_HOSTS: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];
const MAX_LEN: usize = 2048;

impl RedirectUri {
    /// Checks a redirect URI offered for registration by a client without the development
    /// opt-in: plain http only on a loopback IP literal.
    pub fn parse(raw: &str) -> Result<RedirectUri, InvalidRedirectUri> {
        RedirectUri::parse_for(raw, false)
    }

    /// Checks a redirect URI offered for registration. `allow_http_localhost` is the client's
    /// development opt-in: it also admits `http://localhost[:port]/...`, matched exactly like any
    /// other URI (RFC 8252 section 8.3 advises against it, hence the opt-in).
    pub fn parse_for(raw: &str, allow_http_localhost: bool) -> Result<RedirectUri, InvalidRedirectUri> {
        use RedirectUriProblem as P;
        let refuse = |reason| {
            Err(InvalidRedirectUri {
                uri: raw.escape_debug().to_string(),
                reason,
            })
        };
        if raw.len() > MAX_LEN {
            return refuse(P::TooLong);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse(P::Whitespace);
        }
        if has_encoded_control(raw) {
            return refuse(P::EncodedControl);
        }
        if raw.contains('*') {
            return refuse(P::Wildcard);
        }
        if raw.contains('#') {
            return refuse(P::Fragment);
        }
        let rest = if let Some(rest) = raw.strip_prefix("https://") {
            rest
        } else if let Some(rest) = raw.strip_prefix("http://") {
            if is_localhost(raw) && !allow_http_localhost {
                return refuse(P::HttpLocalhost);
            }
            if !is_loopback(raw) && !is_localhost(raw) {
                return refuse(P::PlainHttp);
            }
            rest
        } else {
            return refuse(P::Scheme);
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(authority_end);
        if authority.contains('@') {
            return refuse(P::UserInfo);
        }
        if authority.is_empty() || authority.starts_with(':') {
            return refuse(P::NoHost);
        }
        if authority.contains('%') || authority.contains('\\') {
            return refuse(P::EncodedHost);
        }
        let path = path_and_query.split('?').next().unwrap_or_default();
        let lowered = path.to_ascii_lowercase();
        if lowered.contains("%2e") || lowered.contains("%2f") || lowered.contains("%5c") {
            return refuse(P::EncodedPath);
        }
        if path
            .split('/')
            .any(|seg| seg == "." || seg == ".." || seg.starts_with("..;"))
        {
            return refuse(P::DotSegment);
        }
        match url::Url::parse(raw) {
            Ok(url) if url.host().is_some() && url.username().is_empty() && url.password().is_none() => {}
            _ => return refuse(P::NotAbsolute),
        }
        Ok(RedirectUri(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` (from an authorization or token request) designates this registered URI.
    pub fn matches(&self, presented: &str) -> bool {
        if self.0 == presented {
            return true;
        }
        match (split_loopback(&self.0), split_loopback(presented)) {
            (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
            _ => false,
        }
    }
}

/// Whether `raw` has a `%XX` escape of a control character (such as `%09`, `%0a`, `%0d`).
fn has_encoded_control(raw: &str) -> bool {
    raw.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && std::str::from_utf8(&w[1..])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .is_some_and(|b| b < 0x20 || b == 0x7f)
    })
}

fn is_loopback(raw: &str) -> bool {
    split_loopback(raw).is_some()
}

/// Whether `raw` is `http://localhost`, with or without a port, followed by nothing, a path or a
/// query.
fn is_localhost(raw: &str) -> bool {
    raw.strip_prefix("http://localhost")
        .and_then(after_host)
        .is_some()
}

/// What follows the host: an optional `:PORT` (1 to 65535) is skipped, and the rest must be
/// empty, a path or a query; `None` otherwise (`localhost.evil`, `localhost@evil`, port 0).
fn after_host(after: &str) -> Option<&str> {
    let rest = match after.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            let port = port_and_rest[..digits].parse::<u32>().ok();
            if digits > 5 || !port.is_some_and(|p| (1..=65_535).contains(&p)) {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after,
    };
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')).then_some(rest)
}

impl RedirectUri {
    /// Whether this is an `http://localhost` URI, which needs the client's development opt-in.
    pub fn is_http_localhost(&self) -> bool {
        is_localhost(&self.0)
    }
}

/// Splits `http://127.0.0.1:PORT/rest` into the scheme-and-host and the part after the port.
fn split_loopback(raw: &str) -> Option<(&'static str, &str)> {
    LOOPBACK_HOSTS.into_iter().find_map(|host| {
        let rest = after_host(raw.strip_prefix(host)?)?;
        Some((host, rest))
    })
}

/// Reading a stored registration: `http://localhost` passed its client's opt-in when it was
/// registered, and [`crate::domain::Client::rule_violations`] checks that the opt-in is still on.
impl TryFrom<String> for RedirectUri {
    type Error = InvalidRedirectUri;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RedirectUri::parse_for(&s, true)
    }
}

impl From<RedirectUri> for String {
    fn from(r: RedirectUri) -> String {
        r.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> RedirectUri {
        RedirectUri::parse(s).unwrap()
    }

    #[test]
    fn http_localhost_registers_only_with_the_opt_in_and_matches_exactly() {
        let refused = RedirectUri::parse("http://localhost:8000/callback").unwrap_err();
        assert!(
            refused.reason.to_string().contains("allow_http_localhost"),
            "{refused}"
        );
        assert!(
            refused.reason.to_string().contains("http://127.0.0.1"),
            "{refused}"
        );
        let ok = RedirectUri::parse_for("http://localhost:8000/callback", true).unwrap();
        assert!(ok.is_http_localhost());
        assert!(ok.matches("http://localhost:8000/callback"));
        for other in [
            "http://localhost:8001/callback",
            "http://localhost/callback",
            "http://LOCALHOST:8000/callback",
            "http://localhost:8000/callback/",
        ] {
            assert!(!ok.matches(other), "{other}");
        }
        for bad in [
            "http://localhost.evil.example/cb",
            "http://localhost@evil.example/cb",
            "http://localhost:0/cb",
            "http://localhost:99999/cb",
        ] {
            assert!(RedirectUri::parse_for(bad, true).is_err(), "{bad}");
        }
        assert!(!uri("https://localhost/cb").is_http_localhost());
    }

    #[test]
    fn https_and_loopback_uris_register() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?tenant=1",
            "https://app.example.com:8443/",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8400/callback",
            "http://[::1]:9000/cb",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn dangerous_uris_are_refused_at_registration() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,hi",
            "http://app.example.com/cb",
            "http://localhost:8080/cb",
            "https://app.example.com/cb#frag",
            "https://user@app.example.com/cb",
            "https://a@b@evil.example/",
            "https://app.example.com/*",
            "https://*.example.com/cb",
            "https://app.example.com/c b",
            "https://app.example.com/cb%09",
            "https://app.example.com/\tcb",
            "https://app.example.com/cb\n",
            "https://app.example.com/cb\r",
            "https://app.example.com/a/../cb",
            "https://app.example.com/a/..;/cb",
            "https://app.example.com/%2e%2e/cb",
            "https:///cb",
            "https://",
            "ftp://app.example.com/",
            "//app.example.com/cb",
            "/relative",
            "",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn matching_is_exact_without_case_folding_or_normalisation() {
        let r = uri("https://app.example.com/callback");
        assert!(r.matches("https://app.example.com/callback"));
        for other in [
            "https://APP.example.com/callback",
            "https://app.example.com/Callback",
            "https://app.example.com/callback/",
            "https://app.example.com/callback?x=1",
            "https://app.example.com.evil/callback",
            "https://app.example.com:443/callback",
            "https://app.example.com/%63allback",
            "https://app.example.com/callback/../callback",
            "https://app.example.com/callback%09",
            "https://app.example.com/callback#x",
            "http://app.example.com/callback",
        ] {
            assert!(!r.matches(other), "{other} must not match");
        }
    }

    #[test]
    fn loopback_redirects_match_any_port_but_nothing_else() {
        let r = uri("http://127.0.0.1/callback?x=1");
        assert!(r.matches("http://127.0.0.1:51234/callback?x=1"));
        assert!(r.matches("http://127.0.0.1/callback?x=1"));
        assert!(r.matches("http://127.0.0.1:65535/callback?x=1"));
        assert!(r.matches("http://127.0.0.1:1/callback?x=1"));
        for other in [
            "http://127.0.0.1:51234/callback",
            "http://127.0.0.1:51234/callback?x=2",
            "http://localhost:51234/callback?x=1",
            "http://[::1]:51234/callback?x=1",
            "http://127.0.0.1.evil.example/callback?x=1",
            "http://127.0.0.1@evil.example/callback?x=1",
            "http://127.0.0.1:/callback?x=1",
            "http://127.0.0.1:123456/callback?x=1",
            "http://127.0.0.1:99999/callback?x=1",
            "http://127.0.0.1:65536/callback?x=1",
            "http://127.0.0.1:0/callback?x=1",
            "http://127.0.0.1:00000/callback?x=1",
            "https://127.0.0.1:51234/callback?x=1",
        ] {
            assert!(!r.matches(other), "{other} must not match");
        }
        let v6 = uri("http://[::1]:8000/cb");
        assert!(v6.matches("http://[::1]:9/cb"));
        assert!(!v6.matches("http://127.0.0.1:9/cb"));
    }
}
