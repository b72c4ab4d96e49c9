//! The error codes of RFC 6749 (sections 4.1.2.1 and 5.2), RFC 6750, RFC 7009 and OpenID Connect
//! Core 3.1.2.6, with a description safe to put on the wire.

use std::fmt;

/// An error code, with the RFC that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// RFC 6749: a parameter is missing, repeated, malformed or unsupported.
    InvalidRequest,
    /// RFC 6749 5.2: client authentication failed.
    InvalidClient,
    /// RFC 6749 5.2: the code or refresh token is invalid, expired, revoked or for another client.
    InvalidGrant,
    /// RFC 6749: the client may not use this grant or response type.
    UnauthorizedClient,
    /// RFC 6749 5.2: the grant type is not supported.
    UnsupportedGrantType,
    /// RFC 6749: the scope is invalid, unknown or exceeds what the client may ask for.
    InvalidScope,
    /// RFC 6749 4.1.2.1: the resource owner denied the request.
    AccessDenied,
    /// RFC 6749 4.1.2.1: this response type is not supported.
    UnsupportedResponseType,
    /// RFC 6749 4.1.2.1: an unexpected condition.
    ServerError,
    /// RFC 6749 4.1.2.1: the server is overloaded or in maintenance; try again. Also the answer
    /// to throttled token requests (HTTP 429 with `Retry-After`).
    TemporarilyUnavailable,
    /// OpenID Connect Core 3.1.2.6: `prompt=none` but the user is not signed in.
    LoginRequired,
    /// OpenID Connect Core 3.1.2.6: `prompt=none` but consent is needed.
    ConsentRequired,
    /// OpenID Connect Core 3.1.2.6: `prompt=none` but some interaction is needed.
    InteractionRequired,
    /// OpenID Connect Core 3.1.2.6: the `request` parameter is not supported.
    RequestNotSupported,
    /// OpenID Connect Core 3.1.2.6: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// RFC 6750 3.1: the access token is invalid.
    InvalidToken,
    /// RFC 8707 section 2: the requested resource is invalid, unknown or not allowed.
    InvalidTarget,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidTarget => "invalid_target",
        }
    }
}

/// An OAuth error: a code and a human description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: ErrorCode,
    description: String,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl AsRef<str>) -> OAuthError {
        OAuthError {
            code,
            description: clean(description.as_ref()),
        }
    }

    pub fn invalid_request(d: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }
    pub fn unauthorized_client(d: impl AsRef<str>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, d)
    }

    /// The description: printable ASCII without `"` or `\`, as RFC 6749 section 5.2 requires.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// Keeps only the characters RFC 6749 allows in `error_description` (%x20-21 / %x23-5B /
/// %x5D-7E), replacing others with `?`, and bounds the length.
fn clean(text: &str) -> String {
    text.chars()
        .take(300)
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            '"' => '\'',
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_descriptions_never_carry_control_or_forbidden_characters() {
        let e = OAuthError::invalid_request("bad \"value\"\n\u{7}\\ é");
        assert!(
            e.description()
                .chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\')
        );
        assert_eq!(
            OAuthError::invalid_request("x".repeat(1000)).description().len(),
            300
        );
    }
}
