//! Server keys: JWS signing keys (published in `/jwks`, `kid` = RFC 7638
//! thumbprint) and the symmetric keys that seal access tokens.
//!
//! Private material is stored encrypted under the master key with
//! AES-256-GCM-SIV (the key id is the associated data, so a ciphertext cannot
//! be moved to another key's row).
//!
//! Rotation (see `plan_rotation`): a new key is written with `active_from` in
//! the future, so every node publishes it (and, for sealing keys, can open
//! tokens sealed with it) before any node uses it. The key it replaces gets
//! `retires_at` = that instant and `expires_at` = `retires_at` plus the longest
//! lifetime of anything it signed, and stays published until then.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "being split by aggregate; the split removes these (issue 7)"
)]

use crate::UnixTime;
use crate::client::SigningAlg;
use crate::crypto::{b64url, random_bytes, sha256};
use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
    RsaKeyPair,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key must be 32 bytes, base64 or base64url encoded")]
    BadMasterKey,
    #[error("key {0} could not be decrypted with this master key")]
    Decrypt(String),
    #[error("key {0} is malformed")]
    Malformed(String),
    #[error("no active {0} key")]
    NoActiveKey(&'static str),
    #[error("key generation failed")]
    Generate,
}

/// What a stored key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyUse {
    /// JWS signing (ID tokens); the algorithm says which.
    Sig,
    /// Access-token sealing (AES-256-GCM-SIV); never published.
    Seal,
}

impl KeyUse {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sig => "sig",
            Self::Seal => "seal",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sig" => Some(Self::Sig),
            "seal" => Some(Self::Seal),
            _ => None,
        }
    }
}

/// A key as the Store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kid: String,
    pub key_use: KeyUse,
    /// `ES256`, `RS256`, `PS256`, `EdDSA`, or `A256GCMSIV` for sealing keys.
    pub alg: String,
    /// nonce ‖ AES-256-GCM-SIV(master key, private material), AAD = kid.
    pub encrypted: Vec<u8>,
    /// The public JWK (signing keys only).
    pub public_jwk: Option<serde_json::Value>,
    pub created_at: UnixTime,
    pub active_from: UnixTime,
    pub retires_at: Option<UnixTime>,
    pub expires_at: Option<UnixTime>,
}

pub const SEAL_ALG: &str = "A256GCMSIV";

/// The master key that encrypts every stored private key. A second key,
/// derived from it, makes pairwise subject identifiers.
#[derive(Clone)]
pub struct MasterKey(LessSafeKeyBox, aws_lc_rs::hmac::Key);

#[derive(Clone)]
struct LessSafeKeyBox(std::sync::Arc<LessSafeKey>);

impl MasterKey {
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeyError> {
        if b.len() != 32 {
            return Err(KeyError::BadMasterKey);
        }
        let k = UnboundKey::new(&AES_256_GCM_SIV, b).map_err(|_| KeyError::BadMasterKey)?;
        let derive = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b);
        let pairwise = aws_lc_rs::hmac::sign(&derive, b"netauth pairwise subject v1");
        let pairwise = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, pairwise.as_ref());
        Ok(Self(LessSafeKeyBox(std::sync::Arc::new(LessSafeKey::new(k))), pairwise))
    }

    /// Accepts standard or URL-safe base64, padded or not.
    pub fn from_base64(s: &str) -> Result<Self, KeyError> {
        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let s = s.trim();
        let b = STANDARD
            .decode(s)
            .or_else(|_| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')))
            .map_err(|_| KeyError::BadMasterKey)?;
        Self::from_bytes(&b)
    }

    /// A pairwise pseudonymous `sub` (OIDC Core §8.1): the same subscriber
    /// gets a different, stable identifier in each sector (client), which
    /// cannot be reversed or correlated across clients without this key.
    pub fn pairwise_sub(&self, sector: &str, subscriber_id: &str) -> String {
        let mut msg = Vec::with_capacity(sector.len() + subscriber_id.len() + 1);
        msg.extend_from_slice(sector.as_bytes());
        msg.push(0);
        msg.extend_from_slice(subscriber_id.as_bytes());
        b64url(aws_lc_rs::hmac::sign(&self.1, &msg).as_ref())
    }

    pub fn generate_base64() -> String {
        b64url(&random_bytes::<32>())
    }

    fn seal(&self, kid: &str, plain: &[u8]) -> Vec<u8> {
        seal_with(&self.0.0, kid.as_bytes(), plain)
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        open_with(&self.0.0, kid.as_bytes(), sealed).ok_or_else(|| KeyError::Decrypt(kid.to_owned()))
    }
}

/// nonce ‖ ciphertext ‖ tag. GCM-SIV keeps a repeated random nonce from
/// being catastrophic, which matters at the token volumes a sealing key sees.
pub(crate) fn seal_with(key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce_bytes = random_bytes::<12>();
    let mut out = Vec::with_capacity(12 + plain.len() + 16);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(plain);
    let nonce = Nonce::assume_unique_for_key(nonce_bytes);
    let (_, body) = out.split_at_mut(12);
    let tag = key
        .seal_in_place_separate_tag(nonce, Aad::from(aad), body)
        .expect("AES-GCM-SIV sealing of a bounded buffer cannot fail");
    out.extend_from_slice(tag.as_ref());
    out
}

pub(crate) fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 12 + 16 {
        return None;
    }
    let (nonce, body) = sealed.split_at(12);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = body.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?;
    let n = plain.len();
    buf.truncate(n);
    Some(buf)
}

/// A private signing key ready to sign.
pub enum SigningKey {
    Es256(EcdsaKeyPair),
    Rsa(RsaKeyPair, SigningAlg),
    EdDsa(Ed25519KeyPair),
}

impl SigningKey {
    pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Option<Self> {
        Some(match alg {
            SigningAlg::ES256 => {
                Self::Es256(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).ok()?)
            }
            SigningAlg::RS256 | SigningAlg::PS256 => Self::Rsa(RsaKeyPair::from_pkcs8(der).ok()?, alg),
            SigningAlg::EdDSA => Self::EdDsa(Ed25519KeyPair::from_pkcs8(der).ok()?),
        })
    }

    /// Generates a key; returns it with its PKCS#8 DER encoding.
    pub fn generate(alg: SigningAlg) -> Result<(Self, Vec<u8>), KeyError> {
        let der = match alg {
            SigningAlg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec(),
            SigningAlg::RS256 | SigningAlg::PS256 => {
                let k = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
                let der =
                    AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&k).map_err(|_| KeyError::Generate)?;
                der.as_ref().to_vec()
            }
            SigningAlg::EdDSA => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|_| KeyError::Generate)?
                .as_ref()
                .to_vec(),
        };
        let key = Self::from_pkcs8(alg, &der).ok_or(KeyError::Generate)?;
        Ok((key, der))
    }

    pub fn alg(&self) -> SigningAlg {
        match self {
            Self::Es256(_) => SigningAlg::ES256,
            Self::Rsa(_, a) => *a,
            Self::EdDsa(_) => SigningAlg::EdDSA,
        }
    }

    /// The public key as a JWK (without `kid`, `use`, `alg`).
    pub fn public_jwk_members(&self) -> serde_json::Value {
        match self {
            Self::Es256(k) => {
                let p = k.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 ‖ x ‖ y.
                serde_json::json!({"crv": "P-256", "kty": "EC", "x": b64url(&p[1..33]), "y": b64url(&p[33..65])})
            }
            Self::Rsa(k, _) => {
                let p = k.public_key();
                serde_json::json!({
                    "e": b64url(p.exponent().big_endian_without_leading_zero()),
                    "kty": "RSA",
                    "n": b64url(p.modulus().big_endian_without_leading_zero()),
                })
            }
            Self::EdDsa(k) => {
                serde_json::json!({"crv": "Ed25519", "kty": "OKP", "x": b64url(k.public_key().as_ref())})
            }
        }
    }

    /// Signs `msg` (the JWS signing input).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Es256(k) => k.sign(&rng, msg).expect("ECDSA signing cannot fail").as_ref().to_vec(),
            Self::Rsa(k, alg) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                let pad: &'static dyn aws_lc_rs::signature::RsaEncoding =
                    if *alg == SigningAlg::PS256 { &RSA_PSS_SHA256 } else { &RSA_PKCS1_SHA256 };
                k.sign(pad, &rng, msg, &mut sig).expect("RSA signing cannot fail");
                sig
            }
            Self::EdDsa(k) => k.sign(msg).as_ref().to_vec(),
        }
    }

    /// Produces a compact JWS of `claims` with the given header `kid`.
    pub fn sign_jwt(&self, kid: Option<&str>, typ: Option<&str>, claims: &serde_json::Value) -> String {
        let mut header = serde_json::json!({"alg": self.alg().as_str()});
        if let Some(k) = kid {
            header["kid"] = k.into();
        }
        if let Some(t) = typ {
            header["typ"] = t.into();
        }
        let mut input = b64url(header.to_string().as_bytes());
        input.push('.');
        input.push_str(&b64url(claims.to_string().as_bytes()));
        let sig = self.sign(input.as_bytes());
        input.push('.');
        input.push_str(&b64url(&sig));
        input
    }
}

/// RFC 7638 thumbprint of a public JWK: SHA-256 of the required members in
/// lexicographic order, no whitespace. `serde_json` keeps object keys sorted,
/// which is exactly the canonical order.
pub fn jwk_thumbprint(jwk: &serde_json::Value) -> String {
    let required: &[&str] = match jwk.get("kty").and_then(|v| v.as_str()) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("RSA") => &["e", "kty", "n"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => &[],
    };
    let mut m = serde_json::Map::new();
    for k in required {
        if let Some(v) = jwk.get(*k) {
            m.insert((*k).to_owned(), v.clone());
        }
    }
    b64url(&sha256(serde_json::Value::Object(m).to_string().as_bytes()))
}

/// Creates a stored signing key for `alg`, active from `active_from`.
pub fn new_signing_key(
    master: &MasterKey,
    alg: SigningAlg,
    now: UnixTime,
    active_from: UnixTime,
) -> Result<StoredKey, KeyError> {
    let (key, der) = SigningKey::generate(alg)?;
    let mut jwk = key.public_jwk_members();
    let kid = jwk_thumbprint(&jwk);
    jwk["kid"] = kid.clone().into();
    jwk["use"] = "sig".into();
    jwk["alg"] = alg.as_str().into();
    Ok(StoredKey {
        encrypted: master.seal(&kid, &der),
        kid,
        key_use: KeyUse::Sig,
        alg: alg.as_str().to_owned(),
        public_jwk: Some(jwk),
        created_at: now,
        active_from,
        retires_at: None,
        expires_at: None,
    })
}

/// Creates a stored access-token sealing key. Its id is 8 lowercase hex
/// characters, so a token's prefix can be split without ambiguity.
pub fn new_sealing_key(master: &MasterKey, now: UnixTime, active_from: UnixTime) -> StoredKey {
    let kid: String = random_bytes::<4>().iter().map(|b| format!("{b:02x}")).collect();
    let secret = random_bytes::<32>();
    StoredKey {
        encrypted: master.seal(&kid, &secret),
        kid,
        key_use: KeyUse::Seal,
        alg: SEAL_ALG.to_owned(),
        public_jwk: None,
        created_at: now,
        active_from,
        retires_at: None,
        expires_at: None,
    }
}

/// The keys a rotation writes: the new keys and the updated old ones.
pub struct RotationPlan {
    pub new_keys: Vec<StoredKey>,
    /// `(kid, retires_at, expires_at)` for the keys being replaced.
    pub retire: Vec<(String, UnixTime, UnixTime)>,
}

/// Plans a rotation of every signing algorithm and the sealing key: new keys
/// become active after `delay`; the current ones retire then and stay
/// published (or able to open tokens) for `max_lifetime` more seconds.
pub fn plan_rotation(
    master: &MasterKey,
    existing: &[StoredKey],
    now: UnixTime,
    delay: i64,
    max_lifetime: i64,
) -> Result<RotationPlan, KeyError> {
    let active_from = now + delay;
    let mut plan = RotationPlan { new_keys: Vec::new(), retire: Vec::new() };
    for alg in SigningAlg::ALL {
        plan.new_keys.push(new_signing_key(master, alg, now, active_from)?);
    }
    plan.new_keys.push(new_sealing_key(master, now, active_from));
    for k in existing.iter().filter(|k| k.retires_at.is_none()) {
        plan.retire.push((k.kid.clone(), active_from, active_from + max_lifetime));
    }
    Ok(plan)
}

/// The first keys of a fresh installation, active at once.
pub fn initial_keys(master: &MasterKey, now: UnixTime) -> Result<Vec<StoredKey>, KeyError> {
    let mut v = Vec::new();
    for alg in SigningAlg::ALL {
        v.push(new_signing_key(master, alg, now, now)?);
    }
    v.push(new_sealing_key(master, now, now));
    Ok(v)
}

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

/// Of keys with windows, the one to use at `now`: the newest covering it;
/// failing that (a gap between reloads), the newest already active.
fn pick<T>(keys: &[Scheduled<T>], now: UnixTime) -> Option<&T> {
    // Ties on `active_from` (a rotation in the same second as the previous
    // activation) go to the key not scheduled to retire: the newer one.
    let newest = |(w, _): &&Scheduled<T>| (w.active_from, w.retires_at.is_none());
    keys.iter()
        .filter(|(w, _)| w.covers(now))
        .max_by_key(newest)
        .or_else(|| keys.iter().filter(|(w, _)| w.active_from <= now).max_by_key(newest))
        .or_else(|| keys.iter().min_by_key(|(w, _)| w.active_from))
        .map(|(_, k)| k)
}

/// The keys of an installation, decrypted, as every node holds them in
/// memory. Built from the Store's rows; rebuilt when they change.
///
/// It holds the keys scheduled to start signing too, and picks by time at
/// each use, so every node switches at `active_from` exactly, not at its next
/// reload.
pub struct KeyRing {
    signing: HashMap<SigningAlg, Vec<Scheduled<(String, SigningKey)>>>,
    sealing_schedule: Vec<Scheduled<String>>,
    sealing: HashMap<String, LessSafeKey>,
    jwks: serde_json::Value,
    built_at: UnixTime,
    /// The rows it was built from, to tell whether a reload changed anything.
    pub fingerprint: Vec<(String, UnixTime, Option<UnixTime>)>,
}

impl KeyRing {
    pub fn build(master: &MasterKey, keys: &[StoredKey], now: UnixTime) -> Result<Self, KeyError> {
        let mut signing: HashMap<SigningAlg, Vec<Scheduled<(String, SigningKey)>>> = HashMap::new();
        let mut sealing = HashMap::new();
        let mut sealing_schedule = Vec::new();
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
                    sealing.insert(k.kid.clone(), LessSafeKey::new(unbound));
                    sealing_schedule.push((window, k.kid.clone()));
                }
            }
        }
        if pick(&sealing_schedule, now).is_none() {
            return Err(KeyError::NoActiveKey("sealing"));
        }
        if signing.get(&SigningAlg::ES256).is_none_or(|v| v.is_empty()) {
            return Err(KeyError::NoActiveKey("ES256 signing"));
        }
        let mut fingerprint: Vec<_> =
            keys.iter().map(|k| (k.kid.clone(), k.active_from, k.retires_at)).collect();
        fingerprint.sort();
        Ok(Self {
            signing,
            sealing_schedule,
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
        let keys = self
            .signing
            .get(&alg)
            .filter(|v| !v.is_empty())
            .or_else(|| self.signing.get(&SigningAlg::ES256))
            .expect("KeyRing::build guarantees an ES256 key");
        let (kid, key) = pick(keys, now).expect("a non-empty list has a pick");
        (kid, key)
    }

    /// The key that signs with `alg` at the time the ring was built.
    pub fn signer(&self, alg: SigningAlg) -> (&str, &SigningKey) {
        self.signer_at(alg, self.built_at)
    }

    pub fn signing_algs(&self) -> Vec<SigningAlg> {
        SigningAlg::ALL.into_iter().filter(|a| self.signing.get(a).is_some_and(|v| !v.is_empty())).collect()
    }

    pub(crate) fn sealing_key(&self, now: UnixTime) -> (&str, &LessSafeKey) {
        let kid = pick(&self.sealing_schedule, now).expect("KeyRing::build guarantees a sealing key");
        (kid, &self.sealing[kid])
    }

    pub(crate) fn opening_key(&self, kid: &str) -> Option<&LessSafeKey> {
        self.sealing.get(kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_base64(&MasterKey::generate_base64()).unwrap()
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(jwk_thumbprint(&jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
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
