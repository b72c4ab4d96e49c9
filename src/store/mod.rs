//! The store: users, clients, sessions, codes, grants and the rest behind a narrow, typed seam.
//!
//! Callers see only [`Store`] (the handle: `read(|tx| ..)` and `write(|tx| ..)` are the only ways
//! into a transaction), the object-safe [`Reads`] and [`Writes`] traits, [`GroupCommit`] (shared
//! durable commits for the hot paths), the records below and [`StoreError`]. The store knows how
//! records are laid out and kept consistent, and nothing about OAuth: it makes no protocol
//! decisions. Every call blocks, so callers run transactions on a blocking thread (see
//! `service::blocking`).
//!
//! Two engines sit behind the handle: a redb file (`redb/`, the default: one process) and a
//! PostgreSQL schema (`postgres/`, which several nodes share). Both are ordered key-value stores
//! of the same tables, and the typed reads and writes, the indexes and the record upgrades are
//! written once over them (`kv/`), so a record means the same on both and moves between them
//! byte for byte (`copy`).

pub mod copy;
mod error;
pub mod files;
mod kv;
mod postgres;
mod reads;
mod records;
mod redb;
mod writes;

use std::path::Path;

pub use error::{Existing, StoreError};
pub use postgres::Options as PostgresOptions;
pub use postgres::valid_schema;
pub use reads::Reads;
pub use records::{AuditRecord, SetupTokenRecord, TableCounts};
pub use writes::{Job, Writes};

/// Where the store is: the engine and how to reach it.
#[derive(Debug, Clone)]
pub enum Location {
    /// A redb data file.
    File(std::path::PathBuf),
    /// A PostgreSQL database (and schema).
    Postgres(PostgresOptions),
}

/// The open store. Clones share one engine (one open file, or one connection pool).
#[derive(Clone, Debug)]
pub struct Store(Engine);

#[derive(Clone, Debug)]
enum Engine {
    Redb(redb::Store),
    Postgres(postgres::Store),
}

impl Store {
    /// Opens (creating if needed) the redb data file at `path`, checks its schema version and
    /// upgrades an older one. A new directory is made 0700 and a new file 0600, whatever the umask.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store(Engine::Redb(redb::Store::open(path)?)))
    }

    /// Connects to a PostgreSQL database and creates or upgrades Latchkey's schema in it.
    pub fn connect(options: &PostgresOptions) -> Result<Store, StoreError> {
        Ok(Store(Engine::Postgres(postgres::Store::connect(options)?)))
    }

    /// Opens the store at `location`.
    pub fn open_at(location: &Location) -> Result<Store, StoreError> {
        match location {
            Location::File(path) => Store::open(path),
            Location::Postgres(options) => Store::connect(options),
        }
    }

    /// An empty store in memory, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        Ok(Store(Engine::Redb(redb::Store::in_memory()?)))
    }

    /// The data file's path; `None` in memory or in PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        match &self.0 {
            Engine::Redb(s) => s.path(),
            Engine::Postgres(_) => None,
        }
    }

    /// Whether other processes may share this store at the same time (PostgreSQL): then a
    /// command-line tool works on it directly, beside running servers.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Engine::Postgres(_))
    }

    /// What the store is, for logs and messages (never a password).
    pub fn describe(&self) -> String {
        match &self.0 {
            Engine::Redb(s) => match s.path() {
                Some(p) => format!("the data file {}", p.display()),
                None => "an in-memory store".into(),
            },
            Engine::Postgres(s) => format!("the PostgreSQL schema `{}`", s.schema()),
        }
    }

    /// Runs `work` on a consistent snapshot.
    pub fn read<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Reads) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.0 {
            Engine::Redb(s) => s.read(work),
            Engine::Postgres(s) => s.read(work),
        }
    }

    /// Runs `work` in a write transaction and commits it durably if `work` returns `Ok`; an
    /// `Err` discards every change. `work` may run more than once (PostgreSQL runs it again
    /// after a deadlock with another node's write), so it does nothing but read and write
    /// through the transaction; only the last run's changes are kept.
    pub fn write<T, E: From<StoreError>>(
        &self,
        work: impl FnMut(&dyn Writes) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.0 {
            Engine::Redb(s) => s.write(work),
            Engine::Postgres(s) => s.write(work),
        }
    }

    /// Starts the shared-commit writer for this store (see [`GroupCommit`]).
    pub fn group_commit<E: From<StoreError> + Send + 'static>(&self) -> GroupCommit<E> {
        match &self.0 {
            Engine::Redb(s) => GroupCommit(Committer::Batched(s.group_commit())),
            Engine::Postgres(_) => GroupCommit(Committer::Direct(self.clone())),
        }
    }

    /// Whether a write transaction can be started now. After an I/O error this reopens the data
    /// file; with PostgreSQL it fails while the database cannot be reached.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        match &self.0 {
            Engine::Redb(s) => s.check_writable(),
            Engine::Postgres(s) => s.check_writable(),
        }
    }

    /// Writes a copy of every table, from one snapshot, to a new redb file at `dest`, then checks
    /// that the copy holds the same number of rows.
    pub fn backup_to(&self, dest: &Path) -> Result<TableCounts, StoreError> {
        match &self.0 {
            Engine::Redb(s) => s.backup_to(dest),
            Engine::Postgres(_) => {
                files::create_new_private_file(dest)?;
                let target = Store::open(dest)?;
                copy::copy(self, &target, &mut |_| {})
            }
        }
    }

    fn read_raw<T>(&self, work: impl FnOnce(&dyn kv::Raw) -> Result<T, StoreError>) -> Result<T, StoreError> {
        match &self.0 {
            Engine::Redb(s) => s.read_raw(work),
            Engine::Postgres(s) => s.read_raw(work),
        }
    }

    fn write_raw<T>(
        &self,
        work: impl FnMut(&dyn kv::RawWrite) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.0 {
            Engine::Redb(s) => s.write_raw(work),
            Engine::Postgres(s) => s.write_raw(work),
        }
    }
}

/// Durable commits for the hot paths. With redb, one writer thread takes every write waiting in
/// its queue, runs them in one transaction and commits once (one fsync for the batch); with
/// PostgreSQL, every write is its own transaction on a blocking thread (the database gathers
/// concurrent commits into its own WAL flushes). `E` is the error type of the jobs.
#[derive(Debug)]
pub struct GroupCommit<E>(Committer<E>);

#[derive(Debug)]
enum Committer<E> {
    Batched(redb::GroupCommit<E>),
    Direct(Store),
}

impl<E> Clone for GroupCommit<E> {
    fn clone(&self) -> Self {
        GroupCommit(match &self.0 {
            Committer::Batched(g) => Committer::Batched(g.clone()),
            Committer::Direct(s) => Committer::Direct(s.clone()),
        })
    }
}

impl<E: From<StoreError> + Send + 'static> GroupCommit<E> {
    /// Runs `work` and returns its result once it is durable. An `Err` from `work` discards its
    /// changes (with redb, the whole batch's). Like [`Store::write`], `work` may run again.
    pub async fn run<T, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        F: FnMut(&dyn Writes) -> Result<T, E> + Send + 'static,
    {
        match &self.0 {
            Committer::Batched(g) => g.run(work).await,
            Committer::Direct(store) => {
                let store = store.clone();
                tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    let out = store.write(work);
                    crate::metrics::commit(1, started.elapsed().as_secs_f64());
                    out
                })
                .await
                .map_err(|_| StoreError::Writer("a write task failed"))?
            }
        }
    }
}
