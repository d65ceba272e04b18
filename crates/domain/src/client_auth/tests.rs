//! Unit tests of client assertion, request object, application JWT and
//! grant assertion verification.

use super::*;
use crate::client::{AuthMethod, ClientStatus, SigningAlg};
use crate::keys::SigningKey;
use serde_json::json;

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

fn keyset(k: &SigningKey, kid: &str) -> JwkSet {
    let mut j = k.public_jwk_members();
    j["kid"] = kid.into();
    parse_jwks(&json!({ "keys": [j] }))
}

#[test]
fn valid_assertion_then_attacks() {
    let (k, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let set = keyset(&k, "k1");
    let c = client();
    let good =
        json!({"iss": "cid", "sub": "cid", "aud": "https://as/token", "iat": 1000, "exp": 1100, "jti": "j1"});
    let jwt = k.sign_jwt(Some("k1"), None, &good);
    let v = verify_client_assertion(&jwt, &c, &set, &["https://as/token"], 1010, 5).unwrap();
    assert_eq!(v.jti, "j1");
    // Wrong audience, expired, too long, future iat.
    assert_eq!(
        verify_client_assertion(&jwt, &c, &set, &["https://other"], 1010, 5),
        Err(AssertionError::Claim("aud"))
    );
    assert_eq!(
        verify_client_assertion(&jwt, &c, &set, &["https://as/token"], 1200, 5),
        Err(AssertionError::Expired)
    );
    let mut long = good.clone();
    long["exp"] = 1400.into();
    let jwt = k.sign_jwt(Some("k1"), None, &long);
    assert_eq!(
        verify_client_assertion(&jwt, &c, &set, &["https://as/token"], 1010, 5),
        Err(AssertionError::TooLong)
    );
    // Unknown kid; another key.
    let jwt = k.sign_jwt(Some("k2"), None, &good);
    assert_eq!(
        verify_client_assertion(&jwt, &c, &set, &["https://as/token"], 1010, 5),
        Err(AssertionError::UnknownKid)
    );
    let (other, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let jwt = other.sign_jwt(Some("k1"), None, &good);
    assert_eq!(
        verify_client_assertion(&jwt, &c, &set, &["https://as/token"], 1010, 5),
        Err(AssertionError::BadSignature)
    );
    // alg none.
    let none = format!(
        "{}.{}.",
        crate::crypto::b64url(br#"{"alg":"none"}"#),
        crate::crypto::b64url(good.to_string().as_bytes())
    );
    assert_eq!(
        verify_client_assertion(&none, &c, &set, &["https://as/token"], 1010, 5),
        Err(AssertionError::AlgorithmNotAllowed)
    );
}
