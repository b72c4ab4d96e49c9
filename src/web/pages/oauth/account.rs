//! `GET /`: who is signed in, with a sign-out button.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{IntoResponse, Request, Response, handler};

use super::{copy, session_cookie_value, unavailable, with_cookie};
use crate::service::{App, ServiceError, login};
use crate::web::csrf;
use crate::web::pages::render;

use crate::web::i18n::filters;

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    csrf: &'a str,
    /// [`copy::HOME_SIGNED_IN`] filled in, as HTML, when someone is signed in.
    signed_in: Option<String>,
}

/// `GET /`: who is signed in, with a sign-out button.
#[handler]
pub async fn home(req: &Request, Data(app): Data<&App>) -> Response {
    let session = match session_cookie_value(app, req) {
        Some(cookie) => login::current(app, cookie).await,
        None => Ok(None),
    };
    let session = match session {
        Ok(s) => s,
        Err(e) => return unavailable(&e),
    };
    let (token, cookie) = match csrf::issue(req, app) {
        Ok(pair) => pair,
        Err(e) => return unavailable(&ServiceError::Internal(e)),
    };
    let signed_in = session.as_ref().map(|(_, u)| {
        copy::html(
            copy::HOME_SIGNED_IN,
            &[("username", copy::Value::Strong(u.username.as_str()))],
        )
    });
    with_cookie(
        render(
            &HomePage {
                csrf: &token,
                signed_in,
            },
            StatusCode::OK,
        ),
        cookie,
    )
    .into_response()
}
