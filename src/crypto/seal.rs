//! Sealing small secrets at rest (a TOTP seed) with AES-256-GCM under a server key: a random
//! 96-bit nonce per seal, and associated data that binds the sealed value to its owner, so a
//! sealed value copied to another record does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::{b64url, b64url_decode, random};

/// Why a value could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Random(#[from] random::RngError),
    #[error("the sealing key was refused")]
    Key,
}

fn key(bytes: &[u8; 32]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Key)
}

/// Seals `plain` under `key_bytes`, bound to `owner`: base64url of the nonce, the ciphertext and
/// the tag.
pub fn seal(key_bytes: &[u8; 32], owner: &[u8], plain: &[u8]) -> Result<String, SealError> {
    let nonce = random::bytes::<NONCE_LEN>()?;
    let mut data = plain.to_vec();
    key(key_bytes)?
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(owner), &mut data)
        .map_err(|_| SealError::Key)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    Ok(b64url(&out))
}

/// Opens a value [`seal`] made for `owner`; `None` when it does not verify.
pub fn open(key_bytes: &[u8; 32], owner: &[u8], sealed: &str) -> Option<Vec<u8>> {
    let bytes = b64url_decode(sealed)?;
    let (nonce, data) = bytes.split_at_checked(NONCE_LEN)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = data.to_vec();
    let plain = key(key_bytes)
        .ok()?
        .open_in_place(nonce, Aad::from(owner), &mut data)
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_for_its_owner_only_and_not_under_another_key() {
        let k = [7u8; 32];
        let sealed = seal(&k, b"alice", b"seed bytes").unwrap();
        assert_eq!(open(&k, b"alice", &sealed).as_deref(), Some(&b"seed bytes"[..]));
        assert_eq!(open(&k, b"bob", &sealed), None);
        assert_eq!(open(&[8u8; 32], b"alice", &sealed), None);
        assert_ne!(
            seal(&k, b"alice", b"seed bytes").unwrap(),
            sealed,
            "a fresh nonce each time"
        );
        assert_eq!(open(&k, b"alice", "short"), None);
    }
}
