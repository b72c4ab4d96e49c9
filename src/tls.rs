//! Built-in TLS: the PEM certificate chain and key named in `[tls]`, served with rustls and
//! reloaded when the files change, so that a renewed certificate needs no restart.
//!
//! A watcher looks at both files every [`POLL`]; once a change has held still for one look
//! (so that a half-written pair is not read), it loads the pair and, if the certificate and key
//! are valid and match, swaps it in for new connections. A bad pair is logged as a warning and
//! the certificate in use stays. This module knows rustls, not the HTTP server: `web::tls` wraps
//! the server configuration made here in the acceptor that the web layer serves from.

use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject as _};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

use crate::crypto;

/// The PEM files named in `[tls]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How often the certificate and key files are looked at.
pub const POLL: Duration = Duration::from_secs(2);
/// The largest certificate or key file read (a chain is a few KiB).
const MAX_FILE: u64 = 1024 * 1024;

/// Which of the two `[tls]` keys a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsKey {
    Certificate,
    Key,
}

impl TlsKey {
    /// The configuration key, as `identity.toml` spells it.
    pub fn name(self) -> &'static str {
        match self {
            TlsKey::Certificate => "tls.certificate",
            TlsKey::Key => "tls.key",
        }
    }
}

/// Why a certificate and key pair cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}`: {message}", key.name())]
pub struct TlsError {
    pub key: TlsKey,
    pub message: String,
}

fn problem(key: TlsKey, message: impl Into<String>) -> TlsError {
    TlsError {
        key,
        message: message.into(),
    }
}

fn provider() -> CryptoProvider {
    ring::default_provider()
}

fn read(path: &Path, key: TlsKey) -> Result<Vec<u8>, TlsError> {
    let cannot = |e: io::Error| problem(key, format!("cannot read {}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(cannot)?.len();
    if size > MAX_FILE {
        return Err(problem(
            key,
            format!("{} is larger than {MAX_FILE} bytes", path.display()),
        ));
    }
    std::fs::read(path).map_err(cannot)
}

/// Reads and checks a certificate chain and its private key: both PEM, the key one that
/// rustls can sign with, and the key the certificate's.
pub fn load(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read(&files.certificate, TlsKey::Certificate)?;
    let key_pem = read(&files.key, TlsKey::Key)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            problem(
                TlsKey::Certificate,
                format!(
                    "{} is not a PEM certificate chain: {e}",
                    files.certificate.display()
                ),
            )
        })?;
    if chain.is_empty() {
        return Err(problem(
            TlsKey::Certificate,
            format!("{} holds no CERTIFICATE block", files.certificate.display()),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        let why = match e {
            pem::Error::NoItemsFound => "holds no PRIVATE KEY block (PKCS#8, PKCS#1 or SEC1)".to_owned(),
            other => format!("is not a PEM private key: {other}"),
        };
        problem(TlsKey::Key, format!("{} {why}", files.key.display()))
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => problem(
            TlsKey::Key,
            format!(
                "{} is not the key of the certificate in {}",
                files.key.display(),
                files.certificate.display()
            ),
        ),
        other => problem(
            TlsKey::Key,
            format!("{} cannot be used: {other}", files.key.display()),
        ),
    })
}

/// The SHA-256 fingerprint of the leaf certificate, base64url, for the log.
fn fingerprint(key: &CertifiedKey) -> String {
    key.cert
        .first()
        .map(|c| crypto::b64url(&crypto::sha256(c.as_ref())))
        .unwrap_or_default()
}

/// The certificate handed to every new handshake; replaced in place on reload.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|k| Arc::clone(&k))
    }
}

/// What identifies one version of a file: inode, size, modification and change times.
type Stamp = Option<(u64, u64, i64, i64, i64, i64)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path).ok().map(|m| {
        (
            m.ino(),
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
        )
    })
}

fn stamps(files: &TlsFiles) -> (Stamp, Stamp) {
    (stamp(&files.certificate), stamp(&files.key))
}

/// Watches the files and swaps in each new valid pair; runs until the process ends.
async fn watch(files: TlsFiles, current: Arc<Current>, mut tried: (Stamp, Stamp)) {
    let mut seen = tried;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let look = files.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || stamps(&look)).await else {
            continue;
        };
        if now != seen {
            // Changed since the last look: wait until it holds still.
            seen = now;
            continue;
        }
        if now == tried {
            continue;
        }
        tried = now;
        let pair = files.clone();
        match tokio::task::spawn_blocking(move || load(&pair)).await {
            Ok(Ok(key)) => {
                let print = fingerprint(&key);
                match current.0.write() {
                    Ok(mut slot) => {
                        *slot = Arc::new(key);
                        tracing::info!(fingerprint = %print, "TLS certificate reloaded");
                    }
                    Err(_) => tracing::error!("cannot replace the TLS certificate: its lock is poisoned"),
                }
            }
            Ok(Err(e)) => tracing::warn!(
                key = e.key.name(),
                problem = %e.message,
                "the changed TLS files cannot be used; still serving the previous certificate"
            ),
            Err(e) => tracing::warn!(error = %e, "reloading the TLS files failed"),
        }
    }
}

/// Loads the certificate and key of `files` into a rustls server configuration (HTTP/2 and
/// HTTP/1.1 by ALPN), and starts watching the files: a changed valid pair is swapped in for new
/// handshakes. Call it inside the tokio runtime.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let initial = stamps(files);
    let key = load(files)?;
    tracing::info!(fingerprint = %fingerprint(&key), "TLS certificate loaded");
    let current = Arc::new(Current(RwLock::new(Arc::new(key))));
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| problem(TlsKey::Key, format!("cannot set up TLS: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(current.clone());
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio::spawn(watch(files.clone(), current, initial));
    Ok(Arc::new(config))
}
