//! Ed25519 signing keys, their RFC 7638 thumbprints and the JWK Set.

use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;

use super::{b64url, random, sha256};
use crate::domain::{SigningKeyRecord, Timestamp};

pub const ALG_EDDSA: &str = "EdDSA";

/// A public key as a JWK (RFC 8037).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
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

/// A key record's signing key; `None` when the stored bytes are not a 32-byte seed.
pub fn signing_key(record: &SigningKeyRecord) -> Option<SigningKey> {
    let seed: [u8; 32] = record.private.as_slice().try_into().ok()?;
    Some(SigningKey::from_bytes(&seed))
}

/// The public JWK of a key record.
pub fn public_jwk(record: &SigningKeyRecord) -> Option<Jwk> {
    let key = signing_key(record)?;
    Some(Jwk {
        kty: "OKP".to_owned(),
        crv: "Ed25519".to_owned(),
        x: b64url(key.verifying_key().as_bytes()),
        kid: record.kid.clone(),
        alg: record.alg.clone(),
        use_: "sig".to_owned(),
    })
}

/// Signs `message` with a key record's private key.
pub fn sign(record: &SigningKeyRecord, message: &[u8]) -> Option<[u8; 64]> {
    Some(signing_key(record)?.sign(message).to_bytes())
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
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_str()), ("OKP", "Ed25519"));
        assert_eq!(jwk.kid, record.kid);
        let json = serde_json::to_string(&jwk).unwrap();
        assert!(!json.contains(&crate::crypto::b64url(&record.private)));
        assert!(!format!("{record:?}").contains(&format!("{:?}", record.private)));
    }
}
