//! The browser side of the authorization server: the authorization endpoint and the consent form,
//! signing in, signing out, and the account page. Each handler parses, calls one use case in
//! `service`, and renders its outcome.

mod account;
mod authorize;
mod login;
mod logout;

pub use account::home;
pub use authorize::{authorize_endpoint, consent_post};
pub use login::{login_get, login_post};
pub use logout::{end_session_confirm, end_session_endpoint, logout_post};

use poem::http::{StatusCode, header};
use poem::{Body, Request, Response};

use super::copy;
use super::message;
use crate::protocol::params::{Params, ParamsError};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{csrf, session_cookie};

/// The longest authorization request body or query accepted.
const MAX_REQUEST: usize = 32 * 1024;

fn unavailable(e: &ServiceError) -> Response {
    tracing::error!(error = %e, "a page request failed inside");
    message(
        page_status(PageFailure::Unavailable),
        &copy::t(copy::TRY_AGAIN_TITLE),
        &copy::t(copy::UNAVAILABLE),
    )
}

pub(in crate::web::pages) fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

pub(in crate::web::pages) fn with_cookie(mut resp: Response, cookie: Option<String>) -> Response {
    if let Some(c) = cookie
        && let Ok(v) = c.parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn bad_params(e: &ParamsError) -> Response {
    message(
        page_status(PageFailure::Invalid),
        &copy::t(copy::INVALID_REQUEST_TITLE),
        &copy::params_error(e),
    )
}

/// This browser's session cookie value, if it sent one.
pub(in crate::web::pages) fn session_cookie_value<'a>(app: &App, req: &'a Request) -> Option<&'a str> {
    csrf::read_cookie(req, session_cookie::name(app.config.is_https()))
}

/// The parameters of a request that may come by GET (query) or POST (form body), bounded.
async fn request_params(req: &Request, body: Body) -> Result<Params, Response> {
    let too_large = || {
        message(
            page_status(PageFailure::TooLarge),
            &copy::t(copy::INVALID_REQUEST_TITLE),
            &copy::t(copy::REQUEST_TOO_LARGE),
        )
    };
    let raw = if req.method() == poem::http::Method::POST {
        let bytes = body
            .into_bytes_limit(MAX_REQUEST)
            .await
            .map_err(|_| too_large())?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        req.uri().query().unwrap_or("").to_owned()
    };
    if raw.len() > MAX_REQUEST {
        return Err(too_large());
    }
    Params::parse(&raw).map_err(|e| bad_params(&e))
}

/// Where a login may send the browser next: only back into the authorization endpoint, the
/// account pages (after a fresh sign-in), the app launcher, the forward-auth round trip (which
/// checks its `rd` again), or home.
pub(in crate::web::pages) fn safe_return(return_to: &str) -> &str {
    let account = return_to == "/account"
        || return_to.starts_with("/account/")
        || return_to.starts_with("/account?")
        || return_to == "/apps"
        || return_to == "/admin"
        || return_to.starts_with("/admin/")
        || return_to.starts_with("/admin?");
    let ok = (return_to.starts_with("/oauth/authorize?")
        || return_to.starts_with("/forward-auth/session?")
        || account)
        && !return_to.contains(['\\', '\r', '\n'])
        && !return_to.starts_with("//");
    if ok { return_to } else { "/" }
}
