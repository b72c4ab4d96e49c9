//! The answer of token introspection (RFC 7662 section 2.2): what the asking client may learn
//! about a token, built once from the claims or the refresh-token record.

use super::access_token::AccessClaims;
use crate::domain::{Grant, RefreshToken, Timestamp};

/// An introspection answer. Every field but `active` is absent from an inactive answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Introspection {
    /// Whether the token is live and belongs to the asking client.
    pub active: bool,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    pub token_type: Option<&'static str>,
    pub exp: Option<u64>,
    pub iat: Option<u64>,
    pub sub: Option<String>,
    /// The audience, when it is one resource (an audience of several is not shown).
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub jti: Option<String>,
    pub auth_time: Option<u64>,
}

impl Introspection {
    /// `{"active": false}`: expired, revoked, unknown or another client's token.
    pub fn inactive() -> Introspection {
        Introspection::default()
    }

    /// The answer for a live access token, moved out of its claims: active only when the token
    /// was issued to `asking_client`. `username` is the name of the user behind `sub`, if any.
    pub fn access(claims: AccessClaims, asking_client: &str, username: Option<String>) -> Introspection {
        if claims.client_id != asking_client {
            return Introspection::inactive();
        }
        let aud = match claims.aud.0.len() {
            1 => claims.aud.0.into_iter().next(),
            _ => None,
        };
        Introspection {
            active: true,
            scope: Some(claims.scope),
            client_id: Some(claims.client_id),
            username,
            token_type: Some("Bearer"),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            sub: Some(claims.sub),
            aud,
            iss: Some(claims.iss),
            jti: Some(claims.jti),
            auth_time: claims.auth_time,
        }
    }

    /// The answer for a refresh token: active while it is the asking client's, not rotated, not
    /// expired at `now`, and its grant is live.
    pub fn refresh(
        token: &RefreshToken,
        grant: Option<&Grant>,
        asking_client: &str,
        issuer: &str,
        now: Timestamp,
    ) -> Introspection {
        let live =
            token.client_id.as_str() == asking_client && token.rotated_at.is_none() && token.expires_at > now;
        let Some(grant) = grant.filter(|g| live && g.revoked_at.is_none()) else {
            return Introspection::inactive();
        };
        Introspection {
            active: true,
            token_type: Some("refresh_token"),
            client_id: Some(token.client_id.to_string()),
            scope: Some(token.scopes.to_string()),
            iss: Some(issuer.to_owned()),
            iat: Some(token.issued_at.0),
            exp: Some(token.expires_at.0),
            sub: grant.subject.as_ref().map(ToString::to_string),
            ..Introspection::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, RequestedClaims, ScopeSet, Subject};
    use crate::protocol::access_token::Audience;

    fn claims(aud: &[&str]) -> AccessClaims {
        AccessClaims {
            iss: "https://id.example.test".to_owned(),
            sub: "sub-1".to_owned(),
            aud: Audience(aud.iter().map(|a| (*a).to_owned()).collect()),
            client_id: "web".to_owned(),
            scope: "openid".to_owned(),
            iat: 10,
            exp: 20,
            jti: "g.n".to_owned(),
            auth_time: Some(5),
            nbf: None,
        }
    }

    #[test]
    fn an_access_token_is_active_only_for_its_own_client() {
        assert_eq!(
            Introspection::access(claims(&["a"]), "other", None),
            Introspection::inactive()
        );
        let mine = Introspection::access(claims(&["a"]), "web", Some("alice".to_owned()));
        assert!(mine.active);
        assert_eq!(mine.token_type, Some("Bearer"));
        assert_eq!(mine.aud.as_deref(), Some("a"));
        assert_eq!(mine.username.as_deref(), Some("alice"));
        assert_eq!(mine.auth_time, Some(5));
        let two = Introspection::access(claims(&["a", "b"]), "web", None);
        assert_eq!(two.aud, None, "an audience of several is not shown");
    }

    fn refresh_token() -> RefreshToken {
        RefreshToken {
            grant_id: "g".to_owned(),
            client_id: ClientId::parse("web").unwrap(),
            scopes: ScopeSet::parse("openid offline_access").unwrap(),
            issued_at: Timestamp(10),
            expires_at: Timestamp(100),
            rotated_at: None,
        }
    }

    fn grant() -> Grant {
        Grant {
            id: "g".to_owned(),
            client_id: ClientId::parse("web").unwrap(),
            subject: Some(Subject::from_string("sub-1".to_owned())),
            scopes: ScopeSet::parse("openid offline_access").unwrap(),
            auth_time: Some(Timestamp(5)),
            sid: None,
            amr: Vec::new(),
            nonce: None,
            requested_claims: RequestedClaims::default(),
            resource: None,
            created_at: Timestamp(10),
            expires_at: Timestamp(100),
            revoked_at: None,
        }
    }

    #[test]
    fn a_refresh_token_is_active_while_unrotated_unexpired_and_its_grant_live() {
        let (t, g) = (refresh_token(), grant());
        let live = Introspection::refresh(&t, Some(&g), "web", "https://i", Timestamp(50));
        assert!(live.active);
        assert_eq!(live.token_type, Some("refresh_token"));
        assert_eq!(live.sub.as_deref(), Some("sub-1"));
        assert_eq!(live.jti, None);
        let inactive = Introspection::inactive();
        assert_eq!(
            Introspection::refresh(&t, Some(&g), "other", "https://i", Timestamp(50)),
            inactive
        );
        assert_eq!(
            Introspection::refresh(&t, Some(&g), "web", "https://i", Timestamp(100)),
            inactive
        );
        assert_eq!(
            Introspection::refresh(&t, None, "web", "https://i", Timestamp(50)),
            inactive
        );
        let rotated = RefreshToken {
            rotated_at: Some(Timestamp(40)),
            ..refresh_token()
        };
        assert_eq!(
            Introspection::refresh(&rotated, Some(&g), "web", "https://i", Timestamp(50)),
            inactive
        );
        let revoked = Grant {
            revoked_at: Some(Timestamp(40)),
            ..grant()
        };
        assert_eq!(
            Introspection::refresh(&t, Some(&revoked), "web", "https://i", Timestamp(50)),
            inactive
        );
    }
}
