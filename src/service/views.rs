//! The shapes in which users, clients and keys leave the program: the CLI's `--json` output, the
//! admin socket and the admin API all use these. None of them carries a secret or a hash, except
//! [`ClientCreated::client_secret`], shown once.

use serde::{Deserialize, Serialize};

use crate::domain::{Client, ClientSource, GrantType, IdTokenAlg, SigningKeyRecord, Timestamp, User};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub subject: String,
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub groups: Vec<String>,
    pub disabled: bool,
    pub has_password: bool,
    pub created_at: u64,
    pub updated_at: u64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            subject: u.subject.to_string(),
            username: u.username.to_string(),
            name: u.name.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            groups: u.groups.clone(),
            disabled: u.disabled,
            has_password: u.password_hash.is_some(),
            created_at: u.created_at.0,
            updated_at: u.updated_at.0,
        }
    }
}

/// One page of a listing; `next` is the cursor for the following page, if there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// `true`: PKCE in every request; `false`: never required (legacy); `null`: the server's
    /// default. Public clients always need PKCE.
    pub require_pkce: Option<bool>,
    pub source: ClientSource,
    pub created_at: u64,
    pub id_token_signed_response_alg: IdTokenAlg,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub refresh_without_offline_access: bool,
    pub allow_http_localhost: bool,
    pub resources: Vec<String>,
    /// 1 or 2: how many factors a sign-in for this client needs.
    #[serde(default = "one")]
    pub require_factors: u8,
    /// The groups whose members may use the client; empty: everyone.
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    /// Where the app launcher opens the client.
    #[serde(default)]
    pub launch_url: Option<String>,
    /// The client's picture on the app launcher.
    #[serde(default)]
    pub icon: Option<String>,
}

fn one() -> u8 {
    1
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        ClientView {
            client_id: c.client_id.to_string(),
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.iter().map(|r| r.to_string()).collect(),
            public: c.is_public(),
            grant_types: c.grant_types.clone(),
            scopes: c.scopes.iter().map(|s| s.to_string()).collect(),
            first_party: c.first_party,
            require_pkce: c.require_pkce,
            source: c.source,
            created_at: c.created_at.0,
            id_token_signed_response_alg: c.id_token_alg,
            post_logout_redirect_uris: c
                .post_logout_redirect_uris
                .iter()
                .map(|r| r.to_string())
                .collect(),
            backchannel_logout_uri: c.backchannel_logout_uri.as_ref().map(|r| r.to_string()),
            refresh_without_offline_access: c.refresh_without_offline_access,
            allow_http_localhost: c.allow_http_localhost,
            resources: c.resources.clone(),
            require_factors: c.require_factors.count(),
            allowed_groups: c.allowed_groups.clone(),
            launch_url: c.launch_url.as_ref().map(|u| u.to_string()),
            icon: c.icon.as_ref().map(|i| i.as_str().to_owned()),
        }
    }
}

/// A client just created or whose secret was just rotated: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCreated {
    #[serde(flatten)]
    pub client: ClientView,
    /// The new secret for a confidential client; `None` for a public one.
    pub client_secret: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Signs new tokens.
    Active,
    /// Replaced, still published so that tokens it signed verify.
    Retiring,
    /// No longer published.
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    pub status: KeyStatus,
    pub created_at: u64,
    pub retire_at: Option<u64>,
}

impl KeyView {
    pub fn new(k: &SigningKeyRecord, now: Timestamp) -> KeyView {
        let status = match (k.superseded_at, k.retire_at) {
            (None, _) => KeyStatus::Active,
            (Some(_), Some(r)) if r <= now => KeyStatus::Retired,
            (Some(_), _) => KeyStatus::Retiring,
        };
        KeyView {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            status,
            created_at: k.created_at.0,
            retire_at: k.retire_at.map(|t| t.0),
        }
    }
}
