//! The first-administrator setup page, reached through the one-time link printed at first start.

use poem::http::StatusCode;
use poem::web::{Data, Form, Query};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{message, render};
use crate::domain::NewUser;
use crate::service::setup::SetupError;
use crate::service::throttle::RetryAfter;
use crate::service::{App, ServiceError, setup};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf};

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
        "Setup link not valid",
        "This setup link is invalid, already used or expired. Restart Latchkey with an empty data file to get a new one, or create a user with `latchkey user add`.",
    )
}

fn throttled(wait: RetryAfter) -> Response {
    let mut resp = message(
        page_status(PageFailure::Throttled),
        "Too many attempts",
        &format!(
            "Too many setup links that did not work came from your address. Wait {} seconds and try again.",
            wait.0
        ),
    );
    resp.headers_mut()
        .insert(poem::http::header::RETRY_AFTER, wait.0.into());
    resp
}

fn unavailable(e: ServiceError) -> Response {
    tracing::error!(error = %e, "setup failed");
    message(
        page_status(PageFailure::Unavailable),
        "Try again",
        "Latchkey could not complete this request. Please try again.",
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
            "Form expired",
            "This form could not be verified. Go back, reload the page and try again.",
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
        return again("The two passwords do not match.");
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
            "Administrator created",
            &format!(
                "The administrator account `{}` is ready. It belongs to the `admins` group. This setup link no longer works.",
                user.username
            ),
        )
        .into_response(),
        Err(SetupError::Refused(ServiceError::Invalid { message, .. })) => again(&message),
        Err(SetupError::Refused(ServiceError::Forbidden(_))) => invalid_link(),
        Err(SetupError::Throttled(wait)) => throttled(wait),
        Err(SetupError::Refused(e)) => unavailable(e),
    }
}
