//! Password hashing with argon2id. These functions block for about 20 ms each: callers run them on
//! a blocking thread behind a concurrency limit.

use std::cell::RefCell;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Hashes `password` with argon2id (m=19456 KiB, t=2, p=1) and a random salt.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

thread_local! {
    /// argon2's working memory (19 MiB at the default cost), kept by each hashing thread and
    /// reused. Allocated afresh for every hash, glibc kept several such buffers resident per thread
    /// (a benchmark measured 20 MB more per login, up to 138 MB).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The most memory a stored hash may ask for (argon2's `m`, in KiB): 64 MiB, above what this
/// server ever writes (19 MiB), so that a damaged or hostile record cannot make it allocate more.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// Whether `password` matches the PHC string `stored`, with argon2's verification (the same
/// parameters, salt and algorithm recomputed, outputs compared in constant time) computed in this
/// thread's reused memory. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm.as_str()),
    ) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    let computed = MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        memory.get_mut(..blocks).is_some_and(|m| {
            argon
                .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, m)
                .is_ok()
        })
    });
    computed && super::constant_time_eq(&out, expected.as_bytes())
}

/// A hash to verify against when there is no user, so that an unknown user costs the same as a
/// wrong password: a PHC string with the parameters [`hash`] writes, a random salt and a random
/// output, so that verifying against it costs one argon2 run and no password matches it. It is
/// made without hashing (no 19 MiB allocation, no 20 ms at start). An error (the OS RNG failed) is
/// the caller's to refuse, never an empty hash.
pub fn dummy_hash() -> Result<String, String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
    let salt = super::random::bytes::<16>().map_err(|e| e.to_string())?;
    let output = super::random::bytes::<32>().map_err(|e| e.to_string())?;
    let params = Params::default();
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        B64.encode(salt),
        B64.encode(output)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_phc_string_at_the_cost_of_a_real_one() {
        let dummy = dummy_hash().unwrap();
        let real = hash("correct horse battery staple").unwrap();
        let params = |h: &str| h.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(&dummy), "$argon2id$v=19$m=19456,t=2,p=1");
        assert_eq!(params(&dummy), params(&real));
        assert_eq!(dummy.len(), real.len(), "{dummy}");
        assert!(PasswordHash::new(&dummy).is_ok(), "{dummy}");
        assert!(!verify("", &dummy) && !verify("correct horse battery staple", &dummy));
        assert_ne!(dummy, dummy_hash().unwrap(), "each process draws its own");
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery staple", &h));
        assert!(!verify("correct horse battery stapl", &h));
        assert!(!verify("", &h));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn hashes_with_other_parameters_and_variants_verify_too() {
        for (alg, m, t) in [
            (Algorithm::Argon2id, 8192, 1),
            (Algorithm::Argon2i, 4096, 3),
            (Algorithm::Argon2d, 19456, 2),
        ] {
            let params = Params::new(m, t, 1, None).unwrap();
            let h = Argon2::new(alg, Version::V0x13, params)
                .hash_password(b"pw-123456789")
                .unwrap()
                .to_string();
            assert!(verify("pw-123456789", &h), "{h}");
            assert!(!verify("pw-12345678", &h), "{h}");
        }
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_never_matches() {
        let params = Params::new(MAX_MEMORY_KIB + 1, 1, 1, None).unwrap();
        let salt = "c2FsdHNhbHRzYWx0";
        let fake = format!(
            "$argon2id$v=19$m={},t=1,p=1${salt}$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            params.m_cost()
        );
        assert!(!verify("x", &fake));
    }
}
