//! Forward-auth: may this request, which a trusted reverse proxy asks about, pass? The check
//! runs on every request a proxy forwards, so for a signed-in browser it is point reads (the
//! forward-auth cookie's record, the session it stands for, the user) and no write: allowed
//! requests are not audited, and refusals are counted in memory and written folded
//! (`audit::denied`). And the redirect round trip that gives a signed-in browser its
//! domain-scoped forward-auth cookie (the `__Host-` session cookie cannot carry a Domain).

use std::net::IpAddr;

use super::login::digest;
use super::{App, ServiceError, audit, blocking, point_read};
use crate::crypto::random;
use crate::domain::{ForwardAuth, ForwardAuthSession, Session, Timestamp, User};
use crate::protocol::access::{self, AccessRequest, Verdict, Visitor};
use crate::protocol::forward_auth::Target;
use crate::protocol::login::is_multi_factor;

/// What a proxy asks: the target, its method, the client's address, and the forward-auth
/// cookie the browser sent, if any.
#[derive(Debug)]
pub struct Question<'a> {
    pub target: &'a Target,
    pub method: &'a str,
    pub ip: IpAddr,
    pub cookie: Option<&'a str>,
}

/// Who the proxy passes on to the app (`Remote-User` and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser {
    pub username: String,
    pub groups: Vec<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// The answer for the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Let it pass, with the user (`None`: a `bypass` rule; the headers go empty).
    Allow(Option<RemoteUser>),
    /// Refuse it.
    Deny,
    /// Sign in first (or again, with a second factor).
    SignIn,
}

/// The signed-in user behind a forward-auth cookie: the cookie's record, then the session it
/// names, both live, then the user, not disabled.
fn visitor(app: &App, cookie: &str) -> Result<Option<(Session, User)>, ServiceError> {
    let key = digest(cookie);
    let now = app.clock.now();
    point_read(&app.store, |tx| {
        let Some(record) = tx.forward_auth_session(&key)?.filter(|r| r.expires_at > now) else {
            return Ok(None);
        };
        let Some(session) = tx
            .session(&record.session)?
            .filter(|s| s.expires_at > now && s.subject == record.subject)
        else {
            return Ok(None);
        };
        Ok(tx
            .user(&session.subject)?
            .filter(|u| !u.disabled)
            .map(|u| (session, u)))
    })
}

/// Answers a proxy's question under `rules`.
pub fn check(app: &App, rules: &ForwardAuth, question: &Question<'_>) -> Result<Answer, ServiceError> {
    let signed_in = match question.cookie {
        Some(cookie) => visitor(app, cookie)?,
        None => None,
    };
    let who = signed_in.as_ref().map(|(session, user)| Visitor {
        username: user.username.as_str(),
        groups: &user.groups,
        two_factors: is_multi_factor(&session.amr),
    });
    let req = AccessRequest {
        host: &question.target.host,
        path: &question.target.path,
        method: question.method,
        ip: question.ip,
    };
    use crate::metrics::{Decision, forward_auth as count};
    Ok(match access::decide(rules, &req, who.as_ref()).verdict {
        Verdict::Allow { identity } => {
            count(Decision::Allow);
            Answer::Allow(signed_in.filter(|_| identity).map(|(_, user)| RemoteUser {
                username: user.username.as_str().to_owned(),
                groups: user.groups,
                email: user.email,
                name: user.name,
            }))
        }
        Verdict::Deny => {
            count(Decision::Deny);
            audit::denied(app, "forward_auth.denied", "rule", question.ip);
            Answer::Deny
        }
        Verdict::SignIn | Verdict::SecondFactor => {
            count(Decision::Redirect);
            Answer::SignIn
        }
    })
}

/// What the round trip does for a signed-in browser coming back to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundTrip {
    /// A new forward-auth cookie (the value for the browser) that lives until `expires_at`;
    /// then on to the target.
    Cookie { value: String, expires_at: Timestamp },
    /// The target needs two factors and the session has one: sign in again with the second.
    SecondFactor,
}

/// The round trip for a signed-in browser: when `target` (opened with GET from `ip`) would need
/// a second factor the session lacks, say so; otherwise store a new forward-auth cookie record
/// for the session of `session_cookie` and hand back the cookie. A target the rules
/// refuse still gets the cookie: the proxy will say 403 there, with the user's name known.
pub async fn round_trip(
    app: &App,
    rules: &ForwardAuth,
    target: &Target,
    ip: IpAddr,
    session_cookie: &str,
    session: &Session,
    user: &User,
) -> Result<RoundTrip, ServiceError> {
    let who = Visitor {
        username: user.username.as_str(),
        groups: &user.groups,
        two_factors: is_multi_factor(&session.amr),
    };
    let req = AccessRequest {
        host: &target.host,
        path: &target.path,
        method: "GET",
        ip,
    };
    if access::decide(rules, &req, Some(&who)).verdict == Verdict::SecondFactor {
        return Ok(RoundTrip::SecondFactor);
    }
    let value = random::token()?;
    let record = ForwardAuthSession {
        session: digest(session_cookie),
        subject: session.subject.clone(),
        created_at: app.clock.now(),
        expires_at: session.expires_at,
    };
    let key = digest(&value);
    let store = app.store.clone();
    blocking(move || store.write(|tx| Ok(tx.put_forward_auth_session(&key, &record)?))).await?;
    Ok(RoundTrip::Cookie {
        value,
        expires_at: session.expires_at,
    })
}

/// The protected hosts the launcher offers `user` (see `protocol::access::launchable`).
pub fn launchable(app: &App, user: &User, ip: IpAddr) -> Vec<String> {
    let Some(rules) = &app.config.forward_auth else {
        return Vec::new();
    };
    let who = Visitor {
        username: user.username.as_str(),
        groups: &user.groups,
        two_factors: false,
    };
    access::launchable(rules, &who, ip)
        .into_iter()
        .map(str::to_owned)
        .collect()
}
