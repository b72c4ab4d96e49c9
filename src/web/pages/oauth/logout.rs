//! Signing out: `POST /logout` (the account page's button) and RP-initiated logout
//! (`GET`/`POST /oauth/logout`, `POST /oauth/logout/confirm`), which call
//! [`service::logout::rp_logout`](crate::service::logout::rp_logout) and render its outcome.

use poem::http::StatusCode;
use poem::web::{Data, Form};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;

use super::{bad_params, copy, request_params, see_other, session_cookie_value, unavailable, with_cookie};
use crate::protocol::logout::After;
use crate::protocol::params::Params;
use crate::service::logout::{self, LogoutOutcome};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::pages::{message, render};
use crate::web::{client_ip, csrf, session_cookie};

use crate::web::i18n::filters;

#[derive(askama::Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    csrf: &'a str,
    request: &'a str,
    /// [`copy::LOGOUT_ASKED_BY`] or [`copy::LOGOUT_ASKED`] filled in, as HTML.
    lead: &'a str,
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// The "signed out" page, which also clears the session cookie.
fn signed_out(app: &App, text: &str) -> Response {
    cookies_ended(
        app,
        message(StatusCode::OK, &copy::t(copy::SIGNED_OUT_TITLE), text),
    )
}

/// Removes the session cookie and every forward-auth cookie: signing out ends both.
fn cookies_ended(app: &App, resp: Response) -> Response {
    let resp = with_cookie(resp, Some(session_cookie::clear(app)));
    crate::web::forward_auth::clear_cookies(app)
        .into_iter()
        .fold(resp, |resp, c| with_cookie(resp, Some(c)))
}

/// `POST /logout`: ends the browser session.
#[handler]
pub async fn logout_post(req: &Request, Data(app): Data<&App>, Form(f): Form<LogoutForm>) -> Response {
    if !csrf::verify(req, app, &f.csrf) {
        return message(
            page_status(PageFailure::Forbidden),
            &copy::t(copy::FORM_EXPIRED_TITLE),
            &copy::t(copy::LOGOUT_FORM_EXPIRED),
        );
    }
    if let Some(cookie) = session_cookie_value(app, req)
        && let Err(e) = logout::end_session(app, cookie).await
    {
        return unavailable(&e);
    }
    signed_out(app, &copy::t(copy::SIGNED_OUT))
}

/// Renders what an RP-initiated logout request came to.
fn render_outcome(
    req: &Request,
    app: &App,
    params: &Params,
    outcome: Result<LogoutOutcome, ServiceError>,
) -> Response {
    match outcome {
        Ok(LogoutOutcome::Refused(reason)) => message(
            page_status(PageFailure::Invalid),
            &copy::t(copy::LOGOUT_REFUSED_TITLE),
            &copy::logout_refusal(&reason),
        ),
        Ok(LogoutOutcome::Confirm { client_name }) => {
            let (token, cookie) = match csrf::issue(req, app) {
                Ok(pair) => pair,
                Err(e) => return unavailable(&ServiceError::Internal(e)),
            };
            let lead = match &client_name {
                Some(name) => copy::html(copy::LOGOUT_ASKED_BY, &[("client", copy::Value::Strong(name))]),
                None => copy::html(copy::LOGOUT_ASKED, &[]),
            };
            let page = LogoutPage {
                csrf: &token,
                request: &params.encode(),
                lead: &lead,
            };
            with_cookie(render(&page, StatusCode::OK), cookie)
        }
        Ok(LogoutOutcome::SignedOut(After::Redirect(uri))) => cookies_ended(app, see_other(&uri)),
        Ok(LogoutOutcome::SignedOut(After::Unregistered { uri, client_id })) => signed_out(
            app,
            &copy::text(
                copy::SIGNED_OUT_UNREGISTERED,
                &[("uri", &uri), ("client_id", &client_id)],
            ),
        ),
        Ok(LogoutOutcome::SignedOut(After::Stay)) => signed_out(app, &copy::t(copy::SIGNED_OUT)),
        Err(e) => unavailable(&e),
    }
}

/// `GET` and `POST /oauth/logout`: RP-initiated logout. An `id_token_hint` naming the signed-in
/// user (or sent when nobody is signed in) signs out at once; anything else, another user's ID
/// token included, gets a confirmation page first.
#[handler]
pub async fn end_session_endpoint(req: &Request, body: Body, Data(app): Data<&App>) -> Response {
    let params = match request_params(req, body).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let cookie = session_cookie_value(app, req);
    let outcome = logout::rp_logout(app, &params, cookie, false, client_ip(req)).await;
    render_outcome(req, app, &params, outcome)
}

#[derive(Deserialize)]
pub struct LogoutConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
}

/// `POST /oauth/logout/confirm`: the user confirmed an RP-initiated logout.
#[handler]
pub async fn end_session_confirm(
    req: &Request,
    Data(app): Data<&App>,
    Form(f): Form<LogoutConfirmForm>,
) -> Response {
    if !csrf::verify(req, app, &f.csrf) {
        return message(
            page_status(PageFailure::Forbidden),
            &copy::t(copy::FORM_EXPIRED_TITLE),
            &copy::t(copy::FORM_EXPIRED_RETRY),
        );
    }
    let params = match Params::parse(&f.request) {
        Ok(p) => p,
        Err(e) => return bad_params(&e),
    };
    let cookie = session_cookie_value(app, req);
    let outcome = logout::rp_logout(app, &params, cookie, true, client_ip(req)).await;
    render_outcome(req, app, &params, outcome)
}
