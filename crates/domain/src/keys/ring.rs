//! The key ring: every live key of an installation, decrypted, as each node
//! holds it in memory, and the choice of key by time (see the rotation notes
//! in the parent module).

use super::{KeyError, KeyUse, MasterKey, SigningKey, StoredKey};
use crate::UnixTime;
use crate::client::SigningAlg;
use aws_lc_rs::aead::{AES_256_GCM_SIV, LessSafeKey, UnboundKey};
use std::collections::HashMap;

/// When a key may be used: from `active_from` until `retires_at`.
#[derive(Debug, Clone, Copy)]
struct Window {
    active_from: UnixTime,
    retires_at: Option<UnixTime>,
}

impl Window {
    fn covers(&self, now: UnixTime) -> bool {
        self.active_from <= now && self.retires_at.is_none_or(|r| now < r)
    }
}

/// A key with the window it may be used in.
type Scheduled<T> = (Window, T);

/// Keys with their windows, at least one (so there is always a pick), in the
/// order they were listed.
struct Schedule<T> {
    first: Scheduled<T>,
    rest: Vec<Scheduled<T>>,
}

impl<T> Schedule<T> {
    fn new(mut keys: Vec<Scheduled<T>>) -> Option<Self> {
        if keys.is_empty() {
            return None;
        }
        let first = keys.remove(0);
        Some(Self { first, rest: keys })
    }

    fn iter(&self) -> impl Iterator<Item = &Scheduled<T>> {
        std::iter::once(&self.first).chain(&self.rest)
    }

    /// The key to use at `now`: the newest covering it; failing that (a gap
    /// between reloads), the newest already active; failing that, the
    /// earliest to start.
    fn pick(&self, now: UnixTime) -> &T {
        // Ties on `active_from` (a rotation in the same second as the previous
        // activation) go to the key not scheduled to retire: the newer one.
        let newest = |(w, _): &&Scheduled<T>| (w.active_from, w.retires_at.is_none());
        let (_, k) = self
            .iter()
            .filter(|(w, _)| w.covers(now))
            .max_by_key(newest)
            .or_else(|| self.iter().filter(|(w, _)| w.active_from <= now).max_by_key(newest))
            .or_else(|| self.iter().min_by_key(|(w, _)| w.active_from))
            .unwrap_or(&self.first);
        k
    }
}

/// The keys of an installation, decrypted, as every node holds them in
/// memory. Built from the Store's rows; rebuilt when they change.
///
/// It holds the keys scheduled to start signing too, and picks by time at
/// each use, so every node switches at `active_from` exactly, not at its next
/// reload.
pub struct KeyRing {
    /// ES256 is always there (`build` refuses a ring without it) and is the
    /// fallback for an algorithm that has no key.
    es256: Schedule<(String, SigningKey)>,
    /// The other algorithms that have keys.
    signing: HashMap<SigningAlg, Schedule<(String, SigningKey)>>,
    /// Every live sealing key: all can open tokens, the pick seals.
    sealing: Schedule<(String, LessSafeKey)>,
    jwks: serde_json::Value,
    built_at: UnixTime,
    /// The rows it was built from, to tell whether a reload changed anything.
    pub fingerprint: Vec<(String, UnixTime, Option<UnixTime>)>,
}

impl KeyRing {
    pub fn build(master: &MasterKey, keys: &[StoredKey], now: UnixTime) -> Result<Self, KeyError> {
        let mut signing: HashMap<SigningAlg, Vec<Scheduled<(String, SigningKey)>>> = HashMap::new();
        let mut sealing = Vec::new();
        let mut published = Vec::new();
        for k in keys {
            if k.expires_at.is_some_and(|e| e <= now) {
                continue;
            }
            let window = Window { active_from: k.active_from, retires_at: k.retires_at };
            match k.key_use {
                KeyUse::Sig => {
                    if let Some(j) = &k.public_jwk {
                        published.push(j.clone());
                    }
                    let Some(alg) = SigningAlg::parse(&k.alg) else { continue };
                    // Retired keys sign nothing again: only their public half is needed.
                    if k.retires_at.is_some_and(|r| r <= now) {
                        continue;
                    }
                    let der = master.open(&k.kid, &k.encrypted)?;
                    let key = SigningKey::from_pkcs8(alg, &der)
                        .ok_or_else(|| KeyError::Malformed(k.kid.clone()))?;
                    signing.entry(alg).or_default().push((window, (k.kid.clone(), key)));
                }
                KeyUse::Seal => {
                    // Every live sealing key can open tokens, including one not
                    // yet in use (another node may already have switched).
                    let secret = master.open(&k.kid, &k.encrypted)?;
                    let unbound = UnboundKey::new(&AES_256_GCM_SIV, &secret)
                        .map_err(|_| KeyError::Malformed(k.kid.clone()))?;
                    sealing.push((window, (k.kid.clone(), LessSafeKey::new(unbound))));
                }
            }
        }
        let sealing = Schedule::new(sealing).ok_or(KeyError::NoActiveKey("sealing"))?;
        let es256 = signing
            .remove(&SigningAlg::ES256)
            .and_then(Schedule::new)
            .ok_or(KeyError::NoActiveKey("ES256 signing"))?;
        let signing = signing.into_iter().filter_map(|(alg, v)| Some((alg, Schedule::new(v)?))).collect();
        let mut fingerprint: Vec<_> =
            keys.iter().map(|k| (k.kid.clone(), k.active_from, k.retires_at)).collect();
        fingerprint.sort();
        Ok(Self {
            es256,
            signing,
            sealing,
            jwks: serde_json::json!({ "keys": published }),
            built_at: now,
            fingerprint,
        })
    }

    /// The JWK Set `/jwks` serves.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// The key that signs with `alg` at `now`, falling back to ES256.
    pub fn signer_at(&self, alg: SigningAlg, now: UnixTime) -> (&str, &SigningKey) {
        let (kid, key) = self.signing.get(&alg).unwrap_or(&self.es256).pick(now);
        (kid, key)
    }

    /// The key that signs with `alg` at the time the ring was built.
    pub fn signer(&self, alg: SigningAlg) -> (&str, &SigningKey) {
        self.signer_at(alg, self.built_at)
    }

    pub fn signing_algs(&self) -> Vec<SigningAlg> {
        SigningAlg::ALL
            .into_iter()
            .filter(|a| *a == SigningAlg::ES256 || self.signing.contains_key(a))
            .collect()
    }

    pub(crate) fn sealing_key(&self, now: UnixTime) -> (&str, &LessSafeKey) {
        let (kid, key) = self.sealing.pick(now);
        (kid, key)
    }

    /// Any live sealing key (a handful at most: a linear scan).
    pub(crate) fn opening_key(&self, kid: &str) -> Option<&LessSafeKey> {
        self.sealing.iter().find(|(_, (k, _))| k == kid).map(|(_, (_, key))| key)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{initial_keys, plan_rotation};
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_base64(&MasterKey::generate_base64()).unwrap()
    }

    #[test]
    fn keyring_signs_and_publishes() {
        let m = master();
        let keys = initial_keys(&m, 100).unwrap();
        let ring = KeyRing::build(&m, &keys, 100).unwrap();
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 4);
        for alg in SigningAlg::ALL {
            let (kid, k) = ring.signer(alg);
            assert_eq!(k.alg(), alg);
            let jwt = k.sign_jwt(Some(kid), None, &serde_json::json!({"a": 1}));
            assert_eq!(jwt.split('.').count(), 3);
        }
    }

    #[test]
    fn same_second_rotation_switches_to_the_newest_keys() {
        let m = master();
        let mut keys = initial_keys(&m, 0).unwrap();
        for delay in [3600, 0] {
            let plan = plan_rotation(&m, &keys, 0, delay, 7200).unwrap();
            for (kid, r, e) in &plan.retire {
                let k = keys.iter_mut().find(|k| &k.kid == kid).unwrap();
                k.retires_at = Some(*r);
                k.expires_at = Some(*e);
            }
            keys.extend(plan.new_keys);
        }
        let newest_seal = keys.iter().rev().find(|k| k.key_use == KeyUse::Seal).unwrap().kid.clone();
        let ring = KeyRing::build(&m, &keys, 0).unwrap();
        assert_eq!(ring.sealing_key(0).0, newest_seal);
    }

    #[test]
    fn wrong_master_key_fails() {
        let keys = initial_keys(&master(), 100).unwrap();
        assert!(matches!(KeyRing::build(&master(), &keys, 100), Err(KeyError::Decrypt(_))));
    }

    #[test]
    fn rotation_publishes_first_then_switches() {
        let m = master();
        let mut keys = initial_keys(&m, 0).unwrap();
        let old_kid = KeyRing::build(&m, &keys, 0).unwrap().signer(SigningAlg::ES256).0.to_owned();
        let plan = plan_rotation(&m, &keys, 10, 60, 3600).unwrap();
        for (kid, r, e) in &plan.retire {
            let k = keys.iter_mut().find(|k| &k.kid == kid).unwrap();
            k.retires_at = Some(*r);
            k.expires_at = Some(*e);
        }
        keys.extend(plan.new_keys);
        // Before the delay: both published, the old one signs.
        let ring = KeyRing::build(&m, &keys, 20).unwrap();
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 8);
        assert_eq!(ring.signer(SigningAlg::ES256).0, old_kid);
        // After it: the new one signs, the old one is still published.
        let ring = KeyRing::build(&m, &keys, 71).unwrap();
        assert_ne!(ring.signer(SigningAlg::ES256).0, old_kid);
        // A ring built before the switch switches on time, without a reload.
        let early = KeyRing::build(&m, &keys, 20).unwrap();
        assert_eq!(early.signer_at(SigningAlg::ES256, 69).0, old_kid);
        assert_eq!(early.signer_at(SigningAlg::ES256, 70).0, ring.signer(SigningAlg::ES256).0);
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 8);
        // After the old one's tokens have expired: only the new ones.
        let ring = KeyRing::build(&m, &keys, 70 + 3600).unwrap();
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 4);
    }
}
