//! Managing users: create, list, show, change password, disable, enable, delete.

use serde::{Deserialize, Serialize};

use super::views::{Page, UserView};
use super::{App, Conflict, Invalid, ServiceError, blocking};
use crate::crypto::random;
use crate::domain::{NewUser, Subject, Timestamp, User, Username};
use crate::store::{Reads, StoreError, Writes};

/// The most users one page of a listing holds.
pub const MAX_PAGE: usize = 500;

/// Finds a user by subject or, failing that, by username (case-insensitively).
pub fn find(tx: &dyn Reads, ident: &str) -> Result<Option<User>, StoreError> {
    if let Some(u) = tx.user(&Subject::from_string(ident.to_owned()))? {
        return Ok(Some(u));
    }
    tx.user_by_username_key(&ident.to_lowercase())
}

pub(super) fn find_or_404(tx: &dyn Reads, ident: &str) -> Result<User, ServiceError> {
    find(tx, ident)?.ok_or_else(|| ServiceError::NotFound(format!("user `{ident}`")))
}

pub(super) fn check_profile(new: &NewUser) -> Result<Username, ServiceError> {
    let username = Username::parse(&new.username).map_err(|_| {
        ServiceError::refused(
            "username",
            Invalid::Username {
                username: new.username.clone(),
                max: Username::MAX_LEN,
            },
        )
    })?;
    if let Some(email) = &new.email {
        let ok = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(ServiceError::refused(
                "email",
                Invalid::Email { email: email.clone() },
            ));
        }
    }
    if let Some(name) = &new.name
        && (name.chars().count() > 200 || name.chars().any(char::is_control))
    {
        return Err(ServiceError::refused("name", Invalid::PersonName { max: 200 }));
    }
    for g in &new.groups {
        if !crate::domain::valid_group(g) {
            return Err(ServiceError::refused(
                "groups",
                Invalid::Group { group: g.clone() },
            ));
        }
    }
    Ok(username)
}

/// Refuses a change that turns `before`, an enabled administrator, into `after` (`None`: deleted)
/// that is not one, when no other user is an enabled administrator: that would lock everyone
/// out of the console and the admin API. It reads in the transaction that makes the change, so
/// no other write can remove the other administrator in between.
fn keep_an_administrator(tx: &dyn Reads, before: &User, after: Option<&User>) -> Result<(), ServiceError> {
    if !before.administers() || after.is_some_and(User::administers) {
        return Ok(());
    }
    let mut another = false;
    super::groups::scan_users(tx, None, |u| {
        another = u.subject != before.subject && u.administers();
        !another
    })?;
    if another {
        return Ok(());
    }
    Err(ServiceError::conflict(Conflict::LastAdministrator {
        username: before.username.to_string(),
    }))
}

fn check_password(app: &App, password: &str) -> Result<(), ServiceError> {
    match app.config.password_policy.check(password) {
        Some(why) => Err(ServiceError::refused("password", why.into())),
        None => Ok(()),
    }
}

/// The record of a new user checked by [`check_profile`]: a fresh subject, groups sorted once
/// each.
pub(super) fn new_user(
    new: NewUser,
    username: Username,
    password_hash: Option<String>,
    now: Timestamp,
) -> Result<User, ServiceError> {
    let mut groups = new.groups;
    groups.sort();
    groups.dedup();
    Ok(User {
        subject: Subject::from_string(random::subject()?),
        username,
        name: new.name,
        email: new.email,
        email_verified: new.email_verified,
        groups,
        disabled: false,
        password_hash,
        created_at: now,
        updated_at: now,
    })
}

/// Creates a user, with a password when one is given.
pub async fn add(app: &App, new: NewUser, password: Option<String>) -> Result<UserView, ServiceError> {
    let username = check_profile(&new)?;
    if let Some(p) = &password {
        check_password(app, p)?;
    }
    let password_hash = match password {
        Some(p) => Some(app.hash_password(p).await?),
        None => None,
    };
    let user = new_user(new, username, password_hash, app.clock.now())?;
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            tx.put_user(&user)?;
            Ok(UserView::from(&user))
        })
    })
    .await
}

/// Query for [`list`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListUsers {
    /// Case-insensitive substring of username, name or email.
    pub search: Option<String>,
    /// Cursor from a previous page.
    pub after: Option<String>,
    /// Page size, at most [`MAX_PAGE`].
    pub limit: Option<usize>,
}

/// Lists users in username order.
pub async fn list(app: &App, query: ListUsers) -> Result<Page<UserView>, ServiceError> {
    let limit = query.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let needle = query.search.map(|s| s.to_lowercase());
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let users = match needle.as_deref() {
                Some(n) => tx.search_users(n, query.after.as_deref(), limit)?,
                None => tx.users_by_username(query.after.as_deref(), limit)?,
            };
            let next = match users.last() {
                Some(last) if users.len() == limit => Some(last.username.key()),
                _ => None,
            };
            let more = match next.as_deref() {
                Some(n) => !tx.users_by_username(Some(n), 1)?.is_empty(),
                None => false,
            };
            Ok(Page {
                items: users.iter().map(UserView::from).collect(),
                next: next.filter(|_| more),
            })
        })
    })
    .await
}

/// Shows one user, found by subject or username.
pub async fn get(app: &App, ident: String) -> Result<UserView, ServiceError> {
    let store = app.store.clone();
    blocking(move || Ok(UserView::from(&store.read(|tx| find_or_404(tx, &ident))?))).await
}

/// Changes in an update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUpdate {
    pub name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub email_verified: Option<bool>,
    pub groups: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
}

/// Applies `update` to the user in one transaction.
async fn modify(app: &App, ident: String, update: UserUpdate) -> Result<UserView, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.write(|tx| {
            let before = find_or_404(tx, &ident)?;
            let mut user = before.clone();
            if let Some(name) = update.name.clone() {
                user.name = name;
            }
            if let Some(email) = update.email.clone() {
                user.email = email;
            }
            if let Some(v) = update.email_verified {
                user.email_verified = v;
            }
            if let Some(mut groups) = update.groups.clone() {
                groups.sort();
                groups.dedup();
                user.groups = groups;
            }
            if let Some(d) = update.disabled {
                if d && !user.disabled {
                    end_sessions_and_grants(tx, &user.subject, now)?;
                }
                user.disabled = d;
            }
            if let Some(h) = update.password_hash.clone() {
                // Whoever knew the old password may hold a session or tokens got with it; a new
                // password ends them all (RFC 6819 5.2.2.3), as disabling does.
                end_sessions_and_grants(tx, &user.subject, now)?;
                user.password_hash = Some(h);
            }
            keep_an_administrator(tx, &before, Some(&user))?;
            user.updated_at = now;
            tx.put_user(&user)?;
            Ok(UserView::from(&user))
        })
    })
    .await
}

/// Updates a user's profile and groups.
pub async fn update_profile(
    app: &App,
    ident: String,
    name: Option<Option<String>>,
    email: Option<Option<String>>,
    email_verified: Option<bool>,
    groups: Option<Vec<String>>,
) -> Result<UserView, ServiceError> {
    let probe = NewUser {
        username: "probe".into(),
        name: name.clone().flatten(),
        email: email.clone().flatten(),
        email_verified: false,
        groups: groups.clone().unwrap_or_default(),
    };
    check_profile(&probe)?;
    let update = UserUpdate {
        name,
        email,
        email_verified,
        groups,
        ..UserUpdate::default()
    };
    modify(app, ident, update).await
}

/// Sets a new password, ending the user's sessions and revoking their grants (and so their
/// access and refresh tokens).
pub async fn set_password(app: &App, ident: String, password: String) -> Result<UserView, ServiceError> {
    check_password(app, &password)?;
    get(app, ident.clone()).await?;
    let hash = app.hash_password(password).await?;
    let update = UserUpdate {
        password_hash: Some(hash),
        ..UserUpdate::default()
    };
    modify(app, ident, update).await
}

/// Ends every session of `subject` and revokes every grant issued to them, which stops their
/// access and refresh tokens at once: a disabled user who is enabled again gets nothing back.
fn end_sessions_and_grants(tx: &dyn Writes, subject: &Subject, now: Timestamp) -> Result<(), ServiceError> {
    for (key, _) in tx.sessions_of(subject)? {
        tx.delete_session(&key)?;
    }
    for mut grant in tx.grants_of(subject)? {
        if grant.revoked_at.is_none() {
            grant.revoked_at = Some(now);
            tx.put_grant(&grant)?;
        }
    }
    Ok(())
}

/// Disables (`true`) or enables (`false`) a user. Disabling ends their sessions and revokes their
/// tokens.
pub async fn set_disabled(app: &App, ident: String, disabled: bool) -> Result<UserView, ServiceError> {
    let update = UserUpdate {
        disabled: Some(disabled),
        ..UserUpdate::default()
    };
    modify(app, ident, update).await
}

/// Deletes a user, with their sessions, grants (so every token issued to them) and consents.
pub async fn delete(app: &App, ident: String) -> Result<UserView, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.write(|tx| {
            let user = find_or_404(tx, &ident)?;
            keep_an_administrator(tx, &user, None)?;
            end_sessions_and_grants(tx, &user.subject, now)?;
            for consent in tx.consents_of(&user.subject)? {
                tx.delete_consent(&user.subject, &consent.client_id)?;
            }
            for link in tx.links_of(&user.subject)? {
                tx.delete_upstream_link(&link)?;
            }
            tx.delete_user(&user.subject)?;
            Ok(UserView::from(&user))
        })
    })
    .await
}

/// Removes every second factor of a user (passkeys, TOTP, recovery codes), ends their sessions
/// and revokes their grants, so that whoever held a lost factor keeps nothing; returns how many
/// factor records went.
pub async fn reset_factors(app: &App, ident: String) -> Result<usize, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.write(|tx| {
            let user = find_or_404(tx, &ident)?;
            let removed = tx.delete_factors(&user.subject)?;
            end_sessions_and_grants(tx, &user.subject, now)?;
            Ok(removed)
        })
    })
    .await
}
