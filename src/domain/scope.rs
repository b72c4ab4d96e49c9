//! Scopes (RFC 6749 section 3.3).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The scope that opens the admin API (only for administrators, and clients registered for it).
pub const ADMIN_SCOPE: &str = "admin";

/// Why a scope or scope list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidScope(pub String);

/// One scope token: printable ASCII without space, `"` or `\`, at most 128 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<Scope, InvalidScope> {
        let ok = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
        if s.is_empty() || s.len() > Self::MAX_LEN || !s.bytes().all(ok) {
            return Err(InvalidScope(format!(
                "`{}` is not a valid scope",
                s.escape_debug()
            )));
        }
        Ok(Scope(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Scope {
    type Error = InvalidScope;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Scope::parse(&s)
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes, kept sorted so that equal sets print the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// The most scopes one request may carry.
    pub const MAX_COUNT: usize = 64;

    /// Parses a space-separated scope parameter. Repeated scopes collapse into one.
    pub fn parse(param: &str) -> Result<ScopeSet, InvalidScope> {
        let mut set = BTreeSet::new();
        for token in param.split(' ').filter(|t| !t.is_empty()) {
            set.insert(Scope::parse(token)?);
            if set.len() > Self::MAX_COUNT {
                return Err(InvalidScope(format!("more than {} scopes", Self::MAX_COUNT)));
            }
        }
        Ok(ScopeSet(set))
    }

    pub fn from_scopes(scopes: impl IntoIterator<Item = Scope>) -> ScopeSet {
        ScopeSet(scopes.into_iter().collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_lists_parse_dedupe_and_print_sorted() {
        let set = ScopeSet::parse("profile openid  profile email").unwrap();
        assert_eq!(set.to_string(), "email openid profile");
        assert!(set.contains("openid"));
    }

    #[test]
    fn scopes_with_forbidden_characters_are_refused() {
        for bad in ["a\"b", "a\\b", "é", "a\tb", "\u{7f}"] {
            assert!(ScopeSet::parse(bad).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        assert!(ScopeSet::parse(&many.join(" ")).is_err());
    }
}
