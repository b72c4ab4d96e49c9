//! What happens next for a valid authorization request: sign in, consent, a code, or an error
//! for the client, decided from the state the service loaded and the current time.

use super::super::login::is_multi_factor;
use super::super::params::Params;
use super::super::{ErrorCode, OAuthError, admin_scope, resource};
use super::AuthorizationRequest;
use crate::domain::{Amr, Client, Duration, Timestamp, User};

/// What the browser's session looks like to the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    pub subject: String,
    pub auth_time: Timestamp,
    /// How the session's sign-in was proven (RFC 8176), to tell whether it had two factors.
    pub amr: Vec<Amr>,
}

/// What happens next for a valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the login page.
    Login,
    /// Show the consent page.
    Consent,
    /// Issue a code to the signed-in user.
    IssueCode,
    /// The signed-in user is in none of the client's `allowed_groups`: a page says so (no code,
    /// no consent, no redirect to the client, whose request cannot change that).
    OutsideAllowedGroups,
    /// Redirect this error to the client.
    Error(OAuthError),
}

/// Decides the next step. `consented` says whether the user's remembered consent covers the
/// requested scopes (or the client is first-party); `fresh` says whether the user signed in during
/// this very request, which satisfies `prompt=login`; `hint_subject` is the subject named by a
/// valid `id_token_hint`, if one was sent.
/// `consented_now` says whether the user just allowed this very request on the consent page,
/// which satisfies `prompt=consent` (the consent form's POST decides with the same rules as the
/// GET that showed it: `prompt=login`, `max_age` and `id_token_hint` still apply).
pub fn next_step(
    req: &AuthorizationRequest,
    session: Option<&SessionFacts>,
    consented: bool,
    consented_now: bool,
    fresh: bool,
    hint_subject: Option<&str>,
    now: Timestamp,
) -> Next {
    if must_sign_in(req, session, fresh, hint_subject, now) {
        return if req.prompt.none {
            Next::Error(OAuthError::new(ErrorCode::LoginRequired, "the user must sign in"))
        } else {
            Next::Login
        };
    }
    if consented_now {
        return Next::IssueCode;
    }
    if req.prompt.consent || !consented {
        return if req.prompt.none {
            Next::Error(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must consent",
            ))
        } else {
            Next::Consent
        };
    }
    Next::IssueCode
}

/// Whether the request needs a sign-in before anything else: no session, `prompt=login` or
/// `max_age=0` (unless the user signed in during this very request), a session older than
/// `max_age`, or an `id_token_hint` naming another user.
fn must_sign_in(
    req: &AuthorizationRequest,
    session: Option<&SessionFacts>,
    fresh: bool,
    hint_subject: Option<&str>,
    now: Timestamp,
) -> bool {
    match session {
        None => true,
        Some(s) => {
            let too_old = req.max_age.is_some_and(|max| now.since(s.auth_time) > max);
            // `max_age=0` asks for a sign-in now, as `prompt=login` does (Core 3.1.2.1), even from
            // a session that began this very second.
            let now_please = req.prompt.login || req.max_age == Some(Duration::seconds(0));
            let other_user = hint_subject.is_some_and(|h| h != s.subject);
            (now_please && !fresh) || too_old || other_user
        }
    }
}

/// The state the service loaded for one authorization decision.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    /// The client the request names.
    pub client: &'a Client,
    /// This browser's signed-in session and its user, if any.
    pub session: Option<(&'a SessionFacts, &'a User)>,
    /// The `id_token_hint`: `None` when none was sent, `Some(None)` when it is not one of this
    /// server's ID tokens, `Some(Some(subject))` when it names a subject.
    pub hint: Option<Option<&'a str>>,
    /// Whether the user's remembered consent covers the request (or the client is first-party).
    pub consented: bool,
    /// Whether the user just allowed this very request on the consent page.
    pub consented_now: bool,
}

/// The one decision for the authorization endpoint and the consent form's Allow: the
/// `id_token_hint`, the `resource`, the client's `allowed_groups`, the admin-scope rule, step-up,
/// then [`next_step`]. A user outside the allowed groups is refused before consent or a second
/// factor is asked for, unless the request makes them sign in first anyway (`prompt=login`,
/// `max_age`, a hint naming someone else), since someone else may then sign in.
pub fn decide(issuer: &str, req: &AuthorizationRequest, loaded: &Loaded<'_>, now: Timestamp) -> Next {
    let hint_subject = match loaded.hint {
        None => None,
        Some(Some(subject)) => Some(subject),
        Some(None) => {
            return Next::Error(OAuthError::invalid_request(
                "id_token_hint is not a valid ID token",
            ));
        }
    };
    if let Err(e) = resource::audience(issuer, loaded.client, &req.scopes, req.resource.as_deref()) {
        return Next::Error(e);
    }
    if let Some((facts, user)) = loaded.session
        && !loaded.client.admits(user)
        && !must_sign_in(req, Some(facts), false, hint_subject, now)
    {
        return Next::OutsideAllowedGroups;
    }
    if let Some((_, user)) = loaded.session
        && !admin_scope::may_have(user, &req.scopes)
    {
        return Next::Error(admin_scope::refusal(ErrorCode::AccessDenied));
    }
    // Step-up: a session of one factor, when two are wanted, signs in again (the login step then
    // asks for the second factor, or for its enrolment).
    if let Some((facts, _)) = loaded.session
        && super::two_factors_wanted(req, loaded.client)
        && !is_multi_factor(&facts.amr)
    {
        return if req.prompt.none {
            Next::Error(OAuthError::new(
                ErrorCode::LoginRequired,
                "two factors are needed and the session has one: the user must sign in again",
            ))
        } else {
            Next::Login
        };
    }
    next_step(
        req,
        loaded.session.map(|(facts, _)| facts),
        loaded.consented,
        loaded.consented_now,
        false,
        hint_subject,
        now,
    )
}

/// The request to come back to after signing in: the same parameters without `prompt=login` and
/// `max_age=0`, which the sign-in satisfies.
pub fn resume_after_login(params: &Params) -> Params {
    let prompt: Vec<&str> = params
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty() && *p != "login")
        .collect();
    let prompt = prompt.join(" ");
    let resumed = params.with("prompt", Some(prompt.as_str()).filter(|p| !p.is_empty()));
    match params.get("max_age") {
        Some("0") => resumed.with("max_age", None),
        _ => resumed,
    }
}
