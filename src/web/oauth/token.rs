//! The token endpoint (RFC 6749 section 3.2): the form, the token response and every failure
//! answer it declares.

use poem::Request;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object};
use serde::Deserialize;

use super::{NO_CACHE, NO_STORE, client_auth};
use crate::protocol::token_request::TokenFields;
use crate::service::App;
use crate::service::token;
use crate::web::errors::{self, ErrorBody, oauth_failure_responses};

/// A token request. Which fields are needed depends on `grant_type`; unknown fields are ignored.
#[derive(Object, Deserialize, Debug, Default)]
#[oai(rename = "TokenRequest")]
pub struct TokenForm {
    /// `authorization_code`, `refresh_token`, `client_credentials` or `password`. Required
    /// (RFC 6749 section 4); a missing or unknown one is refused with an RFC 6749 error.
    #[serde(default)]
    #[oai(validator(min_length = 1))]
    pub grant_type: String,
    /// The authorization code (`authorization_code`).
    pub code: Option<String>,
    /// The redirect URI of the authorization request (`authorization_code`).
    pub redirect_uri: Option<String>,
    /// The PKCE verifier (`authorization_code`).
    pub code_verifier: Option<String>,
    /// The refresh token (`refresh_token`).
    pub refresh_token: Option<String>,
    /// Space-separated scopes (optional; a refresh may only narrow).
    pub scope: Option<String>,
    /// The username (`password`, if enabled for the client).
    pub username: Option<String>,
    /// The password (`password`).
    pub password: Option<String>,
    /// An RFC 8707 resource indicator: the resource server (an absolute https URI) the access
    /// token is for; its `aud`. One per request. Without it the audience is Latchkey itself (and
    /// its admin API when `admin` is granted).
    pub resource: Option<String>,
    /// The client id, for `client_secret_post` and public clients.
    pub client_id: Option<String>,
    /// The client secret, for `client_secret_post`.
    pub client_secret: Option<String>,
}

/// Tokens (RFC 6749 section 5.1).
#[derive(Object, Debug)]
#[oai(rename = "TokenResponse", skip_serializing_if_is_none)]
pub struct TokenBody {
    /// An RFC 9068 JWT access token signed with EdDSA.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// An opaque refresh token, when the client may refresh.
    pub refresh_token: Option<String>,
    /// The granted scopes.
    pub scope: String,
    /// An OpenID Connect ID token, for `openid` requests.
    pub id_token: Option<String>,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "token_bad_request")]
pub enum TokenResponse {
    /// Tokens were issued.
    #[oai(status = 200)]
    Ok(
        Json<TokenBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// The request is invalid (RFC 6749 section 5.2).
    #[oai(status = 400)]
    BadRequest(
        Json<ErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
    ),
    /// Client authentication failed; `WWW-Authenticate` is set when the client used HTTP Basic.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "Pragma")] String,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// Too many failed attempts; retry after the given number of seconds.
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

oauth_failure_responses!(TokenResponse);

/// Malformed requests (wrong content type, repeated or undecodable fields) still get an
/// RFC 6749 error body.
fn token_bad_request(err: poem::Error) -> TokenResponse {
    errors::token_error(&errors::malformed(&err)).into()
}

/// Issues tokens for the form's grant.
pub(super) async fn token(app: &App, req: &Request, form: Form<TokenForm>) -> TokenResponse {
    let f = form.0;
    let auth = client_auth(req, f.client_id.as_deref(), f.client_secret.as_deref());
    let fields = TokenFields {
        grant_type: Some(f.grant_type),
        code: f.code,
        redirect_uri: f.redirect_uri,
        code_verifier: f.code_verifier,
        refresh_token: f.refresh_token,
        scope: f.scope,
        username: f.username,
        password: f.password,
        resource: f.resource,
    };
    match token::token(app, auth, fields, crate::web::client_ip(req)).await {
        Ok(t) => TokenResponse::Ok(
            Json(TokenBody {
                access_token: t.access_token,
                token_type: t.token_type.to_owned(),
                expires_in: t.expires_in,
                refresh_token: t.refresh_token,
                scope: t.scope,
                id_token: t.id_token,
            }),
            NO_STORE.to_owned(),
            NO_CACHE.to_owned(),
        ),
        Err(e) => errors::token_error(&e).into(),
    }
}
