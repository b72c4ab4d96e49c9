//! Validating lists of addresses and networks (`trusted_proxies`, `[outbound] allow_networks`).

use std::net::IpAddr;

use ipnet::IpNet;
use toml::Spanned;

use super::validate::Validator;

impl Validator<'_> {
    /// `trusted_proxies`: addresses (`192.0.2.7`) or networks in CIDR form (`10.0.0.0/8`).
    pub(super) fn trusted_proxies(&mut self, raw: &[Spanned<String>]) -> Vec<IpNet> {
        self.networks("trusted_proxies", raw)
    }

    /// A list of networks in CIDR form (`10.0.0.0/8`) or single addresses, under `key`.
    pub(super) fn networks(&mut self, key: &str, raw: &[Spanned<String>]) -> Vec<IpNet> {
        let mut out = Vec::new();
        for entry in raw {
            let text = entry.get_ref().trim();
            let parsed = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from));
            match parsed {
                Ok(net) => out.push(net.trunc()),
                Err(_) => self.problem(
                    key,
                    Some(entry),
                    format!(
                        "`{}` is not an address or a network such as 10.0.0.0/8 or ::1/128",
                        text.escape_debug()
                    ),
                ),
            }
        }
        out
    }
}
