//! Users and clients as the rest of the program sees them.

use serde::{Deserialize, Serialize};

use super::{ClientIcon, ClientId, GrantType, LaunchUrl, RedirectUri, Scope, Subject, Timestamp, Username};

/// The group whose members may use the admin API.
pub const ADMIN_GROUP: &str = "admins";

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub subject: Subject,
    pub username: Username,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub groups: Vec<String>,
    pub disabled: bool,
    /// The argon2id PHC string, or `None` for a user who cannot sign in with a password.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an administrator gives to create a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Where a client's registration lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientSource {
    /// Declared in `identity.toml`; changed only by editing the file.
    Config,
    /// Created through the CLI or the admin API.
    Store,
}

/// A SHA-256 digest of a client secret. Secrets are at least 256 random bits, so a fast digest is
/// as strong as a password hash here and keeps client authentication cheap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientSecretDigest(pub [u8; 32]);

/// A registered OAuth 2.0 client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: ClientId,
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    /// `None` for a public client.
    pub secret: Option<ClientSecretDigest>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<Scope>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    /// Whether PKCE is required of this confidential client: `Some(true)` in every request,
    /// `Some(false)` never (legacy clients), `None` the server's default (see
    /// [`crate::protocol::authorize::PkcePolicy`]). Public clients always need PKCE.
    pub require_pkce: Option<bool>,
    pub source: ClientSource,
    pub created_at: Timestamp,
    /// How this client's ID tokens are signed (`id_token_signed_response_alg`).
    #[serde(default)]
    pub id_token_alg: IdTokenAlg,
    /// Where RP-initiated logout may send the browser afterwards (exact match).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Where back-channel logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0).
    #[serde(default)]
    pub backchannel_logout_uri: Option<RedirectUri>,
    /// Issue refresh tokens to OpenID Connect requests without `offline_access`.
    #[serde(default)]
    pub refresh_without_offline_access: bool,
    /// The development opt-in that admits `http://localhost` redirect URIs.
    #[serde(default)]
    pub allow_http_localhost: bool,
    /// The resource servers (RFC 8707 resource indicators) this client may ask tokens for,
    /// besides Latchkey's own.
    #[serde(default)]
    pub resources: Vec<String>,
    /// How many factors a sign-in for this client needs (`require_factors`): two sends a
    /// password-only session to sign in again with a second factor (step-up).
    #[serde(default)]
    pub require_factors: RequiredFactors,
    /// The groups whose members may use this client (sorted, without repeats); empty: everyone.
    /// A signed-in user in none of them is refused at the authorization endpoint, and the
    /// password and refresh grants refuse them too.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Where the app launcher (`/apps`) opens this client; a client without one is not listed.
    #[serde(default)]
    pub launch_url: Option<LaunchUrl>,
    /// The client's picture on the app launcher.
    #[serde(default)]
    pub icon: Option<ClientIcon>,
}

/// How many factors a client's sign-ins need: one (the default) or two. Stored and shown as the
/// number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum RequiredFactors {
    /// Any sign-in will do.
    #[default]
    One,
    /// Only a sign-in with two factors (`amr` has `mfa`).
    Two,
}

impl RequiredFactors {
    /// The setting for a count: `None` unless it is 1 or 2.
    pub fn from_count(count: u64) -> Option<RequiredFactors> {
        match count {
            1 => Some(RequiredFactors::One),
            2 => Some(RequiredFactors::Two),
            _ => None,
        }
    }

    /// The count, 1 or 2.
    pub fn count(self) -> u8 {
        match self {
            RequiredFactors::One => 1,
            RequiredFactors::Two => 2,
        }
    }
}

impl TryFrom<u8> for RequiredFactors {
    type Error = String;
    fn try_from(count: u8) -> Result<Self, Self::Error> {
        RequiredFactors::from_count(u64::from(count))
            .ok_or_else(|| format!("require_factors is 1 or 2, not {count}"))
    }
}

impl From<RequiredFactors> for u8 {
    fn from(f: RequiredFactors) -> u8 {
        f.count()
    }
}

/// The JWS algorithm of a client's ID tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdTokenAlg {
    /// Ed25519, named `EdDSA` (RFC 8037). The default.
    #[default]
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// Ed25519, named by its fully specified RFC 9864 name: the same key and signature.
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with SHA-256, for relying parties that cannot verify Ed25519.
    RS256,
}

impl IdTokenAlg {
    pub const ALL: [IdTokenAlg; 3] = [IdTokenAlg::EdDsa, IdTokenAlg::Ed25519, IdTokenAlg::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            IdTokenAlg::EdDsa => "EdDSA",
            IdTokenAlg::Ed25519 => "Ed25519",
            IdTokenAlg::RS256 => "RS256",
        }
    }
}

impl std::str::FromStr for IdTokenAlg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdTokenAlg::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown ID token algorithm `{s}` (expected EdDSA, Ed25519 or RS256)"))
    }
}

impl User {
    /// Whether this user administers Latchkey (is in [`ADMIN_GROUP`]).
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == ADMIN_GROUP)
    }

    /// Whether this user may open the admin console and the admin API now: enabled and in
    /// [`ADMIN_GROUP`].
    pub fn administers(&self) -> bool {
        self.is_admin() && !self.disabled
    }
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether `user` may use this client: it names no `allowed_groups`, or the user is in one
    /// of them.
    pub fn admits(&self, user: &User) -> bool {
        self.allowed_groups.is_empty() || user.groups.iter().any(|g| self.allowed_groups.contains(g))
    }
}

/// A cross-field rule of a client's registration that it breaks ([`Client::rule_violations`]).
/// The text is the English of the admin API, the CLI and the configuration check; the pages say
/// it in their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientRule {
    #[error("a client needs at least one grant type")]
    NoGrantType,
    #[error("a client that uses authorization_code needs at least one redirect URI")]
    NoRedirectUri,
    #[error("client_credentials is only for confidential clients")]
    PublicClientCredentials,
    #[error("PKCE cannot be switched off for a public client")]
    PublicWithoutPkce,
    #[error("an http://localhost URI needs allow_http_localhost = true; or use http://127.0.0.1")]
    HttpLocalhost,
    #[error(
        "an http:// launch URL (on localhost, 127.0.0.1 or [::1] only) needs allow_http_localhost = true"
    )]
    HttpLaunchUrl,
    #[error("a group is 1 to 64 letters, digits, '.', '_' or '-'")]
    Group,
    #[error(
        "a resource is an absolute https URI (or http on a loopback address) without a fragment (RFC 8707)"
    )]
    Resource,
}

impl Client {
    /// The cross-field rules every registration must meet, as `(field, reason)` pairs; empty when
    /// the registration is sound. Used for clients from the config file, the CLI and the API.
    pub fn rule_violations(&self) -> Vec<(&'static str, ClientRule)> {
        let mut out = Vec::new();
        if self.grant_types.is_empty() {
            out.push(("grant_types", ClientRule::NoGrantType));
        }
        if self.redirect_uris.is_empty() && self.grant_types.iter().any(|g| g.uses_redirect()) {
            out.push(("redirect_uris", ClientRule::NoRedirectUri));
        }
        if self.is_public() {
            if self.grant_types.contains(&GrantType::ClientCredentials) {
                out.push(("grant_types", ClientRule::PublicClientCredentials));
            }
            if self.require_pkce == Some(false) {
                out.push(("require_pkce", ClientRule::PublicWithoutPkce));
            }
        }
        let localhost = self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris)
            .any(RedirectUri::is_http_localhost);
        if localhost && !self.allow_http_localhost {
            out.push(("redirect_uris", ClientRule::HttpLocalhost));
        }
        if self.launch_url.as_ref().is_some_and(LaunchUrl::is_plain_http) && !self.allow_http_localhost {
            out.push(("launch_url", ClientRule::HttpLaunchUrl));
        }
        if self.allowed_groups.iter().any(|g| !super::valid_group(g)) {
            out.push(("allowed_groups", ClientRule::Group));
        }
        for resource in &self.resources {
            if !valid_resource(resource) {
                out.push(("resources", ClientRule::Resource));
                break;
            }
        }
        out
    }
}

/// Whether `resource` may name a resource server (RFC 8707 section 2): an absolute URI without a
/// fragment, https unless it is on a loopback address or localhost, at most 512 characters.
pub fn valid_resource(resource: &str) -> bool {
    if resource.len() > 512
        || resource.contains('#')
        || resource.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    match url::Url::parse(resource) {
        Ok(u) if u.username().is_empty() && u.password().is_none() => match (u.scheme(), u.host()) {
            ("https", Some(_)) => true,
            ("http", Some(url::Host::Domain("localhost"))) => true,
            ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
            ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
            _ => false,
        },
        _ => false,
    }
}
