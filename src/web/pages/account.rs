//! `/account`: the signed-in user's own page (profile, password, sign-in methods, sessions,
//! applications) and its forms. Each handler parses, calls one use case in
//! [`service::account`](crate::service::account) and renders its outcome; a change that needs a
//! fresh sign-in sends the browser to sign in again, and back here.

use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Query};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::oauth::{see_other, with_cookie};
use super::{copy, message, render};
use crate::domain::Timestamp;
use crate::service::account::{self, AccountError, AccountView};
use crate::service::{App, Invalid, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf, session_cookie};

use crate::web::i18n::filters;

/// Where a browser that is not signed in goes, to come back here.
const SIGN_IN: &str = "/login?return_to=%2Faccount";
/// Where a change that needs a fresh sign-in sends the browser.
const SIGN_IN_AGAIN: &str = "/login?return_to=%2Faccount&fresh=1";

#[derive(askama::Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    csrf: &'a str,
    /// [`copy::HOME_SIGNED_IN`] filled in, as HTML.
    lead: String,
    notice: Option<&'a str>,
    error: Option<&'a str>,
    name: &'a str,
    email: &'a str,
    email_verified: bool,
    has_password: bool,
    /// The "Sign-in methods" lines, as HTML.
    passkeys: String,
    totp: &'a str,
    recovery: String,
    /// Each session: its `sid`, its line (HTML), whether it is this browser's.
    sessions: Vec<(String, String, bool)>,
    /// Each application: its client id and its line (HTML).
    applications: Vec<(String, String)>,
    /// The link to the app launcher.
    to_apps: &'a str,
}

/// A Unix time as a UTC date and minute, the page's way (`2026-12-01 14:05 UTC`).
fn date(t: Timestamp) -> String {
    crate::web::i18n::date_time(t)
}

fn unavailable(e: &ServiceError) -> Response {
    tracing::error!(error = %e, "an account page request failed inside");
    message(
        page_status(PageFailure::Unavailable),
        &copy::t(copy::TRY_AGAIN_TITLE),
        &copy::t(copy::UNAVAILABLE),
    )
}

fn expired_form() -> Response {
    message(
        page_status(PageFailure::Forbidden),
        &copy::t(copy::FORM_EXPIRED_TITLE),
        &copy::t(copy::FORM_EXPIRED_RELOAD),
    )
}

/// This browser's session cookie value, if it sent one.
fn cookie<'a>(app: &App, req: &'a Request) -> Option<&'a str> {
    csrf::read_cookie(req, session_cookie::name(app.config.is_https()))
}

/// Renders the account page for `view` with a fresh form token.
fn page(
    req: &Request,
    app: &App,
    view: &AccountView,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, set_cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    // Counts go in as numbers, so that a catalog may choose plural forms by them.
    let count = |n: usize| copy::Value::Number(u64::try_from(n).unwrap_or(u64::MAX));
    let sessions = view
        .sessions
        .iter()
        .map(|s| {
            let mut words: Vec<String> = s.amr.iter().filter_map(|a| copy::describe_method(a)).collect();
            words.dedup();
            let methods = if words.is_empty() {
                "-".to_owned()
            } else {
                crate::web::i18n::and_list(&words)
            };
            let line = copy::html(
                copy::ACCOUNT_SESSION_LINE,
                &[
                    ("created", copy::Value::Text(&date(s.created_at))),
                    ("methods", copy::Value::Text(&methods)),
                    ("expires", copy::Value::Text(&date(s.expires_at))),
                ],
            );
            (s.sid.clone(), line, s.current)
        })
        .collect();
    let applications = view
        .applications
        .iter()
        .map(|a| {
            let scopes: Vec<String> = a.scopes.iter().map(|s| copy::describe_scope(s)).collect();
            let line = copy::html(
                copy::ACCOUNT_APPLICATION_LINE,
                &[
                    ("client", copy::Value::Strong(&a.name)),
                    ("scopes", copy::Value::Text(&scopes.join(", "))),
                    ("granted", copy::Value::Text(&date(a.granted_at))),
                ],
            );
            (a.client_id.clone(), line)
        })
        .collect();
    let user = &view.user;
    let page = AccountPage {
        csrf: &token,
        lead: copy::html(
            copy::HOME_SIGNED_IN,
            &[("username", copy::Value::Strong(user.username.as_str()))],
        ),
        notice,
        error,
        name: user.name.as_deref().unwrap_or(""),
        email: user.email.as_deref().unwrap_or(""),
        email_verified: user.email_verified,
        has_password: user.password_hash.is_some(),
        passkeys: copy::html(
            copy::ACCOUNT_PASSKEYS,
            &[("count", count(view.enrolled.passkeys))],
        ),
        totp: if view.enrolled.totp {
            &copy::t(copy::ACCOUNT_TOTP_ON)
        } else {
            &copy::t(copy::ACCOUNT_TOTP_OFF)
        },
        recovery: copy::html(
            copy::ACCOUNT_RECOVERY,
            &[("count", count(view.enrolled.recovery_codes))],
        ),
        sessions,
        applications,
        to_apps: &copy::t(copy::ACCOUNT_TO_APPS),
    };
    let mut resp = with_cookie(render(&page, status), set_cookie);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

#[derive(Debug, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    done: Option<String>,
}

/// The notice for a `done` value of the page's address (after a change redirected here).
fn notice(done: Option<&str>) -> Option<String> {
    Some(match done? {
        "profile" => copy::t(copy::ACCOUNT_PROFILE_SAVED),
        "password" => copy::t(copy::ACCOUNT_PASSWORD_CHANGED),
        "others" => copy::t(copy::ACCOUNT_OTHERS_SIGNED_OUT),
        "session" => copy::t(copy::ACCOUNT_SESSION_ENDED),
        "application" => copy::t(copy::ACCOUNT_APPLICATION_REVOKED),
        _ => return None,
    })
}

/// `GET /account`.
#[handler]
pub async fn show(req: &Request, Data(app): Data<&App>, Query(q): Query<AccountQuery>) -> Response {
    let Some(c) = cookie(app, req) else {
        return see_other(SIGN_IN);
    };
    match account::overview(app, c).await {
        Ok(view) => page(
            req,
            app,
            &view,
            notice(q.done.as_deref()).as_deref(),
            None,
            StatusCode::OK,
        ),
        Err(e) => failed_with(req, app, None, e),
    }
}

/// Answers a refused change: sign in (again), or the page with the reason.
fn failed_with(req: &Request, app: &App, view: Option<AccountView>, e: AccountError) -> Response {
    let (error, status, retry) = match &e {
        AccountError::NotSignedIn => return see_other(SIGN_IN),
        AccountError::NotFresh => return see_other(SIGN_IN_AGAIN),
        AccountError::WrongPassword => (
            copy::t(copy::ACCOUNT_WRONG_PASSWORD),
            page_status(PageFailure::Forbidden),
            None,
        ),
        AccountError::Throttled(wait) => (
            copy::text(copy::ACCOUNT_THROTTLED, &[("seconds", &wait.0.to_string())]),
            page_status(PageFailure::Throttled),
            Some(wait.0),
        ),
        AccountError::Service(ServiceError::Invalid { reason, .. }) => (
            copy::invalid_reason(reason),
            page_status(PageFailure::Invalid),
            None,
        ),
        AccountError::Service(ServiceError::NotFound(_)) => (
            copy::t(copy::ACCOUNT_GONE),
            page_status(PageFailure::NotFound),
            None,
        ),
        AccountError::Service(other) => return unavailable(other),
    };
    let Some(view) = view else {
        return unavailable(&ServiceError::Internal("no account view".into()));
    };
    let mut resp = page(req, app, &view, None, Some(&error), status);
    if let Some(seconds) = retry {
        resp.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    resp
}

/// Answers a change: back to the page with its notice, or the page with the reason it was refused.
async fn outcome(
    req: &Request,
    app: &App,
    c: &str,
    result: Result<(), AccountError>,
    done: &str,
) -> Response {
    match result {
        Ok(()) => see_other(&format!("/account?done={done}")),
        Err(e @ (AccountError::NotSignedIn | AccountError::NotFresh)) => failed_with(req, app, None, e),
        Err(e) => match account::overview(app, c).await {
            Ok(view) => failed_with(req, app, Some(view), e),
            Err(again) => failed_with(req, app, None, again),
        },
    }
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// `POST /account/profile`.
#[handler]
pub async fn profile(req: &Request, Data(app): Data<&App>, Form(f): Form<ProfileForm>) -> Response {
    let Some(c) = cookie(app, req) else {
        return see_other(SIGN_IN);
    };
    if !csrf::verify(req, app, &f.csrf) {
        return expired_form();
    }
    let result = account::update_profile(app, c, Some(f.name), Some(f.email), client_ip(req))
        .await
        .map(|_| ());
    outcome(req, app, c, result, "profile").await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
}

/// `POST /account/password`.
#[handler]
pub async fn password(req: &Request, Data(app): Data<&App>, Form(f): Form<PasswordForm>) -> Response {
    let Some(c) = cookie(app, req) else {
        return see_other(SIGN_IN);
    };
    if !csrf::verify(req, app, &f.csrf) {
        return expired_form();
    }
    let result = if f.password == f.password_repeat {
        account::change_password(app, c, f.current, f.password, client_ip(req)).await
    } else {
        Err(ServiceError::refused("password", Invalid::PasswordsDiffer).into())
    };
    outcome(req, app, c, result, "password").await
}

#[derive(Deserialize)]
pub struct SessionForm {
    #[serde(default)]
    csrf: String,
    /// One session to end; absent: every other session.
    #[serde(default)]
    sid: Option<String>,
}

/// `POST /account/sessions`: signs out one session (`sid`) or every other one.
#[handler]
pub async fn end_sessions(req: &Request, Data(app): Data<&App>, Form(f): Form<SessionForm>) -> Response {
    let Some(c) = cookie(app, req) else {
        return see_other(SIGN_IN);
    };
    if !csrf::verify(req, app, &f.csrf) {
        return expired_form();
    }
    let ip = client_ip(req);
    match f.sid.filter(|s| !s.is_empty()) {
        Some(sid) => {
            let result = account::sign_out_session(app, c, sid, ip).await;
            outcome(req, app, c, result, "session").await
        }
        None => {
            let result = account::sign_out_others(app, c, ip).await.map(|_| ());
            outcome(req, app, c, result, "others").await
        }
    }
}

#[derive(Deserialize)]
pub struct ApplicationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
}

/// `POST /account/applications/revoke`.
#[handler]
pub async fn revoke_application(
    req: &Request,
    Data(app): Data<&App>,
    Form(f): Form<ApplicationForm>,
) -> Response {
    let Some(c) = cookie(app, req) else {
        return see_other(SIGN_IN);
    };
    if !csrf::verify(req, app, &f.csrf) {
        return expired_form();
    }
    let result = account::revoke_application(app, c, f.client_id, client_ip(req)).await;
    outcome(req, app, c, result, "application").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_utc_calendar_days_and_minutes() {
        assert_eq!(date(Timestamp(0)), "1970-01-01 00:00 UTC");
        assert_eq!(date(Timestamp(1_800_000_000)), "2027-01-15 08:00 UTC");
        assert_eq!(date(Timestamp(951_782_400)), "2000-02-29 00:00 UTC");
    }
}
