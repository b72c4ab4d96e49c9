//! The OpenID Connect UserInfo endpoint's use case: the claims of the user behind a live access
//! token for Latchkey itself.

use serde_json::{Map, Value};

use super::live_access_token;
use crate::domain::{ScopeSet, Subject};
use crate::protocol::{id_token, resource};
use crate::service::{App, ServiceError, blocking};

/// Why userinfo refused a request (RFC 6750 section 3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserinfoError {
    /// The token is missing, malformed, expired, revoked or not ours.
    InvalidToken,
    /// The token was not granted `openid`.
    InsufficientScope,
    /// The store failed.
    Unavailable(ServiceError),
}

/// The claims of the user behind an access token: `sub` always, then what the token's scopes
/// and the `claims` request parameter's `userinfo` member ask for.
pub async fn userinfo(app: &App, token: String) -> Result<Map<String, Value>, UserinfoError> {
    let app2 = app.clone();
    let result = blocking(move || {
        let app = &app2;
        let now = app.clock.now();
        app.store.read(|tx| {
            let Some(live) = live_access_token(tx, &app.config.issuer, &token, now)? else {
                return Ok(Err(UserinfoError::InvalidToken));
            };
            // A token for another resource server is not for this endpoint (RFC 8707, RFC 9068 4).
            if !live
                .claims
                .aud
                .names(&resource::userinfo_resource(&app.config.issuer))
            {
                return Ok(Err(UserinfoError::InvalidToken));
            }
            let scopes = ScopeSet::parse(&live.claims.scope).unwrap_or_default();
            if !scopes.contains("openid") {
                return Ok(Err(UserinfoError::InsufficientScope));
            }
            let Some(user) = tx
                .user(&Subject::from_string(live.claims.sub))?
                .filter(|u| !u.disabled)
            else {
                return Ok(Err(UserinfoError::InvalidToken));
            };
            let requested = live
                .grant
                .map(|g| g.requested_claims.userinfo)
                .unwrap_or_default();
            Ok(Ok(id_token::user_claims(&user, &scopes, &requested)))
        })
    })
    .await;
    match result {
        Ok(inner) => inner,
        Err(e) => Err(UserinfoError::Unavailable(e)),
    }
}
