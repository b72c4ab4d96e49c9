//! Signing in through an upstream provider: turning its claims into an identity with the claim
//! mapping, and deciding which local user that identity is, by the upstream's link policy.
//!
//! Token validation itself (signature, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`) is done by the
//! `openidconnect` crate in the service layer; what arrives here has passed it.

use serde_json::{Map, Value};

use crate::domain::{ClaimMapping, LinkPolicy, Subject, UpstreamIdentity, User, Username};

/// The longest upstream subject kept.
pub const MAX_SUBJECT_LEN: usize = 255;

/// Why an upstream sign-in cannot go on. `web` words each for the error page; the `Display` text
/// is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamRefusal {
    #[error("unusable subject claim: {0}")]
    Claims(ClaimProblem),
    #[error("the user info's subject differs from the ID token's")]
    UserinfoMismatch,
    #[error("the identity is not linked, and the link policy needs a link")]
    NotLinked,
    #[error("the email address is not verified by the provider")]
    UnverifiedEmail,
    #[error("no user has the verified email address")]
    NoEmailMatch,
    #[error("more than one user has the email address")]
    AmbiguousEmail,
    #[error("the linked user is disabled")]
    Disabled,
    /// The one user with the email is an administrator or can sign in another way (a password,
    /// another factor or another linked identity): the upstream's word about an email is not
    /// enough to take that account over.
    #[error("the user with the email address needs an explicit link")]
    NeedsExplicitLink,
}

/// What is wrong with the claim that names the upstream subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimProblem {
    /// The claim is there but is neither a string nor an integer.
    #[error("`{claim}` is not a string or an integer")]
    NotStringOrInteger { claim: String },
    /// The claim is missing.
    #[error("no `{claim}` claim")]
    Missing { claim: String },
    /// The claim is longer than [`MAX_SUBJECT_LEN`] bytes or has control characters.
    #[error("`{claim}` is too long or has control characters")]
    Invalid { claim: String },
}

/// Whether `subject` may be an upstream subject: 1 to [`MAX_SUBJECT_LEN`] bytes, no control
/// characters.
pub fn is_valid_subject(subject: &str) -> bool {
    !subject.is_empty() && subject.len() <= MAX_SUBJECT_LEN && !subject.chars().any(char::is_control)
}

/// Reads the identity out of `claims` with `mapping`. The subject must be a non-empty string or
/// an integer (as GitHub's `id`); the other fields are optional.
pub fn map_identity(
    claims: &Map<String, Value>,
    mapping: &ClaimMapping,
) -> Result<UpstreamIdentity, UpstreamRefusal> {
    let subject = match claims.get(&mapping.subject) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(_) => {
            return Err(UpstreamRefusal::Claims(ClaimProblem::NotStringOrInteger {
                claim: mapping.subject.clone(),
            }));
        }
        None => {
            return Err(UpstreamRefusal::Claims(ClaimProblem::Missing {
                claim: mapping.subject.clone(),
            }));
        }
    };
    if !is_valid_subject(&subject) {
        return Err(UpstreamRefusal::Claims(ClaimProblem::Invalid {
            claim: mapping.subject.clone(),
        }));
    }
    let text = |field: &str| {
        claims
            .get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 254 && !s.chars().any(char::is_control))
            .map(str::to_owned)
    };
    let email_verified = match claims.get(&mapping.email_verified) {
        Some(Value::Bool(b)) => *b,
        // Some providers send booleans as strings.
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    Ok(UpstreamIdentity {
        subject,
        username: text(&mapping.username),
        email: text(&mapping.email).filter(|e| e.contains('@')),
        email_verified,
        name: text(&mapping.name),
    })
}

/// Adds user-info claims to the ID token's. The user info must be about the same subject (OpenID
/// Connect Core section 5.3.2); where both have a claim, the signed ID token's value wins.
pub fn merge_userinfo(
    id_token: &Map<String, Value>,
    userinfo: Map<String, Value>,
) -> Result<Map<String, Value>, UpstreamRefusal> {
    if userinfo.get("sub") != id_token.get("sub") {
        return Err(UpstreamRefusal::UserinfoMismatch);
    }
    let mut merged = userinfo;
    for (k, v) in id_token {
        merged.insert(k.clone(), v.clone());
    }
    Ok(merged)
}

/// Which local user an upstream sign-in is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkDecision {
    /// The identity is linked already: this user.
    Linked(Subject),
    /// Link the identity to this existing user (matched by verified email).
    LinkTo(Subject),
    /// Create a user and link the identity to it.
    Create,
}

/// A local user whose email matches an upstream identity's, with what `link-by-email` needs to
/// know about them beyond the user record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailMatch {
    pub user: User,
    /// Whether the user can sign in some other way than a password: a second factor, or an
    /// identity at an upstream already linked to them.
    pub other_sign_in: bool,
}

/// Whether a user may be linked to an upstream identity on the upstream's word about an email
/// alone: never an administrator, never a user with a password or any other way to sign in
/// (another linked identity, a passkey or an authenticator app).
pub fn may_link_by_email(candidate: &EmailMatch) -> bool {
    !candidate.user.is_admin() && candidate.user.password_hash.is_none() && !candidate.other_sign_in
}

/// Decides, for an identity, given the user it is linked to (if any) and the users whose email
/// matches its email (when the policy looks them up).
pub fn decide(
    policy: LinkPolicy,
    identity: &UpstreamIdentity,
    linked: Option<&User>,
    same_email: &[EmailMatch],
) -> Result<LinkDecision, UpstreamRefusal> {
    if let Some(user) = linked {
        return if user.disabled {
            Err(UpstreamRefusal::Disabled)
        } else {
            Ok(LinkDecision::Linked(user.subject.clone()))
        };
    }
    match policy {
        LinkPolicy::ExistingOnly => Err(UpstreamRefusal::NotLinked),
        LinkPolicy::Create => Ok(LinkDecision::Create),
        LinkPolicy::LinkByEmail => {
            let Some(email) = identity.email.as_deref().filter(|_| identity.email_verified) else {
                return Err(UpstreamRefusal::UnverifiedEmail);
            };
            let matches: Vec<&EmailMatch> = same_email
                .iter()
                .filter(|m| {
                    m.user.email_verified
                        && m.user
                            .email
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
                .collect();
            match matches.as_slice() {
                [] => Err(UpstreamRefusal::NoEmailMatch),
                [one] if one.user.disabled => Err(UpstreamRefusal::Disabled),
                [one] if !may_link_by_email(one) => Err(UpstreamRefusal::NeedsExplicitLink),
                [one] => Ok(LinkDecision::LinkTo(one.user.subject.clone())),
                _ => Err(UpstreamRefusal::AmbiguousEmail),
            }
        }
    }
}

/// Usernames to try, in order, for a user created from `identity` of upstream `upstream`: the
/// upstream's username (or the local part of its email), cleaned to the characters usernames
/// allow, then the same with `-2` ... `-99`, then `{upstream}-{subject}`-based names.
pub fn username_candidates(identity: &UpstreamIdentity, upstream: &str) -> Vec<String> {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+') {
                    c
                } else {
                    '-'
                }
            })
            .take(Username::MAX_LEN - 3)
            .collect()
    };
    let base = identity
        .username
        .as_deref()
        .or_else(|| identity.email.as_deref().and_then(|e| e.split('@').next()))
        .map(clean)
        .filter(|s| !s.is_empty());
    let fallback = clean(&format!("{upstream}-{}", identity.subject));
    let mut out = Vec::new();
    for stem in base.iter().chain(std::iter::once(&fallback)) {
        out.push(stem.clone());
        out.extend((2..100).map(|n| format!("{stem}-{n}")));
    }
    out.retain(|c| Username::parse(c).is_ok());
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::Timestamp;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn user(name: &str, email: &str, verified: bool) -> User {
        User {
            subject: Subject::from_string(format!("sub-{name}")),
            username: Username::parse(name).unwrap(),
            name: None,
            email: Some(email.into()),
            email_verified: verified,
            groups: vec![],
            disabled: false,
            password_hash: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    fn matched(user: &User) -> EmailMatch {
        EmailMatch {
            user: user.clone(),
            other_sign_in: false,
        }
    }

    fn identity(email: &str, verified: bool) -> UpstreamIdentity {
        UpstreamIdentity {
            subject: "u1".into(),
            username: None,
            email: Some(email.into()),
            email_verified: verified,
            name: None,
        }
    }

    #[test]
    fn the_mapping_reads_numbers_strings_and_string_booleans() {
        let mapping = ClaimMapping {
            subject: "id".into(),
            username: "login".into(),
            email: "email".into(),
            email_verified: "verified".into(),
            name: "name".into(),
        };
        let got = map_identity(
            &claims(json!({"id": 583231, "login": "octocat", "email": "o@example.com", "verified": "true", "name": "The Octocat"})),
            &mapping,
        )
        .unwrap();
        assert_eq!(got.subject, "583231");
        assert_eq!(got.username.as_deref(), Some("octocat"));
        assert!(got.email_verified);
        assert_eq!(got.name.as_deref(), Some("The Octocat"));
    }

    #[test]
    fn a_missing_or_odd_subject_is_refused() {
        let m = ClaimMapping::default();
        for bad in [
            json!({}),
            json!({"sub": ""}),
            json!({"sub": true}),
            json!({"sub": 1.5}),
            json!({"sub": "a\nb"}),
        ] {
            assert!(matches!(
                map_identity(&claims(bad), &m),
                Err(UpstreamRefusal::Claims(_))
            ));
        }
        let long = "x".repeat(MAX_SUBJECT_LEN + 1);
        assert!(map_identity(&claims(json!({ "sub": long })), &m).is_err());
    }

    #[test]
    fn email_verified_defaults_to_false() {
        let got = map_identity(
            &claims(json!({"sub": "a", "email": "a@example.com"})),
            &ClaimMapping::default(),
        )
        .unwrap();
        assert!(!got.email_verified);
    }

    #[test]
    fn userinfo_for_another_subject_is_refused_and_the_id_token_wins() {
        let id = claims(json!({"sub": "a", "email": "signed@example.com"}));
        assert_eq!(
            merge_userinfo(&id, claims(json!({"sub": "b"}))),
            Err(UpstreamRefusal::UserinfoMismatch)
        );
        let merged = merge_userinfo(
            &id,
            claims(json!({"sub": "a", "email": "other@example.com", "name": "A"})),
        )
        .unwrap();
        assert_eq!(merged["email"], "signed@example.com");
        assert_eq!(merged["name"], "A");
    }

    #[test]
    fn an_existing_link_wins_unless_its_user_is_disabled() {
        let mut alice = user("alice", "a@example.com", true);
        let id = identity("a@example.com", true);
        for policy in [
            LinkPolicy::Create,
            LinkPolicy::LinkByEmail,
            LinkPolicy::ExistingOnly,
        ] {
            assert_eq!(
                decide(policy, &id, Some(&alice), &[]),
                Ok(LinkDecision::Linked(alice.subject.clone()))
            );
        }
        alice.disabled = true;
        assert_eq!(
            decide(LinkPolicy::Create, &id, Some(&alice), &[]),
            Err(UpstreamRefusal::Disabled)
        );
    }

    #[test]
    fn link_by_email_needs_both_sides_verified_and_exactly_one_match() {
        let alice = user("alice", "A@Example.com", true);
        let unverified_local = user("bob", "b@example.com", false);
        let p = LinkPolicy::LinkByEmail;
        assert_eq!(
            decide(p, &identity("a@example.com", true), None, &[matched(&alice)]),
            Ok(LinkDecision::LinkTo(alice.subject.clone()))
        );
        assert_eq!(
            decide(p, &identity("a@example.com", false), None, &[matched(&alice)]),
            Err(UpstreamRefusal::UnverifiedEmail)
        );
        assert_eq!(
            decide(
                p,
                &identity("b@example.com", true),
                None,
                &[matched(&unverified_local)]
            ),
            Err(UpstreamRefusal::NoEmailMatch)
        );
        let twin = user("alice2", "a@example.com", true);
        assert_eq!(
            decide(
                p,
                &identity("a@example.com", true),
                None,
                &[matched(&alice), matched(&twin)]
            ),
            Err(UpstreamRefusal::AmbiguousEmail)
        );
    }

    #[test]
    fn link_by_email_never_takes_over_an_administrator_or_a_user_who_can_sign_in_otherwise() {
        let id = identity("a@example.com", true);
        let p = LinkPolicy::LinkByEmail;
        let mut admin = user("root", "a@example.com", true);
        admin.groups = vec![crate::domain::ADMIN_GROUP.into()];
        let mut with_password = user("alice", "a@example.com", true);
        with_password.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$x$y".into());
        let linked_elsewhere = EmailMatch {
            user: user("carol", "a@example.com", true),
            other_sign_in: true,
        };
        for (case, candidate) in [
            ("an administrator", matched(&admin)),
            ("a user with a password", matched(&with_password)),
            ("a user with another way in", linked_elsewhere),
        ] {
            assert_eq!(
                decide(p, &id, None, std::slice::from_ref(&candidate)),
                Err(UpstreamRefusal::NeedsExplicitLink),
                "{case}"
            );
        }
        // An explicit link made by an administrator still works for all of them.
        assert_eq!(
            decide(p, &id, Some(&admin), &[]),
            Ok(LinkDecision::Linked(admin.subject.clone()))
        );
    }

    #[test]
    fn existing_only_refuses_and_create_creates() {
        let id = identity("a@example.com", true);
        assert_eq!(
            decide(LinkPolicy::ExistingOnly, &id, None, &[]),
            Err(UpstreamRefusal::NotLinked)
        );
        assert_eq!(
            decide(LinkPolicy::Create, &id, None, &[]),
            Ok(LinkDecision::Create)
        );
    }

    #[test]
    fn username_candidates_are_valid_usernames_in_a_sensible_order() {
        let mut id = identity("jo.smith@example.com", true);
        id.username = Some("Jo Smith!".into());
        let c = username_candidates(&id, "corp");
        assert_eq!(c[0], "Jo-Smith-");
        assert_eq!(c[1], "Jo-Smith--2");
        assert!(c.iter().any(|n| n == "corp-u1"));
        id.username = None;
        assert_eq!(username_candidates(&id, "corp")[0], "jo.smith");
        assert!(c.iter().all(|n| Username::parse(n).is_ok()));
    }
}
