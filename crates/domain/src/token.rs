//! Access tokens: opaque to clients, self-contained for netauth.
//!
//! ```text
//! nat1_<kid>_<base64url( nonce ‖ AES-256-GCM-SIV(sealing key, claims) ‖ tag )>
//! ```
//! The associated data is `nat1_<kid>`, so the prefix cannot be edited.
//! Issuing a token writes nothing to the database and checking one reads
//! nothing: the claims travel sealed in the token and only netauth can open
//! them. The subscriber's MSISDN therefore never leaves the server in clear
//! (CAMARA profile §1.10), and no signature is spent on a token only netauth
//! reads. Revocation is the one piece of shared state: see `revocation`.

use crate::UnixTime;
use crate::crypto::{b64url, b64url_decode, random_token};
use crate::keys::{KeyRing, open_with, seal_with};
use netauth_proto::{Purpose, ScopeSet};
use serde::{Deserialize, Serialize};

const PREFIX: &str = "nat1_";
/// Far above any token netauth issues; bounds the work of parsing garbage.
const MAX_TOKEN_LEN: usize = 4096;

/// What an access token says. Short field names keep tokens short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Token id: 128 random bits.
    #[serde(rename = "j")]
    pub jti: String,
    #[serde(rename = "c")]
    pub client_id: String,
    /// Internal subscriber id (three-legged tokens only).
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The subscriber's MSISDN, sealed: resource APIs need it, clients never see it.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<String>,
    /// The granted scopes (sealed space-separated).
    #[serde(rename = "sc", default, with = "netauth_proto::scope::as_space_string")]
    pub scope: ScopeSet,
    /// The declared `dpv:` purpose, when there is one.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// Authentication methods (RFC 8176), e.g. `nba` for network-based.
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(rename = "i")]
    pub iat: UnixTime,
    #[serde(rename = "e")]
    pub exp: UnixTime,
    /// The grant (code, CIBA request, refresh family, consent) it came from;
    /// revoking that grant revokes this token.
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Number Verification tokens may be used once.
    #[serde(rename = "u", default, skip_serializing_if = "std::ops::Not::not")]
    pub single_use: bool,
}

impl AccessClaims {
    /// Two-legged claims for `client_id`, valid `ttl` seconds from `now`.
    pub fn two_legged(client_id: &str, scope: ScopeSet, now: UnixTime, ttl: i64) -> Self {
        Self {
            jti: random_token::<16>(),
            client_id: client_id.to_owned(),
            sub: None,
            msisdn: None,
            scope,
            purpose: None,
            amr: Vec::new(),
            iat: now,
            exp: now + ttl,
            grant_id: None,
            single_use: false,
        }
    }

    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.contains(s)
    }

    pub fn is_three_legged(&self) -> bool {
        self.sub.is_some()
    }

    /// Whether the network itself authenticated the subscriber (see
    /// `camara::NETWORK_AMR`).
    pub fn network_authenticated(&self) -> bool {
        crate::camara::is_network_authenticated(&self.amr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a netauth access token")]
    Malformed,
    #[error("sealed with an unknown or expired key")]
    UnknownKey,
    #[error("the token has been altered")]
    Tampered,
    #[error("the token has expired")]
    Expired,
}

/// Seals `claims` with the ring's current sealing key.
pub fn seal_access_token(ring: &KeyRing, claims: &AccessClaims) -> String {
    // The key in use when the token is issued: nodes switch on time.
    let (kid, key) = ring.sealing_key(claims.iat);
    let mut aad = String::with_capacity(PREFIX.len() + kid.len() + 1);
    aad.push_str(PREFIX);
    aad.push_str(kid);
    #[allow(clippy::expect_used, reason = "a struct of strings and integers always serialises")]
    let plain = serde_json::to_vec(claims).expect("claims serialise");
    let sealed = seal_with(key, aad.as_bytes(), &plain);
    let mut out = aad;
    out.push('_');
    out.push_str(&b64url(&sealed));
    out
}

/// Opens a token and checks its expiry (revocation is the caller's check).
pub fn open_access_token(ring: &KeyRing, token: &str, now: UnixTime) -> Result<AccessClaims, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let rest = token.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
    let (kid, body) = rest.split_once('_').ok_or(TokenError::Malformed)?;
    if kid.len() != 8 || !kid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(TokenError::Malformed);
    }
    let key = ring.opening_key(kid).ok_or(TokenError::UnknownKey)?;
    let sealed = b64url_decode(body).ok_or(TokenError::Malformed)?;
    let aad = &token[..PREFIX.len() + kid.len()];
    let plain = open_with(key, aad.as_bytes(), &sealed).ok_or(TokenError::Tampered)?;
    let claims: AccessClaims = serde_json::from_slice(&plain).map_err(|_| TokenError::Tampered)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, initial_keys};

    pub(crate) fn scopes(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    fn ring() -> KeyRing {
        let m = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        KeyRing::build(&m, &initial_keys(&m, 0).unwrap(), 0).unwrap()
    }

    #[test]
    fn seal_open_round_trip() {
        let r = ring();
        let c = AccessClaims::two_legged("client-1", scopes("a b"), 100, 60);
        let t = seal_access_token(&r, &c);
        assert!(t.starts_with("nat1_"));
        assert!(!t.contains("client-1"));
        assert_eq!(open_access_token(&r, &t, 120).unwrap(), c);
        assert_eq!(open_access_token(&r, &t, 160), Err(TokenError::Expired));
    }

    #[test]
    fn tampering_is_detected() {
        let r = ring();
        let t = seal_access_token(&r, &AccessClaims::two_legged("c", scopes("a"), 0, 60));
        // Flip one character of the sealed body.
        let mut b = t.clone().into_bytes();
        let i = b.len() - 5;
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(open_access_token(&r, std::str::from_utf8(&b).unwrap(), 1), Err(TokenError::Tampered));
        // Another ring (another installation) cannot open it.
        assert_eq!(open_access_token(&ring(), &t, 1), Err(TokenError::UnknownKey));
        for junk in ["", "nat1_", "nat1_zz_zz", "nat1_0011223g_AAAA", "Bearer x", "nat1_00112233_!!"] {
            assert!(open_access_token(&r, junk, 1).is_err(), "{junk}");
        }
    }
}

#[cfg(test)]
mod fuzz_smoke {
    use super::tests::scopes;
    use super::*;
    use crate::keys::{MasterKey, initial_keys};

    /// Opening arbitrary and mutated tokens, and peeking into arbitrary
    /// JWTs, never panics.
    #[test]
    fn token_and_jwt_parsers_never_panic() {
        let m = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let ring = KeyRing::build(&m, &initial_keys(&m, 0).unwrap(), 0).unwrap();
        let valid = seal_access_token(&ring, &AccessClaims::two_legged("c", scopes("a"), 0, 60));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"nat1_0123456789abcdef-_.ABCxyz=+/\x00\xff";
        for i in 0..20_000 {
            let mut t = valid.clone().into_bytes();
            if i % 3 == 0 {
                t = (0..(next() % 200))
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
            } else {
                for _ in 0..(1 + next() % 3) {
                    if t.is_empty() {
                        break;
                    }
                    let at = (next() % t.len() as u64) as usize;
                    t[at] = alphabet[(next() % alphabet.len() as u64) as usize];
                }
            }
            let s = String::from_utf8_lossy(&t);
            let _ = open_access_token(&ring, &s, 1);
            let _ = crate::client_auth::peek_claims(&s);
            let _ = crate::client_auth::verify_signature(&s, &jsonwebtoken::jwk::JwkSet { keys: vec![] });
        }
    }
}
