//! `/invite/{token}`: the page of an invitation link, where the invitee chooses a password and
//! is signed in (then offered to add a passkey), or, when passkeys are on, registers a passkey
//! instead through the script and the two JSON posts `/invite/{token}/passkey/start|finish`.
//! Every look at a token is throttled per address in
//! [`service::invitations`](crate::service::invitations).

use poem::http::{StatusCode, header};
use poem::web::{Data, Form, Path};
use poem::{Body, Request, Response, handler};
use serde::Deserialize;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::oauth::with_cookie;
use super::passkeys::{
    csrf_ok, csrf_refused, json, json_failure, json_passkey_error, json_unavailable, read_json, with_script,
};
use super::{copy, factor, message, render};
use crate::service::invitations::{self, InviteError, InvitePasskeyError};
use crate::service::login::Begun;
use crate::service::throttle::RetryAfter;
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf, session_cookie};

use crate::web::i18n::filters;

/// The longest token looked up; real ones are shorter.
const MAX_TOKEN: usize = 64;

#[derive(askama::Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    /// The form's target, `/invite/{token}`.
    action: &'a str,
    csrf: &'a str,
    /// [`copy::INVITE_LEAD`] or, once accepted, [`copy::INVITE_DONE`], as HTML.
    lead: String,
    error: Option<&'a str>,
    /// Accepted: the page offers a passkey and the account page instead of the form.
    done: bool,
    username: &'a str,
    /// The passkey form's words, when passkeys are on.
    passkey: Option<PasskeyWords>,
}

/// The words of the invitation page's passkey form.
struct PasskeyWords {
    lead: String,
    name: String,
    button: String,
    failed: String,
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
}

fn invalid_link() -> Response {
    message(
        page_status(PageFailure::NotFound),
        &copy::t(copy::INVITE_INVALID_TITLE),
        &copy::t(copy::INVITE_INVALID),
    )
}

fn throttled(wait: RetryAfter) -> Response {
    let text = copy::text(copy::INVITE_THROTTLED, &[("seconds", &wait.0.to_string())]);
    let mut resp = message(
        page_status(PageFailure::Throttled),
        &copy::t(copy::TOO_MANY_ATTEMPTS_TITLE),
        &text,
    );
    resp.headers_mut().insert(header::RETRY_AFTER, wait.0.into());
    resp
}

fn unavailable(e: &ServiceError) -> Response {
    tracing::error!(error = %e, "an invitation request failed inside");
    message(
        page_status(PageFailure::Unavailable),
        &copy::t(copy::TRY_AGAIN_TITLE),
        &copy::t(copy::UNAVAILABLE_SHORT),
    )
}

/// Renders the page; `done` once the invitation was accepted.
fn form(req: &Request, app: &App, token: &str, username: &str, error: Option<&str>, done: bool) -> Response {
    let (csrf_token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let sentence = if done {
        copy::INVITE_DONE
    } else {
        copy::INVITE_LEAD
    };
    let action = format!("/invite/{token}");
    let page = InvitePage {
        action: &action,
        csrf: &csrf_token,
        lead: copy::html(sentence, &[("username", copy::Value::Strong(username))]),
        error,
        done,
        username,
        passkey: app.passkeys.is_some().then_some(PasskeyWords {
            lead: copy::t(copy::INVITE_PASSKEY_LEAD),
            name: copy::t(copy::INVITE_PASSKEY_NAME),
            button: copy::t(copy::INVITE_PASSKEY),
            failed: copy::t(copy::PASSKEY_BROWSER_FAILED),
        }),
    };
    let scripted = page.passkey.is_some() && !done;
    let status = if error.is_some() {
        page_status(PageFailure::Invalid)
    } else {
        StatusCode::OK
    };
    let mut resp = with_cookie(render(&page, status), cookie);
    if scripted {
        resp = with_script(resp);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

/// `GET /invite/{token}`.
#[handler]
pub async fn show(req: &Request, Data(app): Data<&App>, Path(token): Path<String>) -> Response {
    if token.len() > MAX_TOKEN {
        return invalid_link();
    }
    match invitations::check(app, token.clone(), client_ip(req)).await {
        Ok(user) => form(req, app, &token, user.username.as_str(), None, false),
        Err(e) => refused(&e),
    }
}

fn refused(e: &InviteError) -> Response {
    match e {
        InviteError::Invalid => invalid_link(),
        InviteError::Throttled(wait) => throttled(*wait),
        InviteError::Refused(e) => unavailable(e),
    }
}

/// `POST /invite/{token}`: choose the password, accept, sign in.
#[handler]
pub async fn accept(
    req: &Request,
    Data(app): Data<&App>,
    Path(token): Path<String>,
    Form(f): Form<InviteForm>,
) -> Response {
    if token.len() > MAX_TOKEN {
        return invalid_link();
    }
    if !csrf::verify(req, app, &f.csrf) {
        return message(
            page_status(PageFailure::Forbidden),
            &copy::t(copy::FORM_EXPIRED_TITLE),
            &copy::t(copy::FORM_EXPIRED_RELOAD),
        );
    }
    let ip = client_ip(req);
    let again = |user: &str, error: &str| form(req, app, &token, user, Some(error), false);
    if f.password != f.password_repeat {
        return match invitations::check(app, token.clone(), ip).await {
            Ok(user) => again(user.username.as_str(), &copy::t(copy::ACCOUNT_PASSWORDS_DIFFER)),
            Err(e) => refused(&e),
        };
    }
    let previous = csrf::read_cookie(req, session_cookie::name(app.config.is_https()));
    match invitations::accept(app, token.clone(), f.password, ip, previous).await {
        Ok(Begun::Done(signed_in)) => with_cookie(
            form(req, app, &token, signed_in.user.username.as_str(), None, true),
            Some(session_cookie::set(&signed_in.cookie, app)),
        ),
        // The password is set; the sign-in continues with its second step (or the enrolment of one).
        Ok(Begun::NeedFactor(pending) | Begun::NeedEnrolment(pending)) => match pending.cookie() {
            Some(cookie) => super::factor::continue_to_factor(app, cookie),
            None => message(
                StatusCode::OK,
                &copy::t(copy::INVITE_PASSWORD_SET_TITLE),
                &copy::t(copy::INVITE_SIGN_IN),
            ),
        },
        Err(InviteError::Refused(ServiceError::Invalid { reason, .. })) => {
            match invitations::check(app, token.clone(), ip).await {
                Ok(user) => again(user.username.as_str(), &copy::invalid_reason(&reason)),
                Err(e) => refused(&e),
            }
        }
        Err(e) => refused(&e),
    }
}

/// An invitation failure as the script's JSON answer.
fn json_refused(e: &InviteError) -> Response {
    match e {
        InviteError::Invalid => json_failure(PageFailure::NotFound, &copy::t(copy::INVITE_INVALID)),
        InviteError::Throttled(wait) => {
            let text = copy::text(copy::INVITE_THROTTLED, &[("seconds", &wait.0.to_string())]);
            let mut resp = json_failure(PageFailure::Throttled, &text);
            resp.headers_mut().insert(header::RETRY_AFTER, wait.0.into());
            resp
        }
        InviteError::Refused(e) => json_unavailable(e),
    }
}

fn json_passkey_refused(e: &InvitePasskeyError) -> Response {
    match e {
        InvitePasskeyError::Invite(e) => json_refused(e),
        InvitePasskeyError::Passkey(e) => json_passkey_error(e),
    }
}

/// `POST /invite/{token}/passkey/start`: the options for `navigator.credentials.create`, for
/// the invitee of a live invitation (the link is not used up).
#[handler]
pub async fn passkey_start(req: &Request, Data(app): Data<&App>, Path(token): Path<String>) -> Response {
    if !csrf_ok(req, app) {
        return csrf_refused();
    }
    if token.len() > MAX_TOKEN {
        return json_refused(&InviteError::Invalid);
    }
    match invitations::start_passkey(app, token, client_ip(req)).await {
        Ok(started) => json(
            StatusCode::OK,
            &serde_json::json!({ "ceremony": started.ceremony, "options": started.options }),
        ),
        Err(e) => json_passkey_refused(&e),
    }
}

#[derive(Deserialize)]
struct PasskeyFinish {
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// `POST /invite/{token}/passkey/finish`: the authenticator's answer; uses the invitation up,
/// stores the passkey, signs the invitee in with it and says where to go next.
#[handler]
pub async fn passkey_finish(
    req: &Request,
    Data(app): Data<&App>,
    Path(token): Path<String>,
    body: Body,
) -> Response {
    if !csrf_ok(req, app) {
        return csrf_refused();
    }
    if token.len() > MAX_TOKEN {
        return json_refused(&InviteError::Invalid);
    }
    let finish: PasskeyFinish = match read_json(body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let ip = client_ip(req);
    let previous = csrf::read_cookie(req, session_cookie::name(app.config.is_https()));
    let accepted = invitations::accept_passkey(
        app,
        token,
        &finish.ceremony,
        &finish.name,
        &finish.credential,
        ip,
        previous,
    )
    .await;
    match accepted {
        Ok(Begun::Done(signed_in)) => with_cookie(
            json(StatusCode::OK, &serde_json::json!({ "redirect": "/account" })),
            Some(session_cookie::set(&signed_in.cookie, app)),
        ),
        Ok(Begun::NeedFactor(pending) | Begun::NeedEnrolment(pending)) => match pending.cookie() {
            Some(cookie) => with_cookie(
                json(
                    StatusCode::OK,
                    &serde_json::json!({ "redirect": factor::FACTOR_PATH }),
                ),
                Some(factor::set_pending_cookie(app, cookie)),
            ),
            None => json_unavailable(&ServiceError::Internal("a pending sign-in was not stored".into())),
        },
        Err(e) => json_passkey_refused(&e),
    }
}
