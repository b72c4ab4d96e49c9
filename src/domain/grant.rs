//! The OAuth 2.0 grant types a client may be allowed to use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A grant type, named as in RFC 6749.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
        }
    }

    /// Whether this grant sends the browser to a redirect URI.
    pub fn uses_redirect(self) -> bool {
        matches!(self, GrantType::AuthorizationCode)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GrantType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| {
            format!(
                "unknown grant type `{s}` (expected authorization_code, refresh_token, client_credentials or password)"
            )
        })
    }
}
