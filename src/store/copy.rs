//! Copying a whole store into a new one, between engines or within one: every table, row by row
//! and byte for byte (records, keys, signing keys, sealed secrets and token digests unchanged, so
//! the copy serves the same issuer, tokens and sign-ins), from one snapshot of the source, in
//! batches of [`BATCH`] rows per write transaction, then checked (row counts, and a sample of
//! rows read back from the target and compared with the source).

use super::kv::tables::{self, Table};
use super::{Store, StoreError, TableCounts};

/// Rows per write transaction of the target.
pub const BATCH: usize = 2_000;

/// How far a copy has come, after each batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The table being copied.
    pub table: &'static str,
    /// Rows copied so far, in every table.
    pub copied: u64,
    /// Rows in every table of the source.
    pub total: u64,
}

/// Copies every row of `from` into `to`, which must hold nothing but its schema version, calling
/// `progress` after each batch; returns the rows per table, once checked.
pub fn copy(from: &Store, to: &Store, progress: &mut dyn FnMut(Progress)) -> Result<TableCounts, StoreError> {
    to.read_raw(|tx| {
        for table in tables::ALL.into_iter().filter(|t| *t != tables::META) {
            if tx.count(table)? > 0 {
                return Err(StoreError::NotEmpty(to.describe(), table.name()));
            }
        }
        Ok(())
    })?;
    let (counts, sample) = from.read_raw(|src| {
        let mut counts = Vec::new();
        for table in tables::ALL {
            counts.push((table, src.count(table)?));
        }
        let total = counts.iter().map(|(_, n)| n).sum();
        let mut copied = 0;
        let mut sample: Vec<(Table, String, Vec<u8>)> = Vec::new();
        for table in tables::ALL {
            let mut after: Option<String> = None;
            loop {
                let rows = src.raw_scan(table, after.as_deref(), BATCH)?;
                let Some((last, _)) = rows.last() else { break };
                let last = last.clone();
                to.write_raw(|dst| {
                    for (k, v) in &rows {
                        dst.put_raw(table, k, v)?;
                    }
                    Ok(())
                })?;
                // The first and the last row of every batch are read back afterwards.
                for (k, v) in [rows.first(), rows.last()].into_iter().flatten() {
                    sample.push((table, k.clone(), v.clone()));
                }
                copied += rows.len() as u64;
                progress(Progress {
                    table: table.name(),
                    copied,
                    total,
                });
                after = Some(last);
            }
        }
        Ok((counts, sample))
    })?;
    to.read_raw(|dst| {
        for (table, expected) in &counts {
            let found = dst.count(*table)?;
            if found != *expected {
                return Err(StoreError::CopyMismatch(format!(
                    "table `{}` has {found} rows, the source {expected}",
                    table.name()
                )));
            }
        }
        for (table, key, value) in &sample {
            if dst.raw_get(*table, key)?.as_deref() != Some(value.as_slice()) {
                return Err(StoreError::CopyMismatch(format!(
                    "a row of table `{}` differs from the source",
                    table.name()
                )));
            }
        }
        Ok(())
    })?;
    Ok(TableCounts(
        counts
            .into_iter()
            .map(|(t, n)| (t.name().to_owned(), n))
            .collect(),
    ))
}
