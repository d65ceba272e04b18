//! Property tests (issue #10 point 13): well-formed, correctly signed JWTs
//! whose claims take random types and extreme values. Whatever the claims,
//! verification returns, never panics or wraps, and whatever it accepts
//! obeys the lifetime rules.

use super::*;
use crate::client::{AuthMethod, ClientStatus, SigningAlg};
use crate::keys::SigningKey;
use proptest::prelude::*;
use serde_json::json;
use std::sync::OnceLock;

const NOW: i64 = 1_750_000_000;
const SKEW: i64 = 30;
const AUD: &str = "https://as.example/token";

fn key() -> &'static (SigningKey, JwkSet) {
    static K: OnceLock<(SigningKey, JwkSet)> = OnceLock::new();
    K.get_or_init(|| {
        let (k, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
        let mut j = k.public_jwk_members();
        j["kid"] = "k1".into();
        let set = parse_jwks(&json!({ "keys": [j] }));
        (k, set)
    })
}

fn client() -> Client {
    Client {
        client_id: "cid".into(),
        name: "n".into(),
        status: ClientStatus::Active,
        token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
        secrets: vec![],
        jwks: None,
        jwks_uri: None,
        redirect_uris: vec![],
        grant_types: vec![],
        scopes: vec![],
        purposes: vec![],
        cors_origins: vec![],
        id_token_signed_response_alg: SigningAlg::ES256,
        access_token_ttl: None,
        refresh_token_ttl: None,
        backchannel_token_delivery_mode: None,
        backchannel_client_notification_endpoint: None,
        compat_profile: None,
        created_at: 0,
        updated_at: 0,
    }
}

/// A time: near now (where the rules bite), or anywhere in i64, or an
/// edge of the range.
fn time() -> impl Strategy<Value = i64> {
    prop_oneof![
        (NOW - 1000..NOW + 1000),
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(i64::MAX - 1),
        Just(0),
    ]
}

/// A claim value of any JSON type, times most often.
fn claim() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => time().prop_map(|t| Some(json!(t))),
        1 => Just(None),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number)),
        1 => any::<u64>().prop_map(|u| Some(json!(u))),
        1 => ".{0,8}".prop_map(|s| Some(json!(s))),
        1 => any::<bool>().prop_map(|b| Some(json!(b))),
        1 => Just(Some(Value::Null)),
        1 => Just(Some(json!([1, "x"]))),
        1 => Just(Some(json!({"a": 1}))),
    ]
}

fn id_claim() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => Just(Some(json!("cid"))),
        1 => Just(None),
        1 => Just(Some(json!("other"))),
        1 => Just(Some(json!(["cid"]))),
        1 => any::<i64>().prop_map(|i| Some(json!(i))),
        1 => Just(Some(json!(""))),
    ]
}

fn aud_claim() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => Just(Some(json!(AUD))),
        1 => Just(Some(json!([AUD, "x"]))),
        1 => Just(None),
        1 => Just(Some(json!(7))),
        1 => Just(Some(json!([7, null]))),
    ]
}

fn jti_claim() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => "[a-z0-9]{1,16}".prop_map(|s| Some(json!(s))),
        1 => Just(Some(json!("j".repeat(300)))),
        1 => Just(None),
        1 => Just(Some(json!(""))),
        1 => any::<i64>().prop_map(|i| Some(json!(i))),
    ]
}

prop_compose! {
    fn claims()(iss in id_claim(), sub in id_claim(), app in id_claim(), aud in aud_claim(),
                jti in jti_claim(), exp in claim(), iat in claim(), nbf in claim()) -> Value {
        let mut m = serde_json::Map::new();
        for (k, v) in [("iss", iss), ("sub", sub), ("application_id", app), ("aud", aud), ("jti", jti),
                       ("exp", exp), ("iat", iat), ("nbf", nbf)] {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        }
        Value::Object(m)
    }
}

fn int(c: &Value, k: &str) -> Option<i64> {
    c.get(k).and_then(Value::as_i64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn client_assertions_obey_the_lifetime_rules(c in claims()) {
        let (k, set) = key();
        let jwt = k.sign_jwt(Some("k1"), None, &c);
        if let Ok(v) = verify_client_assertion(&jwt, &client(), set, &[AUD], NOW, SKEW) {
            prop_assert!(v.exp > NOW - SKEW && v.exp <= NOW + MAX_ASSERTION_LIFETIME + SKEW, "{c}");
            if let Some(iat) = c.get("iat") {
                let iat = iat.as_i64();
                prop_assert!(iat.is_some_and(|i| i <= NOW + SKEW && v.exp - i <= MAX_ASSERTION_LIFETIME), "{c}");
            }
            if let Some(nbf) = c.get("nbf") {
                prop_assert!(nbf.as_i64().is_some_and(|n| n <= NOW + SKEW), "{c}");
            }
            prop_assert_eq!(c.get("iss"), Some(&json!("cid")));
            prop_assert_eq!(c.get("sub"), Some(&json!("cid")));
            prop_assert!(!v.jti.is_empty() && v.jti.len() <= 256);
        }
    }

    #[test]
    fn request_objects_obey_the_lifetime_rules(c in claims()) {
        let (k, set) = key();
        let jwt = k.sign_jwt(Some("k1"), None, &c);
        if let Ok(v) = verify_request_object(&jwt, &client(), set, &[AUD], NOW, SKEW) {
            let (iat, nbf) = (int(&c, "iat"), int(&c, "nbf"));
            prop_assert!(iat.is_some() && nbf.is_some(), "{c}");
            let (iat, nbf) = (iat.unwrap_or_default(), nbf.unwrap_or_default());
            prop_assert!(v.exp - iat <= MAX_ASSERTION_LIFETIME && v.exp - nbf <= MAX_ASSERTION_LIFETIME, "{c}");
            prop_assert!(iat <= NOW + SKEW && nbf <= NOW + SKEW && v.exp > NOW - SKEW, "{c}");
        }
    }

    #[test]
    fn app_jwts_obey_the_lifetime_rules(c in claims()) {
        let (k, set) = key();
        let jwt = k.sign_jwt(None, None, &c);
        if let Ok(v) = verify_app_jwt(&jwt, &client(), set, NOW, SKEW) {
            let iat = int(&c, "iat");
            prop_assert!(iat.is_some_and(|i| v.exp - i <= MAX_APP_JWT_LIFETIME), "{c}");
            prop_assert!(v.exp <= NOW + MAX_APP_JWT_LIFETIME + SKEW && v.exp > NOW - SKEW, "{c}");
        }
    }

    /// Whatever bytes arrive, the parsers return.
    #[test]
    fn arbitrary_text_never_panics(s in ".{0,200}", parts in proptest::collection::vec("[A-Za-z0-9_-]{0,40}", 0..5)) {
        let (_, set) = key();
        let joined = parts.join(".");
        for jwt in [s.as_str(), joined.as_str()] {
            let _ = peek_claims(jwt);
            let _ = verify_signature(jwt, set);
            let _ = verify_client_assertion(jwt, &client(), set, &[AUD], NOW, SKEW);
        }
    }
}

/// The case the issue reported: `iat = i64::MIN` no longer overflows
/// (a panic in debug builds) or wraps past the lifetime rule (release).
#[test]
fn extreme_iat_and_nbf_are_too_long() {
    let (k, set) = key();
    let c = json!({"iss": "cid", "sub": "cid", "aud": AUD, "jti": "j", "exp": NOW + 60, "iat": i64::MIN});
    let jwt = k.sign_jwt(Some("k1"), None, &c);
    assert_eq!(
        verify_client_assertion(&jwt, &client(), set, &[AUD], NOW, SKEW),
        Err(AssertionError::TooLong)
    );
    let c = json!({"iss": "cid", "aud": AUD, "jti": "j", "exp": NOW + 60, "iat": NOW, "nbf": i64::MIN});
    let jwt = k.sign_jwt(Some("k1"), None, &c);
    assert_eq!(verify_request_object(&jwt, &client(), set, &[AUD], NOW, SKEW), Err(AssertionError::TooLong));
}
