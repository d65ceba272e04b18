//! The application state every handler shares, and the in-memory views of
//! Store data that keep the hot paths free of database round trips: the key
//! ring, the revocation set, the client cache.

use crate::infra::clock::Clock;
use crate::infra::config::Config;
use crate::infra::limiter::FailureLimiter;
use crate::infra::metrics::Metrics;
use arc_swap::ArcSwap;
use netauth_domain::UnixTime;
use netauth_domain::client::Client;
use netauth_domain::flows::LegalBases;
use netauth_domain::keys::{KeyRing, MasterKey};
use netauth_domain::revocation::{RevocationKind, RevocationSet};
use netauth_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub type AppState = Arc<App>;

pub struct App {
    pub config: Config,
    pub issuer: String,
    pub store: Arc<dyn Store>,
    pub master: MasterKey,
    pub keys: ArcSwap<KeyRing>,
    /// One key-ring reload at a time: a reload that read the rows before a
    /// rotation must not store its ring after the rotation's own reload.
    pub keys_reload: tokio::sync::Mutex<()>,
    pub revocations: RwLock<RevocationSet>,
    pub clients: ClientCache,
    /// The origins active clients registered, for CORS preflights.
    pub cors_origins: crate::infra::cors::OriginCache,
    /// The legal-basis rules the request policy reads (see `infra::legal_bases`).
    pub legal_bases: crate::infra::legal_bases::LegalBasesCache,
    pub jwks: crate::infra::jwks_cache::JwksCache,
    pub limiter: FailureLimiter,
    /// Per-client rate and quota on the resource APIs.
    pub api_limits: crate::infra::api_limits::ApiLimiter,
    pub metrics: Metrics,
    pub http: reqwest::Client,
    pub network: Arc<dyn crate::network::Network>,
    /// Validates operator tokens (TS.43), beside the network.
    pub entitlement: Arc<dyn crate::network::EntitlementServer>,
    /// Group commit of assertion `jti` records.
    pub jti: crate::infra::jti_writer::JtiWriter,
    /// How subscriber identifiers appear in logs (see `infra::pseudonym`).
    pub log_names: crate::infra::pseudonym::LogNames,
    /// Protocol time (see `infra::clock`).
    pub clock: Arc<dyn Clock>,
    /// The last answered requests, for the sandbox's request inspector
    /// (filled in sandbox mode only; see `infra::request_log`).
    pub requests: crate::infra::request_log::RequestLog,
    /// What `netauth sandbox` wrote to `sandbox.json` (demo clients' secrets
    /// and key files), for the sandbox's home page; empty otherwise.
    pub sandbox_description: std::sync::OnceLock<serde_json::Value>,
}

impl App {
    /// Now, in Unix seconds, from the application's clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn sandbox(&self) -> bool {
        self.config.sandbox.enabled
    }

    pub fn key_ring(&self) -> Arc<KeyRing> {
        self.keys.load_full()
    }

    /// Re-reads the key table; swaps the ring in if anything changed (or if
    /// a key's activation time has passed since the last build).
    pub async fn reload_keys(&self) -> Result<(), anyhow::Error> {
        // Held from the read to the store: reloads finish in the order they
        // read, so the last ring stored was built from the newest rows.
        let _one_at_a_time = self.keys_reload.lock().await;
        let rows = self.store.list_keys().await?;
        let ring = KeyRing::build(&self.master, &rows, self.now())?;
        if ring.fingerprint != self.keys.load().fingerprint {
            tracing::info!(keys = rows.len(), "key ring reloaded");
        }
        // Rebuilt even when the rows are the same: an activation or
        // retirement time may have passed, and the signer must switch on time.
        self.keys.store(Arc::new(ring));
        Ok(())
    }

    /// Applies new revocation-log entries; evicts cached clients they name.
    pub async fn sync_revocations(&self) -> Result<usize, StoreError> {
        self.sync_revocations_from(self.now() - 5).await
    }

    /// Like `sync_revocations`, looking back to entries created at or after
    /// `since` as well as by position. The periodic sync looks back a few
    /// seconds (positions can commit out of order); right after a local
    /// write, positions alone suffice, and the cost stays constant however
    /// busy the log is.
    pub async fn sync_revocations_from(&self, since: UnixTime) -> Result<usize, StoreError> {
        const PAGE: u32 = 10_000;
        let t = self.now();
        let mut after = self.revocations.read().map(|s| s.last_seq).unwrap_or(0);
        // The first page looks back a few seconds (see
        // RevocationStore::revocations_since); further pages, needed only
        // after a burst, continue by position alone so they always advance.
        let mut since = since;
        let mut applied = 0;
        loop {
            let entries = self.store.revocations_since(after, since, PAGE).await?;
            let Some(last) = entries.last().map(|e| e.seq) else { break };
            let mut set = self.revocations.write().unwrap_or_else(|p| p.into_inner());
            for e in &entries {
                set.apply(e);
                self.apply_change_notice(e.seq, e.kind, &e.value);
            }
            set.prune(t);
            applied += entries.len();
            if entries.len() < PAGE as usize || last <= after {
                break;
            }
            after = last;
            since = i64::MAX;
        }
        Ok(applied)
    }

    /// The `iat` for a token issued now (see `RevocationSet::issue_time`).
    pub fn issue_time(&self, client_id: &str, sub: Option<&str>) -> UnixTime {
        let t = self.now();
        self.revocations.read().map(|s| s.issue_time(client_id, sub, t)).unwrap_or(t)
    }

    pub fn is_revoked(&self, c: &netauth_domain::token::AccessClaims) -> bool {
        self.revocations.read().map(|s| s.is_revoked(c)).unwrap_or(true)
    }

    /// Which revocation matches `c`, if any (see `RevocationSet::revoked_by`).
    pub fn revoked_by(&self, c: &netauth_domain::token::AccessClaims) -> Option<RevocationKind> {
        match self.revocations.read() {
            Ok(s) => s.revoked_by(c),
            // A poisoned set is not trusted with a yes (as `is_revoked`).
            Err(_) => Some(RevocationKind::Token),
        }
    }

    /// Writes a revocation to the log and applies it here at once (other
    /// nodes follow within one sync interval).
    pub async fn revoke(
        &self,
        kind: RevocationKind,
        value: &str,
        issued_before: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        let t = self.now();
        let seq = self.store.append_revocation(kind, value, issued_before, expires_at, t).await?;
        self.apply_here(seq, kind, value, issued_before, expires_at);
        Ok(())
    }

    /// A log entry this node just wrote, applied at once.
    fn apply_here(
        &self,
        seq: i64,
        kind: RevocationKind,
        value: &str,
        issued_before: UnixTime,
        expires_at: UnixTime,
    ) {
        let mut set = self.revocations.write().unwrap_or_else(|p| p.into_inner());
        set.apply(&netauth_domain::revocation::Revocation {
            seq,
            kind,
            value: value.to_owned(),
            issued_before,
            expires_at,
        });
        drop(set);
        self.apply_change_notice(seq, kind, value);
    }

    /// RFC 7009 revocation of one of `client_id`'s access tokens, within
    /// the client's bound of live entries (`tokens.max_live_revocations_per_client`):
    /// `Ok(false)` when the client is at it and nothing was written.
    pub async fn revoke_token(
        &self,
        client_id: &str,
        jti: &str,
        issued_before: UnixTime,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let t = self.now();
        let max = self.config.tokens.max_live_revocations_per_client;
        let Some(seq) =
            self.store.append_token_revocation(client_id, jti, issued_before, expires_at, max, t).await?
        else {
            return Ok(false);
        };
        self.apply_here(seq, RevocationKind::Token, jti, issued_before, expires_at);
        Ok(true)
    }

    /// What a log entry means for this node's caches.
    fn apply_change_notice(&self, seq: i64, kind: RevocationKind, value: &str) {
        match kind {
            RevocationKind::Client => {
                self.clients.evict(value);
                self.cors_origins.invalidate();
            }
            RevocationKind::LegalBases => self.legal_bases.notice(seq),
            RevocationKind::Token | RevocationKind::Grant | RevocationKind::Subject => {}
        }
    }

    /// The legal-basis rules, from the cache or the Store.
    pub async fn legal_bases(&self) -> Result<Arc<LegalBases>, StoreError> {
        if let Some(r) = self.legal_bases.get() {
            return Ok(r);
        }
        let generation = self.legal_bases.generation();
        let rules = Arc::new(LegalBases::new(self.store.list_legal_bases().await?));
        self.legal_bases.put(generation, rules.clone());
        Ok(rules)
    }

    /// Announces a change of the legal-basis rules to every node (this one
    /// at once). Call after the Store write.
    pub async fn legal_bases_changed(&self) -> Result<(), StoreError> {
        let t = self.now();
        // Kept a minute, like a client announcement: nodes read the log by
        // position, and the cache's age bound covers a node that was away.
        self.revoke(RevocationKind::LegalBases, "", t, t + 60).await
    }

    /// The active subscriber a `login_hint` or JWT bearer `sub` designates.
    pub async fn resolve_hint(
        &self,
        hint: &netauth_proto::LoginHint,
    ) -> Result<Option<netauth_domain::subscriber::Subscriber>, StoreError> {
        crate::network::resolve_login_hint(self.network.as_ref(), self.entitlement.as_ref(), hint, self.now())
            .await
    }

    /// A client by id, from the cache or the Store.
    pub async fn client(&self, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if let Some(c) = self.clients.get(client_id) {
            return Ok(c);
        }
        let c = self.store.get_client(client_id).await?.map(Arc::new);
        self.clients.put(client_id, c.clone());
        Ok(c)
    }

    /// The longest an access token issued now could live.
    pub fn max_token_lifetime(&self) -> i64 {
        self.config.tokens.max_access_token_ttl_secs.max(self.config.tokens.id_token_ttl_secs)
    }

    pub fn access_token_ttl(&self, client: &Client) -> i64 {
        client
            .access_token_ttl
            .unwrap_or(self.config.tokens.access_token_ttl_secs)
            .clamp(1, self.config.tokens.max_access_token_ttl_secs)
    }
}

/// Client registrations cached per node for `client_cache_secs`, including
/// "no such client" (so a flood of unknown ids does not reach the database).
/// Bounded: when full, it is cleared, which costs only re-reads.
pub struct ClientCache {
    ttl: Duration,
    map: Mutex<HashMap<String, CachedClient>>,
}

/// When it was read, and the registration (`None`: no such client).
type CachedClient = (Instant, Option<Arc<Client>>);

const CLIENT_CACHE_MAX: usize = 200_000;

impl ClientCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, map: Mutex::new(HashMap::new()) }
    }

    fn get(&self, id: &str) -> Option<Option<Arc<Client>>> {
        let m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.get(id).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, c)| c.clone())
    }

    fn put(&self, id: &str, c: Option<Arc<Client>>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= CLIENT_CACHE_MAX {
            m.clear();
        }
        m.insert(id.to_owned(), (Instant::now(), c));
    }

    pub fn evict(&self, id: &str) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}
