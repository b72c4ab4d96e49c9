//! The schema version of the records and the upgrades from older ones, run inside the
//! transaction that opens the store (either engine).

use super::record;
use super::tables;
use super::{RawWrite, email_key, expiry_key, pair};
use crate::domain::{Grant, Session, User};
use crate::store::StoreError;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u64 = 3;

/// Upgrades from older schema versions: entry `i` turns version `i + 1` into `i + 2`.
const MIGRATIONS: &[Migration] = &[build_indexes, index_expiries_and_user_grants];

/// One schema upgrade step, run inside the transaction that opens the file.
type Migration = fn(&dyn RawWrite) -> Result<(), StoreError>;

/// Version 1 to 2: builds the email, user-session and `sid`-grant indexes from the rows.
fn build_indexes(tx: &dyn RawWrite) -> Result<(), StoreError> {
    for (_, v) in tx.raw_scan(tables::USERS, None, usize::MAX)? {
        let user: User = record::decode("users", &v)?;
        if let Some(email) = &user.email {
            tx.put_raw(tables::EMAILS, &email_key(email, &user.subject), &[])?;
        }
    }
    for (k, v) in tx.raw_scan(tables::SESSIONS, None, usize::MAX)? {
        let session: Session = record::decode("sessions", &v)?;
        tx.put_raw(tables::USER_SESSIONS, &pair(session.subject.as_str(), &k), &[])?;
    }
    for (k, v) in tx.raw_scan(tables::GRANTS, None, usize::MAX)? {
        let grant: Grant = record::decode("grants", &v)?;
        if let Some(sid) = &grant.sid {
            tx.put_raw(tables::SID_GRANTS, &pair(sid, &k), &[])?;
        }
    }
    Ok(())
}

/// How many rows a migration reads at a time, so that a large file is never copied into memory.
const MIGRATION_BATCH: usize = 10_000;

/// Version 2 to 3: builds the expiry index (every row of an expiring table by its `expires_at`,
/// which the purge reads instead of every table) and the index of a user's grants.
fn index_expiries_and_user_grants(tx: &dyn RawWrite) -> Result<(), StoreError> {
    #[derive(serde::Deserialize)]
    struct Expiring {
        expires_at: crate::domain::Timestamp,
    }
    for table in tables::EXPIRING {
        let mut after: Option<String> = None;
        loop {
            let rows = tx.raw_scan(table, after.as_deref(), MIGRATION_BATCH)?;
            let Some((last, _)) = rows.last() else { break };
            let last = last.clone();
            for (k, v) in &rows {
                let expires_at = record::decode::<Expiring>(table.name(), v)?.expires_at;
                tx.put_raw(tables::EXPIRIES, &expiry_key(expires_at, table.name(), k), &[])?;
                if table.name() == "grants"
                    && let Some(subject) = record::decode::<Grant>("grants", v)?.subject
                {
                    tx.put_raw(tables::USER_GRANTS, &pair(subject.as_str(), k), &[])?;
                }
            }
            after = Some(last);
        }
    }
    Ok(())
}

/// Checks the schema version of an opened store and upgrades an older one, inside the caller's
/// write transaction (which the caller commits). `place` names the store in errors.
pub fn prepare(tx: &dyn RawWrite, place: &str) -> Result<(), StoreError> {
    let found = tx
        .raw_get(tables::META, tables::SCHEMA_VERSION_KEY)?
        .map(|v| String::from_utf8_lossy(&v).parse::<u64>());
    match found {
        None => write_schema_version(tx, SCHEMA_VERSION)?,
        Some(Ok(found)) if found > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                place: place.to_owned(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Some(Ok(found)) => {
            for step in found..SCHEMA_VERSION {
                let migrate = step
                    .checked_sub(1)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| MIGRATIONS.get(i))
                    .ok_or_else(|| StoreError::Corrupt(format!("no upgrade from schema version {step}")))?;
                migrate(tx)?;
            }
            write_schema_version(tx, SCHEMA_VERSION)?;
        }
        Some(Err(_)) => {
            return Err(StoreError::Corrupt("the schema version is not a number".into()));
        }
    }
    Ok(())
}

fn write_schema_version(tx: &dyn RawWrite, version: u64) -> Result<(), StoreError> {
    tx.put_raw(
        tables::META,
        tables::SCHEMA_VERSION_KEY,
        version.to_string().as_bytes(),
    )
}
