//! The group commands: the groups in use with their member counts, and one group's members,
//! clients and forward-auth rules. Membership is changed on the user ([`super::UserUpdate`]).

use serde::{Deserialize, Serialize};

use super::Command;
use crate::service::groups::{self, GroupDetail, GroupView};
use crate::service::{App, ServiceError};

/// Lists every group some user is in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsList {}

impl Command for GroupsList {
    type Output = Vec<GroupView>;
    const NAME: &'static str = "groups list";

    async fn run(self, app: &App) -> Result<Vec<GroupView>, ServiceError> {
        groups::list(app).await
    }
}

/// Shows one group: a page of its members (after the cursor `after`), and the clients and
/// forward-auth rules that name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupShow {
    pub group: String,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

impl Command for GroupShow {
    type Output = GroupDetail;
    const NAME: &'static str = "group show";

    fn target(&self) -> Option<String> {
        Some(self.group.clone())
    }

    async fn run(self, app: &App) -> Result<GroupDetail, ServiceError> {
        groups::show(app, self.group, self.after, self.limit).await
    }
}
