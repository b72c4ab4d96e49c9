//! The sign-in state machine's rules: after a first factor, is the sign-in done, does it need a
//! second factor, or must the user enrol one first; what a second factor adds; how strong a
//! sign-in is (`acr`); whether a session is fresh enough for a change that weakens the account;
//! and whether a factor may be removed. Pure, so that every path to a session asks the same rules.

use crate::domain::{Amr, Duration, Timestamp, User};

/// A first factor that has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstFactor {
    /// The user's password matched.
    Password,
    /// The named upstream provider vouched for the user.
    Upstream { name: String },
    /// A passkey signed the challenge (passkey-first sign-in). `synced` when the authenticator
    /// says the credential may be backed up (a software-secured key, `swk`; otherwise `hwk`);
    /// `verified` when it verified the user (PIN or biometrics), which makes the passkey alone
    /// two factors.
    Passkey { synced: bool, verified: bool },
}

impl FirstFactor {
    /// The authentication methods this factor proves (RFC 8176): `pwd`; `fed` and
    /// `upstream:NAME`; or `hwk`/`swk` and `user`, with `mfa` when the user was verified.
    pub fn amr(&self) -> Vec<Amr> {
        match self {
            FirstFactor::Password => vec![Amr::Pwd],
            FirstFactor::Upstream { name } => vec![Amr::Fed, Amr::Upstream(name.clone())],
            FirstFactor::Passkey { synced, verified } => {
                let key = if *synced { Amr::Swk } else { Amr::Hwk };
                let mut amr = vec![key, Amr::User];
                if *verified {
                    amr.push(Amr::Mfa);
                }
                amr
            }
        }
    }
}

/// A second factor that has been checked, after a first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    /// A TOTP code (RFC 6238) matched and was not a replay.
    Totp,
    /// An unused recovery code matched (and is now used).
    RecoveryCode,
    /// A passkey signed the challenge; `synced` as in [`FirstFactor::Passkey`].
    Passkey { synced: bool },
}

/// The second factors a user has enrolled, as the rules need them (counts, never secrets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enrolled {
    pub passkeys: usize,
    pub totp: bool,
    pub recovery_codes: usize,
}

impl Enrolled {
    /// Whether the user has a factor that can be asked for after a password. Recovery codes
    /// alone do not count: they are the way back when the real factor is lost.
    pub fn has_second_factor(&self) -> bool {
        self.passkeys > 0 || self.totp
    }
}

/// The server-wide sign-in policy (`[login]` in `identity.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Members of these groups must sign in with two factors (`require_second_factor_for`).
    pub require_second_factor_for: Vec<String>,
}

impl LoginPolicy {
    /// Whether the policy demands two factors of this user.
    pub fn requires_second_factor(&self, user: &User) -> bool {
        user.groups
            .iter()
            .any(|g| self.require_second_factor_for.iter().any(|r| r == g))
    }
}

/// Where a sign-in stands after a factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Signed in, proven by these methods.
    Done(Vec<Amr>),
    /// The user has a second factor, which must be presented; these methods are proven so far.
    NeedFactor(Vec<Amr>),
    /// Two factors are required of this user (by `policy` or by what the sign-in is for) and
    /// they have none: they must enrol one before the sign-in completes.
    NeedEnrolment(Vec<Amr>),
}

/// Decides the step after `factor` was checked for `user`, who has `enrolled` factors.
/// `two_factors_wanted` is true when what the sign-in is for (a client's `require_factors = 2`, an
/// `acr_values` of `2fa`) asks for two. A user with a second factor always presents it after a
/// password or an upstream; a passkey that verified the user is two factors by itself.
pub fn after_first_factor(
    user: &User,
    enrolled: &Enrolled,
    factor: &FirstFactor,
    policy: &LoginPolicy,
    two_factors_wanted: bool,
) -> LoginStep {
    let proven = factor.amr();
    if is_multi_factor(&proven) {
        return LoginStep::Done(proven);
    }
    if enrolled.has_second_factor() {
        return LoginStep::NeedFactor(proven);
    }
    if two_factors_wanted || policy.requires_second_factor(user) {
        return LoginStep::NeedEnrolment(proven);
    }
    LoginStep::Done(proven)
}

/// The methods a sign-in proved once `second` followed a first factor that proved `proven`: the
/// second factor's own values and `mfa`, without repeats.
pub fn after_second_factor(proven: &[Amr], second: SecondFactor) -> Vec<Amr> {
    let added: &[Amr] = match second {
        SecondFactor::Totp | SecondFactor::RecoveryCode => &[Amr::Otp],
        SecondFactor::Passkey { synced: true } => &[Amr::Swk, Amr::User],
        SecondFactor::Passkey { synced: false } => &[Amr::Hwk, Amr::User],
    };
    let mut amr = proven.to_vec();
    for a in added.iter().chain(std::iter::once(&Amr::Mfa)) {
        if !amr.contains(a) {
            amr.push(a.clone());
        }
    }
    amr
}

/// Whether these methods are two factors (`mfa`).
pub fn is_multi_factor(amr: &[Amr]) -> bool {
    amr.contains(&Amr::Mfa)
}

/// Authentication context class references (the `acr` claim) that Latchkey issues and accepts in
/// `acr_values`: one factor, or two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acr {
    OneFactor,
    TwoFactors,
}

impl Acr {
    /// Every value, weakest first, as discovery lists them (`acr_values_supported`).
    pub const ALL: [Acr; 2] = [Acr::OneFactor, Acr::TwoFactors];

    /// The value as the claim carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Acr::OneFactor => "1fa",
            Acr::TwoFactors => "2fa",
        }
    }

    /// Reads a value; `None` for one Latchkey does not issue.
    pub fn parse(value: &str) -> Option<Acr> {
        Acr::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// The class a sign-in proven by `amr` reaches.
    pub fn of(amr: &[Amr]) -> Acr {
        if is_multi_factor(amr) {
            Acr::TwoFactors
        } else {
            Acr::OneFactor
        }
    }
}

/// How recent a sign-in must be for a change that weakens the account (removing a factor,
/// changing the password, new recovery codes).
pub const FRESH_FOR: Duration = Duration::seconds(600);

/// Whether a session signed in at `auth_time` is fresh enough at `now` for such a change.
pub fn is_fresh(auth_time: Timestamp, now: Timestamp) -> bool {
    now.since(auth_time) <= FRESH_FOR
}

/// Why a factor may not be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalRefusal {
    /// The policy requires two factors of this user, and it is their last second factor.
    LastRequiredFactor,
}

/// Whether `user` may go from their factors to `after` (the factors left once one is removed).
pub fn may_remove_factor(user: &User, after: &Enrolled, policy: &LoginPolicy) -> Result<(), RemovalRefusal> {
    if policy.requires_second_factor(user) && !after.has_second_factor() {
        return Err(RemovalRefusal::LastRequiredFactor);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Subject, Username};

    fn user(groups: &[&str]) -> User {
        User {
            subject: Subject::from_string("s1".into()),
            username: Username::parse("alice").unwrap(),
            name: None,
            email: None,
            email_verified: false,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            password_hash: None,
            disabled: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn admins_need_two() -> LoginPolicy {
        LoginPolicy {
            require_second_factor_for: vec!["admins".into()],
        }
    }

    const NONE: Enrolled = Enrolled {
        passkeys: 0,
        totp: false,
        recovery_codes: 0,
    };
    const TOTP: Enrolled = Enrolled {
        passkeys: 0,
        totp: true,
        recovery_codes: 10,
    };

    #[test]
    fn a_password_is_enough_for_a_user_without_a_second_factor() {
        let step = after_first_factor(
            &user(&[]),
            &NONE,
            &FirstFactor::Password,
            &LoginPolicy::default(),
            false,
        );
        assert_eq!(step, LoginStep::Done(vec![Amr::Pwd]));
        let upstream = FirstFactor::Upstream { name: "corp".into() };
        assert_eq!(
            after_first_factor(&user(&[]), &NONE, &upstream, &LoginPolicy::default(), false),
            LoginStep::Done(vec![Amr::Fed, Amr::Upstream("corp".into())])
        );
    }

    #[test]
    fn a_user_with_a_second_factor_must_present_it_after_a_password_or_an_upstream() {
        let policy = LoginPolicy::default();
        assert_eq!(
            after_first_factor(&user(&[]), &TOTP, &FirstFactor::Password, &policy, false),
            LoginStep::NeedFactor(vec![Amr::Pwd])
        );
        let upstream = FirstFactor::Upstream { name: "corp".into() };
        assert!(matches!(
            after_first_factor(&user(&[]), &TOTP, &upstream, &policy, false),
            LoginStep::NeedFactor(_)
        ));
        let only_codes = Enrolled {
            recovery_codes: 10,
            ..NONE
        };
        assert!(matches!(
            after_first_factor(&user(&[]), &only_codes, &FirstFactor::Password, &policy, false),
            LoginStep::Done(_)
        ));
    }

    #[test]
    fn a_verified_passkey_is_two_factors_and_an_unverified_one_is_not() {
        let policy = admins_need_two();
        let verified = FirstFactor::Passkey {
            synced: true,
            verified: true,
        };
        assert_eq!(
            after_first_factor(&user(&["admins"]), &NONE, &verified, &policy, true),
            LoginStep::Done(vec![Amr::Swk, Amr::User, Amr::Mfa])
        );
        let unverified = FirstFactor::Passkey {
            synced: false,
            verified: false,
        };
        let enrolled = Enrolled { passkeys: 1, ..NONE };
        assert_eq!(
            after_first_factor(&user(&[]), &enrolled, &unverified, &LoginPolicy::default(), false),
            LoginStep::NeedFactor(vec![Amr::Hwk, Amr::User])
        );
    }

    #[test]
    fn two_factors_wanted_by_the_policy_or_the_request_mean_enrolment_for_a_user_without_one() {
        assert_eq!(
            after_first_factor(
                &user(&["admins"]),
                &NONE,
                &FirstFactor::Password,
                &admins_need_two(),
                false
            ),
            LoginStep::NeedEnrolment(vec![Amr::Pwd])
        );
        assert_eq!(
            after_first_factor(
                &user(&[]),
                &NONE,
                &FirstFactor::Password,
                &LoginPolicy::default(),
                true
            ),
            LoginStep::NeedEnrolment(vec![Amr::Pwd])
        );
    }

    #[test]
    fn a_second_factor_adds_its_methods_and_mfa_once() {
        assert_eq!(
            after_second_factor(&[Amr::Pwd], SecondFactor::Totp),
            [Amr::Pwd, Amr::Otp, Amr::Mfa]
        );
        assert_eq!(
            after_second_factor(&[Amr::Pwd], SecondFactor::Passkey { synced: false }),
            [Amr::Pwd, Amr::Hwk, Amr::User, Amr::Mfa]
        );
        assert_eq!(Acr::of(&[Amr::Pwd]), Acr::OneFactor);
        assert_eq!(
            Acr::of(&after_second_factor(&[Amr::Pwd], SecondFactor::RecoveryCode)),
            Acr::TwoFactors
        );
        assert_eq!(Acr::parse("2fa"), Some(Acr::TwoFactors));
        assert_eq!(Acr::parse("urn:other"), None);
    }

    #[test]
    fn freshness_and_removal_follow_the_policy() {
        assert!(is_fresh(Timestamp(1000), Timestamp(1600)));
        assert!(!is_fresh(Timestamp(1000), Timestamp(1601)));
        let policy = admins_need_two();
        assert_eq!(
            may_remove_factor(&user(&["admins"]), &NONE, &policy),
            Err(RemovalRefusal::LastRequiredFactor)
        );
        assert_eq!(may_remove_factor(&user(&["admins"]), &TOTP, &policy), Ok(()));
        assert_eq!(may_remove_factor(&user(&[]), &NONE, &policy), Ok(()));
    }
}
