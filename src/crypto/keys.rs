//! Signing keys (Ed25519, and RSA for relying parties that need RS256), their RFC 7638
//! thumbprints and the JWK Set.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;

use super::{b64url, random, sha256};
use crate::domain::{SigningKeyRecord, Timestamp};

pub const ALG_EDDSA: &str = "EdDSA";
/// The fully specified RFC 9864 name of Ed25519 signatures: the same key, the same signature.
pub const ALG_ED25519: &str = "Ed25519";
pub const ALG_RS256: &str = "RS256";

/// A public key as a JWK: `OKP`/`Ed25519` (RFC 8037) or `RSA` (RFC 7518).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

/// A JWK Set (RFC 7517 section 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// Creates a new Ed25519 key record, active from `now`.
pub fn generate(now: Timestamp) -> Result<SigningKeyRecord, random::RngError> {
    let seed = random::bytes::<32>()?;
    let signing = SigningKey::from_bytes(&seed);
    Ok(SigningKeyRecord {
        kid: thumbprint(signing.verifying_key().as_bytes()),
        alg: ALG_EDDSA.to_owned(),
        private: seed.to_vec(),
        created_at: now,
        superseded_at: None,
        retire_at: None,
    })
}

/// The RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over the JSON object with the
/// required members `crv`, `kty`, `x` in lexicographic order and no whitespace.
pub fn thumbprint(public: &[u8; 32]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64url(public));
    b64url(&sha256(canonical.as_bytes()))
}

/// Creates a new 2048-bit RSA key record for RS256, active from `now`. Takes a moment.
pub fn generate_rsa(now: Timestamp) -> Option<SigningKeyRecord> {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).ok()?;
    let der = pair.as_der().ok()?;
    let (n, e) = rsa_public(&pair);
    Some(SigningKeyRecord {
        kid: rsa_thumbprint(&n, &e),
        alg: ALG_RS256.to_owned(),
        private: der.as_ref().to_vec(),
        created_at: now,
        superseded_at: None,
        retire_at: None,
    })
}

fn rsa_public(pair: &aws_lc_rs::rsa::KeyPair) -> (String, String) {
    let public = pair.public_key();
    (
        b64url(public.modulus().big_endian_without_leading_zero()),
        b64url(public.exponent().big_endian_without_leading_zero()),
    )
}

/// The RFC 7638 thumbprint of an RSA public key (`e`, `kty`, `n` in order).
fn rsa_thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    b64url(&sha256(canonical.as_bytes()))
}

/// Parsed keys by kid, so that signing and verifying do not expand an Ed25519 seed (a scalar
/// multiplication, as dear as the signature itself) or parse an RSA key (milliseconds) on every
/// token. An entry is used only if the record's private bytes are the ones it was made from.
/// There are only a few keys; the cache is emptied if it ever holds more than [`CACHED_KEYS`].
struct Parsed {
    ed25519: HashMap<String, SigningKey>,
    rsa: HashMap<String, ([u8; 32], Arc<aws_lc_rs::rsa::KeyPair>)>,
}

const CACHED_KEYS: usize = 64;

static PARSED: LazyLock<Mutex<Parsed>> = LazyLock::new(|| {
    Mutex::new(Parsed {
        ed25519: HashMap::new(),
        rsa: HashMap::new(),
    })
});

fn rsa_pair(record: &SigningKeyRecord) -> Option<Arc<aws_lc_rs::rsa::KeyPair>> {
    let fingerprint = sha256(&record.private);
    if let Ok(parsed) = PARSED.lock()
        && let Some((f, pair)) = parsed.rsa.get(&record.kid)
        && *f == fingerprint
    {
        return Some(Arc::clone(pair));
    }
    let pair = Arc::new(aws_lc_rs::rsa::KeyPair::from_pkcs8(&record.private).ok()?);
    if let Ok(mut parsed) = PARSED.lock() {
        if parsed.rsa.len() >= CACHED_KEYS {
            parsed.rsa.clear();
        }
        parsed
            .rsa
            .insert(record.kid.clone(), (fingerprint, Arc::clone(&pair)));
    }
    Some(pair)
}

/// A key record's Ed25519 signing key; `None` for other keys or damaged bytes.
pub fn signing_key(record: &SigningKeyRecord) -> Option<SigningKey> {
    if record.alg != ALG_EDDSA {
        return None;
    }
    let seed: [u8; 32] = record.private.as_slice().try_into().ok()?;
    if let Ok(parsed) = PARSED.lock()
        && let Some(key) = parsed.ed25519.get(&record.kid)
        && key.to_bytes() == seed
    {
        return Some(key.clone());
    }
    let key = SigningKey::from_bytes(&seed);
    if let Ok(mut parsed) = PARSED.lock() {
        if parsed.ed25519.len() >= CACHED_KEYS {
            parsed.ed25519.clear();
        }
        parsed.ed25519.insert(record.kid.clone(), key.clone());
    }
    Some(key)
}

/// The public JWK of a key record.
pub fn public_jwk(record: &SigningKeyRecord) -> Option<Jwk> {
    let (kty, crv, x, n, e) = if record.alg == ALG_RS256 {
        let (n, e) = rsa_public(rsa_pair(record)?.as_ref());
        ("RSA", None, None, Some(n), Some(e))
    } else {
        let key = signing_key(record)?;
        let x = b64url(key.verifying_key().as_bytes());
        ("OKP", Some("Ed25519".to_owned()), Some(x), None, None)
    };
    Some(Jwk {
        kty: kty.to_owned(),
        crv,
        x,
        n,
        e,
        kid: record.kid.clone(),
        alg: record.alg.clone(),
        use_: "sig".to_owned(),
    })
}

/// The JWKs that publish a key record: an Ed25519 key once per name of its signatures (`EdDSA`
/// and `Ed25519`, with the same `kid`), so that a library that matches a token's `kid` and `alg`
/// against the keys' finds it under either name; an RSA key once.
pub fn published_jwks(record: &SigningKeyRecord) -> Vec<Jwk> {
    let Some(jwk) = public_jwk(record) else {
        return Vec::new();
    };
    if record.alg == ALG_EDDSA {
        let fully_specified = Jwk {
            alg: ALG_ED25519.to_owned(),
            ..jwk.clone()
        };
        vec![jwk, fully_specified]
    } else {
        vec![jwk]
    }
}

/// Signs `message` with a key record's private key (Ed25519, or RSASSA-PKCS1-v1_5 SHA-256).
pub fn sign(record: &SigningKeyRecord, message: &[u8]) -> Option<Vec<u8>> {
    if record.alg == ALG_RS256 {
        let pair = rsa_pair(record)?;
        let mut sig = vec![0u8; pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .ok()?;
        return Some(sig);
    }
    Some(signing_key(record)?.sign(message).to_bytes().to_vec())
}

/// Verifies a signature made by [`sign`].
pub fn verify(record: &SigningKeyRecord, message: &[u8], signature: &[u8]) -> bool {
    if record.alg == ALG_RS256 {
        let Some(pair) = rsa_pair(record) else {
            return false;
        };
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            pair.public_key().as_ref(),
        );
        return key.verify(message, signature).is_ok();
    }
    let (Some(key), Ok(sig)) = (signing_key(record), <[u8; 64]>::try_from(signature)) else {
        return false;
    };
    key.verifying_key()
        .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_example_key_has_the_published_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of the example Ed25519 public key.
        let x = crate::crypto::b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        let x: [u8; 32] = x.try_into().unwrap();
        assert_eq!(thumbprint(&x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn generated_keys_publish_their_public_half_only() {
        let record = generate(Timestamp(1)).unwrap();
        let jwk = public_jwk(&record).unwrap();
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_deref()), ("OKP", Some("Ed25519")));
        assert_eq!(jwk.kid, record.kid);
        let json = serde_json::to_string(&jwk).unwrap();
        assert!(!json.contains(&crate::crypto::b64url(&record.private)));
        assert!(!format!("{record:?}").contains(&format!("{:?}", record.private)));
    }

    /// The keys a strict library picks for a token header: same `kid`, and the same `alg` (a key
    /// without one is no match, as the strictest matchers have it).
    fn strict_match<'a>(keys: &'a [Jwk], kid: &str, alg: &str) -> Vec<&'a Jwk> {
        keys.iter().filter(|k| k.kid == kid && k.alg == alg).collect()
    }

    #[test]
    fn an_ed25519_key_is_published_once_per_name_so_strict_matchers_find_it_for_either() {
        let record = generate(Timestamp(1)).unwrap();
        let published = published_jwks(&record);
        for alg in [ALG_EDDSA, ALG_ED25519] {
            let found = strict_match(&published, &record.kid, alg);
            assert_eq!(found.len(), 1, "exactly one key for {alg}: {published:?}");
            assert_eq!(found[0].x, public_jwk(&record).unwrap().x, "the same public key");
            assert_eq!(
                (found[0].kty.as_str(), found[0].crv.as_deref()),
                ("OKP", Some("Ed25519"))
            );
        }
        let rsa = generate_rsa(Timestamp(1)).unwrap();
        let published = published_jwks(&rsa);
        assert_eq!(published.len(), 1);
        assert_eq!(strict_match(&published, &rsa.kid, ALG_RS256).len(), 1);
    }

    #[test]
    fn rsa_keys_sign_verify_and_publish_n_and_e() {
        let record = generate_rsa(Timestamp(1)).unwrap();
        let jwk = public_jwk(&record).unwrap();
        assert_eq!(
            (jwk.kty.as_str(), jwk.alg.as_str(), jwk.e.as_deref()),
            ("RSA", "RS256", Some("AQAB"))
        );
        assert!(
            crate::crypto::b64url_decode(jwk.n.as_deref().unwrap())
                .unwrap()
                .len()
                >= 256
        );
        let sig = sign(&record, b"hello").unwrap();
        assert!(verify(&record, b"hello", &sig));
        assert!(!verify(&record, b"hellO", &sig));
    }
}
