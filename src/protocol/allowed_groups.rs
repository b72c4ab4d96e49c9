//! A client's `allowed_groups`: only their members may use it. The authorization endpoint refuses
//! the others with a page ([`super::authorize::Next::OutsideAllowedGroups`]); the token endpoint's
//! grants for a user (password, refresh) refuse them with [`check`].

use super::OAuthError;
use crate::domain::{Client, User};

/// The refusal's description at the token endpoint (RFC 6749 section 5.2 `invalid_grant`).
pub const REFUSAL: &str = "this client is limited to certain groups, and the user is in none of them";

/// `Ok` when `user` may use `client` (it names no groups, or the user is in one), else the
/// token endpoint's `invalid_grant`.
pub fn check(client: &Client, user: &User) -> Result<(), OAuthError> {
    if client.admits(user) {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(REFUSAL))
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorCode;
    use super::*;
    use crate::domain::{Subject, Timestamp, Username};

    fn user_in(groups: &[&str]) -> User {
        User {
            subject: Subject::from_string("u".into()),
            username: Username::parse("alice").unwrap(),
            name: None,
            email: None,
            email_verified: false,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            disabled: false,
            password_hash: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn client_for(groups: &[&str]) -> Client {
        Client {
            allowed_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            ..super::super::authorize::tests::client(false)
        }
    }

    #[test]
    fn a_client_without_allowed_groups_admits_everyone() {
        assert!(check(&client_for(&[]), &user_in(&[])).is_ok());
        assert!(check(&client_for(&[]), &user_in(&["staff"])).is_ok());
    }

    #[test]
    fn a_member_of_any_allowed_group_is_admitted_and_others_get_invalid_grant() {
        let c = client_for(&["staff", "ops"]);
        assert!(check(&c, &user_in(&["ops"])).is_ok());
        assert!(check(&c, &user_in(&["readers", "staff"])).is_ok());
        for groups in [&[][..], &["readers"][..], &["Staff"][..], &["staff-2"][..]] {
            let e = check(&c, &user_in(groups)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidGrant, "{groups:?}");
            assert_eq!(e.description(), REFUSAL);
        }
    }
}
