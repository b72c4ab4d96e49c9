//! Token revocation (RFC 7009): revoking a refresh token revokes its whole grant; revoking an
//! access token denies its `jti` until it expires.

use super::mint::revoke_grant;
use super::{TokenError, live_access_token};
use crate::domain::{Client, Timestamp};
use crate::protocol::OAuthError;
use crate::service::login::digest;
use crate::service::{App, ServiceError, blocking};
use crate::store::Writes;

/// Token revocation (RFC 7009): the client's own access or refresh token; anything else is
/// ignored, and the answer is the same. An empty `token` is `invalid_request`.
pub async fn revoke(
    app: &App,
    client: Client,
    token: String,
    hint: Option<String>,
) -> Result<(), TokenError> {
    if token.is_empty() {
        return Err(TokenError::Refused(OAuthError::invalid_request(
            "token is missing",
        )));
    }
    // Only an authenticated client's revocation is audited: a public client's proves nothing
    // about the caller, and anyone could send one per request.
    if !client.is_public() {
        let actor = format!("client:{}", client.client_id);
        crate::service::audit::note(app, &actor, "token.revoke", None, None, true).await;
    }
    let app2 = app.clone();
    blocking(move || {
        let app = &app2;
        let now = app.clock.now();
        app.store.write(|tx| {
            let refresh_first = hint.as_deref() == Some("refresh_token");
            let try_refresh = |tx: &dyn Writes| -> Result<bool, ServiceError> {
                match tx.refresh_token(&digest(&token))? {
                    Some(rt) if rt.client_id == client.client_id => {
                        revoke_grant(tx, &rt.grant_id, now)?;
                        Ok(true)
                    }
                    Some(_) => Ok(true),
                    None => Ok(false),
                }
            };
            let try_access = |tx: &dyn Writes| -> Result<bool, ServiceError> {
                match live_access_token(tx, &app.config.issuer, &token, now)? {
                    Some(live) => {
                        if live.claims.client_id == client.client_id.as_str() {
                            tx.deny_jti(&live.claims.jti, Timestamp(live.claims.exp))?;
                            tracing::info!(client_id = %client.client_id, "revoked an access token");
                        }
                        Ok(true)
                    }
                    None => Ok(false),
                }
            };
            type Attempt<'a> = &'a dyn Fn(&dyn Writes) -> Result<bool, ServiceError>;
            let order: [Attempt; 2] = if refresh_first {
                [&try_refresh, &try_access]
            } else {
                [&try_access, &try_refresh]
            };
            for attempt in order {
                if attempt(tx)? {
                    break;
                }
            }
            Ok(())
        })
    })
    .await
    .map_err(TokenError::from)
}
