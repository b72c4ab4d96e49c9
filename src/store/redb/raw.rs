//! The two redb transaction types and the raw table access both share: bytes in, bytes out.
//! Everything typed is built on this in `reads.rs` and `writes.rs`; nothing outside the engine
//! sees it.

use std::ops::Bound;

use redb::{ReadableTable, ReadableTableMetadata, TableHandle};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::record;
use super::tables::Table;
use crate::domain::{ClientId, Subject, Timestamp, UpstreamLink};
use crate::store::StoreError;

/// A read-only snapshot.
pub struct ReadTx(pub(super) redb::ReadTransaction);

/// A write transaction. Dropping it without [`WriteTx::commit`] discards every change.
pub struct WriteTx(pub(super) redb::WriteTransaction);

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
    fn get_record<T: DeserializeOwned>(&self, table: Table, key: &str) -> Result<Option<T>, StoreError> {
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
    ) -> Result<Vec<T>, StoreError> {
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
    ) -> Result<Vec<(String, T)>, StoreError> {
        self.raw_prefix(table, prefix)?
            .into_iter()
            .map(|(k, v)| Ok((k, record::decode(table.name(), &v)?)))
            .collect()
    }
}

macro_rules! raw_for {
    ($t:ty) => {
        impl Raw for $t {
            fn raw_get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self
                    .0
                    .open_table(table)?
                    .get(key)?
                    .map(|v| v.value().to_vec()))
            }

            fn raw_scan(
                &self,
                table: Table,
                after: Option<&str>,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                scan(&self.0.open_table(table)?, after, limit)
            }

            fn raw_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                with_prefix(&self.0.open_table(table)?, prefix)
            }

            fn count(&self, table: Table) -> Result<u64, StoreError> {
                Ok(self.0.open_table(table)?.len()?)
            }
        }
    };
}
raw_for!(ReadTx);
raw_for!(WriteTx);

fn scan<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let lower = match after {
        Some(a) => Bound::Excluded(a),
        None => Bound::Unbounded,
    };
    let mut out = Vec::new();
    for row in table.range::<&str>((lower, Bound::Unbounded))? {
        if out.len() >= limit {
            break;
        }
        let (k, v) = row?;
        out.push((k.value().to_owned(), v.value().to_vec()));
    }
    Ok(out)
}

fn with_prefix<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    prefix: &str,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for row in table.range::<&str>((Bound::Included(prefix), Bound::Unbounded))? {
        let (k, v) = row?;
        if !k.value().starts_with(prefix) {
            break;
        }
        out.push((k.value().to_owned(), v.value().to_vec()));
    }
    Ok(out)
}

impl WriteTx {
    /// Encodes `value` and stores it at `key`; returns the bytes it replaced.
    pub fn put<T: Serialize>(
        &self,
        table: Table,
        key: &str,
        value: &T,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let bytes = record::encode(value)?;
        Ok(self
            .0
            .open_table(table)?
            .insert(key, bytes.as_slice())?
            .map(|old| old.value().to_vec()))
    }

    /// Stores raw bytes at `key`.
    pub fn put_raw(&self, table: Table, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.open_table(table)?.insert(key, value)?;
        Ok(())
    }

    /// Removes `key`; returns the bytes it held.
    pub fn take(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .0
            .open_table(table)?
            .remove(key)?
            .map(|old| old.value().to_vec()))
    }

    /// Removes `key`; false when it was not there.
    pub fn remove(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        Ok(self.take(table, key)?.is_some())
    }

    /// Makes every change durable: when this returns `Ok`, the data survives a crash.
    pub fn commit(self) -> Result<(), StoreError> {
        self.0.commit()?;
        Ok(())
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
