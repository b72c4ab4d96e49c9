//! The scrape's use case: the store's figures (its kept table lengths, never a scan) read on
//! the blocking pool, then the registry's text from [`crate::metrics::render`].

use super::{App, blocking, point_read};
use crate::metrics::Snapshot;

/// The metrics text, or `None` when recording is off or the store cannot be read.
pub async fn render(app: &App) -> Option<String> {
    if !crate::metrics::enabled() {
        return None;
    }
    let store = app.store.clone();
    let counts = blocking(move || {
        point_read(&store, |tx| {
            Ok(Snapshot {
                sessions: tx.session_count()?,
                grants: tx.grant_count()?,
            })
        })
    })
    .await;
    match counts {
        Ok(snapshot) => crate::metrics::render(snapshot),
        Err(e) => {
            tracing::warn!(error = %e, "the metrics could not read the store");
            None
        }
    }
}
