//! Configuration: `identity.toml` parsed into a raw form (serde, unknown keys refused), then
//! validated into [`Config`]. Every problem names its key and line.
//!
//! This file holds the validated types and the entry points ([`load`], [`parse`]); `raw` the serde
//! form, `validate` the validator and the top-level keys, and one file each for clients,
//! upstreams, TLS, network lists and the branding of `[ui]`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::domain::{Client, Duration, ForwardAuth, OutboundPolicy, Upstream};
use crate::tls::TlsFiles;

mod clients;
mod forward_auth;
#[cfg(test)]
mod forward_auth_tests;
mod metrics;
mod networks;
mod raw;
mod secret;
mod store;
#[cfg(test)]
mod tests;
mod tls;
mod ui;
#[cfg(test)]
mod ui_tests;
mod upstreams;
mod validate;

use raw::RawConfig;
use validate::Validator;

/// The example configuration shipped in the repository, used when no file is found.
pub const EMBEDDED_DEFAULT: &str = include_str!("../identity.toml");
/// Where the configuration is looked for when neither `--config` nor `LATCHKEY_CONFIG` says.
pub const DEFAULT_PATH: &str = "identity.toml";

/// Shortest secret accepted from a file or environment variable.
const MIN_SECRET_LEN: usize = 32;

/// One thing wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

/// Everything wrong with a configuration, with the file it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    pub origin: String,
    pub problems: Vec<Problem>,
}

impl ConfigError {
    fn render(&self) -> String {
        let mut out = format!(
            "{} has {} problem{}:",
            self.origin,
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        );
        for p in &self.problems {
            out.push_str(&format!("\n  {p}"));
        }
        out
    }
}

impl std::fmt::Display for Problem {
    /// `line 12: `ui.accent`: message`, or without the line when there is none.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: `{}`: {}", self.key, self.message),
            None => write!(f, "`{}`: {}", self.key, self.message),
        }
    }
}

/// Values from the environment that override the file (`LATCHKEY_LISTEN` and friends).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub data: Option<String>,
    /// `LATCHKEY_STORE_URL`: the PostgreSQL database, whatever `[store]` says.
    pub store_url: Option<String>,
    /// `LATCHKEY_STORE_SCHEMA`: the PostgreSQL schema, whatever `[store] schema` says.
    pub store_schema: Option<String>,
}

impl Overrides {
    /// Reads `LATCHKEY_LISTEN`, `LATCHKEY_ISSUER`, `LATCHKEY_DATA`, `LATCHKEY_STORE_URL` and
    /// `LATCHKEY_STORE_SCHEMA`.
    pub fn from_env() -> Overrides {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Overrides {
            listen: var("LATCHKEY_LISTEN"),
            issuer: var("LATCHKEY_ISSUER"),
            data: var("LATCHKEY_DATA"),
            store_url: var("LATCHKEY_STORE_URL"),
            store_schema: var("LATCHKEY_STORE_SCHEMA"),
        }
    }
}

/// Which store engine, as `[store]` (and `LATCHKEY_STORE_URL`) chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The redb file at [`Config::data`].
    Redb,
    /// A PostgreSQL database; its `Debug` never shows the URL.
    Postgres(crate::store::PostgresOptions),
}

/// Token and code lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access_token: Duration,
    pub refresh_token: Duration,
    pub id_token: Duration,
    pub authorization_code: Duration,
    pub session: Duration,
}

/// Rules for new passwords, and the cost of hashing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// `[password_policy] argon2`: the cost of every new hash; a stored hash made at another is
    /// replaced at its user's next successful sign-in.
    pub argon2: crate::crypto::password::Argon2Cost,
}

/// Why [`PasswordPolicy`] refuses a password. The text is the English of the admin API and the
/// CLI; the pages say it in their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRefusal {
    #[error("the password must have at least {min} characters")]
    TooShort { min: usize },
    #[error("the password must have at most {max} characters")]
    TooLong { max: usize },
}

impl PasswordPolicy {
    /// Why `password` is not acceptable, or `None`.
    pub fn check(&self, password: &str) -> Option<PasswordRefusal> {
        let len = password.chars().count();
        if len < self.min_length {
            Some(PasswordRefusal::TooShort { min: self.min_length })
        } else if len > self.max_length {
            Some(PasswordRefusal::TooLong { max: self.max_length })
        } else {
            None
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it came from: a path, or "the embedded default".
    pub origin: String,
    /// The issuer URL, without a trailing slash.
    pub issuer: String,
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// Whether the operator chose the data path: `LATCHKEY_DATA`, or a configuration file that
    /// was found (not the embedded default). Only then may an administrative command create
    /// the data file; `serve` always may.
    pub data_named: bool,
    pub lifetimes: Lifetimes,
    /// How long a replaced signing key stays published.
    pub key_retire_after: Duration,
    /// Rotate the signing keys automatically when the active one is this old; `None`: only by
    /// `latchkey keys rotate`.
    pub key_rotate_every: Option<Duration>,
    pub password_policy: PasswordPolicy,
    /// Clients declared in the file, synced into the store at start.
    pub clients: Vec<Client>,
    /// The certificate and key files of the built-in TLS, if it is on.
    pub tls: Option<TlsFiles>,
    /// Reverse proxies whose forwarding header is believed; empty: none, the peer is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// The header those proxies write the client's address into.
    pub forwarded_header: ForwardedHeader,
    /// Upstream providers for "Sign in with ...", in the order of the file.
    pub upstreams: Vec<Upstream>,
    /// The PKCE default for confidential clients registered without `require_pkce`.
    pub require_pkce: bool,
    /// `[outbound]`: the special-purpose networks the server may call anyway.
    pub outbound: OutboundPolicy,
    /// How long audit entries are kept before the purge task deletes them (`[audit] retain`).
    pub audit_retain: Duration,
    /// `[login] require_second_factor_for`: members of these groups must sign in with two factors.
    pub require_second_factor_for: Vec<String>,
    /// `[forward_auth]`: the cookie domains and access rules for reverse proxies; `None` when the
    /// file has no such section (the forward-auth endpoints then answer 404).
    pub forward_auth: Option<ForwardAuth>,
    /// `[ui] default_language`: the pages' language when neither the request (`ui_locales`),
    /// the language cookie nor `Accept-Language` names a supported one. Default English.
    pub default_language: crate::domain::Language,
    /// `[ui]` `name`, `logo`, `accent`, `accent_dark`, `stylesheet`: the pages' look, with the
    /// files already read (`serve` and `check-config` only).
    pub branding: crate::domain::Branding,
    /// `[metrics]`: whether `GET /metrics` answers and recording is on, who may scrape.
    pub metrics: MetricsConfig,
    /// The store engine: the redb file at `data`, or a PostgreSQL database. With PostgreSQL,
    /// `data` still places the admin socket (`DATA.sock`) and the automatic backups.
    pub store: StoreConfig,
    /// What is allowed but unwise (an accent that is hard to see on the card): `check-config`
    /// prints these and `serve` logs them.
    pub warnings: Vec<Problem>,
}

/// `[metrics]` as validated.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Default true; false: `/metrics` answers 404 and nothing is recorded.
    pub enabled: bool,
    /// The client addresses (as resolved behind `trusted_proxies`) that may scrape; default
    /// loopback only (`127.0.0.0/8`, `::1`).
    pub networks: Vec<IpNet>,
    /// The bearer token a scrape must carry, if one is configured (`token_file` or `token_env`).
    pub token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            networks: metrics::loopback(),
            token: None,
        }
    }
}

impl std::fmt::Debug for MetricsConfig {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("enabled", &self.enabled)
            .field("networks", &self.networks)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Which header trusted proxies write the client's address into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx, HAProxy, Caddy, Traefik, most load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

impl Config {
    /// Whether the issuer is served over https, which turns on `Secure` and `__Host-` cookies.
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// The upstream provider called `name`.
    pub fn upstream(&self, name: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.name == name)
    }
}

/// Loads the configuration from `path`, or from [`DEFAULT_PATH`] if that exists, or else the
/// embedded default; then applies `overrides` and validates.
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    load_with(path, overrides, Clients::Validate)
}

/// Like [`load`], but leaves the declared clients out, so that administrative commands work
/// without the environment that holds the clients' secrets. Only `serve` syncs clients.
pub fn load_for_admin(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
    load_with(path, overrides, Clients::Skip)
}

/// Whether declared clients are validated (and their secrets read) and the TLS files read, or
/// both left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clients {
    Validate,
    Skip,
}

fn load_with(path: Option<&Path>, overrides: &Overrides, clients: Clients) -> Result<Config, ConfigError> {
    let (origin, text, base, found) = match path {
        Some(p) => (
            p.display().to_string(),
            read(p)?,
            p.parent().map(Path::to_owned),
            true,
        ),
        None if Path::new(DEFAULT_PATH).exists() => {
            let p = Path::new(DEFAULT_PATH);
            (p.display().to_string(), read(p)?, None, true)
        }
        None => (
            "the embedded default configuration".to_owned(),
            EMBEDDED_DEFAULT.to_owned(),
            None,
            false,
        ),
    };
    let mut config = parse_with(&origin, &text, base.as_deref(), overrides, clients)?;
    config.data_named |= found;
    Ok(config)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError {
        origin: path.display().to_string(),
        problems: vec![Problem {
            line: None,
            key: "(file)".into(),
            message: format!("cannot read the configuration file: {e}"),
        }],
    })
}

/// Parses and validates configuration text. Relative paths resolve against `base` (the config
/// file's directory) when given, else against the working directory.
pub fn parse(
    origin: &str,
    text: &str,
    base: Option<&Path>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    parse_with(origin, text, base, overrides, Clients::Validate)
}

fn parse_with(
    origin: &str,
    text: &str,
    base: Option<&Path>,
    overrides: &Overrides,
    clients: Clients,
) -> Result<Config, ConfigError> {
    let mut raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
        origin: origin.to_owned(),
        problems: vec![Problem {
            line: e.span().map(|s| line_of(text, s.start)),
            key: e
                .span()
                .and_then(|s| text.get(s))
                .map(|k| k.trim().to_owned())
                .unwrap_or_default(),
            message: e.message().trim().to_owned(),
        }],
    })?;
    if clients == Clients::Skip {
        raw.clients.clear();
        raw.upstreams.clear();
    }
    let mut v = Validator {
        text,
        problems: Vec::new(),
        clients,
        outbound: OutboundPolicy::default(),
    };
    let config = v.config(origin, raw, base, overrides);
    if v.problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            origin: origin.to_owned(),
            problems: v.problems,
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    let p = PathBuf::from(path.strip_prefix("./").unwrap_or(path));
    match base {
        Some(b) if p.is_relative() && !b.as_os_str().is_empty() => b.join(p),
        _ => p,
    }
}
