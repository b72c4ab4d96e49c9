//! Why a use case refused an input, as a typed reason with its values ([`Invalid`]). The pages
//! say a reason in their language (`web::pages::copy::invalid_reason`); its `Display` is the
//! English the admin API's problem `detail` and the CLI show, word for word as before the reasons
//! were typed.

use serde::{Deserialize, Serialize};

use crate::config::PasswordRefusal;
use crate::domain::{ClientRule, InvalidLink, InvalidRedirectUri, OutboundRefusal};

/// Why an input was refused. The admin socket carries it as JSON inside
/// [`ServiceError::Invalid`](super::ServiceError::Invalid), tagged by `reason`; a reason this build
/// does not know reads as [`Invalid::Other`].
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Invalid {
    /// A new password shorter than the policy's minimum.
    #[error("the password must have at least {min} characters")]
    PasswordTooShort { min: usize },
    /// A new password longer than the policy's maximum.
    #[error("the password must have at most {max} characters")]
    PasswordTooLong { max: usize },
    /// The new password and its repetition differ.
    #[error("the two passwords differ")]
    PasswordsDiffer,
    /// A username that is empty, too long or has a character outside the allowed ones.
    #[error(
        "username `{}` must be 1 to {max} letters, digits, '.', '_', '-', '@' or '+'",
        .username.escape_debug()
    )]
    Username { username: String, max: usize },
    /// An email address that does not look like one.
    #[error("`{}` is not an email address", .email.escape_debug())]
    Email { email: String },
    /// A person's display name that is too long or has control characters.
    #[error("must be at most {max} characters without control characters")]
    PersonName { max: usize },
    /// A group name (of a user, or of a client's `allowed_groups`) that is not one.
    #[error(
        "group `{}` must be 1 to 64 letters, digits, '.', '_' or '-'",
        .group.escape_debug()
    )]
    Group { group: String },
    /// A `client_id` that is empty, too long or has a character outside the allowed ones.
    #[error(
        "client id `{}` must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '~' or '-'",
        .client_id.escape_debug()
    )]
    ClientId { client_id: String },
    /// A client's display name that is empty, too long or has control characters.
    #[error("must be 1 to {max} characters without control characters")]
    ClientName { max: usize },
    /// A redirect URI (or back-channel logout URI) that breaks a registration rule.
    #[error("{error}")]
    RedirectUri { error: InvalidRedirectUri },
    /// A scope that is not a scope token.
    #[error("`{}` is not a valid scope", .scope.escape_debug())]
    Scope { scope: String },
    /// A `require_factors` other than 1 or 2.
    #[error("must be 1 or 2")]
    RequireFactors,
    /// A launch URL or an icon that cannot be registered.
    #[error("{error}")]
    Link { error: InvalidLink },
    /// A registration that breaks a cross-field rule.
    #[error("{rule}")]
    ClientRule { rule: ClientRule },
    /// An address the server will not call (the back-channel logout URI).
    #[error("{refusal}")]
    Outbound { refusal: OutboundRefusal },
    /// An upstream provider's name that is not one.
    #[error("an upstream name is 1 to 32 lower-case letters, digits or '-'")]
    UpstreamName,
    /// An upstream subject that is empty, too long or not printable.
    #[error("an upstream subject is 1 to {max} printable bytes")]
    UpstreamSubject { max: usize },
    /// An invitation's lifetime outside 1 to `max` hours.
    #[error("must be 1 to {max} hours")]
    InvitationLifetime { max: u32 },
    /// An admin request that could not be read; `detail` is the parser's English.
    #[error("{detail}")]
    Request { detail: String },
    /// A reason not typed (yet): the error's `message` is all that says why.
    #[default]
    #[serde(other)]
    #[error("the input is invalid")]
    Other,
}

impl From<PasswordRefusal> for Invalid {
    fn from(refusal: PasswordRefusal) -> Invalid {
        match refusal {
            PasswordRefusal::TooShort { min } => Invalid::PasswordTooShort { min },
            PasswordRefusal::TooLong { max } => Invalid::PasswordTooLong { max },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientId, Scope, Username};

    /// The English of a reason is the domain's own, where the domain has words for it.
    #[test]
    fn the_english_of_a_reason_is_the_domains() {
        let name = "no space\n";
        assert_eq!(
            Invalid::Username {
                username: name.into(),
                max: Username::MAX_LEN
            }
            .to_string(),
            Username::parse(name).unwrap_err().to_string()
        );
        assert_eq!(
            Invalid::ClientId {
                client_id: name.into()
            }
            .to_string(),
            ClientId::parse(name).unwrap_err().to_string()
        );
        assert_eq!(
            Invalid::Scope { scope: name.into() }.to_string(),
            Scope::parse(name).unwrap_err().to_string()
        );
        let policy = crate::config::PasswordPolicy {
            min_length: 8,
            max_length: 10,
            argon2: crate::crypto::password::Argon2Cost::DEFAULT,
        };
        for password in ["short", "much too long"] {
            let refusal = policy.check(password).unwrap();
            assert_eq!(Invalid::from(refusal).to_string(), refusal.to_string());
        }
    }

    /// A reason survives the admin socket, and a reason from a newer build reads as `Other`.
    #[test]
    fn reasons_travel_as_json_tagged_by_reason() {
        let reason = Invalid::RedirectUri {
            error: crate::domain::RedirectUri::parse("http://example.com/cb").unwrap_err(),
        };
        let json = serde_json::to_string(&reason).unwrap();
        assert!(json.starts_with(r#"{"reason":"redirect_uri""#), "{json}");
        assert_eq!(serde_json::from_str::<Invalid>(&json).unwrap(), reason);
        let newer: Invalid = serde_json::from_str(r#"{"reason":"not_known_yet","x":1}"#).unwrap();
        assert_eq!(newer, Invalid::Other);
    }
}
