//! How a value is written to a table: one format byte, then JSON. The byte lets a later version
//! read and upgrade records written by an earlier one.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::StoreError;

/// The record format this build writes.
pub const RECORD_FORMAT: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![RECORD_FORMAT];
    serde_json::to_writer(&mut out, value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(out)
}

pub fn decode<T: DeserializeOwned>(table: &str, bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&RECORD_FORMAT, json)) => serde_json::from_slice(json)
            .map_err(|e| StoreError::Corrupt(format!("a record in table `{table}` does not decode: {e}"))),
        Some((format, _)) => Err(StoreError::Corrupt(format!(
            "a record in table `{table}` has format {format}, which this build does not know"
        ))),
        None => Err(StoreError::Corrupt(format!("an empty record in table `{table}`"))),
    }
}
