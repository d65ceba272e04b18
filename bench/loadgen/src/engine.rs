//! The load engine: a fixed number of workers, each with one keep-alive
//! HTTP/1.1 connection and one request in flight, running a [`Flow`] until a
//! deadline, a request count, or the flow's own end, whichever comes first.
//!
//! Closed loop by default (every worker sends as soon as its previous answer
//! is in: peak throughput). With a target rate, iteration `i` is due at
//! `start + i / rate` (an open-loop schedule shared by the workers, as in
//! wrk2), and a second latency is recorded, so that a server falling behind
//! cannot hide its queueing (coordinated omission): from the due time when
//! the worker was still waiting for its previous answer at that time (the
//! server made the request late), otherwise from the moment it was sent
//! (a timer waking the worker up to 1 ms late is the generator's slack, not
//! the server's).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderMap, HeaderValue, LOCATION};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A request sequence: one iteration is one or more requests sent through
/// `conn` (which times and checks each). Single-request scenarios send one;
/// later flows (CIBA, authorization code, refresh) chain several, using the
/// answers of earlier steps. Returns false when the flow has no more work
/// (a pre-generated pool is used up).
pub trait Flow: Send + Sync + 'static {
    fn iteration<'a>(&'a self, i: u64, conn: &'a mut Conn) -> BoxFuture<'a, bool>;

    /// The address worker `worker`'s connection comes from; None: the
    /// system's choice. Line authentication (`code-flow`) knows a subscriber
    /// by the address their request comes from.
    fn local_addr(&self, _worker: usize) -> Option<IpAddr> {
        None
    }
}

/// Per-worker counters, merged at the end of a phase.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: u64,
    pub ok: u64,
    pub status: BTreeMap<u16, u64>,
    pub transport_errors: u64,
    /// 2xx answers whose body lacked what the scenario expects.
    pub bad_body: u64,
    pub reconnects: u64,
    /// Service time of each request (send → whole body read), µs.
    pub latency_us: Vec<u32>,
    /// Rate mode: each iteration's completion measured from its due time if
    /// the previous answer came after it, else from its start, µs.
    pub due_latency_us: Vec<u32>,
    /// Iterations finished (all their requests answered or failed).
    pub flows: u64,
    /// Service time of each whole iteration (first send → last body), µs:
    /// for multi-request flows (`ciba`) the latency of the flow.
    pub flow_latency_us: Vec<u32>,
    pub error_sample: Option<String>,
}

impl Stats {
    fn merge(&mut self, o: Stats) {
        self.requests += o.requests;
        self.ok += o.ok;
        for (k, v) in o.status {
            *self.status.entry(k).or_default() += v;
        }
        self.transport_errors += o.transport_errors;
        self.bad_body += o.bad_body;
        self.reconnects += o.reconnects;
        self.latency_us.extend(o.latency_us);
        self.due_latency_us.extend(o.due_latency_us);
        self.flows += o.flows;
        self.flow_latency_us.extend(o.flow_latency_us);
        if self.error_sample.is_none() {
            self.error_sample = o.error_sample;
        }
    }

    pub fn errors(&self) -> u64 {
        self.requests - self.ok
    }
}

/// One worker's connection.
pub struct Conn {
    addr: SocketAddr,
    local: Option<IpAddr>,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
    record: bool,
    pub stats: Stats,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl Conn {
    pub fn new(addr: SocketAddr, host: &str, record: bool) -> anyhow::Result<Self> {
        Ok(Self {
            addr,
            local: None,
            host: HeaderValue::from_str(host)?,
            sender: None,
            record,
            stats: Stats::default(),
        })
    }

    /// Connects from `local` (any port) instead of the system's choice.
    pub fn from_addr(mut self, local: Option<IpAddr>) -> Self {
        self.local = local;
        self
    }

    async fn connect(&mut self) -> Result<(), String> {
        let stream = match self.local {
            None => tokio::net::TcpStream::connect(self.addr).await,
            Some(ip) => {
                let socket = match ip {
                    IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
                    IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
                }
                .map_err(|e| format!("socket: {e}"))?;
                socket.bind(SocketAddr::new(ip, 0)).map_err(|e| format!("bind {ip}: {e}"))?;
                socket.connect(self.addr).await
            }
        }
        .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    fn fail(&mut self, what: String) {
        if self.stats.error_sample.is_none() {
            self.stats.error_sample = Some(what);
        }
    }

    /// Sends one request and reads the whole answer. Counts it; a non-2xx
    /// status, a transport error, or a 2xx body without `expect` is an error.
    /// Returns the status and body of answers that arrived.
    pub async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
        expect: Option<&[u8]>,
    ) -> Option<(StatusCode, Bytes)> {
        self.exchange(req, Expect::Body(expect)).await.map(|(s, _, b)| (s, b))
    }

    /// Sends one request that must be answered with a redirect (3xx with a
    /// `Location`), as a browser's steps through an authorization server
    /// are; anything else is counted as an error. Returns the status,
    /// headers and body of answers that arrived.
    pub async fn send_for_redirect(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Option<(StatusCode, HeaderMap, Bytes)> {
        self.exchange(req, Expect::Redirect).await
    }

    /// Counts the last answer, which was counted as a success, as a failure
    /// after all: its content was wrong in a way only the flow can tell (a
    /// redirect to the client with an `error` instead of a `code`).
    pub fn reject_last(&mut self, why: String) {
        self.stats.ok = self.stats.ok.saturating_sub(1);
        self.stats.bad_body += 1;
        self.fail(why);
    }

    async fn exchange(
        &mut self,
        mut req: Request<Full<Bytes>>,
        expect: Expect<'_>,
    ) -> Option<(StatusCode, HeaderMap, Bytes)> {
        req.headers_mut().insert(HOST, self.host.clone());
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            if self.sender.is_some() {
                self.stats.reconnects += 1;
            }
            if let Err(e) = self.connect().await {
                self.stats.requests += 1;
                self.stats.transport_errors += 1;
                self.fail(e);
                // Do not spin on a server that is gone.
                tokio::time::sleep(Duration::from_millis(10)).await;
                return None;
            }
        }
        let sender = self.sender.as_mut()?;
        let t0 = Instant::now();
        let result = async {
            sender.ready().await?;
            let resp = sender.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, hyper::Error>((parts.status, parts.headers, body))
        }
        .await;
        let took = t0.elapsed();
        self.stats.requests += 1;
        match result {
            Ok((status, headers, body)) => {
                if self.record {
                    self.stats.latency_us.push(micros(took));
                }
                *self.stats.status.entry(status.as_u16()).or_default() += 1;
                let text = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                match expect {
                    Expect::Redirect if !status.is_redirection() || !headers.contains_key(LOCATION) => {
                        self.fail(format!("HTTP {status} where a redirect was expected: {}", text()));
                    }
                    Expect::Redirect => self.stats.ok += 1,
                    Expect::Body(_) if !status.is_success() => {
                        self.fail(format!("HTTP {status}: {}", text()))
                    }
                    Expect::Body(Some(e)) if !contains(&body, e) => {
                        self.stats.bad_body += 1;
                        self.fail(format!("2xx without the expected content: {}", text()));
                    }
                    Expect::Body(_) => self.stats.ok += 1,
                }
                Some((status, headers, body))
            }
            Err(e) => {
                self.stats.transport_errors += 1;
                self.sender = None;
                self.fail(format!("transport: {e}"));
                None
            }
        }
    }
}

/// What makes an answer a success.
#[derive(Clone, Copy)]
enum Expect<'a> {
    /// 2xx, with these bytes in the body when given.
    Body(Option<&'a [u8]>),
    /// 3xx with a `Location`.
    Redirect,
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[derive(Debug, Clone, Copy)]
pub struct PhaseOptions {
    pub concurrency: usize,
    pub duration: Option<Duration>,
    pub max_iterations: Option<u64>,
    /// Iterations per second (open loop); None: as fast as answers come.
    pub rate: Option<f64>,
    /// Keep latencies (false for warm-up).
    pub record: bool,
}

pub struct PhaseResult {
    pub stats: Stats,
    pub iterations: u64,
    pub elapsed: Duration,
    /// From the start to the last iteration's start: with a target rate,
    /// `(iterations - 1) / send_span` is the rate actually kept.
    pub send_span: Duration,
    /// The flow ran out of pre-generated work before the deadline.
    pub exhausted: bool,
}

/// Shared progress of a running phase, readable from a sampler thread.
#[derive(Default)]
pub struct Progress {
    pub started: AtomicU64,
}

struct Shared {
    flow: Arc<dyn Flow>,
    opts: PhaseOptions,
    next: AtomicU64,
    stop: AtomicBool,
    exhausted: AtomicBool,
    start: Instant,
    last_send_ns: AtomicU64,
    progress: Arc<Progress>,
}

async fn worker(sh: Arc<Shared>, mut conn: Conn) -> Stats {
    let max = sh.opts.max_iterations.unwrap_or(u64::MAX);
    let deadline = sh.opts.duration.map(|d| sh.start + d);
    let mut prev_done = sh.start;
    loop {
        if sh.stop.load(Ordering::Relaxed) {
            break;
        }
        let i = sh.next.fetch_add(1, Ordering::Relaxed);
        if i >= max {
            break;
        }
        let due = sh.opts.rate.map(|r| sh.start + Duration::from_secs_f64(i as f64 / r));
        if let Some(due) = due {
            if deadline.is_some_and(|d| due >= d) {
                break;
            }
            if due > Instant::now() {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        // Late because the previous answer was late: count from the due time.
        let from = match due {
            Some(d) if prev_done > d => d,
            _ => Instant::now(),
        };
        sh.progress.started.fetch_add(1, Ordering::Relaxed);
        let since = u64::try_from(sh.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        sh.last_send_ns.fetch_max(since, Ordering::Relaxed);
        let t0 = Instant::now();
        if !sh.flow.iteration(i, &mut conn).await {
            sh.exhausted.store(true, Ordering::Relaxed);
            break;
        }
        prev_done = Instant::now();
        conn.stats.flows += 1;
        if conn.record {
            conn.stats.flow_latency_us.push(micros(prev_done - t0));
        }
        if due.is_some() && conn.record {
            conn.stats.due_latency_us.push(micros(prev_done - from));
        }
    }
    conn.stats
}

/// Runs one phase to its end and merges the workers' counters.
pub async fn run_phase(
    flow: Arc<dyn Flow>,
    addr: SocketAddr,
    host: &str,
    opts: PhaseOptions,
    progress: Arc<Progress>,
) -> anyhow::Result<PhaseResult> {
    anyhow::ensure!(
        opts.duration.is_some() || opts.max_iterations.is_some(),
        "a phase needs a duration or a request count: it must stop by itself"
    );
    let sh = Arc::new(Shared {
        flow,
        opts,
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        exhausted: AtomicBool::new(false),
        start: Instant::now(),
        last_send_ns: AtomicU64::new(0),
        progress,
    });
    let mut handles = Vec::with_capacity(opts.concurrency);
    for k in 0..opts.concurrency.max(1) {
        let conn = Conn::new(addr, host, opts.record)?.from_addr(sh.flow.local_addr(k));
        handles.push(tokio::spawn(worker(sh.clone(), conn)));
    }
    let timer = opts.duration.map(|d| {
        let sh = sh.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            sh.stop.store(true, Ordering::Relaxed);
        })
    });
    let mut stats = Stats::default();
    for h in handles {
        stats.merge(h.await?);
    }
    let elapsed = sh.start.elapsed();
    if let Some(t) = timer {
        t.abort();
    }
    let iterations = sh.progress.started.load(Ordering::Relaxed);
    Ok(PhaseResult {
        stats,
        iterations,
        elapsed,
        send_span: Duration::from_nanos(sh.last_send_ns.load(Ordering::Relaxed)),
        exhausted: sh.exhausted.load(Ordering::Relaxed),
    })
}

/// Percentiles of µs samples, in milliseconds.
pub fn summary(samples: &mut [u32]) -> serde_json::Value {
    if samples.is_empty() {
        return serde_json::Value::Null;
    }
    samples.sort_unstable();
    let n = samples.len();
    let at = |p: f64| {
        let idx = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        f64::from(samples[idx]) / 1000.0
    };
    let mean = samples.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64 / 1000.0;
    let r = |v: f64| (v * 1000.0).round() / 1000.0;
    serde_json::json!({
        "p50": r(at(0.50)),
        "p90": r(at(0.90)),
        "p99": r(at(0.99)),
        "p999": r(at(0.999)),
        "max": r(f64::from(samples[n - 1]) / 1000.0),
        "mean": r(mean),
        "samples": n,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles() {
        let mut v: Vec<u32> = (1..=1000).collect();
        let s = super::summary(&mut v);
        assert_eq!(s["p50"], 0.5);
        assert_eq!(s["p99"], 0.99);
        assert_eq!(s["max"], 1.0);
        assert!(super::summary(&mut []).is_null());
    }

    #[test]
    fn contains() {
        assert!(super::contains(b"{\"active\":true}", b"\"active\":true"));
        assert!(!super::contains(b"{\"active\":false}", b"\"active\":true"));
    }
}
