//! The OpenID Connect UserInfo endpoint: where the bearer token is found (RFC 6750 section 2)
//! and the answers it declares.

use poem::Request;
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use super::NO_STORE;
use crate::service::App;
use crate::service::token;
use crate::web::errors::{self, ErrorBody, OAuthAnswer, UserinfoRefusal};

#[derive(ApiResponse)]
pub enum UserinfoResponse {
    /// The user's claims for the token's scopes; `sub` always.
    #[oai(status = 200)]
    Ok(Json<serde_json::Value>, #[oai(header = "Cache-Control")] String),
    /// The request carries the token in more than one place, or is malformed.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// The token is missing, invalid, expired or revoked.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// The token was not granted the `openid` scope.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>, #[oai(header = "WWW-Authenticate")] String),
    /// The server cannot complete the request now.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl From<OAuthAnswer> for UserinfoResponse {
    fn from(a: OAuthAnswer) -> Self {
        let body = Json(a.body);
        let challenge = a.challenge.unwrap_or_default();
        match a.status.as_u16() {
            400 => UserinfoResponse::BadRequest(body, challenge),
            401 => UserinfoResponse::Unauthorized(body, challenge),
            403 => UserinfoResponse::Forbidden(body, challenge),
            _ => UserinfoResponse::Unavailable(body),
        }
    }
}

/// Finds the bearer token of a userinfo request: the `Authorization` header or, for POST, the
/// `access_token` form field; both at once is an error (RFC 6750 section 2).
async fn bearer_token(req: &Request, body: poem::Body) -> Result<String, UserinfoRefusal> {
    let header = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let from_header = match header {
        None => None,
        Some(h) => match h.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                Some(token.trim().to_owned())
            }
            _ => return Err(UserinfoRefusal::NotBearer),
        },
    };
    let mut from_body = None;
    if req.method() == poem::http::Method::POST {
        let bytes = body
            .into_bytes_limit(crate::web::MAX_BODY)
            .await
            .unwrap_or_default();
        from_body = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty());
    }
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(UserinfoRefusal::TwoPlaces),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(UserinfoRefusal::NoToken),
    }
}

/// The claims of the user behind the request's bearer token.
pub(super) async fn userinfo(app: &App, req: &Request, body: poem::Body) -> UserinfoResponse {
    let refused = |r: UserinfoRefusal| UserinfoResponse::from(errors::userinfo_error(&r));
    let token = match bearer_token(req, body).await {
        Ok(t) => t,
        Err(r) => return refused(r),
    };
    match token::userinfo(app, token).await {
        Ok(claims) => UserinfoResponse::Ok(Json(serde_json::Value::Object(claims)), NO_STORE.to_owned()),
        Err(e) => refused(UserinfoRefusal::Service(e)),
    }
}
