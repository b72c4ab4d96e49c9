//! The browser side of the authorization server: the authorization endpoint, the login and
//! consent pages, and signing out.

use poem::http::{StatusCode, header};
use poem::web::{Data, Form};
use poem::{Body, IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{message, render};
use crate::domain::{Client, Session, User};
use crate::protocol::authorize::{self, AuthorizationRequest, Rejection};
use crate::protocol::params::{Params, ParamsError};
use crate::service::authorize::Step;
use crate::service::login::{self, LoginError};
use crate::service::{App, ServiceError, audit, authorize as authz, logout};
use crate::web::{client_ip, csrf, session_cookie};

/// The longest authorization request body or query accepted.
const MAX_REQUEST: usize = 32 * 1024;

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    return_to: &'a str,
    username: &'a str,
    client_name: Option<&'a str>,
    error: Option<&'a str>,
    /// "Sign in with ..." buttons: the display name and the link that starts the sign-in.
    upstreams: Vec<(String, String, String)>,
}

#[derive(askama::Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    csrf: &'a str,
    request: &'a str,
    client_name: &'a str,
    username: &'a str,
    scopes: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    csrf: &'a str,
    request: &'a str,
    client_name: Option<&'a str>,
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    csrf: &'a str,
    username: Option<&'a str>,
}

/// How a scope reads on the consent page.
fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "confirm who you are".to_owned(),
        "profile" => "see your name and username".to_owned(),
        "email" => "see your email address".to_owned(),
        "groups" => "see the groups you belong to".to_owned(),
        "offline_access" => "keep access while you are away, without asking again".to_owned(),
        "admin" => "administer this Latchkey server".to_owned(),
        other => format!("use the permission \u{201c}{other}\u{201d}"),
    }
}

fn unavailable(e: &ServiceError) -> Response {
    tracing::error!(error = %e, "a page request failed inside");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "Latchkey could not complete this request. Please try again in a moment.",
    )
}

pub(super) fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

pub(super) fn with_cookie(mut resp: Response, cookie: Option<String>) -> Response {
    if let Some(c) = cookie
        && let Ok(v) = c.parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn bad_params(e: ParamsError) -> Response {
    let detail = match e {
        ParamsError::TooMany => "The request has too many parameters.".to_owned(),
        ParamsError::TooLong(name) => format!("The parameter `{name}` is too long."),
    };
    message(StatusCode::BAD_REQUEST, "Invalid request", &detail)
}

/// The signed-in session and user of this browser, if any.
pub async fn current_session(app: &App, req: &Request) -> Result<Option<(Session, User)>, ServiceError> {
    match csrf::read_cookie(req, session_cookie::name(app.config.is_https())) {
        Some(value) => login::current(app, value).await,
        None => Ok(None),
    }
}

/// The parameters of a request that may come by GET (query) or POST (form body), bounded.
async fn request_params(req: &Request, body: Body) -> Result<Params, Response> {
    let too_large = || {
        message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Invalid request",
            "The request is too large.",
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
    Params::parse(&raw).map_err(bad_params)
}

/// `GET` and `POST /oauth/authorize`.
#[handler]
pub async fn authorize_endpoint(req: &Request, body: Body, Data(app): Data<&App>) -> Response {
    let params = match request_params(req, body).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    proceed(req, app, &params).await
}

/// Validates the request, then logs in, asks consent, or answers the client.
/// Loads the client an authorization request names and validates the request against it; a
/// request that fails becomes its answer: an error page, or an error redirect to the client.
async fn validated(
    req: &Request,
    app: &App,
    params: &Params,
) -> Result<(AuthorizationRequest, Option<Client>), Response> {
    let client = match params.get("client_id") {
        Some(id) => authz::load_client(app, id).await.map_err(|e| unavailable(&e))?,
        None => None,
    };
    let policy = authorize::Policy {
        require_pkce: app.config.require_pkce,
    };
    // The client id as sent, cut short and debug-escaped: it is client input on its way to a log.
    let sent_id: String = params.get("client_id").unwrap_or("").chars().take(128).collect();
    match authorize::validate_with(params, client.as_ref(), &policy) {
        Ok(request) => Ok((request, client)),
        Err(Rejection::Page { title, detail }) => {
            audit::denied(
                app,
                "authorize.refused",
                "untrusted_client_or_redirect_uri",
                client_ip(req),
            );
            tracing::info!(client_id = ?sent_id, reason = %detail, "refused an authorization request with an error page");
            Err(message(StatusCode::BAD_REQUEST, title, &detail))
        }
        Err(Rejection::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            audit::denied(app, "authorize.refused", error.code.as_str(), client_ip(req));
            tracing::info!(
                client_id = ?sent_id,
                error = error.code.as_str(),
                reason = error.description(),
                "refused an authorization request"
            );
            Err(see_other(&authorize::error_response(
                &app.config.issuer,
                &redirect_uri,
                state.as_deref(),
                &error,
            )))
        }
    }
}

async fn proceed(req: &Request, app: &App, params: &Params) -> Response {
    let (request, client) = match validated(req, app, params).await {
        Ok(pair) => pair,
        Err(answer) => return answer,
    };
    let Some(client) = client else {
        return message(
            StatusCode::BAD_REQUEST,
            "Unknown application",
            "No application is registered with this client_id.",
        );
    };
    let session = match current_session(app, req).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let step = match authz::decide(app, &request, &client, session.as_ref(), false).await {
        Ok(step) => step,
        Err(e) => return unavailable(&e),
    };
    match step {
        Step::Login => {
            // After signing in the browser comes back here; `prompt=login` is then satisfied.
            let prompt: Vec<&str> = params
                .get("prompt")
                .unwrap_or("")
                .split(' ')
                .filter(|p| !p.is_empty() && *p != "login")
                .collect();
            let prompt = prompt.join(" ");
            let back = params.with("prompt", Some(prompt.as_str()).filter(|p| !p.is_empty()));
            let return_to = format!("/oauth/authorize?{}", back.encode());
            login_page(
                req,
                app,
                &return_to,
                request.login_hint.as_deref().unwrap_or(""),
                Some(&client),
                None,
                StatusCode::OK,
            )
        }
        Step::Consent => match &session {
            Some((_, user)) => consent_page(req, app, &params.encode(), &client, user, &request.scopes),
            None => message(
                StatusCode::BAD_REQUEST,
                "Sign in first",
                "Your session has ended; start again.",
            ),
        },
        Step::Redirect(location) => see_other(&location),
        Step::Refuse(error) => refuse(req, app, &request, &error),
    }
}

/// Sends a refusal back to the client, logged once at `info` with the client and the reason.
fn refuse(
    req: &Request,
    app: &App,
    request: &AuthorizationRequest,
    error: &crate::protocol::OAuthError,
) -> Response {
    audit::denied(app, "authorize.refused", error.code.as_str(), client_ip(req));
    tracing::info!(
        client_id = %request.client_id,
        error = error.code.as_str(),
        reason = error.description(),
        "refused an authorization request"
    );
    see_other(&authorize::error_response(
        &app.config.issuer,
        &request.redirect_uri,
        request.state.as_deref(),
        error,
    ))
}

fn login_page(
    req: &Request,
    app: &App,
    return_to: &str,
    username: &str,
    client: Option<&Client>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let back: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    let upstreams = app
        .config
        .upstreams
        .iter()
        .map(|u| {
            (
                u.name.clone(),
                u.display_name.clone(),
                format!("/login/upstream/{}?return_to={back}", u.name),
            )
        })
        .collect();
    let page = LoginPage {
        csrf: &token,
        return_to,
        username,
        client_name: client.map(|c| c.name.as_str()),
        error,
        upstreams,
    };
    with_cookie(render(&page, status), cookie)
}

fn consent_page(
    req: &Request,
    app: &App,
    request: &str,
    client: &Client,
    user: &User,
    scopes: &crate::domain::ScopeSet,
) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let page = ConsentPage {
        csrf: &token,
        request,
        client_name: &client.name,
        username: user.username.as_str(),
        scopes: scopes.iter().map(|s| describe_scope(s.as_str())).collect(),
    };
    with_cookie(render(&page, StatusCode::OK), cookie)
}

/// Where a login may send the browser next: only back into the authorization endpoint or home.
pub(super) fn safe_return(return_to: &str) -> &str {
    let ok = return_to.starts_with("/oauth/authorize?")
        && !return_to.contains(['\\', '\r', '\n'])
        && !return_to.starts_with("//");
    if ok { return_to } else { "/" }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `GET /login`: the login page on its own, or the account page when signed in.
#[handler]
pub async fn login_get(req: &Request, Data(app): Data<&App>) -> Response {
    match current_session(app, req).await {
        Ok(Some(_)) => see_other("/"),
        Ok(None) => login_page(req, app, "/", "", None, None, StatusCode::OK),
        Err(e) => unavailable(&e),
    }
}

/// The one message for every failed sign-in, so that nothing tells which part was wrong.
const LOGIN_FAILED: &str = "The username or password is not correct.";

/// `POST /login`.
#[handler]
pub async fn login_post(req: &Request, Data(app): Data<&App>, Form(f): Form<LoginForm>) -> Response {
    let https = app.config.is_https();
    let return_to = safe_return(&f.return_to).to_owned();
    if !csrf::verify(req, app, &f.csrf) {
        return login_page(
            req,
            app,
            &return_to,
            &f.username,
            None,
            Some("The form expired. Please try again."),
            StatusCode::FORBIDDEN,
        );
    }
    let user = match login::check_password(app, &f.username, &f.password, client_ip(req)).await {
        Ok(u) => u,
        Err(LoginError::Failed) => {
            return login_page(
                req,
                app,
                &return_to,
                &f.username,
                None,
                Some(LOGIN_FAILED),
                StatusCode::OK,
            );
        }
        Err(LoginError::Throttled(r)) => {
            let mut resp = login_page(
                req,
                app,
                &return_to,
                &f.username,
                None,
                Some("Too many attempts. Wait a moment, then try again."),
                StatusCode::TOO_MANY_REQUESTS,
            );
            if let Ok(v) = r.0.to_string().parse() {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
        Err(LoginError::Unavailable(e)) => return unavailable(&e),
    };
    // A new session id at every sign-in: any session the browser had is ended first.
    if let Some(old) = csrf::read_cookie(req, session_cookie::name(https))
        && let Err(e) = login::end_session(app, old).await
    {
        return unavailable(&e);
    }
    match login::start_session(app, &user, vec!["pwd".to_owned()]).await {
        Ok((cookie, _)) => with_cookie(see_other(&return_to), Some(session_cookie::set(&cookie, app))),
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
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form could not be verified. Start again from the application.",
        );
    }
    let params = match Params::parse(&f.request) {
        Ok(p) => p,
        Err(e) => return bad_params(e),
    };
    let (request, client) = match validated(req, app, &params).await {
        Ok((request, Some(client))) => (request, client),
        Ok((_, None)) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "No application is registered with this client_id.",
            );
        }
        Err(answer) => return answer,
    };
    let session = match current_session(app, req).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other(&format!("/oauth/authorize?{}", params.encode())),
        Err(e) => return unavailable(&e),
    };
    if f.decision != "allow" {
        let error = crate::protocol::OAuthError::new(
            crate::protocol::ErrorCode::AccessDenied,
            "the user denied the request",
        );
        return refuse(req, app, &request, &error);
    }
    // The same decision as the GET that showed the form: a consent POST cannot skip
    // `prompt=login`, `max_age` or the `id_token_hint`.
    match authz::decide(app, &request, &client, Some(&session), true).await {
        Ok(Step::Redirect(location)) => see_other(&location),
        Ok(Step::Refuse(error)) => refuse(req, app, &request, &error),
        Ok(Step::Login | Step::Consent) => see_other(&format!("/oauth/authorize?{}", params.encode())),
        Err(e) => unavailable(&e),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: ends the browser session.
#[handler]
pub async fn logout_post(req: &Request, Data(app): Data<&App>, Form(f): Form<LogoutForm>) -> Response {
    let https = app.config.is_https();
    if !csrf::verify(req, app, &f.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form could not be verified. Reload the page and try again.",
        );
    }
    if let Some(cookie) = csrf::read_cookie(req, session_cookie::name(https))
        && let Err(e) = logout::end_session(app, cookie).await
    {
        return unavailable(&e);
    }
    with_cookie(
        message(StatusCode::OK, "Signed out", "You are signed out of Latchkey."),
        Some(session_cookie::clear(app)),
    )
}

/// Where a validated logout request goes afterwards, and who its `id_token_hint` names.
struct LogoutPlan {
    redirect: Option<String>,
    /// The subject of a valid `id_token_hint`: it proves the request only for that user's session.
    hint_subject: Option<String>,
    client_id: Option<String>,
    client_name: Option<String>,
    /// A `post_logout_redirect_uri` the client did not register: the user is signed out all the
    /// same (RP-Initiated Logout 1.0 section 2 forbids only the redirect), and told what to register.
    unregistered: Option<String>,
}

/// Checks an RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0, section 2).
/// Anything wrong is an error page: a logout request never redirects somewhere unverified.
async fn plan_logout(req: &Request, app: &App, params: &Params) -> Result<LogoutPlan, Response> {
    // The client id as sent, cut short and debug-escaped: it is client input on its way to a log.
    let sent_id: String = params.get("client_id").unwrap_or("").chars().take(128).collect();
    let error = |detail: &str| {
        audit::denied(app, "logout.refused", "invalid_request", client_ip(req));
        tracing::info!(client_id = ?sent_id, reason = detail, "refused a logout request");
        message(StatusCode::BAD_REQUEST, "Cannot sign out", detail)
    };
    let hint = match params.get("id_token_hint") {
        None => None,
        Some(token) => match logout::verify_hint(app, token.to_owned()).await {
            Ok(Some(h)) => Some(h),
            Ok(None) => {
                // Not one of Latchkey's ID tokens (an access token, another server's, a forgery):
                // it proves nothing, so the request goes on as one without a hint, which the user
                // must confirm (RP-Initiated Logout 1.0 section 2).
                audit::denied(app, "logout.refused", "invalid_id_token_hint", client_ip(req));
                tracing::info!(
                    client_id = ?sent_id,
                    reason = "the id_token_hint is not an ID token issued by this server",
                    "refused a logout request's hint; the user is asked to confirm"
                );
                None
            }
            Err(e) => return Err(unavailable(&e)),
        },
    };
    let hinted_client = hint.as_ref().and_then(|h| h.client_id.clone());
    let client_id = match (params.get("client_id"), hinted_client.as_deref()) {
        (Some(a), Some(b)) if a != b => return Err(error("The client_id does not match the id_token_hint.")),
        (Some(a), _) => Some(a.to_owned()),
        (None, b) => b.map(str::to_owned),
    };
    let client = match &client_id {
        Some(id) => match authz::load_client(app, id).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => return Err(error("The client_id names no registered application.")),
            Err(e) => return Err(unavailable(&e)),
        },
        None => None,
    };
    let mut unregistered = None;
    let redirect = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(c) if logout::post_logout_uri_allowed(c, uri) => {
                let state: Vec<(&str, &str)> =
                    params.get("state").map(|s| ("state", s)).into_iter().collect();
                Some(if state.is_empty() {
                    uri.to_owned()
                } else {
                    crate::protocol::params::append_query(uri, &state)
                })
            }
            Some(c) => {
                tracing::info!(
                    client_id = %c.client_id,
                    reason = "post_logout_redirect_uri not registered",
                    "a logout request will not redirect"
                );
                unregistered = Some(uri.to_owned());
                None
            }
            None => {
                return Err(error(
                    "A post_logout_redirect_uri needs a client_id or an id_token_hint.",
                ));
            }
        },
    };
    Ok(LogoutPlan {
        redirect,
        hint_subject: hint.map(|h| h.subject),
        client_id: client.as_ref().map(|c| c.client_id.to_string()),
        client_name: client.map(|c| c.name),
        unregistered,
    })
}

async fn perform_logout(req: &Request, app: &App, plan: LogoutPlan) -> Response {
    if let Some(cookie) = csrf::read_cookie(req, session_cookie::name(app.config.is_https()))
        && let Err(e) = logout::end_session(app, cookie).await
    {
        return unavailable(&e);
    }
    let done = match (plan.redirect, plan.unregistered) {
        (Some(uri), _) => see_other(&uri),
        (None, Some(uri)) => message(
            StatusCode::OK,
            "Signed out",
            &format!(
                "You are signed out of Latchkey. The application asked to send you on to {uri}, which is \
                 not registered for it, so you stay here. Its administrator can register that address as \
                 a post-logout redirect URI of the client {}.",
                plan.client_id.as_deref().unwrap_or("")
            ),
        ),
        (None, None) => message(StatusCode::OK, "Signed out", "You are signed out of Latchkey."),
    };
    with_cookie(done, Some(session_cookie::clear(app)))
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
    let plan = match plan_logout(req, app, &params).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let session = match current_session(app, req).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let proven = match (&plan.hint_subject, &session) {
        (Some(hint), Some((s, _))) => s.subject.as_str() == hint,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if proven {
        return perform_logout(req, app, plan).await;
    }
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let page = LogoutPage {
        csrf: &token,
        request: &params.encode(),
        client_name: plan.client_name.as_deref(),
    };
    with_cookie(render(&page, StatusCode::OK), cookie)
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
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form could not be verified. Try again.",
        );
    }
    let params = match Params::parse(&f.request) {
        Ok(p) => p,
        Err(e) => return bad_params(e),
    };
    match plan_logout(req, app, &params).await {
        Ok(plan) => perform_logout(req, app, plan).await,
        Err(resp) => resp,
    }
}

/// `GET /`: who is signed in, with a sign-out button.
#[handler]
pub async fn home(req: &Request, Data(app): Data<&App>) -> Response {
    let session = match current_session(app, req).await {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let username = session.as_ref().map(|(_, u)| u.username.as_str());
    with_cookie(
        render(
            &HomePage {
                csrf: &token,
                username,
            },
            StatusCode::OK,
        ),
        cookie,
    )
    .into_response()
}
