//! Per-node limits on failed authentications (SECURITY.md 24): fixed
//! one-minute windows that count failures only, so a well-behaved caller is
//! never slowed down.
//!
//! Client authentication counts failures per source address and per
//! (claimed client id, source address), never per client id alone: a limit
//! keyed on the client id could be filled by anyone who knows the id, and
//! would then refuse the real client's correct credentials (a lock-out).
//! Here an attacker only ever exhausts budgets that contain their own
//! address. Guessing a secret stays hopeless: secrets carry 256 random bits,
//! and every address (an IPv6 /64 counts as one) gets a few dozen guesses a
//! minute.
//!
//! The maps are bounded: past `MAX_KEYS` the window is dropped wholesale,
//! which can only forgive, never lock anybody out.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
const MAX_KEYS: usize = 100_000;

/// The unit an address is limited by: an IPv4 address, or an IPv6 /64 (one
/// subscriber line or host usually holds a whole /64, so counting single
/// IPv6 addresses would hand an attacker 2^64 budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
            v4 => Self(v4),
        }
    }
}

impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
            v4 => write!(f, "{v4}"),
        }
    }
}

/// Failures per key in the current one-minute window.
pub struct FailureWindow<K> {
    budget: u32,
    inner: Mutex<Window<K>>,
}

struct Window<K> {
    started: Option<Instant>,
    counts: HashMap<K, u32>,
}

impl<K: Eq + Hash> FailureWindow<K> {
    pub fn new(budget: u32) -> Self {
        Self { budget, inner: Mutex::new(Window { started: None, counts: HashMap::new() }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window<K>> {
        let mut w = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if w.started.is_none_or(|s| now.duration_since(s) >= WINDOW) {
            w.counts.clear();
            w.started = Some(now);
        }
        w
    }

    /// Seconds until the window ends, if `key` has used its budget.
    pub fn check(&self, key: &K) -> Option<u64> {
        let w = self.lock();
        let over = w.counts.get(key).is_some_and(|n| *n >= self.budget);
        over.then(|| w.started.map_or(WINDOW, |s| WINDOW.saturating_sub(s.elapsed())).as_secs().max(1))
    }

    /// Counts a failure; returns the key's count in this window.
    pub fn record(&self, key: K) -> u32 {
        let mut w = self.lock();
        if w.counts.len() >= MAX_KEYS {
            w.counts.clear();
        }
        let n = w.counts.entry(key).or_default();
        *n = n.saturating_add(1);
        *n
    }
}

/// Client authentication's two budgets, and the admin token's.
pub struct FailureLimiter {
    per_address: FailureWindow<AddressKey>,
    per_client_address: FailureWindow<(String, AddressKey)>,
    admin_per_address: FailureWindow<AddressKey>,
}

/// Ids are bounded by the form parser; long garbage ids are cut so they
/// cannot bloat the map.
fn client_key(client_id: Option<&str>, addr: IpAddr) -> Option<(String, AddressKey)> {
    client_id.map(|c| (c.chars().take(128).collect(), AddressKey::of(addr)))
}

impl FailureLimiter {
    pub fn new(per_client_address: u32, per_address: u32, admin_per_address: u32) -> Self {
        Self {
            per_address: FailureWindow::new(per_address),
            per_client_address: FailureWindow::new(per_client_address),
            admin_per_address: FailureWindow::new(admin_per_address),
        }
    }

    /// Seconds to wait if the address has used its budget of wrong admin
    /// tokens.
    pub fn check_admin(&self, addr: IpAddr) -> Option<u64> {
        self.admin_per_address.check(&AddressKey::of(addr))
    }

    /// Counts a wrong admin token; returns the address's count this window.
    pub fn record_admin_failure(&self, addr: IpAddr) -> u32 {
        self.admin_per_address.record(AddressKey::of(addr))
    }

    /// Seconds to wait if the address, or this client id from this address,
    /// is over its budget. Nothing another address did can make this refuse.
    pub fn check(&self, client_id: Option<&str>, addr: IpAddr) -> Option<u64> {
        let by_address = self.per_address.check(&AddressKey::of(addr));
        by_address.or_else(|| client_key(client_id, addr).and_then(|k| self.per_client_address.check(&k)))
    }

    pub fn record_failure(&self, client_id: Option<&str>, addr: IpAddr) {
        self.per_address.record(AddressKey::of(addr));
        if let Some(k) = client_key(client_id, addr) {
            self.per_client_address.record(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn no_lock_out_from_another_address() {
        let l = FailureLimiter::new(2, 3, 1);
        let (attacker, client) = (ip("127.0.0.2"), ip("127.0.0.1"));
        assert!(l.check(Some("c"), attacker).is_none());
        l.record_failure(Some("c"), attacker);
        l.record_failure(Some("c"), attacker);
        assert!(l.check(Some("c"), attacker).is_some(), "the attacker's (client, address) is spent");
        assert!(l.check(Some("c"), client).is_none(), "the client from its own address is not");
        assert!(l.check(Some("d"), attacker).is_none(), "other ids from the attacker's address still work");
        l.record_failure(Some("x"), attacker);
        assert!(l.check(Some("d"), attacker).is_some(), "address over budget for any client");
        assert!(l.check(Some("d"), client).is_none());
    }

    #[test]
    fn ipv6_counts_by_64() {
        let l = FailureLimiter::new(100, 2, 1);
        l.record_failure(None, ip("2001:db8:1:2::1"));
        l.record_failure(None, ip("2001:db8:1:2:ffff::9"));
        assert!(l.check(None, ip("2001:db8:1:2:abcd::1")).is_some(), "same /64");
        assert!(l.check(None, ip("2001:db8:1:3::1")).is_none(), "another /64");
        assert_eq!(AddressKey::of(ip("::ffff:10.1.2.3")), AddressKey::of(ip("10.1.2.3")));
        assert_eq!(AddressKey::of(ip("2001:db8:1:2::1")).to_string(), "2001:db8:1:2::/64");
    }
}
