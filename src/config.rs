//! Configuration: `identity.toml` parsed into a raw form (serde, unknown keys refused), then
//! validated into [`Config`]. Every problem names its key and line.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use serde::Deserialize;
use toml::Spanned;

use crate::crypto;
use crate::domain::{
    ClaimMapping, Client, ClientId, ClientSecretDigest, ClientSource, Duration, GrantType, IdTokenAlg,
    LinkPolicy, OutboundPolicy, RedirectUri, Scope, Timestamp, Upstream, UpstreamKind,
};
use crate::tls::{self, TlsFiles, TlsKey};

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
            match p.line {
                Some(line) => out.push_str(&format!("\n  line {line}: `{}`: {}", p.key, p.message)),
                None => out.push_str(&format!("\n  `{}`: {}", p.key, p.message)),
            }
        }
        out
    }
}

/// Values from the environment that override the file (`LATCHKEY_LISTEN` and friends).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub data: Option<String>,
}

impl Overrides {
    /// Reads `LATCHKEY_LISTEN`, `LATCHKEY_ISSUER` and `LATCHKEY_DATA`.
    pub fn from_env() -> Overrides {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Overrides {
            listen: var("LATCHKEY_LISTEN"),
            issuer: var("LATCHKEY_ISSUER"),
            data: var("LATCHKEY_DATA"),
        }
    }
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

/// Rules for new passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl PasswordPolicy {
    /// Why `password` is not acceptable, or `None`.
    pub fn check(&self, password: &str) -> Option<String> {
        let len = password.chars().count();
        if len < self.min_length {
            Some(format!(
                "the password must have at least {} characters",
                self.min_length
            ))
        } else if len > self.max_length {
            Some(format!(
                "the password must have at most {} characters",
                self.max_length
            ))
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    issuer: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    data: Option<Spanned<String>>,
    #[serde(default)]
    tokens: RawTokens,
    #[serde(default)]
    sessions: RawSessions,
    #[serde(default)]
    keys: RawKeys,
    #[serde(default)]
    password_policy: RawPasswordPolicy,
    #[serde(default, rename = "client")]
    clients: Vec<RawClient>,
    tls: Option<Spanned<RawTls>>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    forwarded_header: Option<Spanned<String>>,
    #[serde(default, rename = "upstream")]
    upstreams: Vec<RawUpstream>,
    #[serde(default)]
    require_pkce: bool,
    #[serde(default)]
    outbound: RawOutbound,
    #[serde(default)]
    audit: RawAudit,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbound {
    #[serde(default)]
    allow_networks: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    retain: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    name: Spanned<String>,
    display_name: Option<Spanned<String>>,
    kind: Spanned<String>,
    issuer: Option<Spanned<String>>,
    authorization_url: Option<Spanned<String>>,
    token_url: Option<Spanned<String>>,
    userinfo_url: Option<Spanned<String>>,
    #[serde(default)]
    userinfo: bool,
    client_id: Spanned<String>,
    client_secret_file: Option<Spanned<String>>,
    client_secret_env: Option<Spanned<String>>,
    scopes: Option<Vec<Spanned<String>>>,
    link: Option<Spanned<String>>,
    timeout_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    claims: RawClaims,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaims {
    subject: Option<String>,
    username: Option<String>,
    email: Option<String>,
    email_verified: Option<String>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    certificate: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTokens {
    access_token: Option<Spanned<String>>,
    refresh_token: Option<Spanned<String>>,
    id_token: Option<Spanned<String>>,
    authorization_code: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSessions {
    lifetime: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    retire_after: Option<Spanned<String>>,
    rotate_every: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPasswordPolicy {
    min_length: Option<Spanned<i64>>,
    max_length: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    client_id: Spanned<String>,
    name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<Spanned<String>>,
    #[serde(default)]
    public: bool,
    grant_types: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    scopes: Vec<Spanned<String>>,
    #[serde(default)]
    first_party: bool,
    require_pkce: Option<Spanned<bool>>,
    secret_file: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    secret_digest: Option<Spanned<String>>,
    id_token_signed_response_alg: Option<Spanned<String>>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<Spanned<String>>,
    backchannel_logout_uri: Option<Spanned<String>>,
    #[serde(default)]
    refresh_without_offline_access: bool,
    #[serde(default)]
    allow_http_localhost: bool,
    #[serde(default)]
    resources: Vec<Spanned<String>>,
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

/// An upstream's URL: https, or http on a loopback address (for a provider on the same host, and
/// tests); no user information, no fragment.
fn upstream_url_ok(text: &str) -> bool {
    let Ok(u) = url::Url::parse(text) else {
        return false;
    };
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    (u.scheme() == "https" || (u.scheme() == "http" && loopback))
        && u.host().is_some()
        && u.username().is_empty()
        && u.password().is_none()
        && u.fragment().is_none()
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

struct Validator<'t> {
    text: &'t str,
    problems: Vec<Problem>,
    /// `Skip` for administrative commands: declared clients and the TLS files are not read.
    clients: Clients,
    /// `[outbound]`, read before the clients and upstreams whose URLs it judges.
    outbound: OutboundPolicy,
}

impl Validator<'_> {
    fn problem<T>(&mut self, key: &str, at: Option<&Spanned<T>>, message: impl Into<String>) {
        self.problems.push(Problem {
            line: at.map(|s| line_of(self.text, s.span().start)),
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn duration(&mut self, key: &str, raw: &Option<Spanned<String>>, default: Duration) -> Duration {
        match raw {
            None => default,
            Some(s) => match s.get_ref().parse::<Duration>() {
                Ok(d) if d.0 > 0 => d,
                Ok(_) => {
                    self.problem(key, Some(s), "must be longer than zero");
                    default
                }
                Err(e) => {
                    self.problem(key, Some(s), e);
                    default
                }
            },
        }
    }

    fn config(&mut self, origin: &str, raw: RawConfig, base: Option<&Path>, overrides: &Overrides) -> Config {
        let listen_text = overrides
            .listen
            .clone()
            .or_else(|| raw.listen.as_ref().map(|s| s.get_ref().clone()))
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen = match listen_text.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                let key = if overrides.listen.is_some() {
                    "LATCHKEY_LISTEN"
                } else {
                    "listen"
                };
                self.problem(
                    key,
                    raw.listen.as_ref().filter(|_| overrides.listen.is_none()),
                    format!("`{listen_text}` is not an address such as 127.0.0.1:8080"),
                );
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };

        let issuer_text = overrides
            .issuer
            .clone()
            .or_else(|| raw.issuer.as_ref().map(|s| s.get_ref().clone()))
            .unwrap_or_else(|| {
                let scheme = if raw.tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{listen}")
            });
        let issuer_key = if overrides.issuer.is_some() {
            "LATCHKEY_ISSUER"
        } else {
            "issuer"
        };
        let issuer_at = raw.issuer.as_ref().filter(|_| overrides.issuer.is_none());
        let issuer = issuer_text.trim_end_matches('/').to_owned();
        match url::Url::parse(&issuer) {
            Ok(u)
                if (u.scheme() == "https" || u.scheme() == "http")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty() => {}
            _ => self.problem(
                issuer_key,
                issuer_at,
                format!("`{issuer_text}` must be an http or https URL with a host and no query or fragment"),
            ),
        }

        let data = match (&overrides.data, &raw.data) {
            (Some(d), _) => PathBuf::from(d),
            (None, Some(d)) => resolve(base, d.get_ref()),
            // Like a relative `data`, the default is taken from the configuration file's directory.
            (None, None) => resolve(base, "data/identity.redb"),
        };

        let t = &raw.tokens;
        let lifetimes = Lifetimes {
            access_token: self.duration("tokens.access_token", &t.access_token, Duration::minutes(10)),
            refresh_token: self.duration("tokens.refresh_token", &t.refresh_token, Duration::days(30)),
            id_token: self.duration("tokens.id_token", &t.id_token, Duration::minutes(10)),
            authorization_code: self.duration(
                "tokens.authorization_code",
                &t.authorization_code,
                Duration::seconds(60),
            ),
            session: self.duration("sessions.lifetime", &raw.sessions.lifetime, Duration::hours(12)),
        };
        if let Some(code) = &t.authorization_code
            && lifetimes.authorization_code > Duration::minutes(10)
        {
            self.problem(
                "tokens.authorization_code",
                Some(code),
                "must be at most 10m (RFC 6749 section 4.1.2)",
            );
        }
        let key_retire_after = self.duration("keys.retire_after", &raw.keys.retire_after, Duration::days(2));
        let longest_jwt = lifetimes.access_token.max(lifetimes.id_token);
        if key_retire_after < longest_jwt {
            // Without `keys.retire_after` in the file, the line to show is the token lifetime
            // that outlives the default.
            let longest_at = if lifetimes.access_token >= lifetimes.id_token {
                t.access_token.as_ref().or(t.id_token.as_ref())
            } else {
                t.id_token.as_ref().or(t.access_token.as_ref())
            };
            self.problem(
                "keys.retire_after",
                raw.keys.retire_after.as_ref().or(longest_at),
                format!(
                    "must be at least the longest token lifetime ({longest_jwt}), or tokens would outlive the key that verifies them"
                ),
            );
        }

        let key_rotate_every = raw
            .keys
            .rotate_every
            .as_ref()
            .map(|_| self.duration("keys.rotate_every", &raw.keys.rotate_every, Duration::days(30)));
        if let (Some(every), Some(at)) = (key_rotate_every, raw.keys.rotate_every.as_ref())
            && every < Duration::hours(1)
        {
            self.problem("keys.rotate_every", Some(at), "must be at least 1h");
        }
        let password_policy = self.password_policy(&raw.password_policy);

        let tls = raw.tls.as_ref().and_then(|t| self.tls(t, base));
        let trusted_proxies = self.trusted_proxies(&raw.trusted_proxies);
        let forwarded_header = match &raw.forwarded_header {
            None => ForwardedHeader::default(),
            Some(h) if h.get_ref().eq_ignore_ascii_case("x-forwarded-for") => ForwardedHeader::XForwardedFor,
            Some(h) if h.get_ref().eq_ignore_ascii_case("forwarded") => ForwardedHeader::Forwarded,
            Some(h) => {
                self.problem(
                    "forwarded_header",
                    Some(h),
                    format!(
                        "`{}` must be X-Forwarded-For or Forwarded",
                        h.get_ref().escape_debug()
                    ),
                );
                ForwardedHeader::default()
            }
        };

        self.outbound = OutboundPolicy {
            allow_networks: self.networks("outbound.allow_networks", &raw.outbound.allow_networks),
        };
        let audit_retain = self.duration("audit.retain", &raw.audit.retain, Duration::days(90));

        let mut clients: Vec<Client> = Vec::new();
        for (i, rc) in raw.clients.into_iter().enumerate() {
            let at = rc.client_id.clone();
            if let Some(client) = self.client(i, rc, base) {
                if clients.iter().any(|c| c.client_id == client.client_id) {
                    self.problem(&format!("client[{i}].client_id"), Some(&at), "is declared twice");
                } else {
                    clients.push(client);
                }
            }
        }
        let mut upstreams: Vec<Upstream> = Vec::new();
        for (i, ru) in raw.upstreams.into_iter().enumerate() {
            let at = ru.name.clone();
            if let Some(up) = self.upstream(i, ru, base) {
                if upstreams.iter().any(|u| u.name == up.name) {
                    self.problem(&format!("upstream[{i}].name"), Some(&at), "is declared twice");
                } else {
                    upstreams.push(up);
                }
            }
        }
        Config {
            origin: origin.to_owned(),
            issuer,
            listen,
            data,
            data_named: overrides.data.is_some(),
            lifetimes,
            key_retire_after,
            key_rotate_every,
            password_policy,
            clients,
            tls,
            trusted_proxies,
            forwarded_header,
            upstreams,
            require_pkce: raw.require_pkce,
            outbound: self.outbound.clone(),
            audit_retain,
        }
    }

    /// One `[[upstream]]`: a URL-safe name, the kind's URLs, a readable secret if one is named, a
    /// known link policy and a sane timeout.
    fn upstream(&mut self, i: usize, ru: RawUpstream, base: Option<&Path>) -> Option<Upstream> {
        let key = |k: &str| format!("upstream[{i}].{k}");
        let before = self.problems.len();
        let name = ru.name.get_ref().clone();
        if !Upstream::is_valid_name(&name) {
            self.problem(
                &key("name"),
                Some(&ru.name),
                "must be 1 to 32 lower-case letters, digits or '-' (it is part of URLs)",
            );
        }
        let url = |this: &mut Self, field: &str, raw: &Option<Spanned<String>>, at: &Spanned<String>| {
            let Some(v) = raw else {
                this.problem(
                    &key(field),
                    Some(at),
                    format!("a `{}` upstream needs `{field}`", ru.kind.get_ref()),
                );
                return String::new();
            };
            if !upstream_url_ok(v.get_ref()) {
                this.problem(
                    &key(field),
                    Some(v),
                    "must be an https URL (http only on a loopback address), without user information or fragment",
                );
            } else if field != "authorization_url"
                && let Err(e) = this.outbound.check_url(v.get_ref())
            {
                // The authorization URL is the browser's to visit; the others are the server's.
                this.problem(&key(field), Some(v), e.to_string());
            }
            // Kept exactly as written: an issuer must match the discovered `issuer` character for
            // character, trailing slash included.
            v.get_ref().clone()
        };
        let kind = match ru.kind.get_ref().as_str() {
            "oidc" => {
                for (field, v) in [
                    ("authorization_url", &ru.authorization_url),
                    ("token_url", &ru.token_url),
                    ("userinfo_url", &ru.userinfo_url),
                ] {
                    if let Some(v) = v {
                        self.problem(
                            &key(field),
                            Some(v),
                            "an `oidc` upstream takes its endpoints from discovery; remove it",
                        );
                    }
                }
                UpstreamKind::Oidc {
                    issuer: url(self, "issuer", &ru.issuer, &ru.kind),
                    userinfo: ru.userinfo,
                }
            }
            "oauth2" => {
                if let Some(v) = &ru.issuer {
                    self.problem(
                        &key("issuer"),
                        Some(v),
                        "a plain `oauth2` upstream has no issuer; name its URLs",
                    );
                }
                UpstreamKind::OAuth2 {
                    authorization_url: url(self, "authorization_url", &ru.authorization_url, &ru.kind),
                    token_url: url(self, "token_url", &ru.token_url, &ru.kind),
                    userinfo_url: url(self, "userinfo_url", &ru.userinfo_url, &ru.kind),
                }
            }
            other => {
                self.problem(
                    &key("kind"),
                    Some(&ru.kind),
                    format!("`{}` must be `oidc` or `oauth2`", other.escape_debug()),
                );
                return None;
            }
        };
        let client_id = ru.client_id.get_ref().clone();
        if client_id.is_empty() || client_id.len() > 255 || client_id.chars().any(char::is_control) {
            self.problem(
                &key("client_id"),
                Some(&ru.client_id),
                "must be 1 to 255 printable characters",
            );
        }
        let client_secret = match (&ru.client_secret_file, &ru.client_secret_env) {
            (Some(_), Some(e)) => {
                self.problem(
                    &key("client_secret_env"),
                    Some(e),
                    "name the secret once: client_secret_file or client_secret_env",
                );
                None
            }
            (Some(f), None) => {
                let path = resolve(base, f.get_ref());
                match std::fs::read_to_string(&path) {
                    Ok(s) => Some(s.trim_end_matches(['\n', '\r']).to_owned()),
                    Err(e) => {
                        self.problem(
                            &key("client_secret_file"),
                            Some(f),
                            format!("cannot read {}: {e}", path.display()),
                        );
                        None
                    }
                }
            }
            (None, Some(e)) => match std::env::var(e.get_ref()) {
                Ok(s) => Some(s),
                Err(_) => {
                    self.problem(
                        &key("client_secret_env"),
                        Some(e),
                        format!("the environment variable {} is not set", e.get_ref()),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        if client_secret.as_deref() == Some("") {
            self.problem(
                &key("client_secret_file"),
                ru.client_secret_file.as_ref().or(ru.client_secret_env.as_ref()),
                "the secret is empty",
            );
        }
        let oidc = matches!(kind, UpstreamKind::Oidc { .. });
        let mut scopes: Vec<String> = match &ru.scopes {
            Some(list) => {
                for s in list {
                    let v = s.get_ref();
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') {
                        self.problem(
                            &key("scopes"),
                            Some(s),
                            format!("`{}` is not a scope token", v.escape_debug()),
                        );
                    }
                }
                list.iter().map(|s| s.get_ref().clone()).collect()
            }
            None if oidc => vec!["openid".into(), "profile".into(), "email".into()],
            None => Vec::new(),
        };
        if oidc && !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let link = match &ru.link {
            None => LinkPolicy::ExistingOnly,
            Some(l) => LinkPolicy::parse(l.get_ref()).unwrap_or_else(|| {
                self.problem(
                    &key("link"),
                    Some(l),
                    format!(
                        "`{}` must be create, link-by-email or existing-only",
                        l.get_ref().escape_debug()
                    ),
                );
                LinkPolicy::ExistingOnly
            }),
        };
        let timeout = match &ru.timeout_seconds {
            None => 10,
            Some(t) if (1..=60).contains(t.get_ref()) => *t.get_ref() as u64,
            Some(t) => {
                self.problem(&key("timeout_seconds"), Some(t), "must be 1 to 60");
                10
            }
        };
        let defaults = ClaimMapping::default();
        let c = ru.claims;
        let claims = ClaimMapping {
            subject: c.subject.unwrap_or(defaults.subject),
            username: c.username.unwrap_or(defaults.username),
            email: c.email.unwrap_or(defaults.email),
            email_verified: c.email_verified.unwrap_or(defaults.email_verified),
            name: c.name.unwrap_or(defaults.name),
        };
        let display_name = ru
            .display_name
            .as_ref()
            .map(|d| d.get_ref().trim().to_owned())
            .unwrap_or_else(|| name.clone());
        if display_name.is_empty() || display_name.chars().count() > 64 {
            self.problem(
                &key("display_name"),
                ru.display_name.as_ref(),
                "must be 1 to 64 characters",
            );
        }
        (self.problems.len() == before).then_some(Upstream {
            name,
            display_name,
            kind,
            client_id,
            client_secret,
            scopes,
            claims,
            link,
            timeout: std::time::Duration::from_secs(timeout),
        })
    }

    /// The `[tls]` table: both files named and, unless this is an administrative command, both
    /// readable and a matching certificate and key.
    fn tls(&mut self, raw: &Spanned<RawTls>, base: Option<&Path>) -> Option<TlsFiles> {
        let t = raw.get_ref();
        let (Some(certificate), Some(key)) = (&t.certificate, &t.key) else {
            let missing = if t.certificate.is_none() {
                "tls.certificate"
            } else {
                "tls.key"
            };
            self.problem(
                missing,
                Some(raw),
                "[tls] needs both `certificate` and `key` (PEM files)",
            );
            return None;
        };
        let found = TlsFiles {
            certificate: resolve(base, certificate.get_ref()),
            key: resolve(base, key.get_ref()),
        };
        if self.clients == Clients::Validate
            && let Err(e) = tls::load(&found)
        {
            let at = match e.key {
                TlsKey::Certificate => certificate,
                TlsKey::Key => key,
            };
            self.problem(e.key.name(), Some(at), e.message);
            return None;
        }
        Some(found)
    }

    /// `trusted_proxies`: addresses (`192.0.2.7`) or networks in CIDR form (`10.0.0.0/8`).
    fn trusted_proxies(&mut self, raw: &[Spanned<String>]) -> Vec<IpNet> {
        self.networks("trusted_proxies", raw)
    }

    /// A list of networks in CIDR form (`10.0.0.0/8`) or single addresses, under `key`.
    fn networks(&mut self, key: &str, raw: &[Spanned<String>]) -> Vec<IpNet> {
        let mut out = Vec::new();
        for entry in raw {
            let text = entry.get_ref().trim();
            let parsed = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
            match parsed {
                Ok(net) => out.push(net.trunc()),
                Err(_) => self.problem(
                    key,
                    Some(entry),
                    format!(
                        "`{}` is not an address or a network such as 10.0.0.0/8 or ::1/128",
                        text.escape_debug()
                    ),
                ),
            }
        }
        out
    }

    fn password_policy(&mut self, raw: &RawPasswordPolicy) -> PasswordPolicy {
        let mut length = |key: &str, value: &Option<Spanned<i64>>, default: usize| match value {
            None => default,
            Some(v) => match usize::try_from(*v.get_ref()) {
                Ok(n) if (1..=4096).contains(&n) => n,
                _ => {
                    self.problem(key, Some(v), "must be between 1 and 4096");
                    default
                }
            },
        };
        let min_length = length("password_policy.min_length", &raw.min_length, 12);
        let max_length = length("password_policy.max_length", &raw.max_length, 1024);
        if min_length > max_length {
            self.problem(
                "password_policy.min_length",
                raw.min_length.as_ref().or(raw.max_length.as_ref()),
                "must not be greater than password_policy.max_length",
            );
        }
        PasswordPolicy {
            min_length,
            max_length,
        }
    }

    fn client(&mut self, index: usize, rc: RawClient, base: Option<&Path>) -> Option<Client> {
        let key = |field: &str| format!("client[{index}].{field}");
        let before = self.problems.len();
        let client_id = match ClientId::parse(rc.client_id.get_ref()) {
            Ok(id) => Some(id),
            Err(e) => {
                self.problem(&key("client_id"), Some(&rc.client_id), e.0);
                None
            }
        };
        let mut redirect_uris = Vec::new();
        for uri in &rc.redirect_uris {
            match RedirectUri::parse_for(uri.get_ref(), rc.allow_http_localhost) {
                Ok(u) => redirect_uris.push(u),
                Err(e) => self.problem(&key("redirect_uris"), Some(uri), e.to_string()),
            }
        }
        let grant_types = match &rc.grant_types {
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            Some(list) => {
                let mut out = Vec::new();
                for g in list {
                    match g.get_ref().parse::<GrantType>() {
                        Ok(g) if !out.contains(&g) => out.push(g),
                        Ok(_) => {}
                        Err(e) => self.problem(&key("grant_types"), Some(g), e),
                    }
                }
                out
            }
        };
        let mut scopes = Vec::new();
        for s in &rc.scopes {
            match Scope::parse(s.get_ref()) {
                Ok(s) if !scopes.contains(&s) => scopes.push(s),
                Ok(_) => {}
                Err(e) => self.problem(&key("scopes"), Some(s), e.0),
            }
        }
        let secret_sources = [
            rc.secret_file.is_some(),
            rc.secret_env.is_some(),
            rc.secret_digest.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let secret = if rc.public {
            if secret_sources > 0 {
                self.problem(
                    &key("public"),
                    Some(&rc.client_id),
                    "a public client has no secret; remove secret_file, secret_env and secret_digest",
                );
            }
            None
        } else if secret_sources != 1 {
            self.problem(
                &key("secret_file"),
                Some(&rc.client_id),
                "a confidential client needs exactly one of secret_file, secret_env or secret_digest (or `public = true`)",
            );
            None
        } else {
            self.client_secret(&rc, base, &key)
        };
        let id_token_alg = match &rc.id_token_signed_response_alg {
            None => IdTokenAlg::default(),
            Some(a) => a.get_ref().parse().unwrap_or_else(|e: String| {
                self.problem(&key("id_token_signed_response_alg"), Some(a), e);
                IdTokenAlg::default()
            }),
        };
        let mut post_logout_redirect_uris = Vec::new();
        for uri in &rc.post_logout_redirect_uris {
            match RedirectUri::parse_for(uri.get_ref(), rc.allow_http_localhost) {
                Ok(u) => post_logout_redirect_uris.push(u),
                Err(e) => self.problem(&key("post_logout_redirect_uris"), Some(uri), e.to_string()),
            }
        }
        let backchannel_logout_uri = match &rc.backchannel_logout_uri {
            None => None,
            Some(uri) => match RedirectUri::parse(uri.get_ref()) {
                Ok(u) => match self.outbound.check_url(u.as_str()) {
                    Ok(()) => Some(u),
                    Err(e) => {
                        self.problem(&key("backchannel_logout_uri"), Some(uri), e.to_string());
                        None
                    }
                },
                Err(e) => {
                    self.problem(&key("backchannel_logout_uri"), Some(uri), e.to_string());
                    None
                }
            },
        };
        if self.problems.len() > before {
            return None;
        }
        let client_id = client_id?;
        let client = Client {
            id_token_alg,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            refresh_without_offline_access: rc.refresh_without_offline_access,
            name: rc.name.unwrap_or_else(|| client_id.to_string()),
            client_id,
            redirect_uris,
            secret,
            grant_types,
            scopes,
            first_party: rc.first_party,
            require_pkce: rc.require_pkce.as_ref().map(|p| *p.get_ref()),
            allow_http_localhost: rc.allow_http_localhost,
            resources: {
                let mut out: Vec<String> = Vec::new();
                for r in &rc.resources {
                    if !out.contains(r.get_ref()) {
                        out.push(r.get_ref().clone());
                    }
                }
                out
            },
            source: ClientSource::Config,
            created_at: Timestamp(0),
        };
        let violations = client.rule_violations();
        for (field, reason) in &violations {
            match (*field, rc.require_pkce.as_ref(), rc.resources.first()) {
                ("require_pkce", Some(at), _) => self.problem(&key(field), Some(at), *reason),
                ("resources", _, Some(at)) => self.problem(&key(field), Some(at), *reason),
                _ => self.problem(&key(field), Some(&rc.client_id), *reason),
            }
        }
        violations.is_empty().then_some(client)
    }

    fn client_secret(
        &mut self,
        rc: &RawClient,
        base: Option<&Path>,
        key: &dyn Fn(&str) -> String,
    ) -> Option<ClientSecretDigest> {
        let (field, at, plain) = if let Some(f) = &rc.secret_file {
            let path = resolve(base, f.get_ref());
            match std::fs::read_to_string(&path) {
                Ok(s) => ("secret_file", f, s.trim_end_matches(['\n', '\r']).to_owned()),
                Err(e) => {
                    self.problem(
                        &key("secret_file"),
                        Some(f),
                        format!("cannot read {}: {e}", path.display()),
                    );
                    return None;
                }
            }
        } else if let Some(name) = &rc.secret_env {
            match std::env::var(name.get_ref()) {
                Ok(s) => ("secret_env", name, s),
                Err(_) => {
                    self.problem(
                        &key("secret_env"),
                        Some(name),
                        format!("the environment variable {} is not set", name.get_ref()),
                    );
                    return None;
                }
            }
        } else if let Some(d) = &rc.secret_digest {
            let decoded = d
                .get_ref()
                .strip_prefix("sha256:")
                .and_then(crypto::b64url_decode)
                .and_then(|b| <[u8; 32]>::try_from(b).ok());
            return match decoded {
                Some(digest) => Some(ClientSecretDigest(digest)),
                None => {
                    self.problem(
                        &key("secret_digest"),
                        Some(d),
                        "must be `sha256:` followed by 43 base64url characters, as `latchkey client hash-secret` prints",
                    );
                    None
                }
            };
        } else {
            return None;
        };
        if plain.len() < MIN_SECRET_LEN {
            self.problem(
                &key(field),
                Some(at),
                format!("the secret must have at least {MIN_SECRET_LEN} characters"),
            );
            return None;
        }
        Some(ClientSecretDigest(crypto::sha256(plain.as_bytes())))
    }
}

fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    let p = PathBuf::from(path.strip_prefix("./").unwrap_or(path));
    match base {
        Some(b) if p.is_relative() && !b.as_os_str().is_empty() => b.join(p),
        _ => p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Config {
        parse("test.toml", text, None, &Overrides::default()).unwrap()
    }

    fn problems(text: &str) -> Vec<Problem> {
        parse("test.toml", text, None, &Overrides::default())
            .unwrap_err()
            .problems
    }

    #[test]
    fn back_channel_and_upstream_urls_on_internal_addresses_need_an_allowed_network() {
        let text = |outbound: &str| {
            format!(
                r#"issuer = "https://id.example"
{outbound}
[[client]]
client_id = "a"
redirect_uris = ["https://a.example/cb"]
public = true
backchannel_logout_uri = "http://127.0.0.1:6379/"

[[client]]
client_id = "b"
redirect_uris = ["https://b.example/cb"]
public = true
backchannel_logout_uri = "https://169.254.169.254/latest"

[[upstream]]
name = "corp"
kind = "oidc"
issuer = "http://127.0.0.1:9000"
client_id = "x"
"#
            )
        };
        let p = problems(&text(""));
        let keys: Vec<(&str, Option<usize>)> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert_eq!(
            keys,
            [
                ("client[0].backchannel_logout_uri", Some(7)),
                ("client[1].backchannel_logout_uri", Some(13)),
                ("upstream[0].issuer", Some(18)),
            ],
            "{p:?}"
        );
        assert!(
            p[0].message.contains("loopback") && p[0].message.contains("allow_networks"),
            "{p:?}"
        );
        assert!(p[1].message.contains("link-local"), "{p:?}");
        // Allowing loopback lets the loopback URLs through, and only them.
        let p = problems(&text("[outbound]\nallow_networks = [\"127.0.0.0/8\", \"::1\"]\n"));
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["client[1].backchannel_logout_uri"], "{p:?}");
        let p = problems(&text("[outbound]\nallow_networks = [\"localnet\"]\n"));
        assert_eq!(p[0].key, "outbound.allow_networks", "{p:?}");
    }

    #[test]
    fn the_shipped_example_configuration_is_valid() {
        let c = parse_ok(EMBEDDED_DEFAULT);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data, PathBuf::from("data/identity.redb"));
        assert!(!c.clients.is_empty());
    }

    #[test]
    fn an_empty_file_gets_the_documented_defaults() {
        let c = parse_ok("");
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
        assert_eq!(c.lifetimes.authorization_code, Duration::seconds(60));
        assert_eq!(c.data, PathBuf::from("data/identity.redb"));
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let p = problems("issuer = \"https://id.example\"\n\n[tokens]\naccess_tokn = \"5m\"\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, Some(4));
        assert_eq!(p[0].key, "access_tokn");
        assert!(p[0].message.contains("unknown field"), "{}", p[0].message);
    }

    #[test]
    fn every_invalid_value_is_reported_with_key_and_line() {
        let text = r#"
issuer = "ftp://x"
listen = "nowhere"
[tokens]
access_token = "10 minutes"
[[client]]
client_id = "bad id"
redirect_uris = ["http://evil.example/cb"]
grant_types = ["implicit"]
"#;
        let p = problems(text);
        let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        for expected in [
            ("issuer", Some(2)),
            ("listen", Some(3)),
            ("tokens.access_token", Some(5)),
            ("client[0].client_id", Some(7)),
            ("client[0].redirect_uris", Some(8)),
            ("client[0].grant_types", Some(9)),
        ] {
            assert!(keys.contains(&expected), "missing {expected:?} in {keys:?}");
        }
    }

    #[test]
    fn a_conflict_with_a_default_names_the_line_of_the_value_that_was_written() {
        // Found by the config property test: these problems had no line when the other key of
        // the pair was left at its default.
        let p = problems("[tokens]\nid_token = \"5m\"\naccess_token = \"3d\"\n");
        assert_eq!((p[0].key.as_str(), p[0].line), ("keys.retire_after", Some(3)));
        let p = problems("issuer = \"https://id.example\"\n[tokens]\nid_token = \"3d\"\n");
        assert_eq!((p[0].key.as_str(), p[0].line), ("keys.retire_after", Some(3)));
        let p = problems("\n[password_policy]\nmax_length = 5\n");
        assert_eq!(
            (p[0].key.as_str(), p[0].line),
            ("password_policy.min_length", Some(3))
        );
    }

    #[test]
    fn environment_overrides_win_over_the_file() {
        let o = Overrides {
            listen: Some("127.0.0.1:9999".into()),
            issuer: Some("https://id.example.com/".into()),
            data: Some("/tmp/x.redb".into()),
        };
        let c = parse("t", "listen = \"127.0.0.1:1\"\nissuer = \"http://a\"\n", None, &o).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.issuer, "https://id.example.com");
        assert_eq!(c.data, PathBuf::from("/tmp/x.redb"));
        assert!(c.is_https());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks_and_default_to_none() {
        assert!(parse_ok("").trusted_proxies.is_empty());
        assert_eq!(parse_ok("").forwarded_header, ForwardedHeader::XForwardedFor);
        let c = parse_ok(
            "trusted_proxies = [\"127.0.0.1\", \"10.1.2.3/8\", \"::1/128\"]\nforwarded_header = \"Forwarded\"\n",
        );
        let nets: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
        assert_eq!(c.forwarded_header, ForwardedHeader::Forwarded);
        let p = problems(
            "trusted_proxies = [\"10.0.0.0/33\", \"proxy.local\"]\nforwarded_header = \"X-Real-IP\"\n",
        );
        let keys: Vec<_> = p.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert_eq!(
            keys,
            [
                ("trusted_proxies", Some(1)),
                ("trusted_proxies", Some(1)),
                ("forwarded_header", Some(2))
            ]
        );
    }

    #[test]
    fn tls_needs_both_files_and_names_the_bad_one() {
        let p = problems("[tls]\ncertificate = \"cert.pem\"\n");
        assert_eq!(p[0].key, "tls.key");
        let p = problems("[tls]\ncertificate = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n");
        assert_eq!(p[0].key, "tls.certificate");
        assert_eq!(p[0].line, Some(2));
        assert!(p[0].message.contains("cannot read"), "{}", p[0].message);
        // Administrative commands do not read the files.
        let c = load_for_admin_text("[tls]\ncertificate = \"/nonexistent/c\"\nkey = \"/nonexistent/k\"\n");
        assert!(c.tls.is_some());
        assert!(c.issuer.starts_with("https://"), "{}", c.issuer);
    }

    fn load_for_admin_text(text: &str) -> Config {
        parse_with("test.toml", text, None, &Overrides::default(), Clients::Skip).unwrap()
    }

    #[test]
    fn confidential_clients_need_exactly_one_secret_source() {
        let p = problems("[[client]]\nclient_id = \"c\"\ngrant_types = [\"client_credentials\"]\n");
        assert_eq!(p[0].key, "client[0].secret_file");
        let digest = format!("sha256:{}", crypto::b64url(&[7u8; 32]));
        let c = parse_ok(&format!(
            "[[client]]\nclient_id = \"c\"\ngrant_types = [\"client_credentials\"]\nsecret_digest = \"{digest}\"\n"
        ));
        assert_eq!(c.clients[0].secret, Some(ClientSecretDigest([7u8; 32])));
    }

    #[test]
    fn public_clients_cannot_turn_off_pkce_or_use_client_credentials() {
        let p = problems(
            "[[client]]\nclient_id = \"c\"\npublic = true\nrequire_pkce = false\nredirect_uris = [\"http://127.0.0.1/cb\"]\ngrant_types = [\"client_credentials\", \"authorization_code\"]\n",
        );
        let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"client[0].require_pkce"));
        assert!(keys.contains(&"client[0].grant_types"));
    }

    #[test]
    fn audit_entries_are_kept_90_days_unless_audit_retain_says_otherwise() {
        assert_eq!(parse_ok("").audit_retain, Duration::days(90));
        assert_eq!(
            parse_ok("[audit]\nretain = \"12h\"\n").audit_retain,
            Duration::hours(12)
        );
        let p = problems("[audit]\nretain = \"0s\"\n");
        assert_eq!((p[0].key.as_str(), p[0].line), ("audit.retain", Some(2)));
        assert_eq!(
            problems("[audit]\nkeep = \"1d\"\n").len(),
            1,
            "unknown keys are refused"
        );
    }
}
