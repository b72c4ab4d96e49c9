//! The client's address behind reverse proxies. A forwarding header (`X-Forwarded-For`, or
//! `Forwarded` per RFC 7239) is read only when the direct peer is a configured trusted proxy;
//! it is then read from the right, skipping trusted proxies, and the first address that is not
//! one is the client. Anyone can write these headers: everything to the left of the right-most
//! untrusted address was written by someone we do not trust, so it is never used.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use poem::http::HeaderMap;

use crate::config::ForwardedHeader;

/// How many entries of a forwarding header are looked at, from the right.
const MAX_HOPS: usize = 32;

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(&ip))
}

/// The client's address: `peer` itself unless `peer` is a trusted proxy, else the right-most
/// address in `header` that is not a trusted proxy. An entry that is not an address (`unknown`,
/// an obfuscated name, garbage) ends the walk at the last address known good.
pub fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    proxies: &[IpNet],
    header: ForwardedHeader,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted(peer, proxies) {
        return peer;
    }
    let entries: Vec<Option<IpAddr>> = match header {
        ForwardedHeader::XForwardedFor => list(headers, "x-forwarded-for")
            .map(|e| parse_node(e.trim()))
            .collect(),
        ForwardedHeader::Forwarded => list(headers, "forwarded").map(forwarded_for).collect(),
    };
    let mut client = peer;
    for entry in entries.into_iter().rev().take(MAX_HOPS) {
        match entry {
            Some(ip) => {
                client = ip.to_canonical();
                if !trusted(client, proxies) {
                    return client;
                }
            }
            None => return client,
        }
    }
    client
}

/// The comma-separated elements of every `name` header line, in order. A line that is not
/// text counts as one element that is not an address.
fn list<'h>(headers: &'h HeaderMap, name: &str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|line| line.to_str().unwrap_or("\u{0}").split(','))
}

/// The address of a `Forwarded` element's `for=` parameter.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        parse_node(value)
    })
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(with_port) = text.parse::<SocketAddr>() {
        return Some(with_port.ip());
    }
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    fn xff(peer: &str, proxies: &[&str], pairs: &[(&'static str, &str)]) -> IpAddr {
        client_address(
            ip(peer),
            &headers(pairs),
            &nets(proxies),
            ForwardedHeader::XForwardedFor,
        )
    }

    #[test]
    fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
        let spoof = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(xff("198.51.100.1", &[], &spoof), ip("198.51.100.1"));
        assert_eq!(xff("198.51.100.1", &["10.0.0.0/8"], &spoof), ip("198.51.100.1"));
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let proxies = ["10.0.0.0/8", "127.0.0.1/32"];
        let h = [("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.1.1")];
        assert_eq!(xff("127.0.0.1", &proxies, &h), ip("203.0.113.9"));
        let lines = [
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9:5555"),
        ];
        assert_eq!(xff("10.2.2.2", &proxies, &lines), ip("203.0.113.9"));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_trusted_hop() {
        let proxies = ["10.0.0.0/8"];
        assert_eq!(
            xff(
                "10.0.0.1",
                &proxies,
                &[("x-forwarded-for", "203.0.113.9, unknown")]
            ),
            ip("10.0.0.1")
        );
        assert_eq!(
            xff("10.0.0.1", &proxies, &[("x-forwarded-for", "unknown, 10.0.0.2")]),
            ip("10.0.0.2")
        );
        assert_eq!(xff("10.0.0.1", &proxies, &[]), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_for_is_read_with_quotes_ports_and_ipv6() {
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https, For=10.0.0.5;by=10.0.0.1",
        )]);
        let got = client_address(
            ip("10.0.0.1"),
            &h,
            &nets(&["10.0.0.0/8"]),
            ForwardedHeader::Forwarded,
        );
        assert_eq!(got, ip("2001:db8:cafe::17"));
        // The header not configured is not read.
        let other = client_address(
            ip("10.0.0.1"),
            &headers(&[("x-forwarded-for", "203.0.113.9")]),
            &nets(&["10.0.0.0/8"]),
            ForwardedHeader::Forwarded,
        );
        assert_eq!(other, ip("10.0.0.1"));
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_networks() {
        assert_eq!(
            xff(
                "::ffff:127.0.0.1",
                &["127.0.0.1/32"],
                &[("x-forwarded-for", "203.0.113.9")]
            ),
            ip("203.0.113.9")
        );
    }
}
