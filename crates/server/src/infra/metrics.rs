//! Prometheus text exposition of counters and latency histograms, kept in
//! atomics: the hot path pays a few relaxed increments per request, and a
//! read lock to find a labelled series (a write lock the first time only).

use netauth_store::counted::StoreCalls;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

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
    /// TLS handshakes not completed within `tls.handshake_timeout_secs`.
    pub tls_handshake_timeouts: AtomicU64,
    /// TLS handshakes that failed (no common protocol, an untrusting
    /// client, not TLS at all).
    pub tls_handshake_failures: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS_US.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    /// Calls to the Store per method: database round trips.
    pub store_calls: Arc<StoreCalls>,
    /// Series by endpoint, outcome, grant type and CIBA state.
    pub labelled: Labelled,
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
        counter(
            "netauth_tls_handshake_timeouts_total",
            "Connections closed because their TLS handshake took longer than tls.handshake_timeout_secs.",
            g(&self.tls_handshake_timeouts),
        );
        counter(
            "netauth_tls_handshake_failures_total",
            "Connections whose TLS handshake failed.",
            g(&self.tls_handshake_failures),
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
        self.labelled.render(&mut s);
        for (name, help, v) in extra {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        s
    }
}

/// Escapes a Prometheus label value (exposition format: `\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A counter per label set. Label values come from bounded sets (route
/// templates, our own error codes, known grant types), never from what a
/// client sent, so the number of series stays small. Counting is on every
/// request's path, so a known label set is found without allocating: by a
/// hash of its values, then compared value by value. The map takes a write
/// lock only the first time a label set is seen.
#[derive(Default)]
pub struct CounterFamily {
    series: RwLock<HashMap<u64, Vec<Series>>>,
    hasher: RandomState,
}

struct Series {
    values: Box<[String]>,
    /// The label set as exposed: `name="value",…`.
    rendered: String,
    count: AtomicU64,
}

impl Series {
    fn is(&self, labels: &[(&str, &str)]) -> bool {
        self.values.iter().map(String::as_str).eq(labels.iter().map(|(_, v)| *v))
    }
}

impl CounterFamily {
    /// Adds one to the series with these `(name, value)` labels (a family
    /// always passes the same names, in the same order).
    pub fn inc(&self, labels: &[(&str, &str)]) {
        let mut h = self.hasher.build_hasher();
        for (_, v) in labels {
            v.hash(&mut h);
        }
        let hash = h.finish();
        if let Ok(m) = self.series.read()
            && let Some(s) = m.get(&hash).and_then(|v| v.iter().find(|s| s.is(labels)))
        {
            s.count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Ok(mut m) = self.series.write() {
            let bucket = m.entry(hash).or_default();
            match bucket.iter().find(|s| s.is(labels)) {
                Some(s) => s.count.fetch_add(1, Ordering::Relaxed),
                None => {
                    let rendered = labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                        .collect::<Vec<_>>()
                        .join(",");
                    let values = labels.iter().map(|(_, v)| (*v).to_owned()).collect();
                    bucket.push(Series { values, rendered, count: AtomicU64::new(1) });
                    0
                }
            };
        }
    }

    fn render(&self, s: &mut String, name: &str, help: &str) {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
        if let Ok(m) = self.series.read() {
            let mut all: Vec<&Series> = m.values().flatten().collect();
            all.sort_by(|a, b| a.rendered.cmp(&b.rendered));
            for x in all {
                let _ = writeln!(s, "{name}{{{}}} {}", x.rendered, x.count.load(Ordering::Relaxed));
            }
        }
    }
}

/// A latency histogram (the buckets of [`BUCKETS_US`]).
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, micros: u64) {
        if let Some(b) = BUCKETS_US.iter().zip(&self.buckets).find_map(|(b, c)| (micros <= *b).then_some(c)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(micros, Ordering::Relaxed);
    }
}

/// A histogram per endpoint.
#[derive(Default)]
pub struct HistogramFamily {
    series: RwLock<BTreeMap<String, Arc<Histogram>>>,
}

impl HistogramFamily {
    pub fn observe(&self, endpoint: &str, micros: u64) {
        let h = self.series.read().ok().and_then(|m| m.get(endpoint).cloned());
        let h = match h {
            Some(h) => h,
            None => match self.series.write() {
                Ok(mut m) => m.entry(endpoint.to_owned()).or_default().clone(),
                Err(_) => return,
            },
        };
        h.observe(micros);
    }

    fn render(&self, s: &mut String, name: &str, help: &str) {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} histogram");
        let Ok(m) = self.series.read() else { return };
        for (endpoint, h) in m.iter() {
            let e = label(endpoint);
            let mut cumulative = 0;
            for (b, c) in BUCKETS_US.iter().zip(&h.buckets) {
                cumulative += c.load(Ordering::Relaxed);
                let _ =
                    writeln!(s, "{name}_bucket{{endpoint=\"{e}\",le=\"{}\"}} {cumulative}", *b as f64 / 1e6);
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(s, "{name}_bucket{{endpoint=\"{e}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(
                s,
                "{name}_sum{{endpoint=\"{e}\"}} {}",
                h.sum_us.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(s, "{name}_count{{endpoint=\"{e}\"}} {count}");
        }
    }
}

/// The labelled series: what a dashboard or an alert is built on.
#[derive(Default)]
pub struct Labelled {
    /// Requests by endpoint (route template) and outcome (`ok` or the error code).
    pub requests: CounterFamily,
    /// Token endpoint requests by grant type and outcome.
    pub token_requests: CounterFamily,
    /// Access tokens issued, by grant type.
    pub tokens_issued: CounterFamily,
    /// CIBA requests by the state they entered: `pending` (waiting for the
    /// handset), `approved`, `denied`, `expired` (polled after expiry).
    pub ciba: CounterFamily,
    /// Request latency by endpoint.
    pub latency: HistogramFamily,
}

impl Labelled {
    pub fn render(&self, s: &mut String) {
        self.requests.render(
            s,
            "netauth_requests_total",
            "Requests answered, by endpoint and outcome (ok or the error code).",
        );
        self.token_requests.render(
            s,
            "netauth_token_requests_total",
            "Token endpoint requests, by grant type and outcome.",
        );
        self.tokens_issued.render(
            s,
            "netauth_tokens_issued_by_grant_total",
            "Access tokens issued, by grant type.",
        );
        self.ciba.render(
            s,
            "netauth_ciba_requests_total",
            "CIBA requests by the state they entered (pending, approved, denied, expired).",
        );
        self.latency.render(
            s,
            "netauth_request_duration_by_endpoint_seconds",
            "Request latency, by endpoint.",
        );
    }
}
