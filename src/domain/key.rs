//! Signing keys as stored.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// One signing key pair. The private half never leaves the store except to sign.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    /// RFC 7638 JWK thumbprint of the public key.
    pub kid: String,
    /// JOSE algorithm name, `EdDSA` for Ed25519.
    pub alg: String,
    /// The private key: the 32-byte Ed25519 seed.
    pub private: Vec<u8>,
    pub created_at: Timestamp,
    /// When a newer key replaced this one as the signer; `None` for the active key.
    pub superseded_at: Option<Timestamp>,
    /// After this moment the public key is no longer published.
    pub retire_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("superseded_at", &self.superseded_at)
            .field("retire_at", &self.retire_at)
            .finish()
    }
}
