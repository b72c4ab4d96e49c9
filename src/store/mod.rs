//! The store: users, clients, sessions, codes, grants and the rest behind a narrow, typed seam.
//!
//! Callers see only [`Store`] (the handle: `read(|tx| ..)` and `write(|tx| ..)` are the only ways
//! into a transaction), the object-safe [`Reads`] and [`Writes`] traits, [`GroupCommit`] (shared
//! durable commits for the hot paths), the records below and [`StoreError`]. Tables, the record
//! format, indexes, migrations, quick repair and group commit's writer thread are the engine's
//! (`redb/`) and private to it. The store knows how records are laid out and kept
//! consistent, and nothing about OAuth: it makes no protocol decisions. Every call blocks, so
//! callers run transactions on a blocking thread (see `service::blocking`).

mod error;
pub mod files;
mod reads;
mod records;
mod redb;
mod writes;

pub use self::redb::{GroupCommit, Store};
pub use error::{Existing, StoreError};
pub use reads::Reads;
pub use records::{AuditRecord, SetupTokenRecord, TableCounts};
pub use writes::Writes;
