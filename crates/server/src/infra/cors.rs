//! CORS (the Fetch Standard's CORS protocol) on the endpoints a browser app
//! calls itself: the token endpoint, the UserInfo endpoint and the CAMARA
//! resource APIs (`routes::CORS`). Only the origins a client registered
//! (`cors_origins`, seed 001's dashboard setting) are ever allowed; never a
//! wildcard, never credentials mode (the client's secret or bearer token
//! travels in `Authorization`, set by the app, not by the browser).
//!
//! ```text
//! OPTIONS + Origin + Access-Control-Request-Method (preflight)
//!   └─ 204; allowed when some active client registered the origin
//!      (the client is not known yet): Allow-Origin, -Methods, -Headers, Max-Age
//! any other request with Origin
//!   └─ the handler runs; whoever authenticates the caller (client
//!      authentication, the bearer token) writes its client id into the
//!      request's `CorsClient` slot; the origin is echoed only when that
//!      client registered it
//! every answer on these paths: Vary: Origin (a cache must not serve one
//! origin's answer to another, or a no-CORS answer to a CORS request)
//! ```
//!
//! The preflight's set of registered origins is cached per node for
//! `client_auth.client_cache_secs` and emptied by every client change
//! notice in the revocation log, like the client cache.

use crate::infra::state::AppState;
use crate::routes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use netauth_store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Request headers a browser app may send on these endpoints: credentials,
/// form or JSON bodies, CAMARA's `x-correlator`, seed 004's G2P headers.
const ALLOWED_HEADERS: &str = "authorization, content-type, x-correlator, timestamp, message_id";
/// Response headers the app may read besides the safelisted ones: the
/// RFC 6750 / RFC 6749 challenge, rate-limit waits, the correlator.
const EXPOSED_HEADERS: &str = "www-authenticate, retry-after, x-correlator";
/// How long a browser may reuse a preflight answer (seconds).
const MAX_AGE: &str = "600";

/// The client a request authenticated as, for the CORS answer. The
/// middleware puts an empty slot in the request's extensions; client
/// authentication and bearer-token checks fill it.
#[derive(Clone, Default, Debug)]
pub struct CorsClient(Arc<OnceLock<String>>);

impl CorsClient {
    /// Records the authenticated client (the first one wins).
    pub fn set(&self, client_id: &str) {
        let _ = self.0.set(client_id.to_owned());
    }

    fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }

    /// Fills the slot of a request, if the CORS middleware gave it one.
    pub fn note(extensions: &axum::http::Extensions, client_id: &str) {
        if let Some(slot) = extensions.get::<Self>() {
            slot.set(client_id);
        }
    }
}

/// The origins every active client registered, cached (see the module docs).
pub struct OriginCache {
    ttl: Duration,
    current: Mutex<Option<(Instant, Arc<HashSet<String>>)>>,
    /// Bumped by every invalidation: a read that started before one must
    /// not install what it read.
    generation: AtomicU64,
    /// One rebuild at a time: a burst of preflights after a client change
    /// reads the client table once, not once per request.
    rebuild: tokio::sync::Mutex<()>,
}

/// Clients read per Store call while building the set.
const PAGE: u32 = 1000;

impl OriginCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
            rebuild: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self) -> Option<Arc<HashSet<String>>> {
        let c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        c.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, s)| s.clone())
    }

    /// A client changed (registered, edited, suspended, deleted).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether some active client registered `origin`.
    pub async fn contains(&self, store: &dyn Store, origin: &str) -> Result<bool, StoreError> {
        let origin = origin.to_ascii_lowercase();
        if let Some(s) = self.fresh() {
            return Ok(s.contains(&origin));
        }
        let _one = self.rebuild.lock().await;
        // Someone else may have rebuilt it while this request waited.
        if let Some(s) = self.fresh() {
            return Ok(s.contains(&origin));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let mut set = HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = store.list_clients(after.as_deref(), PAGE).await?;
            for c in page.iter().filter(|c| c.is_active()) {
                set.extend(c.cors_origins.iter().map(|o| o.to_ascii_lowercase()));
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some(last.client_id.clone()),
                _ => break,
            }
        }
        let found = set.contains(&origin);
        if !self.ttl.is_zero() && self.generation.load(Ordering::SeqCst) == generation {
            *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), Arc::new(set)));
        }
        Ok(found)
    }
}

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

/// The middleware on every request; it acts only on `routes::CORS` paths.
pub async fn cors(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(methods) = routes::cors_methods(req.uri().path()) else {
        return next.run(req).await;
    };
    let origin = origin_of(req.headers());
    if req.method() == Method::OPTIONS
        && let Some(origin) = &origin
        && let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(&app, origin, asked, methods).await;
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
