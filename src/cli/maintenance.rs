//! `latchkey maintenance`, hidden from `--help`: benchmark tools for `bench/scale`. They work on
//! the data file directly, with the server stopped, and refuse a file another process holds.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use clap::Subcommand;

use super::CliError;
use super::admin::read_stdin_line;
use crate::clock::Clock;
use crate::config::{self, Config, Overrides};
use crate::crypto;
use crate::domain::ClientId;
use crate::service::{App, ServiceError, bulk, purge};
use crate::store::{Store, StoreError};

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Fill an empty data file with generated users (`scale000000`, ..., emails
    /// `scale000000@bench.test`, in groups `team0`..`team9`, the first also in `admins`), live
    /// sessions and refresh grants spread over them, and expired rows for the purge, through the
    /// store's normal writes (every index kept). Every user gets the same password, read from
    /// standard input and hashed once: hashing a million passwords with argon2 would take hours.
    /// A benchmark tool; the server must be stopped.
    BulkLoad {
        /// How many users.
        #[arg(long)]
        users: u64,
        /// How many live grants, each with a refresh token.
        #[arg(long, default_value_t = 0)]
        grants: u64,
        /// How many live sessions.
        #[arg(long, default_value_t = 0)]
        sessions: u64,
        /// How many expired sessions, and as many expired grants with their refresh tokens.
        #[arg(long, default_value_t = 0)]
        expired: u64,
        /// The client the grants are for.
        #[arg(long, default_value = "bench")]
        client: String,
        /// Rows per write transaction.
        #[arg(long, default_value_t = 10_000)]
        batch: u64,
    },
    /// Run purge rounds on the data file until nothing expired is left, and print how many rows
    /// went and how long it took. A benchmark tool; the server must be stopped.
    Purge {
        /// The most rows one round (one transaction) deletes, as the server's purge task.
        #[arg(long, default_value_t = 5_000)]
        batch: usize,
    },
    /// Time the reads an upstream sign-in makes to link a user by email, for `times` addresses of
    /// bulk-loaded users spread over the first `users`. A benchmark tool; the server must be
    /// stopped.
    EmailLookup {
        /// How many users were loaded.
        #[arg(long)]
        users: u64,
        /// How many lookups.
        #[arg(long, default_value_t = 1_000)]
        times: u64,
    },
}

/// Runs a maintenance command on the data file.
pub async fn run(config_path: Option<&Path>, command: MaintenanceCommand) -> Result<(), CliError> {
    let config = config::load_for_admin(config_path, &Overrides::from_env())?;
    let store = open_offline(&config)?;
    match command {
        MaintenanceCommand::BulkLoad {
            users,
            grants,
            sessions,
            expired,
            client,
            batch,
        } => {
            if users == 0 {
                return Err(CliError::Usage("--users must be at least 1".into()));
            }
            let client = ClientId::parse(&client).map_err(|e| CliError::Usage(format!("--client: {e}")))?;
            let password = read_stdin_line()?;
            if password.is_empty() {
                return Err(CliError::Usage(
                    "give the users' password on standard input".into(),
                ));
            }
            let password_hash = crypto::password::hash(&password, config.password_policy.argon2)
                .map_err(ServiceError::Internal)?;
            let plan = bulk::Plan {
                users,
                grants,
                sessions,
                expired,
                client,
                password_hash,
                batch,
            };
            let now = Clock::System.now();
            let started = Instant::now();
            let mut line = ProgressLine::new(started);
            tokio::task::spawn_blocking(move || bulk::load(&store, &plan, now, &mut |d, t| line.show(d, t)))
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))??;
            let seconds = started.elapsed().as_secs_f64();
            let rows = users + grants + sessions + 2 * expired;
            println!(
                "loaded {rows} rows in {seconds:.1} s ({:.0} rows/s)",
                rows as f64 / seconds.max(1e-9)
            );
            Ok(())
        }
        MaintenanceCommand::Purge { batch } => {
            let app = App::new(store, config, Clock::System).map_err(ServiceError::from)?;
            let started = Instant::now();
            let (mut rows, mut rounds) = (0, 0);
            loop {
                let n = purge::once(&app, batch).await?;
                rows += n;
                rounds += 1;
                if n < batch {
                    break;
                }
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            println!("purged {rows} rows in {rounds} rounds, {ms:.1} ms");
            Ok(())
        }
        MaintenanceCommand::EmailLookup { users, times } => {
            let stride = (users / times.max(1)).max(1);
            let started = Instant::now();
            let mut matched = 0;
            for i in 0..times {
                let address = bulk::email((i * stride + i % stride) % users.max(1));
                matched += bulk::email_link_reads(&store, &address)?;
            }
            let us = started.elapsed().as_secs_f64() * 1e6 / times.max(1) as f64;
            println!("{times} email lookups, {matched} matched, {us:.1} us each");
            Ok(())
        }
    }
}

/// Opens the data file, refusing one that a running server (or another command) holds.
fn open_offline(config: &Config) -> Result<Store, CliError> {
    if config.store != crate::config::StoreConfig::Redb {
        return Ok(Store::open_at(&crate::service::store_location(config))?);
    }
    if !config.data.exists() {
        return Err(CliError::Usage(format!(
            "no data file at {}: start the server once to make it",
            config.data.display()
        )));
    }
    match Store::open(&config.data) {
        Ok(store) => Ok(store),
        Err(StoreError::AlreadyOpen { path }) => Err(CliError::Usage(format!(
            "the data file {} is held by another process; stop the server first",
            path.display()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The fill's progress on standard error: rewritten in place on a terminal, otherwise one line
/// per 5 %.
struct ProgressLine {
    started: Instant,
    terminal: bool,
    shown: u64,
}

impl ProgressLine {
    fn new(started: Instant) -> ProgressLine {
        ProgressLine {
            started,
            terminal: std::io::stderr().is_terminal(),
            shown: 0,
        }
    }

    fn show(&mut self, done: u64, total: u64) {
        let percent = done * 100 / total.max(1);
        if !self.terminal && percent < self.shown + 5 && done < total {
            return;
        }
        self.shown = percent;
        let seconds = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / seconds.max(1e-9);
        let left = (total - done) as f64 / rate.max(1e-9);
        let mut err = std::io::stderr().lock();
        let text = format!("{done}/{total} rows ({percent}%), {rate:.0} rows/s, {left:.0} s left");
        let _ = if self.terminal {
            write!(err, "\r{text}   ")
        } else {
            writeln!(err, "{text}")
        };
        if self.terminal && done >= total {
            let _ = writeln!(err);
        }
    }
}
