//! Validating `[forward_auth]`: the cookie domains (host names the issuer lives under, never a
//! public suffix), the default policy, and each `[[forward_auth.rule]]` with its domains, path
//! pattern, methods, networks, subjects and policy.

use toml::Spanned;

use super::line_of;
use super::raw::{OneOrMany, RawAccessRule, RawForwardAuth};
use super::validate::Validator;
use crate::domain::{AccessRule, DomainPattern, ForwardAuth, Policy, RuleSubject};

/// The most compiled memory a rule's `path` pattern may take.
const PATH_PATTERN_LIMIT: usize = 256 * 1024;

/// A lower-case DNS name of letters, digits and `-` (not an address).
fn host_name(text: &str) -> Option<String> {
    let name = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels_ok = name.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    let is_address =
        name.parse::<std::net::IpAddr>().is_ok() || name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (labels_ok && name.len() <= 253 && !is_address).then_some(name)
}

/// Whether `host` is `domain` or under it.
fn under(host: &str, domain: &str) -> bool {
    host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
}

impl Validator<'_> {
    /// `[forward_auth]`, when the file has it. `issuer_host` is the issuer's host, which must be
    /// under a cookie domain: the issuer sets the cookie.
    pub(super) fn forward_auth(&mut self, raw: &RawForwardAuth, issuer_host: &str) -> ForwardAuth {
        let cookie_domains = self.cookie_domains(raw.cookie_domain.as_ref(), issuer_host);
        let default_policy = match &raw.default_policy {
            None => Policy::Deny,
            Some(p) => self.policy("forward_auth.default_policy", p),
        };
        let rules = raw
            .rule
            .iter()
            .enumerate()
            .map(|(i, r)| self.access_rule(i, r, &cookie_domains))
            .collect();
        ForwardAuth {
            cookie_domains,
            default_policy,
            require_https: raw.require_https.unwrap_or(true),
            rules,
        }
    }

    fn cookie_domains(&mut self, raw: Option<&Spanned<OneOrMany>>, issuer_host: &str) -> Vec<String> {
        let key = "forward_auth.cookie_domain";
        let Some(raw) = raw else {
            self.problems.push(super::Problem {
                line: None,
                key: key.to_owned(),
                message: "is required: the domain the forward-auth cookie is set for, such as example.test"
                    .into(),
            });
            return Vec::new();
        };
        let mut domains: Vec<String> = Vec::new();
        for item in raw.get_ref().items() {
            let Some(name) = host_name(item) else {
                self.problem(
                    key,
                    Some(raw),
                    format!(
                        "`{}` is not a domain name such as example.test",
                        item.escape_debug()
                    ),
                );
                continue;
            };
            if psl::suffix_str(&name) == Some(name.as_str()) {
                self.problem(
                    key,
                    Some(raw),
                    format!("`{name}` is a public suffix: a cookie for it would reach every site under it"),
                );
            } else if !under(issuer_host, &name) {
                self.problem(
                    key,
                    Some(raw),
                    format!(
                        "`{name}` does not contain the issuer's host `{issuer_host}`, which sets the cookie (browsers refuse a cookie for another domain)"
                    ),
                );
            } else if domains.contains(&name) {
                self.problem(key, Some(raw), format!("`{name}` is listed twice"));
            } else {
                domains.push(name);
            }
        }
        if domains.is_empty() && raw.get_ref().items().is_empty() {
            self.problem(key, Some(raw), "must name at least one domain");
        }
        domains
    }

    fn policy(&mut self, key: &str, raw: &Spanned<String>) -> Policy {
        Policy::parse(raw.get_ref()).unwrap_or_else(|| {
            self.problem(
                key,
                Some(raw),
                format!(
                    "`{}` must be bypass, one_factor, two_factor or deny",
                    raw.get_ref().escape_debug()
                ),
            );
            Policy::Deny
        })
    }

    fn access_rule(
        &mut self,
        i: usize,
        spanned: &Spanned<RawAccessRule>,
        cookie_domains: &[String],
    ) -> AccessRule {
        let raw = spanned.get_ref();
        let key = |name: &str| format!("forward_auth.rule[{i}].{name}");
        let mut domains = Vec::new();
        match &raw.domain {
            None => self.problem(&key("domain"), Some(spanned), "is required"),
            Some(d) => {
                for item in d.get_ref().items() {
                    let (pattern, name) = match item.trim().strip_prefix("*.") {
                        Some(parent) => (host_name(parent).map(DomainPattern::Subdomains), parent),
                        None => (host_name(item).map(DomainPattern::Exact), item),
                    };
                    match pattern {
                        Some(p) if cookie_domains.iter().any(|c| under(p.name(), c)) => domains.push(p),
                        Some(p) => self.problem(
                            &key("domain"),
                            Some(d),
                            format!("`{p}` is not under a cookie domain, so no session could reach it"),
                        ),
                        None => self.problem(
                            &key("domain"),
                            Some(d),
                            format!(
                                "`{}` is not a host name or `*.` followed by one",
                                name.escape_debug()
                            ),
                        ),
                    }
                }
                if d.get_ref().items().is_empty() {
                    self.problem(&key("domain"), Some(d), "must name at least one domain");
                }
            }
        }
        let path = raw.path.as_ref().and_then(|p| {
            match regex::RegexBuilder::new(p.get_ref())
                .size_limit(PATH_PATTERN_LIMIT)
                .build()
            {
                Ok(re) => Some(re),
                Err(e) => {
                    let why = e.to_string().lines().last().unwrap_or("").trim().to_owned();
                    self.problem(
                        &key("path"),
                        Some(p),
                        format!("is not a valid regular expression: {why}"),
                    );
                    None
                }
            }
        });
        let mut methods = Vec::new();
        if let Some(m) = &raw.methods {
            for item in m.get_ref().items() {
                if !item.is_empty() && item.len() <= 20 && item.bytes().all(|b| b.is_ascii_alphabetic()) {
                    methods.push(item.to_ascii_uppercase());
                } else {
                    self.problem(
                        &key("methods"),
                        Some(m),
                        format!("`{}` is not a method name", item.escape_debug()),
                    );
                }
            }
        }
        let networks = self.networks(&key("networks"), &raw.networks);
        let mut subjects = Vec::new();
        if let Some(s) = &raw.subject {
            for item in s.get_ref().items() {
                let parsed = match item.split_once(':') {
                    Some(("user", name)) if !name.trim().is_empty() => {
                        Some(RuleSubject::User(name.trim().to_owned()))
                    }
                    Some(("group", name)) if !name.trim().is_empty() => {
                        Some(RuleSubject::Group(name.trim().to_owned()))
                    }
                    _ => None,
                };
                match parsed {
                    Some(subject) => subjects.push(subject),
                    None => self.problem(
                        &key("subject"),
                        Some(s),
                        format!("`{}` must be user:NAME or group:NAME", item.escape_debug()),
                    ),
                }
            }
        }
        let policy = match &raw.policy {
            None => {
                self.problem(&key("policy"), Some(spanned), "is required");
                Policy::Deny
            }
            Some(p) => self.policy(&key("policy"), p),
        };
        if policy == Policy::Bypass && !subjects.is_empty() {
            self.problem(
                &key("subject"),
                raw.subject.as_ref(),
                "a bypass rule lets anyone through, so it cannot name subjects",
            );
        }
        AccessRule {
            number: i + 1,
            line: Some(line_of(self.text, spanned.span().start)),
            domains,
            path,
            methods,
            networks,
            subjects,
            policy,
        }
    }
}
