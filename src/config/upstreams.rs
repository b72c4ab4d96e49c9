//! Validating `[[upstream]]` tables: the providers Latchkey signs people in with.

use std::path::Path;

use toml::Spanned;

use super::raw::RawUpstream;
use super::secret::{FileMode, SecretKeys};
use super::validate::Validator;
use crate::domain::{ClaimMapping, LinkPolicy, Upstream, UpstreamKind};

impl Validator<'_> {
    /// One `[[upstream]]`: a URL-safe name, the kind's URLs, a readable secret if one is named, a
    /// known link policy and a sane timeout.
    pub(super) fn upstream(&mut self, i: usize, ru: RawUpstream, base: Option<&Path>) -> Option<Upstream> {
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
        let (file_key, env_key) = (key("client_secret_file"), key("client_secret_env"));
        let keys = SecretKeys {
            file_key: &file_key,
            file: ru.client_secret_file.as_ref(),
            env_key: &env_key,
            env: ru.client_secret_env.as_ref(),
        };
        let client_secret = self.secret(keys, base, FileMode::Any);
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
