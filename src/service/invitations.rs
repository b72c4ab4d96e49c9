//! Invitations: an administrator creates a user without a password and a one-time link
//! (`{issuer}/invite/{token}`, stored only as the token's digest, 72 hours by default) through
//! which the invitee chooses a password or registers a passkey, and is signed in. Every check of
//! a link's token is throttled per source address, as the setup link's are
//! ([`super::setup::TOKEN_GUESSES`], on the same throttle under its own account name).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::login::{self, Begun, Credential, LoginError, NewSession, Purpose};
use super::passkeys::{self, PasskeyError, Started};
use super::throttle::RetryAfter;
use super::{App, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{Duration, Invitation, NewUser, Timestamp, User};
use crate::store::Reads;

/// How long an invitation works unless the administrator says otherwise.
pub const DEFAULT_LIFETIME_HOURS: u32 = 72;
/// The longest an invitation may work: 30 days.
pub const MAX_LIFETIME_HOURS: u32 = 720;

/// The throttle's account name for invitation tokens (on the setup link's throttle).
const ACCOUNT: &str = "invitation-link";

/// A new invitation, as the CLI and the admin API show it: the link is shown only now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub username: String,
    pub url: String,
    pub expires_at: u64,
}

/// Why an invitation link did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteError {
    /// Too many wrong tokens from this address: wait this long.
    Throttled(RetryAfter),
    /// The link is wrong, used or expired.
    Invalid,
    /// An input is invalid ([`ServiceError::Invalid`]) or something broke inside.
    Refused(ServiceError),
}

impl From<ServiceError> for InviteError {
    fn from(e: ServiceError) -> Self {
        InviteError::Refused(e)
    }
}

fn digest(token: &str) -> String {
    crypto::b64url(&crypto::sha256(token.as_bytes()))
}

/// Creates the user `new` without a password and an invitation to it that works for
/// `expires_in_hours` (default 72); returns the link. `created_by` names the administrator.
pub async fn create(
    app: &App,
    new: NewUser,
    expires_in_hours: Option<u32>,
    created_by: String,
) -> Result<InvitationView, ServiceError> {
    let username = super::users::check_profile(&new)?;
    let hours = expires_in_hours.unwrap_or(DEFAULT_LIFETIME_HOURS);
    if hours == 0 || hours > MAX_LIFETIME_HOURS {
        return Err(ServiceError::refused(
            "expires_in_hours",
            super::Invalid::InvitationLifetime {
                max: MAX_LIFETIME_HOURS,
            },
        ));
    }
    let now = app.clock.now();
    let expires_at = now.plus(Duration::hours(u64::from(hours)));
    let token = random::token()?;
    let user = super::users::new_user(new, username, None, now)?;
    let invitation = Invitation {
        subject: user.subject.clone(),
        created_by,
        created_at: now,
        expires_at,
    };
    let key = digest(&token);
    let store = app.store.clone();
    let username = user.username.as_str().to_owned();
    blocking(move || {
        store.write(|tx| {
            tx.put_user(&user)?;
            tx.put_invitation(&key, &invitation)?;
            Ok(())
        })
    })
    .await?;
    tracing::info!(username = %username, "created an invitation");
    Ok(InvitationView {
        username,
        url: format!("{}/invite/{token}", app.config.issuer.trim_end_matches('/')),
        expires_at: expires_at.0,
    })
}

/// The invited user of a live invitation, inside a transaction.
fn invited(tx: &dyn Reads, key: &str, now: Timestamp) -> Result<Option<User>, ServiceError> {
    let Some(invitation) = tx.invitation(key)?.filter(|i| i.expires_at > now) else {
        return Ok(None);
    };
    Ok(tx.user(&invitation.subject)?.filter(|u| !u.disabled))
}

/// Checks `token` for a request from `ip`, counting a wrong one against that address; returns
/// the invited user.
pub async fn check(app: &App, token: String, ip: IpAddr) -> Result<User, InviteError> {
    let attempt = app
        .setup_throttle
        .begin(ACCOUNT, ip, app.clock.now())
        .map_err(InviteError::Throttled)?;
    let store = app.store.clone();
    let now = app.clock.now();
    // An error inside drops the attempt unsettled: it counts as neither.
    let user = blocking(move || store.read(|tx| invited(tx, &digest(&token), now))).await?;
    match user {
        Some(user) => {
            attempt.succeeded(app.clock.now());
            Ok(user)
        }
        None => {
            attempt.failed(app.clock.now());
            Err(InviteError::Invalid)
        }
    }
}

/// Accepts an invitation: sets the invitee's password (checked by the password policy), uses the
/// link up, and signs them in through [`login::sign_in`] like the login form (which may answer
/// that a second step is needed, stored for `/login/factor`). `previous` is the browser's session
/// cookie, ended first.
pub async fn accept(
    app: &App,
    token: String,
    password: String,
    ip: IpAddr,
    previous: Option<&str>,
) -> Result<Begun<NewSession>, InviteError> {
    if let Some(why) = app.config.password_policy.check(&password) {
        return Err(ServiceError::refused("password", why.into()).into());
    }
    check(app, token.clone(), ip).await?;
    let hash = app.hash_password(password.clone()).await?;
    let now = app.clock.now();
    let store = app.store.clone();
    let user = blocking(move || {
        store.write(|tx| {
            let key = digest(&token);
            let Some(mut user) = invited(tx, &key, now)? else {
                return Ok(None);
            };
            tx.delete_invitation(&key)?;
            user.password_hash = Some(hash.clone());
            user.updated_at = now;
            tx.put_user(&user)?;
            Ok(Some(user))
        })
    })
    .await?;
    let Some(user) = user else {
        return Err(InviteError::Invalid);
    };
    let username = user.username.as_str().to_owned();
    super::audit::note(
        app,
        &username,
        "invitation.accept",
        Some("password"),
        Some(ip),
        true,
    )
    .await;
    let credential = Credential::Password {
        username: &username,
        password: &password,
    };
    signed_in(app, credential, ip, previous).await
}

/// Signs the invitee in with the credential they just chose. A sign-in that needs a second step
/// (a policy requires two factors of the invitee) comes back to the account page once it is
/// complete.
async fn signed_in(
    app: &App,
    credential: Credential<'_>,
    ip: IpAddr,
    previous: Option<&str>,
) -> Result<Begun<NewSession>, InviteError> {
    let purpose = Purpose {
        return_to: "/account",
        two_factors_wanted: false,
    };
    login::sign_in(app, credential, ip, previous, purpose)
        .await
        .map_err(|e| match e {
            LoginError::Throttled(wait) => InviteError::Throttled(wait),
            LoginError::Unavailable(e) => InviteError::Refused(e),
            LoginError::Failed => InviteError::Refused(ServiceError::Internal(
                "the new credential did not sign the invitee in".into(),
            )),
        })
}

/// Why accepting an invitation with a passkey did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitePasskeyError {
    /// The link did not work (or the sign-in after it failed).
    Invite(InviteError),
    /// The passkey ceremony did not work.
    Passkey(PasskeyError),
}

impl From<InviteError> for InvitePasskeyError {
    fn from(e: InviteError) -> Self {
        InvitePasskeyError::Invite(e)
    }
}

impl From<PasskeyError> for InvitePasskeyError {
    fn from(e: PasskeyError) -> Self {
        InvitePasskeyError::Passkey(e)
    }
}

impl From<ServiceError> for InvitePasskeyError {
    fn from(e: ServiceError) -> Self {
        InvitePasskeyError::Invite(InviteError::Refused(e))
    }
}

/// Starts registering a passkey for the invitee of a live invitation (checked by [`check`],
/// throttled, not used up).
pub async fn start_passkey(
    app: &App,
    token: String,
    ip: IpAddr,
) -> Result<Started<serde_json::Value>, InvitePasskeyError> {
    let user = check(app, token, ip).await?;
    Ok(passkeys::start_registration(app, &user).await?)
}

/// Accepts an invitation with a passkey: the answer must verify for a ceremony started for this
/// invitation's user; the invitation is then used up in the same write that stores the passkey
/// (so a link works once even when two finishes race), and the invitee is signed in with the
/// passkey through [`login::sign_in`]. `previous` is the browser's session cookie, ended first.
pub async fn accept_passkey(
    app: &App,
    token: String,
    ceremony: &str,
    name: &str,
    answer: &RegisterPublicKeyCredential,
    ip: IpAddr,
    previous: Option<&str>,
) -> Result<Begun<NewSession>, InvitePasskeyError> {
    let user = check(app, token.clone(), ip).await?;
    let record = passkeys::verify_registration(app, &user, ceremony, name, answer).await?;
    let now = app.clock.now();
    let store = app.store.clone();
    let put = record.clone();
    let subject = user.subject.clone();
    let outcome = blocking(move || {
        store.write(|tx| -> Result<Result<User, InvitePasskeyError>, ServiceError> {
            let key = digest(&token);
            let Some(user) = invited(tx, &key, now)?.filter(|u| u.subject == subject) else {
                return Ok(Err(InviteError::Invalid.into()));
            };
            if tx.passkey(&put.credential_id)?.is_some() {
                return Ok(Err(PasskeyError::Duplicate.into()));
            }
            tx.delete_invitation(&key)?;
            tx.put_passkey(&put)?;
            Ok(Ok(user))
        })
    })
    .await?;
    let user = outcome?;
    let username = user.username.as_str().to_owned();
    super::audit::note(
        app,
        &username,
        "passkey.register",
        Some(&record.name),
        Some(ip),
        true,
    )
    .await;
    super::audit::note(
        app,
        &username,
        "invitation.accept",
        Some("passkey"),
        Some(ip),
        true,
    )
    .await;
    let credential = Credential::Passkey {
        user,
        synced: record.backup_eligible,
        // A passkey registration verifies only with user verification (the library's rule).
        verified: true,
    };
    Ok(signed_in(app, credential, ip, previous).await?)
}
