//! Operations endpoints: liveness, readiness (the Store answers), metrics.

use crate::infra::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub async fn healthz_get() -> &'static str {
    "ok"
}

pub async fn readyz_get(State(app): State<AppState>) -> Response {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable").into_response()
        }
    }
}

pub async fn metrics_get(State(app): State<AppState>) -> Response {
    let revocations = app.revocations.read().map(|s| s.len() as u64).unwrap_or(0);
    let body = app.metrics.render(&[(
        "netauth_revocation_set_entries",
        "Entries in this node's in-memory revocation set.",
        revocations,
    )]);
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}
