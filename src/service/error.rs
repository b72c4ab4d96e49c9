//! The errors a use case can end with. The web layer maps them to HTTP; the CLI to exit codes.

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// Why a use case did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ServiceError {
    /// The named thing does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change conflicts with what is stored (a taken username, an existing client id).
    #[error("{0}")]
    Conflict(String),
    /// An input is invalid; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something broke inside; the message is for the operator's log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Exists(what) => ServiceError::Conflict(format!("{what} already exists")),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<crate::crypto::random::RngError> for ServiceError {
    fn from(e: crate::crypto::random::RngError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}
