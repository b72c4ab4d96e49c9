//! The second step of a browser sign-in: a sign-in whose first factor succeeded and that needs a
//! second (or the enrolment of one) is stored as a `SecondFactor` ceremony for five minutes under
//! the digest of the `latchkey_pending` cookie; [`pending`] reads it (without using it up) for
//! the `/login/factor` pages, and [`complete_pending`] (or [`complete_enrolment`]) takes it, once,
//! and opens the session once the page has checked the second factor.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{
    Authenticated, LoginError, NewSession, PendingFactor, Purpose, digest, end_session, enrolled,
    start_session,
};
use crate::crypto::random;
use crate::domain::{Amr, CeremonyKind, CeremonyRecord, Duration, Subject, User};
use crate::protocol::login::{Enrolled, SecondFactor, after_second_factor};
use crate::service::throttle::RetryAfter;
use crate::service::{App, ServiceError, audit, blocking};

/// How long a sign-in waits for its second step.
pub const PENDING_LIFETIME: Duration = Duration::minutes(5);

/// What a stored sign-in keeps besides its subject.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingState {
    proven: Vec<Amr>,
    return_to: String,
    two_factors_wanted: bool,
    /// The user has no second factor and must enrol one (`NeedEnrolment`).
    enrol: bool,
}

/// A sign-in waiting for its second step, as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingView {
    pub subject: Subject,
    pub user: User,
    /// What the first factor proved.
    pub proven: Vec<Amr>,
    /// Where the browser goes once the sign-in is complete (checked again by the page).
    pub return_to: String,
    /// The second factors the user has (counts).
    pub enrolled: Enrolled,
    /// The user must enrol a second factor first (they have none and two are required).
    pub needs_enrolment: bool,
    /// What the sign-in is for asked for two factors.
    pub two_factors_wanted: bool,
}

/// Why a second factor was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorError {
    /// The code is wrong, or was already used (the page says the same for both).
    Wrong,
    /// Too many wrong codes: wait this long.
    Throttled(RetryAfter),
    /// The pending sign-in or the enrolment is gone (used, expired, or never there).
    Expired,
    /// The user already has this factor.
    AlreadyEnrolled,
    Unavailable(ServiceError),
}

impl From<ServiceError> for FactorError {
    fn from(e: ServiceError) -> Self {
        FactorError::Unavailable(e)
    }
}

/// Stores `pending` for its second step; returns the cookie value.
pub(super) async fn store(
    app: &App,
    pending: &PendingFactor,
    purpose: Purpose<'_>,
    enrol: bool,
) -> Result<String, ServiceError> {
    let cookie = random::token()?;
    let now = app.clock.now();
    let state = PendingState {
        proven: pending.proven.clone(),
        return_to: purpose.return_to.to_owned(),
        two_factors_wanted: purpose.two_factors_wanted,
        enrol,
    };
    let record = CeremonyRecord {
        kind: CeremonyKind::SecondFactor,
        subject: Some(pending.user.subject.clone()),
        state: serde_json::to_string(&state).map_err(|e| ServiceError::Internal(e.to_string()))?,
        created_at: now,
        expires_at: now.plus(PENDING_LIFETIME),
    };
    let key = digest(&cookie);
    let store = app.store.clone();
    blocking(move || Ok(store.write(|tx| tx.put_ceremony(&key, &record))?)).await?;
    Ok(cookie)
}

fn state_of(record: &CeremonyRecord) -> Result<PendingState, ServiceError> {
    serde_json::from_str(&record.state).map_err(|e| ServiceError::Internal(format!("a pending sign-in: {e}")))
}

/// The sign-in waiting under this `latchkey_pending` cookie value, if it is still live (not
/// expired, its user still there and enabled). Reads only: the sign-in stays until completed.
pub async fn pending(app: &App, cookie: &str) -> Result<Option<PendingView>, ServiceError> {
    let key = digest(cookie);
    let now = app.clock.now();
    let store = app.store.clone();
    blocking(move || {
        store.read(|tx| {
            let Some(record) = tx
                .ceremony(&key)?
                .filter(|c| c.kind == CeremonyKind::SecondFactor && c.expires_at > now)
            else {
                return Ok(None);
            };
            let Some(subject) = record.subject.clone() else {
                return Ok(None);
            };
            let Some(user) = tx.user(&subject)?.filter(|u| !u.disabled) else {
                return Ok(None);
            };
            let state = state_of(&record)?;
            let enrolled = enrolled(tx, &subject)?;
            Ok(Some(PendingView {
                // A user who enrolled meanwhile (in another tab) presents the new factor.
                needs_enrolment: state.enrol && !enrolled.has_second_factor(),
                enrolled,
                subject,
                user,
                proven: state.proven,
                return_to: state.return_to,
                two_factors_wanted: state.two_factors_wanted,
            }))
        })
    })
    .await
}

fn factor_name(second: SecondFactor) -> &'static str {
    match second {
        SecondFactor::Totp => "totp",
        SecondFactor::RecoveryCode => "recovery_code",
        SecondFactor::Passkey { .. } => "passkey",
    }
}

/// Completes the sign-in waiting under `cookie` with a second factor the caller has checked for
/// that sign-in's user: takes the stored sign-in (it works once), adds what `second` proves
/// ([`after_second_factor`]), ends the browser's `previous_session`, opens a new session and
/// audits `login.second_factor`. [`LoginError::Failed`] when the sign-in is gone or expired.
pub async fn complete_pending(
    app: &App,
    cookie: &str,
    second: SecondFactor,
    ip: IpAddr,
    previous_session: Option<&str>,
) -> Result<NewSession, LoginError> {
    let key = digest(cookie);
    let now = app.clock.now();
    let store = app.store.clone();
    let taken = blocking(move || {
        store.write(|tx| {
            let Some(record) = tx.take_ceremony(&key)? else {
                return Ok(None);
            };
            if record.kind != CeremonyKind::SecondFactor || record.expires_at <= now {
                return Ok(None);
            }
            let Some(subject) = record.subject.clone() else {
                return Ok(None);
            };
            let Some(user) = tx.user(&subject)?.filter(|u| !u.disabled) else {
                return Ok(None);
            };
            Ok::<_, ServiceError>(Some((user, state_of(&record)?)))
        })
    })
    .await?;
    let Some((user, state)) = taken else {
        return Err(LoginError::Failed);
    };
    let method = match second {
        SecondFactor::Totp => crate::metrics::SignInMethod::Totp,
        SecondFactor::RecoveryCode => crate::metrics::SignInMethod::Recovery,
        SecondFactor::Passkey { .. } => crate::metrics::SignInMethod::Passkey,
    };
    crate::metrics::sign_in(method, crate::metrics::SignInOutcome::Success);
    let auth = Authenticated {
        amr: after_second_factor(&state.proven, second),
        user,
    };
    if let Some(old) = previous_session {
        end_session(app, old).await?;
    }
    let (cookie, session) = start_session(app, &auth).await?;
    audit::note(
        app,
        auth.user.username.as_str(),
        "login.second_factor",
        Some(factor_name(second)),
        Some(ip),
        true,
    )
    .await;
    Ok(NewSession {
        cookie,
        session,
        user: auth.user,
    })
}

/// A sign-in completed at `/login/factor`: the new session, where to go, and, after a recovery
/// code, how many codes remain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub session: NewSession,
    pub return_to: String,
    pub recovery_codes_left: Option<usize>,
}

fn finished(result: Result<NewSession, LoginError>) -> Result<NewSession, FactorError> {
    result.map_err(|e| match e {
        LoginError::Failed => FactorError::Expired,
        LoginError::Throttled(r) => FactorError::Throttled(r),
        LoginError::Unavailable(e) => FactorError::Unavailable(e),
    })
}

async fn live(app: &App, cookie: &str) -> Result<PendingView, FactorError> {
    pending(app, cookie).await?.ok_or(FactorError::Expired)
}

/// The `/login/factor` TOTP form: checks `code` against the pending user's TOTP factor
/// (`service::totp::verify`), then [`complete_pending`].
pub async fn complete_with_totp(
    app: &App,
    cookie: &str,
    code: &str,
    ip: IpAddr,
    previous_session: Option<&str>,
) -> Result<Completed, FactorError> {
    let view = live(app, cookie).await?;
    crate::service::totp::verify(app, &view.user, code, ip).await?;
    let session = finished(complete_pending(app, cookie, SecondFactor::Totp, ip, previous_session).await)?;
    Ok(Completed {
        session,
        return_to: view.return_to,
        recovery_codes_left: None,
    })
}

/// The `/login/factor` recovery-code form: uses up `code` (`service::recovery::redeem`), then
/// [`complete_pending`]. Only for a user with a real second factor: recovery codes are the way
/// back when it is lost, not a factor of their own.
pub async fn complete_with_recovery_code(
    app: &App,
    cookie: &str,
    code: &str,
    ip: IpAddr,
    previous_session: Option<&str>,
) -> Result<Completed, FactorError> {
    let view = live(app, cookie).await?;
    if view.needs_enrolment {
        return Err(FactorError::Wrong);
    }
    let left = crate::service::recovery::redeem(app, &view.user, code, ip).await?;
    let session =
        finished(complete_pending(app, cookie, SecondFactor::RecoveryCode, ip, previous_session).await)?;
    Ok(Completed {
        session,
        return_to: view.return_to,
        recovery_codes_left: Some(left),
    })
}

/// Completes a sign-in that had to enrol a second factor (`NeedEnrolment`) at
/// `/login/factor/enrol`: confirms the TOTP enrolment `enrolment_id` with `code`
/// (`service::totp::confirm_enrolment`; that code is the second factor), then
/// [`complete_pending`] with [`SecondFactor::Totp`]: `pwd otp mfa`.
pub async fn complete_enrolment(
    app: &App,
    cookie: &str,
    enrolment_id: &str,
    code: &str,
    ip: IpAddr,
    previous_session: Option<&str>,
) -> Result<Completed, FactorError> {
    let view = live(app, cookie).await?;
    if !view.needs_enrolment {
        return Err(FactorError::Expired);
    }
    crate::service::totp::confirm_enrolment(app, &view.user, enrolment_id, code, ip).await?;
    let session = finished(complete_pending(app, cookie, SecondFactor::Totp, ip, previous_session).await)?;
    Ok(Completed {
        session,
        return_to: view.return_to,
        recovery_codes_left: None,
    })
}
