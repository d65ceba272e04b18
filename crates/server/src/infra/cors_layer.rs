//! The CORS middleware (the Fetch Standard's CORS protocol) on
//! `routes::CORS` paths: preflights and the answers' CORS headers, as
//! `infra/cors.rs` describes. Apart from that file because it reads the
//! application state, which holds `cors.rs`'s origin cache.

use crate::infra::cors::CorsClient;
use crate::infra::state::AppState;
use crate::routes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Request headers a browser app may send on these endpoints: credentials,
/// form or JSON bodies, CAMARA's `x-correlator`, seed 004's G2P headers.
const ALLOWED_HEADERS: &str = "authorization, content-type, x-correlator, timestamp, message_id";
/// Response headers the app may read besides the safelisted ones: the
/// RFC 6750 / RFC 6749 challenge, rate-limit waits, the correlator.
const EXPOSED_HEADERS: &str = "www-authenticate, retry-after, x-correlator";
/// How long a browser may reuse a preflight answer (seconds).
const MAX_AGE: &str = "600";

/// The one `Origin` of a request (none, or several, is no CORS request).
/// An opaque origin (`null`) is one no client can register, so it is
/// never allowed.
fn origin_of(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(header::ORIGIN).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => Some(v.clone()),
        _ => None,
    }
}

fn vary(resp: &mut Response, what: &'static str) {
    resp.headers_mut().append(header::VARY, HeaderValue::from_static(what));
}

/// Part of the middleware on every request (`app::observe` calls it); it
/// acts only on `routes::CORS` paths.
pub async fn cors(app: &AppState, mut req: Request, next: Next) -> Response {
    let Some(methods) = routes::cors_methods(req.uri().path()) else {
        return next.run(req).await;
    };
    let origin = origin_of(req.headers());
    if req.method() == Method::OPTIONS
        && let Some(origin) = &origin
        && let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(app, origin, asked, methods).await;
    }
    let slot = CorsClient::default();
    if origin.is_some() {
        req.extensions_mut().insert(slot.clone());
    }
    let mut resp = next.run(req).await;
    vary(&mut resp, "origin");
    if let (Some(origin), Some(client_id)) = (origin, slot.get()) {
        let registered = match app.client(client_id).await {
            Ok(Some(c)) => {
                c.is_active()
                    && c.cors_origins.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
            }
            // No answer about the client: no CORS headers (the browser
            // keeps the answer from the page; the app sees a network error).
            Ok(None) | Err(_) => false,
        };
        if registered {
            let h = resp.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
        }
    }
    resp
}

async fn preflight(
    app: &AppState,
    origin: &HeaderValue,
    asked: &HeaderValue,
    methods: &'static str,
) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    vary(&mut resp, "origin");
    vary(&mut resp, "access-control-request-method");
    vary(&mut resp, "access-control-request-headers");
    let method_ok = asked.to_str().is_ok_and(|m| methods.split(", ").any(|x| x == m));
    let origin_ok = match origin.to_str() {
        Ok(o) => match app.cors_origins.contains(app.store.as_ref(), o).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "CORS preflight: the client table could not be read");
                false
            }
        },
        Err(_) => false,
    };
    if method_ok && origin_ok {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    }
    resp
}
