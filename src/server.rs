//! `latchkey serve`: open the store, prepare keys, clients and the setup link, then serve HTTP and
//! the admin socket until SIGTERM or SIGINT, finishing requests in flight.

use std::time::Duration as StdDuration;

use crate::admin_socket;
use crate::clock::Clock;
use crate::config::{Config, ConfigError, Problem};
use crate::service::{App, ServiceError, clients, keys, setup};
use crate::store::files;
use crate::web::serve::{self, BindError};

/// Why the server did not start or stopped with an error, with the message for standard error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Service(#[from] ServiceError),
    /// The server refuses to start, and says why.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Refuses a data file or directory that group or others can read or write, or with
/// `--allow-readable-data` only warns, loudly, on standard error and in the log.
fn check_data_permissions(config: &Config, allow_readable_data: bool) -> Result<(), ServeError> {
    if config.store != crate::config::StoreConfig::Redb {
        // PostgreSQL keeps the data; its files are the database server's to guard.
        return Ok(());
    }
    let exposed = files::exposure(&config.data);
    if exposed.is_empty() {
        return Ok(());
    }
    if allow_readable_data {
        for e in &exposed {
            eprintln!("\nWARNING: {e}\n(starting anyway because of --allow-readable-data)\n");
            tracing::warn!(path = %e.path.display(), mode = format!("{:04o}", e.mode & 0o7777), "the data file or its directory is readable by group or others");
        }
        return Ok(());
    }
    let reasons: Vec<String> = exposed.iter().map(ToString::to_string).collect();
    Err(ServeError::Refused(format!(
        "refusing to start: {}\n(start with --allow-readable-data to run anyway with a warning)",
        reasons.join("\n")
    )))
}

/// Runs the server until a shutdown signal; `allow_readable_data` is `serve`'s option of that name.
pub async fn run(config: Config, allow_readable_data: bool) -> Result<(), ServeError> {
    check_data_permissions(&config, allow_readable_data)?;
    if config.metrics.enabled {
        crate::metrics::enable();
    }
    let store = crate::service::open_store(crate::service::store_location(&config))
        .await
        .map_err(|e| match e {
            ServiceError::Internal(m) => ServeError::Refused(m),
            other => ServeError::Service(other),
        })?;
    let app = App::new(store, config, Clock::System)
        .map_err(ServiceError::from)?
        .with_audit_writer();
    clients::sync_declared(&app).await?;
    let kid = keys::ensure_active(&app).await?;
    crate::service::forms::ensure_key(&app).await?;
    if let Some(token) = setup::start(&app).await? {
        // Printed straight to standard error rather than through the log, so that log shipping
        // never carries the token.
        eprintln!(
            "\nNo user exists yet. Create the first administrator within one hour at:\n\n    {}/setup?token={}\n",
            app.config.issuer, token
        );
    }
    // Bound, and the TLS files loaded, before the admin socket and the purge task start, so that
    // a failure here leaves nothing to clean up.
    let listening = serve::bind(app.config.listen, app.config.tls.as_ref())
        .await
        .map_err(|e| match e {
            BindError::Io(e) => ServeError::Io(e),
            BindError::Tls(e) => ServeError::Config(ConfigError {
                origin: app.config.origin.clone(),
                problems: vec![Problem {
                    line: None,
                    key: e.key.name().to_owned(),
                    message: e.message,
                }],
            }),
        })?;
    if app.store.is_shared() {
        // With PostgreSQL nothing else makes the folder the admin socket goes in, and no file
        // lock keeps a second node on this machine off the same socket.
        files::create_private_dir(&app.config.data).map_err(ServiceError::from)?;
        if admin_socket::connect(&admin_socket::socket_path(&app.config.data))
            .await
            .is_some()
        {
            return Err(ServeError::Refused(format!(
                "another node answers on the admin socket {}: give each node on this machine its own `data` path",
                admin_socket::socket_path(&app.config.data).display()
            )));
        }
    }
    let socket = admin_socket::serve(app.clone(), &app.config.data).await?;
    let purger = tokio::spawn(purge_forever(app.clone()));

    for addr in listening.addresses() {
        tracing::info!(
            address = %addr,
            tls = app.config.tls.is_some(),
            issuer = %app.config.issuer,
            config = %app.config.origin,
            data = %app.config.data.display(),
            store = %app.store.describe(),
            kid = %kid,
            "latchkey {} listening",
            env!("CARGO_PKG_VERSION")
        );
    }
    let socket_path = admin_socket::socket_path(&app.config.data);
    let result = listening
        .serve(app.clone(), shutdown_signal(), StdDuration::from_secs(10))
        .await;
    socket.abort();
    purger.abort();
    // Refusals counted since the last purge round are written before the process ends.
    if let Err(e) = crate::service::audit::flush_denials(&app, crate::service::audit::Flush::All).await {
        tracing::warn!(error = %e, "could not write the folded audit entries");
    }
    let _ = std::fs::remove_file(&socket_path);
    tracing::info!("stopped");
    Ok(result?)
}

/// How often expired codes, tokens, denied `jti`s, sessions and old audit entries are deleted,
/// and folded refusals written to the audit feed (once per fold interval).
const PURGE_EVERY: StdDuration = StdDuration::from_secs(crate::service::audit::FOLD_SECONDS);
/// The most rows one purge transaction deletes, so that it never holds the writer for long.
const PURGE_BATCH: usize = 5_000;

/// Deletes expired rows in the background, a bounded batch at a time (see
/// [`crate::service::purge::once`]), and rotates the signing keys when `keys.rotate_every` says so.
/// The first round runs one interval after the start, so that a start never waits for it (keys
/// that fell due while the server was stopped are rotated at once); a
/// round that deleted a full batch is followed by another at once (each its own transaction, so
/// other writes go in between) until the expired rows are gone.
async fn purge_forever(app: App) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + PURGE_EVERY, PURGE_EVERY);
    // A key that fell due while the server was stopped is rotated now, not an interval later.
    rotate_keys_if_due(&app).await;
    loop {
        tick.tick().await;
        let mut rows = 0;
        loop {
            match crate::service::purge::once(&app, PURGE_BATCH).await {
                Ok(n) => {
                    rows += n;
                    if n < PURGE_BATCH {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "purging expired rows failed");
                    break;
                }
            }
        }
        if rows > 0 {
            tracing::debug!(rows, "purged expired rows");
        }
        rotate_keys_if_due(&app).await;
    }
}

async fn rotate_keys_if_due(app: &App) {
    if let Err(e) = keys::rotate_if_due(app).await {
        tracing::warn!(error = %e, "automatic key rotation failed");
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
