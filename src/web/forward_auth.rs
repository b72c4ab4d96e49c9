//! The forward-auth endpoints a reverse proxy asks "may this request pass?", and the domain
//! cookie they read. Each endpoint reads only its own header family and never falls back to
//! another, because a proxy passes the other families through from the client unchanged:
//!
//! - `/api/authz/forward-auth` (Traefik ForwardAuth, Caddy `forward_auth`): `X-Forwarded-Method`,
//!   `-Proto`, `-Host`, `-Uri`, `-For`;
//! - `/api/authz/auth-request` (nginx `auth_request`): `X-Original-URL`, `X-Original-Method`,
//!   `X-Forwarded-For`; a browser to send to sign in gets 401 with the sign-in address in
//!   `Location` (nginx turns a 3xx from the subrequest into a 500);
//! - `/api/authz/ext-authz/{path}` (Envoy `ext_authz`): the request's own method, `Host` and
//!   path below the prefix, `X-Forwarded-Proto` and `-For`.
//!
//! The headers are believed only from a peer in `trusted_proxies`: from anyone else the request
//! is refused (400) before anything is read.

use std::net::{IpAddr, Ipv4Addr};

use poem::http::{HeaderName, HeaderValue, StatusCode, header};
use poem::web::Data;
use poem::{Request, Response, handler};

use super::csrf::read_cookie;
use super::errors::{problem_kind, problem_response};
use super::proxy;
use crate::config::ForwardedHeader;
use crate::domain::ForwardAuth;
use crate::protocol::forward_auth::{self as target, Target, TargetError};
use crate::service::App;
use crate::service::forward_auth::{self as service, Answer, Question, RemoteUser};

/// The forward-auth cookie's name: `__Secure-` (it carries a Domain, so it cannot be `__Host-`)
/// when the issuer is https.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Secure-latchkey-fa"
    } else {
        "latchkey-fa"
    }
}

/// The `Set-Cookie` value of a forward-auth cookie for `domain`; an empty `value` and a zero
/// `max_age` remove it.
pub fn set_cookie(https: bool, domain: &str, value: &str, max_age: u64) -> String {
    let mut c = format!(
        "{}={value}; Domain={domain}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}",
        cookie_name(https)
    );
    if https {
        c.push_str("; Secure");
    }
    c
}

/// The `Set-Cookie` values that remove the forward-auth cookie of every cookie domain.
pub fn clear_cookies(app: &App) -> Vec<String> {
    let https = app.config.is_https();
    app.config
        .forward_auth
        .iter()
        .flat_map(|rules| rules.cookie_domains.iter())
        .map(|domain| set_cookie(https, domain, "", 0))
        .collect()
}

/// Which endpoint was asked, and so which headers it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    ForwardAuth,
    AuthRequest,
    ExtAuthz,
}

/// The single value of a header, if it is sent once and is text; a header sent twice counts as
/// malformed (two proxies disagreeing, or a client adding its own).
/// `name` is the header's name as written in messages (`X-Forwarded-Host`); `lower` the same in
/// lower case, as the header map looks it up.
fn single<'r>(
    req: &'r Request,
    lower: &'static str,
    name: &'static str,
) -> Result<Option<&'r str>, TargetError> {
    let mut values = req.headers().get_all(lower).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v
            .to_str()
            .map(|s| Some(s.trim()))
            .map_err(|_| TargetError::Malformed(name)),
        (Some(_), Some(_)) => Err(TargetError::Malformed(name)),
    }
}

/// The client's address from `X-Forwarded-For` (which must be there), read from the right past
/// the trusted proxies (`proxy::client_address`).
fn client(req: &Request, app: &App, peer: IpAddr) -> Result<IpAddr, TargetError> {
    if req.headers().get("x-forwarded-for").is_none() {
        return Err(TargetError::Missing("X-Forwarded-For"));
    }
    Ok(proxy::client_address(
        peer,
        req.headers(),
        &app.config.trusted_proxies,
        ForwardedHeader::XForwardedFor,
    ))
}

/// The question the proxy asks, from `family`'s headers only.
fn read(
    req: &Request,
    app: &App,
    rules: &ForwardAuth,
    family: Family,
    peer: IpAddr,
) -> Result<(Target, String, IpAddr), TargetError> {
    let ip = client(req, app, peer)?;
    let (target, method) = match family {
        Family::ForwardAuth => {
            let method = target::method(
                single(req, "x-forwarded-method", "X-Forwarded-Method")?,
                "X-Forwarded-Method",
            )?;
            let target = target::from_parts(
                single(req, "x-forwarded-proto", "X-Forwarded-Proto")?,
                single(req, "x-forwarded-host", "X-Forwarded-Host")?,
                single(req, "x-forwarded-uri", "X-Forwarded-Uri")?,
                ["X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Uri"],
                rules,
            )?;
            (target, method)
        }
        Family::AuthRequest => {
            let method = target::method(
                single(req, "x-original-method", "X-Original-Method")?,
                "X-Original-Method",
            )?;
            let target = target::from_url(
                single(req, "x-original-url", "X-Original-URL")?,
                "X-Original-URL",
                rules,
            )?;
            (target, method)
        }
        Family::ExtAuthz => {
            let below = req
                .uri()
                .path()
                .strip_prefix("/api/authz/ext-authz")
                .filter(|p| p.starts_with('/'))
                .unwrap_or("/");
            let path = match req.uri().query() {
                Some(q) => format!("{below}?{q}"),
                None => below.to_owned(),
            };
            let target = target::from_parts(
                single(req, "x-forwarded-proto", "X-Forwarded-Proto")?,
                single(req, "host", "Host")?,
                Some(&path),
                ["X-Forwarded-Proto", "Host", "path"],
                rules,
            )?;
            (target, req.method().as_str().to_owned())
        }
    };
    Ok((target, method, ip))
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn refused(status: StatusCode, detail: &str) -> Response {
    let (kind, title) = problem_kind(status.as_u16());
    problem_response(status.as_u16(), kind, title, detail.to_owned(), Vec::new())
}

const REMOTE_USER: HeaderName = HeaderName::from_static("remote-user");
const REMOTE_GROUPS: HeaderName = HeaderName::from_static("remote-groups");
const REMOTE_EMAIL: HeaderName = HeaderName::from_static("remote-email");
const REMOTE_NAME: HeaderName = HeaderName::from_static("remote-name");

/// 200 with the identity headers, always all four (empty for anonymous access, so that the proxy
/// overwrites whatever the client sent).
fn allowed(user: Option<&RemoteUser>) -> Response {
    let value = |text: &str| HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""));
    let (name, groups, email, display) = match user {
        Some(u) => (
            u.username.clone(),
            u.groups.join(","),
            u.email.clone().unwrap_or_default(),
            u.name.clone().unwrap_or_default(),
        ),
        None => Default::default(),
    };
    let mut resp = Response::builder().status(StatusCode::OK).body("");
    let h = resp.headers_mut();
    h.insert(REMOTE_USER, value(&name));
    h.insert(REMOTE_GROUPS, value(&groups));
    h.insert(REMOTE_EMAIL, value(&email));
    h.insert(REMOTE_NAME, value(&display));
    no_store(resp)
}

/// `{issuer}/login?rd=...`.
fn sign_in_address(app: &App, target: &Target) -> String {
    let rd: String = url::form_urlencoded::byte_serialize(target.url.as_bytes()).collect();
    format!("{}/login?rd={rd}", app.config.issuer)
}

fn sign_in(req: &Request, app: &App, family: Family, target: &Target, method: &str) -> Response {
    let location = sign_in_address(app, target);
    let header_text = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let status = if family == Family::AuthRequest {
        StatusCode::UNAUTHORIZED
    } else if !target::redirects(
        header_text(header::ACCEPT),
        header_text(HeaderName::from_static("x-requested-with")),
    ) {
        return refused(StatusCode::UNAUTHORIZED, "sign in first");
    } else if target::keeps_method(method) {
        StatusCode::FOUND
    } else {
        StatusCode::SEE_OTHER
    };
    let mut resp = if status == StatusCode::UNAUTHORIZED {
        refused(status, "sign in first")
    } else {
        no_store(Response::builder().status(status).body(""))
    };
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn answer(req: &Request, app: &App, family: Family) -> Response {
    let Some(rules) = &app.config.forward_auth else {
        return refused(
            StatusCode::NOT_FOUND,
            "forward-auth is not configured on this server",
        );
    };
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_canonical())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !app.config.trusted_proxies.iter().any(|net| net.contains(&peer)) {
        return refused(
            StatusCode::BAD_REQUEST,
            "this endpoint answers only the proxies in trusted_proxies",
        );
    }
    let (target, method, ip) = match read(req, app, rules, family, peer) {
        Ok(asked) => asked,
        Err(e) => return refused(StatusCode::BAD_REQUEST, &e.describe()),
    };
    let question = Question {
        target: &target,
        method: &method,
        ip,
        cookie: read_cookie(req, cookie_name(app.config.is_https())),
    };
    match service::check(app, rules, &question) {
        Ok(Answer::Allow(user)) => allowed(user.as_ref()),
        Ok(Answer::Deny) => refused(
            StatusCode::FORBIDDEN,
            "the access rules do not let this request through",
        ),
        Ok(Answer::SignIn) => sign_in(req, app, family, &target, &method),
        Err(e) => {
            tracing::error!(error = %e, "a forward-auth check failed");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the check could not be made; try again",
            )
        }
    }
}

/// `GET|HEAD /api/authz/forward-auth`.
#[handler]
pub async fn forward_auth(req: &Request, Data(app): Data<&App>) -> Response {
    answer(req, app, Family::ForwardAuth).await
}

/// `GET /api/authz/auth-request`.
#[handler]
pub async fn auth_request(req: &Request, Data(app): Data<&App>) -> Response {
    answer(req, app, Family::AuthRequest).await
}

/// `/api/authz/ext-authz/{path}`, any method.
#[handler]
pub async fn ext_authz(req: &Request, Data(app): Data<&App>) -> Response {
    answer(req, app, Family::ExtAuthz).await
}
