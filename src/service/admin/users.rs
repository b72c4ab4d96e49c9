//! The user commands: create, list, show, change the password, profile and groups, disable or
//! enable, delete, invite, reset the second factors.

use serde::{Deserialize, Serialize};

use super::{Command, Done};
use crate::domain::NewUser;
use crate::service::invitations::{self, InvitationView};
use crate::service::users::{self, ListUsers};
use crate::service::views::{Page, UserView};
use crate::service::{App, ServiceError};

/// Creates a user, with a password or without one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAdd {
    pub user: NewUser,
    pub password: Option<String>,
}

impl Command for UserAdd {
    type Output = UserView;
    const NAME: &'static str = "user add";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.create")
    }

    fn target(&self) -> Option<String> {
        Some(self.user.username.clone())
    }

    async fn run(self, app: &App) -> Result<UserView, ServiceError> {
        users::add(app, self.user, self.password).await
    }
}

/// Lists users in username order, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub query: ListUsers,
}

impl Command for UserList {
    type Output = Page<UserView>;
    const NAME: &'static str = "user list";

    async fn run(self, app: &App) -> Result<Page<UserView>, ServiceError> {
        users::list(app, self.query).await
    }
}

/// Shows one user, by username or subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserShow {
    pub user: String,
}

impl Command for UserShow {
    type Output = UserView;
    const NAME: &'static str = "user show";

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<UserView, ServiceError> {
        users::get(app, self.user).await
    }
}

/// Sets a user's password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPasswd {
    pub user: String,
    pub password: String,
}

impl Command for UserPasswd {
    type Output = UserView;
    const NAME: &'static str = "user passwd";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.password")
    }

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<UserView, ServiceError> {
        users::set_password(app, self.user, self.password).await
    }
}

/// Disables a user, or enables a disabled one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSetDisabled {
    pub user: String,
    pub disabled: bool,
}

impl Command for UserSetDisabled {
    type Output = UserView;
    const NAME: &'static str = "user disable/enable";

    fn audit_action(&self) -> Option<&'static str> {
        Some(if self.disabled {
            "user.disable"
        } else {
            "user.enable"
        })
    }

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<UserView, ServiceError> {
        users::set_disabled(app, self.user, self.disabled).await
    }
}

/// Deletes a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDelete {
    pub user: String,
}

impl Command for UserDelete {
    type Output = UserView;
    const NAME: &'static str = "user delete";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.delete")
    }

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<UserView, ServiceError> {
        users::delete(app, self.user).await
    }
}

/// Changes to a user's profile and groups; `None` leaves a field as it is, and `Some(None)`
/// clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileChange {
    #[serde(default)]
    pub name: Option<Option<String>>,
    #[serde(default)]
    pub email: Option<Option<String>>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// Changes a user's profile and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUpdate {
    pub user: String,
    pub change: ProfileChange,
}

impl Command for UserUpdate {
    type Output = UserView;
    const NAME: &'static str = "user update";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.update")
    }

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<UserView, ServiceError> {
        let c = self.change;
        users::update_profile(app, self.user, c.name, c.email, c.email_verified, c.groups).await
    }
}

/// Creates a user without a password and a one-time invitation link through which they choose
/// one (72 hours unless `expires_in_hours` says otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInvite {
    pub user: NewUser,
    #[serde(default)]
    pub expires_in_hours: Option<u32>,
}

impl Command for UserInvite {
    type Output = InvitationView;
    const NAME: &'static str = "user invite";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.invite")
    }

    fn target(&self) -> Option<String> {
        Some(self.user.username.clone())
    }

    async fn run(self, app: &App) -> Result<InvitationView, ServiceError> {
        invitations::create(app, self.user, self.expires_in_hours, "admin".into()).await
    }
}

/// Removes a user's second factors (passkeys, TOTP, recovery codes), ends their sessions and
/// revokes their grants; `count` is how many factor records went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResetFactors {
    pub user: String,
}

impl Command for UserResetFactors {
    type Output = Done;
    const NAME: &'static str = "user reset-factors";

    fn audit_action(&self) -> Option<&'static str> {
        Some("user.reset_factors")
    }

    fn target(&self) -> Option<String> {
        Some(self.user.clone())
    }

    async fn run(self, app: &App) -> Result<Done, ServiceError> {
        let count = users::reset_factors(app, self.user).await?;
        Ok(Done { count })
    }
}
