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

mod ring;
pub use ring::KeyRing;

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
#[allow(clippy::expect_used, reason = "AES-GCM-SIV fails only on oversized input, and tokens are small")]
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
                // Uncompressed SEC1 point: 0x04 ‖ x ‖ y; P-256 makes it 65 bytes.
                let (x, y) = (p.get(1..33).unwrap_or_default(), p.get(33..65).unwrap_or_default());
                serde_json::json!({"crv": "P-256", "kty": "EC", "x": b64url(x), "y": b64url(y)})
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
    #[allow(
        clippy::expect_used,
        reason = "signing with a valid key pair cannot fail; no client input is involved"
    )]
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
            crate::json::set(&mut header, "kid", k);
        }
        if let Some(t) = typ {
            crate::json::set(&mut header, "typ", t);
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
    crate::json::set(&mut jwk, "kid", kid.clone());
    crate::json::set(&mut jwk, "use", "sig");
    crate::json::set(&mut jwk, "alg", alg.as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
