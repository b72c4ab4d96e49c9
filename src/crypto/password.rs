//! Password hashing with argon2id. These functions block for about 20 ms each: callers run them on
//! a blocking thread behind a concurrency limit.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// A PHC string for a password nobody knows, verified when the username is unknown so that both
/// cases cost one hash.
const DUMMY_HASH_INPUT: &[u8] = b"latchkey-dummy-password-for-timing";

/// Hashes `password` with argon2id (m=19456 KiB, t=2, p=1) and a random salt.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Whether `password` matches the PHC string `stored`. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when there is no user, so that an unknown user costs the same as a
/// wrong password.
pub fn dummy_hash() -> String {
    hash(std::str::from_utf8(DUMMY_HASH_INPUT).unwrap_or("x")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery staple", &h));
        assert!(!verify("correct horse battery stapl", &h));
        assert!(!verify("", &h));
        assert!(!verify("x", "not a phc string"));
    }
}
