//! Accepting and serving HTTP/1.1 connections within bounds (issue #10
//! point 2, SECURITY.md 29). `axum::serve` has no timers: a connection that
//! sent part of its headers, or nothing, was held forever, and a few hundred
//! of them used up the process's file descriptors. Here:
//!
//! - **header-read timeout** (`server.header_read_timeout_secs`): a request
//!   head must arrive complete within this time of the server starting to
//!   wait for it. hyper starts that clock on a new connection and again after
//!   each response, so it also closes idle keep-alive connections.
//! - **idle timeout** (`server.idle_timeout_secs`): a connection on which no
//!   byte moves either way for this long is closed: a request body that
//!   stalls, a client that stops reading its response.
//! - **connection caps**: at most `server.max_connections` at once (at the
//!   cap, accepting pauses and new connections wait in the listen queue until
//!   one closes), and at most `server.max_connections_per_address` from one
//!   address (an IPv6 /64; trusted proxies exempt), past which new ones are
//!   closed at once. Both show in `/metrics`.
//! - **TLS handshake timeout** (`tls.handshake_timeout_secs`, when netauth
//!   terminates TLS: `infra::tls`): the handshake must complete within this
//!   time of the connection being accepted. The connection counts against
//!   both caps from the accept on, so a client that opens connections and
//!   never finishes a handshake holds its slots for this long at most; the
//!   idle timeout runs under TLS too (it watches the bytes on the socket),
//!   and the header-read timeout starts once the handshake is done.

use crate::infra::limiter::AddressKey;
use crate::infra::metrics::Metrics;
use crate::infra::state::AppState;
use crate::infra::tls::Tls;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::Service;

/// The bounds, from `[server]`.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: u32,
    /// Exempt from the per-address cap: every client arrives through them.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Open connections per address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<AddressKey, u32>>);

impl PerAddress {
    /// Counts a connection from `key`, unless `max` are already open.
    fn try_open(&self, key: AddressKey, max: u32) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(key).or_default();
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn close(&self, key: AddressKey) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&key);
            }
        }
    }
}

/// Serves `router` on `listener` (over TLS when `tls` is given) until
/// `shutdown` completes, then lets open connections finish their requests
/// (the caller bounds how long).
pub async fn serve_connections(
    listener: TcpListener,
    tls: Option<Arc<Tls>>,
    router: Router,
    limits: ConnLimits,
    app: AppState,
    shutdown: impl Future<Output = ()> + Send,
) {
    let metrics = &app.metrics;
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = Arc::new(PerAddress::default());
    // Connections watch this to shut down gracefully; the server waits for
    // every receiver to be dropped.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        if slots.available_permits() == 0 {
            Metrics::inc(&metrics.connections_at_capacity);
        }
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let key = AddressKey::of(peer.ip());
        let exempt = limits.trusted_proxies.contains(&crate::network::canonical_ip(peer.ip()));
        if !exempt && !per_address.try_open(key, limits.max_connections_per_address) {
            Metrics::inc(&metrics.connections_refused);
            tracing::debug!(address = %key, "connection refused: per-address cap");
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        let (router, limits, app, per_address, tls, stop) =
            (router.clone(), limits.clone(), app.clone(), per_address.clone(), tls.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let stream = IdleTimeout::new(stream, limits.idle_timeout);
            match tls {
                None => serve_http(stream, peer, router, &limits, stop).await,
                Some(tls) => {
                    let handshake = tls.acceptor().accept(stream);
                    match tokio::time::timeout(tls.handshake_timeout, handshake).await {
                        Ok(Ok(stream)) => serve_http(stream, peer, router, &limits, stop).await,
                        Ok(Err(e)) => {
                            Metrics::inc(&app.metrics.tls_handshake_failures);
                            tracing::debug!(error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            Metrics::inc(&app.metrics.tls_handshake_timeouts);
                            tracing::debug!(address = %key, "TLS handshake timed out");
                        }
                    }
                }
            }
            if !exempt {
                per_address.close(key);
            }
            app.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    stop_tx.closed().await;
}

/// Serves HTTP/1.1 on one connection until it ends, or until `stop` asks
/// for a graceful shutdown and the request in flight is answered.
async fn serve_http<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    limits: &ConnLimits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    // The TCP peer, TLS or not: the sandbox recognises a subscriber's line
    // by it (`network`), and the per-address bounds key on it.
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { router.call(req).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.changed() => conn.as_mut().graceful_shutdown(),
        }
    }
}

/// A TCP stream that fails with `TimedOut` once no byte has moved either way
/// for `idle`.
///
/// The deadline is checked lazily: moving bytes only records the time
/// (`touch`), and the timer is re-armed when it fires early, at most once
/// per idle period. Resetting the timer on every read and write (what this
/// did first) cost a timer-wheel update per I/O call, several per request.
struct IdleTimeout {
    inner: TcpStream,
    idle: Duration,
    /// When a byte last moved.
    last: Instant,
    /// Fires at or before `last + idle`; never later.
    deadline: Pin<Box<Sleep>>,
}

impl IdleTimeout {
    fn new(inner: TcpStream, idle: Duration) -> Self {
        Self { inner, idle, last: Instant::now(), deadline: Box::pin(tokio::time::sleep(idle)) }
    }

    fn touch(&mut self) {
        self.last = Instant::now();
    }

    /// Called when the stream would wait: an error once `idle` has passed
    /// since a byte last moved.
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let due = self.last + self.idle;
            if due <= Instant::now() {
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "connection idle"));
            }
            // Bytes moved since the timer was armed: wait for the rest.
            self.deadline.as_mut().reset(due);
        }
    }
}

impl AsyncRead for IdleTimeout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.expired(cx).map(Err),
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.expired(cx).map(Err),
            r => r,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
