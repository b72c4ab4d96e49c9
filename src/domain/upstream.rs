//! Upstream providers ("Sign in with ..."): how one is configured, the identity it vouches for,
//! and the records that tie it to local users.

use serde::{Deserialize, Serialize};

use super::{Subject, Timestamp};

/// What kind of provider an upstream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamKind {
    /// An OpenID Connect provider: endpoints from `{issuer}/.well-known/openid-configuration`,
    /// identity from a validated ID token (and the userinfo endpoint if `userinfo` is on).
    Oidc { issuer: String, userinfo: bool },
    /// A plain OAuth 2.0 provider without ID tokens: identity from a user-info URL.
    OAuth2 {
        authorization_url: String,
        token_url: String,
        userinfo_url: String,
    },
}

/// Which local user an upstream identity seen for the first time becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPolicy {
    /// Create a local user on first sign-in.
    Create,
    /// Link to the one existing user whose verified email equals the upstream's verified email,
    /// unless that user is an administrator or can sign in another way.
    LinkByEmail,
    /// Only identities an administrator linked in advance may sign in.
    ExistingOnly,
}

impl LinkPolicy {
    pub fn parse(text: &str) -> Option<LinkPolicy> {
        match text {
            "create" => Some(LinkPolicy::Create),
            "link-by-email" => Some(LinkPolicy::LinkByEmail),
            "existing-only" => Some(LinkPolicy::ExistingOnly),
            _ => None,
        }
    }
}

/// Which fields of the upstream's claims (ID token, then user info) give each local attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    pub subject: String,
    pub username: String,
    pub email: String,
    pub email_verified: String,
    pub name: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject: "sub".into(),
            username: "preferred_username".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
            name: "name".into(),
        }
    }
}

/// One configured upstream provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The name in URLs (`/login/upstream/{name}`): lower-case letters, digits and `-`.
    pub name: String,
    /// The button text after "Sign in with".
    pub display_name: String,
    pub kind: UpstreamKind,
    pub client_id: String,
    /// `None`: a public client (PKCE only).
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub claims: ClaimMapping,
    pub link: LinkPolicy,
    /// The longest any one call to the upstream may take.
    pub timeout: std::time::Duration,
}

impl Upstream {
    /// Whether `name` may name an upstream: 1 to 32 lower-case ASCII letters, digits or `-`
    /// (it is part of URLs).
    pub fn is_valid_name(name: &str) -> bool {
        (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("link", &self.link)
            .finish_non_exhaustive()
    }
}

/// The identity an upstream vouched for, after the claim mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    pub subject: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// A link from an upstream identity to the local user it signs in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamLink {
    pub upstream: String,
    pub upstream_subject: String,
    pub subject: Subject,
    pub linked_at: Timestamp,
    pub last_used: Option<Timestamp>,
}

/// A sign-in sent to an upstream and not yet back: kept under the digest of its `state`, used
/// once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpstream {
    pub upstream: String,
    /// The digest of the browser-binding cookie set when the sign-in started.
    pub browser: String,
    /// `None` for a plain OAuth 2.0 upstream.
    pub nonce: Option<String>,
    pub pkce_verifier: String,
    /// Where to go once signed in travels in the browser-binding cookie, not here, so that a
    /// record's size never depends on the request (records written before carry a `return_to`,
    /// which is ignored).
    pub expires_at: Timestamp,
}
