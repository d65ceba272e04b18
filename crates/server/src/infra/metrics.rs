//! Prometheus text exposition of a few counters and a latency histogram,
//! kept in atomics: the hot path pays one relaxed increment per request.

use netauth_store::counted::StoreCalls;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency histogram buckets, in microseconds.
const BUCKETS_US: [u64; 10] = [250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 100_000, 500_000, 2_000_000];

#[derive(Default)]
pub struct Metrics {
    pub tokens_issued: AtomicU64,
    pub client_auth_failures: AtomicU64,
    pub introspections: AtomicU64,
    pub revocations: AtomicU64,
    pub responses_2xx: AtomicU64,
    pub responses_4xx: AtomicU64,
    pub responses_5xx: AtomicU64,
    /// Open client connections (a gauge).
    pub connections_open: AtomicU64,
    /// Connections closed at once: their address had its cap open.
    pub connections_refused: AtomicU64,
    /// Times accepting paused because `server.max_connections` were open.
    pub connections_at_capacity: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS_US.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    /// Calls to the Store per method: database round trips.
    pub store_calls: Arc<StoreCalls>,
}

impl Metrics {
    /// Metrics that also report the Store calls counted in `store_calls`.
    pub fn with_store_calls(store_calls: Arc<StoreCalls>) -> Self {
        Self { store_calls, ..Self::default() }
    }

    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe(&self, status: u16, micros: u64) {
        let c = match status {
            200..=399 => &self.responses_2xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        };
        Self::inc(c);
        if let Some(bucket) =
            BUCKETS_US.iter().zip(&self.latency_buckets).find_map(|(b, c)| (micros <= *b).then_some(c))
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn render(&self, extra: &[(&str, &str, u64)]) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter("netauth_tokens_issued_total", "Access tokens issued.", g(&self.tokens_issued));
        counter(
            "netauth_client_auth_failures_total",
            "Failed client authentications.",
            g(&self.client_auth_failures),
        );
        counter("netauth_introspections_total", "Introspection requests answered.", g(&self.introspections));
        counter("netauth_revocations_total", "Revocation requests answered.", g(&self.revocations));
        counter(
            "netauth_http_connections_refused_total",
            "Connections closed on accept: server.max_connections_per_address open from that address.",
            g(&self.connections_refused),
        );
        counter(
            "netauth_http_connections_at_capacity_total",
            "Times accepting paused: server.max_connections open.",
            g(&self.connections_at_capacity),
        );
        let _ = writeln!(
            s,
            "# HELP netauth_http_connections_open Open client connections.\n# TYPE netauth_http_connections_open gauge\nnetauth_http_connections_open {}",
            g(&self.connections_open)
        );
        let _ = writeln!(s, "# HELP netauth_http_responses_total HTTP responses by status class.");
        let _ = writeln!(s, "# TYPE netauth_http_responses_total counter");
        for (class, c) in
            [("2xx", &self.responses_2xx), ("4xx", &self.responses_4xx), ("5xx", &self.responses_5xx)]
        {
            let _ = writeln!(s, "netauth_http_responses_total{{class=\"{class}\"}} {}", g(c));
        }
        let _ = writeln!(s, "# HELP netauth_http_request_duration_seconds Request latency.");
        let _ = writeln!(s, "# TYPE netauth_http_request_duration_seconds histogram");
        let mut cumulative = 0;
        for (b, count) in BUCKETS_US.iter().zip(&self.latency_buckets) {
            cumulative += g(count);
            let _ = writeln!(
                s,
                "netauth_http_request_duration_seconds_bucket{{le=\"{}\"}} {cumulative}",
                *b as f64 / 1e6
            );
        }
        let count = g(&self.latency_count);
        let _ = writeln!(s, "netauth_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ =
            writeln!(s, "netauth_http_request_duration_seconds_sum {}", g(&self.latency_sum_us) as f64 / 1e6);
        let _ = writeln!(s, "netauth_http_request_duration_seconds_count {count}");
        let _ = writeln!(s, "# HELP netauth_store_calls_total Store calls (database round trips) by method.");
        let _ = writeln!(s, "# TYPE netauth_store_calls_total counter");
        for (method, n) in self.store_calls.by_method() {
            let _ = writeln!(s, "netauth_store_calls_total{{method=\"{method}\"}} {n}");
        }
        for (name, help, v) in extra {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        s
    }
}
