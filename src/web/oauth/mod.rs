//! The OAuth 2.0 endpoints that speak JSON: token (RFC 6749), revocation (RFC 7009),
//! introspection (RFC 7662) and authorization server metadata (RFC 8414).

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::api::Tag;
use crate::protocol::token_request::TokenFields;
use crate::protocol::{ErrorCode, OAuthError};
use crate::service::App;
use crate::service::token::{self, ClientAuthInput, Failure, FailureKind};

const NO_STORE: &str = "no-store";
const NO_CACHE: &str = "no-cache";

/// The challenge sent with 401 when the client tried HTTP Basic (RFC 6749 section 5.2).
fn basic_challenge() -> String {
    "Basic realm=\"latchkey\", charset=\"UTF-8\"".to_owned()
}

/// The error variants every token-style endpoint shares, filled from a [`Failure`].
macro_rules! failure_responses {
    ($ty:ident) => {
        impl $ty {
            fn failure(f: &Failure) -> $ty {
                let body = Json(ErrorBody::from(&f.error));
                let (cc, pragma) = (NO_STORE.to_owned(), NO_CACHE.to_owned());
                match f.kind {
                    FailureKind::BadRequest => $ty::BadRequest(body, cc, pragma),
                    FailureKind::Unauthorized { challenge } => {
                        $ty::Unauthorized(body, cc, pragma, challenge.then(basic_challenge))
                    }
                    FailureKind::Throttled { retry_after } => {
                        $ty::TooManyRequests(body, cc, pragma, retry_after.to_string())
                    }
                    FailureKind::Unavailable => $ty::Unavailable(body, cc, pragma),
                }
            }
        }
    };
}

/// An error response (RFC 6749 section 5.2).
#[derive(Object, Debug, Clone)]
#[oai(rename = "OAuthError", skip_serializing_if_is_none)]
pub struct ErrorBody {
    /// The error code, such as `invalid_grant`.
    pub error: String,
    /// A human-readable explanation.
    pub error_description: Option<String>,
}

impl From<&OAuthError> for ErrorBody {
    fn from(e: &OAuthError) -> Self {
        ErrorBody {
            error: e.code.as_str().to_owned(),
            error_description: Some(e.description().to_owned()),
        }
    }
}

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

failure_responses!(TokenResponse);

/// Malformed requests (wrong content type, repeated or undecodable fields) still get an
/// RFC 6749 error body.
fn token_bad_request(err: poem::Error) -> TokenResponse {
    TokenResponse::failure(&malformed(err))
}

fn malformed(err: poem::Error) -> Failure {
    let detail = if err.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        "the body must be application/x-www-form-urlencoded".to_owned()
    } else {
        format!("malformed request: {err}")
    };
    Failure {
        error: OAuthError::invalid_request(detail),
        kind: FailureKind::BadRequest,
    }
}

/// A revocation or introspection request.
#[derive(Object, Deserialize, Debug, Default)]
#[oai(rename = "TokenOperationRequest")]
pub struct TokenOpForm {
    /// The token. Required (RFC 7009 section 2.1, RFC 7662 section 2.1); a missing one is
    /// refused with `invalid_request` once the client is authenticated.
    #[serde(default)]
    #[oai(validator(min_length = 1))]
    pub token: String,
    /// `access_token` or `refresh_token` (a hint only).
    pub token_type_hint: Option<String>,
    /// The client id, for `client_secret_post` and public clients.
    pub client_id: Option<String>,
    /// The client secret, for `client_secret_post`.
    pub client_secret: Option<String>,
}

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

failure_responses!(RevokeResponse);

fn revoke_bad_request(err: poem::Error) -> RevokeResponse {
    RevokeResponse::failure(&malformed(err))
}

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

failure_responses!(IntrospectResponse);

fn introspect_bad_request(err: poem::Error) -> IntrospectResponse {
    IntrospectResponse::failure(&malformed(err))
}

/// Authorization server metadata (RFC 8414).
#[derive(Object, Debug)]
#[oai(rename = "AuthorizationServerMetadata")]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
}

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The scopes Latchkey itself gives meaning to.
pub const KNOWN_SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

pub fn server_metadata(issuer: &str) -> ServerMetadata {
    let auth_methods = strings(&["client_secret_basic", "client_secret_post", "none"]);
    ServerMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: format!("{issuer}/oauth/authorize"),
        token_endpoint: format!("{issuer}/oauth/token"),
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        revocation_endpoint: format!("{issuer}/oauth/revoke"),
        introspection_endpoint: format!("{issuer}/oauth/introspect"),
        scopes_supported: strings(&KNOWN_SCOPES),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: strings(&[
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
        ]),
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods.clone(),
        introspection_endpoint_auth_methods_supported: strings(&[
            "client_secret_basic",
            "client_secret_post",
        ]),
        code_challenge_methods_supported: strings(&["S256"]),
        authorization_response_iss_parameter_supported: true,
    }
}

/// OpenID Connect Discovery 1.0 provider metadata.
#[derive(Object, Debug)]
#[oai(rename = "OpenIdConfiguration")]
pub struct OpenIdConfiguration {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub userinfo_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub prompt_values_supported: Vec<String>,
    pub display_values_supported: Vec<String>,
    pub claim_types_supported: Vec<String>,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub require_request_uri_registration: bool,
    pub authorization_response_iss_parameter_supported: bool,
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    pub frontchannel_logout_supported: bool,
}

pub fn openid_configuration(issuer: &str) -> OpenIdConfiguration {
    let m = server_metadata(issuer);
    OpenIdConfiguration {
        issuer: m.issuer,
        authorization_endpoint: m.authorization_endpoint,
        token_endpoint: m.token_endpoint,
        userinfo_endpoint: format!("{issuer}/oauth/userinfo"),
        jwks_uri: m.jwks_uri,
        end_session_endpoint: format!("{issuer}/oauth/logout"),
        revocation_endpoint: m.revocation_endpoint,
        introspection_endpoint: m.introspection_endpoint,
        scopes_supported: m.scopes_supported,
        claims_supported: strings(&crate::protocol::id_token::CLAIMS_SUPPORTED),
        response_types_supported: m.response_types_supported,
        response_modes_supported: m.response_modes_supported,
        grant_types_supported: m.grant_types_supported,
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&["EdDSA", "Ed25519", "RS256"]),
        userinfo_signing_alg_values_supported: strings(&["none"]),
        token_endpoint_auth_methods_supported: m.token_endpoint_auth_methods_supported,
        revocation_endpoint_auth_methods_supported: m.revocation_endpoint_auth_methods_supported,
        introspection_endpoint_auth_methods_supported: m.introspection_endpoint_auth_methods_supported,
        code_challenge_methods_supported: m.code_challenge_methods_supported,
        prompt_values_supported: strings(&["none", "login", "consent", "select_account"]),
        display_values_supported: strings(&["page", "popup", "touch", "wap"]),
        claim_types_supported: strings(&["normal"]),
        claims_parameter_supported: true,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        require_request_uri_registration: false,
        authorization_response_iss_parameter_supported: true,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: false,
    }
}

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

impl UserinfoResponse {
    fn invalid_token(detail: &str) -> Self {
        let e = OAuthError::new(ErrorCode::InvalidToken, detail);
        UserinfoResponse::Unauthorized(
            Json(ErrorBody::from(&e)),
            format!(
                "Bearer realm=\"latchkey\", error=\"invalid_token\", error_description=\"{}\"",
                e.description()
            ),
        )
    }
}

/// Finds the bearer token of a userinfo request: the `Authorization` header or, for POST, the
/// `access_token` form field; both at once is an error (RFC 6750 section 2).
async fn bearer_token(req: &Request, body: poem::Body) -> Result<String, UserinfoResponse> {
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
            _ => {
                return Err(UserinfoResponse::invalid_token(
                    "the Authorization header is not a Bearer token",
                ));
            }
        },
    };
    let mut from_body = None;
    if req.method() == poem::http::Method::POST {
        let bytes = body.into_bytes_limit(super::MAX_BODY).await.unwrap_or_default();
        from_body = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty());
    }
    match (from_header, from_body) {
        (Some(_), Some(_)) => {
            let e = OAuthError::invalid_request("send the token in one place only");
            Err(UserinfoResponse::BadRequest(
                Json(ErrorBody::from(&e)),
                "Bearer realm=\"latchkey\", error=\"invalid_request\"".to_owned(),
            ))
        }
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(UserinfoResponse::Unauthorized(
            Json(ErrorBody {
                error: "invalid_token".to_owned(),
                error_description: Some("no access token".to_owned()),
            }),
            "Bearer realm=\"latchkey\"".to_owned(),
        )),
    }
}

pub struct OAuthApi {
    pub app: App,
}

impl OAuthApi {
    async fn userinfo_for(&self, req: &Request, body: poem::Body) -> UserinfoResponse {
        let token = match bearer_token(req, body).await {
            Ok(t) => t,
            Err(resp) => return resp,
        };
        match token::userinfo(&self.app, token).await {
            Ok(claims) => UserinfoResponse::Ok(Json(serde_json::Value::Object(claims)), NO_STORE.to_owned()),
            Err(token::UserinfoError::InvalidToken) => {
                UserinfoResponse::invalid_token("the access token is invalid, expired or revoked")
            }
            Err(token::UserinfoError::InsufficientScope) => {
                let e = OAuthError::new(ErrorCode::InvalidToken, "the access token was not granted openid");
                UserinfoResponse::Forbidden(
                    Json(ErrorBody {
                        error: "insufficient_scope".to_owned(),
                        error_description: Some(e.description().to_owned()),
                    }),
                    "Bearer realm=\"latchkey\", error=\"insufficient_scope\", scope=\"openid\"".to_owned(),
                )
            }
            Err(token::UserinfoError::Unavailable(e)) => {
                tracing::error!(error = %e, "userinfo failed inside");
                let e = OAuthError::new(ErrorCode::TemporarilyUnavailable, "try again later");
                UserinfoResponse::Unavailable(Json(ErrorBody::from(&e)))
            }
        }
    }
}

fn authorization(req: &Request) -> Option<&str> {
    req.headers()
        .get(poem::http::header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
}

#[OpenApi]
impl OAuthApi {
    /// The token endpoint. Clients authenticate with HTTP Basic (`client_secret_basic`, id and
    /// secret form-urlencoded first), with `client_id` and `client_secret` in the body
    /// (`client_secret_post`), or, if public, with `client_id` alone. Exactly one method per
    /// request.
    #[oai(path = "/oauth/token", method = "post", tag = "Tag::OAuth")]
    async fn token(&self, req: &Request, form: Form<TokenForm>) -> TokenResponse {
        let f = form.0;
        let auth = ClientAuthInput {
            authorization: authorization(req),
            client_id: f.client_id.as_deref().filter(|s| !s.is_empty()),
            client_secret: f.client_secret.as_deref().filter(|s| !s.is_empty()),
        };
        let fields = TokenFields {
            grant_type: Some(f.grant_type.clone()),
            code: f.code.clone(),
            redirect_uri: f.redirect_uri.clone(),
            code_verifier: f.code_verifier.clone(),
            refresh_token: f.refresh_token.clone(),
            scope: f.scope.clone(),
            username: f.username.clone(),
            password: f.password.clone(),
            resource: f.resource.clone(),
        };
        match token::token(&self.app, auth, fields, super::client_ip(req)).await {
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
            Err(f) => TokenResponse::failure(&f),
        }
    }

    /// Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant; revoking an
    /// access token denies its `jti` until it expires. Unknown tokens get 200 as well.
    #[oai(path = "/oauth/revoke", method = "post", tag = "Tag::OAuth")]
    async fn revoke(&self, req: &Request, form: Form<TokenOpForm>) -> RevokeResponse {
        let f = form.0;
        let auth = ClientAuthInput {
            authorization: authorization(req),
            client_id: f.client_id.as_deref().filter(|s| !s.is_empty()),
            client_secret: f.client_secret.as_deref().filter(|s| !s.is_empty()),
        };
        let client = match token::authenticate_client(&self.app, auth, super::client_ip(req)).await {
            Ok(c) => c,
            Err(f) => return RevokeResponse::failure(&f),
        };
        let Some(tok) = Some(f.token).filter(|t| !t.is_empty()) else {
            return RevokeResponse::failure(&Failure {
                error: OAuthError::invalid_request("token is missing"),
                kind: FailureKind::BadRequest,
            });
        };
        match token::revoke(&self.app, client, tok, f.token_type_hint).await {
            Ok(()) => RevokeResponse::Ok(NO_STORE.to_owned(), NO_CACHE.to_owned()),
            Err(f) => RevokeResponse::failure(&f),
        }
    }

    /// Token introspection (RFC 7662), for authenticated confidential clients. A token that is
    /// expired, revoked, unknown or another client's is `{"active": false}`.
    #[oai(path = "/oauth/introspect", method = "post", tag = "Tag::OAuth")]
    async fn introspect(&self, req: &Request, form: Form<TokenOpForm>) -> IntrospectResponse {
        let f = form.0;
        let auth = ClientAuthInput {
            authorization: authorization(req),
            client_id: f.client_id.as_deref().filter(|s| !s.is_empty()),
            client_secret: f.client_secret.as_deref().filter(|s| !s.is_empty()),
        };
        let client = match token::authenticate_client(&self.app, auth, super::client_ip(req)).await {
            Ok(c) => c,
            Err(f) => return IntrospectResponse::failure(&f),
        };
        if client.is_public() {
            return IntrospectResponse::failure(&Failure {
                error: OAuthError::new(ErrorCode::UnauthorizedClient, "public clients may not introspect"),
                kind: FailureKind::BadRequest,
            });
        }
        let Some(tok) = Some(f.token).filter(|t| !t.is_empty()) else {
            return IntrospectResponse::failure(&Failure {
                error: OAuthError::invalid_request("token is missing"),
                kind: FailureKind::BadRequest,
            });
        };
        match token::introspect(&self.app, client, tok).await {
            Ok(m) => {
                let s = |k: &str| m.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                let n = |k: &str| m.get(k).and_then(serde_json::Value::as_u64);
                let body = IntrospectionBody {
                    active: m
                        .get("active")
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false),
                    scope: s("scope"),
                    client_id: s("client_id"),
                    username: s("username"),
                    token_type: s("token_type"),
                    exp: n("exp"),
                    iat: n("iat"),
                    sub: s("sub"),
                    aud: s("aud"),
                    iss: s("iss"),
                    jti: s("jti"),
                    auth_time: n("auth_time"),
                };
                IntrospectResponse::Ok(Json(body), NO_STORE.to_owned(), NO_CACHE.to_owned())
            }
            Err(f) => IntrospectResponse::failure(&f),
        }
    }

    /// The OpenID Connect UserInfo endpoint, with the access token as a Bearer token in the
    /// `Authorization` header.
    #[oai(path = "/oauth/userinfo", method = "get", tag = "Tag::OAuth")]
    async fn userinfo_get(&self, req: &Request, body: poem::Body) -> UserinfoResponse {
        self.userinfo_for(req, body).await
    }

    /// The OpenID Connect UserInfo endpoint by POST: the token in the `Authorization` header or
    /// as the `access_token` form field (not both).
    #[oai(path = "/oauth/userinfo", method = "post", tag = "Tag::OAuth")]
    async fn userinfo_post(&self, req: &Request, body: poem::Body) -> UserinfoResponse {
        self.userinfo_for(req, body).await
    }

    /// OpenID Connect Discovery 1.0.
    #[oai(
        path = "/.well-known/openid-configuration",
        method = "get",
        tag = "Tag::Discovery"
    )]
    async fn openid_configuration(&self) -> Json<OpenIdConfiguration> {
        Json(openid_configuration(&self.app.config.issuer))
    }

    /// Authorization server metadata (RFC 8414).
    #[oai(
        path = "/.well-known/oauth-authorization-server",
        method = "get",
        tag = "Tag::Discovery"
    )]
    async fn metadata(&self) -> Json<ServerMetadata> {
        Json(server_metadata(&self.app.config.issuer))
    }
}
