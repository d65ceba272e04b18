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
