//! The PostgreSQL engine: the same tables as the redb file, one PostgreSQL table each
//! (`k bytea PRIMARY KEY, v bytea`, so keys sort by their bytes as in redb), in a schema of their
//! own, shared by every node that names the same database and schema.
//!
//! Transactions: a read is a `REPEATABLE READ READ ONLY` snapshot. A write is `READ COMMITTED`
//! and locks every row it reads by key (`SELECT ... FOR UPDATE`; a key without a row through an
//! advisory lock on the key), so writes that decide on the same rows (two nodes redeeming one
//! code, rotating one refresh token, adding one username) run one after the other, and the later
//! one reads what the earlier committed, as under redb's single writer; writes on other rows run
//! side by side. (`SERIALIZABLE` gave the same answers, but its page-level predicate locks made
//! unrelated writes into the same index pages, such as the expiry index, abort one another under
//! load.) A write that the database ends as a deadlock is rolled back and run again from the
//! start. Jobs one node at a time must run (purge, key rotation) take
//! a transaction-scoped advisory lock (`pg_try_advisory_xact_lock`), and audit entries are keyed
//! under one so that the feed's order is the order of the commits.
//!
//! The driver is `tokio-postgres` on a runtime of its own (one thread), so that the store's
//! blocking calls work from any thread, a tokio worker's included; connections come from an
//! `r2d2` pool.

mod migrations;
mod pool;
mod tx;

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::error::SqlState;

use pool::Pool;
pub use pool::{Options, valid_schema};
use tx::PgTx;

use super::kv::{Raw, RawWrite, schema};
use super::{Reads, StoreError, Writes};

/// How many times a write that the database ended as a deadlock is run again.
const MAX_ATTEMPTS: u32 = 30;

/// A store in a PostgreSQL schema. Clones share one pool.
#[derive(Clone)]
pub struct Store {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.pool.schema())
            .finish()
    }
}

impl Store {
    /// Connects, then creates or upgrades the schema (tables, then records) in one transaction
    /// under an advisory lock, so that nodes starting together upgrade it once.
    pub fn connect(options: &Options) -> Result<Store, StoreError> {
        let pool = Pool::new(options)?;
        let store = Store { pool: Arc::new(pool) };
        store.migrate()?;
        Ok(store)
    }

    /// The schema the tables are in.
    pub fn schema(&self) -> &str {
        self.pool.schema()
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let conn = self.pool.get()?;
        conn.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
        let outcome = migrations::apply(&conn, self.pool.sql()).and_then(|()| {
            let tx = PgTx::writing(&conn, self.pool.sql());
            let prepared = schema::prepare(&tx, &format!("the PostgreSQL schema `{}`", self.schema()));
            match tx.failure() {
                Some(f) => Err(f.into()),
                None => prepared,
            }
        });
        match outcome {
            Ok(()) => conn.commit().map_err(StoreError::from),
            Err(e) => {
                conn.rollback();
                Err(e)
            }
        }
    }

    /// Runs `work` on a consistent snapshot.
    pub fn read<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Reads) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_read(|tx| work(tx))
    }

    /// Runs `work` in a write transaction (see [`Store::run_write`]).
    pub fn write<T, E: From<StoreError>>(
        &self,
        mut work: impl FnMut(&dyn Writes) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_write(|tx| work(tx))
    }

    /// Runs `work` on a snapshot's raw tables (copies between stores).
    pub(crate) fn read_raw<T>(
        &self,
        work: impl FnOnce(&dyn Raw) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run_read(|tx| work(tx))
    }

    /// Runs `work` on a write transaction's raw tables.
    pub(crate) fn write_raw<T>(
        &self,
        mut work: impl FnMut(&dyn RawWrite) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run_write(|tx| work(tx))
    }

    fn run_read<T, E: From<StoreError>>(&self, work: impl FnOnce(&PgTx) -> Result<T, E>) -> Result<T, E> {
        let conn = self.pool.get()?;
        conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let tx = PgTx::reading(&conn, self.pool.sql());
        let out = work(&tx);
        let failure = tx.failure();
        conn.rollback();
        match failure {
            Some(f) => Err(out.err().unwrap_or_else(|| StoreError::from(f).into())),
            None => out,
        }
    }

    /// Runs `work` in a write transaction and commits it if `work` returns `Ok`; when the
    /// database ends it as a deadlock (or a serialization failure), the transaction is rolled
    /// back and `work` runs again, up to [`MAX_ATTEMPTS`] times. `Ok` means committed.
    fn run_write<T, E: From<StoreError>>(&self, mut work: impl FnMut(&PgTx) -> Result<T, E>) -> Result<T, E> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let conn = self.pool.get()?;
            conn.batch("BEGIN ISOLATION LEVEL READ COMMITTED")?;
            let tx = PgTx::writing(&conn, self.pool.sql());
            let out = work(&tx);
            let failure = tx.failure();
            let conflict = match (out, failure) {
                (Ok(value), None) => match conn.commit() {
                    Ok(()) => return Ok(value),
                    Err(f) => f,
                },
                (Err(e), None) => {
                    conn.rollback();
                    return Err(e);
                }
                (out, Some(f)) => {
                    conn.rollback();
                    if !f.retryable() || attempt >= MAX_ATTEMPTS {
                        // The work's own error names what it was doing; else the statement's.
                        return Err(match out {
                            Err(e) => e,
                            Ok(_) => StoreError::from(f).into(),
                        });
                    }
                    f
                }
            };
            if !conflict.retryable() || attempt >= MAX_ATTEMPTS {
                return Err(StoreError::from(conflict).into());
            }
            continue_after(attempt);
        }
    }

    /// Whether the database answers and takes a write transaction now.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let conn = self.pool.get()?;
        conn.batch("BEGIN READ WRITE")?;
        conn.rollback();
        Ok(())
    }
}

/// Waits a little before a write runs again, longer after each conflict, with jitter so that
/// the writes that collided do not collide again.
fn continue_after(attempt: u32) {
    let jitter = u64::from(crate::crypto::random::bytes::<1>().map(|b| b[0]).unwrap_or(0));
    let base = 200u64.saturating_mul(u64::from(attempt.min(10)));
    std::thread::sleep(Duration::from_micros(base + jitter * 4));
}

/// A failed statement or commit, kept with its SQLSTATE so that a conflict can be told apart.
#[derive(Debug, Clone)]
pub struct Failure {
    code: Option<SqlState>,
    message: String,
    /// The connection is gone (closed, refused, timed out), not the statement refused.
    unreachable: bool,
}

impl Failure {
    fn from_pg(e: &tokio_postgres::Error, closed: bool) -> Failure {
        let message = match e.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => {
                // The driver's own words name only the step ("error performing TLS handshake");
                // the causes say why.
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(e);
                while let Some(c) = cause {
                    let next = c.to_string();
                    if !text.contains(&next) {
                        text = format!("{text}: {next}");
                    }
                    cause = c.source();
                }
                text
            }
        };
        Failure {
            code: e.code().cloned(),
            message,
            unreachable: closed || e.code().is_none(),
        }
    }

    /// A serialization failure or a deadlock: running the transaction again can succeed.
    fn retryable(&self) -> bool {
        matches!(
            self.code,
            Some(SqlState::T_R_SERIALIZATION_FAILURE | SqlState::T_R_DEADLOCK_DETECTED)
        )
    }

    fn into_store(self) -> StoreError {
        if self.unreachable {
            StoreError::Unreachable(self.message)
        } else {
            StoreError::Db(self.message)
        }
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        f.into_store()
    }
}
