//! Compact JWS (RFC 7515) with Ed25519 (`EdDSA`, RFC 8037): signing, and strict verification
//! that refuses `alg: none` and every algorithm the key does not have.

use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{b64url, b64url_decode, keys};
use crate::domain::SigningKeyRecord;

/// The longest token accepted for verification.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Why a JWS was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a compact JWS")]
    Malformed,
    #[error("the token is too long")]
    Oversized,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token names an unknown key")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token has the wrong type")]
    Type,
    #[error("the signing key is unusable")]
    Key,
}

/// Signs `claims` with `key`, with header `typ` (for example `at+jwt` or `JWT`).
pub fn sign(key: &SigningKeyRecord, typ: &str, claims: &impl Serialize) -> Result<String, JwtError> {
    let header = serde_json::json!({ "alg": key.alg, "kid": key.kid, "typ": typ });
    let header = serde_json::to_vec(&header).map_err(|_| JwtError::Malformed)?;
    let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Malformed)?;
    let signing_input = format!("{}.{}", b64url(&header), b64url(&payload));
    let signature = keys::sign(key, signing_input.as_bytes()).ok_or(JwtError::Key)?;
    Ok(format!("{signing_input}.{}", b64url(&signature)))
}

/// Verifies a token against `keys` (found by `kid`) and returns its claims. `typ`, when given,
/// must match the header's `typ` exactly.
pub fn verify(
    token: &str,
    keys: &[SigningKeyRecord],
    typ: Option<&str>,
) -> Result<Map<String, Value>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Oversized);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed);
    };
    let header: Map<String, Value> = b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)?;
    match header.get("alg").and_then(Value::as_str) {
        Some("EdDSA" | "Ed25519") => {}
        _ => return Err(JwtError::Algorithm),
    }
    if let Some(expected) = typ
        && header.get("typ").and_then(Value::as_str) != Some(expected)
    {
        return Err(JwtError::Type);
    }
    if header.contains_key("crit") {
        return Err(JwtError::Malformed);
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JwtError::UnknownKey)?;
    let record = keys.iter().find(|k| k.kid == kid).ok_or(JwtError::UnknownKey)?;
    let public: VerifyingKey = keys::signing_key(record).ok_or(JwtError::Key)?.verifying_key();
    let sig_bytes: [u8; 64] = b64url_decode(s)
        .and_then(|b| b.try_into().ok())
        .ok_or(JwtError::Malformed)?;
    let signature = Signature::from_bytes(&sig_bytes);
    let signing_input = &token[..h.len() + 1 + p.len()];
    public
        .verify_strict(signing_input.as_bytes(), &signature)
        .map_err(|_| JwtError::Signature)?;
    b64url_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    fn key() -> SigningKeyRecord {
        keys::generate(Timestamp(1)).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_and_returns_its_claims() {
        let k = key();
        let t = sign(&k, "at+jwt", &serde_json::json!({"sub": "u", "n": 1})).unwrap();
        let claims = verify(&t, std::slice::from_ref(&k), Some("at+jwt")).unwrap();
        assert_eq!(claims["sub"], "u");
        assert_eq!(
            verify(&t, std::slice::from_ref(&k), Some("JWT")),
            Err(JwtError::Type)
        );
    }

    #[test]
    fn alg_none_other_algorithms_unknown_keys_and_tampering_are_refused() {
        let k = key();
        let t = sign(&k, "JWT", &serde_json::json!({"sub": "u"})).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let forge = |header: Value| {
            format!(
                "{}.{}.{}",
                b64url(header.to_string().as_bytes()),
                parts[1],
                parts[2]
            )
        };
        let ks = std::slice::from_ref(&k);
        assert_eq!(
            verify(&forge(serde_json::json!({"alg": "none", "kid": k.kid})), ks, None),
            Err(JwtError::Algorithm)
        );
        assert_eq!(
            verify(
                &forge(serde_json::json!({"alg": "HS256", "kid": k.kid})),
                ks,
                None
            ),
            Err(JwtError::Algorithm)
        );
        assert_eq!(
            verify(
                &forge(serde_json::json!({"alg": "EdDSA", "kid": "nope"})),
                ks,
                None
            ),
            Err(JwtError::UnknownKey)
        );
        let unsigned = format!("{}.{}.", parts[0], parts[1]);
        assert_eq!(verify(&unsigned, ks, None), Err(JwtError::Malformed));
        let tampered = format!("{}.{}.{}", parts[0], b64url(br#"{"sub":"admin"}"#), parts[2]);
        assert_eq!(verify(&tampered, ks, None), Err(JwtError::Signature));
        assert_eq!(verify(&t, &[key()], None), Err(JwtError::UnknownKey));
        assert_eq!(verify("a.b", ks, None), Err(JwtError::Malformed));
        assert_eq!(verify("!!.??.**", ks, None), Err(JwtError::Malformed));
        assert_eq!(
            verify(&"a".repeat(MAX_TOKEN_LEN + 1), ks, None),
            Err(JwtError::Oversized)
        );
        assert_eq!(verify(&t[..t.len() - 3], ks, None), Err(JwtError::Malformed));
    }
}
