//! Using a refresh token at the token endpoint (RFC 6749 section 6): rotation, and replay
//! detection that revokes the whole grant.

use super::mint::{Mint, active_key, revoke_grant, same_resource, user_is_active};
use super::{Continued, Refusal};
use crate::domain::{Client, ScopeSet};
use crate::protocol::refresh::{self, RefreshDecision};
use crate::protocol::{OAuthError, allowed_groups, resource};
use crate::service::App;
use crate::service::login::digest;

/// The description of a replayed refresh token's refusal.
const REPLAYED: &str = "the refresh token was already used; the grant is revoked";

/// Exchanges a refresh token for a new pair (rotation), or detects its replay.
pub(super) async fn rotate(
    app: &App,
    client: Client,
    token: String,
    scope: Option<ScopeSet>,
    resource: Option<String>,
) -> Continued {
    let app2 = app.clone();
    app.writer.run(move |tx| {
        let app = &app2;
        let now = app.clock.now();
        let key = digest(&token);
        let Some(mut old) = tx.refresh_token(&key)? else {
            return Ok(Err(Refusal::from(OAuthError::invalid_grant("the refresh token is invalid or expired"))));
        };
        let grant = tx.grant(&old.grant_id)?;
        match refresh::check(&old, grant.as_ref(), client.client_id.as_str(), scope.as_ref(), now) {
            RefreshDecision::Invalid(e) => Ok(Err(Refusal::from(e))),
            RefreshDecision::Replay => {
                revoke_grant(tx, &old.grant_id, now)?;
                Ok(Err(Refusal::replay(OAuthError::invalid_grant(REPLAYED))))
            }
            RefreshDecision::Rotate { scopes } => {
                let Some(mut grant) = grant else {
                    return Ok(Err(Refusal::from(OAuthError::invalid_grant("the grant no longer exists"))));
                };
                if let Some(subject) = &grant.subject
                    && !user_is_active(tx, subject)?
                {
                    revoke_grant(tx, &grant.id, now)?;
                    return Ok(Err(Refusal::from(OAuthError::invalid_grant("the user is no longer active"))));
                }
                // A user who left every group the client is limited to keeps nothing: the grant
                // and its access tokens are revoked, so rejoining later needs a new sign-in.
                if let Some(subject) = &grant.subject
                    && let Some(user) = tx.user(subject)?
                    && let Err(e) = allowed_groups::check(&client, &user)
                {
                    revoke_grant(tx, &grant.id, now)?;
                    return Ok(Err(Refusal::from(e)));
                }
                let requested = match same_resource(grant.resource.as_deref(), resource.as_deref()) {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(Refusal::from(e))),
                };
                let aud = match resource::audience(&app.config.issuer, &client, &scopes, requested) {
                    Ok(aud) => aud,
                    Err(e) => return Ok(Err(Refusal::from(e))),
                };
                let signing = active_key(tx)?;
                let mint = Mint { app, key: &signing, client: &client, now };
                old.rotated_at = Some(now);
                tx.put_refresh_token(&key, &old)?;
                let access =
                    mint.access_token(grant.subject.as_ref(), &scopes, aud, grant.auth_time, Some(&grant.id))?;
                let new_refresh = mint.refresh_token(tx, &mut grant, &old.scopes)?;
                let id_token = mint.id_token(tx, &grant, &scopes, &access, None)?;
                grant.expires_at = grant.expires_at.max(now.plus(app.config.lifetimes.access_token));
                tx.put_grant(&grant)?;
                tracing::info!(client_id = %client.client_id, grant_id = %grant.id, "rotated a refresh token");
                Ok(Ok(mint.success(access, new_refresh, &scopes, id_token)))
            }
        }
    })
    .await
}
