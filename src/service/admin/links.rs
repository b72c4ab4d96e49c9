//! The link commands: which upstream identities sign in as a user, and linking or unlinking one.

use serde::{Deserialize, Serialize};

use super::Command;
use crate::service::upstream::{self, LinkView};
use crate::service::{App, ServiceError};

/// Lists the upstream identities linked to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinksList {
    pub user: String,
}

impl Command for LinksList {
    type Output = Vec<LinkView>;
    const NAME: &'static str = "user links";

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<Vec<LinkView>, ServiceError> {
        upstream::links_of(app, self.user).await
    }
}

/// Links an upstream identity to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAdd {
    pub user: String,
    pub upstream: String,
    pub subject: String,
}

impl Command for LinkAdd {
    type Output = LinkView;
    const NAME: &'static str = "user link";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.link")
    }

    fn target(&self) -> Option<String> {
        Some(format!("{} / {} / {}", self.user, self.upstream, self.subject))
    }

    async fn run(self, app: &App) -> Result<LinkView, ServiceError> {
        upstream::link(app, self.user, self.upstream, self.subject).await
    }
}

/// Removes a link between an upstream identity and a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRemove {
    pub user: String,
    pub upstream: String,
    pub subject: String,
}

impl Command for LinkRemove {
    type Output = LinkView;
    const NAME: &'static str = "user unlink";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.unlink")
    }

    fn target(&self) -> Option<String> {
        Some(format!("{} / {} / {}", self.user, self.upstream, self.subject))
    }

    async fn run(self, app: &App) -> Result<LinkView, ServiceError> {
        upstream::unlink(app, self.user, self.upstream, self.subject).await
    }
}
