//! Per-node limits on failed client authentications (SECURITY.md 24): a
//! fixed one-minute window per client id and per source address. Failures
//! only are counted, so a well-behaved client is never slowed down. The maps
//! are bounded: past `MAX_KEYS` the oldest window is dropped wholesale, which
//! can only forgive, never lock anybody out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
const MAX_KEYS: usize = 100_000;

pub struct FailureLimiter {
    per_client: u32,
    per_address: u32,
    inner: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    started: Option<Instant>,
    clients: HashMap<String, u32>,
    addresses: HashMap<IpAddr, u32>,
}

impl Windows {
    fn roll(&mut self) -> Instant {
        let now = Instant::now();
        match self.started {
            Some(s) if now.duration_since(s) < WINDOW => s,
            _ => {
                self.clients.clear();
                self.addresses.clear();
                self.started = Some(now);
                now
            }
        }
    }
}

impl FailureLimiter {
    pub fn new(per_client: u32, per_address: u32) -> Self {
        Self { per_client, per_address, inner: Mutex::new(Windows::default()) }
    }

    /// Seconds to wait if either key is over its budget.
    pub fn check(&self, client_id: Option<&str>, addr: IpAddr) -> Option<u64> {
        let mut w = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if w.clients.is_empty() && w.addresses.is_empty() {
            return None;
        }
        let started = w.roll();
        let over = client_id.and_then(|c| w.clients.get(c)).is_some_and(|n| *n >= self.per_client)
            || w.addresses.get(&addr).is_some_and(|n| *n >= self.per_address);
        over.then(|| WINDOW.saturating_sub(started.elapsed()).as_secs().max(1))
    }

    pub fn record_failure(&self, client_id: Option<&str>, addr: IpAddr) {
        let mut w = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        w.roll();
        if w.clients.len() + w.addresses.len() >= MAX_KEYS {
            w.clients.clear();
            w.addresses.clear();
        }
        if let Some(c) = client_id {
            // Ids are bounded by the form parser; long garbage ids are cut so
            // they cannot bloat the map.
            let c: String = c.chars().take(128).collect();
            *w.clients.entry(c).or_default() += 1;
        }
        *w.addresses.entry(addr).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_client_and_address() {
        let l = FailureLimiter::new(2, 3);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(l.check(Some("c"), a).is_none());
        l.record_failure(Some("c"), a);
        l.record_failure(Some("c"), a);
        assert!(l.check(Some("c"), b).is_some(), "client over budget from any address");
        assert!(l.check(Some("d"), b).is_none());
        l.record_failure(Some("x"), a);
        assert!(l.check(Some("d"), a).is_some(), "address over budget for any client");
    }
}
