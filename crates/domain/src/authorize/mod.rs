//! The authorization-code flow's decisions (RFC 6749 §4.1, RFC 7636, OIDC
//! Core §3.1, RFC 9700 §4.1–4.5), pure and with time passed in:
//!
//! ```text
//! GET /authorize ─► resolve_redirect_uri          exact match; loopback: any port (RFC 8252 §7.3)
//!                ─► authentication_needed          session vs prompt=login / max_age (OIDC Core §3.1.2.1)
//!                ─► (line auth: Network) or HandsetLogin::check_code (fallback, bounded attempts)
//!                ─► granted_scopes                 what the subscriber ticked on the consent page
//!                ─► AuthorizationCode               bound to client, redirect URI, PKCE, nonce, session, scope
//! POST /token    ─► check_code_exchange            client, expiry, redirect URI, PKCE (SECURITY.md 2, 6, 7)
//! ```
//!
//! The records the Store keeps for the flow live here too: the code (only
//! its hash), the browser's login session, and the authorization request in
//! progress between the pages.

mod login;

pub use login::{
    Authentication, CodeCheck, HandsetLogin, HandsetMethod, LoginSession, OTP_DIGITS, PendingAuthorization,
    generate_otp, otp_hash, session_satisfies,
};

use crate::UnixTime;
use crate::crypto::{b64url, ct_eq, sha256};
use serde::{Deserialize, Serialize};

/// The default lifetime of a code, and the longest allowed (seed 003: "about
/// 10 minutes").
pub const DEFAULT_CODE_TTL: i64 = 60;
pub const MAX_CODE_TTL: i64 = 600;

/// `amr` values (RFC 8176 where it has one): network-based authentication
/// (CAMARA), a USSD-style approve/deny pushed to the handset, and a one-time
/// code sent to the handset by SMS.
pub const AMR_NBA: &str = "nba";
pub const AMR_USSD: &str = "ussd";
pub const AMR_OTP: &str = "otp";
pub const AMR_SMS: &str = "sms";

/// The `acr` netauth reports when asked (ISO/IEC 29115 level of assurance,
/// as seed 003 recommends): every method it offers proves possession of
/// the SIM or the handset, one factor: level 2.
pub const ACR_LOA2: &str = "2";

// ---------------------------------------------------------------- redirect URIs

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("redirect_uri is required: the client has several registered")]
    Missing,
    #[error("redirect_uri is not registered for this client")]
    NotRegistered,
}

/// The parts of a URI the loopback rule compares.
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    /// Path, query and anything after, as written.
    rest: &'a str,
}

fn split(uri: &str) -> Option<Parts<'_>> {
    let (scheme, after) = uri.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, tail) = v6.split_once(']')?;
        let port = match tail {
            "" => None,
            t => Some(t.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some(Parts { scheme, host, rest })
}

/// `http` to a loopback IP literal (RFC 8252 §7.3; `localhost` too, which
/// RFC 8252 §8.3 discourages but native clients still register).
fn is_loopback(p: &Parts<'_>) -> bool {
    p.scheme == "http"
        && (p.host == "localhost"
            || p.host == "::1"
            || p.host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()))
}

/// Whether `requested` is `registered`: the same string, or, for a loopback
/// URI, the same string but for the port (RFC 8252 §7.3, RFC 9700 §4.1.3).
/// Nothing else is normalised: case, encoding, a trailing slash, a
/// sub-domain, `..`, userinfo or a fragment all make a different URI
/// (SECURITY.md 1).
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return !requested.contains('#');
    }
    match (split(registered), split(requested)) {
        (Some(r), Some(q)) => {
            is_loopback(&r)
                && r.scheme == q.scheme
                && r.host == q.host
                && r.rest == q.rest
                && !q.rest.contains('#')
        }
        _ => false,
    }
}

/// The redirect URI of a request: `requested` if it matches a registered
/// one; when absent, the only registered one (RFC 6749 §3.1.2.3).
pub fn resolve_redirect_uri(
    registered: &[String],
    requested: Option<&str>,
) -> Result<String, RedirectUriError> {
    match requested {
        Some(q) => registered
            .iter()
            .any(|r| redirect_uri_matches(r, q))
            .then(|| q.to_owned())
            .ok_or(RedirectUriError::NotRegistered),
        None => match registered {
            [only] => Ok(only.clone()),
            [] => Err(RedirectUriError::NotRegistered),
            _ => Err(RedirectUriError::Missing),
        },
    }
}

// ---------------------------------------------------------------- PKCE

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_verifier is required")]
    Missing,
    #[error("code_verifier was sent but the authorization request had no code_challenge")]
    Unexpected,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")]
    Malformed,
    #[error("code_verifier does not match the code_challenge")]
    Mismatch,
}

/// RFC 7636 §4.1: 43–128 characters of the unreserved set.
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `BASE64URL(SHA256(verifier))`, RFC 7636 §4.2.
pub fn s256(verifier: &str) -> String {
    b64url(&sha256(verifier.as_bytes()))
}

/// RFC 7636 §4.6, and the downgrade rule of RFC 9700 §4.8.2: a verifier
/// without a challenge is refused, so an attacker cannot strip the
/// challenge from a request and still redeem its code.
pub fn verify_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), PkceError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(PkceError::Unexpected),
        (Some(_), None) => Err(PkceError::Missing),
        (Some(c), Some(v)) => {
            if !is_valid_verifier(v) {
                return Err(PkceError::Malformed);
            }
            if ct_eq(s256(v).as_bytes(), c.as_bytes()) { Ok(()) } else { Err(PkceError::Mismatch) }
        }
    }
}

/// The scopes granted on the consent page: everything asked that needs no
/// consent, and of those that do, the ones ticked (SECURITY.md 9: never a
/// scope that was not asked).
pub fn granted_scopes(requested: &[String], needs_consent: &[String], ticked: &[String]) -> Vec<String> {
    requested.iter().filter(|s| !needs_consent.contains(s) || ticked.contains(s)).cloned().collect()
}

// ---------------------------------------------------------------- codes

/// An authorization code as stored: only its hash, and everything it is
/// bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub client_id: String,
    /// Where the code was sent.
    pub redirect_uri: String,
    /// Whether the authorization request named it (RFC 6749 §4.1.3: then
    /// the token request must send the same).
    pub redirect_uri_sent: bool,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    /// The login session (hash) it was issued in.
    pub session_hash: String,
    pub auth: Authentication,
    /// Granted scopes, canonical order, `openid`/`offline_access` included.
    pub scopes: Vec<String>,
    pub purpose: Option<String>,
    pub acr: Option<String>,
    /// Claims asked for the ID token (`claims` parameter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_claims: Vec<String>,
    /// The grant every token issued from the code belongs to: revoking it
    /// revokes them all (SECURITY.md 4).
    pub grant_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Why a code is refused at the token endpoint: every case is
/// `invalid_grant` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRejection {
    #[error("Invalid authorization code")]
    OtherClient,
    #[error("Invalid authorization code")]
    Expired,
    #[error("Invalid redirect_uri")]
    RedirectUri,
    #[error("PKCE: {0}")]
    Pkce(PkceError),
}

/// The checks of RFC 6749 §4.1.3 and RFC 7636 §4.6 on a code already
/// claimed for `client_id`: issued to it, unexpired, the same redirect URI,
/// the right verifier.
pub fn check_code_exchange(
    code: &AuthorizationCode,
    client_id: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
    now: UnixTime,
) -> Result<(), CodeRejection> {
    if code.client_id != client_id {
        return Err(CodeRejection::OtherClient);
    }
    if now >= code.expires_at {
        return Err(CodeRejection::Expired);
    }
    // Required when the authorization request sent one; when it did not
    // (seed 001's minimal request), omitted or the same.
    match redirect_uri {
        Some(b) if b == code.redirect_uri => {}
        None if !code.redirect_uri_sent => {}
        _ => return Err(CodeRejection::RedirectUri),
    }
    verify_pkce(code.code_challenge.as_deref(), verifier).map_err(CodeRejection::Pkce)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let r = "https://app.example.com/cb";
        assert!(redirect_uri_matches(r, r));
        for bad in [
            "https://app.example.com/cb/",
            "https://app.example.com/CB",
            "https://APP.example.com/cb",
            "https://evil.app.example.com/cb",
            "https://app.example.com.evil.com/cb",
            "https://app.example.com@evil.com/cb",
            "https://app.example.com/cb/../other",
            "https://app.example.com/%63b",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/cb#frag",
            "https://app.example.com:443/cb",
            "http://app.example.com/cb",
        ] {
            assert!(!redirect_uri_matches(r, bad), "{bad}");
        }
    }

    #[test]
    fn only_the_port_of_a_loopback_uri_may_vary() {
        for (r, q) in [
            ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"),
            ("http://127.0.0.1:8080/cb", "http://127.0.0.1:51234/cb"),
            ("http://127.10.0.3:8080/cb?x=1", "http://127.10.0.3/cb?x=1"),
            ("http://[::1]:1/cb", "http://[::1]:51234/cb"),
            ("http://localhost/cb", "http://localhost:51234/cb"),
        ] {
            assert!(redirect_uri_matches(r, q), "{r} {q}");
            assert!(!redirect_uri_matches(r, &q.replace("/cb", "/cb2")), "{r}");
            assert!(!redirect_uri_matches(r, &q.replace("http:", "https:")), "{r}");
            assert!(!redirect_uri_matches(r, &format!("{q}#x")), "{r}");
        }
        assert!(!redirect_uri_matches("http://127.0.0.1:8080/cb", "http://127.0.0.2:8080/cb"));
        assert!(!redirect_uri_matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080@evil/cb"));
        assert!(!redirect_uri_matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:/cb"));
        assert!(!redirect_uri_matches("http://127.0.0.1:8080/cb", "http://127.0.0.1:x/cb"));
        assert!(!redirect_uri_matches("http://app.example/cb", "http://app.example:81/cb"), "not loopback");
    }

    #[test]
    fn redirect_uri_may_be_omitted_only_with_one_registered() {
        let one = regs(&["https://a/cb"]);
        assert_eq!(resolve_redirect_uri(&one, None).unwrap(), "https://a/cb");
        let two = regs(&["https://a/cb", "https://a/cb2"]);
        assert_eq!(resolve_redirect_uri(&two, None), Err(RedirectUriError::Missing));
        assert_eq!(resolve_redirect_uri(&two, Some("https://a/cb2")).unwrap(), "https://a/cb2");
        assert_eq!(resolve_redirect_uri(&two, Some("https://a/cb3")), Err(RedirectUriError::NotRegistered));
        assert_eq!(resolve_redirect_uri(&[], None), Err(RedirectUriError::NotRegistered));
    }

    #[test]
    fn pkce_rules() {
        // RFC 7636 Appendix B.
        let v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256(v), c);
        assert_eq!(verify_pkce(Some(c), Some(v)), Ok(()));
        assert_eq!(verify_pkce(None, None), Ok(()));
        assert_eq!(verify_pkce(Some(c), None), Err(PkceError::Missing));
        assert_eq!(verify_pkce(None, Some(v)), Err(PkceError::Unexpected));
        assert_eq!(verify_pkce(Some(c), Some(&v.replace('d', "e"))), Err(PkceError::Mismatch));
        assert_eq!(verify_pkce(Some(c), Some("short")), Err(PkceError::Malformed));
        assert_eq!(verify_pkce(Some(c), Some(&"a".repeat(129))), Err(PkceError::Malformed));
        assert_eq!(verify_pkce(Some(c), Some(&format!("{v}+"))), Err(PkceError::Malformed));
        assert!(is_valid_verifier(&"a.b~c_d-".repeat(6)));
    }

    #[test]
    fn partial_grants_only_drop_what_needs_consent() {
        let req = regs(&["offline_access", "openid", "phone", "sim-swap"]);
        let needs = regs(&["phone", "sim-swap"]);
        assert_eq!(
            granted_scopes(&req, &needs, &regs(&["sim-swap", "evil"])),
            regs(&["offline_access", "openid", "sim-swap"])
        );
        assert_eq!(granted_scopes(&req, &needs, &[]), regs(&["offline_access", "openid"]));
    }

    fn code(now: i64) -> AuthorizationCode {
        AuthorizationCode {
            code_hash: "h".into(),
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1:1/cb".into(),
            redirect_uri_sent: true,
            code_challenge: Some(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            nonce: None,
            session_hash: "s".into(),
            auth: Authentication { subscriber_id: "s".into(), amr: vec![], auth_time: now },
            scopes: regs(&["openid"]),
            purpose: None,
            acr: None,
            id_token_claims: vec![],
            grant_id: "g".into(),
            created_at: now,
            expires_at: now + 60,
        }
    }

    #[test]
    fn code_exchange_checks_every_binding() {
        let c = code(100);
        let v = Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let uri = Some("http://127.0.0.1:1/cb");
        assert_eq!(check_code_exchange(&c, "c", uri, v, 159), Ok(()));
        assert_eq!(check_code_exchange(&c, "d", uri, v, 110), Err(CodeRejection::OtherClient));
        assert_eq!(check_code_exchange(&c, "c", uri, v, 160), Err(CodeRejection::Expired));
        assert_eq!(check_code_exchange(&c, "c", None, v, 110), Err(CodeRejection::RedirectUri));
        assert_eq!(
            check_code_exchange(&c, "c", Some("http://127.0.0.1:2/cb"), v, 110),
            Err(CodeRejection::RedirectUri)
        );
        assert_eq!(
            check_code_exchange(&c, "c", uri, None, 110),
            Err(CodeRejection::Pkce(PkceError::Missing))
        );
        let mut no_uri = code(100);
        no_uri.redirect_uri_sent = false;
        assert_eq!(check_code_exchange(&no_uri, "c", None, v, 110), Ok(()));
        assert_eq!(check_code_exchange(&no_uri, "c", uri, v, 110), Ok(()));
        assert_eq!(
            check_code_exchange(&no_uri, "c", Some("http://127.0.0.1:2/cb"), v, 110),
            Err(CodeRejection::RedirectUri)
        );
    }
}
