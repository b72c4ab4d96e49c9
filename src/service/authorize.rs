//! The authorization endpoint's use cases: loading the client, remembering consent, and issuing a
//! code bound to everything the token request must repeat.

use super::login::digest;
use super::{App, ServiceError, blocking};
use crate::crypto::random;
use crate::domain::{AuthorizationCode, Client, ClientId, Consent, ScopeSet, Session, Subject, User};
use crate::protocol::authorize::{self, AuthorizationRequest, Next, SessionFacts};
use crate::protocol::{ErrorCode, OAuthError, resource};

/// The client named by a request, if registered.
pub async fn load_client(app: &App, client_id: &str) -> Result<Option<Client>, ServiceError> {
    let Ok(id) = ClientId::parse(client_id) else {
        return Ok(None);
    };
    super::point_read(&app.store, |tx| Ok(tx.client(&id)?))
}

/// Whether `user` may be granted `scopes`: the `admin` scope only goes to members of the
/// administrators group.
pub fn user_may_have(user: &crate::domain::User, scopes: &ScopeSet) -> bool {
    !scopes.contains(super::admin::ADMIN_SCOPE) || user.groups.iter().any(|g| g == super::ADMIN_GROUP)
}

/// What the authorization endpoint and the consent form do next, decided by one set of rules.
#[derive(Debug)]
pub enum Step {
    Login,
    Consent,
    /// A code was issued (and, when the user just allowed it, the consent remembered): redirect.
    Redirect(String),
    /// Redirect this error to the client.
    Refuse(OAuthError),
}

/// Decides the next step of a validated request for this browser's `session`, for both the
/// authorization endpoint (`consented_now` false) and the consent form's Allow (true): the
/// `id_token_hint`, the admin-scope rule, `prompt`, `max_age` and remembered consent are checked
/// here alone. Issues the code when that is the step.
pub async fn decide(
    app: &App,
    request: &AuthorizationRequest,
    client: &Client,
    session: Option<&(Session, User)>,
    consented_now: bool,
) -> Result<Step, ServiceError> {
    let hint_subject = match &request.id_token_hint {
        None => None,
        Some(hint) => match super::logout::verify_hint(app, hint.clone()).await? {
            Some(h) => Some(h.subject),
            None => {
                return Ok(Step::Refuse(OAuthError::invalid_request(
                    "id_token_hint is not a valid ID token",
                )));
            }
        },
    };
    if let Err(e) = resource::audience(
        &app.config.issuer,
        client,
        &request.scopes,
        request.resource.as_deref(),
    ) {
        return Ok(Step::Refuse(e));
    }
    if let Some((_, user)) = session
        && !user_may_have(user, &request.scopes)
    {
        return Ok(Step::Refuse(OAuthError::new(
            ErrorCode::AccessDenied,
            "only administrators may be granted the admin scope",
        )));
    }
    let consented = match session {
        Some((s, _)) if !consented_now => has_consent(app, &s.subject, client, &request.scopes).await?,
        _ => false,
    };
    let facts = session.map(|(s, _)| SessionFacts {
        subject: s.subject.to_string(),
        auth_time: s.auth_time,
    });
    let next = authorize::next_step(
        request,
        facts.as_ref(),
        consented,
        consented_now,
        false,
        hint_subject.as_deref(),
        app.clock.now(),
    );
    Ok(match (next, session) {
        (Next::Error(e), _) => Step::Refuse(e),
        (Next::Login, _) | (_, None) => Step::Login,
        (Next::Consent, Some(_)) => Step::Consent,
        (Next::IssueCode, Some((s, _))) => {
            if consented_now {
                remember_consent(app, &s.subject, &request.client_id, &request.scopes).await?;
            }
            let code = issue_code(app, request, s).await?;
            Step::Redirect(authorize::code_response(&app.config.issuer, request, &code))
        }
    })
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
                subject,
                client_id,
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
