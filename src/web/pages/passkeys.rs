//! Passkeys in the browser: the embedded script (`/static/passkey.js`), a signed-in user's
//! passkey page (`/account/passkeys`: list, rename and remove as plain forms), and the JSON
//! halves of the WebAuthn ceremonies the script drives (registration, passkey-first sign-in,
//! a passkey as the second step of a sign-in on `/login/factor`).
//! Each handler parses, calls one use case in [`service::passkeys`](crate::service::passkeys)
//! and renders its outcome; JSON posts carry the page's form token in `X-CSRF-Token`.

use poem::http::{StatusCode, header};
use poem::web::{Data, Form};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::oauth::{safe_return, see_other, with_cookie};
use super::{copy, factor, render};
use crate::domain::{Session, Timestamp, User};
use crate::protocol::login::{LoginPolicy, SecondFactor};
use crate::service::login::{self, Begun, Credential, LoginError, Purpose};
use crate::service::passkeys::{self, PasskeyError, PasskeyView};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{PAGE_CSP_WITH_SCRIPT, client_ip, csrf, session_cookie};

use crate::web::i18n::filters;

const SCRIPT: &str = include_str!("../../../static/passkey.js");
/// The header a JSON post carries the page's form token in.
const CSRF_HEADER: &str = "x-csrf-token";
/// The passkey page's own address.
const PAGE: &str = "/account/passkeys";
/// The largest JSON body a ceremony accepts (an attestation is a few kilobytes).
const MAX_JSON: usize = 32 * 1024;

/// The one script, embedded in the binary.
#[handler]
pub fn script() -> Response {
    SCRIPT
        .with_content_type("text/javascript; charset=utf-8")
        .with_header("Cache-Control", "public, max-age=3600")
        .with_header("X-Content-Type-Options", "nosniff")
        .into_response()
}

/// A page response that may run the passkey script.
pub(in crate::web::pages) fn with_script(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        poem::http::HeaderValue::from_static(PAGE_CSP_WITH_SCRIPT),
    );
    resp
}

/// The sign-in policy the removal rules follow.
fn policy(app: &App) -> LoginPolicy {
    login::login_policy(app)
}

fn failure_of(e: &PasskeyError) -> PageFailure {
    match e {
        PasskeyError::Off | PasskeyError::NotFound => PageFailure::NotFound,
        PasskeyError::InvalidName | PasskeyError::Duplicate => PageFailure::Invalid,
        PasskeyError::NoCeremony
        | PasskeyError::WrongUser
        | PasskeyError::Refused
        | PasskeyError::NotFresh
        | PasskeyError::LastRequiredFactor => PageFailure::Forbidden,
        PasskeyError::Throttled(_) => PageFailure::Throttled,
        PasskeyError::Unavailable(_) => PageFailure::Unavailable,
    }
}

fn log_unavailable(e: &PasskeyError) {
    if let PasskeyError::Unavailable(inner) = e {
        tracing::error!(error = %inner, "a passkey request failed inside");
    }
}

/// A JSON answer.
pub(in crate::web::pages) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(value.to_string())
}

/// A JSON failure: the status from the error policy and the sentence for the script to show.
pub(in crate::web::pages) fn json_failure(failure: PageFailure, message: &str) -> Response {
    json(page_status(failure), &serde_json::json!({ "error": message }))
}

pub(in crate::web::pages) fn json_passkey_error(e: &PasskeyError) -> Response {
    log_unavailable(e);
    let mut resp = json_failure(failure_of(e), &copy::passkey_error(e));
    if let PasskeyError::Throttled(after) = e
        && let Ok(v) = after.to_string().parse()
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

pub(in crate::web::pages) fn json_unavailable(e: &ServiceError) -> Response {
    json_passkey_error(&PasskeyError::Unavailable(e.clone()))
}

/// Whether a JSON post's form token verifies (and, through [`csrf::verify`], its origin).
pub(in crate::web::pages) fn csrf_ok(req: &Request, app: &App) -> bool {
    let token = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    csrf::verify(req, app, token)
}

/// The answer to a JSON post whose form token did not verify.
pub(in crate::web::pages) fn csrf_refused() -> Response {
    json_failure(PageFailure::Forbidden, &copy::t(copy::FORM_EXPIRED_RELOAD_PAGE))
}

/// Reads a bounded JSON body.
pub(in crate::web::pages) async fn read_json<T: DeserializeOwned>(body: Body) -> Result<T, Response> {
    let invalid = || json_failure(PageFailure::Invalid, &copy::t(copy::REQUEST_NOT_VALID));
    let bytes = body.into_bytes_limit(MAX_JSON).await.map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

fn session_cookie_value<'a>(app: &App, req: &'a Request) -> Option<&'a str> {
    csrf::read_cookie(req, session_cookie::name(app.config.is_https()))
}

/// The signed-in session and user of this browser, if any.
async fn signed_in(app: &App, req: &Request) -> Result<Option<(Session, User)>, ServiceError> {
    match session_cookie_value(app, req) {
        Some(cookie) => login::current(app, cookie).await,
        None => Ok(None),
    }
}

/// A date and time in UTC, to the minute (`2026-12-01 14:05 UTC`).
fn when(ts: Timestamp) -> String {
    crate::web::i18n::date_time(ts)
}

/// One passkey as the page lists it.
struct Row {
    id: String,
    name: String,
    dates: String,
    backup: String,
}

impl Row {
    fn of(p: &PasskeyView) -> Row {
        let last_used = p
            .last_used_at
            .map_or_else(|| copy::t(copy::PASSKEY_NEVER_USED), when);
        Row {
            id: p.credential_id.clone(),
            name: p.name.clone(),
            dates: copy::text(
                copy::PASSKEY_DATES,
                &[("created", &when(p.created_at)), ("last_used", &last_used)],
            ),
            backup: match (p.backup_eligible, p.backup_state) {
                (true, true) => copy::t(copy::PASSKEY_SYNCED),
                (true, false) => copy::t(copy::PASSKEY_SYNCABLE),
                (false, _) => copy::t(copy::PASSKEY_DEVICE_BOUND),
            },
        }
    }
}

#[derive(askama::Template)]
#[template(path = "passkeys.html")]
struct PasskeysPage<'a> {
    csrf: &'a str,
    /// [`copy::PASSKEYS_LEAD`] filled in, as HTML.
    lead: String,
    notice: Option<&'a str>,
    /// An error, as HTML (it may hold a link).
    error: Option<String>,
    passkeys: Vec<Row>,
    none: &'a str,
    needs_script: &'a str,
    failed: &'a str,
}

/// Renders the passkey page of `user`.
async fn render_page(
    req: &Request,
    app: &App,
    user: &User,
    notice: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let listed = match passkeys::list(app, &user.subject).await {
        Ok(l) => l,
        Err(e) => return page_error(&e),
    };
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return page_error(&PasskeyError::Unavailable(ServiceError::Internal(e))),
    };
    let page = PasskeysPage {
        csrf: &token,
        lead: copy::html(
            copy::PASSKEYS_LEAD,
            &[("username", copy::Value::Strong(user.username.as_str()))],
        ),
        notice,
        error,
        passkeys: listed.iter().map(Row::of).collect(),
        none: &copy::t(copy::PASSKEYS_NONE),
        needs_script: &copy::t(copy::PASSKEY_NEEDS_SCRIPT),
        failed: &copy::t(copy::PASSKEY_BROWSER_FAILED),
    };
    with_script(with_cookie(render(&page, status), cookie))
}

/// An error page for a passkey failure.
fn page_error(e: &PasskeyError) -> Response {
    log_unavailable(e);
    super::message(
        page_status(failure_of(e)),
        &copy::t(copy::PASSKEYS_TITLE),
        &copy::passkey_error(e),
    )
}

/// Where a signed-out browser is sent: the sign-in page, coming back here.
fn to_sign_in() -> Response {
    see_other("/login?return_to=%2Faccount%2Fpasskeys")
}

/// `GET /account/passkeys`: the signed-in user's passkeys.
#[handler]
pub async fn show(req: &Request, Data(app): Data<&App>) -> Response {
    let (_, user) = match signed_in(app, req).await {
        Ok(Some(found)) => found,
        Ok(None) => return to_sign_in(),
        Err(e) => return page_error(&PasskeyError::Unavailable(e)),
    };
    let done = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.into_owned());
    let notice = match done.as_deref() {
        Some("added") => Some(copy::t(copy::PASSKEY_ADDED)),
        Some("renamed") => Some(copy::t(copy::PASSKEY_RENAMED)),
        Some("removed") => Some(copy::t(copy::PASSKEY_REMOVED)),
        _ => None,
    };
    render_page(req, app, &user, notice.as_deref(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    credential_id: String,
    #[serde(default)]
    name: String,
}

/// The page again with the error of a failed change.
async fn change_failed(req: &Request, app: &App, user: &User, e: &PasskeyError) -> Response {
    log_unavailable(e);
    let error = match e {
        // The sentence keeps its unfilled `{link}` placeholder, which becomes the link.
        PasskeyError::NotFresh => {
            let mut link = String::from("<a href=\"/login?fresh=1&amp;return_to=%2Faccount%2Fpasskeys\">");
            crate::web::i18n::catalog::escape(&copy::t(copy::PASSKEY_SIGN_IN_AGAIN_LINK), &mut link);
            link.push_str("</a>");
            copy::html(
                copy::PASSKEY_SIGN_IN_AGAIN,
                &[("link", copy::Value::Markup(&link))],
            )
        }
        other => {
            let mut words = String::new();
            crate::web::i18n::catalog::escape(&copy::passkey_error(other), &mut words);
            words
        }
    };
    render_page(req, app, user, None, Some(error), page_status(failure_of(e))).await
}

/// The signed-in session and user for a form post whose token verifies, or the response to
/// send instead.
async fn form_user(req: &Request, app: &App, token: &str) -> Result<(Session, User), Response> {
    let (session, user) = match signed_in(app, req).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(to_sign_in()),
        Err(e) => return Err(page_error(&PasskeyError::Unavailable(e))),
    };
    if !csrf::verify(req, app, token) {
        return Err(super::message(
            page_status(PageFailure::Forbidden),
            &copy::t(copy::PASSKEYS_TITLE),
            &copy::t(copy::FORM_EXPIRED),
        ));
    }
    Ok((session, user))
}

/// `POST /account/passkeys/rename`.
#[handler]
pub async fn rename(req: &Request, Data(app): Data<&App>, Form(f): Form<ChangeForm>) -> Response {
    let (_, user) = match form_user(req, app, &f.csrf).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    match passkeys::rename(app, &user, &f.credential_id, &f.name, client_ip(req)).await {
        Ok(()) => see_other("/account/passkeys?done=renamed"),
        Err(e) => change_failed(req, app, &user, &e).await,
    }
}

/// `POST /account/passkeys/remove`: needs a recent sign-in, and the policy's consent.
#[handler]
pub async fn remove(req: &Request, Data(app): Data<&App>, Form(f): Form<ChangeForm>) -> Response {
    let (session, user) = match form_user(req, app, &f.csrf).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let policy = policy(app);
    match passkeys::remove(app, &session, &user, &policy, &f.credential_id, client_ip(req)).await {
        Ok(()) => see_other("/account/passkeys?done=removed"),
        Err(e) => change_failed(req, app, &user, &e).await,
    }
}

/// The signed-in user for a JSON post whose token verifies.
async fn json_user(req: &Request, app: &App) -> Result<User, Response> {
    if !csrf_ok(req, app) {
        return Err(csrf_refused());
    }
    match signed_in(app, req).await {
        Ok(Some((_, user))) => Ok(user),
        Ok(None) => Err(json_failure(
            PageFailure::Forbidden,
            &copy::t(copy::SESSION_ENDED_SIGN_IN),
        )),
        Err(e) => Err(json_unavailable(&e)),
    }
}

/// `POST /account/passkeys/register/start`: the options for `navigator.credentials.create`.
#[handler]
pub async fn register_start(req: &Request, Data(app): Data<&App>) -> Response {
    let user = match json_user(req, app).await {
        Ok(u) => u,
        Err(resp) => return resp,
    };
    match passkeys::start_registration(app, &user).await {
        Ok(started) => json(
            StatusCode::OK,
            &serde_json::json!({ "ceremony": started.ceremony, "options": started.options }),
        ),
        Err(e) => json_passkey_error(&e),
    }
}

#[derive(Deserialize)]
struct RegisterFinish {
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// `POST /account/passkeys/register/finish`: the authenticator's answer; stores the passkey.
#[handler]
pub async fn register_finish(req: &Request, Data(app): Data<&App>, body: Body) -> Response {
    let user = match json_user(req, app).await {
        Ok(u) => u,
        Err(resp) => return resp,
    };
    let finish: RegisterFinish = match read_json(body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let ip = client_ip(req);
    match passkeys::finish_registration(app, &user, &finish.ceremony, &finish.name, &finish.credential, ip)
        .await
    {
        Ok(_) => json(
            StatusCode::OK,
            &serde_json::json!({ "redirect": format!("{PAGE}?done=added") }),
        ),
        Err(e) => json_passkey_error(&e),
    }
}

/// `POST /login/passkey/start`: the options for a passkey-first `navigator.credentials.get`
/// (also used for conditional mediation).
#[handler]
pub async fn sign_in_start(req: &Request, Data(app): Data<&App>) -> Response {
    if !csrf_ok(req, app) {
        return csrf_refused();
    }
    match passkeys::start_sign_in(app, client_ip(req)).await {
        Ok(started) => json(
            StatusCode::OK,
            &serde_json::json!({ "ceremony": started.ceremony, "options": started.options }),
        ),
        Err(e) => json_passkey_error(&e),
    }
}

#[derive(Deserialize)]
struct SignInFinish {
    ceremony: String,
    #[serde(default)]
    return_to: String,
    credential: PublicKeyCredential,
}

/// `POST /login/passkey/finish`: the authenticator's answer; signs in through the login state
/// machine ([`login::sign_in`] with [`Credential::Passkey`]) and says where to go next.
#[handler]
pub async fn sign_in_finish(req: &Request, Data(app): Data<&App>, body: Body) -> Response {
    if !csrf_ok(req, app) {
        return csrf_refused();
    }
    let finish: SignInFinish = match read_json(body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let ip = client_ip(req);
    let proven = match passkeys::finish_sign_in(app, &finish.ceremony, &finish.credential, ip).await {
        Ok(p) => p,
        Err(e) => return json_passkey_error(&e),
    };
    let credential = Credential::Passkey {
        user: proven.user,
        synced: proven.synced,
        verified: proven.verified,
    };
    let return_to = safe_return(&finish.return_to).to_owned();
    let previous = session_cookie_value(app, req);
    let purpose = Purpose {
        return_to: &return_to,
        two_factors_wanted: false,
    };
    match login::sign_in(app, credential, ip, previous, purpose).await {
        Ok(Begun::Done(signed_in)) => with_cookie(
            json(StatusCode::OK, &serde_json::json!({ "redirect": return_to })),
            Some(session_cookie::set(&signed_in.cookie, app)),
        ),
        // A passkey that did not verify the user is one factor: the second step follows.
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
        Err(LoginError::Throttled(r)) => json_passkey_error(&PasskeyError::Throttled(r.0)),
        Err(LoginError::Failed) => json_passkey_error(&PasskeyError::Refused),
        Err(LoginError::Unavailable(e)) => json_unavailable(&e),
    }
}

/// The pending sign-in of this browser (its cookie and view) for a JSON post whose token
/// verifies, or the answer to send instead.
async fn json_pending(req: &Request, app: &App) -> Result<(String, login::PendingView), Response> {
    if !csrf_ok(req, app) {
        return Err(csrf_refused());
    }
    let gone = || json_failure(PageFailure::Forbidden, &copy::t(copy::PENDING_GONE));
    let Some(cookie) = factor::pending_cookie(app, req) else {
        return Err(gone());
    };
    match login::pending(app, cookie).await {
        Ok(Some(view)) => Ok((cookie.to_owned(), view)),
        Ok(None) => Err(gone()),
        Err(e) => Err(json_unavailable(&e)),
    }
}

/// `POST /login/factor/passkey/start`: the options for the signed-in-so-far user's passkeys.
#[handler]
pub async fn factor_start(req: &Request, Data(app): Data<&App>) -> Response {
    let (_, view) = match json_pending(req, app).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    match passkeys::start_second_factor(app, &view.subject).await {
        Ok(started) => json(
            StatusCode::OK,
            &serde_json::json!({ "ceremony": started.ceremony, "options": started.options }),
        ),
        Err(e) => json_passkey_error(&e),
    }
}

#[derive(Deserialize)]
struct FactorFinish {
    ceremony: String,
    credential: PublicKeyCredential,
}

/// `POST /login/factor/passkey/finish`: the authenticator's answer; completes the pending
/// sign-in ([`login::complete_pending`] with [`SecondFactor::Passkey`]).
#[handler]
pub async fn factor_finish(req: &Request, Data(app): Data<&App>, body: Body) -> Response {
    let (cookie, view) = match json_pending(req, app).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let finish: FactorFinish = match read_json(body).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let synced = match passkeys::finish_second_factor(
        app,
        &view.subject,
        &finish.ceremony,
        &finish.credential,
    )
    .await
    {
        Ok(synced) => synced,
        Err(e) => return json_passkey_error(&e),
    };
    let previous = session_cookie_value(app, req);
    let second = SecondFactor::Passkey { synced };
    match login::complete_pending(app, &cookie, second, client_ip(req), previous).await {
        Ok(new) => {
            let next = safe_return(&view.return_to);
            let resp = with_cookie(
                json(StatusCode::OK, &serde_json::json!({ "redirect": next })),
                Some(session_cookie::set(&new.cookie, app)),
            );
            with_cookie(resp, Some(factor::clear_pending_cookie(app)))
        }
        Err(LoginError::Failed) => json_failure(PageFailure::Forbidden, &copy::t(copy::PENDING_GONE)),
        Err(LoginError::Throttled(r)) => json_passkey_error(&PasskeyError::Throttled(r.0)),
        Err(LoginError::Unavailable(e)) => json_unavailable(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc_to_the_minute() {
        assert_eq!(when(Timestamp(0)), "1970-01-01 00:00 UTC");
        assert_eq!(when(Timestamp(1_800_000_000)), "2027-01-15 08:00 UTC");
        assert_eq!(when(Timestamp(951_782_400)), "2000-02-29 00:00 UTC");
    }
}
