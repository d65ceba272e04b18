//! Operations: health, readiness, metrics, request ids, bounds.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    let c = app.create_client("client_secret_basic", json!({})).await;
    app.cc_token(&c).await;
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("netauth_tokens_issued_total 1"), "{text}");
    assert!(text.contains("netauth_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn request_id_is_propagated() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn oversized_bodies_and_parameters_are_refused() {
    let app = spawn_app().await;
    let big = "a".repeat(100 * 1024);
    let r = app
        .http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&x={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let long = "a".repeat(5000);
    let r = app.post_form("/token", None, &[("grant_type", "client_credentials"), ("scope", &long)]).await;
    assert_eq!(error_of(r).await.1, "invalid_request");
}

/// Sends `request` on a fresh connection and returns the status line's code
/// (the server answers, then may close).
async fn raw_status(app: &TestApp, request: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    });
    read.await.expect("an answer within 10 s");
    let head = String::from_utf8_lossy(&buf);
    head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status line: {head}"))
}

/// Issue #10 point 12: a malformed chunked body is the client's error (400),
/// not "too large"; a chunked body over the limit is still 413.
#[tokio::test]
async fn malformed_chunked_body_is_400_and_oversized_chunked_is_413() {
    let app = spawn_app().await;
    let head = "POST /token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let bad = format!("{head}5\r\ngrant\r\nzz-not-hex\r\n\r\n");
    assert_eq!(raw_status(&app, bad.as_bytes()).await, 400);
    let bad = format!("{head}3\r\ngrant_type\r\n0\r\n\r\n"); // chunk longer than announced
    assert_eq!(raw_status(&app, bad.as_bytes()).await, 400);
    let chunk = "a".repeat(16 * 1024);
    let big: String = std::iter::once(head.to_owned())
        .chain((0..5).map(|_| format!("{:x}\r\n{chunk}\r\n", chunk.len())))
        .chain(std::iter::once("0\r\n\r\n".to_owned()))
        .collect();
    assert_eq!(raw_status(&app, big.as_bytes()).await, 413);
}

#[tokio::test]
async fn unknown_paths_are_404_in_json() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "NOT_FOUND");
}

/// Shows which store this run exercises: `scripts/test` runs the suite once
/// per backend.
#[tokio::test]
async fn runs_on_the_configured_backend() {
    let app = spawn_app().await;
    let expected = match std::env::var("NETAUTH_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => "postgres",
        _ => "sqlite",
    };
    assert_eq!(app.app.store.backend(), expected);
}
