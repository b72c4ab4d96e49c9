//! What can go wrong in the store, in words that name no storage engine.

use std::path::PathBuf;

/// What a write found there already, so that it refused to replace it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Existing {
    /// Another user has the username.
    #[error("username `{0}`")]
    Username(String),
    /// Another user has a passkey with the credential id.
    #[error("a passkey with this credential id")]
    Passkey,
    /// A file is at the path.
    #[error("{}", .0.display())]
    File(PathBuf),
}

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data file {path} is already open in another process (is `latchkey serve` running with it?)")]
    AlreadyOpen { path: PathBuf },
    /// `place` names the store: "the data file PATH" or "the PostgreSQL schema NAME".
    #[error(
        "{place} has schema version {found}, newer than this build of latchkey understands ({supported}); run a newer latchkey"
    )]
    NewerSchema {
        place: String,
        found: u64,
        supported: u64,
    },
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot create {path}: {source}")]
    CreateFile { path: PathBuf, source: std::io::Error },
    #[error("the data file is damaged: {0}")]
    Corrupt(String),
    /// A copy's target holds rows already.
    #[error("{0} is not empty (table `{1}` has rows); copy only into a new store")]
    NotEmpty(String, &'static str),
    /// A copy's check found a difference.
    #[error("the copy does not match its source: {0}")]
    CopyMismatch(String),
    #[error("{0} already exists")]
    Exists(Existing),
    #[error("the data file cannot be used after an I/O error (is the disk full?); reopening it failed: {0}")]
    Unavailable(String),
    /// The PostgreSQL server cannot be reached (down, refusing, the TLS handshake failed).
    #[error("the database cannot be reached: {0}")]
    Unreachable(String),
    /// Another write of the same shared commit failed, so nothing in it was stored.
    #[error("a write in the same batch failed; nothing in it was stored")]
    BatchDiscarded,
    /// The thread that runs shared commits is gone or lost the job.
    #[error("{0}")]
    Writer(&'static str),
    /// The storage engine failed; the message is its own.
    #[error("storage error: {0}")]
    Db(String),
}
