//! Clients' remote key sets (`jwks_uri`), cached per node. A set is trusted
//! for `jwks_cache_secs`; an assertion naming an unknown `kid` triggers a
//! re-fetch, at most once per `jwks_refresh_min_secs` per client, so a flood
//! of bogus `kid`s cannot turn netauth into a request amplifier.

use jsonwebtoken::jwk::JwkSet;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest key set document accepted.
const MAX_JWKS_BYTES: usize = 64 * 1024;

#[derive(Clone)]
struct Entry {
    set: Arc<JwkSet>,
    fetched: Instant,
}

pub struct JwksCache {
    ttl: Duration,
    min_refresh: Duration,
    timeout: Duration,
    map: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the client's jwks_uri could not be fetched: {0}")]
    Fetch(String),
    #[error("the client's jwks_uri did not return a JWK Set")]
    Invalid,
}

impl JwksCache {
    pub fn new(ttl: Duration, min_refresh: Duration, timeout: Duration) -> Self {
        Self { ttl, min_refresh, timeout, map: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, uri: &str) -> Option<Entry> {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).get(uri).cloned()
    }

    /// The key set at `uri`: cached while fresh, fetched otherwise.
    pub async fn get(&self, http: &reqwest::Client, uri: &str) -> Result<Arc<JwkSet>, JwksError> {
        match self.cached(uri) {
            Some(e) if e.fetched.elapsed() < self.ttl => Ok(e.set),
            _ => self.fetch(http, uri).await,
        }
    }

    /// Re-fetches after an unknown `kid`, unless fetched too recently.
    /// Returns `None` when the cached copy is too fresh to re-fetch.
    pub async fn refresh(&self, http: &reqwest::Client, uri: &str) -> Result<Option<Arc<JwkSet>>, JwksError> {
        if self.cached(uri).is_some_and(|e| e.fetched.elapsed() < self.min_refresh) {
            return Ok(None);
        }
        self.fetch(http, uri).await.map(Some)
    }

    async fn fetch(&self, http: &reqwest::Client, uri: &str) -> Result<Arc<JwkSet>, JwksError> {
        let resp = http
            .get(uri)
            .timeout(self.timeout)
            .header("accept", "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|e| JwksError::Fetch(e.without_url().to_string()))?;
        if !resp.status().is_success() {
            return Err(JwksError::Fetch(format!("status {}", resp.status())));
        }
        if resp.content_length().is_some_and(|l| l as usize > MAX_JWKS_BYTES) {
            return Err(JwksError::Invalid);
        }
        let body = resp.bytes().await.map_err(|e| JwksError::Fetch(e.without_url().to_string()))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(JwksError::Invalid);
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| JwksError::Invalid)?;
        let set = Arc::new(netauth_domain::client_auth::parse_jwks(&v));
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // One entry per registered jwks_uri: bounded by the client registry.
        m.insert(uri.to_owned(), Entry { set: set.clone(), fetched: Instant::now() });
        Ok(set)
    }
}
