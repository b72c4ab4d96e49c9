//! Redeeming an authorization code (RFC 6749 section 4.1.3, RFC 7636 section 4.6, RFC 9700
//! section 4.5).

use super::{OAuthError, pkce};
use crate::domain::{AuthorizationCode, Timestamp};

/// The outcome of presenting a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// Issue tokens.
    Valid,
    /// The code was already redeemed, and this request is otherwise valid: refuse, and revoke
    /// every token issued from the code (the grant named here).
    Replay { grant_id: String },
    /// Refuse without revoking anything: a request with wrong parameters must not be a way to
    /// revoke someone else's tokens.
    Invalid(OAuthError),
}

/// Checks a token request against the stored code.
pub fn check(
    code: &AuthorizationCode,
    client_id: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
    now: Timestamp,
) -> Redemption {
    let invalid = |d: &str| Redemption::Invalid(OAuthError::invalid_grant(d));
    if code.client_id.as_str() != client_id {
        return invalid("the code was issued to another client");
    }
    match (code.redirect_uri_sent, redirect_uri) {
        (true, None) => {
            return invalid("redirect_uri is required because the authorization request had one");
        }
        (_, Some(sent)) if sent != code.redirect_uri => {
            return invalid("redirect_uri does not match");
        }
        _ => {}
    }
    match (&code.code_challenge, code_verifier) {
        (Some(_), None) => return invalid("code_verifier is required"),
        (None, Some(_)) => {
            return invalid("code_verifier sent for a code issued without code_challenge");
        }
        (Some(challenge), Some(verifier)) if !pkce::verify_s256(verifier, challenge) => {
            return invalid("code_verifier does not match the code_challenge");
        }
        _ => {}
    }
    if let Some(grant_id) = &code.redeemed_grant {
        return Redemption::Replay {
            grant_id: grant_id.clone(),
        };
    }
    if code.expires_at <= now {
        return invalid("the code has expired");
    }
    Redemption::Valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, ScopeSet, Subject};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code(challenge: Option<&str>) -> AuthorizationCode {
        AuthorizationCode {
            client_id: ClientId::parse("app").unwrap(),
            redirect_uri: "https://app.example.com/cb".into(),
            redirect_uri_sent: true,
            subject: Subject::from_string("u".into()),
            scopes: ScopeSet::default(),
            code_challenge: challenge.map(str::to_owned),
            nonce: None,
            auth_time: Timestamp(100),
            sid: None,
            amr: vec![],
            expires_at: Timestamp(160),
            redeemed_grant: None,
            requested_claims: Default::default(),
            resource: None,
        }
    }

    const URI: Option<&str> = Some("https://app.example.com/cb");

    #[test]
    fn a_fresh_code_with_matching_parameters_is_valid() {
        assert_eq!(
            check(&code(Some(CHALLENGE)), "app", URI, Some(VERIFIER), Timestamp(120)),
            Redemption::Valid
        );
    }

    #[test]
    fn a_code_redeemed_by_another_client_is_invalid_grant() {
        assert!(matches!(
            check(
                &code(Some(CHALLENGE)),
                "other",
                URI,
                Some(VERIFIER),
                Timestamp(120)
            ),
            Redemption::Invalid(_)
        ));
    }

    #[test]
    fn an_expired_code_is_invalid_grant() {
        assert!(matches!(
            check(&code(Some(CHALLENGE)), "app", URI, Some(VERIFIER), Timestamp(160)),
            Redemption::Invalid(_)
        ));
    }

    #[test]
    fn a_pkce_downgrade_is_refused() {
        assert!(matches!(
            check(&code(None), "app", URI, Some(VERIFIER), Timestamp(120)),
            Redemption::Invalid(_)
        ));
        assert!(matches!(
            check(&code(Some(CHALLENGE)), "app", URI, None, Timestamp(120)),
            Redemption::Invalid(_)
        ));
        assert!(matches!(
            check(
                &code(Some(CHALLENGE)),
                "app",
                URI,
                Some(&VERIFIER.replace('d', "e")),
                Timestamp(120)
            ),
            Redemption::Invalid(_)
        ));
    }

    #[test]
    fn redirect_uri_must_repeat_the_authorization_requests_exactly() {
        let c = code(Some(CHALLENGE));
        assert!(matches!(
            check(&c, "app", None, Some(VERIFIER), Timestamp(120)),
            Redemption::Invalid(_)
        ));
        assert!(matches!(
            check(
                &c,
                "app",
                Some("https://app.example.com/cb/"),
                Some(VERIFIER),
                Timestamp(120)
            ),
            Redemption::Invalid(_)
        ));
    }

    #[test]
    fn a_second_valid_redemption_is_a_replay_but_a_wrong_one_revokes_nothing() {
        let mut c = code(Some(CHALLENGE));
        c.redeemed_grant = Some("g1".into());
        assert_eq!(
            check(&c, "app", URI, Some(VERIFIER), Timestamp(120)),
            Redemption::Replay {
                grant_id: "g1".into()
            }
        );
        assert!(matches!(
            check(&c, "other", URI, Some(VERIFIER), Timestamp(120)),
            Redemption::Invalid(_)
        ));
        assert!(matches!(
            check(&c, "app", URI, None, Timestamp(120)),
            Redemption::Invalid(_)
        ));
    }
}
