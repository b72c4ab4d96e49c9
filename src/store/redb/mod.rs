//! The redb engine: the data file, its tables and record format, the schema upgrades, the
//! transaction types behind [`Reads`]/[`Writes`], and group commit. Nothing here is visible
//! outside `store` except [`Store`] and [`GroupCommit`], whose signatures name no redb type.

#[cfg(test)]
mod factor_tests;
mod group_commit;
mod raw;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

pub use group_commit::GroupCommit;
use raw::{ReadTx, WriteTx, def};

use super::kv::{Raw, RawWrite, schema, tables};
use super::{Reads, StoreError, TableCounts, Writes, files};

/// redb's page cache. Its default (1 GiB) would let a busy server's memory grow to match its
/// data; identity data is small and the disk is the durable copy anyway.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(redb::Error::from(e).to_string())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The open data file (or an in-memory database in tests). Clones share one database, and
/// after an I/O error (a full disk) they share its reopening too.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    /// The open database; `None` after an I/O error until a reopen succeeds.
    db: Mutex<Option<Arc<Database>>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.shared.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the data file at `path`, checks its schema version and upgrades
    /// an older one. A new directory is made 0700 and a new file 0600, whatever the umask.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        files::create_private_dir(path)?;
        files::create_private_file(path)?;
        let db = open_file(path)?;
        Store::init(db, Some(path.to_owned()))
    }

    /// An empty store in memory, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Store::init(db, None)
    }

    fn init(db: Database, path: Option<PathBuf>) -> Result<Store, StoreError> {
        prepare(&db, path.as_deref())?;
        Ok(Store {
            shared: Arc::new(Shared {
                db: Mutex::new(Some(Arc::new(db))),
                path,
            }),
        })
    }

    /// The data file's path; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.shared.path.as_deref()
    }

    /// Runs `work` on a consistent snapshot. It blocks (briefly: no read waits for a writer).
    pub fn read<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Reads) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = ReadTx(self.db()?.begin_read().map_err(StoreError::from)?);
        work(&tx)
    }

    /// Runs `work` in a write transaction and commits it durably (fsync) if `work` returns
    /// `Ok`; an `Err` discards every change. It blocks: one writer at a time, and the commit
    /// waits for the disk.
    pub fn write<T, E: From<StoreError>>(
        &self,
        mut work: impl FnMut(&dyn Writes) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = WriteTx(self.begin_write()?);
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `work` on a snapshot's raw tables (copies between stores).
    pub(crate) fn read_raw<T>(
        &self,
        work: impl FnOnce(&dyn Raw) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = ReadTx(self.db()?.begin_read()?);
        work(&tx)
    }

    /// Runs `work` on a write transaction's raw tables and commits it.
    pub(crate) fn write_raw<T>(
        &self,
        mut work: impl FnMut(&dyn RawWrite) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = WriteTx(self.begin_write()?);
        let out = work(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Starts the group-commit writer thread for this store (see [`GroupCommit`]).
    pub fn group_commit<E: From<StoreError> + Send + 'static>(&self) -> GroupCommit<E> {
        GroupCommit::start(self.clone())
    }

    /// The open database, reopening the file first if an I/O error closed it.
    fn db(&self) -> Result<Arc<Database>, StoreError> {
        let mut slot = self.shared.db.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(db) = slot.as_ref() {
            return Ok(Arc::clone(db));
        }
        let Some(path) = &self.shared.path else {
            return Err(StoreError::Unavailable("the in-memory database failed".into()));
        };
        let db = files::probe_space(path)
            .and_then(|()| open_file(path))
            .and_then(|db| prepare(&db, Some(path)).map(|()| db))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        tracing::warn!(path = %path.display(), "reopened the data file after an I/O error");
        let db = Arc::new(db);
        *slot = Some(Arc::clone(&db));
        Ok(db)
    }

    /// Forgets `failed`, which redb will not write to again after an I/O error, so that the
    /// next use reopens the file. The old handle closes when its last user lets go of it.
    fn discard(&self, failed: Arc<Database>) {
        let mut slot = self.shared.db.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|db| Arc::ptr_eq(db, &failed)) {
            tracing::warn!(
                "the data file had an I/O error (is the disk full?); it is reopened before the next write"
            );
            *slot = None;
        }
        drop(slot);
        drop(failed);
    }

    fn begin_write(&self) -> Result<redb::WriteTransaction, StoreError> {
        let db = self.db()?;
        match begin_write_on(&db) {
            Err(redb::Error::PreviousIo | redb::Error::Corrupted(_)) if self.shared.path.is_some() => {
                // A commit failed on this handle (ENOSPC, EIO): redb refuses every later write
                // until the database is reopened, so reopen it now and try once more.
                self.discard(db);
                Ok(begin_write_on(&*self.db()?)?)
            }
            other => Ok(other?),
        }
    }

    /// Whether a write transaction can be started now (it is aborted at once). After an I/O
    /// error this reopens the data file, and fails while that cannot be done.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let tx = self.begin_write()?;
        tx.abort()?;
        Ok(())
    }

    /// Writes a logical copy of every table, taken from one read transaction, to a new file at
    /// `dest`, then reopens the copy and checks that it holds the same number of rows.
    pub fn backup_to(&self, dest: &Path) -> Result<TableCounts, StoreError> {
        // Made 0600 before anything is written into it, and never over an existing file.
        files::create_new_private_file(dest)?;
        let snapshot = self.db()?.begin_read()?;
        let copy = Database::builder().create(dest)?;
        let tx = copy.begin_write()?;
        let mut counts = Vec::new();
        for table in tables::ALL {
            let source = snapshot.open_table(def(table))?;
            let mut target = tx.open_table(def(table))?;
            for row in source.iter()? {
                let (k, v) = row?;
                target.insert(k.value(), v.value())?;
            }
            counts.push((table.name().to_owned(), source.len()?));
        }
        tx.commit()?;
        drop(copy);
        let reopened = Store::open(dest)?;
        let check = reopened.db()?.begin_read()?;
        for (name, expected) in &counts {
            let table = tables::ALL
                .into_iter()
                .find(|t| t.name() == name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown table {name}")))?;
            let found = check.open_table(def(table))?.len()?;
            if found != *expected {
                return Err(StoreError::Corrupt(format!(
                    "backup check failed: table {name} has {found} rows, expected {expected}"
                )));
            }
        }
        Ok(TableCounts(counts))
    }
}

/// Makes every table, then checks the schema version and upgrades an older file, in one
/// transaction (so, after a reopen, also proves that a write can be committed again).
fn prepare(db: &Database, path: Option<&Path>) -> Result<(), StoreError> {
    let tx = WriteTx(begin_write_on(db)?);
    for table in tables::ALL {
        tx.0.open_table(def(table))?;
    }
    let place = match path {
        Some(path) => format!("the data file {}", path.display()),
        None => "the in-memory database".to_owned(),
    };
    schema::prepare(&tx, &place)?;
    tx.commit()
}

/// Opens (or creates) the redb file at `path`.
fn open_file(path: &Path) -> Result<Database, StoreError> {
    Database::builder()
        .set_cache_size(CACHE_BYTES)
        .create(path)
        .map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen {
                path: path.to_owned(),
            },
            other => StoreError::from(other),
        })
}

/// Begins a write transaction with quick repair (which implies two-phase commit): a reopen
/// after a crash is fast and never trusts a half-written commit slot; see ARCHITECTURE.md.
fn begin_write_on(db: &Database) -> Result<redb::WriteTransaction, redb::Error> {
    let mut tx = db.begin_write()?;
    tx.set_quick_repair(true);
    tx.set_two_phase_commit(true);
    Ok(tx)
}
