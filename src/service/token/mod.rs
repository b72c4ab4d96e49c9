//! The token, revocation, introspection and userinfo endpoints' use cases. Every grant that
//! changes state does so in one write transaction, committed before the answer is returned.
//! Failures are reasons ([`TokenError`], [`UserinfoError`]); `web::errors` turns them into HTTP.

mod code;
mod direct;
mod introspect;
mod live;
mod mint;
mod refresh;
mod revoke;
mod userinfo;

use std::net::IpAddr;

use serde::Serialize;

pub use introspect::introspect;
pub use live::{LiveToken, live_access_token};
pub use revoke::revoke;
pub use userinfo::{UserinfoError, userinfo};

use super::throttle::RetryAfter;
use super::{App, ServiceError};
use crate::domain::Client;
use crate::protocol::client_auth::{self, ClientCredentials};
use crate::protocol::token_request::{self, GrantRequest, TokenFields};
use crate::protocol::{ErrorCode, OAuthError};

/// A successful token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenSuccess {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scope: String,
    pub id_token: Option<String>,
}

/// What was attempted too often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempts {
    /// Client secrets (of one client, or from one address).
    ClientSecrets,
    /// Passwords (the password grant shares the login page's counter).
    Passwords,
}

/// Why a token, revocation or introspection request failed. A reason, not an HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// An OAuth rule refused the request; the code says which (RFC 6749 section 5.2).
    Refused(OAuthError),
    /// A code or refresh token was used a second time, and the grant it came from is revoked
    /// (RFC 6749 sections 4.1.2 and 10.4); answered as `invalid_grant`.
    Replayed(OAuthError),
    /// Client authentication failed (`invalid_client`); `basic` when the client tried HTTP
    /// Basic, whose answer carries a challenge.
    ClientAuth { error: OAuthError, basic: bool },
    /// Too many failed attempts: wait before trying again.
    Throttled { what: Attempts, retry_after: RetryAfter },
    /// The store failed; the client may retry.
    Unavailable,
}

impl From<ServiceError> for TokenError {
    fn from(e: ServiceError) -> Self {
        tracing::error!(error = %e, "a token request failed inside");
        TokenError::Unavailable
    }
}

/// How the client authenticated, as read from the request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAuthInput<'a> {
    pub authorization: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a str>,
}

/// Authenticates the client of a token, revocation or introspection request.
pub async fn authenticate_client(
    app: &App,
    auth: ClientAuthInput<'_>,
    ip: IpAddr,
) -> Result<Client, TokenError> {
    let creds =
        client_auth::extract(auth.authorization, auth.client_id, auth.client_secret).map_err(|e| {
            if e.error.code == ErrorCode::InvalidClient {
                TokenError::ClientAuth {
                    error: e.error,
                    basic: e.basic,
                }
            } else {
                TokenError::Refused(e.error)
            }
        })?;
    let has_secret = !matches!(creds, ClientCredentials::None { .. });
    let id = creds.client_id().to_owned();
    let attempt = if has_secret {
        let started = app
            .secret_throttle
            .begin(&id, ip, app.clock.now())
            .map_err(|retry_after| TokenError::Throttled {
                what: Attempts::ClientSecrets,
                retry_after,
            })?;
        Some(started)
    } else {
        None
    };
    let client = super::authorize::load_client(app, &id).await?;
    let verdict = client_auth::authenticate(&creds, client.as_ref());
    if let Some(attempt) = attempt {
        match verdict {
            Ok(()) => attempt.succeeded(app.clock.now()),
            Err(_) => attempt.failed(app.clock.now()),
        }
    }
    if verdict.is_err() {
        // Anyone can send any client id: the failure proves nothing, so it is folded into one
        // counted entry per address and interval rather than costing a write of its own.
        super::audit::denied(app, "client.auth_failure", "invalid_client", ip);
    }
    verdict.map_err(|error| TokenError::ClientAuth {
        error,
        basic: creds.used_basic(),
    })?;
    client.ok_or_else(|| TokenError::Refused(OAuthError::invalid_client("client authentication failed")))
}

/// The token endpoint (RFC 6749 section 3.2), its outcome counted by grant and reason.
pub async fn token(
    app: &App,
    auth: ClientAuthInput<'_>,
    fields: TokenFields,
    ip: IpAddr,
) -> Result<TokenSuccess, TokenError> {
    let grant = grant_label(fields.grant_type.as_deref());
    let answer = exchange(app, auth, fields, ip).await;
    crate::metrics::token_request(grant, outcome_label(&answer));
    answer
}

/// A grant type as a metric label: one of the four, or `other` (the client chose the text).
fn grant_label(grant_type: Option<&str>) -> &'static str {
    match grant_type {
        Some("authorization_code") => "authorization_code",
        Some("refresh_token") => "refresh_token",
        Some("client_credentials") => "client_credentials",
        Some("password") => "password",
        None => "none",
        Some(_) => "other",
    }
}

/// A token answer as a metric label: `issued`, or why not.
fn outcome_label(answer: &Result<TokenSuccess, TokenError>) -> &'static str {
    match answer {
        Ok(_) => "issued",
        Err(TokenError::Replayed(_)) => "replay_revoked",
        Err(TokenError::Refused(e)) => e.code.as_str(),
        Err(TokenError::ClientAuth { .. }) => "invalid_client",
        Err(TokenError::Throttled { .. }) => "throttled",
        Err(TokenError::Unavailable) => "unavailable",
    }
}

async fn exchange(
    app: &App,
    auth: ClientAuthInput<'_>,
    fields: TokenFields,
    ip: IpAddr,
) -> Result<TokenSuccess, TokenError> {
    let request = token_request::parse(&fields).map_err(TokenError::Refused)?;
    let resource = fields.resource.clone().filter(|r| !r.is_empty());
    let client = authenticate_client(app, auth, ip).await?;
    token_request::check_client_may_use(&client, request.grant_type()).map_err(TokenError::Refused)?;
    let actor = format!("client:{}", client.client_id);
    // A public client proves nothing about who is calling: its failures are folded (see above).
    let public = client.is_public();
    let outcome = match request {
        GrantRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => code::redeem(app, client, code, redirect_uri, code_verifier, resource).await?,
        GrantRequest::RefreshToken { refresh_token, scope } => {
            refresh::rotate(app, client, refresh_token, scope, resource).await?
        }
        GrantRequest::ClientCredentials { scope } => direct::client_credentials(app, client, scope, resource)
            .await?
            .map_err(Refusal::from),
        GrantRequest::Password {
            username,
            password,
            scope,
        } => direct::password_grant(app, client, username, password, scope, resource, ip)
            .await?
            .map_err(Refusal::from),
    };
    match &outcome {
        Ok(t) => {
            super::audit::note(app, &actor, "token.issued", Some(&t.scope), Some(ip), true).await;
        }
        Err(Refusal { error: e, .. }) => {
            let action = if e.code == ErrorCode::InvalidGrant {
                "token.refused"
            } else {
                "token.error"
            };
            if public {
                super::audit::denied(app, action, e.code.as_str(), ip);
            } else {
                super::audit::note(app, &actor, action, Some(e.code.as_str()), Some(ip), false).await;
            }
        }
    }
    outcome.map_err(|refusal| match refusal {
        Refusal { error, replay: true } => TokenError::Replayed(error),
        Refusal { error, replay: false } => TokenError::Refused(error),
    })
}

/// What a grant's use case ends with: tokens, a refusal by an OAuth rule, or a store failure.
type Outcome = Result<Result<TokenSuccess, OAuthError>, ServiceError>;

/// What continuing a grant (a code, a refresh token) ends with: as [`Outcome`], with a refusal
/// that says whether it was a replay.
type Continued = Result<Result<TokenSuccess, Refusal>, ServiceError>;

/// A refusal by an OAuth rule, and whether it was the replay of a code or refresh token (which
/// revoked the grant: the metrics count it as `replay_revoked`).
struct Refusal {
    error: OAuthError,
    replay: bool,
}

impl Refusal {
    fn replay(error: OAuthError) -> Refusal {
        Refusal { error, replay: true }
    }
}

impl From<OAuthError> for Refusal {
    fn from(error: OAuthError) -> Refusal {
        Refusal { error, replay: false }
    }
}
