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
//!
//! This file holds what the application state keeps (the slot, the origin
//! cache); the middleware that reads the state is `infra/cors_layer.rs`, so
//! that `state` and the middleware form no import cycle.

use netauth_store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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

    pub(crate) fn get(&self) -> Option<&str> {
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
