//! The server-wide commands: signing keys, backups and the audit feed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{BackupReport, Command};
use crate::service::audit::{self, AuditEvent};
use crate::service::views::{KeyView, Page};
use crate::service::{App, ServiceError, keys};

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

/// A page of the audit feed, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditList {
    pub after: Option<String>,
    pub limit: Option<usize>,
}

impl Command for AuditList {
    type Output = Page<AuditEvent>;
    const NAME: &'static str = "audit list";

    async fn run(self, app: &App) -> Result<Page<AuditEvent>, ServiceError> {
        audit::list(app, self.after, self.limit).await
    }
}
