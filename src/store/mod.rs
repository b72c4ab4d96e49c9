//! The embedded redb store behind a narrow, typed interface.
//!
//! The store knows how records are laid out and kept consistent (the username index follows the
//! users table), and nothing about OAuth: it makes no protocol decisions. Every method blocks, so
//! callers run transactions on a blocking thread. Only `crate::service` opens transactions.

pub mod files;
mod record;
pub mod tables;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableHandle};
use serde::{Deserialize, Serialize};

use crate::domain::{
    AuthorizationCode, Client, ClientId, Consent, Grant, PendingUpstream, RefreshToken, Session,
    SigningKeyRecord, Subject, Timestamp, UpstreamLink, User,
};
use tables::Table;

/// redb's page cache. Its default (1 GiB) would let a busy server's memory grow to match its
/// data; identity data is small and the disk is the durable copy anyway.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

/// Upgrades from older schema versions: entry `i` turns version `i + 1` into `i + 2`. Version 1 is
/// the first, so there is nothing to upgrade yet; a change of record layout adds a step here.
const MIGRATIONS: &[Migration] = &[];

/// One schema upgrade step, run inside the transaction that opens the file.
type Migration = fn(&redb::WriteTransaction) -> Result<(), StoreError>;

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data file {path} is already open in another process (is `latchkey serve` running with it?)")]
    AlreadyOpen { path: PathBuf },
    #[error(
        "the data file {path} has schema version {found}, newer than this build of latchkey understands ({supported}); run a newer latchkey"
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot create {path}: {source}")]
    CreateFile { path: PathBuf, source: std::io::Error },
    #[error("the data file is damaged: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    Exists(String),
    #[error("the data file cannot be used after an I/O error (is the disk full?); reopening it failed: {0}")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Db(#[from] redb::Error),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// A pending first-administrator setup token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupTokenRecord {
    pub expires_at: Timestamp,
}

/// Row counts per table, from a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCounts(pub Vec<(String, u64)>);

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
            Err(StoreError::Db(redb::Error::PreviousIo | redb::Error::Corrupted(_)))
                if self.shared.path.is_some() =>
            {
                // A commit failed on this handle (ENOSPC, EIO): redb refuses every later write
                // until the database is reopened, so reopen it now and try once more.
                self.discard(db);
                begin_write_on(&*self.db()?)
            }
            other => other,
        }
    }

    /// A consistent snapshot for reading.
    pub fn read(&self) -> Result<ReadTx, StoreError> {
        Ok(ReadTx(self.db()?.begin_read()?))
    }

    /// A write transaction; nothing is visible or durable until [`WriteTx::commit`].
    pub fn write(&self) -> Result<WriteTx, StoreError> {
        Ok(WriteTx(self.begin_write()?))
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
            let source = snapshot.open_table(table)?;
            let mut target = tx.open_table(table)?;
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
            let found = check.open_table(table)?.len()?;
            if found != *expected {
                return Err(StoreError::Corrupt(format!(
                    "backup check failed: table {name} has {found} rows, expected {expected}"
                )));
            }
        }
        Ok(TableCounts(counts))
    }
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

fn begin_write_on(db: &Database) -> Result<redb::WriteTransaction, StoreError> {
    let mut tx = db.begin_write()?;
    // Quick repair (which implies two-phase commit) makes a reopen after a crash fast and
    // never trusts a half-written commit slot; see ARCHITECTURE.md.
    tx.set_quick_repair(true);
    tx.set_two_phase_commit(true);
    Ok(tx)
}

/// Makes every table, then checks the schema version and upgrades an older file, in one
/// transaction (so, after a reopen, also proves that a write can be committed again).
fn prepare(db: &Database, path: Option<&Path>) -> Result<(), StoreError> {
    let tx = begin_write_on(db)?;
    for table in tables::ALL {
        tx.open_table(table)?;
    }
    let found = {
        let meta = tx.open_table(tables::META)?;
        let value = meta.get(tables::SCHEMA_VERSION_KEY)?;
        value.map(|v| String::from_utf8_lossy(v.value()).parse::<u64>())
    };
    match found {
        None => write_schema_version(&tx, SCHEMA_VERSION)?,
        Some(Ok(found)) if found > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                path: path.map(Path::to_owned).unwrap_or_default(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Some(Ok(found)) => {
            for step in found..SCHEMA_VERSION {
                let migrate = usize::try_from(step - 1)
                    .ok()
                    .and_then(|i| MIGRATIONS.get(i))
                    .ok_or_else(|| StoreError::Corrupt(format!("no upgrade from schema version {step}")))?;
                migrate(&tx)?;
            }
            write_schema_version(&tx, SCHEMA_VERSION)?;
        }
        Some(Err(_)) => {
            return Err(StoreError::Corrupt("the schema version is not a number".into()));
        }
    }
    tx.commit()?;
    Ok(())
}

fn write_schema_version(tx: &redb::WriteTransaction, version: u64) -> Result<(), StoreError> {
    let mut meta = tx.open_table(tables::META)?;
    meta.insert(tables::SCHEMA_VERSION_KEY, version.to_string().as_bytes())?;
    Ok(())
}

/// Reads shared by read and write transactions.
pub trait Reads {
    /// The raw value at `key` in `table`.
    fn raw_get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Raw rows of `table` with keys after `after` (or from the start), at most `limit`.
    fn raw_scan(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Number of rows in `table`.
    fn count(&self, table: Table) -> Result<u64, StoreError>;

    fn get_record<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        self.raw_get(table, key)?
            .map(|bytes| record::decode(table.name(), &bytes))
            .transpose()
    }

    fn scan_records<T: serde::de::DeserializeOwned>(
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

    fn user(&self, subject: &Subject) -> Result<Option<User>, StoreError> {
        self.get_record(tables::USERS, subject.as_str())
    }

    /// The user whose lower-cased username is `key`.
    fn user_by_username_key(&self, key: &str) -> Result<Option<User>, StoreError> {
        match self.raw_get(tables::USERNAMES, key)? {
            Some(subject) => {
                let subject = String::from_utf8(subject)
                    .map_err(|_| StoreError::Corrupt("a username index entry is not UTF-8".into()))?;
                self.get_record(tables::USERS, &subject)
            }
            None => Ok(None),
        }
    }

    /// Users in username order, starting after the lower-cased username `after`.
    fn users_by_username(&self, after: Option<&str>, limit: usize) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::new();
        for (key, _) in self.raw_scan(tables::USERNAMES, after, limit)? {
            if let Some(user) = self.user_by_username_key(&key)? {
                users.push(user);
            }
        }
        Ok(users)
    }

    fn user_count(&self) -> Result<u64, StoreError> {
        self.count(tables::USERS)
    }

    fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.get_record(tables::CLIENTS, id.as_str())
    }

    fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.scan_records(tables::CLIENTS, None, usize::MAX)
    }

    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.scan_records(tables::SIGNING_KEYS, None, usize::MAX)
    }

    /// A server-wide secret kept in the store (such as the key of the CSRF tokens' MAC), so that
    /// it survives restarts and every node shares it.
    fn server_secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.raw_get(tables::META, &format!("{}{name}", tables::SECRET_KEY_PREFIX))
    }

    fn setup_token(&self, digest: &str) -> Result<Option<SetupTokenRecord>, StoreError> {
        self.get_record(tables::SETUP_TOKENS, digest)
    }

    fn session(&self, digest: &str) -> Result<Option<Session>, StoreError> {
        self.get_record(tables::SESSIONS, digest)
    }

    /// Every session, with its digest.
    fn sessions(&self) -> Result<Vec<(String, Session)>, StoreError> {
        self.raw_scan(tables::SESSIONS, None, usize::MAX)?
            .into_iter()
            .map(|(k, v)| Ok((k, record::decode(tables::SESSIONS.name(), &v)?)))
            .collect()
    }

    fn code(&self, digest: &str) -> Result<Option<AuthorizationCode>, StoreError> {
        self.get_record(tables::CODES, digest)
    }

    fn grant(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        self.get_record(tables::GRANTS, id)
    }

    /// Every grant.
    fn grants(&self) -> Result<Vec<Grant>, StoreError> {
        self.scan_records(tables::GRANTS, None, usize::MAX)
    }

    fn refresh_token(&self, digest: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.get_record(tables::REFRESH_TOKENS, digest)
    }

    /// Whether an access token id was revoked.
    fn is_jti_denied(&self, jti: &str) -> Result<bool, StoreError> {
        Ok(self.raw_get(tables::DENIED_JTIS, jti)?.is_some())
    }

    /// Audit entries with keys after `after`, oldest first, with their keys.
    fn audit_entries(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditRecord)>, StoreError> {
        self.raw_scan(tables::AUDIT, after, limit)?
            .into_iter()
            .map(|(k, v)| Ok((k, record::decode(tables::AUDIT.name(), &v)?)))
            .collect()
    }

    fn consent(&self, subject: &Subject, client: &ClientId) -> Result<Option<Consent>, StoreError> {
        self.get_record(tables::CONSENTS, &consent_key(subject, client))
    }

    /// The link of an upstream identity, if it has one.
    fn upstream_link(
        &self,
        upstream: &str,
        upstream_subject: &str,
    ) -> Result<Option<UpstreamLink>, StoreError> {
        self.get_record(tables::UPSTREAM_LINKS, &link_key(upstream, upstream_subject))
    }

    /// The upstream identities linked to a user.
    fn links_of(&self, subject: &Subject) -> Result<Vec<UpstreamLink>, StoreError> {
        self.records_of(tables::USER_LINKS, subject)
    }

    /// A pending upstream sign-in, by digest of its `state`.
    fn pending_upstream(&self, digest: &str) -> Result<Option<PendingUpstream>, StoreError> {
        self.get_record(tables::UPSTREAM_STATES, digest)
    }

    /// A user's consents.
    fn consents_of(&self, subject: &Subject) -> Result<Vec<Consent>, StoreError> {
        self.records_of(tables::CONSENTS, subject)
    }

    /// The records of a table keyed by `subject` + U+001F + something, for one subject.
    fn records_of<T: serde::de::DeserializeOwned>(
        &self,
        table: Table,
        subject: &Subject,
    ) -> Result<Vec<T>, StoreError> {
        let prefix = format!("{}\u{1f}", subject.as_str());
        let mut out = Vec::new();
        for (k, v) in self.raw_scan(table, Some(subject.as_str()), usize::MAX)? {
            if !k.starts_with(&prefix) {
                break;
            }
            out.push(record::decode(table.name(), &v)?);
        }
        Ok(out)
    }
}

/// One entry of the audit feed: who did what, when, from where, with what outcome. Never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub time: Timestamp,
    /// A username, `client:ID`, `cli`, or `anonymous`.
    pub actor: String,
    /// A dotted name such as `login.failure`, `token.issued`, `user.create`.
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub success: bool,
    /// How many occurrences the entry stands for: more than one for refusals from one address
    /// folded into one entry per interval (see `service::audit::denied`). Entries written before
    /// the field existed stand for one.
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

fn link_key(upstream: &str, upstream_subject: &str) -> String {
    format!("{upstream}\u{1f}{upstream_subject}")
}

fn user_link_key(link: &UpstreamLink) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        link.subject.as_str(),
        link.upstream,
        link.upstream_subject
    )
}

fn consent_key(subject: &Subject, client: &ClientId) -> String {
    format!("{}\u{1f}{}", subject.as_str(), client.as_str())
}

/// A revoked access token id, kept until the token would have expired.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeniedJti {
    expires_at: Timestamp,
}

/// Expiry of a row of an expiring table: every such record has `expires_at`.
fn expiry_of(table: Table, bytes: &[u8]) -> Result<Option<Timestamp>, StoreError> {
    #[derive(Deserialize)]
    struct Expiring {
        expires_at: Timestamp,
    }
    Ok(Some(record::decode::<Expiring>(table.name(), bytes)?.expires_at))
}

fn scan<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    use std::ops::Bound;
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

/// A read-only snapshot.
pub struct ReadTx(redb::ReadTransaction);

impl Reads for ReadTx {
    fn raw_get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.open_table(table)?.get(key)?.map(|v| v.value().to_vec()))
    }

    fn raw_scan(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        scan(&self.0.open_table(table)?, after, limit)
    }

    fn count(&self, table: Table) -> Result<u64, StoreError> {
        Ok(self.0.open_table(table)?.len()?)
    }
}

/// A write transaction. Dropping it without [`WriteTx::commit`] discards every change.
pub struct WriteTx(redb::WriteTransaction);

impl Reads for WriteTx {
    fn raw_get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.open_table(table)?.get(key)?.map(|v| v.value().to_vec()))
    }

    fn raw_scan(
        &self,
        table: Table,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        scan(&self.0.open_table(table)?, after, limit)
    }

    fn count(&self, table: Table) -> Result<u64, StoreError> {
        Ok(self.0.open_table(table)?.len()?)
    }
}

impl WriteTx {
    fn put<T: Serialize>(&self, table: Table, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = record::encode(value)?;
        self.0.open_table(table)?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    fn remove(&self, table: Table, key: &str) -> Result<bool, StoreError> {
        Ok(self.0.open_table(table)?.remove(key)?.is_some())
    }

    /// Inserts or replaces a user and keeps the username index in step. Fails with
    /// [`StoreError::Exists`] when another user already has the username.
    pub fn put_user(&self, user: &User) -> Result<(), StoreError> {
        let key = user.username.key();
        if let Some(owner) = self.raw_get(tables::USERNAMES, &key)?
            && owner != user.subject.as_str().as_bytes()
        {
            return Err(StoreError::Exists(format!("username `{}`", user.username)));
        }
        if let Some(old) = self.user(&user.subject)?
            && old.username.key() != key
        {
            self.remove(tables::USERNAMES, &old.username.key())?;
        }
        self.0
            .open_table(tables::USERNAMES)?
            .insert(key.as_str(), user.subject.as_str().as_bytes())?;
        self.put(tables::USERS, user.subject.as_str(), user)
    }

    /// Removes a user and their username; false when there was no such user.
    pub fn delete_user(&self, subject: &Subject) -> Result<bool, StoreError> {
        match self.user(subject)? {
            Some(user) => {
                self.remove(tables::USERNAMES, &user.username.key())?;
                self.remove(tables::USERS, subject.as_str())
            }
            None => Ok(false),
        }
    }

    /// Stores a server-wide secret (see [`Reads::server_secret`]).
    pub fn put_server_secret(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.0
            .open_table(tables::META)?
            .insert(format!("{}{name}", tables::SECRET_KEY_PREFIX).as_str(), secret)?;
        Ok(())
    }

    pub fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.put(tables::CLIENTS, client.client_id.as_str(), client)
    }

    /// Removes a client and every row that names it: its grants (so its access tokens stop),
    /// refresh tokens, authorization codes and consents. A later client with the same id
    /// inherits nothing. False when there was no such client.
    pub fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        #[derive(Deserialize)]
        struct OfClient {
            client_id: ClientId,
        }
        for table in [
            tables::GRANTS,
            tables::REFRESH_TOKENS,
            tables::CODES,
            tables::CONSENTS,
        ] {
            let mut doomed = Vec::new();
            for (k, v) in self.raw_scan(table, None, usize::MAX)? {
                if record::decode::<OfClient>(table.name(), &v)?.client_id == *id {
                    doomed.push(k);
                }
            }
            for k in &doomed {
                self.remove(table, k)?;
            }
        }
        self.remove(tables::CLIENTS, id.as_str())
    }

    pub fn put_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        self.put(tables::SIGNING_KEYS, &key.kid, key)
    }

    pub fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        self.remove(tables::SIGNING_KEYS, kid)
    }

    pub fn put_setup_token(&self, digest: &str, token: &SetupTokenRecord) -> Result<(), StoreError> {
        self.put(tables::SETUP_TOKENS, digest, token)
    }

    pub fn delete_setup_token(&self, digest: &str) -> Result<bool, StoreError> {
        self.remove(tables::SETUP_TOKENS, digest)
    }

    pub fn put_session(&self, digest: &str, session: &Session) -> Result<(), StoreError> {
        self.put(tables::SESSIONS, digest, session)
    }

    pub fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        self.remove(tables::SESSIONS, digest)
    }

    pub fn put_code(&self, digest: &str, code: &AuthorizationCode) -> Result<(), StoreError> {
        self.put(tables::CODES, digest, code)
    }

    pub fn put_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        self.put(tables::GRANTS, &grant.id, grant)
    }

    pub fn put_refresh_token(&self, digest: &str, token: &RefreshToken) -> Result<(), StoreError> {
        self.put(tables::REFRESH_TOKENS, digest, token)
    }

    /// Appends an audit entry under `key` (see [`tables::AUDIT`]).
    pub fn put_audit(&self, key: &str, entry: &AuditRecord) -> Result<(), StoreError> {
        self.put(tables::AUDIT, key, entry)
    }

    /// Denies an access token id until `until`, when the token expires anyway.
    pub fn deny_jti(&self, jti: &str, until: Timestamp) -> Result<(), StoreError> {
        self.put(tables::DENIED_JTIS, jti, &DeniedJti { expires_at: until })
    }

    pub fn put_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        self.put(
            tables::CONSENTS,
            &consent_key(&consent.subject, &consent.client_id),
            consent,
        )
    }

    pub fn delete_consent(&self, subject: &Subject, client: &ClientId) -> Result<bool, StoreError> {
        self.remove(tables::CONSENTS, &consent_key(subject, client))
    }

    /// Stores a link under both of its keys.
    pub fn put_upstream_link(&self, link: &UpstreamLink) -> Result<(), StoreError> {
        self.put(
            tables::UPSTREAM_LINKS,
            &link_key(&link.upstream, &link.upstream_subject),
            link,
        )?;
        self.put(tables::USER_LINKS, &user_link_key(link), link)
    }

    /// Removes a link under both of its keys.
    pub fn delete_upstream_link(&self, link: &UpstreamLink) -> Result<bool, StoreError> {
        let removed = self.remove(
            tables::UPSTREAM_LINKS,
            &link_key(&link.upstream, &link.upstream_subject),
        )?;
        self.remove(tables::USER_LINKS, &user_link_key(link))?;
        Ok(removed)
    }

    pub fn put_pending_upstream(&self, digest: &str, pending: &PendingUpstream) -> Result<(), StoreError> {
        self.put(tables::UPSTREAM_STATES, digest, pending)
    }

    pub fn delete_pending_upstream(&self, digest: &str) -> Result<bool, StoreError> {
        self.remove(tables::UPSTREAM_STATES, digest)
    }

    /// Deletes rows of the expiring tables whose `expires_at` is at or before `now`, at most
    /// `limit` in all; returns how many went.
    pub fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let mut removed = 0;
        for table in [
            tables::SESSIONS,
            tables::CODES,
            tables::REFRESH_TOKENS,
            tables::GRANTS,
            tables::DENIED_JTIS,
            tables::SETUP_TOKENS,
            tables::UPSTREAM_STATES,
        ] {
            let mut doomed = Vec::new();
            for (k, v) in self.raw_scan(table, None, usize::MAX)? {
                if removed + doomed.len() >= limit {
                    break;
                }
                if expiry_of(table, &v)?.is_some_and(|e| e <= now) {
                    doomed.push(k);
                }
            }
            for k in &doomed {
                self.remove(table, k)?;
            }
            removed += doomed.len();
        }
        Ok(removed)
    }

    /// Deletes audit entries keyed before the second `cutoff` (keys start with their second, see
    /// [`tables::AUDIT`]), at most `limit`, oldest first; returns how many went.
    pub fn purge_audit_before(&self, cutoff: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let bound = format!("{:020}", cutoff.0);
        let doomed: Vec<String> = self
            .raw_scan(tables::AUDIT, None, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .take_while(|k| *k < bound)
            .collect();
        for k in &doomed {
            self.remove(tables::AUDIT, k)?;
        }
        Ok(doomed.len())
    }

    /// Removes every setup token.
    pub fn clear_setup_tokens(&self) -> Result<(), StoreError> {
        self.0.open_table(tables::SETUP_TOKENS)?.retain(|_, _| false)?;
        Ok(())
    }

    /// Makes every change durable: when this returns `Ok`, the data survives a crash.
    pub fn commit(self) -> Result<(), StoreError> {
        self.0.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientSource, Username};

    fn user(subject: &str, name: &str) -> User {
        User {
            subject: Subject::from_string(subject.into()),
            username: Username::parse(name).unwrap(),
            name: None,
            email: None,
            email_verified: false,
            groups: vec![],
            disabled: false,
            password_hash: None,
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        }
    }

    #[test]
    fn usernames_are_unique_regardless_of_case() {
        let store = Store::in_memory().unwrap();
        let tx = store.write().unwrap();
        tx.put_user(&user("s1", "Alice")).unwrap();
        assert!(matches!(
            tx.put_user(&user("s2", "aLiCe")),
            Err(StoreError::Exists(_))
        ));
        tx.commit().unwrap();
        let read = store.read().unwrap();
        assert_eq!(
            read.user_by_username_key("alice")
                .unwrap()
                .unwrap()
                .subject
                .as_str(),
            "s1"
        );
        assert_eq!(read.user_count().unwrap(), 1);
    }

    #[test]
    fn renaming_a_user_moves_the_index_entry() {
        let store = Store::in_memory().unwrap();
        let tx = store.write().unwrap();
        tx.put_user(&user("s1", "alice")).unwrap();
        tx.put_user(&user("s1", "alicia")).unwrap();
        assert!(tx.user_by_username_key("alice").unwrap().is_none());
        assert!(tx.user_by_username_key("alicia").unwrap().is_some());
        assert!(tx.delete_user(&Subject::from_string("s1".into())).unwrap());
        assert!(tx.user_by_username_key("alicia").unwrap().is_none());
    }

    #[test]
    fn uncommitted_writes_are_discarded() {
        let store = Store::in_memory().unwrap();
        {
            let tx = store.write().unwrap();
            tx.put_user(&user("s1", "alice")).unwrap();
        }
        assert_eq!(store.read().unwrap().user_count().unwrap(), 0);
    }

    #[test]
    fn deleting_a_client_removes_its_grants_tokens_codes_and_consents_and_nothing_else() {
        use crate::domain::ScopeSet;
        let store = Store::in_memory().unwrap();
        let tx = store.write().unwrap();
        for id in ["gone", "kept"] {
            let client_id = ClientId::parse(id).unwrap();
            let subject = Subject::from_string("s1".into());
            tx.put_grant(&Grant {
                id: format!("g-{id}"),
                client_id: client_id.clone(),
                subject: Some(subject.clone()),
                scopes: ScopeSet::parse("openid").unwrap(),
                auth_time: None,
                sid: None,
                amr: vec![],
                nonce: None,
                requested_claims: Default::default(),
                created_at: Timestamp(1),
                expires_at: Timestamp(100),
                revoked_at: None,
                resource: None,
            })
            .unwrap();
            tx.put_refresh_token(
                &format!("r-{id}"),
                &RefreshToken {
                    grant_id: format!("g-{id}"),
                    client_id: client_id.clone(),
                    scopes: ScopeSet::parse("openid").unwrap(),
                    issued_at: Timestamp(1),
                    expires_at: Timestamp(100),
                    rotated_at: None,
                },
            )
            .unwrap();
            tx.put_code(
                &format!("c-{id}"),
                &AuthorizationCode {
                    client_id: client_id.clone(),
                    redirect_uri: "https://a.example/cb".into(),
                    redirect_uri_sent: true,
                    subject: subject.clone(),
                    scopes: ScopeSet::parse("openid").unwrap(),
                    code_challenge: None,
                    nonce: None,
                    auth_time: Timestamp(1),
                    sid: None,
                    amr: vec![],
                    expires_at: Timestamp(100),
                    redeemed_grant: None,
                    requested_claims: Default::default(),
                    resource: None,
                },
            )
            .unwrap();
            tx.put_consent(&Consent {
                subject,
                client_id,
                scopes: ScopeSet::parse("openid").unwrap(),
                granted_at: Timestamp(1),
            })
            .unwrap();
        }
        tx.delete_client(&ClientId::parse("gone").unwrap()).unwrap();
        tx.commit().unwrap();
        let read = store.read().unwrap();
        for table in [
            tables::GRANTS,
            tables::REFRESH_TOKENS,
            tables::CODES,
            tables::CONSENTS,
        ] {
            let rows = read.raw_scan(table, None, usize::MAX).unwrap();
            assert_eq!(
                rows.len(),
                1,
                "{} keeps only the other client's row",
                table.name()
            );
        }
        assert!(read.grant("g-kept").unwrap().is_some());
        assert!(read.refresh_token("r-kept").unwrap().is_some());
        assert!(read.code("c-kept").unwrap().is_some());
    }

    #[test]
    fn clients_round_trip_through_the_record_format() {
        let store = Store::in_memory().unwrap();
        let client = Client {
            client_id: ClientId::parse("app").unwrap(),
            name: "App".into(),
            redirect_uris: vec![],
            secret: None,
            grant_types: vec![],
            scopes: vec![],
            first_party: false,
            require_pkce: Some(true),
            source: ClientSource::Store,
            created_at: Timestamp(5),
            id_token_alg: Default::default(),
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            refresh_without_offline_access: false,
            allow_http_localhost: false,
            resources: vec![],
        };
        let tx = store.write().unwrap();
        tx.put_client(&client).unwrap();
        tx.commit().unwrap();
        assert_eq!(store.read().unwrap().clients().unwrap(), vec![client]);
    }
}
