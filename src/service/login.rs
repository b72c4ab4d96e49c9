//! Signing in with a password, browser sessions, and signing out.

use std::net::IpAddr;

use super::{App, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{Session, Subject, User};
use crate::service::throttle::RetryAfter;
use crate::store::Reads;

/// Why a sign-in did not succeed. Every wrong-credential case is the same [`LoginError::Failed`]
/// so that nothing reveals whether a username exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    Failed,
    Throttled(RetryAfter),
    Unavailable(ServiceError),
}

impl From<ServiceError> for LoginError {
    fn from(e: ServiceError) -> Self {
        LoginError::Unavailable(e)
    }
}

/// Digest under which a session, code or refresh token is stored: the secret itself never is.
pub fn digest(secret: &str) -> String {
    crypto::b64url(&crypto::sha256(secret.as_bytes()))
}

/// Checks a username and password with one password-hash verification whatever the outcome
/// (a dummy hash for unknown users), throttled per account and address. Returns the user.
pub async fn check_password(
    app: &App,
    username: &str,
    password: &str,
    ip: IpAddr,
) -> Result<User, LoginError> {
    let key = username.trim().to_lowercase();
    let account: String = key.chars().take(64).collect();
    let attempt = app
        .password_throttle
        .begin(&account, ip, app.clock.now())
        .map_err(LoginError::Throttled)?;
    let store = app.store.clone();
    let lookup = account.clone();
    let user = blocking(move || Ok(store.read()?.user_by_username_key(&lookup)?)).await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = app.verify_password(password.to_owned(), stored).await?;
    match user {
        Some(user) if matches && !user.disabled => {
            attempt.succeeded(app.clock.now());
            Ok(user)
        }
        _ => {
            attempt.failed(app.clock.now());
            Err(LoginError::Failed)
        }
    }
}

/// Creates a session for `user`; returns the cookie value (a secret) and the session.
pub async fn start_session(
    app: &App,
    user: &User,
    amr: Vec<String>,
) -> Result<(String, Session), ServiceError> {
    let now = app.clock.now();
    let cookie = random::token()?;
    let session = Session {
        sid: random::subject()?,
        subject: user.subject.clone(),
        auth_time: now,
        amr,
        created_at: now,
        expires_at: now.plus(app.config.lifetimes.session),
    };
    let store = app.store.clone();
    let key = digest(&cookie);
    let stored = session.clone();
    blocking(move || {
        let tx = store.write()?;
        tx.put_session(&key, &stored)?;
        tx.commit()?;
        Ok(())
    })
    .await?;
    tracing::info!(subject = %user.subject, sid = %session.sid, "signed in");
    Ok((cookie, session))
}

/// The live session and its user for a cookie value; `None` when the session is unknown, expired,
/// or its user is gone or disabled.
pub async fn current(app: &App, cookie: &str) -> Result<Option<(Session, User)>, ServiceError> {
    let key = digest(cookie);
    let now = app.clock.now();
    let store = app.store.clone();
    blocking(move || {
        let tx = store.read()?;
        let Some(session) = tx.session(&key)?.filter(|s| s.expires_at > now) else {
            return Ok(None);
        };
        Ok(tx
            .user(&session.subject)?
            .filter(|u| !u.disabled)
            .map(|u| (session, u)))
    })
    .await
}

/// Ends the session behind a cookie value; returns it if there was one.
pub async fn end_session(app: &App, cookie: &str) -> Result<Option<Session>, ServiceError> {
    let key = digest(cookie);
    let store = app.store.clone();
    let ended = blocking(move || {
        let tx = store.write()?;
        let session = tx.session(&key)?;
        tx.delete_session(&key)?;
        tx.commit()?;
        Ok(session)
    })
    .await?;
    if let Some(s) = &ended {
        tracing::info!(subject = %s.subject, sid = %s.sid, "signed out");
    }
    Ok(ended)
}

/// Ends every session of a user.
pub async fn end_all_sessions(app: &App, subject: Subject) -> Result<usize, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        let tx = store.write()?;
        let mut n = 0;
        for (key, s) in tx.sessions()? {
            if s.subject == subject {
                tx.delete_session(&key)?;
                n += 1;
            }
        }
        tx.commit()?;
        Ok(n)
    })
    .await
}
