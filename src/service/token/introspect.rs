//! Token introspection (RFC 7662): the asking client learns about its own live tokens only.

use super::{TokenError, live_access_token};
use crate::domain::{Client, Subject};
use crate::protocol::introspection::Introspection;
use crate::protocol::{ErrorCode, OAuthError};
use crate::service::App;
use crate::service::login::digest;

/// Token introspection (RFC 7662) for the authenticated confidential client: `active: false`
/// for expired, revoked, unknown or other clients' tokens. A public client is
/// `unauthorized_client`, an empty `token` `invalid_request`.
pub fn introspect(app: &App, client: &Client, token: &str) -> Result<Introspection, TokenError> {
    if client.is_public() {
        return Err(TokenError::Refused(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients may not introspect",
        )));
    }
    if token.is_empty() {
        return Err(TokenError::Refused(OAuthError::invalid_request(
            "token is missing",
        )));
    }
    let asking = client.client_id.as_str();
    // Point reads and one signature check: done here, without a trip to the blocking pool.
    crate::service::point_read(&app.store, |tx| {
        let now = app.clock.now();
        if let Some(live) = live_access_token(tx, &app.config.issuer, token, now)? {
            if live.claims.client_id != asking {
                return Ok(Introspection::inactive());
            }
            let username = tx
                .user(&Subject::from_string(live.claims.sub.clone()))
                .ok()
                .flatten()
                .map(|u| u.username.to_string());
            return Ok(Introspection::access(live.claims, asking, username));
        }
        match tx.refresh_token(&digest(token))? {
            Some(rt) => {
                let grant = tx.grant(&rt.grant_id)?;
                Ok(Introspection::refresh(
                    &rt,
                    grant.as_ref(),
                    asking,
                    &app.config.issuer,
                    now,
                ))
            }
            None => Ok(Introspection::inactive()),
        }
    })
    .map_err(TokenError::from)
}
