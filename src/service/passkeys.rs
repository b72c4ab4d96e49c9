//! Passkeys (WebAuthn, through `webauthn-rs`): registration for a signed-in user, the account
//! page's list, rename and removal, passkey-first sign-in with discoverable credentials, and a
//! passkey as the second factor of a sign-in. Each ceremony's state is a single-use ceremony
//! record with an expiry, stored under the digest of a random id the browser echoes.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::login::digest;
use super::{App, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{
    CeremonyKind, CeremonyRecord, Duration, PasskeyRecord, Session, Subject, Timestamp, User,
};
use crate::metrics::{self, SignInMethod, SignInOutcome};
use crate::protocol::login::{self as rules, LoginPolicy, RemovalRefusal};
use crate::store::Reads;

/// How long a registration or sign-in ceremony may take between its two requests.
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
/// The longest name a passkey may have, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The most ceremonies in progress before an anonymous passkey sign-in start is refused: each
/// start stores a row, so however many addresses an attacker has, the table stays bounded (the
/// purge removes expired rows).
pub const MAX_CEREMONIES: u64 = 10_000;
/// How long a start refused by [`MAX_CEREMONIES`] is asked to wait, in seconds.
const FULL_RETRY_AFTER: u64 = 60;
/// The throttle's account for passkey sign-in starts (each stores a ceremony record).
const THROTTLE_ACCOUNT: &str = "passkey-sign-in";

/// The relying party: `rp_id` is the issuer's host and the one allowed origin is the issuer's.
/// `None` when the issuer's host cannot be an RP ID (an IP address): passkeys are then off.
pub fn relying_party(issuer: &str) -> Option<Arc<Webauthn>> {
    let url = Url::parse(issuer).ok()?;
    let rp_id = url.domain()?.to_owned();
    let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
    let built = WebauthnBuilder::new(&rp_id, &origin).and_then(|b| b.rp_name("Latchkey").build());
    match built {
        Ok(w) => Some(Arc::new(w)),
        Err(e) => {
            tracing::warn!(error = %e, rp_id, "passkeys are off: the issuer's host is not a WebAuthn RP ID");
            None
        }
    }
}

/// Why a passkey use case did not complete. The web layer words each one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyError {
    /// The issuer's host cannot be an RP ID, so passkeys are off.
    Off,
    /// No live ceremony of this kind under this id: unknown, expired or already used.
    NoCeremony,
    /// The ceremony belongs to another user or sign-in.
    WrongUser,
    /// The authenticator's answer did not verify (signature, challenge, origin, counter, user
    /// verification), or named a credential that is not registered to the right user.
    Refused,
    /// The credential is registered already.
    Duplicate,
    /// The passkey name is empty, too long or has control characters.
    InvalidName,
    /// No such passkey of this user.
    NotFound,
    /// Removing it weakens the account and the sign-in is not recent enough.
    NotFresh,
    /// The policy needs a second factor and this is the user's last one.
    LastRequiredFactor,
    /// Too many sign-in starts from this address; retry after this many seconds.
    Throttled(u64),
    /// The store or the randomness failed.
    Unavailable(ServiceError),
}

impl From<ServiceError> for PasskeyError {
    fn from(e: ServiceError) -> Self {
        PasskeyError::Unavailable(e)
    }
}

impl From<crate::store::StoreError> for PasskeyError {
    fn from(e: crate::store::StoreError) -> Self {
        PasskeyError::Unavailable(e.into())
    }
}

impl From<random::RngError> for PasskeyError {
    fn from(e: random::RngError) -> Self {
        PasskeyError::Unavailable(e.into())
    }
}

/// The state a ceremony record holds, by ceremony.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "ceremony", rename_all = "snake_case")]
enum State {
    Registration {
        state: PasskeyRegistration,
    },
    /// Passkey-first: any discoverable credential of any user.
    Discoverable {
        state: DiscoverableAuthentication,
    },
    /// A second factor: one of the known user's passkeys.
    SecondFactor {
        state: PasskeyAuthentication,
    },
}

/// A ceremony started: the id the browser sends back, and the options for
/// `navigator.credentials.create`/`get` (JSON as WebAuthn's JSON forms write them).
#[derive(Debug, Clone, Serialize)]
pub struct Started<T> {
    pub ceremony: String,
    pub options: T,
}

/// The WebAuthn user handle of a subject: the first 16 bytes of its SHA-256, as a UUID, so
/// that no extra mapping is stored and the handle says nothing about the user.
pub fn user_handle(subject: &Subject) -> Uuid {
    let hash = crypto::sha256(subject.as_str().as_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&hash[..16]);
    Uuid::from_bytes(first)
}

fn webauthn(app: &App) -> Result<&Webauthn, PasskeyError> {
    app.passkeys.as_deref().ok_or(PasskeyError::Off)
}

fn internal(what: &str, e: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Unavailable(ServiceError::Internal(format!("{what}: {e}")))
}

/// Stores a ceremony and returns the id the browser echoes.
async fn put_ceremony(
    app: &App,
    kind: CeremonyKind,
    subject: Option<Subject>,
    state: &State,
) -> Result<String, PasskeyError> {
    let id = random::token()?;
    let now = app.clock.now();
    let record = CeremonyRecord {
        kind,
        subject,
        state: serde_json::to_string(state).map_err(|e| internal("a ceremony's state", e))?,
        created_at: now,
        expires_at: now.plus(CEREMONY_LIFETIME),
    };
    let key = digest(&id);
    let store = app.store.clone();
    let anonymous = record.subject.is_none();
    let stored = blocking(move || {
        store.write(|tx| -> Result<bool, ServiceError> {
            // An anonymous start (passkey-first sign-in) is bounded in all, not only per address.
            if anonymous && tx.ceremony_count()? >= MAX_CEREMONIES {
                return Ok(false);
            }
            tx.put_ceremony(&key, &record)?;
            Ok(true)
        })
    })
    .await?;
    if !stored {
        return Err(PasskeyError::Throttled(FULL_RETRY_AFTER));
    }
    Ok(id)
}

/// Takes (reads and deletes: it works once) a live ceremony of `kind`, and its state.
async fn take_ceremony(
    app: &App,
    id: &str,
    kind: CeremonyKind,
) -> Result<(CeremonyRecord, State), PasskeyError> {
    let key = digest(id);
    let store = app.store.clone();
    let taken = blocking(move || Ok(store.write(|tx| tx.take_ceremony(&key))?)).await?;
    let now = app.clock.now();
    let record = taken
        .filter(|r| r.kind == kind && r.expires_at > now)
        .ok_or(PasskeyError::NoCeremony)?;
    let state = serde_json::from_str(&record.state).map_err(|_| PasskeyError::NoCeremony)?;
    Ok((record, state))
}

/// The stored credential of a record.
fn credential(record: &PasskeyRecord) -> Result<Passkey, PasskeyError> {
    serde_json::from_str(&record.credential).map_err(|e| internal("a stored passkey", e))
}

/// The backup flags of a credential (eligible, backed up), read from its serialised form since
/// the library keeps them private.
fn backup_flags(passkey: &Passkey) -> (bool, bool) {
    let value = serde_json::to_value(passkey).unwrap_or_default();
    let flag = |name: &str| value["cred"][name].as_bool().unwrap_or(false);
    (flag("backup_eligible"), flag("backup_state"))
}

/// A passkey name as given, trimmed, or why it is refused.
pub fn clean_name(name: &str) -> Result<String, PasskeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(PasskeyError::InvalidName);
    }
    Ok(name.to_owned())
}

/// Starts registering a passkey for `user`: a discoverable credential (resident key required,
/// so that it can sign in without a username), the user's own passkeys excluded.
pub async fn start_registration(app: &App, user: &User) -> Result<Started<serde_json::Value>, PasskeyError> {
    let webauthn = webauthn(app)?;
    let store = app.store.clone();
    let subject = user.subject.clone();
    let existing = blocking(move || Ok(store.read(|tx| tx.passkeys_of(&subject))?)).await?;
    let exclude = existing
        .iter()
        .filter_map(|r| crypto::b64url_decode(&r.credential_id))
        .collect::<Vec<_>>();
    let display = user.name.as_deref().unwrap_or(user.username.as_str());
    let (options, state) = webauthn
        .start_passkey_registration(
            user_handle(&user.subject),
            user.username.as_str(),
            display,
            Some(exclude),
        )
        .map_err(|e| internal("starting a registration", e))?;
    // The library asks for no resident key; passkey-first sign-in needs a discoverable one.
    let mut options = serde_json::to_value(&options).map_err(|e| internal("registration options", e))?;
    let selection = &mut options["publicKey"]["authenticatorSelection"];
    selection["residentKey"] = "required".into();
    selection["requireResidentKey"] = true.into();
    let ceremony = put_ceremony(
        app,
        CeremonyKind::PasskeyRegistration,
        Some(user.subject.clone()),
        &State::Registration { state },
    )
    .await?;
    Ok(Started { ceremony, options })
}

/// Checks the answer to a registration that `user` started, without storing anything but the
/// ceremony's use (it is used up whatever happens): the passkey record to store.
pub(crate) async fn verify_registration(
    app: &App,
    user: &User,
    ceremony: &str,
    name: &str,
    answer: &RegisterPublicKeyCredential,
) -> Result<PasskeyRecord, PasskeyError> {
    let webauthn = webauthn(app)?;
    let name = clean_name(name)?;
    let (record, state) = take_ceremony(app, ceremony, CeremonyKind::PasskeyRegistration).await?;
    if record.subject.as_ref() != Some(&user.subject) {
        return Err(PasskeyError::WrongUser);
    }
    let State::Registration { state } = state else {
        return Err(PasskeyError::NoCeremony);
    };
    let passkey = match webauthn.finish_passkey_registration(answer, &state) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = %e, subject = %user.subject, "a passkey registration did not verify");
            return Err(PasskeyError::Refused);
        }
    };
    let (backup_eligible, backup_state) = backup_flags(&passkey);
    let stored = PasskeyRecord {
        subject: user.subject.clone(),
        credential_id: crypto::b64url(passkey.cred_id()),
        name,
        credential: serde_json::to_string(&passkey).map_err(|e| internal("a new passkey", e))?,
        backup_eligible,
        backup_state,
        created_at: app.clock.now(),
        last_used_at: None,
    };
    Ok(stored)
}

/// Finishes a registration that `user` started: the ceremony is used up whatever happens; the
/// answer must verify; the credential must be new. Stores and returns the passkey.
pub async fn finish_registration(
    app: &App,
    user: &User,
    ceremony: &str,
    name: &str,
    answer: &RegisterPublicKeyCredential,
    ip: IpAddr,
) -> Result<PasskeyRecord, PasskeyError> {
    let stored = verify_registration(app, user, ceremony, name, answer).await?;
    let store = app.store.clone();
    let put = stored.clone();
    let added = blocking(move || {
        store.write(|tx| -> Result<bool, ServiceError> {
            if tx.passkey(&put.credential_id)?.is_some() {
                return Ok(false);
            }
            tx.put_passkey(&put)?;
            Ok(true)
        })
    })
    .await?;
    if !added {
        return Err(PasskeyError::Duplicate);
    }
    super::audit::note(
        app,
        user.username.as_str(),
        "passkey.register",
        Some(&stored.name),
        Some(ip),
        true,
    )
    .await;
    Ok(stored)
}

/// A passkey as the account page lists it: never the credential itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyView {
    pub credential_id: String,
    pub name: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A user's passkeys, oldest first.
pub async fn list(app: &App, subject: &Subject) -> Result<Vec<PasskeyView>, PasskeyError> {
    let store = app.store.clone();
    let subject = subject.clone();
    let mut out: Vec<PasskeyView> = blocking(move || Ok(store.read(|tx| tx.passkeys_of(&subject))?))
        .await?
        .into_iter()
        .map(|r| PasskeyView {
            credential_id: r.credential_id,
            name: r.name,
            backup_eligible: r.backup_eligible,
            backup_state: r.backup_state,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
        .collect();
    out.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
    Ok(out)
}

/// Renames one of `user`'s passkeys.
pub async fn rename(
    app: &App,
    user: &User,
    credential_id: &str,
    name: &str,
    ip: IpAddr,
) -> Result<(), PasskeyError> {
    let name = clean_name(name)?;
    let store = app.store.clone();
    let subject = user.subject.clone();
    let id = credential_id.to_owned();
    let new_name = name.clone();
    let found = blocking(move || {
        store.write(|tx| -> Result<bool, ServiceError> {
            let Some(mut record) = tx.passkey(&id)?.filter(|r| r.subject == subject) else {
                return Ok(false);
            };
            record.name = new_name.clone();
            tx.put_passkey(&record)?;
            Ok(true)
        })
    })
    .await?;
    if !found {
        return Err(PasskeyError::NotFound);
    }
    super::audit::note(
        app,
        user.username.as_str(),
        "passkey.rename",
        Some(&name),
        Some(ip),
        true,
    )
    .await;
    Ok(())
}

/// Removes one of `user`'s passkeys: the sign-in of `session` must be fresh
/// ([`rules::is_fresh`]) and the policy must allow the factors that remain
/// ([`rules::may_remove_factor`]).
pub async fn remove(
    app: &App,
    session: &Session,
    user: &User,
    policy: &LoginPolicy,
    credential_id: &str,
    ip: IpAddr,
) -> Result<(), PasskeyError> {
    if !rules::is_fresh(session.auth_time, app.clock.now()) {
        return Err(PasskeyError::NotFresh);
    }
    let store = app.store.clone();
    let owner = user.clone();
    let id = credential_id.to_owned();
    let policy = policy.clone();
    let removed = blocking(move || {
        store.write(|tx| -> Result<Result<String, PasskeyError>, ServiceError> {
            let Some(record) = tx.passkey(&id)?.filter(|r| r.subject == owner.subject) else {
                return Ok(Err(PasskeyError::NotFound));
            };
            let mut after = super::login::enrolled(tx, &owner.subject)?;
            after.passkeys = after.passkeys.saturating_sub(1);
            if let Err(RemovalRefusal::LastRequiredFactor) = rules::may_remove_factor(&owner, &after, &policy)
            {
                return Ok(Err(PasskeyError::LastRequiredFactor));
            }
            tx.delete_passkey(&id)?;
            Ok(Ok(record.name))
        })
    })
    .await?;
    let outcome = removed.as_ref().map(|_| ());
    let target = removed.as_ref().ok().map(String::as_str);
    super::audit::note(
        app,
        user.username.as_str(),
        "passkey.remove",
        target,
        Some(ip),
        outcome.is_ok(),
    )
    .await;
    removed.map(|_| ())
}

/// Starts a passkey-first sign-in: a challenge for any discoverable credential. Throttled per
/// address, since every start stores a record.
pub async fn start_sign_in(app: &App, ip: IpAddr) -> Result<Started<RequestChallengeResponse>, PasskeyError> {
    let webauthn = webauthn(app)?;
    let now = app.clock.now();
    app.upstream_throttle
        .begin(THROTTLE_ACCOUNT, ip, now)
        .map_err(|wait| {
            metrics::sign_in(SignInMethod::Passkey, SignInOutcome::Throttled);
            PasskeyError::Throttled(wait.0)
        })?
        .failed(now);
    let (options, state) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| internal("starting a passkey sign-in", e))?;
    let ceremony = put_ceremony(
        app,
        CeremonyKind::PasskeyAuthentication,
        None,
        &State::Discoverable { state },
    )
    .await?;
    Ok(Started { ceremony, options })
}

/// A passkey that signed a challenge: its user and what it proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub user: User,
    /// The authenticator may back the credential up (a synced passkey: `swk`, else `hwk`).
    pub synced: bool,
    /// The authenticator verified the user (PIN or biometrics).
    pub verified: bool,
}

/// Finishes a passkey-first sign-in: the ceremony is used up; the answer's user handle and
/// credential must name a registered passkey of an enabled user; the signature, the counter and
/// user verification must check. Updates the passkey's counter, backup flags and last use.
pub async fn finish_sign_in(
    app: &App,
    ceremony: &str,
    answer: &PublicKeyCredential,
    ip: IpAddr,
) -> Result<Proven, PasskeyError> {
    counted(verify_sign_in(app, ceremony, answer, ip).await)
}

/// Counts a passkey that did not prove who signs in (the successes are counted when the sign-in
/// goes on: [`super::login::begin`], [`super::login::complete_pending`]).
fn counted<T>(outcome: Result<T, PasskeyError>) -> Result<T, PasskeyError> {
    if let Err(PasskeyError::NoCeremony | PasskeyError::WrongUser | PasskeyError::Refused) = outcome {
        metrics::sign_in(SignInMethod::Passkey, SignInOutcome::Failure);
    }
    outcome
}

async fn verify_sign_in(
    app: &App,
    ceremony: &str,
    answer: &PublicKeyCredential,
    ip: IpAddr,
) -> Result<Proven, PasskeyError> {
    let webauthn = webauthn(app)?;
    let (record, state) = take_ceremony(app, ceremony, CeremonyKind::PasskeyAuthentication).await?;
    let (None, State::Discoverable { state }) = (record.subject, state) else {
        return Err(PasskeyError::NoCeremony);
    };
    let (handle, raw_id) = webauthn
        .identify_discoverable_authentication(answer)
        .map_err(|_| PasskeyError::Refused)?;
    let credential_id = crypto::b64url(raw_id);
    let store = app.store.clone();
    let id = credential_id.clone();
    let found = blocking(move || {
        store.read(|tx| -> Result<_, ServiceError> {
            let Some(record) = tx.passkey(&id)? else {
                return Ok(None);
            };
            Ok(tx.user(&record.subject)?.map(|u| (record, u)))
        })
    })
    .await?;
    let Some((stored, user)) = found.filter(|(r, u)| user_handle(&r.subject) == handle && !u.disabled) else {
        tracing::info!("a passkey sign-in named no registered passkey of an enabled user");
        return Err(PasskeyError::Refused);
    };
    let passkey = credential(&stored)?;
    let result = match webauthn.finish_discoverable_authentication_v2(answer, state, &passkey) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, subject = %user.subject, "a passkey sign-in did not verify");
            super::audit::note(
                app,
                user.username.as_str(),
                "login.failure",
                Some("passkey"),
                Some(ip),
                false,
            )
            .await;
            return Err(PasskeyError::Refused);
        }
    };
    record_use(app, stored, passkey, &result).await?;
    super::audit::note(app, user.username.as_str(), "login.passkey", None, Some(ip), true).await;
    Ok(Proven {
        user,
        synced: result.backup_eligible(),
        verified: result.user_verified(),
    })
}

/// Stores what a use of a passkey changed: counter, backup flags, last use.
async fn record_use(
    app: &App,
    mut stored: PasskeyRecord,
    mut passkey: Passkey,
    result: &webauthn_rs::prelude::AuthenticationResult,
) -> Result<(), PasskeyError> {
    passkey.update_credential(result);
    let (backup_eligible, backup_state) = backup_flags(&passkey);
    stored.credential = serde_json::to_string(&passkey).map_err(|e| internal("a used passkey", e))?;
    stored.backup_eligible = backup_eligible;
    stored.backup_state = backup_state;
    stored.last_used_at = Some(app.clock.now());
    let store = app.store.clone();
    blocking(move || Ok(store.write(|tx| tx.put_passkey(&stored))?)).await?;
    Ok(())
}

/// Starts a passkey as the second factor of `subject`'s sign-in: a challenge for their own
/// passkeys.
pub async fn start_second_factor(
    app: &App,
    subject: &Subject,
) -> Result<Started<RequestChallengeResponse>, PasskeyError> {
    let webauthn = webauthn(app)?;
    let store = app.store.clone();
    let owner = subject.clone();
    let records = blocking(move || Ok(store.read(|tx| tx.passkeys_of(&owner))?)).await?;
    let passkeys = records.iter().map(credential).collect::<Result<Vec<_>, _>>()?;
    if passkeys.is_empty() {
        return Err(PasskeyError::NotFound);
    }
    let (options, state) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|e| internal("starting a second-factor passkey", e))?;
    let ceremony = put_ceremony(
        app,
        CeremonyKind::PasskeyAuthentication,
        Some(subject.clone()),
        &State::SecondFactor { state },
    )
    .await?;
    Ok(Started { ceremony, options })
}

/// Finishes a passkey as the second factor of `subject`'s sign-in; returns whether the passkey
/// is synced (`swk`) or not (`hwk`). Updates the passkey like [`finish_sign_in`].
pub async fn finish_second_factor(
    app: &App,
    subject: &Subject,
    ceremony: &str,
    answer: &PublicKeyCredential,
) -> Result<bool, PasskeyError> {
    counted(verify_second_factor(app, subject, ceremony, answer).await)
}

async fn verify_second_factor(
    app: &App,
    subject: &Subject,
    ceremony: &str,
    answer: &PublicKeyCredential,
) -> Result<bool, PasskeyError> {
    let webauthn = webauthn(app)?;
    let (record, state) = take_ceremony(app, ceremony, CeremonyKind::PasskeyAuthentication).await?;
    if record.subject.as_ref() != Some(subject) {
        return Err(PasskeyError::WrongUser);
    }
    let State::SecondFactor { state } = state else {
        return Err(PasskeyError::NoCeremony);
    };
    let result = match webauthn.finish_passkey_authentication(answer, &state) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, subject = %subject, "a second-factor passkey did not verify");
            return Err(PasskeyError::Refused);
        }
    };
    let id = crypto::b64url(result.cred_id());
    let store = app.store.clone();
    let stored = blocking(move || Ok(store.read(|tx: &dyn Reads| tx.passkey(&id))?))
        .await?
        .filter(|r| &r.subject == subject)
        .ok_or(PasskeyError::Refused)?;
    let passkey = credential(&stored)?;
    record_use(app, stored, passkey, &result).await?;
    Ok(result.backup_eligible())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_handle_is_stable_and_differs_between_subjects() {
        let a = Subject::from_string("subject-a".into());
        let b = Subject::from_string("subject-b".into());
        assert_eq!(user_handle(&a), user_handle(&a));
        assert_ne!(user_handle(&a), user_handle(&b));
    }

    #[test]
    fn the_relying_party_needs_a_host_name() {
        assert!(relying_party("https://id.example.test").is_some());
        assert!(relying_party("http://localhost:8080").is_some());
        assert!(relying_party("http://127.0.0.1:8080").is_none());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Phone "), Ok("Phone".to_owned()));
        assert_eq!(clean_name("   "), Err(PasskeyError::InvalidName));
        assert_eq!(clean_name("a\nb"), Err(PasskeyError::InvalidName));
        assert_eq!(clean_name(&"x".repeat(65)), Err(PasskeyError::InvalidName));
    }
}
