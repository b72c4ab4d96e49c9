//! Validating `[metrics]`: `enabled`, the `networks` that may scrape `/metrics`, and the bearer
//! token, read from a file that others cannot read (`token_file`) or from the environment
//! (`token_env`), never written in the configuration itself.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ipnet::IpNet;

use super::raw::RawMetrics;
use super::validate::Validator;
use super::{Clients, MetricsConfig, resolve};

/// The default `networks`: loopback only.
pub(super) fn loopback() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}

impl Validator<'_> {
    pub(super) fn metrics(&mut self, raw: &RawMetrics, base: Option<&Path>) -> MetricsConfig {
        let networks = match &raw.networks {
            Some(list) => self.networks("metrics.networks", list),
            None => loopback(),
        };
        let token = match (&raw.token_file, &raw.token_env) {
            (Some(_), Some(e)) => {
                self.problem(
                    "metrics.token_env",
                    Some(e),
                    "name the token once: token_file or token_env",
                );
                None
            }
            // Administrative commands do not serve /metrics: the token is not read for them.
            _ if self.clients == Clients::Skip => None,
            (Some(f), None) => {
                let path = resolve(base, f.get_ref());
                let mode = std::fs::metadata(&path).map(|m| m.permissions().mode());
                match (mode, std::fs::read_to_string(&path)) {
                    (Ok(mode), Ok(_)) if mode & 0o007 != 0 => {
                        self.problem(
                            "metrics.token_file",
                            Some(f),
                            format!(
                                "{} can be read by others (mode {:o}): chmod 600 it",
                                path.display(),
                                mode & 0o777
                            ),
                        );
                        None
                    }
                    (_, Ok(s)) => Some(s.trim_end_matches(['\n', '\r']).to_owned()),
                    (_, Err(e)) => {
                        self.problem(
                            "metrics.token_file",
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
                    self.problem(
                        "metrics.token_env",
                        Some(e),
                        format!("the environment variable {} is not set", e.get_ref()),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        if let Some(t) = &token
            && (t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            let at = raw.token_file.as_ref().or(raw.token_env.as_ref());
            let key = if raw.token_file.is_some() {
                "metrics.token_file"
            } else {
                "metrics.token_env"
            };
            self.problem(
                key,
                at,
                "the token must be at least 16 characters, without spaces or control characters",
            );
        }
        MetricsConfig {
            enabled: raw.enabled.unwrap_or(true),
            networks,
            token,
        }
    }
}
