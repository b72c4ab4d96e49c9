//! `latchkey access explain URL --user NAME [--method M] [--ip IP]`: which forward-auth rule a
//! request matches, every rule before it with the reason it did not, and what the proxy is told
//! (for a one-factor and a two-factor session when that differs).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use serde::Serialize;

use super::admin::run_admin;
use super::{CliError, Output};
use crate::config::{self, Overrides};
use crate::domain::Policy;
use crate::protocol::access::{self, AccessRequest, Decision, Judged, Matched, Verdict, Visitor};
use crate::protocol::forward_auth::{from_url, method as check_method};
use crate::service::admin as cmd;

#[derive(Debug, Serialize)]
struct RuleJson {
    rule: usize,
    line: Option<usize>,
    policy: &'static str,
    outcome: &'static str,
    reason: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct ExplainJson {
    url: String,
    method: String,
    ip: Option<String>,
    user: Option<String>,
    groups: Vec<String>,
    /// The rule number that decided, or `null` for the default policy.
    rule: Option<usize>,
    line: Option<usize>,
    policy: &'static str,
    /// `allow`, `deny`, `sign_in` or `second_factor`, for a session of one factor.
    verdict: &'static str,
    /// The same for a session of two factors.
    verdict_two_factors: &'static str,
    rules: Vec<RuleJson>,
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow { .. } => "allow",
        Verdict::Deny => "deny",
        Verdict::SignIn => "sign_in",
        Verdict::SecondFactor => "second_factor",
    }
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow { identity: true } => "allowed (200, with the user in Remote-User)",
        Verdict::Allow { identity: false } => "allowed (200, the identity headers empty)",
        Verdict::Deny => "denied (403)",
        Verdict::SignIn => "sent to sign in (302/303, or 401)",
        Verdict::SecondFactor => "sent to sign in again with a second factor",
    }
}

pub(super) async fn explain(
    config_path: Option<&Path>,
    url: &str,
    user: Option<String>,
    method: &str,
    ip: Option<IpAddr>,
    out: Output,
) -> Result<(), CliError> {
    let config = config::load_for_admin(config_path, &Overrides::from_env())?;
    let Some(rules) = config.forward_auth.clone() else {
        return Err(CliError::Usage(format!(
            "{} has no [forward_auth] section",
            config.origin
        )));
    };
    let target = from_url(Some(url), "URL", &rules).map_err(|e| CliError::Usage(e.describe()))?;
    let method = check_method(Some(method), "--method").map_err(|e| CliError::Usage(e.describe()))?;
    let view = match user {
        Some(name) => Some(run_admin(config, cmd::UserShow { user: name }).await?),
        None => None,
    };
    let req = AccessRequest {
        host: &target.host,
        path: &target.path,
        method: &method,
        ip: ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
    };
    let visitor = |two_factors| {
        view.as_ref().map(|v| Visitor {
            username: &v.username,
            groups: &v.groups,
            two_factors,
        })
    };
    let (steps, one) = access::explain(&rules, &req, visitor(false).as_ref());
    let two: Decision = access::decide(&rules, &req, visitor(true).as_ref());
    let (rule, line) = match one.matched {
        Matched::Rule(n) => (
            Some(n),
            rules.rules.iter().find(|r| r.number == n).and_then(|r| r.line),
        ),
        Matched::Default => (None, None),
    };
    let report = ExplainJson {
        url: target.url.clone(),
        method: method.clone(),
        ip: ip.map(|i| i.to_string()),
        user: view.as_ref().map(|v| v.username.clone()),
        groups: view.as_ref().map(|v| v.groups.clone()).unwrap_or_default(),
        rule,
        line,
        policy: one.policy.as_str(),
        verdict: verdict_name(one.verdict),
        verdict_two_factors: verdict_name(two.verdict),
        rules: steps
            .iter()
            .map(|s| {
                let (outcome, reason) = match s.judged {
                    Judged::Matches => ("matches", None),
                    Judged::NeedsSignIn => ("needs_sign_in", None),
                    Judged::Misses(m) => ("misses", Some(m.as_str())),
                };
                RuleJson {
                    rule: s.number,
                    line: s.line,
                    policy: s.policy.as_str(),
                    outcome,
                    reason,
                }
            })
            .collect(),
    };
    if out.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(e.to_string()))?
        );
        return Ok(());
    }
    let who = match &report.user {
        Some(name) if report.groups.is_empty() => format!("{name} (in no group)"),
        Some(name) => format!("{name} (groups: {})", report.groups.join(", ")),
        None => "an anonymous visitor".to_owned(),
    };
    let from = report.ip.as_deref().unwrap_or("no address given");
    println!("{method} {} by {who} from {from}:", report.url);
    for s in &steps {
        let at = s.line.map(|l| format!(" (line {l})")).unwrap_or_default();
        let said = match s.judged {
            Judged::Matches => "matches".to_owned(),
            Judged::NeedsSignIn => "names subjects: it may match once the visitor signs in".to_owned(),
            Judged::Misses(m) => format!("does not match: {}", m.as_str()),
        };
        println!("  rule {}{at}, policy {}: {said}", s.number, s.policy.as_str());
    }
    match one.matched {
        Matched::Rule(n) => println!("Decided by rule {n} (policy {}).", one.policy.as_str()),
        Matched::Default => println!("No rule matches: default_policy {}.", one.policy.as_str()),
    }
    if view.is_some() && one.verdict != two.verdict && one.policy == Policy::TwoFactor {
        println!("With a one-factor session: {}.", verdict_text(one.verdict));
        println!("With a two-factor session: {}.", verdict_text(two.verdict));
    } else {
        println!("The request is {}.", verdict_text(one.verdict));
    }
    Ok(())
}
