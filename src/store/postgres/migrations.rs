//! The PostgreSQL schema's own versions: the tables themselves, which the redb file makes when it
//! opens. Each step runs once, inside the start-up transaction, under an advisory lock; a schema
//! that a newer build has moved past is refused.

use super::pool::Conn;
use super::tx::{Sql, ident};
use crate::store::StoreError;
use crate::store::kv::tables;

/// The newest step this build knows.
pub const LATEST: i32 = 1;

/// The statements of step `version`.
fn step(version: i32, schema: &str) -> Option<String> {
    let s = ident(schema);
    match version {
        1 => {
            let mut sql = String::new();
            for table in tables::ALL {
                sql.push_str(&format!(
                    "CREATE TABLE {s}.{} (k bytea PRIMARY KEY, v bytea NOT NULL);\n",
                    ident(table.name())
                ));
            }
            // The audit feed's order across nodes (see `PgTx::audit_key`).
            sql.push_str(&format!("CREATE SEQUENCE {s}.\"audit_order\";\n"));
            Some(sql)
        }
        _ => None,
    }
}

/// Creates the schema and its history table if missing, then applies the steps the history
/// lacks, in the caller's transaction.
pub fn apply(conn: &Conn, sql: &Sql) -> Result<(), StoreError> {
    let s = ident(sql.schema());
    let lock = sql.lock_key("migrations");
    conn.batch(&format!(
        "SELECT pg_advisory_xact_lock({lock});\n\
         CREATE SCHEMA IF NOT EXISTS {s};\n\
         CREATE TABLE IF NOT EXISTS {s}.\"schema_migrations\" (\
            version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());"
    ))?;
    let found: i32 = futures_executor::block_on(conn.client().query_one(
        &format!("SELECT coalesce(max(version), 0) FROM {s}.\"schema_migrations\""),
        &[],
    ))
    .map_err(|e| StoreError::from(conn.failure(&e)))?
    .try_get(0)
    .map_err(|e| StoreError::Db(e.to_string()))?;
    if found > LATEST {
        return Err(StoreError::NewerSchema {
            place: format!("the PostgreSQL schema `{}` (its tables)", sql.schema()),
            found: u64::try_from(found).unwrap_or(0),
            supported: u64::try_from(LATEST).unwrap_or(0),
        });
    }
    for version in found + 1..=LATEST {
        let statements = step(version, sql.schema())
            .ok_or_else(|| StoreError::Corrupt(format!("no PostgreSQL schema step {version}")))?;
        conn.batch(&statements)?;
        conn.batch(&format!(
            "INSERT INTO {s}.\"schema_migrations\" (version) VALUES ({version})"
        ))?;
        tracing::info!(schema = sql.schema(), version, "applied a PostgreSQL schema step");
    }
    Ok(())
}
