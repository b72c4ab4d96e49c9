//! The upstream providers as this server reaches them: one checked HTTP client each, and the
//! discovered metadata (with its JWKS) cached for a few minutes.

use crate::service::StartError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, ClientId, ClientSecret, IssuerUrl, ProviderMetadata, RedirectUrl,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::{METADATA_TTL, UpstreamError, http};
use crate::domain::{OutboundPolicy, Timestamp, Upstream};
use crate::service::App;
use crate::service::outbound::Outbound;

/// The metadata field of RFC 9207: whether the provider sends `iss` on authorization responses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IssParameter {
    #[serde(default)]
    pub(super) authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for IssParameter {}

pub(super) type Metadata = ProviderMetadata<
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
    pub(super) http: HashMap<String, Outbound>,
    pub(super) metadata: Mutex<HashMap<String, (Timestamp, Arc<Metadata>)>>,
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

/// The upstream's discovered metadata, from the cache unless it is older than [`METADATA_TTL`] or
/// `fresh` is asked for.
pub(super) async fn metadata(
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
                UpstreamError::Unreachable(crate::service::outbound::describe(&e))
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

pub(super) fn oidc_client(
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

pub(super) type OidcClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub(super) type PlainClient = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

pub(super) fn plain_client(
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
