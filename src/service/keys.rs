//! Signing keys: the first key, rotation, retirement and the published JWK Set.

use super::views::KeyView;
use super::{App, ServiceError, blocking};
use crate::crypto::keys::{self, JwkSet};
use crate::domain::{SigningKeyRecord, Timestamp};
use crate::store::{Job, Reads, Writes};

/// Makes sure an active key exists, creating the first one; returns its kid.
pub async fn ensure_active(app: &App) -> Result<String, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.write(|tx| {
            if let Some(active) = active_key(tx)? {
                return Ok(active.kid);
            }
            let key = keys::generate(now)?;
            tx.put_signing_key(&key)?;
            tracing::info!(kid = %key.kid, "created the first signing key");
            Ok(key.kid)
        })
    })
    .await
}

/// The Ed25519 key that signs new tokens.
pub fn active_key(tx: &dyn Reads) -> Result<Option<SigningKeyRecord>, ServiceError> {
    active_key_of(tx, keys::ALG_EDDSA)
}

/// The active key of one algorithm (`EdDSA` or `RS256`).
pub fn active_key_of(tx: &dyn Reads, alg: &str) -> Result<Option<SigningKeyRecord>, ServiceError> {
    Ok(tx
        .signing_keys()?
        .into_iter()
        .filter(|k| k.superseded_at.is_none() && k.alg == alg)
        .max_by_key(|k| k.created_at))
}

/// The active RSA key, created when the first client registered for RS256 ID tokens is (and, as
/// a fallback, on first need).
pub fn ensure_rsa(tx: &dyn Writes, now: Timestamp) -> Result<SigningKeyRecord, ServiceError> {
    if let Some(key) = active_key_of(tx, keys::ALG_RS256)? {
        return Ok(key);
    }
    let key =
        keys::generate_rsa(now).ok_or_else(|| ServiceError::Internal("RSA key generation failed".into()))?;
    tx.put_signing_key(&key)?;
    tracing::info!(kid = %key.kid, "created the first RSA signing key");
    Ok(key)
}

/// Rotates when `keys.rotate_every` is set and the active key is at least that old; returns the
/// new key if it rotated.
pub async fn rotate_if_due(app: &App) -> Result<Option<KeyView>, ServiceError> {
    let Some(every) = app.config.key_rotate_every else {
        return Ok(None);
    };
    let store = app.store.clone();
    let now = app.clock.now();
    let due = blocking(move || {
        Ok(store
            .read(active_key)?
            .is_none_or(|k| now.since(k.created_at) >= every))
    })
    .await?;
    if due {
        rotate_when(app, Some(every)).await
    } else {
        Ok(None)
    }
}

/// Every key, newest first.
pub async fn list(app: &App) -> Result<Vec<KeyView>, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        let mut all = store.read(|tx| tx.signing_keys())?;
        all.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(all.iter().map(|k| KeyView::new(k, now)).collect())
    })
    .await
}

/// Creates a new active key. The old one stops signing at once and stays published until
/// `keys.retire_after` has passed. Keys already past retirement are deleted.
pub async fn rotate(app: &App) -> Result<KeyView, ServiceError> {
    rotate_when(app, None)
        .await?
        .ok_or_else(|| ServiceError::Internal("the rotation made no key".into()))
}

/// Rotates; with `due_after`, only when the active key is at least that old, checked again
/// inside the write under the rotation's lock, so that nodes sharing a store that all find the
/// key due rotate it once.
async fn rotate_when(
    app: &App,
    due_after: Option<crate::domain::Duration>,
) -> Result<Option<KeyView>, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    let retire_after = app.config.key_retire_after;
    blocking(move || {
        let key = store.write(|tx| {
            if let Some(every) = due_after {
                let due = tx.claim(Job::KeyRotation)?
                    && active_key(tx)?.is_none_or(|k| now.since(k.created_at) >= every);
                if !due {
                    return Ok(None);
                }
            }
            purge_retired(tx, now)?;
            let mut had_rsa = false;
            for mut old in tx.signing_keys()? {
                if old.superseded_at.is_none() {
                    had_rsa |= old.alg == keys::ALG_RS256;
                    old.superseded_at = Some(now);
                    old.retire_at = Some(now.plus(retire_after));
                    tx.put_signing_key(&old)?;
                }
            }
            let key = keys::generate(now)?;
            tx.put_signing_key(&key)?;
            if had_rsa {
                let rsa = keys::generate_rsa(now)
                    .ok_or_else(|| ServiceError::Internal("RSA key generation failed".into()))?;
                tx.put_signing_key(&rsa)?;
                tracing::info!(kid = %rsa.kid, "rotated the RSA signing key");
            }
            Ok::<_, ServiceError>(Some(key))
        })?;
        Ok(key.map(|key| {
            tracing::info!(kid = %key.kid, "rotated the signing key");
            KeyView::new(&key, now)
        }))
    })
    .await
}

fn purge_retired(tx: &dyn Writes, now: Timestamp) -> Result<(), ServiceError> {
    for k in tx.signing_keys()? {
        if k.retire_at.is_some_and(|r| r <= now) {
            tx.delete_signing_key(&k.kid)?;
        }
    }
    Ok(())
}

/// The public keys to publish: the active key and every replaced key not yet retired.
pub async fn jwks(app: &App) -> Result<JwkSet, ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        let mut all = store.read(|tx| tx.signing_keys())?;
        all.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        let keys = all
            .iter()
            .filter(|k| k.retire_at.is_none_or(|r| r > now))
            .flat_map(keys::published_jwks)
            .collect();
        Ok(JwkSet { keys })
    })
    .await
}
