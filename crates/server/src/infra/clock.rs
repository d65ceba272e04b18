//! The one source of protocol time: expiry, CIBA polling intervals and
//! `slow_down`, grace windows, key activation, `auth_time`, `iat`.
//!
//! The server reads it through `App::now()` / `App::now_ms()`; tests drive a
//! [`ManualClock`] instead of sleeping. Node-local cache ages and rate-limit
//! windows (client cache, `jwks_uri` cache, failure limiter) are durations,
//! not protocol time, and use the monotonic `Instant`.

use netauth_domain::UnixTime;
use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Seconds since the Unix epoch.
    fn now(&self) -> UnixTime {
        self.now_ms().div_euclid(1000)
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        system_now_ms()
    }
}

/// The wall clock in milliseconds, for code that runs without an `App`
/// (the management CLI); 0 on a system clock set before 1970.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The wall clock in seconds (see [`system_now_ms`]).
pub fn system_now() -> UnixTime {
    system_now_ms().div_euclid(1000)
}

/// A clock that moves only when told to: tests start it at the wall clock's
/// time (so signatures made with real time stay valid) and advance it.
#[derive(Debug)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at the current wall-clock time.
    pub fn at_system_time() -> Self {
        Self { ms: AtomicI64::new(system_now_ms()) }
    }

    pub fn at_ms(ms: i64) -> Self {
        Self { ms: AtomicI64::new(ms) }
    }

    /// Moves the clock forward (or back, with a negative value).
    pub fn advance_ms(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs.saturating_mul(1000));
    }

    pub fn set_ms(&self, ms: i64) {
        self.ms.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_ms(1_700_000_000_999);
        assert_eq!(c.now(), 1_700_000_000);
        c.advance_ms(1);
        assert_eq!(c.now(), 1_700_000_001);
        c.advance_secs(5);
        assert_eq!(c.now_ms(), 1_700_000_006_000);
    }

    #[test]
    fn seconds_round_down_before_1970_too() {
        assert_eq!(ManualClock::at_ms(-1).now(), -1);
    }
}
