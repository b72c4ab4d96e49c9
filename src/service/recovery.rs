//! Recovery codes: ten single-use codes of 80 random bits (`xxxx-xxxx-xxxx-xxxx`, base32), shown
//! once and stored only as SHA-256 digests; using one at sign-in is throttled like a TOTP code,
//! removes it, and is audited with how many remain. New codes replace all earlier ones.

use std::net::IpAddr;

use super::login::{FactorError, digest};
use super::{App, ServiceError, blocking};
use crate::crypto::{self, random};
use crate::domain::{RecoveryCodesRecord, Session, User};
use crate::metrics::{self, SignInMethod, SignInOutcome};
use crate::protocol::login::is_fresh;

/// How many codes a set has.
pub const COUNT: usize = 10;
/// The letters of a code (RFC 4648 base32, lower case).
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A code from 10 random bytes: 16 base32 letters in four groups.
fn format_code(bytes: &[u8; 10]) -> String {
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(*b);
    }
    let mut out = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let shift = 5 * (15 - i);
        let index = ((bits >> shift) & 31) as usize;
        out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'a')));
    }
    out
}

/// A code as typed, without case, spaces or dashes: what its digest is taken of.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn code_digest(code: &str) -> String {
    digest(&normalise(code))
}

/// Why new codes were not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerateError {
    /// The user has codes already and the session's sign-in is too old to replace them.
    NotFresh,
    Service(ServiceError),
}

impl From<ServiceError> for GenerateError {
    fn from(e: ServiceError) -> Self {
        GenerateError::Service(e)
    }
}

/// Makes a new set of [`COUNT`] codes for the signed-in `user`, replacing any earlier set, and
/// returns them (the only time they are ever shown). Replacing a set needs a fresh sign-in.
pub async fn generate(
    app: &App,
    session: &Session,
    user: &User,
    ip: IpAddr,
) -> Result<Vec<String>, GenerateError> {
    let now = app.clock.now();
    let mut codes = Vec::with_capacity(COUNT);
    for _ in 0..COUNT {
        codes.push(format_code(&random::bytes::<10>().map_err(ServiceError::from)?));
    }
    let digests: Vec<String> = codes.iter().map(|c| code_digest(c)).collect();
    let fresh = is_fresh(session.auth_time, now);
    let store = app.store.clone();
    let subject = user.subject.clone();
    let replaced = blocking(move || {
        store.write(|tx| {
            let existing = tx.recovery_codes(&subject)?.is_some();
            if existing && !fresh {
                return Ok(Err(GenerateError::NotFresh));
            }
            tx.put_recovery_codes(&RecoveryCodesRecord {
                subject: subject.clone(),
                digests: digests.clone(),
                created_at: now,
            })?;
            Ok::<_, ServiceError>(Ok(existing))
        })
    })
    .await??;
    let target = if replaced { "replaced" } else { "first set" };
    super::audit::note(
        app,
        user.username.as_str(),
        "recovery.generate",
        Some(target),
        Some(ip),
        true,
    )
    .await;
    Ok(codes)
}

/// How many unused codes `user` has.
pub async fn remaining(app: &App, user: &User) -> Result<usize, ServiceError> {
    let store = app.store.clone();
    let subject = user.subject.clone();
    blocking(move || {
        Ok(store
            .read(|tx| tx.recovery_codes(&subject))?
            .map_or(0, |r| r.digests.len()))
    })
    .await
}

/// Uses one of `user`'s codes at sign-in: throttled per account and address; a match is removed
/// in the same transaction (so it works once even when two requests race). Returns how many
/// codes remain.
pub async fn redeem(app: &App, user: &User, code: &str, ip: IpAddr) -> Result<usize, FactorError> {
    let attempt = app
        .factor_throttle
        .begin(&super::totp::account(user), ip, app.clock.now())
        .map_err(|retry| {
            metrics::sign_in(SignInMethod::Recovery, SignInOutcome::Throttled);
            FactorError::Throttled(retry)
        })?;
    let wanted = code_digest(code);
    let store = app.store.clone();
    let subject = user.subject.clone();
    let outcome = blocking(move || {
        store.write(|tx| {
            let Some(mut record) = tx.recovery_codes(&subject)? else {
                return Ok(None);
            };
            // Every digest is compared, in time that does not depend on which one matches.
            let mut found = None;
            for (i, d) in record.digests.iter().enumerate() {
                if crypto::constant_time_eq(d.as_bytes(), wanted.as_bytes()) && found.is_none() {
                    found = Some(i);
                }
            }
            let Some(i) = found else {
                return Ok(None);
            };
            record.digests.remove(i);
            let left = record.digests.len();
            tx.put_recovery_codes(&record)?;
            Ok::<_, ServiceError>(Some(left))
        })
    })
    .await?;
    let actor = user.username.as_str();
    match outcome {
        Some(left) => {
            attempt.succeeded(app.clock.now());
            let target = format!("{left} remaining");
            super::audit::note(app, actor, "login.recovery_code", Some(&target), Some(ip), true).await;
            Ok(left)
        }
        None => {
            attempt.failed(app.clock.now());
            metrics::sign_in(SignInMethod::Recovery, SignInOutcome::Failure);
            super::audit::note(
                app,
                actor,
                "login.recovery_code",
                Some("wrong code"),
                Some(ip),
                false,
            )
            .await;
            Err(FactorError::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_sixteen_base32_letters_in_four_groups_and_reads_back_without_case_or_dashes() {
        let code = format_code(&[0xff; 10]);
        assert_eq!(code, "7777-7777-7777-7777");
        assert_eq!(format_code(&[0; 10]), "aaaa-aaaa-aaaa-aaaa");
        let code = format_code(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(code.len(), 19);
        assert_eq!(
            code_digest(&code),
            code_digest(&code.to_uppercase().replace('-', " "))
        );
        assert_ne!(code_digest(&code), code_digest("aaaa-aaaa-aaaa-aaaa"));
    }
}
