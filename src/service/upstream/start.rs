//! The redirect out: a throttled, bounded pending sign-in under a single-use `state`, bound to the
//! browser, and the upstream's authorization URL with `nonce` and PKCE.

use std::net::IpAddr;

use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, Scope};

use super::provider::{metadata, oidc_client, plain_client};
use super::{
    MAX_PENDING, MAX_RETURN_TO, PENDING_LIFETIME, Started, THROTTLE_ACCOUNT, UpstreamError, redirect_uri,
    upstream,
};
use crate::crypto::{self, random};
use crate::domain::{PendingUpstream, UpstreamKind};
use crate::service::login::digest;
use crate::service::{App, ServiceError};

/// The throttle's key for an address: an IPv6 address counts by its /64, which one host or
/// customer usually holds whole.
fn throttle_key(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// Starts a sign-in at upstream `name` for a browser at `ip`: throttled per address, refused when
/// [`MAX_PENDING`] sign-ins are pending; stores the pending sign-in (a record of fixed size) under
/// its `state` (random, single use, [`PENDING_LIFETIME`]) bound to a new browser cookie, which
/// also carries `return_to` (up to [`MAX_RETURN_TO`] bytes, else `/`); returns the upstream's
/// authorization URL with `state`, `nonce` (OpenID Connect) and a PKCE S256 challenge.
pub async fn begin(app: &App, name: &str, return_to: &str, ip: IpAddr) -> Result<Started, UpstreamError> {
    let upstream = upstream(app, name)?;
    // Throttle first: every start costs a durable write.
    let now = app.clock.now();
    app.upstream_throttle
        .begin(THROTTLE_ACCOUNT, throttle_key(ip), now)
        .map_err(|wait| UpstreamError::Throttled(wait.0))?
        .failed(now);
    let return_to = if return_to.len() <= MAX_RETURN_TO {
        return_to
    } else {
        "/"
    };
    let state = random::token().map_err(ServiceError::from)?;
    let browser = random::token().map_err(ServiceError::from)?;
    let verifier = PkceCodeVerifier::new(random::token().map_err(ServiceError::from)?);
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    let redirect = redirect_uri(app, upstream);
    let scopes = upstream.scopes.iter().map(|s| Scope::new(s.clone()));
    let (location, nonce) = match &upstream.kind {
        UpstreamKind::Oidc { issuer, .. } => {
            let nonce = random::token().map_err(ServiceError::from)?;
            let m = metadata(app, upstream, issuer, false).await?;
            let client = oidc_client(upstream, &m, &redirect)?;
            let (state_for, nonce_for) = (state.clone(), nonce.clone());
            let (url, _, _) = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state_for),
                    move || Nonce::new(nonce_for),
                )
                .add_scopes(scopes)
                .set_pkce_challenge(challenge)
                .url();
            (url, Some(nonce))
        }
        UpstreamKind::OAuth2 {
            authorization_url,
            token_url,
            ..
        } => {
            let client = plain_client(upstream, authorization_url, token_url, &redirect)?;
            let state_for = state.clone();
            let (url, _) = client
                .authorize_url(move || CsrfToken::new(state_for))
                .add_scopes(scopes)
                .set_pkce_challenge(challenge)
                .url();
            (url, None)
        }
    };
    let pending = PendingUpstream {
        upstream: upstream.name.clone(),
        browser: digest(&browser),
        nonce,
        pkce_verifier: verifier.secret().clone(),
        expires_at: app.clock.now().plus(PENDING_LIFETIME),
    };
    let key = digest(&state);
    let stored = app
        .writer
        .run(move |tx| {
            // Refused rather than failed, so that the rest of the group commit's batch goes on.
            if tx.pending_upstream_count()? >= MAX_PENDING {
                return Ok(false);
            }
            tx.put_pending_upstream(&key, &pending)?;
            Ok(true)
        })
        .await?;
    if !stored {
        return Err(UpstreamError::Busy);
    }
    Ok(Started {
        location: location.to_string(),
        browser: format!("{browser}.{}", crypto::b64url(return_to.as_bytes())),
    })
}
