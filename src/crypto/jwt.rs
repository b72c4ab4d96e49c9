//! Compact JWS (RFC 7515) with Ed25519 (`EdDSA`, RFC 8037): signing, and strict verification
//! that refuses `alg: none` and every algorithm the key does not have.

use serde::Serialize;
use serde::de::DeserializeOwned;
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
    sign_as(key, &key.alg, typ, claims)
}

/// Like [`sign`], naming the algorithm `alg` in the header: `Ed25519` is the RFC 9864 name of
/// the signature an `EdDSA` key makes.
pub fn sign_as(
    key: &SigningKeyRecord,
    alg: &str,
    typ: &str,
    claims: &impl Serialize,
) -> Result<String, JwtError> {
    if !alg_fits(alg, &key.alg) {
        return Err(JwtError::Algorithm);
    }
    let header = serde_json::json!({ "alg": alg, "kid": key.kid, "typ": typ });
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
    verify_as(token, keys, typ)
}

/// Like [`verify`], reading the claims straight into `T` (a payload that does not fit `T` is
/// [`JwtError::Malformed`]).
pub fn verify_as<T: DeserializeOwned>(
    token: &str,
    keys: &[SigningKeyRecord],
    typ: Option<&str>,
) -> Result<T, JwtError> {
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
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Algorithm)?;
    if !matches!(alg, "EdDSA" | "Ed25519" | "RS256") {
        return Err(JwtError::Algorithm);
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
    if !alg_fits(alg, &record.alg) {
        return Err(JwtError::Algorithm);
    }
    let signature = b64url_decode(s)
        .filter(|b| !b.is_empty())
        .ok_or(JwtError::Malformed)?;
    if record.alg == keys::ALG_EDDSA && signature.len() != 64 {
        return Err(JwtError::Malformed);
    }
    let signing_input = &token[..h.len() + 1 + p.len()];
    if !keys::verify(record, signing_input.as_bytes(), &signature) {
        return Err(JwtError::Signature);
    }
    b64url_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(JwtError::Malformed)
}

/// Whether a header `alg` names the signature a key of algorithm `key_alg` makes.
fn alg_fits(alg: &str, key_alg: &str) -> bool {
    match key_alg {
        keys::ALG_EDDSA => alg == "EdDSA" || alg == "Ed25519",
        keys::ALG_RS256 => alg == "RS256",
        _ => false,
    }
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
        let rs = forge(serde_json::json!({"alg": "RS256", "kid": k.kid}));
        assert_eq!(
            verify(&rs, ks, None),
            Err(JwtError::Algorithm),
            "an Ed25519 key never verifies RS256"
        );
    }

    #[test]
    fn rs256_tokens_verify_and_the_ed25519_name_is_accepted() {
        let rsa = keys::generate_rsa(Timestamp(1)).unwrap();
        let t = sign(&rsa, "JWT", &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(verify(&t, std::slice::from_ref(&rsa), None).unwrap()["a"], 1);
        let ed = key();
        let t = sign_as(&ed, "Ed25519", "JWT", &serde_json::json!({"a": 2})).unwrap();
        let header = b64url_decode(t.split('.').next().unwrap()).unwrap();
        assert!(String::from_utf8(header).unwrap().contains(r#""alg":"Ed25519""#));
        assert_eq!(verify(&t, std::slice::from_ref(&ed), None).unwrap()["a"], 2);
        assert_eq!(sign_as(&ed, "RS256", "JWT", &1), Err(JwtError::Algorithm));
    }
}
