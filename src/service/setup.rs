//! First start: a one-time link that creates the first administrator. There is no default
//! password anywhere.

use super::views::UserView;
use super::{ADMIN_GROUP, App, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{Duration, NewUser, Subject, User};
use crate::store::{Reads, SetupTokenRecord};

/// How long a setup link works.
pub const SETUP_TOKEN_LIFETIME: Duration = Duration::hours(1);

fn digest(token: &str) -> String {
    crypto::b64url(&crypto::sha256(token.as_bytes()))
}

/// When the store has no user, replaces any earlier setup token with a new one and returns it.
pub async fn start(app: &App) -> Result<Option<String>, ServiceError> {
    let store = app.store.clone();
    let expires_at = app.clock.now().plus(SETUP_TOKEN_LIFETIME);
    blocking(move || {
        let tx = store.write()?;
        if tx.user_count()? > 0 {
            tx.clear_setup_tokens()?;
            tx.commit()?;
            return Ok(None);
        }
        let token = random::token()?;
        tx.clear_setup_tokens()?;
        tx.put_setup_token(&digest(&token), &SetupTokenRecord { expires_at })?;
        tx.commit()?;
        Ok(Some(token))
    })
    .await
}

/// Whether `token` is a live setup token (for showing the form).
pub async fn is_valid(app: &App, token: String) -> Result<bool, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        let tx = store.read()?;
        Ok(tx.user_count()? == 0
            && tx
                .setup_token(&digest(&token))?
                .is_some_and(|t| t.expires_at > now))
    })
    .await
}

/// Creates the first administrator with `token`, which is then used up.
pub async fn complete(
    app: &App,
    token: String,
    profile: NewUser,
    password: String,
) -> Result<UserView, ServiceError> {
    let username = super::users::check_profile(&profile)?;
    if let Some(why) = app.config.password_policy.check(&password) {
        return Err(ServiceError::invalid("password", why));
    }
    if !is_valid(app, token.clone()).await? {
        return Err(ServiceError::Forbidden(
            "the setup link is invalid, used or expired".into(),
        ));
    }
    let hash = app.hash_password(password).await?;
    let now = app.clock.now();
    let subject = Subject::from_string(random::subject()?);
    let store = app.store.clone();
    blocking(move || {
        let tx = store.write()?;
        let live = tx
            .setup_token(&digest(&token))?
            .is_some_and(|t| t.expires_at > now);
        if !live || tx.user_count()? > 0 {
            return Err(ServiceError::Forbidden(
                "the setup link is invalid, used or expired".into(),
            ));
        }
        let user = User {
            subject,
            username,
            name: profile.name.filter(|n| !n.trim().is_empty()),
            email: profile.email.filter(|e| !e.trim().is_empty()),
            email_verified: false,
            groups: vec![ADMIN_GROUP.to_owned()],
            disabled: false,
            password_hash: Some(hash),
            created_at: now,
            updated_at: now,
        };
        tx.put_user(&user)?;
        tx.clear_setup_tokens()?;
        tx.commit()?;
        tracing::info!(subject = %user.subject, "created the first administrator");
        Ok(UserView::from(&user))
    })
    .await
}
