//! Small cryptographic helpers shared by the domain: randomness, digests,
//! base64url, constant-time comparison.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS generator failing is not something a request can recover from,
    // and handing out a predictable secret would be worse than stopping.
    #[allow(clippy::expect_used, reason = "no secret may be issued without OS randomness")]
    SystemRandom::new().fill(&mut b).expect("operating system random generator failed");
    b
}

/// A random identifier or secret of `N` bytes, base64url without padding.
pub fn random_token<const N: usize>() -> String {
    b64url(&random_bytes::<N>())
}

pub fn b64url(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

pub fn sha256(b: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, b);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// How a bearer secret is stored and looked up: base64url of its SHA-256
/// (`auth_req_id`s, refresh tokens, operator tokens, client secrets). The
/// secrets netauth issues carry 256 random bits, so an unsalted fast hash
/// is what protects them at rest (see `client`'s notes).
pub fn hash_bearer(secret: &str) -> String {
    b64url(&sha256(secret.as_bytes()))
}

pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}
