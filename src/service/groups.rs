//! The groups in use: a group exists while a user is in it, so both use cases read the users
//! (a page of the user index at a time) and, for one group, the clients and forward-auth rules
//! that name it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::views::{Page, UserView};
use super::{App, ServiceError, blocking};
use crate::domain::RuleSubject;
use crate::store::Reads;

/// How many users one scan of the user index reads at a time.
const SCAN: usize = 500;

/// The most members one page of a group's members holds.
pub const MAX_MEMBERS_PAGE: usize = 500;

/// A group in use, and how many users are in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: String,
    pub members: u64,
}

/// One group: a page of its members, the clients whose `allowed_groups` name it and the
/// forward-auth rules whose subjects name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub name: String,
    pub members: Page<UserView>,
    pub clients: Vec<GroupClient>,
    pub rules: Vec<GroupRule>,
}

/// A client that only members of some groups may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupClient {
    pub client_id: String,
    pub name: String,
}

/// A forward-auth rule: its position in the file and the domains it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRule {
    pub number: usize,
    pub domains: Vec<String>,
    pub policy: String,
}

/// Calls `each` with every user, in username order, a page of the index at a time; stops
/// early when `each` answers `false`.
pub(super) fn scan_users(
    tx: &dyn Reads,
    after: Option<String>,
    mut each: impl FnMut(&crate::domain::User) -> bool,
) -> Result<(), ServiceError> {
    let mut cursor = after;
    loop {
        let users = tx.users_by_username(cursor.as_deref(), SCAN)?;
        for u in &users {
            if !each(u) {
                return Ok(());
            }
        }
        match users.last() {
            Some(last) if users.len() == SCAN => cursor = Some(last.username.key()),
            _ => return Ok(()),
        }
    }
}

/// Every group some user is in, by name, with its member count.
pub async fn list(app: &App) -> Result<Vec<GroupView>, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            scan_users(tx, None, |u| {
                for g in &u.groups {
                    *counts.entry(g.clone()).or_default() += 1;
                }
                true
            })?;
            Ok(counts
                .into_iter()
                .map(|(name, members)| GroupView { name, members })
                .collect())
        })
    })
    .await
}

/// One group: its members after the cursor `after` (at most `limit`), and what names it. A
/// group that no user is in and nothing names is not found.
pub async fn show(
    app: &App,
    name: String,
    after: Option<String>,
    limit: Option<usize>,
) -> Result<GroupDetail, ServiceError> {
    let limit = limit.unwrap_or(MAX_MEMBERS_PAGE).clamp(1, MAX_MEMBERS_PAGE);
    let rules: Vec<GroupRule> = app
        .config
        .forward_auth
        .iter()
        .flat_map(|f| f.rules.iter())
        .filter(|r| {
            r.subjects
                .iter()
                .any(|s| matches!(s, RuleSubject::Group(g) if *g == name))
        })
        .map(|r| GroupRule {
            number: r.number,
            domains: r.domains.iter().map(ToString::to_string).collect(),
            policy: r.policy.as_str().to_owned(),
        })
        .collect();
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let mut items = Vec::new();
            let mut more = false;
            scan_users(tx, after.clone(), |u| {
                if !u.groups.contains(&name) {
                    return true;
                }
                if items.len() == limit {
                    more = true;
                    return false;
                }
                items.push(UserView::from(u));
                true
            })?;
            let clients: Vec<GroupClient> = tx
                .clients()?
                .iter()
                .filter(|c| c.allowed_groups.contains(&name))
                .map(|c| GroupClient {
                    client_id: c.client_id.to_string(),
                    name: c.name.clone(),
                })
                .collect();
            let anywhere = !items.is_empty() || after.is_some() || !clients.is_empty() || !rules.is_empty();
            if !anywhere {
                return Err(ServiceError::NotFound(format!("group `{name}`")));
            }
            let next = if more {
                items.last().map(|u: &UserView| u.username.to_lowercase())
            } else {
                None
            };
            Ok(GroupDetail {
                name,
                members: Page { items, next },
                clients,
                rules,
            })
        })
    })
    .await
}
