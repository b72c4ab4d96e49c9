//! The errors a use case can end with. The web layer maps them to HTTP; the CLI to exit codes.

use serde::{Deserialize, Deserializer, Serialize};

use super::{Conflict, Invalid};
use crate::store::StoreError;

/// Why a use case did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ServiceError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change conflicts with what is stored (a taken username, an existing client id, the
    /// last administrator); `reason` says why (the pages say it in their language) and `message`
    /// is the reason's English, for the admin API and the CLI. Built with
    /// [`ServiceError::conflict`]; the old `Conflict(String)` is
    /// `ServiceError::conflict(Conflict::...)`, or [`ServiceError::untyped_conflict`] for English
    /// alone. An answer from a build without reasons (`"detail": "text"`) reads as
    /// [`Conflict::Other`] with that text.
    #[error("{message}")]
    #[serde(deserialize_with = "conflict_detail")]
    Conflict { message: String, reason: Conflict },
    /// An input is invalid; `field` names it, `reason` says why (the pages say it in their
    /// language) and `message` is the reason's English, for the admin API and the CLI.
    #[error("{field}: {message}")]
    Invalid {
        field: String,
        message: String,
        #[serde(default)]
        reason: Invalid,
    },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something broke inside; the message is for the operator's log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The input `field` is refused for `reason`; the message is the reason's English.
    pub fn refused(field: &str, reason: Invalid) -> ServiceError {
        ServiceError::Invalid {
            field: field.to_owned(),
            message: reason.to_string(),
            reason,
        }
    }

    /// The input `field` is refused for a reason not typed yet ([`Invalid::Other`]): `message`
    /// is all that says why, and a page can only show it in English. Prefer [`ServiceError::refused`].
    pub fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            field: field.to_owned(),
            message: message.into(),
            reason: Invalid::Other,
        }
    }
}

impl ServiceError {
    /// The change conflicts with what is stored, for `reason`; the message is the reason's
    /// English.
    pub fn conflict(reason: Conflict) -> ServiceError {
        ServiceError::Conflict {
            message: reason.to_string(),
            reason,
        }
    }

    /// A conflict for a reason not typed yet ([`Conflict::Other`]): `message` is all that says
    /// why, and a page cannot show it. Prefer [`ServiceError::conflict`].
    pub fn untyped_conflict(message: impl Into<String>) -> ServiceError {
        ServiceError::Conflict {
            message: message.into(),
            reason: Conflict::Other,
        }
    }
}

/// A conflict's detail on the admin socket: `{"message", "reason"}`, or the bare English of a
/// build before the reasons were typed.
fn conflict_detail<'de, D: Deserializer<'de>>(d: D) -> Result<(String, Conflict), D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Detail {
        Typed {
            message: String,
            #[serde(default)]
            reason: Conflict,
        },
        Text(String),
    }
    Ok(match Detail::deserialize(d)? {
        Detail::Typed { message, reason } => (message, reason),
        Detail::Text(message) => (message, Conflict::Other),
    })
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Exists(what) => ServiceError::conflict(what.into()),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<crate::crypto::random::RngError> for ServiceError {
    fn from(e: crate::crypto::random::RngError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The admin socket carries the reason beside the English; an answer from a build without
    /// reasons reads as an untyped one, with its message.
    #[test]
    fn an_invalid_input_crosses_the_admin_socket_with_its_reason() {
        let e = ServiceError::refused("password", Invalid::PasswordTooShort { min: 12 });
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "invalid",
                "detail": {
                    "field": "password",
                    "message": "the password must have at least 12 characters",
                    "reason": { "reason": "password_too_short", "min": 12 },
                },
            })
        );
        assert_eq!(serde_json::from_value::<ServiceError>(json).unwrap(), e);
        let older = serde_json::json!({
            "kind": "invalid",
            "detail": { "field": "name", "message": "bad" },
        });
        assert_eq!(
            serde_json::from_value::<ServiceError>(older).unwrap(),
            ServiceError::invalid("name", "bad")
        );
        assert_eq!(
            e.to_string(),
            "password: the password must have at least 12 characters"
        );
    }

    /// A conflict crosses the admin socket with its reason beside the English; an answer from a
    /// build whose conflicts were English only reads as an untyped one, with its message.
    #[test]
    fn a_conflict_crosses_the_admin_socket_with_its_reason() {
        let e = ServiceError::conflict(Conflict::ClientExists {
            client_id: "web".into(),
        });
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "conflict",
                "detail": {
                    "message": "client `web` already exists",
                    "reason": { "reason": "client_exists", "client_id": "web" },
                },
            })
        );
        assert_eq!(serde_json::from_value::<ServiceError>(json).unwrap(), e);
        let older = serde_json::json!({ "kind": "conflict", "detail": "client `web` already exists" });
        assert_eq!(
            serde_json::from_value::<ServiceError>(older).unwrap(),
            ServiceError::untyped_conflict("client `web` already exists")
        );
        assert_eq!(e.to_string(), "client `web` already exists");
    }
}
