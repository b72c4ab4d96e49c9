//! TOTP codes (RFC 6238): HMAC-SHA-1, six digits, 30-second steps, one step of tolerance each
//! side, and a code accepted only for a step later than the last one accepted (RFC 6238 section
//! 5.2: a code works once). Pure: the seed, the code and the time come in as parameters.

use totp_rs::{Algorithm, Builder, Totp};

use crate::domain::Timestamp;

/// The length of a time step, in seconds.
pub const STEP: u64 = 30;
/// How many digits a code has.
pub const DIGITS: u8 = 6;
/// How many steps before and after the current one a code may be for.
pub const WINDOW: u8 = 1;
/// The length of a seed, in bytes (160 bits, as RFC 4226 section 4 recommends).
pub const SEED_LEN: usize = 20;

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpRefusal {
    /// The code is not the one for any step of the window (or is not six digits).
    Wrong,
    /// The code is right, for a step a code was already accepted for (or an earlier one).
    Replayed,
}

fn generator(seed: &[u8], digits: u8, label: Option<(&str, &str)>) -> Totp {
    let mut builder = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(u16::from(WINDOW))
        .with_step_duration(STEP)
        .with_secret(seed.to_vec());
    if let Some((issuer, account)) = label {
        builder = builder.with_issuer(Some(issuer)).with_account_name(account);
    }
    builder.build_noncompliant()
}

/// The code of `seed` at `time` (seconds since the epoch), with `digits` digits.
pub fn code_at(seed: &[u8], time: u64, digits: u8) -> String {
    generator(seed, digits, None).generate(time).to_string()
}

/// Checks `code` against `seed` at `now`, a code for a step after `last_step` only. Returns the
/// step the code is for, which the caller stores as the new `last_step`. Spaces in the code are
/// ignored (apps show `123 456`).
pub fn check(seed: &[u8], code: &str, now: Timestamp, last_step: u64) -> Result<u64, TotpRefusal> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpRefusal::Wrong);
    }
    let totp = generator(seed, DIGITS, None);
    let current = now.0 / STEP;
    // Every step of the window is computed and compared, the later ones first, so that a code
    // for a step not yet used wins over a replay and the work does not depend on the code.
    let mut found = None;
    for step in (current.saturating_sub(u64::from(WINDOW))..=current + u64::from(WINDOW)).rev() {
        let expected = totp.generate(step * STEP).to_string();
        if crate::crypto::constant_time_eq(expected.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    match found {
        Some(step) if step > last_step => Ok(step),
        Some(_) => Err(TotpRefusal::Replayed),
        None => Err(TotpRefusal::Wrong),
    }
}

/// The `otpauth://` URI an authenticator app reads from the QR code: `issuer` (the server's
/// host) and the username label it, the seed is in it. `None` when a label has a `:`.
pub fn otpauth_uri(seed: &[u8], issuer: &str, account: &str) -> Option<String> {
    if issuer.contains(':') || account.contains(':') {
        return None;
    }
    generator(seed, DIGITS, Some((issuer, account))).to_url().ok()
}

/// The seed in base32 (RFC 4648, no padding), as a user types it into an app.
pub fn seed_base32(seed: &[u8]) -> String {
    totp_rs::Secret::from(seed.to_vec()).to_base32()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn the_rfc_6238_appendix_b_sha1_vectors_give_their_eight_digit_codes() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, code) in vectors {
            assert_eq!(code_at(RFC_SEED, time, 8), code, "T = {time}");
        }
    }

    #[test]
    fn a_six_digit_code_is_the_last_six_digits_of_the_rfc_vector() {
        // Truncation keeps the low digits: 94287082 -> 287082.
        assert_eq!(code_at(RFC_SEED, 59, 6), "287082");
        assert_eq!(
            check(RFC_SEED, "287082", Timestamp(59), 0),
            Ok(1),
            "T = 59 is step 1"
        );
    }

    #[test]
    fn a_code_one_step_off_is_accepted_and_two_steps_off_refused() {
        let now = Timestamp(1_111_111_111);
        let step = now.0 / STEP;
        let at = |s: u64| code_at(RFC_SEED, s * STEP, 6);
        assert_eq!(check(RFC_SEED, &at(step - 1), now, 0), Ok(step - 1));
        assert_eq!(check(RFC_SEED, &at(step + 1), now, 0), Ok(step + 1));
        assert_eq!(check(RFC_SEED, &at(step - 2), now, 0), Err(TotpRefusal::Wrong));
        assert_eq!(check(RFC_SEED, &at(step + 2), now, 0), Err(TotpRefusal::Wrong));
    }

    #[test]
    fn a_code_for_a_step_already_used_or_earlier_is_a_replay() {
        let now = Timestamp(1_234_567_890);
        let step = now.0 / STEP;
        let code = code_at(RFC_SEED, now.0, 6);
        assert_eq!(check(RFC_SEED, &code, now, step), Err(TotpRefusal::Replayed));
        assert_eq!(check(RFC_SEED, &code, now, step + 1), Err(TotpRefusal::Replayed));
        assert_eq!(check(RFC_SEED, &code, now, step - 1), Ok(step));
    }

    #[test]
    fn codes_that_are_not_six_digits_are_wrong_and_spaces_are_ignored() {
        let now = Timestamp(2_000_000_000);
        let code = code_at(RFC_SEED, now.0, 6);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(check(RFC_SEED, &spaced, now, 0).is_ok());
        for bad in ["", "12345", "1234567", "+12345", "abcdef"] {
            assert_eq!(check(RFC_SEED, bad, now, 0), Err(TotpRefusal::Wrong), "{bad:?}");
        }
    }

    #[test]
    fn the_otpauth_uri_carries_issuer_account_and_base32_seed() {
        let uri = otpauth_uri(RFC_SEED, "id.example.test", "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/id.example.test:alice?"), "{uri}");
        assert!(
            uri.contains(&format!("secret={}", seed_base32(RFC_SEED))),
            "{uri}"
        );
        assert_eq!(seed_base32(RFC_SEED), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(otpauth_uri(RFC_SEED, "host:8080", "alice"), None);
    }
}
