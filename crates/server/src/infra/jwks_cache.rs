//! Clients' remote key sets (`jwks_uri`), cached per node. A set is trusted
//! for `jwks_cache_secs`; an assertion naming an unknown `kid` triggers a
//! re-fetch, at most once per `jwks_refresh_min_secs` per client, so a flood
//! of bogus `kid`s cannot turn netauth into a request amplifier.
//!
//! A client controls what its `jwks_uri` answers, so the fetch is bounded
//! too (issue #10 point 4, SECURITY.md 30): the body is read chunk by chunk
//! and abandoned past 64 KiB whether or not it announced a length; a failed
//! fetch is remembered for `jwks_refresh_min_secs` and answered from memory
//! meanwhile; and concurrent fetches of one URI share a single request.

use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest key set document accepted.
pub const MAX_JWKS_BYTES: usize = 64 * 1024;

/// The outcome of the last fetch of a URI.
#[derive(Clone)]
enum Entry {
    Fetched { set: Arc<JwkSet>, at: Instant },
    Failed { error: JwksError, at: Instant },
}

impl Entry {
    fn at(&self) -> Instant {
        match self {
            Self::Fetched { at, .. } | Self::Failed { at, .. } => *at,
        }
    }
}

pub struct JwksCache {
    ttl: Duration,
    min_refresh: Duration,
    timeout: Duration,
    map: Mutex<HashMap<String, Entry>>,
    /// One lock per URI: whoever holds it fetches, the others wait and use
    /// the result. Bounded like the map, by the registered URIs.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum JwksError {
    #[error("the client's jwks_uri could not be fetched: {0}")]
    Fetch(String),
    #[error("the client's jwks_uri did not return a JWK Set")]
    Invalid,
    #[error("the client's jwks_uri returned more than 64 KiB")]
    TooLarge,
}

impl JwksCache {
    pub fn new(ttl: Duration, min_refresh: Duration, timeout: Duration) -> Self {
        Self {
            ttl,
            min_refresh,
            timeout,
            map: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, uri: &str) -> Option<Entry> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).get(uri).cloned()
    }

    /// The key set at `uri`: cached while fresh, fetched otherwise. A recent
    /// failure is repeated without fetching again.
    pub async fn get(&self, http: &reqwest::Client, uri: &str) -> Result<Arc<JwkSet>, JwksError> {
        match self.cached(uri) {
            Some(Entry::Fetched { set, at }) if at.elapsed() < self.ttl => Ok(set),
            Some(Entry::Failed { error, at }) if at.elapsed() < self.min_refresh => Err(error),
            _ => self.fetch(http, uri).await,
        }
    }

    /// Re-fetches after an unknown `kid`, unless fetched too recently.
    /// Returns `None` when the cached copy is too fresh to re-fetch.
    pub async fn refresh(&self, http: &reqwest::Client, uri: &str) -> Result<Option<Arc<JwkSet>>, JwksError> {
        match self.cached(uri) {
            Some(Entry::Failed { error, at }) if at.elapsed() < self.min_refresh => Err(error),
            Some(e) if e.at().elapsed() < self.min_refresh => Ok(None),
            _ => self.fetch(http, uri).await.map(Some),
        }
    }

    /// Fetches `uri` once for everyone asking at the same time.
    async fn fetch(&self, http: &reqwest::Client, uri: &str) -> Result<Arc<JwkSet>, JwksError> {
        let asked = Instant::now();
        let lock = {
            let mut m = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            m.entry(uri.to_owned()).or_default().clone()
        };
        let _turn = lock.lock().await;
        // Someone fetched while we waited: theirs is the answer.
        match self.cached(uri) {
            Some(Entry::Fetched { set, at }) if at >= asked => return Ok(set),
            Some(Entry::Failed { error, at }) if at >= asked => return Err(error),
            _ => {}
        }
        let result = self.download(http, uri).await;
        let entry = match &result {
            Ok(set) => Entry::Fetched { set: set.clone(), at: Instant::now() },
            Err(error) => {
                tracing::info!(%error, "jwks_uri fetch failed; remembered for jwks_refresh_min_secs");
                Entry::Failed { error: error.clone(), at: Instant::now() }
            }
        };
        // One entry per registered jwks_uri: bounded by the client registry.
        self.map.lock().unwrap_or_else(|p| p.into_inner()).insert(uri.to_owned(), entry);
        result
    }

    async fn download(&self, http: &reqwest::Client, uri: &str) -> Result<Arc<JwkSet>, JwksError> {
        let mut resp = http
            .get(uri)
            .timeout(self.timeout)
            .header("accept", "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| JwksError::Fetch(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(JwksError::Fetch(format!("status {}", resp.status())));
        }
        if resp.content_length().is_some_and(|l| l > MAX_JWKS_BYTES as u64) {
            return Err(JwksError::TooLarge);
        }
        // Chunk by chunk: a chunked body announces no length, and reading it
        // whole would let the client choose how much memory we spend.
        let mut body = Vec::new();
        while let Some(chunk) =
            resp.chunk().await.map_err(|e| JwksError::Fetch(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| JwksError::Invalid)?;
        Ok(Arc::new(netauth_domain::client_auth::parse_jwks(&v)))
    }
}
