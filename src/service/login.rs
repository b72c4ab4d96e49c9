//! Signing in: the login state machine (`begin -> Done | NeedFactor | NeedEnrolment`), the only
//! way to a session, used by the password form, the upstream callback and the password grant; the
//! second step of a browser sign-in (`second_step`); browser sessions; signing out.

mod second_step;

pub use second_step::{
    Completed, FactorError, PENDING_LIFETIME, PendingView, complete_enrolment, complete_pending,
    complete_with_recovery_code, complete_with_totp, pending,
};

use std::net::IpAddr;

use super::{App, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{Amr, Session, Subject, User};
use crate::protocol::login::{self as rules, Enrolled, FirstFactor, LoginPolicy, LoginStep};
use crate::service::throttle::RetryAfter;
use crate::store::{Reads, StoreError};

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
async fn check_password(app: &App, username: &str, password: &str, ip: IpAddr) -> Result<User, LoginError> {
    let key = username.trim().to_lowercase();
    let account: String = key.chars().take(64).collect();
    use crate::metrics::{SignInMethod, SignInOutcome, sign_in};
    let attempt = app
        .password_throttle
        .begin(&account, ip, app.clock.now())
        .map_err(|wait| {
            sign_in(SignInMethod::Password, SignInOutcome::Throttled);
            LoginError::Throttled(wait)
        })?;
    let store = app.store.clone();
    let lookup = account.clone();
    let user = blocking(move || Ok(store.read(|tx| tx.user_by_username_key(&lookup))?)).await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let matches = app.verify_password(password.to_owned(), stored).await?;
    match user {
        Some(user) if matches && !user.disabled => {
            attempt.succeeded(app.clock.now());
            sign_in(SignInMethod::Password, SignInOutcome::Success);
            super::audit::note(app, user.username.as_str(), "login.success", None, Some(ip), true).await;
            rehash(app, &user, password).await;
            Ok(user)
        }
        _ => {
            attempt.failed(app.clock.now());
            sign_in(SignInMethod::Password, SignInOutcome::Failure);
            super::audit::note(app, &account, "login.failure", None, Some(ip), false).await;
            Err(LoginError::Failed)
        }
    }
}

/// After a successful password check: when the user's stored hash was made at another cost (or
/// with another algorithm or version) than `[password_policy] argon2`, hashes the password again
/// at the configured cost on the hashing pool and stores it, but only if the stored hash is still
/// the one that was checked (compared inside the write, so a password changed meanwhile is never
/// overwritten). Audited as a system event without the hash. A failure is logged, without the
/// hash or the password, and never fails the sign-in.
async fn rehash(app: &App, user: &User, password: &str) {
    let cost = app.config.password_policy.argon2;
    let Some(checked) = user.password_hash.clone() else {
        return;
    };
    if !crypto::password::needs_rehash(&checked, cost) {
        return;
    }
    let username = user.username.as_str().to_owned();
    let fresh = match app.hash_password(password.to_owned()).await {
        Ok(fresh) => fresh,
        Err(e) => {
            tracing::warn!(error = %e, user = %username, "could not re-hash a password at the configured cost");
            return;
        }
    };
    let store = app.store.clone();
    let subject = user.subject.clone();
    let stored = blocking(move || replace_hash(&store, &subject, &checked, fresh)).await;
    match stored {
        Ok(true) => {
            let target = format!("{username}: {cost}");
            super::audit::note(app, "system", "password.rehash", Some(&target), None, true).await;
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = %e, user = %username, "could not store a password re-hashed at the configured cost");
        }
    }
}

/// Stores `fresh` as the password hash of `subject` if the stored one is still `checked`, deciding
/// inside the write transaction; false (nothing written) when the user or the hash changed.
fn replace_hash(
    store: &crate::store::Store,
    subject: &Subject,
    checked: &str,
    fresh: String,
) -> Result<bool, ServiceError> {
    store.write(|tx| -> Result<bool, ServiceError> {
        let Some(mut current) = tx.user(subject)? else {
            return Ok(false);
        };
        if current.password_hash.as_deref() != Some(checked) {
            return Ok(false);
        }
        current.password_hash = Some(fresh.clone());
        tx.put_user(&current)?;
        Ok(true)
    })
}

/// The first factor a sign-in offers.
#[derive(Debug)]
pub enum Credential<'a> {
    /// A username and password from the login form or the password grant.
    Password { username: &'a str, password: &'a str },
    /// An upstream provider vouched for `user` (the callback checked it and linked the user).
    Upstream { user: User, upstream: &'a str },
    /// A passkey signed a sign-in challenge for `user` (`service::passkeys::finish_sign_in`
    /// checked it): `synced` when it may be backed up, `verified` when the authenticator
    /// verified the user.
    Passkey {
        user: User,
        synced: bool,
        verified: bool,
    },
}

/// A sign-in that is complete: the user and how they proved themselves. Only [`begin`] makes
/// one, and only one of these opens a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    user: User,
    amr: Vec<Amr>,
}

impl Authenticated {
    /// The signed-in user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// How the sign-in was proven (RFC 8176).
    pub fn amr(&self) -> &[Amr] {
        &self.amr
    }
}

/// A sign-in that needs another factor (or, for [`Begun::NeedEnrolment`], the enrolment of one)
/// before it is complete: the place a second factor continues from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingFactor {
    user: User,
    proven: Vec<Amr>,
    /// The `latchkey_pending` cookie value under whose digest [`sign_in`] stored the sign-in, to
    /// continue at `/login/factor` (`None` from [`begin`], which stores nothing).
    cookie: Option<String>,
}

impl PendingFactor {
    /// The user signing in.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// What the first factor proved.
    pub fn proven(&self) -> &[Amr] {
        &self.proven
    }

    /// The `latchkey_pending` cookie value to set, when [`sign_in`] stored the sign-in.
    pub fn cookie(&self) -> Option<&str> {
        self.cookie.as_deref()
    }
}

/// Where a sign-in stands after [`begin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun<T> {
    /// Signed in.
    Done(T),
    /// Another factor is needed.
    NeedFactor(PendingFactor),
    /// Two factors are required and the user has none: they must enrol one first.
    NeedEnrolment(PendingFactor),
}

/// The second factors a user has enrolled, as counts.
pub fn enrolled(tx: &dyn Reads, subject: &Subject) -> Result<Enrolled, StoreError> {
    Ok(Enrolled {
        passkeys: tx.passkeys_of(subject)?.len(),
        totp: tx.totp(subject)?.is_some(),
        recovery_codes: tx.recovery_codes(subject)?.map_or(0, |r| r.digests.len()),
    })
}

/// The server-wide sign-in policy (`[login]` in the configuration).
pub fn login_policy(app: &App) -> LoginPolicy {
    LoginPolicy {
        require_second_factor_for: app.config.require_second_factor_for.clone(),
    }
}

/// Starts a sign-in with its first factor: checks it, then lets [`rules::after_first_factor`]
/// decide whether the sign-in is done. `two_factors_wanted` when what the sign-in is for asks for
/// two factors (a client's `require_factors`, `acr_values=2fa`: the authorization request it
/// resumes, read again by [`super::authorize::two_factors_wanted`]).
pub async fn begin(
    app: &App,
    credential: Credential<'_>,
    ip: IpAddr,
    two_factors_wanted: bool,
) -> Result<Begun<Authenticated>, LoginError> {
    let (user, factor) = match credential {
        Credential::Password { username, password } => (
            check_password(app, username, password, ip).await?,
            FirstFactor::Password,
        ),
        Credential::Upstream { user, upstream } => (
            {
                crate::metrics::sign_in(
                    crate::metrics::SignInMethod::Upstream,
                    crate::metrics::SignInOutcome::Success,
                );
                user
            },
            FirstFactor::Upstream {
                name: upstream.to_owned(),
            },
        ),
        Credential::Passkey {
            user,
            synced,
            verified,
        } => {
            crate::metrics::sign_in(
                crate::metrics::SignInMethod::Passkey,
                crate::metrics::SignInOutcome::Success,
            );
            (user, FirstFactor::Passkey { synced, verified })
        }
    };
    let store = app.store.clone();
    let subject = user.subject.clone();
    let factors = blocking(move || Ok(store.read(|tx| enrolled(tx, &subject))?)).await?;
    let policy = login_policy(app);
    Ok(
        match rules::after_first_factor(&user, &factors, &factor, &policy, two_factors_wanted) {
            LoginStep::Done(amr) => Begun::Done(Authenticated { user, amr }),
            LoginStep::NeedFactor(proven) => Begun::NeedFactor(PendingFactor {
                user,
                proven,
                cookie: None,
            }),
            LoginStep::NeedEnrolment(proven) => Begun::NeedEnrolment(PendingFactor {
                user,
                proven,
                cookie: None,
            }),
        },
    )
}

/// What a browser sign-in is for: where the browser goes once it is complete, and whether that
/// asks for two factors. Both are kept with a sign-in that waits for its second step.
#[derive(Debug, Clone, Copy)]
pub struct Purpose<'a> {
    pub return_to: &'a str,
    pub two_factors_wanted: bool,
}

/// A browser sign-in that opened a session: the cookie value (a secret), the session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub cookie: String,
    pub session: Session,
    pub user: User,
}

/// The browser's sign-in use case: [`begin`], then, when done, a new session. `previous` is the
/// session cookie the browser had, ended first (a new session id at every sign-in). When a second
/// step is needed, the sign-in is stored for [`PENDING_LIFETIME`] with `purpose`, and the pending
/// variant carries the `latchkey_pending` cookie value ([`PendingFactor::cookie`]).
pub async fn sign_in(
    app: &App,
    credential: Credential<'_>,
    ip: IpAddr,
    previous: Option<&str>,
    purpose: Purpose<'_>,
) -> Result<Begun<NewSession>, LoginError> {
    let auth = match begin(app, credential, ip, purpose.two_factors_wanted).await? {
        Begun::Done(auth) => auth,
        Begun::NeedFactor(mut pending) => {
            pending.cookie = Some(second_step::store(app, &pending, purpose, false).await?);
            return Ok(Begun::NeedFactor(pending));
        }
        Begun::NeedEnrolment(mut pending) => {
            pending.cookie = Some(second_step::store(app, &pending, purpose, true).await?);
            return Ok(Begun::NeedEnrolment(pending));
        }
    };
    if let Some(old) = previous {
        end_session(app, old).await?;
    }
    let (cookie, session) = start_session(app, &auth).await?;
    Ok(Begun::Done(NewSession {
        cookie,
        session,
        user: auth.user,
    }))
}

/// Creates a session for a complete sign-in; returns the cookie value (a secret) and the session.
async fn start_session(app: &App, auth: &Authenticated) -> Result<(String, Session), ServiceError> {
    let user = &auth.user;
    let now = app.clock.now();
    let cookie = random::token()?;
    let session = Session {
        sid: random::subject()?,
        subject: user.subject.clone(),
        auth_time: now,
        amr: auth.amr.clone(),
        created_at: now,
        expires_at: now.plus(app.config.lifetimes.session),
    };
    let key = digest(&cookie);
    let stored = session.clone();
    app.writer
        .run(move |tx| Ok(tx.put_session(&key, &stored)?))
        .await?;
    tracing::info!(subject = %user.subject, sid = %session.sid, "signed in");
    Ok((cookie, session))
}

/// The live session and its user for a cookie value; `None` when the session is unknown, expired,
/// or its user is gone or disabled.
pub async fn current(app: &App, cookie: &str) -> Result<Option<(Session, User)>, ServiceError> {
    let key = digest(cookie);
    let now = app.clock.now();
    super::point_read(&app.store, |tx| {
        let Some(session) = tx.session(&key)?.filter(|s| s.expires_at > now) else {
            return Ok(None);
        };
        Ok(tx
            .user(&session.subject)?
            .filter(|u| !u.disabled)
            .map(|u| (session, u)))
    })
}

/// Ends the session behind a cookie value; returns it if there was one.
pub async fn end_session(app: &App, cookie: &str) -> Result<Option<Session>, ServiceError> {
    let key = digest(cookie);
    let store = app.store.clone();
    let ended = blocking(move || {
        store.write(|tx| {
            let session = tx.session(&key)?;
            tx.delete_session(&key)?;
            Ok(session)
        })
    })
    .await?;
    if let Some(s) = &ended {
        tracing::info!(subject = %s.subject, sid = %s.sid, "signed out");
    }
    Ok(ended)
}

/// A session as listed to administrators: never the cookie value or its digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionView {
    pub sid: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub created_at: u64,
    pub expires_at: u64,
}

/// The live sessions of a user (found by subject or username).
pub async fn sessions_of(app: &App, ident: String) -> Result<Vec<SessionView>, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.read(|tx| {
            let user = super::users::find(tx, &ident)?
                .ok_or_else(|| ServiceError::NotFound(format!("user `{ident}`")))?;
            let mut out: Vec<SessionView> = tx
                .sessions_of(&user.subject)?
                .into_iter()
                .filter(|(_, s)| s.expires_at > now)
                .map(|(_, s)| view(s))
                .collect();
            out.sort_by_key(|s| s.created_at);
            Ok(out)
        })
    })
    .await
}

/// A live session with the username of its user, as the console lists every session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserSessionView {
    pub username: String,
    #[serde(flatten)]
    pub session: SessionView,
}

/// The most users one page of [`all_sessions`] reads.
pub const SESSION_PAGE_USERS: usize = 200;

/// A page of every user's live sessions, in username order and, for each user, oldest first,
/// after the user whose lower-cased username is `after`. A page holds every session of the users
/// it covers: it ends at the first user that brings it to `limit` sessions, or after
/// [`SESSION_PAGE_USERS`] users; `next` is the cursor to read on from.
pub async fn all_sessions(
    app: &App,
    after: Option<String>,
    limit: usize,
) -> Result<super::views::Page<UserSessionView>, ServiceError> {
    let limit = limit.clamp(1, 500);
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.read(|tx| {
            let users = tx.users_by_username(after.as_deref(), SESSION_PAGE_USERS + 1)?;
            let mut items = Vec::new();
            let mut next = None;
            for (n, user) in users.iter().enumerate() {
                if n == SESSION_PAGE_USERS || items.len() >= limit {
                    next = n
                        .checked_sub(1)
                        .and_then(|p| users.get(p))
                        .map(|u| u.username.key());
                    break;
                }
                let mut sessions: Vec<SessionView> = tx
                    .sessions_of(&user.subject)?
                    .into_iter()
                    .filter(|(_, s)| s.expires_at > now)
                    .map(|(_, s)| view(s))
                    .collect();
                sessions.sort_by_key(|s| s.created_at);
                items.extend(sessions.into_iter().map(|session| UserSessionView {
                    username: user.username.to_string(),
                    session,
                }));
            }
            Ok(super::views::Page { items, next })
        })
    })
    .await
}

fn view(s: Session) -> SessionView {
    SessionView {
        sid: s.sid,
        auth_time: s.auth_time.0,
        amr: s.amr.iter().map(Amr::as_string).collect(),
        created_at: s.created_at.0,
        expires_at: s.expires_at.0,
    }
}

/// Ends one session of a user (`sid` given) or all of them; returns how many ended.
pub async fn revoke_sessions(app: &App, ident: String, sid: Option<String>) -> Result<usize, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let user = super::users::find(tx, &ident)?
                .ok_or_else(|| ServiceError::NotFound(format!("user `{ident}`")))?;
            let mut n = 0;
            for (key, s) in tx.sessions_of(&user.subject)? {
                if sid.as_ref().is_none_or(|want| *want == s.sid) {
                    tx.delete_session(&key)?;
                    n += 1;
                }
            }
            if let (Some(sid), 0) = (&sid, n) {
                return Err(ServiceError::NotFound(format!("session `{sid}`")));
            }
            Ok(n)
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_re_hash_never_overwrites_a_password_changed_since_the_check() {
        let store = Store::in_memory().unwrap();
        let user = User {
            subject: Subject::from_string("s-alice".into()),
            username: crate::domain::Username::parse("alice").unwrap(),
            name: None,
            email: None,
            email_verified: false,
            groups: Vec::new(),
            disabled: false,
            password_hash: Some("$argon2id$v=19$m=8192,t=1,p=1$old".into()),
            created_at: crate::domain::Timestamp(1),
            updated_at: crate::domain::Timestamp(1),
        };
        store
            .write(|tx| -> Result<(), ServiceError> { Ok(tx.put_user(&user)?) })
            .unwrap();
        let hash_of = || {
            store
                .read(|tx| tx.user(&user.subject))
                .unwrap()
                .unwrap()
                .password_hash
        };
        // Checked against a hash that has since been replaced (a password change): nothing written.
        let stale = "$argon2id$v=19$m=8192,t=1,p=1$before-the-change";
        assert!(!replace_hash(&store, &user.subject, stale, "new".into()).unwrap());
        assert_eq!(hash_of().as_deref(), Some("$argon2id$v=19$m=8192,t=1,p=1$old"));
        // Checked against the stored hash: replaced.
        let checked = "$argon2id$v=19$m=8192,t=1,p=1$old";
        assert!(replace_hash(&store, &user.subject, checked, "new".into()).unwrap());
        assert_eq!(hash_of().as_deref(), Some("new"));
        // A user deleted meanwhile stays deleted.
        let gone = Subject::from_string("s-nobody".into());
        assert!(!replace_hash(&store, &gone, "new", "newer".into()).unwrap());
        assert!(store.read(|tx| tx.user(&gone)).unwrap().is_none());
    }
}
