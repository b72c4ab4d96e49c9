//! Managing clients: create with a generated secret, list, show, update, rotate the secret,
//! delete, and sync the clients declared in `identity.toml`.

use serde::{Deserialize, Serialize};

use super::views::{ClientCreated, ClientView};
use super::{App, Conflict, Invalid, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{
    Client, ClientIcon, ClientId, ClientSecretDigest, ClientSource, GrantType, IdTokenAlg, LaunchUrl,
    RedirectUri, RequiredFactors, Scope,
};
use crate::store::Reads;

/// What an administrator gives to register a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewClient {
    pub client_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub public: bool,
    /// Empty means `authorization_code` and `refresh_token`.
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub first_party: bool,
    /// `None` means the server's default (`require_pkce` in the configuration).
    #[serde(default)]
    pub require_pkce: Option<bool>,
    /// `EdDSA` (default), `Ed25519` or `RS256`.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<IdTokenAlg>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub refresh_without_offline_access: bool,
    /// Admit `http://localhost` redirect URIs (development only).
    #[serde(default)]
    pub allow_http_localhost: bool,
    /// Resource servers (RFC 8707) the client may ask tokens for.
    #[serde(default)]
    pub resources: Vec<String>,
    /// 1 or 2: how many factors a sign-in for this client needs (`None`: 1).
    #[serde(default)]
    pub require_factors: Option<u8>,
    /// The groups whose members may use the client; empty: everyone.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Where the app launcher opens the client (https, or http on a loopback host with
    /// `allow_http_localhost`).
    #[serde(default)]
    pub launch_url: Option<String>,
    /// The client's picture on the app launcher: an https URL or a PNG/SVG `data:` URL.
    #[serde(default)]
    pub icon: Option<String>,
}

/// A new client secret: 256 random bits, base64url, and its digest.
pub fn new_secret() -> Result<(String, ClientSecretDigest), ServiceError> {
    let secret = random::token()?;
    let digest = ClientSecretDigest(crypto::sha256(secret.as_bytes()));
    Ok((secret, digest))
}

/// The `secret_digest` form of a secret, for declaring a client in `identity.toml`.
pub fn digest_text(secret: &str) -> String {
    format!("sha256:{}", crypto::b64url(&crypto::sha256(secret.as_bytes())))
}

fn parse_uris(raw: &[String], allow_http_localhost: bool) -> Result<Vec<RedirectUri>, ServiceError> {
    let mut out: Vec<RedirectUri> = Vec::new();
    for r in raw {
        let uri = RedirectUri::parse_for(r, allow_http_localhost)
            .map_err(|error| ServiceError::refused("redirect_uris", Invalid::RedirectUri { error }))?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

/// `raw` without repeats, in order.
fn dedup(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in raw {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

fn parse_scopes(raw: &[String]) -> Result<Vec<Scope>, ServiceError> {
    let mut out: Vec<Scope> = Vec::new();
    for s in raw {
        let scope = Scope::parse(s)
            .map_err(|_| ServiceError::refused("scopes", Invalid::Scope { scope: s.clone() }))?;
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    Ok(out)
}

/// `require_factors` as given: 1 or 2.
fn parse_factors(count: u8) -> Result<RequiredFactors, ServiceError> {
    RequiredFactors::from_count(u64::from(count))
        .ok_or_else(|| ServiceError::refused("require_factors", Invalid::RequireFactors))
}

/// `allowed_groups` as given, sorted and without repeats; each must be a group name.
fn parse_groups(raw: &[String]) -> Result<Vec<String>, ServiceError> {
    if let Some(bad) = raw.iter().find(|g| !crate::domain::valid_group(g)) {
        return Err(ServiceError::refused(
            "allowed_groups",
            Invalid::Group { group: bad.clone() },
        ));
    }
    let mut out = raw.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A `launch_url` as given; the empty string (in an update) means none.
fn parse_launch_url(raw: &str) -> Result<Option<LaunchUrl>, ServiceError> {
    if raw.is_empty() {
        return Ok(None);
    }
    LaunchUrl::parse(raw)
        .map(Some)
        .map_err(|error| ServiceError::refused("launch_url", Invalid::Link { error }))
}

/// An `icon` as given; the empty string (in an update) means none.
fn parse_icon(raw: &str) -> Result<Option<ClientIcon>, ServiceError> {
    if raw.is_empty() {
        return Ok(None);
    }
    ClientIcon::parse(raw)
        .map(Some)
        .map_err(|error| ServiceError::refused("icon", Invalid::Link { error }))
}

fn check_rules(client: &Client) -> Result<(), ServiceError> {
    match client.rule_violations().first() {
        Some((field, rule)) => Err(ServiceError::refused(field, Invalid::ClientRule { rule: *rule })),
        None => Ok(()),
    }
}

fn find_or_404(tx: &dyn Reads, id: &str) -> Result<Client, ServiceError> {
    let not_found = || ServiceError::NotFound(format!("client `{id}`"));
    let id = ClientId::parse(id).map_err(|_| not_found())?;
    tx.client(&id)?.ok_or_else(not_found)
}

fn refuse_declared(client: &Client) -> Result<(), ServiceError> {
    if client.source == ClientSource::Config {
        return Err(ServiceError::conflict(Conflict::ClientDeclared {
            client_id: client.client_id.to_string(),
        }));
    }
    Ok(())
}

/// A `backchannel_logout_uri` as given: a redirect-style URI the outbound rules let the server
/// POST to (the same rule as at delivery time).
fn parse_backchannel(app: &App, raw: &str) -> Result<RedirectUri, ServiceError> {
    let uri = RedirectUri::parse(raw)
        .map_err(|error| ServiceError::refused("backchannel_logout_uri", Invalid::RedirectUri { error }))?;
    // The server will POST there: the same outbound rule as at delivery time.
    app.config
        .outbound
        .check_url(uri.as_str())
        .map_err(|refusal| ServiceError::refused("backchannel_logout_uri", Invalid::Outbound { refusal }))?;
    Ok(uri)
}

/// A client's display name: 1 to 200 characters, no control characters (it is shown on the
/// consent page).
fn check_name(name: &str) -> Result<(), ServiceError> {
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ServiceError::refused("name", Invalid::ClientName { max: 200 }));
    }
    Ok(())
}

/// Registers a client. A confidential client gets a new secret, returned here and never again.
pub async fn add(app: &App, new: NewClient) -> Result<ClientCreated, ServiceError> {
    let client_id = ClientId::parse(&new.client_id).map_err(|_| {
        ServiceError::refused(
            "client_id",
            Invalid::ClientId {
                client_id: new.client_id.clone(),
            },
        )
    })?;
    let mut grant_types = new.grant_types.clone();
    if grant_types.is_empty() {
        grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    }
    grant_types.sort();
    grant_types.dedup();
    if let Some(name) = &new.name {
        check_name(name)?;
    }
    let (secret, digest) = if new.public {
        (None, None)
    } else {
        let (s, d) = new_secret()?;
        (Some(s), Some(d))
    };
    let client = Client {
        name: new.name.clone().unwrap_or_else(|| client_id.to_string()),
        client_id,
        redirect_uris: parse_uris(&new.redirect_uris, new.allow_http_localhost)?,
        secret: digest,
        grant_types,
        scopes: parse_scopes(&new.scopes)?,
        first_party: new.first_party,
        require_pkce: new.require_pkce,
        source: ClientSource::Store,
        created_at: app.clock.now(),
        id_token_alg: new.id_token_signed_response_alg.unwrap_or_default(),
        post_logout_redirect_uris: parse_uris(&new.post_logout_redirect_uris, new.allow_http_localhost)?,
        backchannel_logout_uri: match &new.backchannel_logout_uri {
            Some(u) => Some(parse_backchannel(app, u)?),
            None => None,
        },
        refresh_without_offline_access: new.refresh_without_offline_access,
        allow_http_localhost: new.allow_http_localhost,
        resources: dedup(&new.resources),
        require_factors: new
            .require_factors
            .map(parse_factors)
            .transpose()?
            .unwrap_or_default(),
        allowed_groups: parse_groups(&new.allowed_groups)?,
        launch_url: parse_launch_url(new.launch_url.as_deref().unwrap_or(""))?,
        icon: parse_icon(new.icon.as_deref().unwrap_or(""))?,
    };
    check_rules(&client)?;
    let store = app.store.clone();
    let now = app.clock.now();
    blocking(move || {
        store.write(|tx| {
            if tx.client(&client.client_id)?.is_some() {
                return Err(ServiceError::conflict(Conflict::ClientExists {
                    client_id: client.client_id.to_string(),
                }));
            }
            tx.put_client(&client)?;
            if client.id_token_alg == IdTokenAlg::RS256 {
                // Published now, so that a relying party that fetches the JWKS at start finds the key
                // of its first ID token.
                super::keys::ensure_rsa(tx, now)?;
            }
            Ok(ClientCreated {
                client: ClientView::from(&client),
                client_secret: secret.clone(),
            })
        })
    })
    .await
}

/// Lists every client, declared and created.
pub async fn list(app: &App) -> Result<Vec<ClientView>, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        Ok(store
            .read(|tx| tx.clients())?
            .iter()
            .map(ClientView::from)
            .collect())
    })
    .await
}

/// Shows one client.
pub async fn get(app: &App, id: String) -> Result<ClientView, ServiceError> {
    let store = app.store.clone();
    blocking(move || Ok(ClientView::from(&store.read(|tx| find_or_404(tx, &id))?))).await
}

/// Changes to a client's registration; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientUpdate {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<Vec<String>>,
    pub first_party: Option<bool>,
    pub require_pkce: Option<bool>,
    #[serde(default)]
    pub allow_http_localhost: Option<bool>,
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    #[serde(default)]
    pub require_factors: Option<u8>,
    /// The new list of groups whose members may use the client; an empty list admits everyone.
    #[serde(default)]
    pub allowed_groups: Option<Vec<String>>,
    /// The new launch URL; the empty string removes it.
    #[serde(default)]
    pub launch_url: Option<String>,
    /// The new icon; the empty string removes it.
    #[serde(default)]
    pub icon: Option<String>,
    /// The new ID token signing algorithm.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<IdTokenAlg>,
    /// The new list of addresses to return to after signing out.
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// The new back-channel logout address; the empty string removes it.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
}

/// Updates a client created through the CLI or API.
pub async fn update(app: &App, id: String, change: ClientUpdate) -> Result<ClientView, ServiceError> {
    if let Some(name) = &change.name {
        check_name(name)?;
    }
    // The opt-in is checked against the whole registration below; parsing admits localhost.
    let uris = change
        .redirect_uris
        .as_deref()
        .map(|u| parse_uris(u, true))
        .transpose()?;
    let scopes = change.scopes.as_deref().map(parse_scopes).transpose()?;
    let factors = change.require_factors.map(parse_factors).transpose()?;
    let groups = change.allowed_groups.as_deref().map(parse_groups).transpose()?;
    let launch_url = change.launch_url.as_deref().map(parse_launch_url).transpose()?;
    let icon = change.icon.as_deref().map(parse_icon).transpose()?;
    let logout_uris = change
        .post_logout_redirect_uris
        .as_deref()
        .map(|u| parse_uris(u, true))
        .transpose()?;
    let backchannel = match change.backchannel_logout_uri.as_deref() {
        Some("") => Some(None),
        Some(u) => Some(Some(parse_backchannel(app, u)?)),
        None => None,
    };
    let now = app.clock.now();
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let mut client = find_or_404(tx, &id)?;
            refuse_declared(&client)?;
            if let Some(name) = change.name.clone() {
                client.name = name;
            }
            if let Some(uris) = uris.clone() {
                client.redirect_uris = uris;
            }
            if let Some(mut grants) = change.grant_types.clone() {
                grants.sort();
                grants.dedup();
                client.grant_types = grants;
            }
            if let Some(scopes) = scopes.clone() {
                client.scopes = scopes;
            }
            if let Some(fp) = change.first_party {
                client.first_party = fp;
            }
            if let Some(p) = change.require_pkce {
                client.require_pkce = Some(p);
            }
            if let Some(allow) = change.allow_http_localhost {
                client.allow_http_localhost = allow;
            }
            if let Some(resources) = &change.resources {
                client.resources = dedup(resources);
            }
            if let Some(factors) = factors {
                client.require_factors = factors;
            }
            if let Some(groups) = groups.clone() {
                client.allowed_groups = groups;
            }
            if let Some(launch_url) = launch_url.clone() {
                client.launch_url = launch_url;
            }
            if let Some(icon) = icon.clone() {
                client.icon = icon;
            }
            if let Some(alg) = change.id_token_signed_response_alg {
                client.id_token_alg = alg;
            }
            if let Some(uris) = logout_uris.clone() {
                client.post_logout_redirect_uris = uris;
            }
            if let Some(uri) = backchannel.clone() {
                client.backchannel_logout_uri = uri;
            }
            check_rules(&client)?;
            tx.put_client(&client)?;
            if client.id_token_alg == IdTokenAlg::RS256 {
                // As at registration: the key is published before the first ID token it signs.
                super::keys::ensure_rsa(tx, now)?;
            }
            Ok(ClientView::from(&client))
        })
    })
    .await
}

/// Gives a confidential client a new secret; the old one stops working at once.
pub async fn rotate_secret(app: &App, id: String) -> Result<ClientCreated, ServiceError> {
    let (secret, digest) = new_secret()?;
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let mut client = find_or_404(tx, &id)?;
            refuse_declared(&client)?;
            if client.is_public() {
                return Err(ServiceError::conflict(Conflict::ClientPublic {
                    client_id: id.clone(),
                }));
            }
            client.secret = Some(digest.clone());
            tx.put_client(&client)?;
            Ok(ClientCreated {
                client: ClientView::from(&client),
                client_secret: Some(secret.clone()),
            })
        })
    })
    .await
}

/// Deletes a client created through the CLI or API.
pub async fn delete(app: &App, id: String) -> Result<ClientView, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let client = find_or_404(tx, &id)?;
            refuse_declared(&client)?;
            tx.delete_client(&client.client_id)?;
            Ok(ClientView::from(&client))
        })
    })
    .await
}

/// The built-in public client of the Swagger UI at `/docs`.
pub const DOCS_CLIENT_ID: &str = "latchkey-docs";
/// Where the docs page receives authorization responses, under the issuer.
pub const DOCS_RECEIVER_PATH: &str = "/docs/oauth-receiver.html";

/// The docs page's client: public, first-party, PKCE, allowed `openid` and `admin` (which only
/// administrators are granted). `None` when the issuer cannot carry a redirect URI (plain http on
/// a host other than a loopback IP).
pub fn docs_client(issuer: &str) -> Option<Client> {
    // An issuer on http://localhost (a developer's machine) gets the development opt-in.
    let redirect = RedirectUri::parse_for(&format!("{issuer}{DOCS_RECEIVER_PATH}"), true).ok()?;
    let localhost = redirect.is_http_localhost();
    Some(Client {
        client_id: ClientId::parse(DOCS_CLIENT_ID).ok()?,
        name: "Latchkey API documentation".to_owned(),
        redirect_uris: vec![redirect],
        secret: None,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: vec![Scope::parse("openid").ok()?, Scope::parse("admin").ok()?],
        first_party: true,
        require_pkce: Some(true),
        source: ClientSource::Config,
        created_at: crate::domain::Timestamp(0),
        id_token_alg: IdTokenAlg::default(),
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        refresh_without_offline_access: false,
        allow_http_localhost: localhost,
        resources: vec![],
        require_factors: RequiredFactors::One,
        allowed_groups: vec![],
        launch_url: None,
        icon: None,
    })
}

/// Makes the store's declared clients equal to the configuration's: new ones are added, changed
/// ones replaced, and ones no longer declared removed. A created client whose id is now declared
/// is refused, so that a config edit cannot silently take over a client.
pub async fn sync_declared(app: &App) -> Result<(), ServiceError> {
    let mut declared = app.config.clients.clone();
    match docs_client(&app.config.issuer) {
        Some(docs) if !declared.iter().any(|c| c.client_id == docs.client_id) => declared.push(docs),
        Some(_) => {}
        None => tracing::warn!("the issuer is plain http on a named host; the /docs page cannot sign in"),
    }
    let now = app.clock.now();
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            for existing in tx.clients()? {
                if existing.source == ClientSource::Config
                    && !declared.iter().any(|d| d.client_id == existing.client_id)
                {
                    tx.delete_client(&existing.client_id)?;
                }
            }
            for client in declared.clone() {
                let created_at = match tx.client(&client.client_id)? {
                    Some(old) if old.source == ClientSource::Store => {
                        return Err(ServiceError::conflict(Conflict::ClientDeclaredAndStored {
                            client_id: client.client_id.to_string(),
                        }));
                    }
                    Some(old) => old.created_at,
                    None => now,
                };
                tx.put_client(&Client { created_at, ..client })?;
            }
            // Any RS256 client, declared or created (perhaps before keys were made at registration),
            // has its key published from the start.
            if tx.clients()?.iter().any(|c| c.id_token_alg == IdTokenAlg::RS256) {
                super::keys::ensure_rsa(tx, now)?;
            }
            Ok(())
        })
    })
    .await
}
