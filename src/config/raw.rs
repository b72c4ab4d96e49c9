//! The configuration file as serde reads it: every table and key, unknown keys refused, values
//! kept with their spans so that a problem can name its line. Nothing here is checked yet.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) issuer: Option<Spanned<String>>,
    pub(super) listen: Option<Spanned<String>>,
    pub(super) data: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) tokens: RawTokens,
    #[serde(default)]
    pub(super) sessions: RawSessions,
    #[serde(default)]
    pub(super) keys: RawKeys,
    #[serde(default)]
    pub(super) password_policy: RawPasswordPolicy,
    #[serde(default, rename = "client")]
    pub(super) clients: Vec<RawClient>,
    pub(super) tls: Option<Spanned<RawTls>>,
    #[serde(default)]
    pub(super) trusted_proxies: Vec<Spanned<String>>,
    pub(super) forwarded_header: Option<Spanned<String>>,
    #[serde(default, rename = "upstream")]
    pub(super) upstreams: Vec<RawUpstream>,
    #[serde(default)]
    pub(super) require_pkce: bool,
    #[serde(default)]
    pub(super) outbound: RawOutbound,
    #[serde(default)]
    pub(super) audit: RawAudit,
    #[serde(default)]
    pub(super) login: RawLogin,
    pub(super) forward_auth: Option<RawForwardAuth>,
    #[serde(default)]
    pub(super) ui: RawUi,
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    #[serde(default)]
    pub(super) store: RawStore,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub(super) kind: Option<Spanned<String>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) url_file: Option<Spanned<String>>,
    pub(super) url_env: Option<Spanned<String>>,
    pub(super) schema: Option<Spanned<String>>,
    pub(super) pool_size: Option<Spanned<i64>>,
    pub(super) tls_ca_file: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) enabled: Option<bool>,
    pub(super) networks: Option<Vec<Spanned<String>>>,
    pub(super) token_file: Option<Spanned<String>>,
    pub(super) token_env: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUi {
    pub(super) default_language: Option<Spanned<String>>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) logo: Option<Spanned<String>>,
    pub(super) accent: Option<Spanned<String>>,
    pub(super) accent_dark: Option<Spanned<String>>,
    pub(super) stylesheet: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogin {
    #[serde(default)]
    pub(super) require_second_factor_for: Vec<Spanned<String>>,
}

/// A string or a list of strings (`domain = "a"` or `domain = ["a", "b"]`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(super) fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawForwardAuth {
    pub(super) cookie_domain: Option<Spanned<OneOrMany>>,
    pub(super) default_policy: Option<Spanned<String>>,
    pub(super) require_https: Option<bool>,
    #[serde(default)]
    pub(super) rule: Vec<Spanned<RawAccessRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccessRule {
    pub(super) domain: Option<Spanned<OneOrMany>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) methods: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub(super) networks: Vec<Spanned<String>>,
    pub(super) subject: Option<Spanned<OneOrMany>>,
    pub(super) policy: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbound {
    #[serde(default)]
    pub(super) allow_networks: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) retain: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    pub(super) name: Spanned<String>,
    pub(super) display_name: Option<Spanned<String>>,
    pub(super) kind: Spanned<String>,
    pub(super) issuer: Option<Spanned<String>>,
    pub(super) authorization_url: Option<Spanned<String>>,
    pub(super) token_url: Option<Spanned<String>>,
    pub(super) userinfo_url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) userinfo: bool,
    pub(super) client_id: Spanned<String>,
    pub(super) client_secret_file: Option<Spanned<String>>,
    pub(super) client_secret_env: Option<Spanned<String>>,
    pub(super) scopes: Option<Vec<Spanned<String>>>,
    pub(super) link: Option<Spanned<String>>,
    pub(super) timeout_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) claims: RawClaims,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClaims {
    pub(super) subject: Option<String>,
    pub(super) username: Option<String>,
    pub(super) email: Option<String>,
    pub(super) email_verified: Option<String>,
    pub(super) name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) certificate: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTokens {
    pub(super) access_token: Option<Spanned<String>>,
    pub(super) refresh_token: Option<Spanned<String>>,
    pub(super) id_token: Option<Spanned<String>>,
    pub(super) authorization_code: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSessions {
    pub(super) lifetime: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeys {
    pub(super) retire_after: Option<Spanned<String>>,
    pub(super) rotate_every: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPasswordPolicy {
    pub(super) min_length: Option<Spanned<i64>>,
    pub(super) max_length: Option<Spanned<i64>>,
    pub(super) argon2: Option<Spanned<RawArgon2>>,
}

/// `argon2 = { m = 19456, t = 2, p = 1 }`; a key left out keeps its default.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArgon2 {
    pub(super) m: Option<Spanned<i64>>,
    pub(super) t: Option<Spanned<i64>>,
    pub(super) p: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    pub(super) client_id: Spanned<String>,
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) redirect_uris: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) public: bool,
    pub(super) grant_types: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) scopes: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) first_party: bool,
    pub(super) require_pkce: Option<Spanned<bool>>,
    pub(super) secret_file: Option<Spanned<String>>,
    pub(super) secret_env: Option<Spanned<String>>,
    pub(super) secret_digest: Option<Spanned<String>>,
    pub(super) id_token_signed_response_alg: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) post_logout_redirect_uris: Vec<Spanned<String>>,
    pub(super) backchannel_logout_uri: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) refresh_without_offline_access: bool,
    #[serde(default)]
    pub(super) allow_http_localhost: bool,
    #[serde(default)]
    pub(super) resources: Vec<Spanned<String>>,
    pub(super) require_factors: Option<Spanned<i64>>,
    /// Another spelling of `require_factors`: `"1fa"` or `"2fa"`.
    pub(super) acr: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) allowed_groups: Vec<Spanned<String>>,
    pub(super) launch_url: Option<Spanned<String>>,
    pub(super) icon: Option<Spanned<String>>,
}
