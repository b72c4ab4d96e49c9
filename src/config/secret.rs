//! A secret the configuration names but does not hold: read from a file (`*_file`, relative to
//! the configuration's folder) or from an environment variable (`*_env`), never both.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use toml::Spanned;

use super::resolve;
use super::validate::Validator;

/// The two keys that may name one secret, with their values as written.
pub(super) struct SecretKeys<'a> {
    pub(super) file_key: &'a str,
    pub(super) file: Option<&'a Spanned<String>>,
    pub(super) env_key: &'a str,
    pub(super) env: Option<&'a Spanned<String>>,
}

/// Whether a secret's file may be readable by others.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FileMode {
    /// Refused when others can read it (the mode has any of `0o007`).
    Private,
    Any,
}

impl Validator<'_> {
    /// The secret, with a file's trailing line ending trimmed; `None` when neither key is set,
    /// or after a problem is recorded (both keys set, the file unreadable or readable by others
    /// under [`FileMode::Private`], the variable unset).
    pub(super) fn secret(
        &mut self,
        keys: SecretKeys<'_>,
        base: Option<&Path>,
        mode: FileMode,
    ) -> Option<String> {
        match (keys.file, keys.env) {
            (Some(_), Some(e)) => {
                let message = format!(
                    "name the secret once: {} or {}",
                    short(keys.file_key),
                    short(keys.env_key)
                );
                self.problem(keys.env_key, Some(e), message);
                None
            }
            (Some(f), None) => {
                let path = resolve(base, f.get_ref());
                let bits = std::fs::metadata(&path).map(|m| m.permissions().mode());
                match (bits, std::fs::read_to_string(&path)) {
                    (Ok(bits), Ok(_)) if mode == FileMode::Private && bits & 0o007 != 0 => {
                        let message = format!(
                            "{} can be read by others (mode {:o}): chmod 600 it",
                            path.display(),
                            bits & 0o777
                        );
                        self.problem(keys.file_key, Some(f), message);
                        None
                    }
                    (_, Ok(s)) => Some(s.trim_end_matches(['\n', '\r']).to_owned()),
                    (_, Err(e)) => {
                        self.problem(
                            keys.file_key,
                            Some(f),
                            format!("cannot read {}: {e}", path.display()),
                        );
                        None
                    }
                }
            }
            (None, Some(e)) => match std::env::var(e.get_ref()) {
                Ok(s) => Some(s),
                Err(_) => {
                    let message = format!("the environment variable {} is not set", e.get_ref());
                    self.problem(keys.env_key, Some(e), message);
                    None
                }
            },
            (None, None) => None,
        }
    }
}

/// The last part of a dotted key (`token_file` of `metrics.token_file`).
fn short(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}
