//! RFC 9068 access tokens: their claims as a type, and the pure check of whether one is still
//! live, given `now` and the facts the service loaded for it (deny list, grant, client).

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;

/// The `typ` header of an access token (RFC 9068 section 2.1).
pub const TYP: &str = "at+jwt";

/// An access token's `aud`: the resource servers it is for. One is written as a string, several
/// as an array (RFC 7519 section 4.1.3); both are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(pub Vec<String>);

impl Audience {
    /// Whether the audience names `resource`.
    pub fn names(&self, resource: &str) -> bool {
        self.0.iter().any(|a| a == resource)
    }

    /// The one resource, when the audience is a single string.
    pub fn single(&self) -> Option<&str> {
        match self.0.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Audience, D::Error> {
        struct AudVisitor;
        impl<'de> Visitor<'de> for AudVisitor {
            type Value = Audience;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience(vec![v.to_owned()]))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Audience, E> {
                Ok(Audience(vec![v]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience, A::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<String>()? {
                    all.push(one);
                }
                Ok(Audience(all))
            }
        }
        d.deserialize_any(AudVisitor)
    }
}

/// The claims of an access token, in the order they are written (the bytes of a token depend on
/// it). Latchkey writes every field but `nbf`; a token missing one of the others is not one of
/// Latchkey's and does not deserialize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer.
    pub iss: String,
    /// The user's subject, or the client id for a client's own token (`client_credentials`).
    pub sub: String,
    /// The resource servers the token is for (RFC 8707, RFC 9068 section 3).
    pub aud: Audience,
    /// The client the token was issued to.
    pub client_id: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// When the token was issued, in seconds since the epoch.
    pub iat: u64,
    /// When the token expires.
    pub exp: u64,
    /// The token's id: `{grant id}.{nonce}` for a token of a grant, a bare nonce otherwise.
    pub jti: String,
    /// When the user authenticated, for a user's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// Not valid before this moment. Latchkey never writes it; a token that carries one is
    /// honoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

impl AccessClaims {
    /// The grant the token belongs to, named in its `jti`; `None` for a token without a grant.
    pub fn grant_id(&self) -> Option<&str> {
        self.jti.split_once('.').map(|(grant, _)| grant)
    }

    /// Whether the token was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(' ').any(|s| s == scope)
    }
}

/// What the store says about the grant a token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantFact {
    /// The token names no grant (`client_credentials`).
    NoGrant,
    /// The grant exists and is not revoked.
    Live,
    /// The grant was revoked or no longer exists.
    Gone,
}

/// The state loaded for one token: everything [`liveness`] needs beyond the claims and `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenState {
    /// Whether the token's `jti` is on the deny list (an RFC 7009 revocation).
    pub jti_denied: bool,
    /// The grant named in the `jti`.
    pub grant: GrantFact,
    /// When the client named by `client_id` was registered; `None` if there is no such client.
    pub client_registered: Option<Timestamp>,
}

/// Whether a verified access token may still be used, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The token is live.
    Live,
    /// Another issuer wrote it.
    OtherIssuer,
    /// Its `exp` has passed.
    Expired,
    /// Its `nbf` is still ahead.
    NotYetValid,
    /// Its `jti` was revoked.
    Revoked,
    /// The grant it belongs to was revoked or deleted.
    GrantRevoked,
    /// Its client no longer exists, or is a later client with a deleted client's id.
    ClientGone,
}

/// Whether the token with `claims`, signed by one of the published keys, is live at `now` for
/// `issuer`, given the loaded `state`. A token without a grant dies with its client: the client
/// must exist and have been registered before the token was issued, so that a later client with
/// a deleted client's id inherits none of its tokens.
pub fn liveness(claims: &AccessClaims, issuer: &str, state: &TokenState, now: Timestamp) -> Liveness {
    if claims.iss != issuer {
        return Liveness::OtherIssuer;
    }
    if claims.exp <= now.0 {
        return Liveness::Expired;
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.0) {
        return Liveness::NotYetValid;
    }
    if state.jti_denied {
        return Liveness::Revoked;
    }
    if state.grant == GrantFact::Gone {
        return Liveness::GrantRevoked;
    }
    match state.client_registered {
        Some(at) if at.0 <= claims.iat => Liveness::Live,
        _ => Liveness::ClientGone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example.test";

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: ISSUER.to_owned(),
            sub: "alice-sub".to_owned(),
            aud: Audience(vec![ISSUER.to_owned()]),
            client_id: "web".to_owned(),
            scope: "openid profile".to_owned(),
            iat: 1_000,
            exp: 1_300,
            jti: "grant1.nonce".to_owned(),
            auth_time: Some(990),
            nbf: None,
        }
    }

    fn live_state() -> TokenState {
        TokenState {
            jti_denied: false,
            grant: GrantFact::Live,
            client_registered: Some(Timestamp(500)),
        }
    }

    #[test]
    fn a_fresh_token_of_a_live_grant_and_client_is_live() {
        assert_eq!(
            liveness(&claims(), ISSUER, &live_state(), Timestamp(1_000)),
            Liveness::Live
        );
        assert_eq!(
            liveness(&claims(), ISSUER, &live_state(), Timestamp(1_299)),
            Liveness::Live
        );
    }

    #[test]
    fn a_token_dies_at_its_exp_exactly() {
        assert_eq!(
            liveness(&claims(), ISSUER, &live_state(), Timestamp(1_300)),
            Liveness::Expired
        );
        assert_eq!(
            liveness(&claims(), ISSUER, &live_state(), Timestamp(9_999)),
            Liveness::Expired
        );
    }

    #[test]
    fn another_issuers_token_is_never_live() {
        let c = claims();
        assert_eq!(
            liveness(&c, "https://other.example.test", &live_state(), Timestamp(1_000)),
            Liveness::OtherIssuer
        );
    }

    #[test]
    fn a_token_with_a_later_nbf_is_not_yet_valid() {
        let c = AccessClaims {
            nbf: Some(1_100),
            ..claims()
        };
        assert_eq!(
            liveness(&c, ISSUER, &live_state(), Timestamp(1_050)),
            Liveness::NotYetValid
        );
        assert_eq!(
            liveness(&c, ISSUER, &live_state(), Timestamp(1_100)),
            Liveness::Live
        );
    }

    #[test]
    fn a_denied_jti_or_a_revoked_grant_ends_the_token() {
        let denied = TokenState {
            jti_denied: true,
            ..live_state()
        };
        assert_eq!(
            liveness(&claims(), ISSUER, &denied, Timestamp(1_000)),
            Liveness::Revoked
        );
        let revoked = TokenState {
            grant: GrantFact::Gone,
            ..live_state()
        };
        assert_eq!(
            liveness(&claims(), ISSUER, &revoked, Timestamp(1_000)),
            Liveness::GrantRevoked
        );
    }

    #[test]
    fn a_token_dies_with_its_client_and_a_later_client_of_the_same_id_inherits_nothing() {
        let gone = TokenState {
            client_registered: None,
            ..live_state()
        };
        assert_eq!(
            liveness(&claims(), ISSUER, &gone, Timestamp(1_000)),
            Liveness::ClientGone
        );
        let later = TokenState {
            client_registered: Some(Timestamp(1_001)),
            ..live_state()
        };
        assert_eq!(
            liveness(&claims(), ISSUER, &later, Timestamp(1_100)),
            Liveness::ClientGone
        );
        let same_second = TokenState {
            client_registered: Some(Timestamp(1_000)),
            grant: GrantFact::NoGrant,
            ..live_state()
        };
        assert_eq!(
            liveness(&claims(), ISSUER, &same_second, Timestamp(1_100)),
            Liveness::Live
        );
    }

    #[test]
    fn claims_are_written_in_todays_order_and_read_back() {
        let text = serde_json::to_string(&claims()).unwrap();
        assert_eq!(
            text,
            r#"{"iss":"https://id.example.test","sub":"alice-sub","aud":"https://id.example.test","client_id":"web","scope":"openid profile","iat":1000,"exp":1300,"jti":"grant1.nonce","auth_time":990}"#
        );
        assert_eq!(serde_json::from_str::<AccessClaims>(&text).unwrap(), claims());
        let many = AccessClaims {
            aud: Audience(vec![ISSUER.to_owned(), format!("{ISSUER}/api/v1")]),
            auth_time: None,
            jti: "nonce".to_owned(),
            ..claims()
        };
        let text = serde_json::to_string(&many).unwrap();
        assert!(text.contains(r#""aud":["https://id.example.test","https://id.example.test/api/v1"]"#));
        assert!(!text.contains("auth_time"));
        let back: AccessClaims = serde_json::from_str(&text).unwrap();
        assert_eq!(back, many);
        assert_eq!(back.grant_id(), None);
        assert_eq!(claims().grant_id(), Some("grant1"));
    }

    #[test]
    fn the_audience_names_its_resources() {
        let r = "https://api.example.com";
        assert!(Audience(vec![r.to_owned()]).names(r));
        assert!(Audience(vec!["x".to_owned(), r.to_owned()]).names(r));
        assert!(!Audience(vec!["x".to_owned()]).names(r));
        assert!(!Audience(Vec::new()).names(r));
        assert_eq!(Audience(vec![r.to_owned()]).single(), Some(r));
        assert_eq!(Audience(vec![r.to_owned(), "x".to_owned()]).single(), None);
    }

    #[test]
    fn scopes_are_matched_whole() {
        assert!(claims().has_scope("openid"));
        assert!(!claims().has_scope("open"));
        assert!(!claims().has_scope("admin"));
    }
}
