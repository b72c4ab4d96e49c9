//! The sign-in state machine's rule: after a first factor, is the sign-in done, or does it need
//! another factor? Pure, so that a second factor is added here and in one service function.

use crate::domain::{Amr, User};

/// A first factor that has been checked (a password, or an upstream provider's word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstFactor {
    /// The user's password matched.
    Password,
    /// The named upstream provider vouched for the user.
    Upstream { name: String },
}

impl FirstFactor {
    /// The authentication methods this factor proves (RFC 8176), as Latchkey has always written
    /// them: `pwd`, or `fed` and `upstream:NAME`.
    pub fn amr(&self) -> Vec<Amr> {
        match self {
            FirstFactor::Password => vec![Amr::Pwd],
            FirstFactor::Upstream { name } => vec![Amr::Fed, Amr::Upstream(name.clone())],
        }
    }
}

/// Where a sign-in stands after a factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Signed in, proven by these methods.
    Done(Vec<Amr>),
    /// Another factor is needed; these methods are proven so far. No user needs one yet.
    NeedFactor(Vec<Amr>),
}

/// Decides the step after `factor` was checked for `user`. Today every first factor is enough;
/// a second factor (for a user who enrolled one) is decided here.
pub fn after_first_factor(user: &User, factor: &FirstFactor) -> LoginStep {
    let _ = user;
    LoginStep::Done(factor.amr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Subject, Timestamp, Username};

    #[test]
    fn a_first_factor_is_enough_today_and_proves_its_methods() {
        let user = User {
            subject: Subject::from_string("s1".into()),
            username: Username::parse("alice").unwrap(),
            name: None,
            email: None,
            email_verified: false,
            groups: vec![],
            password_hash: None,
            disabled: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        assert_eq!(
            after_first_factor(&user, &FirstFactor::Password),
            LoginStep::Done(vec![Amr::Pwd])
        );
        let upstream = FirstFactor::Upstream { name: "corp".into() };
        assert_eq!(
            after_first_factor(&user, &upstream),
            LoginStep::Done(vec![Amr::Fed, Amr::Upstream("corp".into())])
        );
    }
}
