//! Per-client limits on the CAMARA resource APIs (Commonalities: 429
//! `TOO_MANY_REQUESTS` for a rate or spike limit, 429 `QUOTA_EXCEEDED` for a
//! business quota), both with `Retry-After`.
//!
//! - Rate: a token bucket per client, `rate_limit_per_sec` refilled per
//!   second up to `rate_limit_burst`.
//! - Quota: a count per client in fixed windows of `quota_window_secs`
//!   aligned to the epoch, so `Retry-After` is the end of the window.
//!
//! Only authenticated calls reach this (the client id comes from a valid
//! token), so nobody can spend another client's budget. Kept per node, in
//! memory, on the application clock: with N nodes behind a balancer set the
//! figures to the share of one node. The map is bounded; when full it is
//! cleared, which can only forgive.

use std::collections::HashMap;
use std::sync::Mutex;

const MAX_CLIENTS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the rate; retry after this many seconds.
    Rate { retry_after: u64 },
    /// The window's quota is spent; retry when it ends.
    Quota { retry_after: u64 },
}

pub struct ApiLimiter {
    rate: u32,
    burst: u32,
    quota: u64,
    window_ms: i64,
    budgets: Mutex<HashMap<String, Budget>>,
}

struct Budget {
    /// Tokens in the bucket at `at_ms`.
    tokens: f64,
    at_ms: i64,
    /// Start of the quota window `used` counts in.
    window: i64,
    used: u64,
}

impl ApiLimiter {
    pub fn new(c: &crate::infra::config::CamaraConfig) -> Self {
        Self {
            rate: c.rate_limit_per_sec,
            burst: c.rate_limit_burst.max(c.rate_limit_per_sec).max(1),
            quota: c.quota_per_client,
            window_ms: i64::try_from(c.quota_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX).max(1),
            budgets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one call of `client_id` at `now_ms`, or says when to retry.
    /// A refused call spends nothing.
    pub fn admit(&self, client_id: &str, now_ms: i64) -> Result<(), Refusal> {
        if self.rate == 0 && self.quota == 0 {
            return Ok(());
        }
        let window = now_ms - now_ms.rem_euclid(self.window_ms);
        let mut map = self.budgets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CLIENTS && !map.contains_key(client_id) {
            map.clear();
        }
        let b = map.entry(client_id.to_owned()).or_insert(Budget {
            tokens: f64::from(self.burst),
            at_ms: now_ms,
            window,
            used: 0,
        });
        if b.window != window {
            b.window = window;
            b.used = 0;
        }
        if self.quota > 0 && b.used >= self.quota {
            let ms = window + self.window_ms - now_ms;
            return Err(Refusal::Quota { retry_after: ceil_secs(ms) });
        }
        if self.rate > 0 {
            let elapsed = (now_ms - b.at_ms).max(0) as f64 / 1000.0;
            b.tokens = (b.tokens + elapsed * f64::from(self.rate)).min(f64::from(self.burst));
            b.at_ms = now_ms;
            if b.tokens < 1.0 {
                let ms = ((1.0 - b.tokens) / f64::from(self.rate) * 1000.0).ceil() as i64;
                return Err(Refusal::Rate { retry_after: ceil_secs(ms) });
            }
            b.tokens -= 1.0;
        }
        b.used += 1;
        Ok(())
    }
}

/// Whole seconds, at least one (`Retry-After` is in seconds).
fn ceil_secs(ms: i64) -> u64 {
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::config::CamaraConfig;

    fn limiter(rate: u32, burst: u32, quota: u64, window: u64) -> ApiLimiter {
        ApiLimiter::new(&CamaraConfig {
            rate_limit_per_sec: rate,
            rate_limit_burst: burst,
            quota_per_client: quota,
            quota_window_secs: window,
            ..Default::default()
        })
    }

    #[test]
    fn off_by_default() {
        let l = ApiLimiter::new(&CamaraConfig::default());
        for i in 0..10_000 {
            assert_eq!(l.admit("c", i), Ok(()));
        }
    }

    #[test]
    fn rate_with_burst_refills_with_time() {
        let l = limiter(2, 3, 0, 60);
        let t = 1_000_000;
        for _ in 0..3 {
            assert_eq!(l.admit("c", t), Ok(()));
        }
        assert_eq!(l.admit("c", t), Err(Refusal::Rate { retry_after: 1 }));
        // Another client is not affected.
        assert_eq!(l.admit("d", t), Ok(()));
        // Half a second refills one token at 2/s.
        assert_eq!(l.admit("c", t + 500), Ok(()));
        assert!(l.admit("c", t + 500).is_err());
    }

    #[test]
    fn quota_per_window_with_retry_at_its_end() {
        let l = limiter(0, 0, 2, 60);
        let t = 60_000 * 1000 + 15_000; // 15 s into a window
        assert_eq!(l.admit("c", t), Ok(()));
        assert_eq!(l.admit("c", t + 1), Ok(()));
        assert_eq!(l.admit("c", t + 2), Err(Refusal::Quota { retry_after: 45 }));
        assert_eq!(l.admit("c", t + 45_000), Ok(()), "the next window");
    }

    #[test]
    fn a_refused_call_spends_no_quota() {
        let l = limiter(1, 1, 2, 60);
        let t = 0;
        assert_eq!(l.admit("c", t), Ok(()));
        assert!(matches!(l.admit("c", t), Err(Refusal::Rate { .. })));
        assert_eq!(l.admit("c", t + 1000), Ok(()));
        assert!(matches!(l.admit("c", t + 2000), Err(Refusal::Quota { .. })));
    }
}
