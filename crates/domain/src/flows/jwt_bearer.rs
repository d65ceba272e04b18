//! The JWT bearer grant (RFC 7523 §2.1 and §3, CAMARA profile §1.7): what a
//! verified assertion asks for. `client_auth::verify_grant_assertion` checks
//! the signature, `iss`, `aud` and the times (the edge spends the `jti`);
//! this reads the subject and the `scope` claim, and
//! `policy::authorize_request` (`PolicyGrant::JwtBearer`) decides whether
//! the client may ask for it.
//!
//! ```text
//! sub   ─► tel:+E164 | operatortoken:…     (CAMARA §1.6; no ipport: here)
//! scope ─► one dpv: purpose + API scopes   (both syntaxes of purpose::normalise)
//!          openid / offline_access: not granted (no ID token, never a refresh token)
//! ```
//! An assertion that cannot be read is `invalid_grant` (RFC 7523 §3.1); a
//! readable one asking for what the client may not have is `invalid_scope`,
//! as in every other grant.

use crate::client_auth::GrantAssertion;
use netauth_proto::{LoginHint, Msisdn, OAuthError, Purpose, Scope, ScopeSet, purpose};

/// Who the grant is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerSubject {
    /// A number the client vouches for (CAMARA access doc: a pre-established
    /// trust relationship; the AS does not verify where it came from).
    Tel(Msisdn),
    /// A TS.43 operator token: the entitlement server proves the SIM.
    OperatorToken(String),
}

impl BearerSubject {
    /// Authentication methods the subject carries (RFC 8176): an operator
    /// token is SIM-based, network-level assurance, recorded as `nba` like
    /// network-based authentication (Number Verification accepts both); a
    /// number vouched for by the client authenticates no one.
    pub fn amr(&self) -> Vec<String> {
        match self {
            Self::OperatorToken(_) => vec![crate::authorize::AMR_NBA.to_owned()],
            Self::Tel(_) => Vec::new(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tel(_) => "tel",
            Self::OperatorToken(_) => "operatortoken",
        }
    }
}

/// What the assertion asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerRequest {
    pub subject: BearerSubject,
    /// The `dpv:` purpose, when the claim names one (the policy requires it).
    pub purpose: Option<Purpose>,
    /// API scopes only: the JWT bearer grant issues neither ID tokens nor
    /// refresh tokens.
    pub scopes: ScopeSet,
}

/// Reads the subject and the `scope` claim of a verified assertion.
pub fn read_grant(a: &GrantAssertion) -> Result<BearerRequest, OAuthError> {
    let subject = match LoginHint::parse(&a.sub) {
        Ok(LoginHint::Tel(m)) => BearerSubject::Tel(m),
        Ok(LoginHint::OperatorToken(t)) => BearerSubject::OperatorToken(t),
        Ok(LoginHint::IpPort { .. }) | Err(_) => {
            return Err(OAuthError::invalid_grant(
                "the assertion's `sub` must be tel:+<E.164 number> or operatortoken:<token>",
            ));
        }
    };
    let (purpose, asked) = match purpose::normalise(Some(&a.scope), None)
        .map_err(|e| OAuthError::invalid_scope(format!("the assertion's `scope` claim: {}", e.description)))?
    {
        Some(ps) => (Some(ps.purpose), ps.scopes),
        None => (None, ScopeSet::parse(&a.scope)?),
    };
    let scopes = asked.iter().filter(|s| !s.is_protocol()).cloned().collect::<Vec<Scope>>();
    Ok(BearerRequest { subject, purpose, scopes: ScopeSet::from_scopes(scopes) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::SigningAlg;
    use crate::client_auth::{AssertionError, CLIENT_ASSERTION_TYP, parse_jwks, verify_grant_assertion};
    use crate::flows::test_support::client;
    use crate::keys::SigningKey;
    use serde_json::json;

    const AUD: &str = "https://as.example/token";

    fn grant(sub: &str, scope: &str) -> GrantAssertion {
        GrantAssertion { jti: "j".into(), exp: 0, sub: sub.into(), scope: scope.into() }
    }

    #[test]
    fn subjects_and_scopes() {
        let r = read_grant(&grant(
            "tel:+34666666666",
            "dpv:FraudPreventionAndDetection number-verification:verify openid offline_access",
        ))
        .unwrap();
        assert_eq!(r.subject, BearerSubject::Tel(Msisdn::parse("+34666666666").unwrap()));
        assert_eq!(r.purpose.unwrap().as_str(), "dpv:FraudPreventionAndDetection");
        assert_eq!(r.scopes.to_string(), "number-verification:verify", "protocol scopes are not granted");
        assert!(r.subject.amr().is_empty());
        let r = read_grant(&grant("operatortoken:abc", "dpv:FraudPreventionAndDetection#sim-swap")).unwrap();
        assert_eq!(r.subject, BearerSubject::OperatorToken("abc".into()));
        assert_eq!(r.subject.amr(), ["nba"]);
        assert_eq!(r.scopes.to_string(), "sim-swap", "the legacy purpose#scope form reads the same");
        for sub in ["ipport:1.2.3.4", "tel:34666666666", "cid", "operatortoken:"] {
            assert_eq!(
                read_grant(&grant(sub, "dpv:X a")).unwrap_err().code.as_str(),
                "invalid_grant",
                "{sub}"
            );
        }
        for scope in ["dpv:A dpv:B sim-swap", "dpv:A bad\u{1}", "dpv:A#"] {
            let e = read_grant(&grant("tel:+34666666666", scope)).unwrap_err();
            assert_eq!(e.code.as_str(), "invalid_scope", "{scope}");
        }
        // What the client may ask is the policy's to decide: no purpose, no
        // API scope are read as such.
        let r = read_grant(&grant("tel:+34666666666", "sim-swap")).unwrap();
        assert_eq!((r.purpose, r.scopes.to_string()), (None, "sim-swap".to_owned()));
        let r = read_grant(&grant("tel:+34666666666", "dpv:A openid")).unwrap();
        assert!(r.scopes.is_empty());
    }

    #[test]
    fn grant_assertions_are_verified_and_never_client_assertions() {
        let (k, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
        let mut j = k.public_jwk_members();
        j["kid"] = "k1".into();
        let set = parse_jwks(&json!({ "keys": [j] }));
        let c = client(&[], &[], &[]);
        let good = json!({"iss": "client-1", "sub": "tel:+34666666666", "aud": AUD, "iat": 1000, "exp": 1100,
            "jti": "j1", "scope": "dpv:FraudPreventionAndDetection sim-swap"});
        let v =
            verify_grant_assertion(&k.sign_jwt(Some("k1"), None, &good), &c, &set, &[AUD], 1010, 5).unwrap();
        assert_eq!((v.jti.as_str(), v.exp, v.sub.as_str()), ("j1", 1100, "tel:+34666666666"));
        let typed = k.sign_jwt(Some("k1"), Some(CLIENT_ASSERTION_TYP), &good);
        assert_eq!(
            verify_grant_assertion(&typed, &c, &set, &[AUD], 1010, 5),
            Err(AssertionError::ClientAssertionAsGrant)
        );
        let check = |claims: serde_json::Value, now: i64| {
            verify_grant_assertion(&k.sign_jwt(Some("k1"), None, &claims), &c, &set, &[AUD], now, 5)
        };
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        let without = |k: &str| {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        assert_eq!(check(with("iss", "other".into()), 1010), Err(AssertionError::Claim("iss")));
        assert_eq!(
            check(with("aud", "https://elsewhere/token".into()), 1010),
            Err(AssertionError::Claim("aud"))
        );
        assert_eq!(check(good.clone(), 1200), Err(AssertionError::Expired));
        assert_eq!(check(with("exp", 1400.into()), 1010), Err(AssertionError::TooLong));
        assert_eq!(check(with("iat", 1100.into()), 1010), Err(AssertionError::IssuedInFuture));
        for claim in ["iat", "exp", "jti", "sub", "scope", "aud", "iss"] {
            assert!(matches!(check(without(claim), 1010), Err(AssertionError::Claim(_))), "{claim}");
        }
        assert_eq!(check(with("scope", json!(["dpv:X", "a"])), 1010), Err(AssertionError::Claim("scope")));
        // Extreme times neither wrap nor pass.
        assert!(check(with("iat", i64::MIN.into()), 1010).is_err());
        assert!(check(with("exp", i64::MAX.into()), 1010).is_err());
    }
}
