//! Whether an access token is live: the service loads what the pure check
//! ([`access_token::liveness`]) needs (published keys, deny list, grant, client) and asks it.

use crate::crypto::jwt;
use crate::domain::{ClientId, Grant, SigningKeyRecord, Timestamp};
use crate::protocol::access_token::{self, AccessClaims, GrantFact, Liveness, TokenState};
use crate::service::ServiceError;
use crate::store::Reads;

/// A live access token: its claims, and the grant it belongs to (loaded for the check, so that
/// the caller need not read it again).
#[derive(Debug, Clone)]
pub struct LiveToken {
    pub claims: AccessClaims,
    /// The token's grant; `None` for a token without one (`client_credentials`).
    pub grant: Option<Grant>,
}

/// The claims of a live access token issued by this server: signature, issuer, expiry, revoked
/// `jti`, revoked grant and the client are all checked. `None` for anything else.
pub fn live_access_token(
    tx: &dyn Reads,
    issuer: &str,
    token: &str,
    now: Timestamp,
) -> Result<Option<LiveToken>, ServiceError> {
    let published: Vec<SigningKeyRecord> = tx
        .signing_keys()?
        .into_iter()
        .filter(|k| k.retire_at.is_none_or(|r| r > now))
        .collect();
    let Ok(claims) = jwt::verify_as::<AccessClaims>(token, &published, Some(access_token::TYP)) else {
        return Ok(None);
    };
    let jti_denied = tx.is_jti_denied(&claims.jti)?;
    let (grant_fact, grant) = match claims.grant_id() {
        None => (GrantFact::NoGrant, None),
        Some(id) => match tx.grant(id)? {
            Some(g) if g.revoked_at.is_none() => (GrantFact::Live, Some(g)),
            _ => (GrantFact::Gone, None),
        },
    };
    let client_registered = match ClientId::parse(&claims.client_id) {
        Ok(id) => tx.client(&id)?.map(|c| c.created_at),
        Err(_) => None,
    };
    let state = TokenState {
        jti_denied,
        grant: grant_fact,
        client_registered,
    };
    Ok(match access_token::liveness(&claims, issuer, &state, now) {
        Liveness::Live => Some(LiveToken { claims, grant }),
        _ => None,
    })
}
