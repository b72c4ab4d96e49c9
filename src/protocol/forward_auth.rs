//! The address a forward-auth question is about, put together from the one header family of the
//! endpoint that got it, and the checks every such address passes: a host name (no user info, no
//! backslash, no control character or space), on one of the cookie domains, and https when that
//! is required. The same checks judge `rd`, the address to return to after sign-in, so that it
//! can never send a browser anywhere else.

use crate::domain::ForwardAuth;

/// A checked target address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// Lower case, without the port.
    pub host: String,
    /// The path and query, starting with `/`.
    pub path: String,
    /// The whole address, `scheme://host[:port]/path?query`.
    pub url: String,
}

/// Why a target (or `rd`) is refused; every one is a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// A header the endpoint reads is absent.
    Missing(&'static str),
    /// A header is there but is not what it must be.
    Malformed(&'static str),
    /// The host is not on a cookie domain.
    OutsideDomains,
    /// Plain http while `require_https` is on.
    PlainHttp,
}

impl TargetError {
    pub fn describe(&self) -> String {
        match self {
            TargetError::Missing(header) => format!("the {header} header is missing"),
            TargetError::Malformed(header) => format!("the {header} header is malformed"),
            TargetError::OutsideDomains => "the host is not on a domain this server protects".to_owned(),
            TargetError::PlainHttp => "the address is plain http and https is required".to_owned(),
        }
    }
}

/// No control character, space, backslash or non-ASCII byte anywhere.
fn clean(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// `host[:port]`: a lower-cased DNS name (letters, digits, `-`, `.`) and an optional port.
/// Returns the host without the port, and the authority as it goes back into the address.
fn authority(text: &str) -> Option<(String, String)> {
    let text = text.to_ascii_lowercase();
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (text.as_str(), None),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let name_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    if !(name_ok && port_ok) {
        return None;
    }
    let authority = match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    Some((host.to_owned(), authority))
}

/// A target from its parts: the scheme (`http`/`https`), the authority (`host[:port]`) and the
/// path with its query. `names` are the headers they came from, for the error.
pub fn from_parts(
    scheme: Option<&str>,
    host: Option<&str>,
    path: Option<&str>,
    names: [&'static str; 3],
    forward_auth: &ForwardAuth,
) -> Result<Target, TargetError> {
    let [scheme_name, host_name, path_name] = names;
    let https = match scheme.ok_or(TargetError::Missing(scheme_name))? {
        s if s.eq_ignore_ascii_case("https") => true,
        s if s.eq_ignore_ascii_case("http") => false,
        _ => return Err(TargetError::Malformed(scheme_name)),
    };
    let host = host.ok_or(TargetError::Missing(host_name))?;
    let (host, authority) = authority(host)
        .filter(|_| clean(host))
        .ok_or(TargetError::Malformed(host_name))?;
    let path = path.ok_or(TargetError::Missing(path_name))?;
    if !path.starts_with('/')
        || path.starts_with("//")
        || !clean(path)
        || path.contains('#')
        || path.len() > 8192
    {
        return Err(TargetError::Malformed(path_name));
    }
    let target = Target {
        https,
        url: format!("{}://{authority}{path}", if https { "https" } else { "http" }),
        host,
        path: path.to_owned(),
    };
    check(target, forward_auth)
}

/// A target from one absolute address (nginx's `X-Original-URL`, or `rd`): `scheme://authority`
/// then the path and query (`/` when there is none). User info (`@` before the path) is refused,
/// so is a fragment.
pub fn from_url(
    url: Option<&str>,
    name: &'static str,
    forward_auth: &ForwardAuth,
) -> Result<Target, TargetError> {
    let url = url.ok_or(TargetError::Missing(name))?;
    if !clean(url) {
        return Err(TargetError::Malformed(name));
    }
    let (scheme, rest) = url.split_once("://").ok_or(TargetError::Malformed(name))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err(TargetError::Malformed(name));
    }
    let path = match path {
        "" => "/".to_owned(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_owned(),
    };
    from_parts(
        Some(scheme),
        Some(authority),
        Some(&path),
        [name, name, name],
        forward_auth,
    )
}

fn check(target: Target, forward_auth: &ForwardAuth) -> Result<Target, TargetError> {
    if forward_auth.cookie_domain_for(&target.host).is_none() {
        return Err(TargetError::OutsideDomains);
    }
    if !target.https && forward_auth.require_https {
        return Err(TargetError::PlainHttp);
    }
    Ok(target)
}

/// A method name as a forwarded header carries it: 1 to 20 ASCII letters, upper-cased.
pub fn method(text: Option<&str>, name: &'static str) -> Result<String, TargetError> {
    let text = text.ok_or(TargetError::Missing(name))?;
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(TargetError::Malformed(name));
    }
    Ok(text.to_ascii_uppercase())
}

/// Whether a browser that is not signed in is sent to sign in (a redirect) rather than told
/// 401: not for scripts (`X-Requested-With: XMLHttpRequest`) or for anything that does not ask
/// for HTML.
pub fn redirects(accept: Option<&str>, requested_with: Option<&str>) -> bool {
    let xhr = requested_with.is_some_and(|v| v.trim().eq_ignore_ascii_case("xmlhttprequest"));
    let html = accept.is_some_and(|a| {
        a.split(',').any(|item| {
            let media = item.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("text/html") || media.eq_ignore_ascii_case("application/xhtml+xml")
        })
    });
    html && !xhr
}

/// The redirect status for a method: 302 keeps GET, HEAD and OPTIONS; anything else gets 303,
/// so the browser comes to the sign-in page with a GET.
pub fn keeps_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

#[cfg(test)]
#[path = "forward_auth_tests.rs"]
mod tests;
