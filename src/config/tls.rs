//! Validating the `[tls]` table: both PEM files named and, for `serve`, loadable as a matching
//! certificate and key.

use std::path::Path;

use toml::Spanned;

use super::raw::RawTls;
use super::validate::Validator;
use super::{Clients, resolve};
use crate::tls::{self, TlsFiles, TlsKey};

impl Validator<'_> {
    /// The `[tls]` table: both files named and, unless this is an administrative command, both
    /// readable and a matching certificate and key.
    pub(super) fn tls(&mut self, raw: &Spanned<RawTls>, base: Option<&Path>) -> Option<TlsFiles> {
        let t = raw.get_ref();
        let (Some(certificate), Some(key)) = (&t.certificate, &t.key) else {
            let missing = if t.certificate.is_none() {
                "tls.certificate"
            } else {
                "tls.key"
            };
            self.problem(
                missing,
                Some(raw),
                "[tls] needs both `certificate` and `key` (PEM files)",
            );
            return None;
        };
        let found = TlsFiles {
            certificate: resolve(base, certificate.get_ref()),
            key: resolve(base, key.get_ref()),
        };
        if self.clients == Clients::Validate
            && let Err(e) = tls::load(&found)
        {
            let at = match e.key {
                TlsKey::Certificate => certificate,
                TlsKey::Key => key,
            };
            self.problem(e.key.name(), Some(at), e.message);
            return None;
        }
        Some(found)
    }
}
