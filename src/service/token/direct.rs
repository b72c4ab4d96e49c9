//! The grants that need no earlier step: `client_credentials` (the client's own token) and
//! `password` (a user's password sent by a client registered for it).

use std::net::IpAddr;

use super::mint::{Mint, active_key};
use super::{Attempts, Outcome, TokenError, TokenSuccess};
use crate::domain::{Client, RequiredFactors, ScopeSet};
use crate::protocol::{ErrorCode, OAuthError, admin_scope, allowed_groups, resource, token_request};
use crate::service::App;
use crate::service::login::{self, LoginError};

/// The client's own token (RFC 6749 section 4.4): one point read and one signature.
pub(super) async fn client_credentials(
    app: &App,
    client: Client,
    scope: Option<ScopeSet>,
    resource: Option<String>,
) -> Outcome {
    let scopes = match token_request::direct_scopes(&client, scope.as_ref()) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    let aud = match resource::audience(&app.config.issuer, &client, &scopes, resource.as_deref()) {
        Ok(aud) => aud,
        Err(e) => return Ok(Err(e)),
    };
    // A point read and one signature: done here, without a trip to the blocking pool.
    let signing = crate::service::point_read(&app.store, active_key)?;
    let mint = Mint {
        app,
        key: &signing,
        client: &client,
        now: app.clock.now(),
    };
    let access = mint.access_token(None, &scopes, aud, None, None)?;
    tracing::info!(client_id = %client.client_id, "issued a client_credentials token");
    Ok(Ok(mint.success(access, None, &scopes, None)))
}

/// The resource owner password grant (RFC 6749 section 4.3), for clients registered for it.
pub(super) async fn password_grant(
    app: &App,
    client: Client,
    username: String,
    password: String,
    scope: Option<ScopeSet>,
    resource: Option<String>,
    ip: IpAddr,
) -> Result<Result<TokenSuccess, OAuthError>, TokenError> {
    let scopes = match token_request::direct_scopes(&client, scope.as_ref()) {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    // The password grant cannot ask for a second factor, so a client that requires one may not
    // use it: refused before the password is checked.
    if client.require_factors == RequiredFactors::Two {
        return Ok(Err(OAuthError::unauthorized_client(
            "this client requires two factors (require_factors = 2), which the password grant cannot ask for",
        )));
    }
    let credential = login::Credential::Password {
        username: &username,
        password: &password,
    };
    let auth = match login::begin(app, credential, ip, false).await {
        Ok(login::Begun::Done(auth)) => auth,
        Ok(login::Begun::NeedFactor(_)) => {
            return Ok(Err(OAuthError::invalid_grant(
                "this account signs in with a second factor, which the password grant cannot ask for",
            )));
        }
        Ok(login::Begun::NeedEnrolment(_)) => {
            return Ok(Err(OAuthError::invalid_grant(
                "this account must sign in with two factors, which the password grant cannot ask for",
            )));
        }
        Err(LoginError::Failed) => {
            return Ok(Err(OAuthError::invalid_grant("invalid username or password")));
        }
        Err(LoginError::Throttled(r)) => {
            return Err(TokenError::Throttled {
                what: Attempts::Passwords,
                retry_after: r,
            });
        }
        Err(LoginError::Unavailable(e)) => return Err(e.into()),
    };
    let user = auth.user().clone();
    if let Err(e) = allowed_groups::check(&client, &user) {
        return Ok(Err(e));
    }
    let amr = auth.amr().to_vec();
    let scopes = match scope {
        // No scope asked for: the client's defaults, less what this user may not have.
        None => admin_scope::defaults_for(&user, &scopes),
        Some(_) => scopes,
    };
    if !admin_scope::may_have(&user, &scopes) {
        return Ok(Err(admin_scope::refusal(ErrorCode::InvalidScope)));
    }
    let aud = match resource::audience(&app.config.issuer, &client, &scopes, resource.as_deref()) {
        Ok(aud) => aud,
        Err(e) => return Ok(Err(e)),
    };
    let app2 = app.clone();
    Ok(app.writer.run(move |tx| {
        let app = &app2;
        let now = app.clock.now();
        let signing = active_key(tx)?;
        let mint = Mint { app, key: &signing, client: &client, now };
        let mut grant = mint.new_grant(&user.subject, &scopes, now, None, amr.clone())?;
        grant.resource = resource.clone();
        let access = mint.access_token(Some(&user.subject), &scopes, aud.clone(), Some(now), Some(&grant.id))?;
        let refresh = mint.refresh_token(tx, &mut grant, &scopes)?;
        let id_token = mint.id_token(tx, &grant, &scopes, &access, None)?;
        tx.put_grant(&grant)?;
        tracing::info!(client_id = %client.client_id, subject = %user.subject, "issued tokens for the password grant");
        Ok(Ok(mint.success(access, refresh, &scopes, id_token)))
    })
    .await?)
}
