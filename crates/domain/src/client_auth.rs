//! Verification of client assertions: `private_key_jwt` (RFC 7523 §2.2 and
//! §3, OIDC Core §9, CAMARA profile §1.3) and the application JWT of seed 002
//! (`app_jwt`). The caller resolves the client and its key set and records
//! the returned `jti` in the Store so that it is single-use on every node
//! (SECURITY.md 22).
//!
//! The algorithm is pinned to the registered key (SECURITY.md 19): the header
//! `alg` must be the one the JWK names, or the one its key type implies, and
//! never `none` or an HMAC algorithm. Keys offered in the JWT header (`jwk`,
//! `jku`, `x5u`, `x5c`) are ignored (SECURITY.md 20).

use crate::UnixTime;
use crate::client::Client;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// `client_assertion_type` for `private_key_jwt` (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The explicit `typ` a client assertion may carry (RFC 7523bis, an open ICM
/// change providers must accept). Accepted on client assertions; refused on
/// JWT bearer grants, so that one can never stand in for the other.
pub const CLIENT_ASSERTION_TYP: &str = "client-authentication+jwt";

/// The CAMARA profile's bound on assertion lifetimes.
pub const MAX_ASSERTION_LIFETIME: i64 = 300;
/// Seed 002: application JWTs may live up to 24 hours.
pub const MAX_APP_JWT_LIFETIME: i64 = 24 * 3600;

/// Why an assertion was refused. Every variant is `invalid_client` on the
/// wire; the text helps the developer who reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the assertion is not a well-formed JWS")]
    Malformed,
    #[error("the assertion's algorithm is not allowed for the client's key")]
    AlgorithmNotAllowed,
    #[error("no registered key of the client has this kid")]
    UnknownKid,
    #[error("the client has no usable registered key")]
    NoKey,
    #[error("the assertion's signature does not verify")]
    BadSignature,
    #[error("the assertion's `{0}` claim is missing or wrong")]
    Claim(&'static str),
    #[error("the assertion has expired")]
    Expired,
    #[error("the assertion's lifetime is too long")]
    TooLong,
    #[error("the assertion was issued in the future")]
    IssuedInFuture,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error(
        "the assertion is typed `client-authentication+jwt`: a client assertion is not an authorization grant"
    )]
    ClientAssertionAsGrant,
}

/// What the caller needs to enforce single use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    pub exp: UnixTime,
    pub claims: Value,
}

/// The claims of a JWT, unverified: only to learn which client it claims to
/// be, before its keys are looked up.
pub fn peek_claims(jwt: &str) -> Option<Value> {
    let mut parts = jwt.split('.');
    let (_h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    serde_json::from_slice(&crate::crypto::b64url_decode(p)?).ok()
}

/// The algorithms a JWK may verify: the one it names, else those its key
/// type implies.
fn allowed_algs(jwk: &Jwk) -> Vec<Algorithm> {
    if let Some(a) = jwk.common.key_algorithm {
        return match a.to_string().parse::<Algorithm>() {
            Ok(alg) if !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => vec![alg],
            _ => vec![],
        };
    }
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => vec![],
        },
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        // Symmetric keys are never client keys.
        AlgorithmParameters::OctetKey(_) => vec![],
    }
}

/// Parses a client's registered key set; anything unusable is skipped.
pub fn parse_jwks(v: &Value) -> JwkSet {
    let keys = v
        .get("keys")
        .and_then(|k| k.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                // Symmetric keys are never client keys: an `oct` key would
                // let anyone who knows it (here: everyone) sign assertions.
                .filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
                .collect()
        })
        .unwrap_or_default();
    JwkSet { keys }
}

/// Verifies the signature of `jwt` with the client's keys and returns its
/// claims. The header is parsed by hand first so that `alg: none` and
/// unknown algorithms are refused before any key is chosen.
pub fn verify_signature(jwt: &str, jwks: &JwkSet) -> Result<Value, AssertionError> {
    let header_b64 = jwt.split('.').next().ok_or(AssertionError::Malformed)?;
    let header: Value = crate::crypto::b64url_decode(header_b64)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(AssertionError::Malformed)?;
    let alg_name = header.get("alg").and_then(|a| a.as_str()).ok_or(AssertionError::Malformed)?;
    let alg: Algorithm = alg_name.parse().map_err(|_| AssertionError::AlgorithmNotAllowed)?;
    let kid = header.get("kid").and_then(|k| k.as_str());
    let candidates: Vec<&Jwk> = match kid {
        Some(kid) => {
            let k: Vec<_> = jwks.keys.iter().filter(|k| k.common.key_id.as_deref() == Some(kid)).collect();
            if k.is_empty() {
                return Err(AssertionError::UnknownKid);
            }
            k
        }
        None => jwks.keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(AssertionError::NoKey);
    }
    let usable: Vec<&Jwk> = candidates.into_iter().filter(|k| allowed_algs(k).contains(&alg)).collect();
    if usable.is_empty() {
        return Err(AssertionError::AlgorithmNotAllowed);
    }
    let mut validation = Validation::new(alg);
    // Time and audience rules are ours (with `now` passed in), not the crate's.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    for jwk in usable {
        let Ok(key) = DecodingKey::from_jwk(jwk) else { continue };
        if let Ok(data) = jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
            return Ok(data.claims);
        }
    }
    Err(AssertionError::BadSignature)
}

fn num(claims: &Value, name: &'static str) -> Result<i64, AssertionError> {
    claims
        .get(name)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .ok_or(AssertionError::Claim(name))
}

fn str_claim<'a>(claims: &'a Value, name: &'static str) -> Result<&'a str, AssertionError> {
    claims.get(name).and_then(|v| v.as_str()).filter(|s| !s.is_empty()).ok_or(AssertionError::Claim(name))
}

fn jti(claims: &Value) -> Result<String, AssertionError> {
    let j = str_claim(claims, "jti")?;
    if j.len() > 256 {
        return Err(AssertionError::Claim("jti"));
    }
    Ok(j.to_owned())
}

/// Checks `exp`, `iat` and `nbf` against `now`, allowing `skew` seconds of
/// clock difference, and bounds the lifetime to `max_lifetime`.
///
/// The claims are the client's numbers, anywhere in `i64`: every difference
/// saturates, so `iat = i64::MIN` gives the longest lifetime there is (and
/// is refused as too long) instead of overflowing past the rule.
fn check_times(claims: &Value, now: UnixTime, skew: i64, max_lifetime: i64) -> Result<i64, AssertionError> {
    let exp = num(claims, "exp")?;
    if exp <= now.saturating_sub(skew) {
        return Err(AssertionError::Expired);
    }
    // CAMARA §1.3: reject when exp is more than the bound after receipt.
    if exp.saturating_sub(now) > max_lifetime.saturating_add(skew) {
        return Err(AssertionError::TooLong);
    }
    if let Some(iat) = claims.get("iat") {
        let iat = iat.as_i64().ok_or(AssertionError::Claim("iat"))?;
        if iat > now.saturating_add(skew) {
            return Err(AssertionError::IssuedInFuture);
        }
        if exp.saturating_sub(iat) > max_lifetime {
            return Err(AssertionError::TooLong);
        }
    }
    if let Some(nbf) = claims.get("nbf")
        && nbf.as_i64().ok_or(AssertionError::Claim("nbf"))? > now.saturating_add(skew)
    {
        return Err(AssertionError::NotYetValid);
    }
    Ok(exp)
}

fn aud_matches(claims: &Value, audiences: &[&str]) -> bool {
    match claims.get("aud") {
        Some(Value::String(s)) => audiences.contains(&s.as_str()),
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str().is_some_and(|s| audiences.contains(&s))),
        _ => false,
    }
}

/// The claims of a JWT signed by `client`, issued by it (`iss`) for one of
/// `audiences`.
fn verified_from(
    jwt: &str,
    client: &Client,
    jwks: &JwkSet,
    audiences: &[&str],
) -> Result<Value, AssertionError> {
    let claims = verify_signature(jwt, jwks)?;
    if str_claim(&claims, "iss")? != client.client_id {
        return Err(AssertionError::Claim("iss"));
    }
    if !aud_matches(&claims, audiences) {
        return Err(AssertionError::Claim("aud"));
    }
    Ok(claims)
}

/// `private_key_jwt`: `iss` = `sub` = client_id, `aud` one of `audiences`
/// (the issuer or the endpoint URL), `exp` required, `exp − iat` ≤ 300 s,
/// `jti` required.
pub fn verify_client_assertion(
    jwt: &str,
    client: &Client,
    jwks: &JwkSet,
    audiences: &[&str],
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedAssertion, AssertionError> {
    let claims = verified_from(jwt, client, jwks, audiences)?;
    if str_claim(&claims, "sub")? != client.client_id {
        return Err(AssertionError::Claim("sub"));
    }
    let exp = check_times(&claims, now, skew, MAX_ASSERTION_LIFETIME)?;
    Ok(VerifiedAssertion { jti: jti(&claims)?, exp, claims })
}

/// A signed authentication request (CIBA Core §7.1.1, CAMARA profile §1.5):
/// signed by the client, `iss` = client_id, `aud` one of `audiences`, `exp`,
/// `iat`, `nbf` and `jti` present, lifetime at most 300 s, `iat`/`nbf` not in
/// the future. Returns the claims, which carry the request's parameters.
pub fn verify_request_object(
    jwt: &str,
    client: &Client,
    jwks: &JwkSet,
    audiences: &[&str],
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedAssertion, AssertionError> {
    let claims = verified_from(jwt, client, jwks, audiences)?;
    num(&claims, "iat")?;
    let nbf = num(&claims, "nbf")?;
    let exp = check_times(&claims, now, skew, MAX_ASSERTION_LIFETIME)?;
    if exp.saturating_sub(nbf) > MAX_ASSERTION_LIFETIME {
        return Err(AssertionError::TooLong);
    }
    Ok(VerifiedAssertion { jti: jti(&claims)?, exp, claims })
}

/// A request object at the authorization endpoint (RFC 9101, CAMARA
/// profile §1.4): signed by the client, `iss` = client_id, `aud` one of
/// `audiences`, and `iss`, `aud`, `iat`, `exp` and `jti` present; lifetime
/// at most 300 s, `iat` not in the future. Unlike CIBA's, `nbf` is not
/// required (checked when present).
pub fn verify_authorization_request_object(
    jwt: &str,
    client: &Client,
    jwks: &JwkSet,
    audiences: &[&str],
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedAssertion, AssertionError> {
    let claims = verified_from(jwt, client, jwks, audiences)?;
    num(&claims, "iat")?;
    let exp = check_times(&claims, now, skew, MAX_ASSERTION_LIFETIME)?;
    Ok(VerifiedAssertion { jti: jti(&claims)?, exp, claims })
}

/// The application JWT of seed 002: RS256 (or any algorithm the registered key
/// pins), `application_id` = client_id, `iat`, `jti`, `exp` at most 24 h ahead.
pub fn verify_app_jwt(
    jwt: &str,
    client: &Client,
    jwks: &JwkSet,
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedAssertion, AssertionError> {
    let claims = verify_signature(jwt, jwks)?;
    if str_claim(&claims, "application_id")? != client.client_id {
        return Err(AssertionError::Claim("application_id"));
    }
    num(&claims, "iat")?;
    let exp = check_times(&claims, now, skew, MAX_APP_JWT_LIFETIME)?;
    Ok(VerifiedAssertion { jti: jti(&claims)?, exp, claims })
}

/// A JWT bearer authorization grant whose signature, issuer, audience and
/// times checked out (the caller records its `jti`); what it asks for is
/// read by `jwt_bearer::read_grant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantAssertion {
    pub jti: String,
    pub exp: UnixTime,
    /// `tel:+E164` or `operatortoken:…`, as sent.
    pub sub: String,
    /// The `scope` claim, as sent: one `dpv:` purpose and the API scopes.
    pub scope: String,
}

/// The `typ` of a JWS header, if it has one.
fn header_typ(jwt: &str) -> Option<String> {
    let header = crate::crypto::b64url_decode(jwt.split('.').next()?)?;
    let v: Value = serde_json::from_slice(&header).ok()?;
    v.get("typ")?.as_str().map(str::to_owned)
}

/// The JWT bearer grant's assertion (RFC 7523 §2.1 and §3, CAMARA profile
/// §1.7): signed by `client` with its registered keys, `iss` = client_id,
/// `aud` one of `audiences` (the token endpoint), `sub`, `iat`, `exp` and
/// `jti` present, lifetime at most 300 s and `iat` not in the future, and a
/// `scope` claim. A JWT typed as a client assertion is refused: a client
/// assertion replayed as a grant must not become an access token.
pub fn verify_grant_assertion(
    jwt: &str,
    client: &Client,
    jwks: &JwkSet,
    audiences: &[&str],
    now: UnixTime,
    skew: i64,
) -> Result<GrantAssertion, AssertionError> {
    if header_typ(jwt).is_some_and(|t| t.eq_ignore_ascii_case(CLIENT_ASSERTION_TYP)) {
        return Err(AssertionError::ClientAssertionAsGrant);
    }
    let claims = verified_from(jwt, client, jwks, audiences)?;
    num(&claims, "iat")?;
    let exp = check_times(&claims, now, skew, MAX_ASSERTION_LIFETIME)?;
    let sub = str_claim(&claims, "sub")?;
    // A subject is a hint (CAMARA profile §1.6), and hints are bounded.
    if sub.len() > 2100 {
        return Err(AssertionError::Claim("sub"));
    }
    let scope = str_claim(&claims, "scope")?;
    if scope.len() > 4096 {
        return Err(AssertionError::Claim("scope"));
    }
    Ok(GrantAssertion { jti: jti(&claims)?, exp, sub: sub.to_owned(), scope: scope.to_owned() })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
