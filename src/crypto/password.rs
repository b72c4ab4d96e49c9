//! Password hashing with argon2id. These functions block for about 20 ms each at the default cost:
//! callers run them on a blocking thread behind a concurrency limit.

use std::cell::RefCell;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The most memory a hash may ask for (argon2's `m`, in KiB): 64 MiB. The configuration refuses a
/// higher `[password_policy] argon2.m`, and a stored hash asking for more never matches, so that a
/// damaged or hostile record cannot make the server allocate more.
pub const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// The most lanes (argon2's `p`) the configuration accepts. The lanes run one after another here
/// (the crate's `parallel` feature is off), so more of them buy nothing but a rarer PHC string.
pub const MAX_LANES: u32 = 16;

/// OWASP's minimum argon2id costs (Password Storage Cheat Sheet), as (m in KiB, t): each line is
/// as strong as the others. A cost under the line for its `t` is weaker than OWASP recommends.
pub const OWASP_MINIMUMS: [(u32, u32); 5] = [(47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5)];

/// The cost of an argon2id hash: memory `m` in KiB, `t` iterations, `p` lanes. What
/// `[password_policy] argon2` configures; every new hash is made with it, and a stored hash made
/// with another is replaced at the next successful sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    pub m: u32,
    pub t: u32,
    pub p: u32,
}

impl Argon2Cost {
    /// argon2 0.6's `Argon2::default()`: m=19456 KiB (19 MiB), t=2, p=1, OWASP's recommendation.
    pub const DEFAULT: Argon2Cost = Argon2Cost {
        m: Params::DEFAULT_M_COST,
        t: Params::DEFAULT_T_COST,
        p: Params::DEFAULT_P_COST,
    };

    /// The cost as argon2's parameters, or argon2's own refusal (`m` under 8 KiB per lane, `t`
    /// zero, `p` zero or too many).
    pub fn params(&self) -> Result<Params, argon2::Error> {
        Params::new(self.m, self.t, self.p, None)
    }

    /// Whether the cost is at least OWASP's minimum for its number of iterations (`t` of 5 or
    /// more counts as 5).
    pub fn meets_owasp(&self) -> bool {
        let floor = OWASP_MINIMUMS
            .iter()
            .find(|(_, t)| *t == self.t.min(5))
            .map_or(u32::MAX, |(m, _)| *m);
        self.m >= floor
    }
}

impl Default for Argon2Cost {
    fn default() -> Self {
        Argon2Cost::DEFAULT
    }
}

impl std::fmt::Display for Argon2Cost {
    /// `m=19456,t=2,p=1`, as in a PHC string.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "m={},t={},p={}", self.m, self.t, self.p)
    }
}

/// Hashes `password` with argon2id v19 at `cost` and a random salt.
pub fn hash(password: &str, cost: Argon2Cost) -> Result<String, String> {
    let params = cost
        .params()
        .map_err(|e| format!("invalid argon2 parameters {cost}: {e}"))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Whether the PHC string `stored` was made otherwise than [`hash`] makes one at `cost`: another
/// algorithm (argon2i, argon2d, ...), another version, other parameters, or no parameters it can
/// read. Such a hash is replaced after the next successful sign-in.
pub fn needs_rehash(stored: &str, cost: Argon2Cost) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    let version = parsed.version.map(Version::try_from);
    parsed.algorithm.as_str() != Algorithm::Argon2id.as_str()
        || !matches!(version, None | Some(Ok(Version::V0x13)))
        || (params.m_cost(), params.t_cost(), params.p_cost()) != (cost.m, cost.t, cost.p)
}

thread_local! {
    /// argon2's working memory (19 MiB at the default cost), kept by each hashing thread and
    /// reused. Allocated afresh for every hash, glibc kept several such buffers resident per thread
    /// (a benchmark measured 20 MB more per login, up to 138 MB).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

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
/// wrong password: a PHC string with the parameters [`hash`] writes at `cost`, a random salt and a
/// random output, so that verifying against it costs one argon2 run and no password matches it.
/// It is made without hashing (no 19 MiB allocation, no 20 ms at start). An error (the OS RNG
/// failed) is the caller's to refuse, never an empty hash.
pub fn dummy_hash(cost: Argon2Cost) -> Result<String, String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
    let salt = super::random::bytes::<16>().map_err(|e| e.to_string())?;
    let output = super::random::bytes::<32>().map_err(|e| e.to_string())?;
    Ok(format!(
        "$argon2id$v=19${cost}${}${}",
        B64.encode(salt),
        B64.encode(output)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_phc_string_at_the_cost_of_a_real_one() {
        let dummy = dummy_hash(Argon2Cost::DEFAULT).unwrap();
        let real = hash("correct horse battery staple", Argon2Cost::DEFAULT).unwrap();
        let params = |h: &str| h.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(&dummy), "$argon2id$v=19$m=19456,t=2,p=1");
        assert_eq!(params(&dummy), params(&real));
        assert_eq!(dummy.len(), real.len(), "{dummy}");
        assert!(PasswordHash::new(&dummy).is_ok(), "{dummy}");
        assert!(!verify("", &dummy) && !verify("correct horse battery staple", &dummy));
        assert_ne!(
            dummy,
            dummy_hash(Argon2Cost::DEFAULT).unwrap(),
            "each process draws its own"
        );
        let cheap = Argon2Cost { m: 8192, t: 1, p: 1 };
        let dummy = dummy_hash(cheap).unwrap();
        assert!(dummy.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{dummy}");
        assert!(!needs_rehash(&dummy, cheap) && needs_rehash(&dummy, Argon2Cost::DEFAULT));
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = hash("correct horse battery staple", Argon2Cost::default()).unwrap();
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

    #[test]
    fn the_default_cost_is_argon2s_default_and_owasps_recommendation() {
        let ours = Argon2Cost::DEFAULT.params().unwrap();
        let theirs = Params::default();
        assert_eq!(
            (ours.m_cost(), ours.t_cost(), ours.p_cost()),
            (theirs.m_cost(), theirs.t_cost(), theirs.p_cost())
        );
        assert_eq!(Argon2Cost::DEFAULT.to_string(), "m=19456,t=2,p=1");
        assert!(Argon2Cost::DEFAULT.meets_owasp());
    }

    #[test]
    fn a_hash_is_made_at_the_cost_it_is_given_and_verifies_at_it() {
        let cost = Argon2Cost { m: 8192, t: 3, p: 2 };
        let h = hash("pw-123456789", cost).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=8192,t=3,p=2$"), "{h}");
        assert!(verify("pw-123456789", &h) && !verify("pw-12345678", &h));
        assert!(!needs_rehash(&h, cost));
        assert!(
            hash("x", Argon2Cost { m: 8, t: 1, p: 2 }).is_err(),
            "under 8 KiB per lane"
        );
        assert!(hash("x", Argon2Cost { m: 8192, t: 0, p: 1 }).is_err());
    }

    #[test]
    fn a_hash_needs_rehashing_when_anything_but_its_salt_and_output_differs() {
        let cost = Argon2Cost { m: 8192, t: 1, p: 1 };
        let h = hash("pw-123456789", cost).unwrap();
        assert!(!needs_rehash(&h, cost));
        for other in [
            Argon2Cost { m: 8193, ..cost },
            Argon2Cost { t: 2, ..cost },
            Argon2Cost { p: 2, ..cost },
            Argon2Cost::DEFAULT,
        ] {
            assert!(needs_rehash(&h, other), "{other}");
        }
        let params = cost.params().unwrap();
        for (alg, version) in [
            (Algorithm::Argon2i, Version::V0x13),
            (Algorithm::Argon2d, Version::V0x13),
            (Algorithm::Argon2id, Version::V0x10),
        ] {
            let h = Argon2::new(alg, version, params.clone())
                .hash_password(b"pw-123456789")
                .unwrap()
                .to_string();
            assert!(verify("pw-123456789", &h), "{h}");
            assert!(needs_rehash(&h, cost), "{h}");
        }
        assert!(needs_rehash("not a phc string", cost));
    }

    #[test]
    fn owasps_table_is_the_floor_for_each_number_of_iterations() {
        for (m, t) in OWASP_MINIMUMS {
            assert!(Argon2Cost { m, t, p: 1 }.meets_owasp(), "m={m},t={t}");
            assert!(
                !Argon2Cost { m: m - 1, t, p: 1 }.meets_owasp(),
                "m={},t={t}",
                m - 1
            );
        }
        assert!(Argon2Cost { m: 7168, t: 9, p: 1 }.meets_owasp());
        assert!(!Argon2Cost { m: 8192, t: 1, p: 1 }.meets_owasp());
        assert!(!Argon2Cost { m: 65536, t: 0, p: 1 }.meets_owasp());
    }
}
