//! Connections: the options a node is given, the driver's runtime, and the `r2d2` pool.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, NoTls, Statement};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

use super::Failure;
use super::tx::Sql;
use crate::store::StoreError;

/// How long a node waits for a connection (a new one, or a free one from a full pool) before the
/// request fails as unavailable.
const CONNECT_WITHIN: Duration = Duration::from_secs(3);

/// How a node reaches its database.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    /// A libpq-style URL or key-value string (`postgres://user:password@host:5432/db`). Secret:
    /// never logged, never shown.
    pub url: String,
    /// The schema that holds Latchkey's tables (created at start if missing).
    pub schema: String,
    /// The most connections this node opens.
    pub pool_size: u32,
    /// Certificates (PEM) that the server's certificate must chain to when the URL asks for TLS
    /// (`sslmode=require`); without it, the public web roots.
    pub tls_ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("url", &"<secret>")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish()
    }
}

/// Whether `name` can be a schema name as Latchkey writes it, unquoted in messages and quoted in
/// SQL: lower-case ASCII letters, digits and `_`, not starting with a digit, at most 63 bytes.
pub fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The runtime that drives every connection of one store. Dropped without waiting, from any
/// thread (a tokio runtime may not be dropped inside another's worker).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// One connection, with its prepared statements.
pub struct Conn {
    client: Client,
    statements: RefCell<HashMap<String, Statement>>,
    /// Set when the connection is in a state no one should reuse (a failed rollback).
    poisoned: Cell<bool>,
}

impl Conn {
    /// The prepared statement for `sql`, prepared on first use on this connection.
    pub fn statement(&self, sql: &str) -> Result<Statement, Failure> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let prepared = futures_executor::block_on(self.client.prepare(sql)).map_err(|e| self.failure(&e))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What went wrong, as the store keeps it.
    pub fn failure(&self, e: &tokio_postgres::Error) -> Failure {
        Failure::from_pg(e, self.client.is_closed())
    }

    /// Runs statements without parameters (`BEGIN ...`).
    pub fn batch(&self, sql: &str) -> Result<(), StoreError> {
        futures_executor::block_on(self.client.batch_execute(sql))
            .map_err(|e| StoreError::from(self.failure(&e)))
    }

    /// Commits the open transaction.
    pub fn commit(&self) -> Result<(), Failure> {
        futures_executor::block_on(self.client.batch_execute("COMMIT")).map_err(|e| self.failure(&e))
    }

    /// Ends the open transaction without keeping anything; a connection whose rollback fails is
    /// never reused.
    pub fn rollback(&self) {
        if futures_executor::block_on(self.client.batch_execute("ROLLBACK")).is_err() {
            self.poisoned.set(true);
        }
    }
}

/// Makes connections on the store's runtime.
pub struct Manager {
    config: tokio_postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    runtime: tokio::runtime::Handle,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = StoreError;

    fn connect(&self) -> Result<Conn, StoreError> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let connecting = self.runtime.spawn(async move {
            let client = match tls {
                Some(tls) => {
                    let (client, connection) = config.connect(tls).await?;
                    tokio::spawn(connection);
                    client
                }
                None => {
                    let (client, connection) = config.connect(NoTls).await?;
                    tokio::spawn(connection);
                    client
                }
            };
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = futures_executor::block_on(connecting)
            .map_err(|e| StoreError::Unreachable(format!("the driver stopped: {e}")))?
            .map_err(|e| StoreError::from(Failure::from_pg(&e, true)))?;
        Ok(Conn {
            client,
            statements: RefCell::default(),
            poisoned: Cell::new(false),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), StoreError> {
        conn.batch("")
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed() || conn.poisoned.get()
    }
}

/// The pool of one store, and the SQL of its schema.
pub struct Pool {
    pool: r2d2::Pool<Manager>,
    sql: Sql,
    // Declared last: dropped after the pool, whose connections it drives.
    _runtime: Runtime,
}

impl Pool {
    pub fn new(options: &Options) -> Result<Pool, StoreError> {
        if !valid_schema(&options.schema) {
            return Err(StoreError::Db(format!(
                "`{}` is not a schema name Latchkey uses (lower-case letters, digits and `_`)",
                options.schema
            )));
        }
        let mut config: tokio_postgres::Config = options
            .url
            .parse()
            .map_err(|e| StoreError::Db(format!("the database URL does not parse: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_WITHIN);
        }
        if config.get_application_name().is_none() {
            config.application_name("latchkey");
        }
        let tls = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => None,
            _ => Some(tls_connector(options.tls_ca_file.as_deref())?),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("latchkey-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unreachable(format!("cannot start the driver: {e}")))?;
        let manager = Manager {
            config,
            tls,
            runtime: runtime.handle().clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(CONNECT_WITHIN)
            .test_on_check_out(false)
            .error_handler(Box::new(Quiet))
            .build_unchecked(manager);
        Ok(Pool {
            pool,
            sql: Sql::new(&options.schema),
            _runtime: Runtime(Some(runtime)),
        })
    }

    pub fn schema(&self) -> &str {
        self.sql.schema()
    }

    pub fn sql(&self) -> &Sql {
        &self.sql
    }

    /// A connection that is not known to be closed. One whose server went away (a database
    /// restart) is dropped and the next taken, so that a restart costs no request an error once
    /// the database is back.
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        for _ in 0..=self.pool.max_size() {
            let conn = self
                .pool
                .get()
                // r2d2 ends its message with the last connection error, which says "cannot be
                // reached" itself.
                .map_err(|e| {
                    StoreError::Unreachable(e.to_string().replace("the database cannot be reached: ", ""))
                })?;
            if !conn.client.is_closed() {
                return Ok(conn);
            }
            conn.poisoned.set(true);
        }
        Err(StoreError::Unreachable("it closes every connection".into()))
    }
}

/// r2d2 logs connection errors itself by default, with the driver's message; the store reports
/// them to the caller instead, who logs them once with context.
#[derive(Debug)]
struct Quiet;

impl r2d2::HandleError<StoreError> for Quiet {
    fn handle_error(&self, error: StoreError) {
        tracing::debug!(error = %error, "a database connection could not be made");
    }
}

fn tls_connector(
    ca_file: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| {
                StoreError::Db(format!(
                    "cannot read the database CA file {}: {e}",
                    path.display()
                ))
            })?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    StoreError::Db(format!("the database CA file {} is not PEM: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    StoreError::Db(format!("a certificate in {} is not usable: {e}", path.display()))
                })?;
            }
            if roots.is_empty() {
                return Err(StoreError::Db(format!(
                    "the database CA file {} holds no certificate",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Db(format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}
