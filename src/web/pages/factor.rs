//! The second step of a sign-in: `GET`/`POST /login/factor` (a TOTP code, a recovery code, or a
//! passkey, whose script `PASSKEYS` adds) and `GET`/`POST /login/factor/enrol` (a user who must
//! have two factors and has none sets up TOTP, and the sign-in completes). These pages exist
//! only for a browser whose first factor succeeded: without a live `latchkey_pending` cookie
//! they send it to `/login`, so nothing about a user's factors shows before.

use poem::http::{StatusCode, header};
use poem::web::{Data, Form};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::oauth::{safe_return, see_other, with_cookie};
use super::{copy, render, totp};
use crate::service::login::{self, Completed, FactorError, PendingView};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf, session_cookie};

use crate::web::i18n::filters;

/// Where a sign-in continues after its first factor.
pub const FACTOR_PATH: &str = "/login/factor";
/// Where a sign-in that must enrol a second factor continues.
pub const ENROL_PATH: &str = "/login/factor/enrol";

/// The cookie that names a sign-in waiting for its second step.
pub fn pending_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-latchkey_pending"
    } else {
        "latchkey_pending"
    }
}

/// The `Set-Cookie` value for a pending sign-in.
pub fn set_pending_cookie(app: &App, value: &str) -> String {
    let https = app.config.is_https();
    csrf::set_cookie(
        pending_cookie_name(https),
        value,
        https,
        "Lax",
        Some(login::PENDING_LIFETIME.0),
    )
}

/// The `Set-Cookie` value that removes it.
pub fn clear_pending_cookie(app: &App) -> String {
    let https = app.config.is_https();
    csrf::set_cookie(pending_cookie_name(https), "", https, "Lax", Some(0))
}

/// This browser's pending-sign-in cookie value, if it sent one.
pub fn pending_cookie<'r>(app: &App, req: &'r Request) -> Option<&'r str> {
    csrf::read_cookie(req, pending_cookie_name(app.config.is_https()))
}

/// The answer to a sign-in that needs its second step: the pending cookie and a 303 to
/// `/login/factor`.
pub fn continue_to_factor(app: &App, pending: &str) -> Response {
    with_cookie(see_other(FACTOR_PATH), Some(set_pending_cookie(app, pending)))
}

pub(super) fn unavailable(e: &ServiceError) -> Response {
    tracing::error!(error = %e, "a page request failed inside");
    super::message(
        page_status(PageFailure::Unavailable),
        &copy::t(copy::TRY_AGAIN_TITLE),
        &copy::t(copy::UNAVAILABLE),
    )
}

/// The sign-in is gone (used, expired): say so, and forget the pending sign-in's cookie.
fn start_again(app: &App) -> Response {
    let page = super::message(
        page_status(PageFailure::Forbidden),
        &copy::t(copy::SIGN_IN_AGAIN_TITLE),
        &copy::t(copy::PENDING_GONE),
    );
    with_cookie(page, Some(clear_pending_cookie(app)))
}

/// The live pending sign-in of this browser, or the answer that sends it back to `/login`.
async fn live(req: &Request, app: &App) -> Result<(String, PendingView), Response> {
    let Some(cookie) = pending_cookie(app, req) else {
        return Err(see_other("/login"));
    };
    match login::pending(app, cookie).await {
        Ok(Some(view)) => {
            // The authorization request the sign-in resumes may name the page's language.
            crate::web::i18n::prefer_ui_locales_in(&view.return_to);
            Ok((cookie.to_owned(), view))
        }
        Ok(None) => Err(start_again(app)),
        Err(e) => Err(unavailable(&e)),
    }
}

#[derive(askama::Template)]
#[template(path = "factor.html")]
struct FactorPage<'a> {
    csrf: &'a str,
    lead: String,
    error: Option<&'a str>,
    totp: bool,
    passkeys: bool,
    recovery: bool,
    passkey_failed: &'a str,
}

fn factor_page(
    req: &Request,
    app: &App,
    view: &PendingView,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let passkeys = view.enrolled.passkeys > 0 && app.passkeys.is_some();
    let page = FactorPage {
        csrf: &token,
        lead: copy::html(
            copy::FACTOR_LEAD,
            &[("username", copy::Value::Strong(view.user.username.as_str()))],
        ),
        error,
        totp: view.enrolled.totp,
        passkeys,
        recovery: view.enrolled.recovery_codes > 0,
        passkey_failed: &copy::t(copy::PASSKEY_BROWSER_FAILED),
    };
    let resp = with_cookie(render(&page, status), cookie);
    if passkeys {
        super::passkeys::with_script(resp)
    } else {
        resp
    }
}

fn with_retry_after(mut resp: Response, seconds: u64) -> Response {
    if let Ok(v) = seconds.to_string().parse() {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `GET /login/factor`.
#[handler]
pub async fn factor_get(req: &Request, Data(app): Data<&App>) -> Response {
    match live(req, app).await {
        Ok((_, view)) if view.needs_enrolment => see_other(ENROL_PATH),
        Ok((_, view)) => factor_page(req, app, &view, None, StatusCode::OK),
        Err(resp) => resp,
    }
}

#[derive(Deserialize)]
pub struct FactorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    enrolment: String,
}

/// The answer to a completed sign-in: the session cookie, the pending cookie gone, and the way
/// on (through a page that says how many recovery codes remain, after one was used).
fn signed_in(app: &App, done: &Completed) -> Response {
    let next = safe_return(&done.return_to);
    let resp = match done.recovery_codes_left {
        None => see_other(next),
        Some(left) => {
            let message = if left == 0 {
                copy::t(copy::RECOVERY_USED_LAST)
            } else {
                copy::text(copy::RECOVERY_USED, &[("count", &left.to_string())])
            };
            render(
                &super::ContinuePage {
                    title: &copy::t(copy::RECOVERY_USED_TITLE),
                    message: &message,
                    next,
                },
                StatusCode::OK,
            )
        }
    };
    let resp = with_cookie(resp, Some(session_cookie::set(&done.session.cookie, app)));
    with_cookie(resp, Some(clear_pending_cookie(app)))
}

/// `POST /login/factor`: a TOTP code (`method=totp`) or a recovery code (`method=recovery`).
#[handler]
pub async fn factor_post(req: &Request, Data(app): Data<&App>, Form(f): Form<FactorForm>) -> Response {
    let (cookie, view) = match live(req, app).await {
        Ok(live) => live,
        Err(resp) => return resp,
    };
    if view.needs_enrolment {
        return see_other(ENROL_PATH);
    }
    if !csrf::verify(req, app, &f.csrf) {
        return factor_page(
            req,
            app,
            &view,
            Some(&copy::t(copy::FORM_EXPIRED)),
            page_status(PageFailure::Forbidden),
        );
    }
    let previous = super::oauth::session_cookie_value(app, req);
    let ip = client_ip(req);
    let outcome = match f.method.as_str() {
        "recovery" => login::complete_with_recovery_code(app, &cookie, &f.code, ip, previous).await,
        _ => login::complete_with_totp(app, &cookie, &f.code, ip, previous).await,
    };
    match outcome {
        Ok(done) => signed_in(app, &done),
        Err(FactorError::Wrong | FactorError::AlreadyEnrolled) => factor_page(
            req,
            app,
            &view,
            Some(&copy::t(copy::FACTOR_WRONG)),
            StatusCode::OK,
        ),
        Err(FactorError::Throttled(r)) => with_retry_after(
            factor_page(
                req,
                app,
                &view,
                Some(&copy::t(copy::FACTOR_THROTTLED)),
                page_status(PageFailure::Throttled),
            ),
            r.0,
        ),
        Err(FactorError::Expired) => start_again(app),
        Err(FactorError::Unavailable(e)) => unavailable(&e),
    }
}

/// `GET /login/factor/enrol`: a new TOTP seed for the user signing in.
#[handler]
pub async fn enrol_get(req: &Request, Data(app): Data<&App>) -> Response {
    let view = match live(req, app).await {
        Ok((_, view)) if !view.needs_enrolment => return see_other(FACTOR_PATH),
        Ok((_, view)) => view,
        Err(resp) => return resp,
    };
    match crate::service::totp::start_enrolment(app, &view.user).await {
        Ok(enrolment) => enrol_page(req, app, &view, &enrolment, None, StatusCode::OK),
        Err(e) => unavailable(&e),
    }
}

fn enrol_page(
    req: &Request,
    app: &App,
    view: &PendingView,
    enrolment: &crate::service::totp::Enrolment,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let lead = copy::html(
        copy::ENROL_AT_SIGN_IN,
        &[("username", copy::Value::Strong(view.user.username.as_str()))],
    );
    totp::enrol_page(req, app, ENROL_PATH, Some(lead), enrolment, error, status)
}

/// `POST /login/factor/enrol`: the code that confirms the new seed, which completes the sign-in.
#[handler]
pub async fn enrol_post(req: &Request, Data(app): Data<&App>, Form(f): Form<FactorForm>) -> Response {
    let (cookie, view) = match live(req, app).await {
        Ok((_, view)) if !view.needs_enrolment => return see_other(FACTOR_PATH),
        Ok(live) => live,
        Err(resp) => return resp,
    };
    let (shown, id) = (&view, f.enrolment.as_str());
    let again = |error: copy::Msg, status: StatusCode| async move {
        let view = shown;
        match crate::service::totp::enrolment(app, &view.user, id).await {
            Ok(Some(enrolment)) => enrol_page(req, app, view, &enrolment, Some(&copy::t(error)), status),
            Ok(None) => match crate::service::totp::start_enrolment(app, &view.user).await {
                Ok(enrolment) => enrol_page(
                    req,
                    app,
                    view,
                    &enrolment,
                    Some(&copy::t(copy::ENROL_EXPIRED)),
                    status,
                ),
                Err(e) => unavailable(&e),
            },
            Err(e) => unavailable(&e),
        }
    };
    if !csrf::verify(req, app, &f.csrf) {
        return again(copy::FORM_EXPIRED, page_status(PageFailure::Forbidden)).await;
    }
    let previous = super::oauth::session_cookie_value(app, req);
    let ip = client_ip(req);
    match login::complete_enrolment(app, &cookie, &f.enrolment, &f.code, ip, previous).await {
        Ok(done) => signed_in(app, &done),
        Err(FactorError::Wrong) => again(copy::FACTOR_WRONG, StatusCode::OK).await,
        Err(FactorError::Throttled(r)) => with_retry_after(
            again(copy::FACTOR_THROTTLED, page_status(PageFailure::Throttled)).await,
            r.0,
        ),
        Err(FactorError::AlreadyEnrolled) => see_other(FACTOR_PATH),
        Err(FactorError::Expired) => again(copy::ENROL_EXPIRED, StatusCode::OK).await,
        Err(FactorError::Unavailable(e)) => unavailable(&e),
    }
}
