//! `GET`/`POST /account/totp`: setting up an authenticator app (a QR code rendered in the binary
//! as inline SVG, and the key in text; done only after a correct code), and
//! `POST /account/totp/remove` (a fresh sign-in first). The enrolment view is shared with the
//! sign-in's own enrolment step (`/login/factor/enrol`).

use poem::http::StatusCode;
use poem::web::{Data, Form};
use poem::{Request, Response, handler};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;

use super::factor::unavailable;
use super::oauth::{see_other, with_cookie};
use super::{copy, message, render, require_fresh, require_fresh_sign_in, require_session};
use crate::protocol::login::RemovalRefusal;
use crate::service::login::FactorError;
use crate::service::totp::{self, Enrolment, RemoveError};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf};

use crate::web::i18n::filters;

/// This page's own address.
const PATH: &str = "/account/totp";

/// The QR code of `uri` as an inline `<svg>` element (no XML declaration), or `None` when the
/// text does not fit a QR code.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = QrCode::new(uri.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let start = image.find("<svg")?;
    Some(image.get(start..)?.to_owned())
}

#[derive(askama::Template)]
#[template(path = "totp_enrol.html")]
struct EnrolPage<'a> {
    csrf: &'a str,
    action: &'a str,
    lead: Option<String>,
    instructions: &'a str,
    error: Option<&'a str>,
    qr: String,
    secret: &'a str,
    enrolment: &'a str,
}

/// Renders the enrolment form for `enrolment`, posting to `action`.
pub(super) fn enrol_page(
    req: &Request,
    app: &App,
    action: &str,
    lead: Option<String>,
    enrolment: &Enrolment,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let Some(qr) = qr_svg(&enrolment.uri) else {
        return unavailable(&ServiceError::Internal(
            "the TOTP URI does not fit a QR code".into(),
        ));
    };
    let page = EnrolPage {
        csrf: &token,
        action,
        lead,
        instructions: &copy::t(copy::ENROL_LEAD),
        error,
        qr,
        secret: &enrolment.secret,
        enrolment: &enrolment.id,
    };
    with_cookie(render(&page, status), cookie)
}

#[derive(askama::Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    csrf: &'a str,
    lead: String,
    error: Option<&'a str>,
}

fn enrolled_page(
    req: &Request,
    app: &App,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let page = TotpPage {
        csrf: &token,
        lead: copy::html(copy::TOTP_ON, &[("username", copy::Value::Strong(username))]),
        error,
    };
    with_cookie(render(&page, status), cookie)
}

/// `GET /account/totp`: the enrolment form, or, once an app is set up, the way to remove it.
#[handler]
pub async fn show(req: &Request, Data(app): Data<&App>) -> Response {
    let (_, user) = match require_session(req, app, PATH).await {
        Ok(signed_in) => signed_in,
        Err(resp) => return resp,
    };
    match totp_enrolled(app, &user).await {
        Ok(true) => enrolled_page(req, app, user.username.as_str(), None, StatusCode::OK),
        Ok(false) => match totp::start_enrolment(app, &user).await {
            Ok(enrolment) => enrol_page(req, app, PATH, None, &enrolment, None, StatusCode::OK),
            Err(e) => unavailable(&e),
        },
        Err(e) => unavailable(&e),
    }
}

async fn totp_enrolled(app: &App, user: &crate::domain::User) -> Result<bool, ServiceError> {
    let store = app.store.clone();
    let subject = user.subject.clone();
    crate::service::blocking(move || Ok(store.read(|tx| tx.totp(&subject))?.is_some())).await
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    enrolment: String,
    #[serde(default)]
    code: String,
}

/// `POST /account/totp`: the code that confirms the shown key.
#[handler]
pub async fn confirm(req: &Request, Data(app): Data<&App>, Form(f): Form<EnrolForm>) -> Response {
    let (_, user) = match require_session(req, app, PATH).await {
        Ok(signed_in) => signed_in,
        Err(resp) => return resp,
    };
    let id = f.enrolment.as_str();
    let again = |error: copy::Msg, status: StatusCode| {
        let user = user.clone();
        async move {
            match totp::enrolment(app, &user, id).await {
                Ok(Some(e)) => enrol_page(req, app, PATH, None, &e, Some(&copy::t(error)), status),
                Ok(None) => match totp::start_enrolment(app, &user).await {
                    Ok(e) => enrol_page(
                        req,
                        app,
                        PATH,
                        None,
                        &e,
                        Some(&copy::t(copy::ENROL_EXPIRED)),
                        status,
                    ),
                    Err(e) => unavailable(&e),
                },
                Err(e) => unavailable(&e),
            }
        }
    };
    if !csrf::verify(req, app, &f.csrf) {
        return again(copy::FORM_EXPIRED, page_status(PageFailure::Forbidden)).await;
    }
    match totp::confirm_enrolment(app, &user, &f.enrolment, &f.code, client_ip(req)).await {
        Ok(()) => see_other(PATH),
        Err(FactorError::Wrong) => again(copy::FACTOR_WRONG, StatusCode::OK).await,
        Err(FactorError::Throttled(r)) => {
            let mut resp = again(copy::FACTOR_THROTTLED, page_status(PageFailure::Throttled)).await;
            if let Ok(v) = r.0.to_string().parse() {
                resp.headers_mut().insert(poem::http::header::RETRY_AFTER, v);
            }
            resp
        }
        Err(FactorError::Expired) => again(copy::ENROL_EXPIRED, StatusCode::OK).await,
        Err(FactorError::AlreadyEnrolled) => enrolled_page(
            req,
            app,
            user.username.as_str(),
            Some(&copy::t(copy::ENROL_ALREADY)),
            page_status(PageFailure::Forbidden),
        ),
        Err(FactorError::Unavailable(e)) => unavailable(&e),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /account/totp/remove`: removes the app, after a fresh sign-in, unless the policy needs it.
#[handler]
pub async fn remove(req: &Request, Data(app): Data<&App>, Form(f): Form<RemoveForm>) -> Response {
    let (session, user) = match require_session(req, app, PATH).await {
        Ok(signed_in) => signed_in,
        Err(resp) => return resp,
    };
    if !csrf::verify(req, app, &f.csrf) {
        return enrolled_page(
            req,
            app,
            user.username.as_str(),
            Some(&copy::t(copy::FORM_EXPIRED)),
            page_status(PageFailure::Forbidden),
        );
    }
    if let Some(again) = require_fresh(app, &session, PATH) {
        return again;
    }
    match totp::remove(app, &session, &user, client_ip(req)).await {
        Ok(()) => see_other(PATH),
        Err(RemoveError::NotFresh) => require_fresh_sign_in(PATH),
        Err(RemoveError::Refused(RemovalRefusal::LastRequiredFactor)) => enrolled_page(
            req,
            app,
            user.username.as_str(),
            Some(&copy::t(copy::LAST_REQUIRED_FACTOR)),
            page_status(PageFailure::Forbidden),
        ),
        Err(RemoveError::NotEnrolled) => message(
            page_status(PageFailure::NotFound),
            &copy::t(copy::NOTHING_TO_REMOVE_TITLE),
            &copy::t(copy::NOTHING_TO_REMOVE),
        ),
        Err(RemoveError::Service(e)) => unavailable(&e),
    }
}
