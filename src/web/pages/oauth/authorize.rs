//! `GET`/`POST /oauth/authorize` and `POST /oauth/consent`: parse, call
//! [`service::authorize`](crate::service::authorize), render the outcome (the login page, the
//! consent page, an error page, or a redirect to the client).

use poem::http::StatusCode;
use poem::web::{Data, Form};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;

use super::login::{LoginView, login_page};
use super::{bad_params, copy, request_params, see_other, session_cookie_value, unavailable, with_cookie};
use crate::protocol::authorize::PageReason;
use crate::protocol::params::Params;
use crate::service::authorize::{self as authz, AuthorizeOutcome, ConsentOutcome};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::pages::{message, render};
use crate::web::{client_ip, csrf};

use crate::web::i18n::filters;

#[derive(askama::Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    request: &'a str,
    /// [`copy::CONSENT_LEAD`] filled in, as HTML.
    lead: &'a str,
    scopes: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "outside_groups.html")]
struct OutsideGroupsPage<'a> {
    title: &'a str,
    /// [`copy::GROUPS_REFUSED_LEAD`] filled in, as HTML.
    lead: &'a str,
    hint: &'a str,
    switch_href: &'a str,
    switch_label: &'a str,
    csrf: &'a str,
    sign_out: &'a str,
}

/// The page for a signed-in user outside the client's `allowed_groups` (403): who is signed in,
/// that the application is limited to certain groups, a link that signs in with another account
/// (the same request with `prompt=login`) and a sign-out button. No code, no redirect.
fn outside_groups_page(
    req: &Request,
    app: &App,
    client_name: &str,
    username: &str,
    switch: &Params,
) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let lead = copy::html(
        copy::GROUPS_REFUSED_LEAD,
        &[
            ("username", copy::Value::Strong(username)),
            ("client", copy::Value::Strong(client_name)),
        ],
    );
    let switch_href = format!("/oauth/authorize?{}", switch.encode());
    let page = OutsideGroupsPage {
        title: &copy::t(copy::GROUPS_REFUSED_TITLE),
        lead: &lead,
        hint: &copy::t(copy::GROUPS_REFUSED_HINT),
        switch_href: &switch_href,
        switch_label: &copy::t(copy::GROUPS_REFUSED_SWITCH),
        csrf: &token,
        sign_out: &copy::t(copy::SIGN_OUT),
    };
    with_cookie(render(&page, page_status(PageFailure::Forbidden)), cookie)
}

/// The error page for a request whose client or redirect URI cannot be trusted, logged once at
/// `info` with the client id as sent and the words shown.
fn refusal_page(params: &Params, reason: &PageReason) -> Response {
    let (title, detail) = copy::page_reason(reason);
    // The client id as sent, cut short and debug-escaped: it is client input on its way to a log.
    let sent_id: String = params.get("client_id").unwrap_or("").chars().take(128).collect();
    if !matches!(reason, PageReason::SessionEnded) {
        tracing::info!(client_id = ?sent_id, reason = %detail, "refused an authorization request with an error page");
    }
    message(page_status(PageFailure::Invalid), &title, &detail)
}

/// `GET` and `POST /oauth/authorize`.
#[handler]
pub async fn authorize_endpoint(req: &Request, body: Body, Data(app): Data<&App>) -> Response {
    let params = match request_params(req, body).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    // A POST carries `ui_locales` in its body, which the language middleware does not read.
    crate::web::i18n::prefer_ui_locales(params.get("ui_locales"));
    let cookie = session_cookie_value(app, req);
    match authz::authorize(app, &params, cookie, client_ip(req)).await {
        Ok(AuthorizeOutcome::Page(reason)) => refusal_page(&params, &reason),
        Ok(AuthorizeOutcome::Login {
            resume,
            login_hint,
            client_name,
            client_icon,
        }) => {
            // After signing in the browser comes back here; `prompt=login` is then satisfied.
            let return_to = format!("/oauth/authorize?{}", resume.encode());
            let view = LoginView {
                return_to: &return_to,
                username: &login_hint,
                client_name: Some(&client_name),
                client_icon: client_icon.as_ref(),
                error: None,
                lead: None,
            };
            login_page(req, app, &view, StatusCode::OK)
        }
        Ok(AuthorizeOutcome::Consent {
            client_name,
            username,
            scopes,
        }) => {
            let (token, cookie) = match csrf::issue(req, app) {
                Ok(pair) => pair,
                Err(e) => return unavailable(&ServiceError::Internal(e)),
            };
            let lead = copy::html(
                copy::CONSENT_LEAD,
                &[
                    ("client", copy::Value::Strong(&client_name)),
                    ("username", copy::Value::Strong(&username)),
                ],
            );
            let page = ConsentPage {
                csrf: &token,
                request: &params.encode(),
                lead: &lead,
                scopes: scopes.iter().map(|s| copy::describe_scope(s.as_str())).collect(),
            };
            with_cookie(render(&page, StatusCode::OK), cookie)
        }
        Ok(AuthorizeOutcome::OutsideAllowedGroups {
            client_name,
            username,
            switch_account,
        }) => outside_groups_page(req, app, &client_name, &username, &switch_account),
        Ok(AuthorizeOutcome::Redirect(location)) => see_other(&location),
        Err(e) => unavailable(&e),
    }
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// `POST /oauth/consent`: Allow issues the code; Deny answers `access_denied`.
#[handler]
pub async fn consent_post(req: &Request, Data(app): Data<&App>, Form(f): Form<ConsentForm>) -> Response {
    if !csrf::verify(req, app, &f.csrf) {
        return message(
            page_status(PageFailure::Forbidden),
            &copy::t(copy::FORM_EXPIRED_TITLE),
            &copy::t(copy::CONSENT_FORM_EXPIRED),
        );
    }
    let params = match Params::parse(&f.request) {
        Ok(p) => p,
        Err(e) => return bad_params(&e),
    };
    crate::web::i18n::prefer_ui_locales(params.get("ui_locales"));
    let cookie = session_cookie_value(app, req);
    let allow = f.decision == "allow";
    match authz::consent(app, &params, allow, cookie, client_ip(req)).await {
        Ok(ConsentOutcome::Page(reason)) => refusal_page(&params, &reason),
        Ok(ConsentOutcome::Restart) => see_other(&format!("/oauth/authorize?{}", params.encode())),
        Ok(ConsentOutcome::Redirect(location)) => see_other(&location),
        Err(e) => unavailable(&e),
    }
}
