//! The audit feed: sign-ins and their failures, tokens issued and revoked, and every
//! administrative change, with who, what, when and from where. Never a secret.
//!
//! A running server gathers entries from many requests into one write transaction (see
//! [`spawn_writer`]); elsewhere (the CLI on a closed data file, tests) each entry is written at once.
//! No entry is ever dropped: when the queue is full, callers wait for room.
//!
//! Refusals of callers who proved nothing (a bad bearer token at the admin API) cost no write of
//! their own: [`denied`] counts them in memory, one entry per address, action and reason per
//! [`FOLD_SECONDS`], and [`flush_denials`] writes those entries, each with its `count`, once per
//! interval. They never enter the queue one by one, so a flood cannot crowd out real events.
//! Entries older than `[audit] retain` are deleted by the purge task.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{App, ServiceError, blocking};
use crate::crypto::{b64url, random};
use crate::domain::Timestamp;
use crate::store::AuditRecord;
use crate::store::GroupCommit;

/// The most entries waiting to be written; past it callers wait for room rather than letting a
/// flood grow memory (or losing an entry).
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
    /// How many occurrences the entry stands for (more than one for folded refusals).
    pub count: u64,
}

/// The length of the interval over which refusals from one address are folded into one entry.
pub const FOLD_SECONDS: u64 = 60;
/// The most addresses one interval keeps apart; refusals from further addresses are counted in
/// one entry per action and reason without an address, so that no caller sizes the map.
const FOLD_ADDRESSES: usize = 1_000;

/// What refusals are folded by: the interval (its number since the epoch), the address, the
/// action and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FoldKey {
    interval: u64,
    ip: Option<IpAddr>,
    action: &'static str,
    reason: &'static str,
}

/// Refusals counted so far for one key.
#[derive(Debug, Clone, Copy)]
struct Fold {
    first: Timestamp,
    count: u64,
}

/// Where entries go: a writer task, or straight to the store; and the refusals not yet written.
#[derive(Debug, Clone, Default)]
pub struct AuditSink {
    queue: Option<mpsc::Sender<AuditRecord>>,
    folds: Arc<Mutex<HashMap<FoldKey, Fold>>>,
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
pub fn spawn_writer(writer: GroupCommit<ServiceError>) -> AuditSink {
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
                    Err(err) => {
                        crate::metrics::audit_dropped(crate::metrics::AuditLoss::KeyFailed, 1);
                        tracing::warn!(error = %err, "could not key an audit entry");
                    }
                }
            }
            let count = batch.len();
            let written = writer
                .run(move |w| {
                    for (k, e) in &batch {
                        w.put_audit(k, e)?;
                    }
                    Ok(())
                })
                .await;
            if let Err(e) = written {
                crate::metrics::audit_dropped(crate::metrics::AuditLoss::WriteFailed, count);
                tracing::warn!(error = %e, "could not write audit entries");
            }
        }
    });
    AuditSink {
        queue: Some(tx),
        folds: Arc::default(),
    }
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
        count: 1,
    };
    write(app, vec![entry]).await
}

/// Hands entries to the writer task, waiting for room in its queue if need be, or writes them
/// to the store in one transaction.
async fn write(app: &App, entries: Vec<AuditRecord>) -> Result<(), ServiceError> {
    match &app.audit.queue {
        Some(queue) => {
            for entry in entries {
                let entry = match queue.try_send(entry) {
                    Ok(()) => continue,
                    Err(mpsc::error::TrySendError::Full(entry)) => entry,
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        return Err(ServiceError::Internal("the audit writer has stopped".into()));
                    }
                };
                if queue.send(entry).await.is_err() {
                    return Err(ServiceError::Internal("the audit writer has stopped".into()));
                }
            }
            Ok(())
        }
        None => {
            let now = app.clock.now();
            let keyed = entries
                .into_iter()
                .map(|e| Ok((key(now)?, e)))
                .collect::<Result<Vec<_>, ServiceError>>()?;
            let store = app.store.clone();
            blocking(move || {
                store.write(|w| {
                    for (k, e) in &keyed {
                        w.put_audit(k, e)?;
                    }
                    Ok(())
                })
            })
            .await
        }
    }
}

/// Counts a refused call from `ip` that proved nothing (no live credential): no write now, one
/// folded entry per address, `action` and `reason` per interval, written by [`flush_denials`].
/// `reason` is one of a few fixed words, so that no caller chooses what is kept.
pub fn denied(app: &App, action: &'static str, reason: &'static str, ip: IpAddr) {
    let now = app.clock.now();
    let mut folds = app.audit.folds.lock().unwrap_or_else(|e| e.into_inner());
    let mut key = FoldKey {
        interval: now.0 / FOLD_SECONDS,
        ip: Some(ip),
        action,
        reason,
    };
    if !folds.contains_key(&key) && folds.len() >= FOLD_ADDRESSES {
        key.ip = None;
    }
    folds
        .entry(key)
        .and_modify(|f| f.count = f.count.saturating_add(1))
        .or_insert(Fold { first: now, count: 1 });
}

/// Which folded refusals [`flush_denials`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Those of intervals that have ended (the purge task, once per interval).
    Ended,
    /// All of them, the current interval's too (at shutdown).
    All,
}

/// Writes the folded refusals that `which` selects as one entry each, with its `count` and the
/// time of its first refusal; returns how many entries it wrote.
pub async fn flush_denials(app: &App, which: Flush) -> Result<usize, ServiceError> {
    let current = app.clock.now().0 / FOLD_SECONDS;
    let mut ready: Vec<(FoldKey, Fold)> = {
        let mut folds = app.audit.folds.lock().unwrap_or_else(|e| e.into_inner());
        folds
            .extract_if(|k, _| which == Flush::All || k.interval < current)
            .collect()
    };
    if ready.is_empty() {
        return Ok(0);
    }
    ready.sort_by_key(|(k, f)| (f.first, k.ip.is_none()));
    let entries: Vec<AuditRecord> = ready
        .into_iter()
        .map(|(k, f)| AuditRecord {
            time: f.first,
            actor: "anonymous".to_owned(),
            action: k.action.to_owned(),
            target: Some(k.reason.to_owned()),
            ip: k.ip.map(|i| i.to_string()),
            success: false,
            count: f.count,
        })
        .collect();
    let n = entries.len();
    match which {
        Flush::Ended => write(app, entries).await?,
        Flush::All => {
            // At shutdown the writer task may not get to its queue: commit here, and only then
            // return.
            let now = app.clock.now();
            let keyed = entries
                .into_iter()
                .map(|e| Ok((key(now)?, e)))
                .collect::<Result<Vec<_>, ServiceError>>()?;
            app.writer
                .run(move |w| {
                    for (k, e) in &keyed {
                        w.put_audit(k, e)?;
                    }
                    Ok(())
                })
                .await?;
        }
    }
    Ok(n)
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
        crate::metrics::audit_dropped(crate::metrics::AuditLoss::WriteFailed, 1);
        tracing::warn!(error = %e, action, "could not record an audit entry");
    }
}

/// A page of the feed, oldest first, after the cursor `after`.
pub async fn list(
    app: &App,
    after: Option<String>,
    limit: Option<usize>,
) -> Result<super::views::Page<AuditEvent>, ServiceError> {
    search(app, AuditFilter::default(), after, limit).await
}

/// The most entries one page of a filtered feed reads: a page of a narrow filter over a long feed
/// may hold fewer matches than asked for (even none) and a cursor to read on from.
pub const SCAN_BUDGET: usize = 5_000;

/// Which entries of the feed to list; every field left empty admits every entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this actor (exactly).
    #[serde(default)]
    pub actor: Option<String>,
    /// Only actions that start with this (`login.` for every sign-in step).
    #[serde(default)]
    pub action: Option<String>,
    /// Only successes (`true`) or only failures (`false`).
    #[serde(default)]
    pub success: Option<bool>,
    /// Only entries at or after this time (seconds since the epoch).
    #[serde(default)]
    pub from: Option<u64>,
    /// Only entries before this time.
    #[serde(default)]
    pub to: Option<u64>,
}

impl AuditFilter {
    fn admits(&self, r: &AuditRecord) -> bool {
        self.actor.as_ref().is_none_or(|a| *a == r.actor)
            && self
                .action
                .as_ref()
                .is_none_or(|a| r.action.starts_with(a.as_str()))
            && self.success.is_none_or(|s| s == r.success)
            && self.from.is_none_or(|f| r.time.0 >= f)
    }

    /// Whether an entry at `time` lies past the range (keys grow with time, so all after it do).
    fn past(&self, time: Timestamp) -> bool {
        self.to.is_some_and(|t| time.0 >= t)
    }

    /// Where a scan starts: after the cursor, and not before the range's start (keys begin with
    /// the entry's time, zero-padded, so `{from:020}` sorts before every key of that second).
    fn start(&self, after: Option<String>) -> Option<String> {
        let floor = self.from.map(|f| format!("{f:020}"));
        match (after, floor) {
            (Some(a), Some(f)) => Some(a.max(f)),
            (a, f) => a.or(f),
        }
    }
}

/// What a [`scan`] found: the entries, with their keys, and the cursor to continue from when more
/// may follow.
#[derive(Debug, Default)]
pub struct Scanned {
    pub rows: Vec<(String, AuditRecord)>,
    pub next: Option<String>,
}

/// Reads the feed from `after` through the entries `filter` admits, at most [`SCAN_BUDGET`] of
/// them, until `limit` match: the matches, and the cursor to continue from when more may follow.
pub fn scan(
    tx: &dyn crate::store::Reads,
    filter: &AuditFilter,
    after: Option<String>,
    limit: usize,
    budget: usize,
) -> Result<Scanned, ServiceError> {
    let mut cursor = filter.start(after);
    let mut found: Vec<(String, AuditRecord)> = Vec::new();
    let mut read = 0usize;
    loop {
        let want = (budget - read).min(limit + 1);
        if want == 0 {
            // The budget is spent before the feed or the range ended: go on from here.
            return Ok(Scanned {
                rows: found,
                next: cursor,
            });
        }
        let rows = tx.audit_entries(cursor.as_deref(), want)?;
        if rows.is_empty() {
            return Ok(Scanned {
                rows: found,
                next: None,
            });
        }
        read += rows.len();
        for (key, r) in rows {
            if filter.past(r.time) {
                return Ok(Scanned {
                    rows: found,
                    next: None,
                });
            }
            cursor = Some(key.clone());
            if filter.admits(&r) {
                found.push((key, r));
                if found.len() > limit {
                    found.truncate(limit);
                    let next = found.last().map(|(k, _)| k.clone());
                    return Ok(Scanned { rows: found, next });
                }
            }
        }
    }
}

/// A page of the entries `filter` admits, oldest first, after the cursor `after`. One page reads
/// at most [`SCAN_BUDGET`] entries, so it may hold fewer than `limit` with a `next` to read on.
pub async fn search(
    app: &App,
    filter: AuditFilter,
    after: Option<String>,
    limit: Option<usize>,
) -> Result<super::views::Page<AuditEvent>, ServiceError> {
    let limit = limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let Scanned { rows, next } = scan(tx, &filter, after, limit, SCAN_BUDGET)?;
            let items = rows.into_iter().map(|(id, r)| event(id, r)).collect();
            Ok(super::views::Page { items, next })
        })
    })
    .await
}

/// An entry as listed.
pub fn event(id: String, r: AuditRecord) -> AuditEvent {
    AuditEvent {
        id,
        time: r.time.0,
        actor: r.actor,
        action: r.action,
        target: r.target,
        ip: r.ip,
        success: r.success,
        count: r.count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::config::{self, Overrides};
    use crate::store::Store;

    /// An app whose audit queue holds `room` entries and is drained only by the test.
    fn app_with_a_queue_of(room: usize) -> (App, mpsc::Receiver<AuditRecord>) {
        let config = config::parse("test", "", None, &Overrides::default()).unwrap();
        let mut app = App::new(
            Store::in_memory().unwrap(),
            config,
            Clock::fixed(Timestamp(6_000)),
        )
        .unwrap();
        let (tx, rx) = mpsc::channel(room);
        app.audit = AuditSink {
            queue: Some(tx),
            folds: Arc::default(),
        };
        (app, rx)
    }

    /// Regression (security review, item 3): a full queue dropped new entries, so a flood of
    /// refusals could push real events out. Refusals now never enter the queue one by one, and a
    /// real event waits for room instead of being dropped.
    #[tokio::test(flavor = "current_thread")]
    async fn a_flood_of_refusals_never_pushes_a_real_event_out_of_a_full_queue() {
        let (app, mut rx) = app_with_a_queue_of(1);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        note(&app, "root", "user.create", Some("first"), Some(ip), true).await;
        for n in 0..10_000u32 {
            let from = IpAddr::from([198, 51, (n >> 8) as u8, n as u8]);
            denied(&app, "admin.denied", "unauthorized", from);
        }
        // The second event comes while the queue is still full: its task runs until it waits.
        let second = {
            let app = app.clone();
            tokio::spawn(async move {
                note(&app, "root", "user.delete", Some("second"), Some(ip), true).await;
            })
        };
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        // Taking the first entry out makes room, which the waiting second one gets.
        let first = rx.recv().await.unwrap();
        second.await.unwrap();
        let second = rx.try_recv().ok();
        assert_eq!(
            [Some(first), second].map(|e| e.map(|e| (e.action, e.target))),
            [
                Some(("user.create".to_owned(), Some("first".to_owned()))),
                Some(("user.delete".to_owned(), Some("second".to_owned()))),
            ]
        );
        assert!(rx.try_recv().is_err(), "no refusal entered the queue by itself");
    }

    #[tokio::test]
    async fn refusals_are_written_once_their_interval_has_ended_one_counted_entry_per_address() {
        let (app, mut rx) = app_with_a_queue_of(2 * FOLD_ADDRESSES);
        for n in 0..10_000u32 {
            let from = IpAddr::from([198, 51, (n >> 8) as u8, n as u8 % 200]);
            denied(&app, "admin.denied", "unauthorized", from);
        }
        assert_eq!(
            flush_denials(&app, Flush::Ended).await.unwrap(),
            0,
            "the interval goes on"
        );
        app.clock.advance(crate::domain::Duration::seconds(FOLD_SECONDS));
        // Up to the limit, one entry per address; then one for all the other addresses.
        assert_eq!(
            flush_denials(&app, Flush::Ended).await.unwrap(),
            FOLD_ADDRESSES + 1
        );
        let mut folded = Vec::new();
        while let Ok(e) = rx.try_recv() {
            folded.push(e);
        }
        assert_eq!(folded.len(), FOLD_ADDRESSES + 1);
        assert_eq!(folded.iter().map(|e| e.count).sum::<u64>(), 10_000);
        let rest: Vec<&AuditRecord> = folded.iter().filter(|e| e.ip.is_none()).collect();
        assert_eq!(rest.len(), 1);
        assert!(
            folded
                .iter()
                .all(|e| e.action == "admin.denied" && !e.success && e.time.0 == 6_000)
        );
        assert_eq!(
            flush_denials(&app, Flush::All).await.unwrap(),
            0,
            "each written once"
        );
    }
}
