//! The store as an ordered key-value store, which both engines are: every table maps UTF-8 keys
//! to bytes (versioned records, see `record.rs`), sorted by the keys' bytes. An engine implements
//! [`Raw`] for its transactions and [`RawWrite`] for its write transactions; everything typed
//! ([`Reads`](crate::store::Reads), [`Writes`](crate::store::Writes), the indexes, the schema
//! upgrades) is written once here over those two traits, so both engines keep the same records
//! and indexes the same way. Nothing outside the store sees this.

pub mod reads;
pub mod record;
pub mod schema;
pub mod tables;
pub mod writes;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{ClientId, Subject, Timestamp, UpstreamLink};
use crate::store::StoreError;
use tables::Table;

/// Raw table access, shared by both transaction types.
pub trait Raw {
    /// The raw value at `key` in `table`.
    fn raw_get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Raw rows of `table` with keys after `after` (or from the start), at most `limit`.
    fn raw_scan(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Raw rows of `table` whose keys start with `prefix`, in key order.
    fn raw_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Number of rows in `table`.
    fn count(&self, table: Table) -> Result<u64, StoreError>;

    /// The record at `key` in `table`, decoded.
    fn get_record<T: DeserializeOwned>(&self, table: Table, key: &str) -> Result<Option<T>, StoreError>
    where
        Self: Sized,
    {
        self.raw_get(table, key)?
            .map(|bytes| record::decode(table.name(), &bytes))
            .transpose()
    }

    /// Records of `table` after `after`, at most `limit`, decoded.
    fn scan_records<T: DeserializeOwned>(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<T>, StoreError>
    where
        Self: Sized,
    {
        self.raw_scan(table, after, limit)?
            .into_iter()
            .map(|(_, bytes)| record::decode(table.name(), &bytes))
            .collect()
    }

    /// Records of `table` whose keys start with `prefix`, decoded, with their keys.
    fn prefix_records<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, StoreError>
    where
        Self: Sized,
    {
        self.raw_prefix(table, prefix)?
            .into_iter()
            .map(|(k, v)| Ok((k, record::decode(table.name(), &v)?)))
            .collect()
    }
}

/// Raw writes of a write transaction: bytes in, bytes out. Every change is the transaction's
/// until the engine commits it.
pub trait RawWrite: Raw {
    /// Stores raw bytes at `key`; returns the bytes it replaced.
    fn raw_put(&self, table: Table, key: &str, value: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes `key`; returns the bytes it held.
    fn take(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Takes a lock on `job` that is held until the transaction ends, so that only one node runs
    /// it at a time; false when another transaction holds it now. An engine with one writer at a
    /// time holds every such lock already.
    fn claim(&self, job: &str) -> Result<bool, StoreError>;
    /// The key an audit entry given `key` (`{seconds:020}-{sequence}-{random}`) is stored under.
    /// An engine shared by several processes orders the entries itself, so that the feed's order
    /// is the order of its commits; an engine with one writer keeps the key.
    fn audit_key(&self, key: &str) -> Result<String, StoreError> {
        Ok(key.to_owned())
    }

    /// Encodes `value` and stores it at `key`; returns the bytes it replaced.
    fn put<T: Serialize>(&self, table: Table, key: &str, value: &T) -> Result<Option<Vec<u8>>, StoreError>
    where
        Self: Sized,
    {
        let bytes = record::encode(value)?;
        self.raw_put(table, key, &bytes)
    }

    /// Stores raw bytes at `key`.
    fn put_raw(&self, table: Table, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.raw_put(table, key, value)?;
        Ok(())
    }

    /// Removes `key`; false when it was not there.
    fn remove(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        Ok(self.take(table, key)?.is_some())
    }
}

/// The key of an entry of a two-part index or table: `a` + U+001F + `b`.
pub fn pair(a: &str, b: &str) -> String {
    format!("{a}\u{1f}{b}")
}

/// The prefix of every key [`pair`] makes with `a`.
pub fn pair_prefix(a: &str) -> String {
    format!("{a}\u{1f}")
}

/// The part of a [`pair`] key after its prefix.
pub fn second(key: &str, prefix: &str) -> String {
    key.strip_prefix(prefix).unwrap_or_default().to_owned()
}

pub fn link_key(upstream: &str, upstream_subject: &str) -> String {
    pair(upstream, upstream_subject)
}

pub fn user_link_key(link: &UpstreamLink) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        link.subject.as_str(),
        link.upstream,
        link.upstream_subject
    )
}

pub fn consent_key(subject: &Subject, client: &ClientId) -> String {
    pair(subject.as_str(), client.as_str())
}

/// The email index key of a user's address: ASCII case folded, as sign-in by email compares.
pub fn email_key(email: &str, subject: &Subject) -> String {
    pair(&email.to_ascii_lowercase(), subject.as_str())
}

/// The expiry index key of the row `key` of `table`: the second first, zero-padded, so that the
/// index sorts by time and the purge reads a prefix of it.
pub fn expiry_key(expires_at: Timestamp, table: &str, key: &str) -> String {
    format!("{:020}\u{1f}{table}\u{1f}{key}", expires_at.0)
}

/// The table name and row key of an expiry index key, or `None` if it is not one.
pub fn expiry_parts(entry: &str) -> Option<(Timestamp, &str, &str)> {
    let (time, rest) = entry.split_once('\u{1f}')?;
    let (table, key) = rest.split_once('\u{1f}')?;
    Some((Timestamp(time.parse().ok()?), table, key))
}
