//! The OAuth 2.0 endpoints that speak JSON: token (RFC 6749), revocation (RFC 7009),
//! introspection (RFC 7662), userinfo (OpenID Connect Core 5.3) and authorization server
//! metadata (RFC 8414). One file per endpoint; their failures are answered by `web::errors`.

mod discovery;
mod introspect;
mod revoke;
mod token;
mod userinfo;

use poem::Request;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

pub use discovery::{OpenIdConfiguration, ServerMetadata, openid_configuration, server_metadata};
use introspect::IntrospectResponse;
use revoke::RevokeResponse;
use token::{TokenForm, TokenResponse};
use userinfo::UserinfoResponse;

use super::tags::Tag;
use crate::service::App;
use crate::service::token::ClientAuthInput;

const NO_STORE: &str = "no-store";
const NO_CACHE: &str = "no-cache";

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

/// How the client of a token-style request authenticates: the `Authorization` header (a value
/// that is not text counts as malformed) and the form's `client_id` and `client_secret`, empty
/// ones ignored.
fn client_auth<'a>(
    req: &'a Request,
    client_id: Option<&'a str>,
    client_secret: Option<&'a str>,
) -> ClientAuthInput<'a> {
    ClientAuthInput {
        authorization: req
            .headers()
            .get(poem::http::header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or("\u{0}")),
        client_id: client_id.filter(|s| !s.is_empty()),
        client_secret: client_secret.filter(|s| !s.is_empty()),
    }
}

pub struct OAuthApi {
    pub app: App,
}

#[OpenApi]
impl OAuthApi {
    /// The token endpoint. Clients authenticate with HTTP Basic (`client_secret_basic`, id and
    /// secret form-urlencoded first), with `client_id` and `client_secret` in the body
    /// (`client_secret_post`), or, if public, with `client_id` alone. Exactly one method per
    /// request.
    #[oai(path = "/oauth/token", method = "post", tag = "Tag::OAuth")]
    async fn token(&self, req: &Request, form: Form<TokenForm>) -> TokenResponse {
        token::token(&self.app, req, form).await
    }

    /// Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant; revoking an
    /// access token denies its `jti` until it expires. Unknown tokens get 200 as well.
    #[oai(path = "/oauth/revoke", method = "post", tag = "Tag::OAuth")]
    async fn revoke(&self, req: &Request, form: Form<TokenOpForm>) -> RevokeResponse {
        revoke::revoke(&self.app, req, form).await
    }

    /// Token introspection (RFC 7662), for authenticated confidential clients. A token that is
    /// expired, revoked, unknown or another client's is `{"active": false}`.
    #[oai(path = "/oauth/introspect", method = "post", tag = "Tag::OAuth")]
    async fn introspect(&self, req: &Request, form: Form<TokenOpForm>) -> IntrospectResponse {
        introspect::introspect(&self.app, req, form).await
    }

    /// The OpenID Connect UserInfo endpoint, with the access token as a Bearer token in the
    /// `Authorization` header.
    #[oai(path = "/oauth/userinfo", method = "get", tag = "Tag::OAuth")]
    async fn userinfo_get(&self, req: &Request, body: poem::Body) -> UserinfoResponse {
        userinfo::userinfo(&self.app, req, body).await
    }

    /// The OpenID Connect UserInfo endpoint by POST: the token in the `Authorization` header or
    /// as the `access_token` form field (not both).
    #[oai(path = "/oauth/userinfo", method = "post", tag = "Tag::OAuth")]
    async fn userinfo_post(&self, req: &Request, body: poem::Body) -> UserinfoResponse {
        userinfo::userinfo(&self.app, req, body).await
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
