//! Identifiers: client ids, usernames and user subjects.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(pub String);

/// A registered client's `client_id`: 1 to 128 characters from `A-Z a-z 0-9 . _ ~ -`, so that it
/// needs no escaping in a URL, a form or a Basic header.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(s: &str) -> Result<ClientId, InvalidId> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-');
        if s.is_empty() || s.len() > 128 || !s.chars().all(ok_char) {
            return Err(InvalidId(format!(
                "client id `{}` must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '~' or '-'",
                s.escape_debug()
            )));
        }
        Ok(ClientId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ClientId::parse(&s)
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> String {
        id.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username as the person typed it. Two usernames that differ only in case are the same user:
/// [`Username::key`] is the lookup key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Username, InvalidId> {
        let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+');
        if s.is_empty() || s.chars().count() > Self::MAX_LEN || !s.chars().all(ok_char) {
            return Err(InvalidId(format!(
                "username `{}` must be 1 to {} letters, digits, '.', '_', '-', '@' or '+'",
                s.escape_debug(),
                Self::MAX_LEN
            )));
        }
        Ok(Username(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive lookup key.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl TryFrom<String> for Username {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Username::parse(&s)
    }
}

impl From<Username> for String {
    fn from(u: Username) -> String {
        u.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's stable, opaque subject identifier (`sub`). It is random, never reused, and never
/// changes when the username does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Subject(String);

impl Subject {
    /// Wraps a subject made by `crypto::random` or read from the store.
    pub fn from_string(s: String) -> Subject {
        Subject(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_url_safe_and_bounded() {
        assert!(ClientId::parse("grafana-prod_1.x~").is_ok());
        for bad in ["", "a b", "a/b", "a:b", "é", "a\n", &"x".repeat(129)] {
            assert!(ClientId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usernames_compare_case_insensitively_through_their_key() {
        let a = Username::parse("Alice").unwrap();
        let b = Username::parse("aLICE").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Alice");
        for bad in ["", "a b", "a\tb", "a/b", "<script>", &"x".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }
}
