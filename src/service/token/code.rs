//! Redeeming an authorization code at the token endpoint (RFC 6749 section 4.1.3): the code is
//! marked used and its grant and refresh token stored in one transaction.

use super::mint::{Mint, active_key, revoke_grant, same_resource, user_is_active};
use super::{Continued, Refusal};
use crate::domain::Client;
use crate::protocol::code::{self, Redemption};
use crate::protocol::{OAuthError, resource};
use crate::service::App;
use crate::service::login::digest;

/// The description of a replayed code's refusal.
const REPLAYED: &str = "the code was already used; its tokens are revoked";

/// Redeems an authorization code (RFC 6749 section 4.1.3): a used code is a replay, which
/// revokes the grant it made.
pub(super) async fn redeem(
    app: &App,
    client: Client,
    code: String,
    redirect_uri: Option<String>,
    verifier: Option<String>,
    resource: Option<String>,
) -> Continued {
    let app2 = app.clone();
    app.writer
        .run(move |tx| {
            let app = &app2;
            let now = app.clock.now();
            let key = digest(&code);
            let Some(mut record) = tx.code(&key)? else {
                return Ok(Err(Refusal::from(OAuthError::invalid_grant(
                    "the code is invalid or expired",
                ))));
            };
            match code::check(
                &record,
                client.client_id.as_str(),
                redirect_uri.as_deref(),
                verifier.as_deref(),
                now,
            ) {
                Redemption::Invalid(e) => Ok(Err(Refusal::from(e))),
                Redemption::Replay { grant_id } => {
                    revoke_grant(tx, &grant_id, now)?;
                    Ok(Err(Refusal::replay(OAuthError::invalid_grant(REPLAYED))))
                }
                Redemption::Valid => {
                    if !user_is_active(tx, &record.subject)? {
                        return Ok(Err(Refusal::from(OAuthError::invalid_grant(
                            "the user is no longer active",
                        ))));
                    }
                    let requested = match same_resource(record.resource.as_deref(), resource.as_deref()) {
                        Ok(r) => r,
                        Err(e) => return Ok(Err(Refusal::from(e))),
                    };
                    let aud = match resource::audience(&app.config.issuer, &client, &record.scopes, requested)
                    {
                        Ok(aud) => aud,
                        Err(e) => return Ok(Err(Refusal::from(e))),
                    };
                    let signing = active_key(tx)?;
                    let mint = Mint {
                        app,
                        key: &signing,
                        client: &client,
                        now,
                    };
                    let mut grant = mint.new_grant(
                        &record.subject,
                        &record.scopes,
                        record.auth_time,
                        record.sid.clone(),
                        record.amr.clone(),
                    )?;
                    grant.nonce = record.nonce.clone();
                    grant.requested_claims = record.requested_claims.clone();
                    grant.resource = requested.map(str::to_owned);
                    let access = mint.access_token(
                        Some(&record.subject),
                        &record.scopes,
                        aud,
                        Some(record.auth_time),
                        Some(&grant.id),
                    )?;
                    let refresh = mint.refresh_token(tx, &mut grant, &record.scopes)?;
                    let id_token =
                        mint.id_token(tx, &grant, &record.scopes, &access, record.nonce.as_deref())?;
                    record.redeemed_grant = Some(grant.id.clone());
                    tx.put_code(&key, &record)?;
                    tx.put_grant(&grant)?;
                    tracing::info!(client_id = %client.client_id, grant_id = %grant.id, "redeemed a code");
                    Ok(Ok(mint.success(access, refresh, &record.scopes, id_token)))
                }
            }
        })
        .await
}
