//! Validating `[metrics]`: `enabled`, the `networks` that may scrape `/metrics`, and the bearer
//! token, read from a file that others cannot read (`token_file`) or from the environment
//! (`token_env`), never written in the configuration itself.

use std::path::Path;

use ipnet::IpNet;

use super::raw::RawMetrics;
use super::secret::{FileMode, SecretKeys};
use super::validate::Validator;
use super::{Clients, MetricsConfig};

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
        // Administrative commands do not serve /metrics: the token is not read for them.
        let token = match self.clients {
            Clients::Skip => None,
            _ => {
                let keys = SecretKeys {
                    file_key: "metrics.token_file",
                    file: raw.token_file.as_ref(),
                    env_key: "metrics.token_env",
                    env: raw.token_env.as_ref(),
                };
                self.secret(keys, base, FileMode::Private)
            }
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
