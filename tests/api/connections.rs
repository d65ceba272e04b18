//! Issue #10 point 2, SECURITY.md 29: connections that send nothing, or
//! their headers slowly, are closed; concurrent connections are capped, per
//! address and in all. Every test stays on loopback, with a few dozen
//! connections at most and timeouts of a second or two.

use crate::helpers::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A connection to `app` leaving from `from`.
async fn connect_from(app: &TestApp, from: &str) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{from}:0").parse().unwrap()).unwrap();
    s.connect(app.base.trim_start_matches("http://").parse().unwrap()).await.unwrap()
}

/// How long until the server closes `s` (reads return 0 or fail), if it
/// does within `within`.
async fn closed_after(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| start.elapsed())
}

async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

fn quick_timeouts(c: &mut netauth_server::infra::config::Config) {
    c.server.header_read_timeout_secs = 1;
    c.server.request_timeout_secs = 1;
    c.server.idle_timeout_secs = 2;
}

#[tokio::test]
async fn silent_slow_and_idle_connections_are_closed() {
    let app = spawn_with(Options { tweak: Box::new(quick_timeouts), ..Default::default() }).await;
    // Sends nothing.
    let mut silent = connect_from(&app, "127.0.0.1").await;
    // Sends half its headers, then a byte a while (slowloris).
    let mut slow = connect_from(&app, "127.0.0.1").await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let trickle = async {
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow.write_all(b"X").await.is_err() {
                break;
            }
        }
    };
    let (t_silent, ()) = tokio::join!(closed_after(&mut silent, Duration::from_secs(5)), trickle);
    let t_silent = t_silent.expect("a silent connection is closed");
    assert!(t_silent < Duration::from_secs(3), "{t_silent:?}");
    let t_slow = closed_after(&mut slow, Duration::from_secs(5)).await;
    assert!(t_slow.is_some(), "a connection trickling its headers is closed");
    // Kept alive after a response, then idle: closed too.
    let mut kept = connect_from(&app, "127.0.0.1").await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_after(&mut kept, Duration::from_secs(5)).await.is_some(), "idle keep-alive closed");
    // A request body that stalls: closed by the idle timeout at the latest.
    let mut stalled = connect_from(&app, "127.0.0.1").await;
    stalled
        .write_all(b"POST /token HTTP/1.1\r\nHost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ngrant")
        .await
        .unwrap();
    assert!(closed_after(&mut stalled, Duration::from_secs(6)).await.is_some(), "stalled body closed");
    assert_eq!(metric(&app, "netauth_http_connections_open").await, 1, "only the metrics request is open");
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| c.server.max_connections_per_address = 5),
        ..Default::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from(&app, "127.0.0.7").await);
    }
    // Give the server a moment to accept them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sixth = connect_from(&app, "127.0.0.7").await;
    let t = closed_after(&mut sixth, Duration::from_secs(2)).await;
    assert!(t.is_some_and(|t| t < Duration::from_secs(1)), "the sixth is closed at once: {t:?}");
    // Everyone else is served.
    assert_eq!(app.http.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert!(metric(&app, "netauth_http_connections_refused_total").await >= 1);
    assert!(metric(&app, "netauth_http_connections_open").await >= 5);
    drop(held);
}

/// The attack of the issue, scaled down: more slowloris connections than the
/// server will hold. The cap keeps the server within its descriptors, and
/// the header timeout frees the slots, so a real client gets through.
#[tokio::test]
async fn at_the_connection_cap_others_wait_then_get_served() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| {
            quick_timeouts(c);
            c.server.max_connections = 20;
        }),
        ..Default::default()
    })
    .await;
    let mut attackers = Vec::new();
    for i in 0..30 {
        let mut s = connect_from(&app, &format!("127.0.1.{}", i % 10 + 1)).await;
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        attackers.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let r = client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let waited = start.elapsed();
    assert!(waited < Duration::from_secs(5), "served once slots freed: {waited:?}");
    assert!(metric(&app, "netauth_http_connections_at_capacity_total").await >= 1);
    drop(attackers);
}
