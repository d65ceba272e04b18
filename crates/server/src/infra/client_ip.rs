//! The caller's address: the socket peer, or, when the peer is a configured
//! trusted proxy, the address that proxy saw (`X-Forwarded-For`, read from the
//! right, skipping further trusted proxies). A client cannot choose its
//! address by sending the header itself (SECURITY.md 27).

use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    let mut addr = peer_ip;
    // Several X-Forwarded-For headers are one comma-separated list in order.
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect();
    for hop in hops.into_iter().rev() {
        addr = hop;
        if !trusted.contains(&hop) {
            break;
        }
    }
    addr
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
    }
}
