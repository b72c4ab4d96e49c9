//! "Sign in with <provider>": `GET /login/upstream/{name}` sends the browser to the upstream,
//! `GET /login/upstream/{name}/callback` takes its answer. Every failure is an error page that
//! sets no session.

use poem::http::header;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::oauth::{safe_return, see_other, with_cookie};
use super::{copy, message};
use crate::service::App;
use crate::service::upstream::{self, Callback, SignedIn, UpstreamError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf, session_cookie};

/// The cookie that binds a pending upstream sign-in to the browser that started it.
fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-latchkey-upstream"
    } else {
        "latchkey-upstream"
    }
}

fn set_browser_cookie(app: &App, value: &str) -> String {
    let https = app.config.is_https();
    csrf::set_cookie(
        cookie_name(https),
        value,
        https,
        "Lax",
        Some(upstream::PENDING_LIFETIME.0),
    )
}

fn clear_browser_cookie(app: &App) -> String {
    let https = app.config.is_https();
    csrf::set_cookie(cookie_name(https), "", https, "Lax", Some(0))
}

pub(super) fn query_pairs(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .take(32)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn failure_page(e: &UpstreamError) -> Response {
    let (status, title) = match e {
        UpstreamError::NotFound(_) => (
            page_status(PageFailure::NotFound),
            &copy::t(copy::UPSTREAM_NOT_FOUND_TITLE),
        ),
        UpstreamError::State(_) | UpstreamError::Invalid(_) | UpstreamError::UserinfoMismatch => (
            page_status(PageFailure::Invalid),
            &copy::t(copy::UPSTREAM_FAILED_TITLE),
        ),
        UpstreamError::Provider(_) => (
            page_status(PageFailure::Invalid),
            &copy::t(copy::UPSTREAM_REFUSED_TITLE),
        ),
        UpstreamError::Refused(_) => (
            page_status(PageFailure::Forbidden),
            &copy::t(copy::UPSTREAM_NOT_ALLOWED_TITLE),
        ),
        UpstreamError::Unreachable(_) => (
            page_status(PageFailure::UpstreamUnreachable),
            &copy::t(copy::UPSTREAM_UNAVAILABLE_TITLE),
        ),
        UpstreamError::Throttled(_) => (
            page_status(PageFailure::Throttled),
            &copy::t(copy::UPSTREAM_THROTTLED_TITLE),
        ),
        UpstreamError::Busy | UpstreamError::Service(_) => (
            page_status(PageFailure::Unavailable),
            &copy::t(copy::TRY_AGAIN_TITLE),
        ),
    };
    let text = super::copy::upstream_failure(e);
    let mut resp = message(status, title, &text);
    if let UpstreamError::Throttled(wait) = e
        && let Ok(v) = wait.to_string().parse()
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `GET /login/upstream/{name}?return_to=...`: starts a sign-in at the upstream.
#[handler]
pub async fn start(req: &Request, Path(name): Path<String>, Data(app): Data<&App>) -> Response {
    let return_to = query_pairs(req)
        .into_iter()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| safe_return(&v).to_owned())
        .unwrap_or_else(|| "/".to_owned());
    match upstream::begin(app, &name, &return_to, client_ip(req)).await {
        Ok(started) => with_cookie(
            see_other(&started.location),
            Some(set_browser_cookie(app, &started.browser)),
        ),
        Err(e) => {
            tracing::warn!(upstream = %name.escape_debug(), error = %e, "an upstream sign-in could not start");
            failure_page(&e)
        }
    }
}

/// `GET /login/upstream/{name}/callback`: the upstream's answer.
#[handler]
pub async fn callback(req: &Request, Path(name): Path<String>, Data(app): Data<&App>) -> Response {
    let mut cb = Callback::default();
    for (k, v) in query_pairs(req) {
        let slot = match k.as_str() {
            "code" => &mut cb.code,
            "state" => &mut cb.state,
            "iss" => &mut cb.iss,
            "error" => &mut cb.error,
            "error_description" => &mut cb.error_description,
            _ => continue,
        };
        if slot.is_some() {
            return failure_page(&UpstreamError::Invalid(format!("`{k}` is repeated")));
        }
        *slot = Some(v);
    }
    let https = app.config.is_https();
    let browser = csrf::read_cookie(req, cookie_name(https));
    let cleared = clear_browser_cookie(app);
    // A new session id at every sign-in: any session the browser had is ended.
    let previous = csrf::read_cookie(req, session_cookie::name(https));
    match upstream::finish(app, &name, cb, browser, previous, client_ip(req)).await {
        Ok(SignedIn::Done { cookie, return_to }) => {
            // The return address came back in a cookie: it is checked again.
            let mut resp = with_cookie(
                see_other(safe_return(&return_to)),
                Some(session_cookie::set(&cookie, app)),
            );
            if let Ok(v) = cleared.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Ok(SignedIn::SecondStep { pending }) => {
            // Like a password sign-in whose account has a second factor.
            let mut resp = with_cookie(
                see_other(super::factor::FACTOR_PATH),
                Some(super::factor::set_pending_cookie(app, &pending)),
            );
            if let Ok(v) = cleared.parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => with_cookie(failure_page(&e), Some(cleared)),
    }
}
