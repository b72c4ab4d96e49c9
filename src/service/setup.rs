//! First start: a one-time link that creates the first administrator. There is no default
//! password anywhere. Every check of a link's token is throttled per source address.

use std::net::IpAddr;

use super::throttle::{Limits, RetryAfter};
use super::views::UserView;
use super::{ADMIN_GROUP, App, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{Duration, NewUser, Subject, User};
use crate::store::SetupTokenRecord;

/// How long a setup link works.
pub const SETUP_TOKEN_LIFETIME: Duration = Duration::hours(1);

/// Wrong setup tokens allowed per address before delays start. There is one "account" (the
/// link), so its counter never fires: guesses from many addresses cannot lock the real
/// administrator out, while each address is slowed down on its own.
pub const TOKEN_GUESSES: Limits = Limits {
    pair: 5,
    address: 5,
    account: u32::MAX,
    in_flight: 5,
};

/// The throttle's account name for setup tokens.
const ACCOUNT: &str = "setup-link";

/// Why a setup request was not completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// Too many wrong tokens from this address: wait this long.
    Throttled(RetryAfter),
    /// The token is wrong, used or expired ([`ServiceError::Forbidden`]), an input is invalid,
    /// or something broke inside.
    Refused(ServiceError),
}

impl From<ServiceError> for SetupError {
    fn from(e: ServiceError) -> Self {
        SetupError::Refused(e)
    }
}

fn link_refused() -> ServiceError {
    ServiceError::Forbidden("the setup link is invalid, used or expired".into())
}

/// Checks `token` for a request from `ip`, counting a wrong one against that address.
pub async fn check_link(app: &App, token: String, ip: IpAddr) -> Result<(), SetupError> {
    let attempt = app
        .setup_throttle
        .begin(ACCOUNT, ip, app.clock.now())
        .map_err(SetupError::Throttled)?;
    // An error inside drops the attempt unsettled: it counts as neither.
    let valid = is_valid(app, token).await?;
    if valid {
        attempt.succeeded(app.clock.now());
        Ok(())
    } else {
        attempt.failed(app.clock.now());
        Err(SetupError::Refused(link_refused()))
    }
}

fn digest(token: &str) -> String {
    crypto::b64url(&crypto::sha256(token.as_bytes()))
}

/// When the store has no user, replaces any earlier setup token with a new one and returns it.
pub async fn start(app: &App) -> Result<Option<String>, ServiceError> {
    let store = app.store.clone();
    let expires_at = app.clock.now().plus(SETUP_TOKEN_LIFETIME);
    blocking(move || {
        store.write(|tx| {
            if tx.user_count()? > 0 {
                tx.clear_setup_tokens()?;
                return Ok(None);
            }
            let token = random::token()?;
            tx.clear_setup_tokens()?;
            tx.put_setup_token(&digest(&token), &SetupTokenRecord { expires_at })?;
            Ok(Some(token))
        })
    })
    .await
}

/// Whether `token` is a live setup token. Unthrottled: requests go through [`check_link`].
async fn is_valid(app: &App, token: String) -> Result<bool, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.read(|tx| {
            Ok(tx.user_count()? == 0
                && tx
                    .setup_token(&digest(&token))?
                    .is_some_and(|t| t.expires_at > now))
        })
    })
    .await
}

/// Creates the first administrator with `token` (checked as [`check_link`] does for a request
/// from `ip`), which is then used up.
pub async fn complete(
    app: &App,
    token: String,
    profile: NewUser,
    password: String,
    ip: IpAddr,
) -> Result<UserView, SetupError> {
    let username = super::users::check_profile(&profile)?;
    if let Some(why) = app.config.password_policy.check(&password) {
        return Err(ServiceError::refused("password", why.into()).into());
    }
    check_link(app, token.clone(), ip).await?;
    let hash = app.hash_password(password).await?;
    let now = app.clock.now();
    let subject = Subject::from_string(random::subject().map_err(ServiceError::from)?);
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let live = tx
                .setup_token(&digest(&token))?
                .is_some_and(|t| t.expires_at > now);
            if !live || tx.user_count()? > 0 {
                return Err(link_refused());
            }
            let user = User {
                subject: subject.clone(),
                username: username.clone(),
                name: profile.name.clone().filter(|n| !n.trim().is_empty()),
                email: profile.email.clone().filter(|e| !e.trim().is_empty()),
                email_verified: false,
                groups: vec![ADMIN_GROUP.to_owned()],
                disabled: false,
                password_hash: Some(hash.clone()),
                created_at: now,
                updated_at: now,
            };
            tx.put_user(&user)?;
            tx.clear_setup_tokens()?;
            tracing::info!(subject = %user.subject, "created the first administrator");
            Ok(UserView::from(&user))
        })
    })
    .await
    .map_err(SetupError::from)
}
