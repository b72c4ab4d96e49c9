//! Using a refresh token (RFC 6749 section 6, RFC 9700 section 4.14): rotation on every use, and
//! replay detection that revokes the whole grant.

use super::OAuthError;
use crate::domain::{Grant, RefreshToken, ScopeSet, Timestamp};

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Rotate: retire this token and issue a new pair; the access token gets `scopes`.
    Rotate { scopes: ScopeSet },
    /// The token was already rotated: refuse and revoke the grant.
    Replay,
    /// Refuse without revoking anything.
    Invalid(OAuthError),
}

/// Checks a refresh request. `requested` is the optional `scope` parameter, already parsed.
pub fn check(
    token: &RefreshToken,
    grant: Option<&Grant>,
    client_id: &str,
    requested: Option<&ScopeSet>,
    now: Timestamp,
) -> RefreshDecision {
    let invalid = |d: &str| RefreshDecision::Invalid(OAuthError::invalid_grant(d));
    if token.client_id.as_str() != client_id {
        return invalid("the refresh token was issued to another client");
    }
    let Some(grant) = grant else {
        return invalid("the refresh token's grant no longer exists");
    };
    if grant.revoked_at.is_some() {
        return invalid("the refresh token has been revoked");
    }
    if token.rotated_at.is_some() {
        return RefreshDecision::Replay;
    }
    if token.expires_at <= now {
        return invalid("the refresh token has expired");
    }
    let scopes = match requested {
        None => token.scopes.clone(),
        Some(r) if r.is_subset(&token.scopes) => r.clone(),
        Some(_) => {
            return RefreshDecision::Invalid(OAuthError::invalid_scope(
                "a refresh may narrow the scope, never widen it",
            ));
        }
    };
    RefreshDecision::Rotate { scopes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, Subject};

    fn token() -> RefreshToken {
        RefreshToken {
            grant_id: "g".into(),
            client_id: ClientId::parse("app").unwrap(),
            scopes: ScopeSet::parse("openid profile").unwrap(),
            issued_at: Timestamp(0),
            expires_at: Timestamp(1000),
            rotated_at: None,
        }
    }

    fn grant() -> Grant {
        Grant {
            id: "g".into(),
            client_id: ClientId::parse("app").unwrap(),
            subject: Some(Subject::from_string("u".into())),
            scopes: ScopeSet::parse("openid profile").unwrap(),
            auth_time: None,
            sid: None,
            amr: vec![],
            nonce: None,
            requested_claims: Default::default(),
            resource: None,
            created_at: Timestamp(0),
            expires_at: Timestamp(1000),
            revoked_at: None,
        }
    }

    #[test]
    fn a_live_token_rotates_and_may_narrow_scope() {
        let narrow = ScopeSet::parse("openid").unwrap();
        assert_eq!(
            check(&token(), Some(&grant()), "app", Some(&narrow), Timestamp(5)),
            RefreshDecision::Rotate { scopes: narrow }
        );
    }

    #[test]
    fn scope_never_widens() {
        let wide = ScopeSet::parse("openid profile email").unwrap();
        assert!(matches!(
            check(&token(), Some(&grant()), "app", Some(&wide), Timestamp(5)),
            RefreshDecision::Invalid(e) if e.code == crate::protocol::ErrorCode::InvalidScope
        ));
    }

    #[test]
    fn a_rotated_token_is_a_replay_and_a_revoked_grant_is_invalid() {
        let mut t = token();
        t.rotated_at = Some(Timestamp(3));
        assert_eq!(
            check(&t, Some(&grant()), "app", None, Timestamp(5)),
            RefreshDecision::Replay
        );
        let mut g = grant();
        g.revoked_at = Some(Timestamp(4));
        assert!(matches!(
            check(&t, Some(&g), "app", None, Timestamp(5)),
            RefreshDecision::Invalid(_)
        ));
    }

    #[test]
    fn another_clients_or_an_expired_token_is_invalid_grant() {
        assert!(matches!(
            check(&token(), Some(&grant()), "other", None, Timestamp(5)),
            RefreshDecision::Invalid(_)
        ));
        assert!(matches!(
            check(&token(), Some(&grant()), "app", None, Timestamp(1000)),
            RefreshDecision::Invalid(_)
        ));
        assert!(matches!(
            check(&token(), None, "app", None, Timestamp(5)),
            RefreshDecision::Invalid(_)
        ));
    }
}
