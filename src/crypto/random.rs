//! Random values from the operating system.

use super::b64url;

/// Why the OS random source failed; treated as fatal by callers.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RngError(String);

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], RngError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| RngError(e.to_string()))?;
    Ok(buf)
}

/// A random token of 256 bits, base64url-encoded (43 characters).
pub fn token() -> Result<String, RngError> {
    Ok(b64url(&bytes::<32>()?))
}

/// A random opaque subject identifier of 128 bits (22 characters).
pub fn subject() -> Result<String, RngError> {
    Ok(b64url(&bytes::<16>()?))
}
