//! The callback: the pending sign-in taken once, `iss`, the code exchange, the ID token or the
//! user info, and the session the login state machine opens.

use std::net::IpAddr;

use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{
    AuthorizationCode, Nonce, OAuth2TokenResponse, PkceCodeVerifier, RequestTokenError, TokenResponse,
};
use serde_json::{Map, Value};

use super::links::link_user;
use super::provider::{OidcClient, metadata, oidc_client, plain_client};
use super::{
    Callback, IAT_FUTURE_SKEW, IAT_MAX_AGE, SignedIn, StateProblem, UpstreamError, http, redirect_uri,
    upstream,
};
use crate::crypto::{self};
use crate::domain::{PendingUpstream, Upstream, UpstreamKind, User};
use crate::protocol::upstream::{self as rules};
use crate::service::login::digest;
use crate::service::{App, ServiceError, login};

/// Splits a browser-binding cookie value into its token and the return address it carries.
fn split_browser(value: &str) -> (&str, String) {
    match value.split_once('.') {
        Some((token, encoded)) => {
            let return_to = crypto::b64url_decode(encoded)
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_else(|| "/".to_owned());
            (token, return_to)
        }
        None => (value, "/".to_owned()),
    }
}

/// Takes the pending sign-in for `state` out of the store (so that it works once), and checks it
/// belongs to `name` and to this browser and has not expired.
async fn take_pending(
    app: &App,
    name: &str,
    state: Option<&str>,
    browser: Option<&str>,
) -> Result<PendingUpstream, UpstreamError> {
    let Some(state) = state.filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Err(UpstreamError::State(StateProblem::Missing));
    };
    let key = digest(state);
    let taken = app
        .writer
        .run(move |tx| {
            let pending = tx.pending_upstream(&key)?;
            if pending.is_some() {
                tx.delete_pending_upstream(&key)?;
            }
            Ok(pending)
        })
        .await?;
    let Some(pending) = taken else {
        return Err(UpstreamError::State(StateProblem::Unknown));
    };
    if pending.upstream != name {
        return Err(UpstreamError::State(StateProblem::OtherProvider));
    }
    if pending.expires_at <= app.clock.now() {
        return Err(UpstreamError::State(StateProblem::Expired));
    }
    let same_browser =
        browser.is_some_and(|b| crypto::constant_time_eq(digest(b).as_bytes(), pending.browser.as_bytes()));
    if !same_browser {
        return Err(UpstreamError::State(StateProblem::OtherBrowser));
    }
    Ok(pending)
}

/// Handles the callback: checks `state` (and the browser), `iss`, exchanges the code, validates
/// the ID token or fetches the user info, links the identity to a local user and starts a session.
pub async fn finish(
    app: &App,
    name: &str,
    callback: Callback,
    browser: Option<&str>,
    previous: Option<&str>,
    ip: IpAddr,
) -> Result<SignedIn, UpstreamError> {
    let upstream = upstream(app, name)?;
    let result = finish_checked(app, upstream, callback, browser).await;
    match result {
        Ok((user, return_to)) => {
            let username = user.username.clone();
            let credential = login::Credential::Upstream {
                user,
                upstream: &upstream.name,
            };
            let purpose = login::Purpose {
                return_to: &return_to,
                two_factors_wanted: false,
            };
            let step = match login::sign_in(app, credential, ip, previous, purpose).await {
                Ok(login::Begun::Done(s)) => SignedIn::Done {
                    cookie: s.cookie,
                    return_to,
                },
                Ok(login::Begun::NeedFactor(p) | login::Begun::NeedEnrolment(p)) => match p.cookie() {
                    Some(pending) => SignedIn::SecondStep {
                        pending: pending.to_owned(),
                    },
                    None => {
                        return Err(UpstreamError::Service(ServiceError::Internal(
                            "a pending sign-in was not stored".into(),
                        )));
                    }
                },
                Err(login::LoginError::Unavailable(e)) => return Err(UpstreamError::Service(e)),
                Err(login::LoginError::Failed | login::LoginError::Throttled(_)) => {
                    return Err(UpstreamError::Service(ServiceError::Internal(
                        "an upstream sign-in has no password to fail".into(),
                    )));
                }
            };
            crate::service::audit::note(
                app,
                username.as_str(),
                "login.upstream",
                Some(&upstream.name),
                Some(ip),
                true,
            )
            .await;
            Ok(step)
        }
        Err(e) => {
            tracing::warn!(upstream = %upstream.name, error = %e, "an upstream sign-in failed");
            // An anonymous callback proves nothing: folded per address and interval.
            crate::service::audit::denied(app, "login.upstream", "failed", ip);
            Err(e)
        }
    }
}

async fn finish_checked(
    app: &App,
    upstream: &Upstream,
    callback: Callback,
    browser: Option<&str>,
) -> Result<(User, String), UpstreamError> {
    let (browser, return_to) = match browser.map(split_browser) {
        Some((token, return_to)) => (Some(token), return_to),
        None => (None, "/".to_owned()),
    };
    let pending = take_pending(app, &upstream.name, callback.state.as_deref(), browser).await?;
    if let Some(error) = callback.error {
        let error: String = error.chars().filter(|c| !c.is_control()).take(64).collect();
        let text = match callback.error_description {
            Some(d) => format!(
                "{error} ({})",
                d.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            ),
            None => error,
        };
        return Err(UpstreamError::Provider(text));
    }
    let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
        return Err(UpstreamError::Invalid(
            "the answer has neither a code nor an error".into(),
        ));
    };
    let redirect = redirect_uri(app, upstream);
    let verifier = PkceCodeVerifier::new(pending.pkce_verifier.clone());
    let claims = match &upstream.kind {
        UpstreamKind::Oidc { issuer, userinfo } => {
            oidc_claims(
                app,
                upstream,
                issuer,
                *userinfo,
                &redirect,
                &pending,
                code,
                verifier,
                callback.iss,
            )
            .await?
        }
        UpstreamKind::OAuth2 {
            authorization_url,
            token_url,
            userinfo_url,
        } => {
            let client = plain_client(upstream, authorization_url, token_url, &redirect)?;
            let tokens = client
                .exchange_code(AuthorizationCode::new(code))
                .set_pkce_verifier(verifier)
                .request_async(http(app, upstream)?)
                .await
                .map_err(token_error)?;
            fetch_userinfo(app, upstream, userinfo_url, tokens.access_token().secret()).await?
        }
    };
    let identity = rules::map_identity(&claims, &upstream.claims)?;
    let user = link_user(app, upstream, identity).await?;
    Ok((user, return_to))
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the pieces of one callback"
)]
async fn oidc_claims(
    app: &App,
    upstream: &Upstream,
    issuer: &str,
    with_userinfo: bool,
    redirect: &str,
    pending: &PendingUpstream,
    code: String,
    verifier: PkceCodeVerifier,
    iss: Option<String>,
) -> Result<Map<String, Value>, UpstreamError> {
    let m = metadata(app, upstream, issuer, false).await?;
    // RFC 9207: an `iss` must name this upstream; a provider that promises `iss` must send it.
    match iss {
        Some(iss) if iss != m.issuer().as_str() => {
            return Err(UpstreamError::Invalid(
                "the answer's `iss` names another issuer (a mix-up attack?)".into(),
            ));
        }
        None if m
            .additional_metadata()
            .authorization_response_iss_parameter_supported =>
        {
            return Err(UpstreamError::Invalid(
                "the provider promises `iss` on its answers, and this one has none".into(),
            ));
        }
        _ => {}
    }
    let client = oidc_client(upstream, &m, redirect)?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?
        .set_pkce_verifier(verifier)
        .request_async(http(app, upstream)?)
        .await
        .map_err(token_error)?;
    let Some(id_token) = tokens.id_token() else {
        return Err(UpstreamError::Invalid(
            "the token response has no ID token".into(),
        ));
    };
    let nonce = Nonce::new(pending.nonce.clone().unwrap_or_default());
    match verify_id_token(app, &client, id_token, &nonce) {
        Ok(()) => {}
        Err(Rejected::Signature(first)) => {
            // The provider may have rotated its keys since the metadata was cached: fetch them
            // once more before giving up (only for a signature failure, so that other bad
            // answers cost no extra requests).
            let fresh = metadata(app, upstream, issuer, true).await?;
            let client = oidc_client(upstream, &fresh, redirect)?;
            verify_id_token(app, &client, id_token, &nonce).map_err(|_| first)?;
        }
        Err(Rejected::Claims(e)) => return Err(e),
    }
    let mut claims = jwt_payload(&id_token.to_string())?;
    if with_userinfo {
        let Some(endpoint) = m.userinfo_endpoint() else {
            return Err(UpstreamError::Invalid(
                "`userinfo = true`, but the provider has no userinfo endpoint".into(),
            ));
        };
        let info = fetch_userinfo(app, upstream, endpoint.as_str(), tokens.access_token().secret()).await?;
        claims = rules::merge_userinfo(&claims, info).map_err(|_| UpstreamError::UserinfoMismatch)?;
    }
    Ok(claims)
}

/// Validates an ID token: signature by a key of the provider's JWKS (EdDSA, ES256/384, RS256/384/
/// 512 or PS256/384/512; never `none` or HMAC), `iss`, `aud`, `azp`, `exp` and `iat` against this
/// server's clock, and `nonce`.
fn verify_id_token(
    app: &App,
    client: &OidcClient,
    id_token: &openidconnect::core::CoreIdToken,
    nonce: &Nonce,
) -> Result<(), Rejected> {
    let clock = app.clock.clone();
    let now = move || {
        chrono::DateTime::from_timestamp(i64::try_from(clock.now().0).unwrap_or(i64::MAX), 0)
            .unwrap_or_default()
    };
    let iat_now = now.clone();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::EdDsa,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha384,
            CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        ])
        .set_time_fn(now)
        .set_issue_time_verifier_fn(move |iat| {
            let age = iat_now().timestamp() - iat.timestamp();
            if age < -IAT_FUTURE_SKEW {
                Err("the ID token was issued in the future".into())
            } else if age > IAT_MAX_AGE {
                Err("the ID token was issued too long ago".into())
            } else {
                Ok(())
            }
        });
    let claims = id_token.claims(&verifier, nonce).map_err(|e| {
        use openidconnect::SignatureVerificationError as Sig;
        // A refused algorithm says what to change, not only what went wrong.
        let advice = match &e {
            openidconnect::ClaimsVerificationError::SignatureVerification(
                Sig::DisallowedAlg(_) | Sig::UnsupportedAlg(_) | Sig::NoSignature,
            ) => {
                "; Latchkey accepts ID tokens signed with EdDSA, ES256, ES384, RS256, RS384, RS512, PS256, \
                 PS384 or PS512 (never none or HMAC): configure the upstream to sign the ID tokens of this client \
                 with one of them"
            }
            _ => "",
        };
        let invalid = UpstreamError::Invalid(format!("the ID token is not valid: {e}{advice}"));
        match e {
            openidconnect::ClaimsVerificationError::SignatureVerification(_) => Rejected::Signature(invalid),
            _ => Rejected::Claims(invalid),
        }
    })?;
    // OpenID Connect Core section 3.1.3.7 step 5, which the openidconnect crate leaves out: an
    // `azp` must name this client.
    if claims
        .authorized_party()
        .is_some_and(|azp| azp != client.client_id())
    {
        return Err(Rejected::Claims(UpstreamError::Invalid(
            "the ID token is not valid: its authorized party (`azp`) is another client".into(),
        )));
    }
    Ok(())
}

/// Why an ID token failed: its signature (perhaps a key the cached JWKS lacks), or anything else.
enum Rejected {
    Signature(UpstreamError),
    Claims(UpstreamError),
}

/// The claims of a JWS compact token whose signature was already checked.
fn jwt_payload(jwt: &str) -> Result<Map<String, Value>, UpstreamError> {
    let payload = jwt
        .split('.')
        .nth(1)
        .and_then(crypto::b64url_decode)
        .ok_or_else(|| UpstreamError::Invalid("the ID token has no readable payload".into()))?;
    serde_json::from_slice(&payload)
        .map_err(|e| UpstreamError::Invalid(format!("the ID token's claims: {e}")))
}

fn token_error<RE, T>(e: RequestTokenError<RE, T>) -> UpstreamError
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponse + 'static,
{
    match e {
        RequestTokenError::ServerResponse(r) => UpstreamError::Provider(format!(
            "the code exchange failed ({})",
            r.to_string().chars().take(200).collect::<String>()
        )),
        RequestTokenError::Request(e) => UpstreamError::Unreachable(crate::service::outbound::describe(&e)),
        RequestTokenError::Parse(e, _) => {
            tracing::warn!(error = %e, "an upstream token response could not be read");
            UpstreamError::Invalid("the token response is malformed".into())
        }
        RequestTokenError::Other(e) => UpstreamError::Invalid(format!("the token response: {e}")),
    }
}

/// The largest user-info answer read.
const MAX_USERINFO: usize = 64 * 1024;

async fn fetch_userinfo(
    app: &App,
    upstream: &Upstream,
    url: &str,
    access_token: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let http = http(app, upstream)?;
    http.check(url)
        .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
    let reply = http
        .client()
        .get(url)
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| UpstreamError::Unreachable(crate::service::outbound::describe(&e)))?;
    if !reply.status().is_success() {
        return Err(UpstreamError::Unreachable(format!(
            "the user-info endpoint answered HTTP {}",
            reply.status().as_u16()
        )));
    }
    let body = reply
        .bytes()
        .await
        .map_err(|e| UpstreamError::Unreachable(crate::service::outbound::describe(&e)))?;
    if body.len() > MAX_USERINFO {
        return Err(UpstreamError::Invalid("the user info is too large".into()));
    }
    serde_json::from_slice(&body)
        .map_err(|_| UpstreamError::Invalid("the user info is not a JSON object".into()))
}
