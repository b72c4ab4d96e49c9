//! One round of the purge task: expired codes, tokens, denied `jti`s, sessions and pending
//! sign-ins go, folded refusals of ended intervals are written to the audit feed, and audit
//! entries older than `[audit] retain` go, a bounded batch at a time.

use super::audit::{self, Flush};
use super::{App, ServiceError, blocking};
use crate::domain::Timestamp;
use crate::store::Job;

/// Runs one round, deleting at most `batch` rows; returns how many went.
pub async fn once(app: &App, batch: usize) -> Result<usize, ServiceError> {
    if let Err(e) = audit::flush_denials(app, Flush::Ended).await {
        tracing::warn!(error = %e, "could not write the folded audit entries");
    }
    let store = app.store.clone();
    let now = app.clock.now();
    let cutoff = Timestamp(now.0.saturating_sub(app.config.audit_retain.0));
    blocking(move || {
        // An idle round reads instead of committing an empty write (two fsyncs a minute).
        if !store.read(|tx| tx.anything_to_purge(now, cutoff))? {
            return Ok(0);
        }
        store.write(|tx| {
            // One node at a time purges a shared store; the others skip the round.
            if !tx.claim(Job::Purge)? {
                return Ok(0);
            }
            let expired = tx.purge_expired(now, batch)?;
            let audit = tx.purge_audit_before(cutoff, batch.saturating_sub(expired))?;
            Ok(expired + audit)
        })
    })
    .await
}
