//! The caller's address: the socket peer, or, when the peer is a configured
//! trusted proxy, the address that proxy saw (`X-Forwarded-For`, read from the
//! right, skipping further trusted proxies). A client cannot choose its
//! address by sending the header itself (SECURITY.md 27).
//!
//! Line authentication needs the port as well (CGNAT shares one address
//! among many subscribers by port range): [`line_endpoint`] gives the socket
//! peer's address and port, or what a trusted proxy saw, from RFC 7239
//! `Forwarded` (which can carry the port) or else `X-Forwarded-For` (which
//! cannot).

use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    let mut addr = peer_ip;
    // Several X-Forwarded-For headers are one comma-separated list in order.
    // Read from the right, as far as trusted proxies vouch for it: a hop
    // that cannot be read ends the walk at the proxy that wrote it, since
    // whatever lies to its left was written by nobody we trust.
    let hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok())
        .flat_map(|v| v.unwrap_or("?").split(','))
        .map(|h| xff_hop(h).map(|(ip, _)| ip))
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(hop) = hop else { break };
        addr = hop;
        if !trusted.contains(&hop) {
            break;
        }
    }
    addr
}

/// The address and port of the line a request came from, for network-based
/// authentication; `None` when a trusted proxy forwarded it but said
/// nothing usable (`for=unknown`, an obfuscated identifier, garbage).
pub fn line_endpoint(
    peer: SocketAddr,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<(IpAddr, Option<u16>)> {
    let peer_ip = canonical(peer.ip());
    if !trusted.contains(&peer_ip) {
        return Some((peer_ip, Some(peer.port())));
    }
    let forwarded: Vec<&str> = headers.get_all("forwarded").iter().filter_map(|v| v.to_str().ok()).collect();
    // Each hop as the proxies wrote it, in order; `None` for one that
    // cannot be read.
    let hops: Vec<Option<(IpAddr, Option<u16>)>> = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(xff_hop)
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| forwarded_node(v))
            })
            .collect()
    };
    let mut found = None;
    for hop in hops.into_iter().rev() {
        let (ip, port) = hop?;
        found = Some((ip, port));
        if !trusted.contains(&ip) {
            return found;
        }
    }
    // Only trusted proxies on the way (or no header at all): the proxy itself
    // is the caller, and a proxy is nobody's line.
    found.filter(|(ip, _)| !trusted.contains(ip))
}

/// An `X-Forwarded-For` hop: an address, or an address and port as some
/// proxies write it (`192.0.2.43:4711`, `[2001:db8::17]:4711`).
fn xff_hop(h: &str) -> Option<(IpAddr, Option<u16>)> {
    let h = h.trim();
    h.parse::<IpAddr>().ok().map(|ip| (canonical(ip), None)).or_else(|| forwarded_node(h))
}

/// An RFC 7239 §6 node: `192.0.2.43`, `192.0.2.43:4711`,
/// `"[2001:db8:cafe::17]:4711"` (quoted, as IPv6 must be).
fn forwarded_node(v: &str) -> Option<(IpAddr, Option<u16>)> {
    let v = v.trim();
    let v = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')).unwrap_or(v);
    let port = |p: &str| p.parse::<u16>().ok();
    if let Some(rest) = v.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        let ip: IpAddr = ip.parse().ok()?;
        let port = match tail {
            "" => None,
            t => Some(port(t.strip_prefix(':')?)?),
        };
        return Some((canonical(ip), port));
    }
    match v.split_once(':') {
        Some((ip, p)) => Some((canonical(ip.parse().ok()?), Some(port(p)?))),
        None => Some((canonical(v.parse().ok()?), None)),
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.9.9.9, 80.90.34.2".parse().unwrap());
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let other: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let trusted = ["10.0.0.1".parse().unwrap()];
        assert_eq!(client_ip(proxy, &h, &trusted), "80.90.34.2".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(other, &h, &trusted), "10.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), "10.0.0.1".parse::<IpAddr>().unwrap());
        // A hop that cannot be read stops the walk at the proxy that wrote
        // it; ip:port hops are their address.
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "80.90.34.2, garbage".parse().unwrap());
        assert_eq!(client_ip(proxy, &h, &trusted), "10.0.0.1".parse::<IpAddr>().unwrap());
        for (hop, want) in [
            ("80.90.34.2:4711", "80.90.34.2"),
            ("[2001:db8::17]:4711", "2001:db8::17"),
            ("2001:db8::17", "2001:db8::17"),
        ] {
            h.insert("x-forwarded-for", hop.parse().unwrap());
            assert_eq!(client_ip(proxy, &h, &trusted), want.parse::<IpAddr>().unwrap(), "{hop}");
        }
    }

    #[test]
    fn line_endpoint_takes_the_port_and_believes_only_trusted_proxies() {
        let trusted = ["10.0.0.1".parse().unwrap()];
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let phone: SocketAddr = "127.10.0.3:40000".parse().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "forwarded",
            r#"for="[2001:db8::1]:8080";proto=http, for=80.90.34.2:16790"#.parse().unwrap(),
        );
        h.insert("x-forwarded-for", "192.0.2.9".parse().unwrap());
        assert_eq!(line_endpoint(phone, &h, &trusted), Some((ip("127.10.0.3"), Some(40000))), "not a proxy");
        assert_eq!(line_endpoint(proxy, &h, &trusted), Some((ip("80.90.34.2"), Some(16790))));
        h.insert("forwarded", r#"for="[2001:db8::1]:8080""#.parse().unwrap());
        assert_eq!(line_endpoint(proxy, &h, &trusted), Some((ip("2001:db8::1"), Some(8080))));
        h.insert("forwarded", "for=unknown".parse().unwrap());
        assert_eq!(line_endpoint(proxy, &h, &trusted), None);
        h.remove("forwarded");
        assert_eq!(line_endpoint(proxy, &h, &trusted), Some((ip("192.0.2.9"), None)));
        assert_eq!(line_endpoint(proxy, &HeaderMap::new(), &trusted), None, "the proxy is nobody's line");
    }
}
