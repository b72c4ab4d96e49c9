//! What the authorization server remembers between requests: browser sessions, authorization
//! codes, grants (token families), refresh tokens and consents.

use serde::{Deserialize, Serialize};

use super::{Amr, ClientId, ScopeSet, Subject, Timestamp};

/// A signed-in browser. Stored under the digest of the cookie value; `sid` is the public id that
/// goes into ID tokens and logout tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub sid: String,
    pub subject: Subject,
    pub auth_time: Timestamp,
    /// Authentication methods (RFC 8176), such as `pwd`.
    pub amr: Vec<Amr>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An authorization code, stored under its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub subject: Subject,
    pub scopes: ScopeSet,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub auth_time: Timestamp,
    pub sid: Option<String>,
    pub amr: Vec<Amr>,
    pub expires_at: Timestamp,
    /// Set when the code is redeemed: the grant its tokens belong to.
    pub redeemed_grant: Option<String>,
    /// Claims asked for by name with the `claims` parameter.
    #[serde(default)]
    pub requested_claims: RequestedClaims,
    /// The RFC 8707 `resource` of the authorization request, if one was asked for.
    #[serde(default)]
    pub resource: Option<String>,
}

/// Claims a relying party asked for by name (OpenID Connect Core 5.5), beyond its scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedClaims {
    pub userinfo: Vec<String>,
    pub id_token: Vec<String>,
}

/// A grant: one authorization and every token descended from it (the token family).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub client_id: ClientId,
    /// The user; `None` for a client acting for itself.
    pub subject: Option<Subject>,
    pub scopes: ScopeSet,
    pub auth_time: Option<Timestamp>,
    pub sid: Option<String>,
    pub amr: Vec<Amr>,
    /// The `nonce` of the authorization request, if any.
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub requested_claims: RequestedClaims,
    /// The RFC 8707 `resource` the grant was made for, if any: its access tokens are for it.
    #[serde(default)]
    pub resource: Option<String>,
    pub created_at: Timestamp,
    /// After this no token of the grant can be valid, so the record may be purged.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A refresh token, stored under its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub grant_id: String,
    pub client_id: ClientId,
    pub scopes: ScopeSet,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// Set when the token was exchanged for a new one; presenting it again is a replay.
    pub rotated_at: Option<Timestamp>,
}

/// What a user allowed a client, remembered so that the consent page is not shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub subject: Subject,
    pub client_id: ClientId,
    pub scopes: ScopeSet,
    pub granted_at: Timestamp,
}
