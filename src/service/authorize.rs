//! The authorization endpoint's use cases: the endpoint itself and the consent form (each one
//! function returning an outcome the page renders), remembering consent, and issuing a code bound
//! to everything the token request must repeat.

use std::net::IpAddr;

use super::login::digest;
use super::{App, ServiceError, blocking};
use crate::crypto::random;
use crate::domain::{AuthorizationCode, Client, ClientId, Consent, ScopeSet, Session, Subject, User};
use crate::protocol::authorize::{self, AuthorizationRequest, Next, PageReason, Rejection, SessionFacts};
use crate::protocol::params::Params;
use crate::protocol::{ErrorCode, OAuthError};

/// The client named by a request, if registered.
pub async fn load_client(app: &App, client_id: &str) -> Result<Option<Client>, ServiceError> {
    let Ok(id) = ClientId::parse(client_id) else {
        return Ok(None);
    };
    super::point_read(&app.store, |tx| Ok(tx.client(&id)?))
}

/// What the authorization endpoint answers; the page only renders it.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// The client or redirect URI cannot be trusted: an error page (audited; `web` logs it with
    /// the words it shows).
    Page(PageReason),
    /// Sign in first, then come back to `resume` (the request without `prompt=login`).
    Login {
        resume: Params,
        login_hint: String,
        client_name: String,
        /// The client's picture (`icon`), which the login page shows when it travels with the
        /// page (a `data:` URL).
        client_icon: Option<crate::domain::ClientIcon>,
    },
    /// Ask the signed-in user to allow the client these scopes.
    Consent {
        client_name: String,
        username: String,
        scopes: ScopeSet,
    },
    /// The signed-in user is in none of the client's `allowed_groups` (audited): a page says so
    /// and offers to sign in with another account through `switch_account` (the same request
    /// with `prompt=login`).
    OutsideAllowedGroups {
        client_name: String,
        username: String,
        switch_account: Params,
    },
    /// Redirect to the client: a code, or an error (logged and audited).
    Redirect(String),
}

/// What the consent form's POST answers.
#[derive(Debug)]
pub enum ConsentOutcome {
    /// The request cannot be trusted to redirect: an error page.
    Page(PageReason),
    /// Go through the authorization endpoint again with the same request (the session ended, or
    /// the request needs a sign-in or the form again).
    Restart,
    /// Redirect to the client: a code, or an error (`access_denied` when the user denied).
    Redirect(String),
}

/// The authorization endpoint's use case (`GET`/`POST /oauth/authorize`): validates the request,
/// then decides for the browser's session (`cookie`) whether to sign in, ask consent, or answer
/// the client.
pub async fn authorize(
    app: &App,
    params: &Params,
    cookie: Option<&str>,
    ip: IpAddr,
) -> Result<AuthorizeOutcome, ServiceError> {
    let (request, client) = match validated(app, params, ip).await? {
        Ok(pair) => pair,
        Err(reason) => return Ok(reason),
    };
    let session = match cookie {
        Some(c) => super::login::current(app, c).await?,
        None => None,
    };
    Ok(
        match decide(app, &request, &client, session.as_ref(), false, ip).await? {
            Step::Login => AuthorizeOutcome::Login {
                resume: authorize::resume_after_login(params),
                login_hint: request.login_hint.clone().unwrap_or_default(),
                client_name: client.name,
                client_icon: client.icon,
            },
            Step::Consent => match session {
                Some((_, user)) => AuthorizeOutcome::Consent {
                    client_name: client.name,
                    username: user.username.as_str().to_owned(),
                    scopes: request.scopes,
                },
                None => AuthorizeOutcome::Page(PageReason::SessionEnded),
            },
            Step::OutsideAllowedGroups => match session {
                Some((_, user)) => AuthorizeOutcome::OutsideAllowedGroups {
                    client_name: client.name,
                    username: user.username.as_str().to_owned(),
                    switch_account: params.with("prompt", Some("login")),
                },
                None => AuthorizeOutcome::Page(PageReason::SessionEnded),
            },
            Step::Redirect(location) => AuthorizeOutcome::Redirect(location),
        },
    )
}

/// The consent form's use case (`POST /oauth/consent`): Allow issues the code by the same decision
/// as the GET that showed the form (a consent POST cannot skip `prompt=login`, `max_age` or the
/// `id_token_hint`); Deny answers `access_denied`.
pub async fn consent(
    app: &App,
    params: &Params,
    allow: bool,
    cookie: Option<&str>,
    ip: IpAddr,
) -> Result<ConsentOutcome, ServiceError> {
    let (request, client) = match validated(app, params, ip).await? {
        Ok(pair) => pair,
        Err(AuthorizeOutcome::Page(reason)) => return Ok(ConsentOutcome::Page(reason)),
        Err(AuthorizeOutcome::Redirect(location)) => return Ok(ConsentOutcome::Redirect(location)),
        Err(_) => return Ok(ConsentOutcome::Restart),
    };
    let session = match cookie {
        Some(c) => super::login::current(app, c).await?,
        None => None,
    };
    let Some(session) = session else {
        return Ok(ConsentOutcome::Restart);
    };
    if !allow {
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return Ok(ConsentOutcome::Redirect(refuse(app, &request, &error, ip)));
    }
    Ok(
        match decide(app, &request, &client, Some(&session), true, ip).await? {
            Step::Redirect(location) => ConsentOutcome::Redirect(location),
            // The endpoint shows the refusal page (a user who left the group while the consent
            // form was open gets no code).
            Step::Login | Step::Consent | Step::OutsideAllowedGroups => ConsentOutcome::Restart,
        },
    )
}

/// Whether the sign-in that resumes `return_to` must have two factors: read again from the
/// authorization request itself (its client's `require_factors`, its `acr_values`), never from
/// anything the login form says. `false` for any other address or an invalid request.
pub async fn two_factors_wanted(app: &App, return_to: &str) -> Result<bool, ServiceError> {
    // The forward-auth round trip asks for two when its target needs them (`factors=2`): a
    // request can only make its own sign-in stricter this way, and the round trip and every
    // forward-auth check judge the session again.
    if let Some(query) = return_to.strip_prefix("/forward-auth/session?") {
        return Ok(Params::parse(query).is_ok_and(|p| p.get("factors") == Some("2")));
    }
    let Some(query) = return_to.strip_prefix("/oauth/authorize?") else {
        return Ok(false);
    };
    let Ok(params) = Params::parse(query) else {
        return Ok(false);
    };
    let Some(client) = (match params.get("client_id") {
        Some(id) => load_client(app, id).await?,
        None => None,
    }) else {
        return Ok(false);
    };
    let policy = authorize::Policy {
        require_pkce: app.config.require_pkce,
    };
    Ok(match authorize::validate_with(&params, Some(&client), &policy) {
        Ok(request) => authorize::two_factors_wanted(&request, &client),
        Err(_) => false,
    })
}

/// Loads the client a request names and validates the request against it. A request that fails
/// becomes its outcome: an error page (audited here, logged by `web`), or an error redirect.
async fn validated(
    app: &App,
    params: &Params,
    ip: IpAddr,
) -> Result<Result<(AuthorizationRequest, Client), AuthorizeOutcome>, ServiceError> {
    let client = match params.get("client_id") {
        Some(id) => load_client(app, id).await?,
        None => None,
    };
    let policy = authorize::Policy {
        require_pkce: app.config.require_pkce,
    };
    match authorize::validate_with(params, client.as_ref(), &policy) {
        Ok(request) => Ok(match client {
            Some(client) => Ok((request, client)),
            None => Err(AuthorizeOutcome::Page(PageReason::UnknownClient)),
        }),
        Err(Rejection::Page(reason)) => {
            super::audit::denied(app, "authorize.refused", "untrusted_client_or_redirect_uri", ip);
            Ok(Err(AuthorizeOutcome::Page(reason)))
        }
        Err(Rejection::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            // The client id as sent, cut short and debug-escaped: it is client input on its way to a log.
            let sent_id: String = params.get("client_id").unwrap_or("").chars().take(128).collect();
            super::audit::denied(app, "authorize.refused", error.code.as_str(), ip);
            tracing::info!(
                client_id = ?sent_id,
                error = error.code.as_str(),
                reason = error.description(),
                "refused an authorization request"
            );
            Ok(Err(AuthorizeOutcome::Redirect(authorize::error_response(
                &app.config.issuer,
                &redirect_uri,
                state.as_deref(),
                &error,
            ))))
        }
    }
}

/// The error redirect for a refused request, logged once at `info` with the client and the reason.
fn refuse(app: &App, request: &AuthorizationRequest, error: &OAuthError, ip: IpAddr) -> String {
    super::audit::denied(app, "authorize.refused", error.code.as_str(), ip);
    tracing::info!(
        client_id = %request.client_id,
        error = error.code.as_str(),
        reason = error.description(),
        "refused an authorization request"
    );
    authorize::error_response(
        &app.config.issuer,
        &request.redirect_uri,
        request.state.as_deref(),
        error,
    )
}

/// Records that `user` was refused `request`'s client for its `allowed_groups` (action
/// `authorize.refused`, target `group client:ID`), and logs it at `info`.
async fn refuse_outside_groups(app: &App, request: &AuthorizationRequest, user: &User, ip: IpAddr) {
    let target = format!("group client:{}", request.client_id);
    super::audit::note(
        app,
        user.username.as_str(),
        "authorize.refused",
        Some(&target),
        Some(ip),
        false,
    )
    .await;
    tracing::info!(
        client_id = %request.client_id,
        subject = %user.subject,
        "refused an authorization request: the user is in none of the client's allowed groups"
    );
}

/// What the authorization endpoint and the consent form do next, decided by one set of rules.
#[derive(Debug)]
enum Step {
    Login,
    Consent,
    /// The user is in none of the client's `allowed_groups` (audited already).
    OutsideAllowedGroups,
    /// A code was issued (and, when the user just allowed it, the consent remembered), or an error
    /// is sent back: redirect.
    Redirect(String),
}

/// Loads what [`authorize::decide`] needs for a validated request and this browser's `session`,
/// for both the authorization endpoint (`consented_now` false) and the consent form's Allow
/// (true), and carries its decision out: issues the code when that is the step.
async fn decide(
    app: &App,
    request: &AuthorizationRequest,
    client: &Client,
    session: Option<&(Session, User)>,
    consented_now: bool,
    ip: IpAddr,
) -> Result<Step, ServiceError> {
    let hint = match &request.id_token_hint {
        None => None,
        Some(hint) => Some(
            super::logout::verify_hint(app, hint.clone())
                .await?
                .map(|h| h.subject),
        ),
    };
    let consented = match session {
        Some((s, _)) if !consented_now => has_consent(app, &s.subject, client, &request.scopes).await?,
        _ => false,
    };
    let facts = session.map(|(s, u)| {
        (
            SessionFacts {
                subject: s.subject.to_string(),
                auth_time: s.auth_time,
                amr: s.amr.clone(),
            },
            u,
        )
    });
    let loaded = authorize::Loaded {
        client,
        session: facts.as_ref().map(|(f, u)| (f, *u)),
        hint: hint.as_ref().map(Option::as_deref),
        consented,
        consented_now,
    };
    Ok(
        match (
            authorize::decide(&app.config.issuer, request, &loaded, app.clock.now()),
            session,
        ) {
            (Next::Error(e), _) => Step::Redirect(refuse(app, request, &e, ip)),
            (Next::Login, _) | (_, None) => Step::Login,
            (Next::Consent, Some(_)) => Step::Consent,
            (Next::OutsideAllowedGroups, Some((_, user))) => {
                refuse_outside_groups(app, request, user, ip).await;
                Step::OutsideAllowedGroups
            }
            (Next::IssueCode, Some((s, _))) => {
                if consented_now {
                    remember_consent(app, &s.subject, &request.client_id, &request.scopes).await?;
                }
                let code = issue_code(app, request, s).await?;
                Step::Redirect(authorize::code_response(&app.config.issuer, request, &code))
            }
        },
    )
}

/// Whether the user already allowed `client` these scopes (first-party clients need no consent).
pub async fn has_consent(
    app: &App,
    subject: &Subject,
    client: &Client,
    scopes: &ScopeSet,
) -> Result<bool, ServiceError> {
    if client.first_party {
        return Ok(true);
    }
    super::point_read(&app.store, |tx| {
        Ok(tx
            .consent(subject, &client.client_id)?
            .is_some_and(|c| scopes.is_subset(&c.scopes)))
    })
}

/// Remembers that the user allowed `scopes` to the client, added to what was allowed before.
pub async fn remember_consent(
    app: &App,
    subject: &Subject,
    client_id: &ClientId,
    scopes: &ScopeSet,
) -> Result<(), ServiceError> {
    let store = app.store.clone();
    let now = app.clock.now();
    let (subject, client_id, scopes) = (subject.clone(), client_id.clone(), scopes.clone());
    blocking(move || {
        store.write(|tx| {
            let mut all: Vec<_> = scopes.iter().cloned().collect();
            if let Some(old) = tx.consent(&subject, &client_id)? {
                all.extend(old.scopes.iter().cloned());
            }
            tx.put_consent(&Consent {
                subject: subject.clone(),
                client_id: client_id.clone(),
                scopes: ScopeSet::from_scopes(all),
                granted_at: now,
            })?;
            Ok(())
        })
    })
    .await
}

/// Issues a single-use code for the request and the signed-in user; returns the code.
pub async fn issue_code(
    app: &App,
    req: &AuthorizationRequest,
    session: &Session,
) -> Result<String, ServiceError> {
    let code = random::token()?;
    let record = AuthorizationCode {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        redirect_uri_sent: req.redirect_uri_sent,
        subject: session.subject.clone(),
        scopes: req.scopes.clone(),
        code_challenge: req.code_challenge.clone(),
        nonce: req.nonce.clone(),
        auth_time: session.auth_time,
        sid: Some(session.sid.clone()),
        amr: session.amr.clone(),
        expires_at: app.clock.now().plus(app.config.lifetimes.authorization_code),
        redeemed_grant: None,
        requested_claims: req.requested_claims.clone(),
        resource: req.resource.clone(),
    };
    let key = digest(&code);
    app.writer.run(move |tx| Ok(tx.put_code(&key, &record)?)).await?;
    tracing::info!(client_id = %req.client_id, subject = %session.subject, "issued an authorization code");
    Ok(code)
}

/// A remembered consent as listed to administrators.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConsentView {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub granted_at: u64,
}

/// The consents a user gave (found by subject or username).
pub async fn consents_of(app: &App, ident: String) -> Result<Vec<ConsentView>, ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let user = super::users::find(tx, &ident)?
                .ok_or_else(|| ServiceError::NotFound(format!("user `{ident}`")))?;
            Ok(tx
                .consents_of(&user.subject)?
                .into_iter()
                .map(|c| ConsentView {
                    client_id: c.client_id.to_string(),
                    scopes: c.scopes.iter().map(|s| s.to_string()).collect(),
                    granted_at: c.granted_at.0,
                })
                .collect())
        })
    })
    .await
}

/// Forgets a user's consent to a client; the consent page is shown again next time.
pub async fn revoke_consent(app: &App, ident: String, client_id: String) -> Result<(), ServiceError> {
    let store = app.store.clone();
    blocking(move || {
        store.write(|tx| {
            let user = super::users::find(tx, &ident)?
                .ok_or_else(|| ServiceError::NotFound(format!("user `{ident}`")))?;
            let not_found = || ServiceError::NotFound(format!("consent for client `{client_id}`"));
            let id = ClientId::parse(&client_id).map_err(|_| not_found())?;
            if !tx.delete_consent(&user.subject, &id)? {
                return Err(not_found());
            }
            Ok(())
        })
    })
    .await
}
