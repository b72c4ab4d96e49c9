//! Records the store keeps that belong to no domain concept: setup tokens, audit entries, and the
//! row counts a backup reports.

use serde::{Deserialize, Serialize};

use crate::domain::Timestamp;

/// A pending first-administrator setup token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupTokenRecord {
    pub expires_at: Timestamp,
}

/// Row counts per table, from a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCounts(pub Vec<(String, u64)>);

/// One entry of the audit feed: who did what, when, from where, with what outcome. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub time: Timestamp,
    /// A username, `client:ID`, `cli`, or `anonymous`.
    pub actor: String,
    /// A dotted name such as `login.failure`, `token.issued`, `user.create`.
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub success: bool,
    /// How many occurrences the entry stands for: more than one for refusals from one address
    /// folded into one entry per interval (see `service::audit::denied`). Entries written before
    /// the field existed stand for one.
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}
