//! The two redb transaction types and the raw table access of `store::kv` over them.

use std::ops::Bound;

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::store::StoreError;
use crate::store::kv::tables::Table;
use crate::store::kv::{Raw, RawWrite};

/// A read-only snapshot.
pub struct ReadTx(pub(super) redb::ReadTransaction);

/// A write transaction. Dropping it without [`WriteTx::commit`] discards every change.
pub struct WriteTx(pub(super) redb::WriteTransaction);

/// The redb table of a store table: the same name, string keys, byte values.
pub fn def(table: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(table.name())
}

macro_rules! raw_for {
    ($t:ty) => {
        impl Raw for $t {
            fn raw_get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self
                    .0
                    .open_table(def(table))?
                    .get(key)?
                    .map(|v| v.value().to_vec()))
            }

            fn raw_scan(
                &self,
                table: Table,
                after: Option<&str>,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                scan(&self.0.open_table(def(table))?, after, limit)
            }

            fn raw_prefix(&self, table: Table, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                with_prefix(&self.0.open_table(def(table))?, prefix)
            }

            fn count(&self, table: Table) -> Result<u64, StoreError> {
                Ok(self.0.open_table(def(table))?.len()?)
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

impl RawWrite for WriteTx {
    fn raw_put(&self, table: Table, key: &str, value: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .0
            .open_table(def(table))?
            .insert(key, value)?
            .map(|old| old.value().to_vec()))
    }

    fn take(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .0
            .open_table(def(table))?
            .remove(key)?
            .map(|old| old.value().to_vec()))
    }

    /// redb has one writer at a time, and one process holds the file: every job is this
    /// transaction's already.
    fn claim(&self, _job: &str) -> Result<bool, StoreError> {
        Ok(true)
    }
}

impl WriteTx {
    /// Makes every change durable: when this returns `Ok`, the data survives a crash.
    pub fn commit(self) -> Result<(), StoreError> {
        self.0.commit()?;
        Ok(())
    }
}
