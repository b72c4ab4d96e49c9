//! Forward-auth as the configuration declares it (`[forward_auth]` and its `[[forward_auth.rule]]`
//! list): the cookie domains, the rules in file order and the default policy; and the record that
//! ties a domain-scoped forward-auth cookie to the browser session it was made from.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{Subject, Timestamp};

/// What a rule lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Anyone, signed in or not; the identity headers are sent empty.
    Bypass,
    /// A signed-in user.
    OneFactor,
    /// A user whose session was made with two factors.
    TwoFactor,
    /// Nobody.
    Deny,
}

impl Policy {
    pub fn parse(text: &str) -> Option<Policy> {
        match text {
            "bypass" => Some(Policy::Bypass),
            "one_factor" => Some(Policy::OneFactor),
            "two_factor" => Some(Policy::TwoFactor),
            "deny" => Some(Policy::Deny),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Bypass => "bypass",
            Policy::OneFactor => "one_factor",
            Policy::TwoFactor => "two_factor",
            Policy::Deny => "deny",
        }
    }
}

/// A rule's `domain`: one host exactly, or every subdomain of one (`*.example.test`, which does
/// not match `example.test` itself). Stored in lower case, without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainPattern {
    Exact(String),
    /// The part after `*.`.
    Subdomains(String),
}

impl DomainPattern {
    /// `host` is a lower-case host name without a port.
    pub fn matches(&self, host: &str) -> bool {
        match self {
            DomainPattern::Exact(name) => host == name,
            DomainPattern::Subdomains(parent) => host
                .strip_suffix(parent.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')),
        }
    }

    /// The host this pattern names, or the parent of the hosts it names.
    pub fn name(&self) -> &str {
        match self {
            DomainPattern::Exact(name) | DomainPattern::Subdomains(name) => name,
        }
    }
}

impl std::fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DomainPattern::Exact(name) => f.write_str(name),
            DomainPattern::Subdomains(parent) => write!(f, "*.{parent}"),
        }
    }
}

/// Who a rule is for: one user by name, or the members of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSubject {
    User(String),
    Group(String),
}

impl std::fmt::Display for RuleSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleSubject::User(name) => write!(f, "user:{name}"),
            RuleSubject::Group(name) => write!(f, "group:{name}"),
        }
    }
}

/// One `[[forward_auth.rule]]`. Every criterion it has must hold for it to match; an empty list
/// or an absent `path` holds for every request.
#[derive(Debug, Clone)]
pub struct AccessRule {
    /// Its position in the file, from 1, as `latchkey access explain` names it.
    pub number: usize,
    /// The line of the file it starts on, when known.
    pub line: Option<usize>,
    pub domains: Vec<DomainPattern>,
    /// Matched against the path and query of the request (`/a/b?c=d`).
    pub path: Option<regex::Regex>,
    /// Upper-case method names.
    pub methods: Vec<String>,
    pub networks: Vec<IpNet>,
    pub subjects: Vec<RuleSubject>,
    pub policy: Policy,
}

impl AccessRule {
    /// Whether `ip` is in one of the rule's networks (any address when it has none).
    pub fn admits_address(&self, ip: IpAddr) -> bool {
        self.networks.is_empty() || self.networks.iter().any(|n| n.contains(&ip))
    }
}

/// `[forward_auth]`, validated.
#[derive(Debug, Clone)]
pub struct ForwardAuth {
    /// The domains the forward-auth cookie is set for; every protected host is one of them or a
    /// subdomain of one.
    pub cookie_domains: Vec<String>,
    pub default_policy: Policy,
    /// Refuse (400) a target URL that is plain http.
    pub require_https: bool,
    pub rules: Vec<AccessRule>,
}

impl ForwardAuth {
    /// The cookie domain that covers `host`, if one does.
    pub fn cookie_domain_for(&self, host: &str) -> Option<&str> {
        self.cookie_domains
            .iter()
            .map(String::as_str)
            .find(|d| host == *d || host.strip_suffix(d).is_some_and(|rest| rest.ends_with('.')))
    }
}

/// A domain-scoped forward-auth cookie, stored under its digest: it stands for the browser
/// session whose cookie digest it names, and dies with it (or at `expires_at`, whichever is first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardAuthSession {
    /// The digest the main session is stored under.
    pub session: String,
    pub subject: Subject,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
