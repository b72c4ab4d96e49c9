//! Which forward-auth rule a request matches, and what that means for it: the rules in file order,
//! the first that matches wins, then the default policy. A rule that names subjects cannot match
//! an anonymous request, but it might once the visitor signs in, so an anonymous request that
//! reaches one is sent to sign in (whatever the rules after it say).

use std::net::IpAddr;

use crate::domain::{AccessRule, ForwardAuth, Policy, RuleSubject};

/// The request a proxy asks about, as the forwarded headers describe it.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// Lower case, without a port.
    pub host: &'a str,
    /// The path and query (`/a/b?c=d`).
    pub path: &'a str,
    /// Upper case.
    pub method: &'a str,
    /// The client's address, as the trusted proxy saw it.
    pub ip: IpAddr,
}

/// The signed-in user a request comes from.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    pub username: &'a str,
    pub groups: &'a [String],
    /// Whether the session was made with two factors (RFC 8176 `mfa`).
    pub two_factors: bool,
}

/// What the proxy is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it pass; `identity` says whether the identity headers carry the visitor (`false` for
    /// `bypass`: they are sent empty).
    Allow { identity: bool },
    /// Refuse it: no sign-in would change that.
    Deny,
    /// Sign in first.
    SignIn,
    /// Signed in with one factor, and this needs two: sign in again with the second.
    SecondFactor,
}

/// Which rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// The rule with this number (from 1, in file order).
    Rule(usize),
    /// No rule matched: `default_policy`.
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub matched: Matched,
    pub policy: Policy,
}

/// Why a rule did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    Domain,
    Method,
    Network,
    Path,
    Subject,
}

impl Miss {
    pub fn as_str(self) -> &'static str {
        match self {
            Miss::Domain => "the host is not one of its domains",
            Miss::Method => "the method is not one of its methods",
            Miss::Network => "the address is not in its networks",
            Miss::Path => "the path does not match its path pattern",
            Miss::Subject => "the user is not one of its subjects",
        }
    }
}

/// How one rule judged the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judged {
    Matches,
    Misses(Miss),
    /// Everything but the subjects holds and nobody is signed in: it may match after sign-in.
    NeedsSignIn,
}

/// One step of [`explain`]: a rule and how it judged the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub number: usize,
    pub line: Option<usize>,
    pub policy: Policy,
    pub judged: Judged,
}

fn judge(rule: &AccessRule, req: &AccessRequest<'_>, who: Option<&Visitor<'_>>) -> Judged {
    if !rule.domains.is_empty() && !rule.domains.iter().any(|d| d.matches(req.host)) {
        return Judged::Misses(Miss::Domain);
    }
    if !rule.methods.is_empty() && !rule.methods.iter().any(|m| m == req.method) {
        return Judged::Misses(Miss::Method);
    }
    if !rule.admits_address(req.ip) {
        return Judged::Misses(Miss::Network);
    }
    if rule.path.as_ref().is_some_and(|p| !p.is_match(req.path)) {
        return Judged::Misses(Miss::Path);
    }
    if rule.subjects.is_empty() {
        return Judged::Matches;
    }
    match who {
        None => Judged::NeedsSignIn,
        Some(v) if rule.subjects.iter().any(|s| is(v, s)) => Judged::Matches,
        Some(_) => Judged::Misses(Miss::Subject),
    }
}

fn is(visitor: &Visitor<'_>, subject: &RuleSubject) -> bool {
    match subject {
        RuleSubject::User(name) => visitor.username == name,
        RuleSubject::Group(name) => visitor.groups.iter().any(|g| g == name),
    }
}

fn verdict(policy: Policy, who: Option<&Visitor<'_>>) -> Verdict {
    match (policy, who) {
        (Policy::Bypass, _) => Verdict::Allow { identity: false },
        (Policy::Deny, _) => Verdict::Deny,
        (Policy::OneFactor | Policy::TwoFactor, None) => Verdict::SignIn,
        (Policy::OneFactor, Some(_)) => Verdict::Allow { identity: true },
        (Policy::TwoFactor, Some(v)) if v.two_factors => Verdict::Allow { identity: true },
        (Policy::TwoFactor, Some(_)) => Verdict::SecondFactor,
    }
}

/// Walks the rules in order, telling `each` how every rule it reaches judged the request, and
/// returns the decision of the first that matches (or may match after sign-in), else the default.
fn walk(
    forward_auth: &ForwardAuth,
    req: &AccessRequest<'_>,
    who: Option<&Visitor<'_>>,
    mut each: impl FnMut(&AccessRule, Judged),
) -> Decision {
    for rule in &forward_auth.rules {
        let judged = judge(rule, req, who);
        each(rule, judged);
        let verdict = match judged {
            Judged::Matches => verdict(rule.policy, who),
            Judged::NeedsSignIn => Verdict::SignIn,
            Judged::Misses(_) => continue,
        };
        return Decision {
            verdict,
            matched: Matched::Rule(rule.number),
            policy: rule.policy,
        };
    }
    Decision {
        verdict: verdict(forward_auth.default_policy, who),
        matched: Matched::Default,
        policy: forward_auth.default_policy,
    }
}

/// The decision for one request: the first rule that matches, else the default policy. Runs on
/// every request a proxy asks about, so it allocates nothing.
pub fn decide(forward_auth: &ForwardAuth, req: &AccessRequest<'_>, who: Option<&Visitor<'_>>) -> Decision {
    walk(forward_auth, req, who, |_, _| {})
}

/// Every rule up to the one that decides, with how each judged the request, and the decision
/// (`latchkey access explain`).
pub fn explain(
    forward_auth: &ForwardAuth,
    req: &AccessRequest<'_>,
    who: Option<&Visitor<'_>>,
) -> (Vec<Step>, Decision) {
    let mut steps = Vec::new();
    let decision = walk(forward_auth, req, who, |rule, judged| {
        steps.push(Step {
            number: rule.number,
            line: rule.line,
            policy: rule.policy,
            judged,
        });
    });
    (steps, decision)
}

/// The protected hosts to offer `visitor` in the app launcher: every host a rule names exactly
/// (a wildcard names no host to link to) whose front page (`GET /` from `ip`) the visitor may
/// open, or may open after adding a second factor. In file order, each once.
pub fn launchable<'f>(forward_auth: &'f ForwardAuth, visitor: &Visitor<'_>, ip: IpAddr) -> Vec<&'f str> {
    let mut hosts: Vec<&str> = Vec::new();
    for rule in &forward_auth.rules {
        for domain in &rule.domains {
            let crate::domain::DomainPattern::Exact(host) = domain else {
                continue;
            };
            if hosts.contains(&host.as_str()) {
                continue;
            }
            let req = AccessRequest {
                host,
                path: "/",
                method: "GET",
                ip,
            };
            if matches!(
                decide(forward_auth, &req, Some(visitor)).verdict,
                Verdict::Allow { .. } | Verdict::SecondFactor
            ) {
                hosts.push(host);
            }
        }
    }
    hosts
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
