//! `GET`/`POST /account/recovery`: how many recovery codes are left, and new codes (shown once;
//! replacing a set needs a fresh sign-in).

use poem::http::StatusCode;
use poem::web::{Data, Form};
use poem::{Request, Response, handler};
use serde::Deserialize;

use super::factor::unavailable;
use super::oauth::with_cookie;
use super::{copy, render, require_fresh_sign_in, require_session};
use crate::service::recovery::{self, GenerateError};
use crate::service::{App, ServiceError};
use crate::web::errors::{PageFailure, page_status};
use crate::web::{client_ip, csrf};

use crate::web::i18n::filters;

/// This page's own address.
const PATH: &str = "/account/recovery";

#[derive(askama::Template)]
#[template(path = "recovery.html")]
struct RecoveryPage<'a> {
    csrf: &'a str,
    count: String,
    has_codes: bool,
    codes: &'a [String],
    shown_once: &'a str,
    error: Option<&'a str>,
}

fn page(
    req: &Request,
    app: &App,
    left: usize,
    codes: &[String],
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let count = if left == 0 {
        copy::t(copy::RECOVERY_NONE)
    } else {
        copy::text(copy::RECOVERY_REMAINING, &[("count", &left.to_string())])
    };
    let page = RecoveryPage {
        csrf: &token,
        count,
        has_codes: left > 0,
        codes,
        shown_once: &copy::t(copy::RECOVERY_SHOWN_ONCE),
        error,
    };
    with_cookie(render(&page, status), cookie)
}

/// `GET /account/recovery`.
#[handler]
pub async fn show(req: &Request, Data(app): Data<&App>) -> Response {
    let (_, user) = match require_session(req, app, PATH).await {
        Ok(signed_in) => signed_in,
        Err(resp) => return resp,
    };
    match recovery::remaining(app, &user).await {
        Ok(left) => page(req, app, left, &[], None, StatusCode::OK),
        Err(e) => unavailable(&e),
    }
}

#[derive(Deserialize)]
pub struct GenerateForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /account/recovery`: a new set of codes, shown once.
#[handler]
pub async fn generate(req: &Request, Data(app): Data<&App>, Form(f): Form<GenerateForm>) -> Response {
    let (session, user) = match require_session(req, app, PATH).await {
        Ok(signed_in) => signed_in,
        Err(resp) => return resp,
    };
    if !csrf::verify(req, app, &f.csrf) {
        let left = recovery::remaining(app, &user).await.unwrap_or(0);
        return page(
            req,
            app,
            left,
            &[],
            Some(&copy::t(copy::FORM_EXPIRED)),
            page_status(PageFailure::Forbidden),
        );
    }
    match recovery::generate(app, &session, &user, client_ip(req)).await {
        Ok(codes) => page(req, app, codes.len(), &codes, None, StatusCode::OK),
        Err(GenerateError::NotFresh) => require_fresh_sign_in(PATH),
        Err(GenerateError::Service(e)) => unavailable(&e),
    }
}
