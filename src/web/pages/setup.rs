//! The first-administrator setup page, reached through the one-time link printed at first start.

use poem::http::StatusCode;
use poem::web::{Data, Form, Query};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{copy, message, render};
use crate::domain::NewUser;
use crate::service::setup::SetupError;
use crate::service::throttle::RetryAfter;
use crate::service::{App, ServiceError, setup};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf};

use crate::web::i18n::filters;

#[derive(askama::Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    token: &'a str,
    csrf: &'a str,
    error: Option<&'a str>,
    username: &'a str,
    name: &'a str,
    email: &'a str,
}

#[derive(Debug, Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    csrf: String,
    username: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    password: String,
    password_repeat: String,
}

fn invalid_link() -> Response {
    message(
        page_status(PageFailure::NotFound),
        &copy::t(copy::SETUP_INVALID_TITLE),
        &copy::t(copy::SETUP_INVALID),
    )
}

fn throttled(wait: RetryAfter) -> Response {
    let mut resp = message(
        page_status(PageFailure::Throttled),
        &copy::t(copy::TOO_MANY_ATTEMPTS_TITLE),
        &copy::text(copy::SETUP_THROTTLED, &[("seconds", &wait.0.to_string())]),
    );
    resp.headers_mut()
        .insert(poem::http::header::RETRY_AFTER, wait.0.into());
    resp
}

fn unavailable(e: ServiceError) -> Response {
    tracing::error!(error = %e, "setup failed");
    message(
        page_status(PageFailure::Unavailable),
        &copy::t(copy::TRY_AGAIN_TITLE),
        &copy::t(copy::UNAVAILABLE_SHORT),
    )
}

#[handler]
pub async fn show(req: &Request, Data(app): Data<&App>, Query(q): Query<SetupQuery>) -> Response {
    let Some(token) = q.token.filter(|t| t.len() <= 64) else {
        return invalid_link();
    };
    match setup::check_link(app, token.clone(), client_ip(req)).await {
        Ok(()) => form(req, app, &token, None, "", "", "", StatusCode::OK),
        Err(SetupError::Throttled(wait)) => throttled(wait),
        Err(SetupError::Refused(ServiceError::Forbidden(_))) => invalid_link(),
        Err(SetupError::Refused(e)) => unavailable(e),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "a page re-rendered with what the person typed"
)]
fn form(
    req: &Request,
    app: &App,
    token: &str,
    error: Option<&str>,
    username: &str,
    name: &str,
    email: &str,
    status: StatusCode,
) -> Response {
    let (csrf_token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(ServiceError::Internal(e)),
    };
    let page = SetupPage {
        token,
        csrf: &csrf_token,
        error,
        username,
        name,
        email,
    };
    let mut resp = render(&page, status);
    if let Some(c) = cookie
        && let Ok(v) = c.parse()
    {
        resp.headers_mut().append(poem::http::header::SET_COOKIE, v);
    }
    resp
}

#[handler]
pub async fn submit(req: &Request, Data(app): Data<&App>, Form(f): Form<SetupForm>) -> Response {
    if !csrf::verify(req, app, &f.csrf) {
        return message(
            page_status(PageFailure::Forbidden),
            &copy::t(copy::FORM_EXPIRED_TITLE),
            &copy::t(copy::FORM_EXPIRED_RELOAD),
        );
    }
    let again = |error: &str| {
        form(
            req,
            app,
            &f.token,
            Some(error),
            &f.username,
            &f.name,
            &f.email,
            page_status(PageFailure::Invalid),
        )
    };
    if f.password != f.password_repeat {
        return again(&copy::t(copy::SETUP_PASSWORDS_DIFFER));
    }
    let profile = NewUser {
        username: f.username.clone(),
        name: Some(f.name.trim().to_owned()).filter(|n| !n.is_empty()),
        email: Some(f.email.trim().to_owned()).filter(|e| !e.is_empty()),
        email_verified: false,
        groups: vec![],
    };
    match setup::complete(app, f.token.clone(), profile, f.password.clone(), client_ip(req)).await {
        Ok(user) => message(
            StatusCode::OK,
            &copy::t(copy::SETUP_DONE_TITLE),
            &copy::text(copy::SETUP_DONE, &[("username", user.username.as_str())]),
        )
        .into_response(),
        Err(SetupError::Refused(ServiceError::Invalid { reason, .. })) => {
            again(&copy::invalid_reason(&reason))
        }
        Err(SetupError::Refused(ServiceError::Forbidden(_))) => invalid_link(),
        Err(SetupError::Throttled(wait)) => throttled(wait),
        Err(SetupError::Refused(e)) => unavailable(e),
    }
}
