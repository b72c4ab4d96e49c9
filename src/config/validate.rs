//! The validator: walks the raw configuration, collects every problem with its key and line, and
//! builds the [`Config`] from what is valid; the top-level keys, lifetimes and the password policy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{RawArgon2, RawConfig, RawPasswordPolicy};
use super::{
    Clients, Config, ForwardedHeader, Lifetimes, Overrides, PasswordPolicy, Problem, line_of, resolve,
};
use crate::crypto::password::{self, Argon2Cost};
use crate::domain::{Client, Duration, Language, OutboundPolicy, Upstream};

pub(super) struct Validator<'t> {
    pub(super) text: &'t str,
    pub(super) problems: Vec<Problem>,
    /// `Skip` for administrative commands: declared clients and the TLS files are not read.
    pub(super) clients: Clients,
    /// `[outbound]`, read before the clients and upstreams whose URLs it judges.
    pub(super) outbound: OutboundPolicy,
}

impl Validator<'_> {
    pub(super) fn problem<T>(&mut self, key: &str, at: Option<&Spanned<T>>, message: impl Into<String>) {
        self.problems.push(Problem {
            line: at.map(|s| line_of(self.text, s.span().start)),
            key: key.to_owned(),
            message: message.into(),
        });
    }

    pub(super) fn duration(
        &mut self,
        key: &str,
        raw: &Option<Spanned<String>>,
        default: Duration,
    ) -> Duration {
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

    pub(super) fn config(
        &mut self,
        origin: &str,
        raw: RawConfig,
        base: Option<&Path>,
        overrides: &Overrides,
    ) -> Config {
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

        if let (Some(_), Some(at)) = (&raw.data, &raw.store.path) {
            self.problem(
                "store.path",
                Some(at),
                "name the data file once: `data` or `[store] path`",
            );
        }
        let data = match (&overrides.data, raw.store.path.as_ref().or(raw.data.as_ref())) {
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
        let mut warnings = Vec::new();
        let password_policy = self.password_policy(&raw.password_policy, &mut warnings);

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
        let require_second_factor_for = self.second_factor_groups(&raw.login.require_second_factor_for);
        let default_language = match &raw.ui.default_language {
            None => Language::En,
            Some(code) => Language::from_code(code.get_ref()).unwrap_or_else(|| {
                let known: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
                self.problem(
                    "ui.default_language",
                    Some(code),
                    format!("must be one of {}", known.join(", ")),
                );
                Language::En
            }),
        };
        let branding = self.branding(&raw.ui, base, &mut warnings);
        let metrics = self.metrics(&raw.metrics, base);
        let store = self.store(&raw.store, base, overrides);
        let issuer_host = url::Url::parse(&issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        let forward_auth = raw
            .forward_auth
            .as_ref()
            .map(|f| self.forward_auth(f, &issuer_host));

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
            require_second_factor_for,
            forward_auth,
            default_language,
            branding,
            metrics,
            store,
            warnings,
        }
    }

    /// `[login] require_second_factor_for`: group names, each once.
    fn second_factor_groups(&mut self, raw: &[Spanned<String>]) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for g in raw {
            let name = g.get_ref().trim();
            let key = "login.require_second_factor_for";
            if name.is_empty() || name.len() > 256 {
                self.problem(key, Some(g), "a group name must have 1 to 256 characters");
            } else if groups.iter().any(|have| have == name) {
                self.problem(key, Some(g), format!("`{}` is listed twice", name.escape_debug()));
            } else {
                groups.push(name.to_owned());
            }
        }
        groups
    }

    pub(super) fn password_policy(
        &mut self,
        raw: &RawPasswordPolicy,
        warnings: &mut Vec<Problem>,
    ) -> PasswordPolicy {
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
        let argon2 = match &raw.argon2 {
            None => Argon2Cost::DEFAULT,
            Some(table) => self.argon2(table, warnings),
        };
        PasswordPolicy {
            min_length,
            max_length,
            argon2,
        }
    }

    /// `[password_policy] argon2`: each of `m`, `t` and `p` within argon2's limits and ours
    /// (`m` at most [`password::MAX_MEMORY_KIB`], which is also the most a stored hash may ask
    /// for, `p` at most [`password::MAX_LANES`]); a cost under OWASP's minimum is a warning.
    fn argon2(&mut self, table: &Spanned<RawArgon2>, warnings: &mut Vec<Problem>) -> Argon2Cost {
        let raw = table.get_ref();
        let mut number =
            |key: &str, value: &Option<Spanned<i64>>, default: u32, min: u32, max: u32| match value {
                None => Some(default),
                Some(v) => match u32::try_from(*v.get_ref()) {
                    Ok(n) if (min..=max).contains(&n) => Some(n),
                    _ => {
                        self.problem(key, Some(v), format!("must be between {min} and {max}"));
                        None
                    }
                },
            };
        let d = Argon2Cost::DEFAULT;
        let max_m = password::MAX_MEMORY_KIB;
        let m = number("password_policy.argon2.m", &raw.m, d.m, 1, max_m);
        let t = number("password_policy.argon2.t", &raw.t, d.t, 1, u32::MAX);
        let p = number("password_policy.argon2.p", &raw.p, d.p, 1, password::MAX_LANES);
        let (Some(m), Some(t), Some(p)) = (m, t, p) else {
            return d;
        };
        let cost = Argon2Cost { m, t, p };
        // What is left for argon2 to refuse: less than 8 KiB of memory per lane.
        if let Err(e) = cost.params() {
            let (key, at) = match e {
                argon2::Error::TimeTooSmall => ("password_policy.argon2.t", raw.t.as_ref()),
                argon2::Error::ThreadsTooFew | argon2::Error::ThreadsTooMany => {
                    ("password_policy.argon2.p", raw.p.as_ref())
                }
                _ => ("password_policy.argon2.m", raw.m.as_ref()),
            };
            let line = at.map_or(table.span().start, |a| a.span().start);
            self.problems.push(Problem {
                line: Some(line_of(self.text, line)),
                key: key.to_owned(),
                message: format!("argon2 refuses {cost}: {e} (m must be at least 8 KiB per lane)"),
            });
            return d;
        }
        if !cost.meets_owasp() {
            let table_of: Vec<String> = password::OWASP_MINIMUMS
                .iter()
                .map(|(m, t)| format!("m={m},t={t}"))
                .collect();
            let at = raw.m.as_ref().map_or(table.span().start, |m| m.span().start);
            warnings.push(Problem {
                line: Some(line_of(self.text, at)),
                key: "password_policy.argon2.m".to_owned(),
                message: format!(
                    "{cost} is weaker than OWASP's minimum for argon2id ({})",
                    table_of.join("; ")
                ),
            });
        }
        cost
    }
}
