//! The operator's legal-basis rules, cached per node so that asking the
//! authorization-request policy costs no database round trip.
//!
//! Kept current like the client cache: every change (admin API, sandbox
//! seeding) appends a `legal_bases` notice to the revocation log, and each
//! node drops its copy when it applies the notice (at once on the node that
//! made the change, within one sync interval on the others). The copy is
//! also re-read after `client_auth.client_cache_secs`, so a change made
//! behind netauth's back (SQL by hand) is picked up too; 0 disables caching.

use netauth_domain::flows::LegalBases;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct LegalBasesCache {
    ttl: Duration,
    current: Mutex<Option<(Instant, Arc<LegalBases>)>>,
    /// Bumped by every invalidation: a read that started before one must
    /// not install what it read (it may predate the change).
    generation: AtomicU64,
    /// Log positions of the notices applied: the periodic sync reads the
    /// last few seconds again (see `App::sync_revocations`), and a notice
    /// must empty the cache once, not on every sync.
    seen: Mutex<HashSet<i64>>,
}

/// Notices remembered at most; they are rare (admin changes), and
/// forgetting one costs one re-read.
const SEEN_MAX: usize = 1024;

impl LegalBasesCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            current: Mutex::new(None),
            generation: AtomicU64::new(0),
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// The cached rules while fresh.
    pub fn get(&self) -> Option<Arc<LegalBases>> {
        let c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        c.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, r)| r.clone())
    }

    /// Call before reading the rules from the Store; pass the result to
    /// [`Self::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Installs rules read since `generation` unless a change was announced
    /// in between.
    pub fn put(&self, generation: u64, rules: Arc<LegalBases>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            *c = Some((Instant::now(), rules));
        }
    }

    /// Applies the change notice at log position `seq`, the first time only.
    pub fn notice(&self, seq: i64) {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.len() >= SEEN_MAX {
                seen.clear();
            }
            if !seen.insert(seq) {
                return;
            }
        }
        self.invalidate();
    }

    /// The rules changed: the next request reads them again.
    pub fn invalidate(&self) {
        let mut c = self.current.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        *c = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_older_than_a_change_is_not_installed() {
        let c = LegalBasesCache::new(Duration::from_secs(60));
        assert!(c.get().is_none());
        let g = c.generation();
        c.invalidate(); // a change lands while the read is in flight
        c.put(g, Arc::new(LegalBases::default()));
        assert!(c.get().is_none());
        let g = c.generation();
        c.put(g, Arc::new(LegalBases::default()));
        assert!(c.get().is_some());
        c.invalidate();
        assert!(c.get().is_none());
    }

    #[test]
    fn a_notice_applies_once() {
        let c = LegalBasesCache::new(Duration::from_secs(60));
        c.notice(7);
        c.put(c.generation(), Arc::new(LegalBases::default()));
        c.notice(7); // read again by the look-back of a later sync
        assert!(c.get().is_some());
        c.notice(8);
        assert!(c.get().is_none());
    }

    #[test]
    fn zero_ttl_caches_nothing() {
        let c = LegalBasesCache::new(Duration::ZERO);
        c.put(c.generation(), Arc::new(LegalBases::default()));
        assert!(c.get().is_none());
    }
}
