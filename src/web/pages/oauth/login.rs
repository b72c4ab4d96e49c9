//! `GET`/`POST /login`: the password form. The POST calls
//! [`service::login::sign_in`](crate::service::login::sign_in) and renders where the sign-in stands.

use poem::http::{StatusCode, header};
use poem::web::{Data, Form};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::{copy, safe_return, see_other, session_cookie_value, unavailable, with_cookie};
use crate::service::authorize;
use crate::service::login::{self, Begun, Credential, LoginError, Purpose};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::pages::{factor, render};
use crate::web::{client_ip, csrf, session_cookie};

use crate::web::i18n::filters;

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    return_to: &'a str,
    username: &'a str,
    /// [`copy::LOGIN_LEAD`] filled in, as HTML, when a client sent the browser.
    lead: Option<String>,
    /// The icon and name of the client that sent the browser, when its icon is a `data:` URL.
    client_icon: Option<(&'a str, &'a str)>,
    error: Option<&'a str>,
    /// "Sign in with ..." buttons: the upstream's name, the button's words and the link that
    /// starts the sign-in.
    upstreams: Vec<(String, String, String)>,
    /// Whether passkeys are on: the script, the passkey button and `webauthn` autofill.
    passkeys: bool,
    passkey_button: &'a str,
    passkey_failed: &'a str,
}

/// What the login page shows.
pub(super) struct LoginView<'a> {
    pub return_to: &'a str,
    pub username: &'a str,
    pub client_name: Option<&'a str>,
    /// The client's icon: shown only when it is a `data:` URL. An `https:` icon would make the
    /// browser fetch it from the client's server, and the login page loads nothing from elsewhere
    /// (its CSP keeps `img-src 'self'`, plus `data:` only when such an icon is on it).
    pub client_icon: Option<&'a crate::domain::ClientIcon>,
    pub error: Option<&'a str>,
    /// A plain lead when no client sent the browser (a fresh sign-in's reason).
    pub lead: Option<copy::Msg>,
}

/// Renders the login page with a fresh form token.
pub(super) fn login_page(req: &Request, app: &App, view: &LoginView<'_>, status: StatusCode) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let back: String = url::form_urlencoded::byte_serialize(view.return_to.as_bytes()).collect();
    let upstreams = app
        .config
        .upstreams
        .iter()
        .map(|u| {
            (
                u.name.clone(),
                copy::html(
                    copy::SIGN_IN_WITH,
                    &[("provider", copy::Value::Text(&u.display_name))],
                ),
                format!("/login/upstream/{}?return_to={back}", u.name),
            )
        })
        .collect();
    let page = LoginPage {
        csrf: &token,
        return_to: view.return_to,
        username: view.username,
        lead: view
            .client_name
            .map(|c| copy::html(copy::LOGIN_LEAD, &[("client", copy::Value::Strong(c))]))
            .or_else(|| view.lead.map(|l| copy::html(l, &[]))),
        client_icon: view
            .client_icon
            .filter(|i| i.is_data())
            .zip(view.client_name)
            .map(|(icon, name)| (icon.as_str(), name)),
        error: view.error,
        upstreams,
        passkeys: app.passkeys.is_some(),
        passkey_button: &copy::t(copy::PASSKEY_SIGN_IN),
        passkey_failed: &copy::t(copy::PASSKEY_BROWSER_FAILED),
    };
    let mut resp = with_cookie(render(&page, status), cookie);
    let csp = match (page.passkeys, page.client_icon.is_some()) {
        (false, false) => return resp,
        (true, false) => crate::web::PAGE_CSP_WITH_SCRIPT,
        (false, true) => crate::web::PAGE_CSP_DATA_IMAGES,
        (true, true) => crate::web::PAGE_CSP_WITH_SCRIPT_DATA_IMAGES,
    };
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        poem::http::HeaderValue::from_static(csp),
    );
    resp
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

/// `GET /login?return_to=...`: the login page on its own, or, when signed in, on to `return_to`
/// (checked by [`safe_return`]). `GET /login?rd=URL`, from a proxy's forward-auth redirect: the
/// same, then on to the forward-auth round trip for `URL`. With `fresh=1` the page shows even when signed in: a change that
/// weakens the account needs a new sign-in (`web::pages::require_fresh`).
#[handler]
pub async fn login_get(req: &Request, Data(app): Data<&App>) -> Response {
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .take(8)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let asked = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    // `rd`: a proxy sent the browser here for a protected app; after the sign-in it goes on to
    // the forward-auth round trip for that address (checked now, and again there).
    let round_trip = match asked("rd") {
        Some(rd) => match crate::web::pages::forward_auth::checked_rd(app, Some(rd)) {
            Ok(target) => Some(crate::web::pages::forward_auth::path(&target.url, false)),
            Err(refused) => return refused.page(),
        },
        None => None,
    };
    let return_to = match &round_trip {
        Some(path) => path.as_str(),
        None => safe_return(asked("return_to").unwrap_or("/")),
    };
    let fresh = asked("fresh") == Some("1");
    let current = match session_cookie_value(app, req) {
        Some(cookie) => login::current(app, cookie).await,
        None => Ok(None),
    };
    match current {
        Ok(Some(_)) if !fresh => see_other(return_to),
        Ok(_) => {
            let view = LoginView {
                return_to,
                username: "",
                client_name: None,
                client_icon: None,
                error: None,
                lead: fresh.then_some(copy::SIGN_IN_AGAIN),
            };
            login_page(req, app, &view, StatusCode::OK)
        }
        Err(e) => unavailable(&e),
    }
}

/// `POST /login`.
#[handler]
pub async fn login_post(req: &Request, Data(app): Data<&App>, Form(f): Form<LoginForm>) -> Response {
    let return_to = safe_return(&f.return_to).to_owned();
    // The authorization request this sign-in resumes may name the page's language.
    crate::web::i18n::prefer_ui_locales_in(&return_to);
    let back: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    crate::web::i18n::set_back(format!("/login?return_to={back}"));
    let again = |error: &str, status: StatusCode| {
        let view = LoginView {
            return_to: &return_to,
            username: &f.username,
            client_name: None,
            client_icon: None,
            error: Some(error),
            lead: None,
        };
        login_page(req, app, &view, status)
    };
    if !csrf::verify(req, app, &f.csrf) {
        return again(&copy::t(copy::FORM_EXPIRED), page_status(PageFailure::Forbidden));
    }
    let credential = Credential::Password {
        username: &f.username,
        password: &f.password,
    };
    let previous = session_cookie_value(app, req);
    // What the sign-in is for decides whether it needs two factors: the authorization request it
    // resumes, checked again here, never a field of this form.
    let two_factors = match authorize::two_factors_wanted(app, &return_to).await {
        Ok(wanted) => wanted,
        Err(e) => return unavailable(&e),
    };
    let purpose = Purpose {
        return_to: &return_to,
        two_factors_wanted: two_factors,
    };
    match login::sign_in(app, credential, client_ip(req), previous, purpose).await {
        Ok(Begun::Done(signed_in)) => with_cookie(
            see_other(&return_to),
            Some(session_cookie::set(&signed_in.cookie, app)),
        ),
        Ok(Begun::NeedFactor(pending) | Begun::NeedEnrolment(pending)) => match pending.cookie() {
            Some(cookie) => factor::continue_to_factor(app, cookie),
            None => unavailable(&ServiceError::Internal("a pending sign-in was not stored".into())),
        },
        Err(LoginError::Failed) => again(&copy::t(copy::LOGIN_FAILED), StatusCode::OK),
        Err(LoginError::Throttled(r)) => {
            let mut resp = again(
                &copy::t(copy::TOO_MANY_ATTEMPTS),
                page_status(PageFailure::Throttled),
            );
            if let Ok(v) = r.0.to_string().parse() {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Err(LoginError::Unavailable(e)) => unavailable(&e),
    }
}
