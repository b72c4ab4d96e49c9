//! Signing in through an upstream provider: the redirect out (state, nonce, PKCE), the callback
//! (state, `iss`, code exchange, ID token validation, user info), linking the upstream identity to
//! a local user, and the administration of those links.
//!
//! Discovery, PKCE, the code exchange and ID-token validation are the `openidconnect` crate's (and
//! the `oauth2` crate's for plain OAuth 2.0 upstreams); the rules for mapping and linking are in
//! [`crate::protocol::upstream`].

use super::start::StartError;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod,
    CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::login::digest;
use super::outbound::Outbound;
use super::{App, ServiceError, blocking, login, users};
use crate::crypto::{self, random};
use crate::domain::{
    Duration, OutboundPolicy, PendingUpstream, Session, Subject, Timestamp, Upstream, UpstreamIdentity,
    UpstreamKind, UpstreamLink, User, Username,
};
use crate::protocol::upstream::{self as rules, EmailMatch, LinkDecision, UpstreamRefusal};

/// How long a sign-in may stay at the upstream before its `state` expires.
pub const PENDING_LIFETIME: Duration = Duration::minutes(10);
/// The most pending sign-ins kept at once (expired ones until the purge takes them included):
/// with the per-address throttle, a bound on what anonymous starts can make the server store.
pub const MAX_PENDING: u64 = 10_000;
/// The longest return address carried through an upstream sign-in (in the browser cookie, as
/// base64url, within a cookie's 4 KiB); a longer one becomes `/`.
pub const MAX_RETURN_TO: usize = 2560;
/// The throttle's one "account": starts are counted per address only.
const THROTTLE_ACCOUNT: &str = "upstream-sign-in";
/// How long discovered provider metadata (and its JWKS) is reused.
const METADATA_TTL: Duration = Duration::minutes(5);
/// How far an ID token's `iat` may lie in the future (clock skew) or in the past.
const IAT_FUTURE_SKEW: i64 = 60;
const IAT_MAX_AGE: i64 = 10 * 60;

/// The metadata field of RFC 9207: whether the provider sends `iss` on authorization responses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Per-upstream HTTP clients (bounded timeouts, no redirects, `[outbound]` checks) and the
/// discovery cache.
#[derive(Debug, Default)]
pub struct Upstreams {
    http: HashMap<String, Outbound>,
    metadata: Mutex<HashMap<String, (Timestamp, Arc<Metadata>)>>,
}

impl Upstreams {
    /// HTTP clients for the configured upstreams; one that cannot be built fails the start.
    pub fn new(upstreams: &[Upstream], policy: &OutboundPolicy) -> Result<Upstreams, StartError> {
        let http = upstreams
            .iter()
            .map(|u| {
                Ok((
                    u.name.clone(),
                    Outbound::new(policy, u.timeout, &format!("upstream `{}`", u.name))?,
                ))
            })
            .collect::<Result<_, StartError>>()?;
        Ok(Upstreams {
            http,
            metadata: Mutex::default(),
        })
    }
}

/// Why an upstream sign-in failed. Every variant ends on an error page; none creates a session
/// or a user.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("there is no sign-in provider called `{0}`")]
    NotFound(String),
    /// The `state` is missing, unknown, used, expired, for another provider or another browser.
    #[error("{0}")]
    State(&'static str),
    /// The upstream answered the authorization request with an error.
    #[error("the provider refused the sign-in: {0}")]
    Provider(String),
    /// The upstream's answer failed validation (issuer, ID token, token response).
    #[error("the provider's answer could not be trusted: {0}")]
    Invalid(String),
    /// The upstream could not be reached in time, or answered with an HTTP error.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// The identity is fine, but the link policy does not let it in.
    #[error("{0}")]
    Refused(#[from] UpstreamRefusal),
    /// Too many sign-ins started from this address: wait this many seconds.
    #[error("too many sign-ins were started from your address; try again in {0} seconds")]
    Throttled(u64),
    /// Too many sign-ins are pending at once.
    #[error("too many sign-ins are in progress; try again in a few minutes")]
    Busy,
    /// The account needs a second factor after the upstream's word (never yet: no user has one).
    #[error("the account needs a second factor, which this server cannot ask for yet")]
    SecondFactor,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Where to send the browser, and the browser-binding cookie value to set: a random token (whose
/// digest the pending record keeps) and, after a `.`, the return address in base64url.
#[derive(Debug)]
pub struct Started {
    pub location: String,
    pub browser: String,
}

/// The query parameters of the callback.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A finished upstream sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub cookie: String,
    pub session: Session,
    pub user: User,
    pub return_to: String,
}

fn redirect_uri(app: &App, upstream: &Upstream) -> String {
    format!("{}/login/upstream/{}/callback", app.config.issuer, upstream.name)
}

fn upstream<'a>(app: &'a App, name: &str) -> Result<&'a Upstream, UpstreamError> {
    app.config
        .upstream(name)
        .ok_or_else(|| UpstreamError::NotFound(name.chars().take(64).collect()))
}

fn http<'a>(app: &'a App, upstream: &Upstream) -> Result<&'a Outbound, UpstreamError> {
    app.upstreams.http.get(&upstream.name).ok_or_else(|| {
        UpstreamError::Service(ServiceError::Internal("no HTTP client for an upstream".into()))
    })
}

/// The upstream's discovered metadata, from the cache unless it is older than [`METADATA_TTL`] or
/// `fresh` is asked for.
async fn metadata(
    app: &App,
    upstream: &Upstream,
    issuer: &str,
    fresh: bool,
) -> Result<Arc<Metadata>, UpstreamError> {
    let now = app.clock.now();
    if !fresh
        && let Ok(cache) = app.upstreams.metadata.lock()
        && let Some((at, m)) = cache.get(&upstream.name)
        && now.since(*at) < METADATA_TTL
    {
        return Ok(Arc::clone(m));
    }
    let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    let discovered = Metadata::discover_async(issuer_url, http(app, upstream)?)
        .await
        .map_err(|e| match e {
            openidconnect::DiscoveryError::Request(e) => {
                UpstreamError::Unreachable(super::outbound::describe(&e))
            }
            openidconnect::DiscoveryError::Response(status, _, _) => {
                UpstreamError::Unreachable(format!("discovery answered HTTP {status}"))
            }
            other => UpstreamError::Invalid(format!("discovery failed: {other}")),
        })?;
    let m = Arc::new(discovered);
    if let Ok(mut cache) = app.upstreams.metadata.lock() {
        cache.insert(upstream.name.clone(), (now, Arc::clone(&m)));
    }
    Ok(m)
}

fn oidc_client(
    upstream: &Upstream,
    metadata: &Metadata,
    redirect: &str,
) -> Result<OidcClient, UpstreamError> {
    // HTTP Basic unless the provider says it takes only client_secret_post.
    let post_only = metadata
        .token_endpoint_auth_methods_supported()
        .is_some_and(|methods| {
            !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && methods.contains(&CoreClientAuthMethod::ClientSecretPost)
        });
    let client = CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(upstream.client_id.clone()),
        upstream.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(
        RedirectUrl::new(redirect.to_owned()).map_err(|e| UpstreamError::Invalid(e.to_string()))?,
    );
    Ok(if post_only {
        client.set_auth_type(openidconnect::AuthType::RequestBody)
    } else {
        client
    })
}

type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

type PlainClient = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn plain_client(
    upstream: &Upstream,
    auth: &str,
    token: &str,
    redirect: &str,
) -> Result<PlainClient, UpstreamError> {
    let invalid = |e: url::ParseError| UpstreamError::Invalid(e.to_string());
    let mut client = oauth2::basic::BasicClient::new(ClientId::new(upstream.client_id.clone()))
        .set_auth_uri(AuthUrl::new(auth.to_owned()).map_err(invalid)?)
        .set_token_uri(TokenUrl::new(token.to_owned()).map_err(invalid)?)
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(invalid)?);
    if let Some(secret) = &upstream.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

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
        return Err(UpstreamError::State("the provider's answer has no state"));
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
        return Err(UpstreamError::State(
            "this sign-in is unknown or was already used; start again",
        ));
    };
    if pending.upstream != name {
        return Err(UpstreamError::State(
            "this answer is for another provider; start again",
        ));
    }
    if pending.expires_at <= app.clock.now() {
        return Err(UpstreamError::State("this sign-in took too long; start again"));
    }
    let same_browser =
        browser.is_some_and(|b| crypto::constant_time_eq(digest(b).as_bytes(), pending.browser.as_bytes()));
    if !same_browser {
        return Err(UpstreamError::State(
            "this sign-in was started in another browser; start again here",
        ));
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
            let credential = login::Credential::Upstream {
                user,
                upstream: &upstream.name,
            };
            let signed_in = match login::sign_in(app, credential, ip, previous).await {
                Ok(login::Begun::Done(s)) => s,
                Ok(login::Begun::NeedFactor(_)) => return Err(UpstreamError::SecondFactor),
                Err(login::LoginError::Unavailable(e)) => return Err(UpstreamError::Service(e)),
                Err(login::LoginError::Failed | login::LoginError::Throttled(_)) => {
                    return Err(UpstreamError::Service(ServiceError::Internal(
                        "an upstream sign-in has no password to fail".into(),
                    )));
                }
            };
            let login::NewSession {
                cookie,
                session,
                user,
            } = signed_in;
            super::audit::note(
                app,
                user.username.as_str(),
                "login.upstream",
                Some(&upstream.name),
                Some(ip),
                true,
            )
            .await;
            Ok(SignedIn {
                cookie,
                session,
                user,
                return_to,
            })
        }
        Err(e) => {
            tracing::warn!(upstream = %upstream.name, error = %e, "an upstream sign-in failed");
            // An anonymous callback proves nothing: folded per address and interval.
            super::audit::denied(app, "login.upstream", "failed", ip);
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
        claims = rules::merge_userinfo(&claims, info).map_err(|e| UpstreamError::Invalid(e.to_string()))?;
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
        RequestTokenError::Request(e) => UpstreamError::Unreachable(super::outbound::describe(&e)),
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
        .map_err(|e| UpstreamError::Unreachable(super::outbound::describe(&e)))?;
    if !reply.status().is_success() {
        return Err(UpstreamError::Unreachable(format!(
            "the user-info endpoint answered HTTP {}",
            reply.status().as_u16()
        )));
    }
    let body = reply
        .bytes()
        .await
        .map_err(|e| UpstreamError::Unreachable(super::outbound::describe(&e)))?;
    if body.len() > MAX_USERINFO {
        return Err(UpstreamError::Invalid("the user info is too large".into()));
    }
    serde_json::from_slice(&body)
        .map_err(|_| UpstreamError::Invalid("the user info is not a JSON object".into()))
}

/// Finds or makes the local user for `identity` by the upstream's link policy, in one write
/// transaction, and records the link's use.
async fn link_user(
    app: &App,
    upstream: &Upstream,
    identity: UpstreamIdentity,
) -> Result<User, UpstreamError> {
    let name = upstream.name.clone();
    let policy = upstream.link;
    let now = app.clock.now();
    let new_subject = Subject::from_string(random::subject().map_err(ServiceError::from)?);
    let store = app.store.clone();
    let outcome = blocking(move || {
        store.write(|tx| {
            let link = tx.upstream_link(&name, &identity.subject)?;
            let linked = match &link {
                Some(l) => tx.user(&l.subject)?,
                None => None,
            };
            let same_email = match (&linked, &identity.email) {
                (None, Some(email)) if identity.email_verified => {
                    let mut matches = Vec::new();
                    for user in tx.users_by_email(email)? {
                        // Any identity already linked to the user is another way in (this one is
                        // not linked, or `linked` would be set).
                        let other_sign_in = !tx.links_of(&user.subject)?.is_empty();
                        matches.push(EmailMatch { user, other_sign_in });
                    }
                    matches
                }
                _ => Vec::new(),
            };
            let decision = match rules::decide(policy, &identity, linked.as_ref(), &same_email) {
                Ok(d) => d,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let user = match decision {
                LinkDecision::Linked(subject) | LinkDecision::LinkTo(subject) => match tx.user(&subject)? {
                    Some(u) => u,
                    None => return Err(ServiceError::Internal("a linked user vanished".into())),
                },
                LinkDecision::Create => {
                    let username = rules::username_candidates(&identity, &name)
                        .into_iter()
                        .find_map(|c| match tx.user_by_username_key(&c.to_lowercase()) {
                            Ok(None) => Username::parse(&c).ok(),
                            _ => None,
                        })
                        .ok_or_else(|| ServiceError::Conflict("no free username for this account".into()))?;
                    let user = User {
                        subject: new_subject,
                        username,
                        name: identity.name.clone(),
                        email: identity.email.clone(),
                        email_verified: identity.email.is_some() && identity.email_verified,
                        groups: Vec::new(),
                        disabled: false,
                        password_hash: None,
                        created_at: now,
                        updated_at: now,
                    };
                    tx.put_user(&user)?;
                    user
                }
            };
            let record = UpstreamLink {
                upstream: name,
                upstream_subject: identity.subject,
                subject: user.subject.clone(),
                linked_at: link.as_ref().map_or(now, |l| l.linked_at),
                last_used: Some(now),
            };
            tx.put_upstream_link(&record)?;
            Ok(Ok(user))
        })
    })
    .await?;
    Ok(outcome?)
}

/// A linked upstream identity, as the CLI and the admin API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkView {
    pub upstream: String,
    pub upstream_subject: String,
    pub linked_at: Timestamp,
    pub last_used: Option<Timestamp>,
}

impl From<&UpstreamLink> for LinkView {
    fn from(l: &UpstreamLink) -> Self {
        LinkView {
            upstream: l.upstream.clone(),
            upstream_subject: l.upstream_subject.clone(),
            linked_at: l.linked_at,
            last_used: l.last_used,
        }
    }
}

fn check_link_names(upstream: &str, subject: &str) -> Result<(), ServiceError> {
    if !Upstream::is_valid_name(upstream) {
        return Err(ServiceError::invalid(
            "upstream",
            "an upstream name is 1 to 32 lower-case letters, digits or '-'",
        ));
    }
    if !rules::is_valid_subject(subject) {
        return Err(ServiceError::invalid(
            "subject",
            format!(
                "an upstream subject is 1 to {} printable bytes",
                rules::MAX_SUBJECT_LEN
            ),
        ));
    }
    Ok(())
}

/// The upstream identities linked to a user.
pub async fn links_of(app: &App, user: String) -> Result<Vec<LinkView>, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let user = users::find_or_404(tx, &user)?;
            Ok(tx.links_of(&user.subject)?.iter().map(LinkView::from).collect())
        })
    })
    .await
}

/// Links an upstream identity to a user in advance (for `existing-only` upstreams, or to move an
/// identity): refused if the identity is linked already.
pub async fn link(
    app: &App,
    user: String,
    upstream: String,
    subject: String,
) -> Result<LinkView, ServiceError> {
    check_link_names(&upstream, &subject)?;
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.write(|tx| {
            let user = users::find_or_404(tx, &user)?;
            if let Some(existing) = tx.upstream_link(&upstream, &subject)? {
                let owner = tx.user(&existing.subject)?.map_or_else(
                    || existing.subject.as_str().to_owned(),
                    |u| u.username.to_string(),
                );
                return Err(ServiceError::Conflict(format!(
                    "this {upstream} identity is linked to `{owner}` already; unlink it first"
                )));
            }
            let record = UpstreamLink {
                upstream,
                upstream_subject: subject,
                subject: user.subject,
                linked_at: now,
                last_used: None,
            };
            tx.put_upstream_link(&record)?;
            Ok(LinkView::from(&record))
        })
    })
    .await
}

/// Removes one of a user's links; the identity can no longer sign in as that user.
pub async fn unlink(
    app: &App,
    user: String,
    upstream: String,
    subject: String,
) -> Result<LinkView, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let user = users::find_or_404(tx, &user)?;
            let link = tx
                .upstream_link(&upstream, &subject)?
                .filter(|l| l.subject == user.subject)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("link {upstream} / {subject} of `{}`", user.username))
                })?;
            tx.delete_upstream_link(&link)?;
            Ok(LinkView::from(&link))
        })
    })
    .await
}
