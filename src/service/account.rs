//! The account page's use cases for a signed-in user: what the page shows (profile, sign-in
//! methods, sessions, applications), editing the profile, changing the password, ending sessions
//! and revoking an application. Each one finds the user through the browser's session cookie and
//! is audited; a change that weakens the account needs a fresh sign-in
//! ([`rules::is_fresh`]).

use std::net::IpAddr;

use super::login::{self, digest};
use super::throttle::RetryAfter;
use super::{App, ServiceError, blocking};
use crate::domain::{Amr, ClientId, NewUser, Session, Timestamp, User};
use crate::protocol::login::{self as rules, Enrolled};
use crate::store::{Reads, Writes};

/// Why an account change was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    /// No live session: sign in first.
    NotSignedIn,
    /// The change weakens the account and the sign-in is older than the freshness window: sign
    /// in again first.
    NotFresh,
    /// The current password is not correct.
    WrongPassword,
    /// Too many wrong current passwords: wait this long.
    Throttled(RetryAfter),
    /// An input is invalid ([`ServiceError::Invalid`]), the thing is not there
    /// ([`ServiceError::NotFound`]), or something broke inside.
    Service(ServiceError),
}

impl From<ServiceError> for AccountError {
    fn from(e: ServiceError) -> Self {
        AccountError::Service(e)
    }
}

impl From<crate::store::StoreError> for AccountError {
    fn from(e: crate::store::StoreError) -> Self {
        AccountError::Service(e.into())
    }
}

/// One session of the user, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLine {
    pub sid: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub amr: Vec<String>,
    /// Whether it is the session of the browser asking.
    pub current: bool,
}

/// An application the user consented to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationLine {
    pub client_id: String,
    /// The client's display name (its id when it has none or is gone).
    pub name: String,
    pub scopes: Vec<String>,
    pub granted_at: Timestamp,
}

/// What the account page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub user: User,
    pub session: Session,
    /// Whether the sign-in is recent enough for a change that weakens the account.
    pub fresh: bool,
    pub enrolled: Enrolled,
    pub sessions: Vec<SessionLine>,
    pub applications: Vec<ApplicationLine>,
}

/// The live session behind `key` and its enabled user, inside a transaction.
fn me(tx: &dyn Reads, key: &str, now: Timestamp) -> Result<(Session, User), AccountError> {
    let Some(session) = tx.session(key)?.filter(|s| s.expires_at > now) else {
        return Err(AccountError::NotSignedIn);
    };
    match tx.user(&session.subject)?.filter(|u| !u.disabled) {
        Some(user) => Ok((session, user)),
        None => Err(AccountError::NotSignedIn),
    }
}

/// Everything the account page shows for the browser holding `cookie`.
pub async fn overview(app: &App, cookie: &str) -> Result<AccountView, AccountError> {
    let key = digest(cookie);
    let now = app.clock.now();
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let (session, user) = match me(tx, &key, now) {
                Ok(pair) => pair,
                Err(e) => return Ok(Err(e)),
            };
            let enrolled = login::enrolled(tx, &user.subject)?;
            let mut sessions: Vec<SessionLine> = tx
                .sessions_of(&user.subject)?
                .into_iter()
                .filter(|(_, s)| s.expires_at > now)
                .map(|(k, s)| SessionLine {
                    current: k == key,
                    sid: s.sid,
                    created_at: s.created_at,
                    expires_at: s.expires_at,
                    amr: s.amr.iter().map(Amr::as_string).collect(),
                })
                .collect();
            sessions.sort_by_key(|s| (!s.current, s.created_at));
            let mut applications = Vec::new();
            for c in tx.consents_of(&user.subject)? {
                let name = tx
                    .client(&c.client_id)?
                    .map(|client| client.name)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| c.client_id.to_string());
                applications.push(ApplicationLine {
                    client_id: c.client_id.to_string(),
                    name,
                    scopes: c.scopes.iter().map(|s| s.to_string()).collect(),
                    granted_at: c.granted_at,
                });
            }
            Ok(Ok(AccountView {
                fresh: rules::is_fresh(session.auth_time, now),
                user,
                session,
                enrolled,
                sessions,
                applications,
            }))
        })
    })
    .await?
}

/// Runs `change` on the signed-in user's data in one write transaction.
async fn with_me<T: Send + 'static>(
    app: &App,
    cookie: &str,
    mut change: impl FnMut(&dyn Writes, &str, Session, User) -> Result<T, AccountError> + Send + 'static,
) -> Result<T, AccountError> {
    let key = digest(cookie);
    let now = app.clock.now();
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let outcome = me(tx, &key, now).and_then(|(session, user)| change(tx, &key, session, user));
            match outcome {
                // A refusal discards the transaction, which changed nothing anyway.
                Err(AccountError::Service(e)) => Err(e),
                other => Ok(other),
            }
        })
    })
    .await?
}

/// Records an account change in the audit feed, by the user themselves.
async fn audit(app: &App, username: &str, action: &str, target: Option<&str>, ip: IpAddr, ok: bool) {
    super::audit::note(app, username, action, target, Some(ip), ok).await;
}

/// Sets the user's display name and email (empty clears them). A changed email address is no
/// longer verified.
pub async fn update_profile(
    app: &App,
    cookie: &str,
    name: Option<String>,
    email: Option<String>,
    ip: IpAddr,
) -> Result<User, AccountError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let email = email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
    let probe = NewUser {
        username: "probe".into(),
        name: name.clone(),
        email: email.clone(),
        email_verified: false,
        groups: vec![],
    };
    super::users::check_profile(&probe)?;
    let now = app.clock.now();
    let user = with_me(app, cookie, move |tx, _, _, mut user| {
        if user.email != email {
            user.email_verified = false;
        }
        user.name = name.clone();
        user.email = email.clone();
        user.updated_at = now;
        tx.put_user(&user)?;
        Ok(user)
    })
    .await?;
    audit(
        app,
        user.username.as_str(),
        "account.profile",
        Some(user.username.as_str()),
        ip,
        true,
    )
    .await;
    Ok(user)
}

/// Changes the user's password: needs a fresh sign-in and, when the user has a password, the
/// current one (throttled like sign-ins). Ends the user's other sessions and revokes their grants,
/// as every password change does; this browser stays signed in.
pub async fn change_password(
    app: &App,
    cookie: &str,
    current: String,
    new: String,
    ip: IpAddr,
) -> Result<(), AccountError> {
    let view = overview(app, cookie).await?;
    let username = view.user.username.as_str().to_owned();
    if !view.fresh {
        audit(app, &username, "account.password", Some(&username), ip, false).await;
        return Err(AccountError::NotFresh);
    }
    if let Some(why) = app.config.password_policy.check(&new) {
        return Err(ServiceError::refused("password", why.into()).into());
    }
    if let Some(stored) = view.user.password_hash.clone() {
        let attempt = app
            .password_throttle
            .begin(&view.user.username.key(), ip, app.clock.now())
            .map_err(AccountError::Throttled)?;
        if !app.verify_password(current, Some(stored)).await? {
            attempt.failed(app.clock.now());
            audit(app, &username, "account.password", Some(&username), ip, false).await;
            return Err(AccountError::WrongPassword);
        }
        attempt.succeeded(app.clock.now());
    }
    let hash = app.hash_password(new).await?;
    let now = app.clock.now();
    with_me(app, cookie, move |tx, key, _, mut user| {
        end_others(tx, &user, key)?;
        for mut grant in tx.grants_of(&user.subject)? {
            if grant.revoked_at.is_none() {
                grant.revoked_at = Some(now);
                tx.put_grant(&grant)?;
            }
        }
        user.password_hash = Some(hash.clone());
        user.updated_at = now;
        tx.put_user(&user)?;
        Ok(())
    })
    .await?;
    audit(app, &username, "account.password", Some(&username), ip, true).await;
    Ok(())
}

/// Ends every session of `user` but the one stored under `keep`; returns how many ended.
fn end_others(tx: &dyn Writes, user: &User, keep: &str) -> Result<usize, AccountError> {
    let mut n = 0;
    for (k, _) in tx.sessions_of(&user.subject)? {
        if k != keep {
            tx.delete_session(&k)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Ends the user's other sessions (not a weakening change: no fresh sign-in needed); returns how
/// many ended.
pub async fn sign_out_others(app: &App, cookie: &str, ip: IpAddr) -> Result<usize, AccountError> {
    let (username, n) = with_me(app, cookie, |tx, key, _, user| {
        let n = end_others(tx, &user, key)?;
        Ok((user.username.as_str().to_owned(), n))
    })
    .await?;
    audit(
        app,
        &username,
        "account.sessions.revoke",
        Some("other sessions"),
        ip,
        true,
    )
    .await;
    Ok(n)
}

/// Ends one session of the user, by its `sid` (this browser's own included).
pub async fn sign_out_session(app: &App, cookie: &str, sid: String, ip: IpAddr) -> Result<(), AccountError> {
    let target = format!("session {sid}");
    let username = with_me(app, cookie, move |tx, _, _, user| {
        let found = tx
            .sessions_of(&user.subject)?
            .into_iter()
            .find(|(_, s)| s.sid == sid);
        match found {
            Some((k, _)) => {
                tx.delete_session(&k)?;
                Ok(user.username.as_str().to_owned())
            }
            None => Err(ServiceError::NotFound(format!("session `{sid}`")).into()),
        }
    })
    .await?;
    audit(app, &username, "account.sessions.revoke", Some(&target), ip, true).await;
    Ok(())
}

/// Revokes an application: forgets the user's consent to `client_id` and revokes that client's
/// grants of the user, which stops its access and refresh tokens.
pub async fn revoke_application(
    app: &App,
    cookie: &str,
    client_id: String,
    ip: IpAddr,
) -> Result<(), AccountError> {
    let now = app.clock.now();
    let target = client_id.clone();
    let username = with_me(app, cookie, move |tx, _, _, user| {
        let not_found = || ServiceError::NotFound(format!("consent for client `{client_id}`"));
        let id = ClientId::parse(&client_id).map_err(|_| not_found())?;
        if !tx.delete_consent(&user.subject, &id)? {
            return Err(not_found().into());
        }
        for mut grant in tx.grants_of(&user.subject)? {
            if grant.client_id == id && grant.revoked_at.is_none() {
                grant.revoked_at = Some(now);
                tx.put_grant(&grant)?;
            }
        }
        Ok(user.username.as_str().to_owned())
    })
    .await?;
    audit(app, &username, "account.consent.revoke", Some(&target), ip, true).await;
    Ok(())
}
