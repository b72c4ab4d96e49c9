//! The audit feed: sign-ins and their failures, tokens issued and revoked, and every
//! administrative change, with who, what, when and from where. Never a secret.
//!
//! A running server gathers entries from many requests into one write transaction (see
//! [`spawn_writer`]); elsewhere (the CLI on a closed data file, tests) each entry is written at once.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::group_commit::GroupCommit;
use super::{App, ServiceError, blocking};
use crate::crypto::{b64url, random};
use crate::domain::Timestamp;
use crate::store::{AuditRecord, Reads};

/// The most entries waiting to be written; past it new entries are dropped with a warning rather
/// than letting a flood grow memory.
const QUEUE: usize = 10_000;
/// The most entries one transaction writes.
const BATCH: usize = 1_000;
/// The most entries one page of the feed holds.
pub const MAX_PAGE: usize = 500;

/// One audit event, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub time: u64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub success: bool,
}

/// Where entries go: a writer task, or straight to the store.
#[derive(Debug, Clone, Default)]
pub struct AuditSink {
    queue: Option<mpsc::Sender<AuditRecord>>,
}

/// Orders the entries of one second: a process-wide count, so that the feed lists them in the
/// order they were written, and a reader paging with `after` never skips an entry written after
/// it read a page of the same second. The random part keeps keys unique across processes.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn key(time: Timestamp) -> Result<String, ServiceError> {
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    Ok(format!(
        "{:020}-{seq:016x}-{}",
        time.0,
        b64url(&random::bytes::<6>()?)
    ))
}

/// Starts the task that hands entries to the group-commit `writer` in batches; returns the sink
/// to use. The entries then share their commit (and fsync) with the code, session and token
/// writes of the same moment instead of taking the write lock for one of their own.
/// Keys are given here, in the order entries are written, so that they only ever grow (an entry
/// whose clock reading is older than one already written is keyed at the later second).
pub fn spawn_writer(writer: GroupCommit) -> AuditSink {
    let (tx, mut rx) = mpsc::channel::<AuditRecord>(QUEUE);
    tokio::spawn(async move {
        let mut latest = Timestamp(0);
        while let Some(first) = rx.recv().await {
            let mut entries = vec![first];
            while entries.len() < BATCH {
                match rx.try_recv() {
                    Ok(e) => entries.push(e),
                    Err(_) => break,
                }
            }
            let mut batch = Vec::with_capacity(entries.len());
            for e in entries {
                latest = latest.max(e.time);
                match key(latest) {
                    Ok(k) => batch.push((k, e)),
                    Err(err) => tracing::warn!(error = %err, "could not key an audit entry"),
                }
            }
            let written = writer
                .run(move |w| {
                    for (k, e) in &batch {
                        w.put_audit(k, e)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "could not write audit entries");
            }
        }
    });
    AuditSink { queue: Some(tx) }
}

/// Records an event. `actor` is a username, `client:ID` or `cli`; `target` names what was acted on.
pub async fn record(
    app: &App,
    actor: &str,
    action: &str,
    target: Option<&str>,
    ip: Option<IpAddr>,
    success: bool,
) -> Result<(), ServiceError> {
    let now = app.clock.now();
    let entry = AuditRecord {
        time: now,
        actor: actor.chars().take(200).collect(),
        action: action.to_owned(),
        target: target.map(|t| t.chars().take(200).collect()),
        ip: ip.map(|i| i.to_string()),
        success,
    };
    match &app.audit.queue {
        Some(queue) => {
            if queue.try_send(entry).is_err() {
                tracing::warn!(action, "the audit queue is full; an entry was dropped");
            }
            Ok(())
        }
        None => {
            let k = key(now)?;
            let store = app.store.clone();
            blocking(move || {
                let w = store.write()?;
                w.put_audit(&k, &entry)?;
                w.commit()?;
                Ok(())
            })
            .await
        }
    }
}

/// Records an event and only logs if that fails: for paths whose answer must not depend on it.
pub async fn note(
    app: &App,
    actor: &str,
    action: &str,
    target: Option<&str>,
    ip: Option<IpAddr>,
    success: bool,
) {
    if let Err(e) = record(app, actor, action, target, ip, success).await {
        tracing::warn!(error = %e, action, "could not record an audit entry");
    }
}

/// A page of the feed, oldest first, after the cursor `after`.
pub async fn list(
    app: &App,
    after: Option<String>,
    limit: Option<usize>,
) -> Result<super::views::Page<AuditEvent>, ServiceError> {
    let limit = limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let store = app.store.clone();
    blocking(move || {
        let tx = store.read()?;
        let mut rows = tx.audit_entries(after.as_deref(), limit + 1)?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(|(k, _)| k.clone())
        } else {
            None
        };
        let items = rows
            .into_iter()
            .map(|(id, r)| AuditEvent {
                id,
                time: r.time.0,
                actor: r.actor,
                action: r.action,
                target: r.target,
                ip: r.ip,
                success: r.success,
            })
            .collect();
        Ok(super::views::Page { items, next })
    })
    .await
}
