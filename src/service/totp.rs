//! TOTP as a second factor: enrolment (a new seed waits, sealed, in a `TotpEnrolment` ceremony
//! until a correct code confirms it), checking a code at sign-in (throttled per account and
//! address, a code for a step already used refused), and removal (a fresh sign-in and the
//! policy's consent). Seeds are sealed with AES-256-GCM under the server secret `totp`, bound
//! to the user's subject; they are shown once, at enrolment, and never logged.

use std::net::IpAddr;

use super::login::{FactorError, enrolled, login_policy};
use super::{App, ServiceError, blocking};
use crate::crypto::{random, seal};
use crate::domain::{CeremonyKind, CeremonyRecord, Duration, Session, Subject, TotpRecord, User};
use crate::metrics::{self, SignInMethod, SignInOutcome};
use crate::protocol::login::{Enrolled, RemovalRefusal, is_fresh, may_remove_factor};
use crate::protocol::totp::{self as rules, SEED_LEN, TotpRefusal};
use crate::store::{Reads, Writes};

/// The name of the sealing key among the server secrets.
const SECRET: &str = "totp";
/// How long a shown seed waits for its confirming code.
pub const ENROLMENT_LIFETIME: Duration = Duration::minutes(10);

/// The sealing key, made (in `tx`) if the store has none.
fn seal_key(tx: &dyn Writes) -> Result<[u8; 32], ServiceError> {
    if let Some(key) = stored_key(tx)? {
        return Ok(key);
    }
    let key = random::bytes::<32>()?;
    tx.put_server_secret(SECRET, &key)?;
    Ok(key)
}

fn stored_key(tx: &dyn Reads) -> Result<Option<[u8; 32]>, ServiceError> {
    match tx.server_secret(SECRET)? {
        None => Ok(None),
        Some(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
            .map(Some)
            .map_err(|_| ServiceError::Internal("the stored TOTP key has the wrong length".into())),
    }
}

fn open_seed(key: &[u8; 32], subject: &Subject, sealed: &str) -> Result<Vec<u8>, ServiceError> {
    seal::open(key, subject.as_str().as_bytes(), sealed)
        .ok_or_else(|| ServiceError::Internal("a sealed TOTP seed does not open".into()))
}

/// A seed being enrolled, as the enrolment page shows it: the ceremony id the page posts back,
/// the seed in base32 and the `otpauth://` URI for the QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub id: String,
    pub secret: String,
    pub uri: String,
}

fn enrolment_view(app: &App, user: &User, id: String, seed: &[u8]) -> Result<Enrolment, ServiceError> {
    let host = url::Url::parse(&app.config.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "Latchkey".to_owned());
    let uri = rules::otpauth_uri(seed, &host, user.username.as_str())
        .ok_or_else(|| ServiceError::Internal("the TOTP label has a colon".into()))?;
    Ok(Enrolment {
        id,
        secret: rules::seed_base32(seed),
        uri,
    })
}

/// Starts an enrolment for `user`: a new random seed, stored sealed in a ceremony for
/// [`ENROLMENT_LIFETIME`] under the digest of the returned id.
pub async fn start_enrolment(app: &App, user: &User) -> Result<Enrolment, ServiceError> {
    let seed = random::bytes::<SEED_LEN>()?;
    let id = random::token()?;
    let now = app.clock.now();
    let store = app.store.clone();
    let subject = user.subject.clone();
    let key = super::login::digest(&id);
    blocking(move || {
        store.write(|tx| {
            let sealing = seal_key(tx)?;
            let sealed = seal::seal(&sealing, subject.as_str().as_bytes(), &seed)
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            tx.put_ceremony(
                &key,
                &CeremonyRecord {
                    kind: CeremonyKind::TotpEnrolment,
                    subject: Some(subject.clone()),
                    state: sealed,
                    created_at: now,
                    expires_at: now.plus(ENROLMENT_LIFETIME),
                },
            )?;
            Ok(())
        })
    })
    .await?;
    enrolment_view(app, user, id, &seed)
}

/// The enrolment `id` names for `user`, if it is still waiting (to show it again after a wrong
/// code).
pub async fn enrolment(app: &App, user: &User, id: &str) -> Result<Option<Enrolment>, ServiceError> {
    let key = super::login::digest(id);
    let now = app.clock.now();
    let store = app.store.clone();
    let subject = user.subject.clone();
    let seed = blocking(move || {
        store.read(|tx| {
            let Some(record) = waiting(tx, &key, &subject, now)? else {
                return Ok(None);
            };
            let Some(sealing) = stored_key(tx)? else {
                return Ok(None);
            };
            open_seed(&sealing, &subject, &record.state).map(Some)
        })
    })
    .await?;
    seed.map(|seed| enrolment_view(app, user, id.to_owned(), &seed))
        .transpose()
}

/// The enrolment ceremony under `key` if it is `subject`'s and not expired.
fn waiting(
    tx: &dyn Reads,
    key: &str,
    subject: &Subject,
    now: crate::domain::Timestamp,
) -> Result<Option<CeremonyRecord>, ServiceError> {
    Ok(tx.ceremony(key)?.filter(|c| {
        c.kind == CeremonyKind::TotpEnrolment && c.subject.as_ref() == Some(subject) && c.expires_at > now
    }))
}

/// The account name the factor throttle counts `user` under.
pub(super) fn account(user: &User) -> String {
    user.username.as_str().to_lowercase()
}

/// Confirms an enrolment with a code from the app: the seed becomes `user`'s TOTP factor (the
/// code's step counts as used). Refused when the user already has one.
pub async fn confirm_enrolment(
    app: &App,
    user: &User,
    id: &str,
    code: &str,
    ip: IpAddr,
) -> Result<(), FactorError> {
    let attempt = app
        .factor_throttle
        .begin(&account(user), ip, app.clock.now())
        .map_err(FactorError::Throttled)?;
    let key = super::login::digest(id);
    let now = app.clock.now();
    let store = app.store.clone();
    let subject = user.subject.clone();
    let code = code.to_owned();
    let outcome = blocking(move || {
        store.write(|tx| {
            let Some(record) = waiting(tx, &key, &subject, now)? else {
                return Ok(Err(FactorError::Expired));
            };
            if tx.totp(&subject)?.is_some() {
                return Ok(Err(FactorError::AlreadyEnrolled));
            }
            let sealing = seal_key(tx)?;
            let seed = open_seed(&sealing, &subject, &record.state)?;
            match rules::check(&seed, &code, now, 0) {
                Ok(step) => {
                    tx.take_ceremony(&key)?;
                    tx.put_totp(&TotpRecord {
                        subject: subject.clone(),
                        seed: record.state,
                        created_at: now,
                        last_step: step,
                    })?;
                    Ok(Ok(()))
                }
                Err(_) => Ok(Err(FactorError::Wrong)),
            }
        })
    })
    .await?;
    let actor = user.username.as_str();
    match outcome {
        Ok(()) => {
            attempt.succeeded(app.clock.now());
            super::audit::note(app, actor, "totp.enrol", None, Some(ip), true).await;
            Ok(())
        }
        Err(FactorError::Wrong) => {
            attempt.failed(app.clock.now());
            super::audit::note(app, actor, "totp.enrol", Some("wrong code"), Some(ip), false).await;
            Err(FactorError::Wrong)
        }
        Err(other) => Err(other),
    }
}

/// Checks a code of `user`'s TOTP factor at sign-in, throttled per account and address; the
/// code's step is marked used in the same transaction, so a code works once even when two
/// requests race. A user without TOTP gets [`FactorError::Wrong`].
pub async fn verify(app: &App, user: &User, code: &str, ip: IpAddr) -> Result<(), FactorError> {
    let attempt = app
        .factor_throttle
        .begin(&account(user), ip, app.clock.now())
        .map_err(|retry| {
            metrics::sign_in(SignInMethod::Totp, SignInOutcome::Throttled);
            FactorError::Throttled(retry)
        })?;
    let now = app.clock.now();
    let store = app.store.clone();
    let subject = user.subject.clone();
    let code = code.to_owned();
    let outcome = blocking(move || {
        store.write(|tx| {
            let Some(mut record) = tx.totp(&subject)? else {
                return Ok(Err(TotpRefusal::Wrong));
            };
            let Some(sealing) = stored_key(tx)? else {
                return Err(ServiceError::Internal(
                    "a TOTP factor exists without its key".into(),
                ));
            };
            let seed = open_seed(&sealing, &subject, &record.seed)?;
            match rules::check(&seed, &code, now, record.last_step) {
                Ok(step) => {
                    record.last_step = step;
                    tx.put_totp(&record)?;
                    Ok(Ok(()))
                }
                Err(refusal) => Ok(Err(refusal)),
            }
        })
    })
    .await?;
    match outcome {
        Ok(()) => {
            attempt.succeeded(app.clock.now());
            Ok(())
        }
        Err(refusal) => {
            attempt.failed(app.clock.now());
            metrics::sign_in(SignInMethod::Totp, SignInOutcome::Failure);
            let why = match refusal {
                TotpRefusal::Wrong => "wrong code",
                TotpRefusal::Replayed => "code already used",
            };
            super::audit::note(
                app,
                user.username.as_str(),
                "login.second_factor",
                Some(why),
                Some(ip),
                false,
            )
            .await;
            Err(FactorError::Wrong)
        }
    }
}

/// Why a factor was not removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveError {
    /// The session's sign-in is too old for a change that weakens the account.
    NotFresh,
    /// The policy needs the factor (see [`may_remove_factor`]).
    Refused(RemovalRefusal),
    /// There was nothing to remove.
    NotEnrolled,
    Service(ServiceError),
}

impl From<ServiceError> for RemoveError {
    fn from(e: ServiceError) -> Self {
        RemoveError::Service(e)
    }
}

/// Removes the TOTP factor of the signed-in `user`, whose `session` must be fresh, if the
/// policy lets them go without it.
pub async fn remove(app: &App, session: &Session, user: &User, ip: IpAddr) -> Result<(), RemoveError> {
    let now = app.clock.now();
    if !is_fresh(session.auth_time, now) {
        return Err(RemoveError::NotFresh);
    }
    let store = app.store.clone();
    let policy = login_policy(app);
    let target = user.clone();
    blocking(move || {
        store.write(|tx| {
            let before = enrolled(tx, &target.subject)?;
            if !before.totp {
                return Ok(Err(RemoveError::NotEnrolled));
            }
            let after = Enrolled {
                totp: false,
                ..before
            };
            if let Err(refusal) = may_remove_factor(&target, &after, &policy) {
                return Ok(Err(RemoveError::Refused(refusal)));
            }
            tx.delete_totp(&target.subject)?;
            Ok::<_, ServiceError>(Ok(()))
        })
    })
    .await??;
    super::audit::note(app, user.username.as_str(), "totp.remove", None, Some(ip), true).await;
    Ok(())
}
