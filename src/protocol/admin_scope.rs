//! The one rule about the `admin` scope: only administrators may be granted it. The authorization
//! endpoint, the consent form and the password grant all ask here.

use super::{ErrorCode, OAuthError};
use crate::domain::{ScopeSet, User};

/// The scope that opens the admin API.
pub use crate::domain::ADMIN_SCOPE;

/// Whether `user` may be granted `scopes`: the `admin` scope only goes to administrators.
pub fn may_have(user: &User, scopes: &ScopeSet) -> bool {
    !scopes.contains(ADMIN_SCOPE) || user.is_admin()
}

/// The refusal when [`may_have`] says no, with the error code the endpoint answers with
/// (`access_denied` at the authorization endpoint, `invalid_scope` at the token endpoint).
pub fn refusal(code: ErrorCode) -> OAuthError {
    OAuthError::new(code, "only administrators may be granted the admin scope")
}

/// A client's default scopes as `user` may have them: without `admin` unless the user is an
/// administrator. Used when a request names no scope, so that defaults never fail.
pub fn defaults_for(user: &User, defaults: &ScopeSet) -> ScopeSet {
    if may_have(user, defaults) {
        return defaults.clone();
    }
    ScopeSet::from_scopes(defaults.iter().filter(|s| s.as_str() != ADMIN_SCOPE).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ADMIN_GROUP, Subject, Timestamp, Username};

    fn user(groups: &[&str]) -> User {
        User {
            subject: Subject::from_string("s1".into()),
            username: Username::parse("alice").unwrap(),
            name: None,
            email: None,
            email_verified: false,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            password_hash: None,
            disabled: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn only_administrators_may_have_the_admin_scope() {
        let admin = ScopeSet::parse("openid admin").unwrap();
        let plain = ScopeSet::parse("openid").unwrap();
        assert!(may_have(&user(&[ADMIN_GROUP]), &admin));
        assert!(!may_have(&user(&["staff"]), &admin));
        assert!(may_have(&user(&[]), &plain));
        assert_eq!(defaults_for(&user(&[]), &admin), plain);
        assert_eq!(defaults_for(&user(&[ADMIN_GROUP]), &admin), admin);
    }
}
