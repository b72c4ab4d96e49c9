//! The server-wide key of the CSRF tokens' MAC: made once, kept in the store (so that it survives
//! restarts and every node shares it), cached in the process.

use super::{App, ServiceError, blocking};
use crate::crypto::random;
use crate::store::Reads;

/// The name of the secret in the store.
const SECRET: &str = "csrf";

/// Loads the key, making it first if the store has none; called once at start.
pub async fn ensure_key(app: &App) -> Result<(), ServiceError> {
    if app.form_key.get().is_some() {
        return Ok(());
    }
    let store = app.store.clone();
    let key = blocking(move || {
        if let Some(key) = store.read(stored)? {
            return Ok(key);
        }
        store.write(|tx| {
            // Another node may have made it meanwhile: the write transaction sees the latest.
            if let Some(key) = stored(tx)? {
                return Ok(key);
            }
            let key = random::bytes::<32>()?;
            tx.put_server_secret(SECRET, &key)?;
            Ok(key)
        })
    })
    .await?;
    let _ = app.form_key.set(key);
    Ok(())
}

/// The key, once [`ensure_key`] has run.
pub fn key(app: &App) -> Result<[u8; 32], ServiceError> {
    app.form_key
        .get()
        .copied()
        .ok_or_else(|| ServiceError::Internal("the form key was not loaded at start".into()))
}

fn stored(tx: &dyn Reads) -> Result<Option<[u8; 32]>, ServiceError> {
    match tx.server_secret(SECRET)? {
        None => Ok(None),
        Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| ServiceError::Internal("the stored form key has the wrong length".into())),
    }
}
