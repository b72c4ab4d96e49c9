//! The server-wide commands: signing keys, backups, the audit feed and the dashboard's figures.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{BackupReport, Command};
use crate::domain::Timestamp;
use crate::service::audit::{self, AuditEvent, AuditFilter};
use crate::service::views::{KeyView, Page};
use crate::service::{App, ServiceError, blocking, keys};
use crate::store::{AuditRecord, files};

/// Lists the signing keys, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysList {}

impl Command for KeysList {
    type Output = Vec<KeyView>;
    const NAME: &'static str = "keys list";

    async fn run(self, app: &App) -> Result<Vec<KeyView>, ServiceError> {
        keys::list(app).await
    }
}

/// Makes a new active signing key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysRotate {}

impl Command for KeysRotate {
    type Output = KeyView;
    const NAME: &'static str = "keys rotate";

    fn audit_action(&self) -> Option<&'static str> {
        Some("keys.rotate")
    }

    async fn run(self, app: &App) -> Result<KeyView, ServiceError> {
        keys::rotate(app).await
    }
}

/// Writes a checked copy of the data file to `path`, which must not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    pub path: PathBuf,
}

impl Command for Backup {
    type Output = BackupReport;
    const NAME: &'static str = "backup";

    fn audit_action(&self) -> Option<&'static str> {
        Some("backup")
    }

    fn target(&self) -> Option<String> {
        Some(self.path.display().to_string())
    }

    async fn run(self, app: &App) -> Result<BackupReport, ServiceError> {
        super::backup(app, self.path).await
    }
}

/// A page of the audit feed, oldest first, optionally only the entries `filter` admits (a page
/// then reads at most [`audit::SCAN_BUDGET`] entries and may hold fewer than `limit`, with a
/// `next` cursor to read on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    pub after: Option<String>,
    pub limit: Option<usize>,
    #[serde(flatten)]
    pub filter: AuditFilter,
}

impl Command for AuditList {
    type Output = Page<AuditEvent>;
    const NAME: &'static str = "audit list";

    async fn run(self, app: &App) -> Result<Page<AuditEvent>, ServiceError> {
        audit::search(app, self.filter, self.after, self.limit).await
    }
}

/// The figures of the console's dashboard: counts, the last day's sign-ins by hour, and what
/// Latchkey can tell is wrong with how it is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {}

/// One hour of sign-ins: first-factor successes and failed steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// The hour's start (seconds since the epoch).
    pub start: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// A data file or directory that group or others may read or change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposedPath {
    pub path: String,
    pub is_dir: bool,
    /// Its permission bits.
    pub mode: u32,
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub users: u64,
    pub clients: u64,
    /// Stored sessions (expired ones too, until the purge task deletes them).
    pub sessions: u64,
    /// [`HOURS`] hours, oldest first; the last is the current hour.
    pub sign_ins: Vec<HourCount>,
    /// `false` when the feed held more sign-in entries than [`DASHBOARD_BUDGET`]: the chart then
    /// counts the oldest of them only.
    pub sign_ins_complete: bool,
    pub exposed: Vec<ExposedPath>,
    /// The time of the newest successful backup of the last [`BACKUP_WINDOW`] seconds.
    pub last_backup: Option<u64>,
    /// `false` when the feed was too long to look through the whole window.
    pub backup_checked: bool,
}

/// How many hours the sign-in chart covers.
pub const HOURS: usize = 24;
/// How far back the dashboard looks for a backup: 7 days.
pub const BACKUP_WINDOW: u64 = 7 * 86_400;
/// The most audit entries one dashboard reads for each of its figures.
pub const DASHBOARD_BUDGET: usize = 20_000;

/// The actions that finish a first sign-in step; a failed step of any `login.` action is a
/// failure.
const SIGN_IN_SUCCESSES: [&str; 3] = ["login.success", "login.passkey", "login.upstream"];

/// Whether an entry is a sign-in (`Some(true)`), a failed sign-in step (`Some(false)`), or
/// neither.
pub fn sign_in_outcome(action: &str, success: bool) -> Option<bool> {
    if !action.starts_with("login.") {
        None
    } else if !success {
        Some(false)
    } else if SIGN_IN_SUCCESSES.contains(&action) {
        Some(true)
    } else {
        None
    }
}

/// The start of the oldest hour of the chart at `now`: the current hour's start, less 23 hours.
pub fn first_hour(now: Timestamp) -> u64 {
    (now.0 - now.0 % 3_600).saturating_sub(3_600 * (HOURS as u64 - 1))
}

/// Counts `entries` into the [`HOURS`] hours that end with the one holding `now`; entries
/// outside them are left out, folded ones count as many times as they stand for.
pub fn sign_ins_by_hour<'a>(
    entries: impl IntoIterator<Item = &'a AuditRecord>,
    now: Timestamp,
) -> Vec<HourCount> {
    let first = first_hour(now);
    let mut hours: Vec<HourCount> = (0..HOURS as u64)
        .map(|h| HourCount {
            start: first + h * 3_600,
            ..HourCount::default()
        })
        .collect();
    for e in entries {
        let Some(outcome) = sign_in_outcome(&e.action, e.success) else {
            continue;
        };
        let Some(slot) = e
            .time
            .0
            .checked_sub(first)
            .and_then(|d| usize::try_from(d / 3_600).ok())
            .and_then(|h| hours.get_mut(h))
        else {
            continue;
        };
        if outcome {
            slot.succeeded = slot.succeeded.saturating_add(e.count);
        } else {
            slot.failed = slot.failed.saturating_add(e.count);
        }
    }
    hours
}

impl Command for Dashboard {
    type Output = DashboardView;
    const NAME: &'static str = "dashboard";

    async fn run(self, app: &App) -> Result<DashboardView, ServiceError> {
        let store = app.store.clone();
        let now = app.clock.now();
        let data = app.config.data.clone();
        blocking(move || {
            // The file system is read on the blocking pool, as the store is.
            let exposed = files::exposure(&data)
                .into_iter()
                .map(|e| ExposedPath {
                    path: e.path.display().to_string(),
                    is_dir: e.is_dir,
                    mode: e.mode & 0o7777,
                })
                .collect();
            store.read(|tx| {
                let login_filter = AuditFilter {
                    action: Some("login.".to_owned()),
                    from: Some(first_hour(now)),
                    ..AuditFilter::default()
                };
                let logins = audit::scan(tx, &login_filter, None, DASHBOARD_BUDGET, DASHBOARD_BUDGET)?;
                let backup_filter = AuditFilter {
                    action: Some("backup".to_owned()),
                    success: Some(true),
                    from: Some(now.0.saturating_sub(BACKUP_WINDOW)),
                    ..AuditFilter::default()
                };
                let backups = audit::scan(tx, &backup_filter, None, DASHBOARD_BUDGET, DASHBOARD_BUDGET)?;
                Ok(DashboardView {
                    users: tx.user_count()?,
                    clients: tx.clients()?.len() as u64,
                    sessions: tx.session_count()?,
                    sign_ins: sign_ins_by_hour(logins.rows.iter().map(|(_, r)| r), now),
                    sign_ins_complete: logins.next.is_none(),
                    exposed,
                    last_backup: backups.rows.last().map(|(_, r)| r.time.0),
                    // Seen one, or looked through the whole week.
                    backup_checked: backups.next.is_none() || !backups.rows.is_empty(),
                })
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: u64, action: &str, success: bool) -> AuditRecord {
        AuditRecord {
            time: Timestamp(time),
            actor: "alice".into(),
            action: action.into(),
            target: None,
            ip: None,
            success,
            count: 1,
        }
    }

    #[test]
    fn sign_ins_fall_into_the_hour_they_happened_and_old_ones_are_left_out() {
        // 08:30 (1_800_000_000 is 08:00 UTC): the chart runs from 09:00 the day before to 08:00.
        let now = Timestamp(1_800_000_000 + 1_800);
        let this_hour = now.0 - 1_800;
        let first = first_hour(now);
        assert_eq!(first, this_hour - 23 * 3_600);
        let mut folded = entry(this_hour + 5, "login.failure", false);
        folded.count = 7;
        let entries = [
            entry(first - 1, "login.success", true),
            entry(first, "login.success", true),
            entry(first + 3_599, "login.passkey", true),
            entry(first + 3_600, "login.failure", false),
            entry(this_hour, "login.upstream", true),
            folded,
            entry(this_hour + 10, "login.second_factor", true),
            entry(this_hour + 11, "login.second_factor", false),
            entry(this_hour + 12, "token.issued", true),
            entry(now.0 + 3_600, "login.success", true),
        ];
        let hours = sign_ins_by_hour(&entries, now);
        assert_eq!(hours.len(), HOURS);
        assert_eq!(
            hours[0],
            HourCount {
                start: first,
                succeeded: 2,
                failed: 0
            }
        );
        assert_eq!(
            hours[1],
            HourCount {
                start: first + 3_600,
                succeeded: 0,
                failed: 1
            }
        );
        assert!(hours[2..23].iter().all(|h| h.succeeded == 0 && h.failed == 0));
        assert_eq!(
            hours[23],
            HourCount {
                start: this_hour,
                succeeded: 1,
                failed: 8
            }
        );
    }

    #[test]
    fn only_finished_first_steps_count_as_sign_ins_and_any_failed_step_as_a_failure() {
        assert_eq!(sign_in_outcome("login.success", true), Some(true));
        assert_eq!(sign_in_outcome("login.second_factor", true), None);
        assert_eq!(sign_in_outcome("login.recovery_code", false), Some(false));
        assert_eq!(sign_in_outcome("client.create", false), None);
    }
}
