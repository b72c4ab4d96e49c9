//! The revocation endpoint (RFC 7009) and the answers it declares.

use poem::Request;
use poem_openapi::ApiResponse;
use poem_openapi::payload::{Form, Json};

use super::{NO_CACHE, NO_STORE, TokenOpForm, client_auth};
use crate::service::App;
use crate::service::token;
use crate::web::errors::{self, ErrorBody, oauth_failure_responses};

#[derive(ApiResponse)]
#[oai(bad_request_handler = "revoke_bad_request")]
pub enum RevokeResponse {
    /// The token is revoked, or was not a token of this client (RFC 7009 section 2.2).
    #[oai(status = 200)]
    Ok(
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// The request is invalid.
    #[oai(status = 400)]
    BadRequest(
        Json<ErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// Client authentication failed.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// Too many failed attempts.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
        #[oai(header = "Retry-After")] String,
    ),
    /// The server cannot complete the request now.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
}

oauth_failure_responses!(RevokeResponse);

fn revoke_bad_request(err: poem::Error) -> RevokeResponse {
    errors::token_error(&errors::malformed(&err)).into()
}

/// Revokes the form's token for the authenticated client.
pub(super) async fn revoke(app: &App, req: &Request, form: Form<TokenOpForm>) -> RevokeResponse {
    let f = form.0;
    let auth = client_auth(req, f.client_id.as_deref(), f.client_secret.as_deref());
    let client = match token::authenticate_client(app, auth, crate::web::client_ip(req)).await {
        Ok(c) => c,
        Err(e) => return errors::token_error(&e).into(),
    };
    match token::revoke(app, client, f.token, f.token_type_hint).await {
        Ok(()) => RevokeResponse::Ok(NO_STORE.to_owned(), NO_CACHE.to_owned()),
        Err(e) => errors::token_error(&e).into(),
    }
}
