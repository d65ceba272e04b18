//! Client assertions (RFC 7523 §3, private_key_jwt), signed ahead of the
//! measured phase so that the load generator does not measure its own signing.

use anyhow::{Context, bail};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Signer {
    key: EcdsaKeyPair,
    header_b64: String,
    client_id: String,
    aud: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn der_from_pem(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body.trim()).context("the PEM body is not base64")
}

impl Signer {
    /// An ES256 signer for `client_id`, assertions addressed to `aud`.
    pub fn new(pem_file: &Path, kid: &str, alg: &str, client_id: &str, aud: &str) -> anyhow::Result<Self> {
        if alg != "ES256" {
            bail!("only ES256 client keys are benchmarked (got {alg})");
        }
        let pem = std::fs::read_to_string(pem_file)
            .with_context(|| format!("reading the client key {}", pem_file.display()))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der_from_pem(&pem)?)
            .map_err(|e| anyhow::anyhow!("{}: not a P-256 PKCS#8 key: {e}", pem_file.display()))?;
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": kid });
        Ok(Self {
            key,
            header_b64: b64(header.to_string().as_bytes()),
            client_id: client_id.to_owned(),
            aud: aud.to_owned(),
        })
    }

    /// One assertion: iss = sub = client_id, exp 300 s after iat, a fresh
    /// random jti (128 bits, plus `n` so that uniqueness does not rest on luck).
    pub fn sign(&self, n: u64, rng: &SystemRandom) -> anyhow::Result<String> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut r = [0u8; 16];
        rng.fill(&mut r).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.aud,
            "iat": iat,
            "exp": iat + 300,
            "jti": format!("{}-{n}", b64(&r)),
        });
        self.sign_claims(&claims, rng)
    }

    /// A JWT bearer grant's assertion (RFC 7523 §2.1, CAMARA profile §1.7):
    /// iss = client_id, `sub` the subscriber (`tel:` or `operatortoken:`),
    /// `scope` the purpose and API scopes, exp 300 s after iat, a fresh jti.
    pub fn sign_grant(&self, sub: &str, scope: &str, n: u64, rng: &SystemRandom) -> anyhow::Result<String> {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut r = [0u8; 16];
        rng.fill(&mut r).map_err(|_| anyhow::anyhow!("no randomness"))?;
        let claims = json!({
            "iss": self.client_id,
            "sub": sub,
            "aud": self.aud,
            "iat": iat,
            "exp": iat + 300,
            "jti": format!("g-{}-{n}", b64(&r)),
            "scope": scope,
        });
        self.sign_claims(&claims, rng)
    }

    fn sign_claims(&self, claims: &serde_json::Value, rng: &SystemRandom) -> anyhow::Result<String> {
        let signing_input = format!("{}.{}", self.header_b64, b64(claims.to_string().as_bytes()));
        let sig = self
            .key
            .sign(rng, signing_input.as_bytes())
            .map_err(|_| anyhow::anyhow!("ES256 signing failed"))?;
        Ok(format!("{signing_input}.{}", b64(sig.as_ref())))
    }

    /// `count` assertions numbered from `first`, signed on every core.
    pub fn sign_many(&self, first: u64, count: usize) -> anyhow::Result<Vec<String>> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1);
        let per = count.div_ceil(threads).max(1);
        let mut out = Vec::with_capacity(count);
        std::thread::scope(|s| -> anyhow::Result<()> {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let lo = (t * per).min(count);
                    let hi = ((t + 1) * per).min(count);
                    s.spawn(move || -> anyhow::Result<Vec<String>> {
                        let rng = SystemRandom::new();
                        (lo..hi).map(|i| self.sign(first + i as u64, &rng)).collect()
                    })
                })
                .collect();
            for h in handles {
                out.extend(h.join().map_err(|_| anyhow::anyhow!("a signing thread panicked"))??);
            }
            Ok(())
        })?;
        Ok(out)
    }
}
