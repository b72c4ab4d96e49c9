//! The introspection endpoint (RFC 7662): the answer's document type and the failures it
//! declares.

use poem::Request;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object};

use super::{NO_CACHE, NO_STORE, TokenOpForm, client_auth};
use crate::protocol::introspection::Introspection;
use crate::service::App;
use crate::service::token;
use crate::web::errors::{self, ErrorBody, oauth_failure_responses};

/// What introspection says about a token (RFC 7662 section 2.2).
#[derive(Object, Debug, Default)]
#[oai(rename = "IntrospectionResponse", skip_serializing_if_is_none)]
pub struct IntrospectionBody {
    /// Whether the token is live and belongs to the asking client.
    pub active: bool,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    pub token_type: Option<String>,
    pub exp: Option<u64>,
    pub iat: Option<u64>,
    pub sub: Option<String>,
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub jti: Option<String>,
    pub auth_time: Option<u64>,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "introspect_bad_request")]
pub enum IntrospectResponse {
    /// The token's state.
    #[oai(status = 200)]
    Ok(
        Json<IntrospectionBody>,
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

oauth_failure_responses!(IntrospectResponse);

fn introspect_bad_request(err: poem::Error) -> IntrospectResponse {
    errors::token_error(&errors::malformed(&err)).into()
}

impl From<Introspection> for IntrospectionBody {
    fn from(i: Introspection) -> Self {
        IntrospectionBody {
            active: i.active,
            scope: i.scope,
            client_id: i.client_id,
            username: i.username,
            token_type: i.token_type.map(str::to_owned),
            exp: i.exp,
            iat: i.iat,
            sub: i.sub,
            aud: i.aud,
            iss: i.iss,
            jti: i.jti,
            auth_time: i.auth_time,
        }
    }
}

/// Introspects the form's token for the authenticated client.
pub(super) async fn introspect(app: &App, req: &Request, form: Form<TokenOpForm>) -> IntrospectResponse {
    let f = form.0;
    let auth = client_auth(req, f.client_id.as_deref(), f.client_secret.as_deref());
    let client = match token::authenticate_client(app, auth, crate::web::client_ip(req)).await {
        Ok(c) => c,
        Err(e) => return errors::token_error(&e).into(),
    };
    match token::introspect(app, &client, &f.token) {
        Ok(answer) => IntrospectResponse::Ok(Json(answer.into()), NO_STORE.to_owned(), NO_CACHE.to_owned()),
        Err(e) => errors::token_error(&e).into(),
    }
}
