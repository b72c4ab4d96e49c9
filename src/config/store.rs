//! Validating `[store]`: the engine (`kind`), the redb file's `path`, or the PostgreSQL database:
//! its `url` (or `url_file`/`url_env`, so that the password stays out of this file), `schema`,
//! `pool_size` and `tls_ca_file`. `LATCHKEY_STORE_URL` overrides the URL and picks PostgreSQL.

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::RawStore;
use super::secret::{FileMode, SecretKeys};
use super::validate::Validator;
use super::{Overrides, StoreConfig, resolve};
use crate::store::PostgresOptions;

/// The schema Latchkey's tables go in unless `schema` names another.
pub const DEFAULT_SCHEMA: &str = "latchkey";
/// Connections per node unless `pool_size` says otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 16;

impl Validator<'_> {
    pub(super) fn store(
        &mut self,
        raw: &RawStore,
        base: Option<&Path>,
        overrides: &Overrides,
    ) -> StoreConfig {
        let kind = raw.kind.as_ref().map(|k| k.get_ref().as_str());
        let postgres = match (kind, &overrides.store_url) {
            (_, Some(_)) => true,
            (None | Some("redb"), None) => false,
            (Some("postgres"), None) => true,
            (Some(other), None) => {
                self.problem(
                    "store.kind",
                    raw.kind.as_ref(),
                    format!("`{other}` is not a store kind: use \"redb\" or \"postgres\""),
                );
                false
            }
        };
        if !postgres {
            for (key, at) in [
                ("store.url", raw.url.as_ref()),
                ("store.url_file", raw.url_file.as_ref()),
                ("store.url_env", raw.url_env.as_ref()),
                ("store.schema", raw.schema.as_ref()),
                ("store.tls_ca_file", raw.tls_ca_file.as_ref()),
            ] {
                if let Some(at) = at {
                    self.problem(key, Some(at), "is for kind = \"postgres\"");
                }
            }
            return StoreConfig::Redb;
        }
        if let Some(at) = &raw.path {
            self.problem("store.path", Some(at), "is for kind = \"redb\"");
        }
        let url = match &overrides.store_url {
            Some(url) => Some(url.clone()),
            None => {
                let named = [raw.url_file.is_some(), raw.url_env.is_some()];
                match (&raw.url, named) {
                    (Some(at), [false, false]) => Some(at.get_ref().clone()),
                    (Some(at), _) => {
                        self.problem(
                            "store.url",
                            Some(at),
                            "name the URL once: url, url_file or url_env",
                        );
                        None
                    }
                    (None, [false, false]) => {
                        self.problem(
                            "store.url",
                            raw.kind.as_ref(),
                            "kind = \"postgres\" needs the database: url, url_file or url_env (or LATCHKEY_STORE_URL)",
                        );
                        None
                    }
                    (None, _) => {
                        let keys = SecretKeys {
                            file_key: "store.url_file",
                            file: raw.url_file.as_ref(),
                            env_key: "store.url_env",
                            env: raw.url_env.as_ref(),
                        };
                        self.secret(keys, base, FileMode::Private)
                    }
                }
            }
        };
        if let Some(u) = &url
            && !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
        {
            // The value is a secret: the problem never repeats it.
            let at = raw
                .url
                .as_ref()
                .or(raw.url_file.as_ref())
                .or(raw.url_env.as_ref());
            self.problem("store.url", at, "must be a postgres:// or postgresql:// URL");
        }
        let schema = match (&overrides.store_schema, &raw.schema) {
            (Some(s), _) => s.clone(),
            (None, Some(s)) => s.get_ref().clone(),
            (None, None) => DEFAULT_SCHEMA.to_owned(),
        };
        if !crate::store::valid_schema(&schema) {
            self.problem(
                "store.schema",
                raw.schema.as_ref(),
                format!("`{schema}` must be lower-case letters, digits and `_`, not starting with a digit, at most 63 bytes"),
            );
        }
        let pool_size = match &raw.pool_size {
            Some(n) if (1..=1000).contains(n.get_ref()) => {
                u32::try_from(*n.get_ref()).unwrap_or(DEFAULT_POOL_SIZE)
            }
            Some(n) => {
                self.problem("store.pool_size", Some(n), "must be between 1 and 1000");
                DEFAULT_POOL_SIZE
            }
            None => DEFAULT_POOL_SIZE,
        };
        let tls_ca_file = raw
            .tls_ca_file
            .as_ref()
            .map(|f| self.readable_file("store.tls_ca_file", f, base));
        StoreConfig::Postgres(PostgresOptions {
            url: url.unwrap_or_default(),
            schema,
            pool_size,
            tls_ca_file,
        })
    }

    fn readable_file(&mut self, key: &str, at: &Spanned<String>, base: Option<&Path>) -> PathBuf {
        let path = resolve(base, at.get_ref());
        if let Err(e) = std::fs::metadata(&path) {
            self.problem(key, Some(at), format!("cannot read {}: {e}", path.display()));
        }
        path
    }
}
