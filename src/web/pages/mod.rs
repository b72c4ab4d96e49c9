//! Server-rendered pages (askama templates), the embedded stylesheet and the branding resources.

pub mod account;
pub mod admin;
pub mod apps;
pub mod brand;
mod copy;
pub mod factor;
pub mod forward_auth;
mod guard;
pub mod invite;
pub mod oauth;
pub mod passkeys;
pub mod recovery;
pub mod setup;
pub mod totp;
pub mod upstream;

pub use guard::{require_fresh, require_fresh_sign_in, require_session};

use askama::Template;
use poem::http::StatusCode;
use poem::{IntoResponse, Response, handler};

use crate::web::i18n::filters;

const STYLESHEET: &str = include_str!("../../../static/style.css");

/// The one stylesheet, embedded in the binary.
#[handler]
pub fn stylesheet() -> Response {
    STYLESHEET
        .with_content_type("text/css; charset=utf-8")
        .with_header("Cache-Control", "public, max-age=3600")
        .with_header("X-Content-Type-Options", "nosniff")
        .into_response()
}

/// A page with a title and one message, for errors and confirmations.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// Renders a template with a status; a template that fails to render becomes a plain 500.
pub fn render(template: &impl Template, status: StatusCode) -> Response {
    match template.render() {
        Ok(body) => poem::web::Html(body).with_status(status).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An error or notice page.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render(&MessagePage { title, message: text }, status)
}

/// A page with a title, one message and a "Continue" link (after a sign-in that has news).
#[derive(Template)]
#[template(path = "continue.html")]
pub struct ContinuePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub next: &'a str,
}
