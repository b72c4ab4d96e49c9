//! The session and consent commands: list a user's sessions or everyone's, a user's consents, end sessions, forget a
//! consent.

use serde::{Deserialize, Serialize};

use super::{Command, Done};
use crate::service::authorize::{self, ConsentView};
use crate::service::login::{self, SessionView, UserSessionView};
use crate::service::views::Page;
use crate::service::{App, ServiceError};

/// Lists a user's live sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsList {
    pub user: String,
}

impl Command for SessionsList {
    type Output = Vec<SessionView>;
    const NAME: &'static str = "sessions list";

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<Vec<SessionView>, ServiceError> {
        login::sessions_of(app, self.user).await
    }
}

/// A page of every user's live sessions, in username order, after the lower-cased username
/// `after` (see [`login::all_sessions`] for where a page ends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsAll {
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

impl Command for SessionsAll {
    type Output = Page<UserSessionView>;
    const NAME: &'static str = "sessions all";

    async fn run(self, app: &App) -> Result<Page<UserSessionView>, ServiceError> {
        login::all_sessions(app, self.after, self.limit.unwrap_or(100)).await
    }
}

/// Ends one session of a user (`sid`), or all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsRevoke {
    pub user: String,
    pub sid: Option<String>,
}

impl Command for SessionsRevoke {
    type Output = Done;
    const NAME: &'static str = "sessions revoke";

    fn audit_action(&self) -> Option<&'static str> {
        Some("sessions.revoke")
    }

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<Done, ServiceError> {
        let count = login::revoke_sessions(app, self.user, self.sid).await?;
        Ok(Done { count })
    }
}

/// Lists the consents a user gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentsList {
    pub user: String,
}

impl Command for ConsentsList {
    type Output = Vec<ConsentView>;
    const NAME: &'static str = "consents list";

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<Vec<ConsentView>, ServiceError> {
        authorize::consents_of(app, self.user).await
    }
}

/// Forgets a user's consent to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRevoke {
    pub user: String,
    pub client_id: String,
}

impl Command for ConsentRevoke {
    type Output = Done;
    const NAME: &'static str = "consent revoke";

    fn audit_action(&self) -> Option<&'static str> {
        Some("consent.revoke")
    }

    fn target(&self) -> Option<String> {
        Some(format!("{} / {}", self.user, self.client_id))
    }

    async fn run(self, app: &App) -> Result<Done, ServiceError> {
        authorize::revoke_consent(app, self.user, self.client_id).await?;
        Ok(Done { count: 1 })
    }
}
