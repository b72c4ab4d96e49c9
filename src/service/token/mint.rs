//! Issuing tokens: access tokens (RFC 9068), ID tokens, refresh tokens and the grant records
//! they belong to, plus the small store steps every grant shares.

use super::TokenSuccess;
use crate::crypto::{jwt, random};
use crate::domain::{
    Amr, Client, Grant, GrantType, IdTokenAlg, RefreshToken, RequestedClaims, ScopeSet, SigningKeyRecord,
    Subject, Timestamp,
};
use crate::protocol::access_token::{self, AccessClaims, Audience};
use crate::protocol::{ErrorCode, OAuthError, id_token};
use crate::service::login::digest;
use crate::service::{App, ServiceError, keys};
use crate::store::{Reads, Writes};

/// Everything needed to mint an access token.
pub(super) struct Mint<'a> {
    pub app: &'a App,
    pub key: &'a SigningKeyRecord,
    pub client: &'a Client,
    pub now: Timestamp,
}

impl Mint<'_> {
    /// Signs an access token for the audience `aud`. Tokens of a grant carry the grant id in
    /// their `jti` (`grant.random`), so revoking the grant revokes them without a write per token.
    pub fn access_token(
        &self,
        subject: Option<&Subject>,
        scopes: &ScopeSet,
        aud: Vec<String>,
        auth_time: Option<Timestamp>,
        grant_id: Option<&str>,
    ) -> Result<String, ServiceError> {
        let lifetime = self.app.config.lifetimes.access_token;
        let nonce = random::subject()?;
        let jti = match grant_id {
            Some(g) => format!("{g}.{nonce}"),
            None => nonce,
        };
        let client_id = self.client.client_id.as_str();
        let claims = AccessClaims {
            iss: self.app.config.issuer.clone(),
            sub: subject.map_or(client_id, Subject::as_str).to_owned(),
            aud: Audience(aud),
            client_id: client_id.to_owned(),
            scope: scopes.to_string(),
            iat: self.now.0,
            exp: self.now.plus(lifetime).0,
            jti,
            auth_time: auth_time.map(|t| t.0),
            nbf: None,
        };
        jwt::sign(self.key, access_token::TYP, &claims).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// The token response for what was minted.
    pub fn success(
        &self,
        access_token: String,
        refresh_token: Option<String>,
        scopes: &ScopeSet,
        id_token: Option<String>,
    ) -> TokenSuccess {
        TokenSuccess {
            access_token,
            token_type: "Bearer",
            expires_in: self.app.config.lifetimes.access_token.0,
            refresh_token,
            scope: scopes.to_string(),
            id_token,
        }
    }

    /// Whether this grant gets a refresh token: the client must allow refreshing, and an OpenID
    /// Connect request must include `offline_access` unless the client's registration waives it.
    fn wants_refresh(&self, scopes: &ScopeSet) -> bool {
        self.client.allows_grant(GrantType::RefreshToken)
            && (!scopes.contains("openid")
                || scopes.contains("offline_access")
                || self.client.refresh_without_offline_access)
    }

    /// An ID token for an `openid` grant, signed as the client registered; `None` otherwise.
    pub fn id_token(
        &self,
        tx: &dyn Writes,
        grant: &Grant,
        scopes: &ScopeSet,
        access_token: &str,
        nonce: Option<&str>,
    ) -> Result<Option<String>, ServiceError> {
        let (true, Some(subject), Some(auth_time)) =
            (scopes.contains("openid"), &grant.subject, grant.auth_time)
        else {
            return Ok(None);
        };
        let Some(user) = tx.user(subject)? else {
            return Ok(None);
        };
        let alg = self.client.id_token_alg;
        let rsa;
        let key = match alg {
            IdTokenAlg::EdDsa | IdTokenAlg::Ed25519 => self.key,
            IdTokenAlg::RS256 => {
                rsa = keys::ensure_rsa(tx, self.now)?;
                &rsa
            }
        };
        let facts = id_token::IdTokenFacts {
            issuer: &self.app.config.issuer,
            client_id: self.client.client_id.as_str(),
            user: &user,
            scopes,
            requested: &grant.requested_claims.id_token,
            nonce,
            auth_time,
            sid: grant.sid.as_deref(),
            amr: &grant.amr,
            access_token: Some(access_token),
            alg,
            issued_at: self.now,
            expires_at: self.now.plus(self.app.config.lifetimes.id_token),
        };
        let claims = id_token::claims(&facts);
        jwt::sign_as(key, alg.as_str(), "JWT", &claims)
            .map(Some)
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Creates a refresh token for the grant when the client may refresh; stores its digest.
    pub fn refresh_token(
        &self,
        tx: &dyn Writes,
        grant: &mut Grant,
        scopes: &ScopeSet,
    ) -> Result<Option<String>, ServiceError> {
        if !self.wants_refresh(scopes) {
            return Ok(None);
        }
        let token = random::token()?;
        let expires_at = self.now.plus(self.app.config.lifetimes.refresh_token);
        tx.put_refresh_token(
            &digest(&token),
            &RefreshToken {
                grant_id: grant.id.clone(),
                client_id: self.client.client_id.clone(),
                scopes: scopes.clone(),
                issued_at: self.now,
                expires_at,
                rotated_at: None,
            },
        )?;
        grant.expires_at = grant.expires_at.max(expires_at);
        Ok(Some(token))
    }

    /// A new grant of `scopes` to this client for the user `subject`.
    pub fn new_grant(
        &self,
        subject: &Subject,
        scopes: &ScopeSet,
        auth_time: Timestamp,
        sid: Option<String>,
        amr: Vec<Amr>,
    ) -> Result<Grant, ServiceError> {
        Ok(Grant {
            id: random::subject()?,
            client_id: self.client.client_id.clone(),
            subject: Some(subject.clone()),
            scopes: scopes.clone(),
            auth_time: Some(auth_time),
            sid,
            amr,
            nonce: None,
            requested_claims: RequestedClaims::default(),
            resource: None,
            created_at: self.now,
            expires_at: self.now.plus(self.app.config.lifetimes.access_token),
            revoked_at: None,
        })
    }
}

/// The active signing key, which every server has from its first start.
pub(super) fn active_key(tx: &dyn Reads) -> Result<SigningKeyRecord, ServiceError> {
    keys::active_key(tx)?.ok_or_else(|| ServiceError::Internal("no active signing key".into()))
}

/// Marks a grant revoked: its refresh tokens stop working, and access tokens whose `jti` names it
/// stop introspecting as active.
pub(super) fn revoke_grant(tx: &dyn Writes, grant_id: &str, now: Timestamp) -> Result<(), ServiceError> {
    if let Some(mut grant) = tx.grant(grant_id)?
        && grant.revoked_at.is_none()
    {
        grant.revoked_at = Some(now);
        tx.put_grant(&grant)?;
        tracing::warn!(grant_id, client_id = %grant.client_id, "revoked a grant and every token issued from it");
    }
    Ok(())
}

/// Whether the user exists and is not disabled.
pub(super) fn user_is_active(tx: &dyn Reads, subject: &Subject) -> Result<bool, ServiceError> {
    Ok(tx.user(subject)?.is_some_and(|u| !u.disabled))
}

/// The resource of a token request that continues a grant (a code or a refresh): the grant's
/// own, which the request may repeat but not change (RFC 8707 section 2.2).
pub(super) fn same_resource<'a>(
    granted: Option<&'a str>,
    asked: Option<&'a str>,
) -> Result<Option<&'a str>, OAuthError> {
    match (granted, asked) {
        (Some(g), Some(a)) if g != a => Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "the resource differs from the one the grant was made for",
        )),
        (Some(g), _) => Ok(Some(g)),
        (None, a) => Ok(a),
    }
}
