//! Which addresses the server may call (back-channel logout, upstream providers): never loopback,
//! link-local, private, unspecified or other special-purpose addresses unless the operator allows
//! their network in `[outbound] allow_networks`. The same rule serves registration (for address
//! literals and `localhost` names) and delivery (for every address a name resolves to).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The kind of address an outbound request is refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressClass {
    Unspecified,
    Loopback,
    Private,
    LinkLocal,
    /// Shared address space (100.64.0.0/10, carrier-grade NAT).
    Shared,
    Multicast,
    /// Broadcast, documentation, benchmarking and other reserved ranges.
    Reserved,
}

impl AddressClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Unspecified => "an unspecified",
            AddressClass::Loopback => "a loopback",
            AddressClass::Private => "a private",
            AddressClass::LinkLocal => "a link-local",
            AddressClass::Shared => "a shared (carrier-grade NAT)",
            AddressClass::Multicast => "a multicast",
            AddressClass::Reserved => "a reserved",
        }
    }
}

/// Why the server will not call a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundRefusal {
    #[error("`{url}` is not an http or https URL with a host")]
    NotHttp { url: String },
    #[error(
        "`{host}` is {} address; allow its network in `[outbound] allow_networks` to call it",
        class.as_str()
    )]
    Address { host: String, class: AddressClass },
    #[error(
        "`{host}` names this machine; allow 127.0.0.0/8 and ::1/128 in `[outbound] allow_networks` to call it"
    )]
    Localhost { host: String },
}

/// The networks the operator allows outbound requests to, beyond the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    pub allow_networks: Vec<IpNet>,
}

/// The address an IPv4-mapped, NAT64 or 6to4 IPv6 address stands for, if it stands for one.
fn embedded_v4(v6: &Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let tail = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // NAT64 (RFC 6052 well-known prefix 64:ff9b::/96).
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(tail(hi, lo)),
        // 6to4 (2002::/16): the IPv4 address follows the prefix.
        [0x2002, hi, lo, ..] => Some(tail(hi, lo)),
        _ => None,
    }
}

fn class_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    let [a, b, c, _] = ip.octets();
    if a == 0 {
        Some(AddressClass::Unspecified)
    } else if ip.is_loopback() {
        Some(AddressClass::Loopback)
    } else if ip.is_private() {
        Some(AddressClass::Private)
    } else if ip.is_link_local() {
        Some(AddressClass::LinkLocal)
    } else if a == 100 && (64..128).contains(&b) {
        Some(AddressClass::Shared)
    } else if ip.is_multicast() {
        Some(AddressClass::Multicast)
    } else if a >= 240
        || ip.is_documentation()
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && c == 0)
    {
        Some(AddressClass::Reserved)
    } else {
        None
    }
}

fn class_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some(AddressClass::Unspecified)
    } else if ip.is_loopback() {
        Some(AddressClass::Loopback)
    } else if (first & 0xfe00) == 0xfc00 {
        Some(AddressClass::Private)
    } else if (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0 {
        Some(AddressClass::LinkLocal)
    } else if ip.is_multicast() {
        Some(AddressClass::Multicast)
    } else if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Some(AddressClass::Reserved)
    } else {
        None
    }
}

/// The special-purpose class of an address, `None` for a public one. An IPv6 address that
/// embeds an IPv4 address (mapped, NAT64, 6to4) has the class of that address.
pub fn address_class(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => class_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(&v6) {
            Some(v4) => class_v4(v4),
            None => class_v6(v6),
        },
    }
}

impl OutboundPolicy {
    /// Whether an allowed network holds `ip` (or the IPv4 address it embeds).
    fn allows(&self, ip: IpAddr) -> bool {
        let embedded = match ip {
            IpAddr::V6(v6) => embedded_v4(&v6).map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allow_networks
            .iter()
            .any(|net| net.contains(&ip) || embedded.is_some_and(|e| net.contains(&e)))
    }

    /// Why the server will not connect to `ip`, if it will not.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), OutboundRefusal> {
        match address_class(ip) {
            Some(class) if !self.allows(ip) => Err(OutboundRefusal::Address {
                host: host.to_owned(),
                class,
            }),
            _ => Ok(()),
        }
    }

    /// Checks what can be checked about `url` without DNS: an http(s) URL whose host, if an
    /// address literal (in any spelling the URL standard accepts, such as `0x7f000001`), is
    /// allowed, and which does not name `localhost`. Host names are checked again, address by
    /// address, when they are resolved at delivery time.
    pub fn check_url(&self, url: &str) -> Result<(), OutboundRefusal> {
        let not_http = || OutboundRefusal::NotHttp {
            url: url.chars().take(200).collect(),
        };
        let parsed = url::Url::parse(url).map_err(|_| not_http())?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(not_http());
        }
        match parsed.host() {
            Some(url::Host::Ipv4(v4)) => self.check_address(&v4.to_string(), IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check_address(&format!("[{v6}]"), IpAddr::V6(v6)),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let loopback_allowed = self.allows(IpAddr::V4(Ipv4Addr::LOCALHOST))
                    && self.allows(IpAddr::V6(Ipv6Addr::LOCALHOST));
                if (name == "localhost" || name.ends_with(".localhost")) && !loopback_allowed {
                    return Err(OutboundRefusal::Localhost { host: name });
                }
                Ok(())
            }
            None => Err(not_http()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &OutboundPolicy, url: &str) -> bool {
        policy.check_url(url).is_err()
    }

    #[test]
    fn loopback_link_local_private_and_unspecified_addresses_are_refused_in_every_spelling() {
        let p = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1:6379/",
            "http://127.1/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://[::1]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://[2002:7f00:1::]/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://app.localhost/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "ftp://example.com/",
            "not a url",
        ] {
            assert!(refused(&p, url), "{url} should be refused");
        }
        for url in [
            "https://rp.example.com/logout",
            "https://93.184.216.34/",
            "https://[2606:2800:220:1::]/",
            "http://8.8.8.8:8080/x",
        ] {
            assert!(!refused(&p, url), "{url} should be allowed");
        }
    }

    #[test]
    fn an_allowed_network_lets_its_addresses_through_and_no_others() {
        let p = OutboundPolicy {
            allow_networks: vec!["10.0.0.0/8".parse().unwrap()],
        };
        assert!(!refused(&p, "https://10.20.30.40/"));
        assert!(!refused(&p, "https://[::ffff:10.0.0.1]/"));
        assert!(refused(&p, "https://192.168.1.1/"));
        assert!(refused(&p, "http://127.0.0.1/"));
        assert!(
            refused(&p, "http://localhost/"),
            "localhost needs loopback allowed"
        );
        let loopback = OutboundPolicy {
            allow_networks: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        };
        assert!(!refused(&loopback, "http://127.0.0.1:6379/"));
        assert!(!refused(&loopback, "http://[::1]:8080/"));
        assert!(!refused(&loopback, "http://localhost:8080/"));
        assert!(refused(&loopback, "https://169.254.169.254/"));
    }

    #[test]
    fn a_refusal_names_the_address_class_and_the_config_key() {
        let e = OutboundPolicy::default()
            .check_url("https://169.254.169.254/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("link-local"), "{e}");
        assert!(e.contains("[outbound] allow_networks"), "{e}");
    }
}
