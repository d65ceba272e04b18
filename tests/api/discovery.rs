//! Discovery and JWKS: public contracts, snapshot-tested.

use crate::helpers::*;
use serde_json::Value;

async fn get_json(app: &TestApp, path: &str) -> Value {
    let resp = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap().replace(&app.base, "http://issuer.example");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn openid_configuration_snapshot() {
    let app = spawn_app().await;
    let doc = get_json(&app, "/.well-known/openid-configuration").await;
    insta::assert_json_snapshot!("openid_configuration", doc);
    // RFC 8414 metadata says the same.
    assert_eq!(get_json(&app, "/.well-known/oauth-authorization-server").await, doc);
}

#[tokio::test]
async fn advertised_endpoints_exist() {
    let app = spawn_app().await;
    let doc = get_json(&app, "/.well-known/openid-configuration").await;
    for key in ["token_endpoint", "introspection_endpoint", "revocation_endpoint"] {
        let path = doc[key].as_str().unwrap().replace("http://issuer.example", "");
        let resp = app.http.post(app.url(&path)).send().await.unwrap();
        assert_ne!(resp.status(), 404, "{key} is advertised but not served");
    }
    let userinfo = doc["userinfo_endpoint"].as_str().unwrap().replace("http://issuer.example", "");
    for m in [reqwest::Method::GET, reqwest::Method::POST] {
        let resp = app.http.request(m, app.url(&userinfo)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "userinfo_endpoint is served and asks for a bearer token");
    }
    let jwks = doc["jwks_uri"].as_str().unwrap().replace("http://issuer.example", "");
    assert_eq!(app.http.get(app.url(&jwks)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn jwks_publishes_public_keys_with_thumbprint_kids() {
    let app = spawn_app().await;
    let resp = app.http.get(app.url("/jwks")).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/jwk-set+json");
    let jwks: Value = resp.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert!(algs.contains(&"ES256") && algs.contains(&"RS256"), "{algs:?}");
    for k in keys {
        assert_eq!(
            k["kid"].as_str().unwrap(),
            netauth_domain::keys::jwk_thumbprint(k),
            "kid is the RFC 7638 thumbprint"
        );
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(k.get(private).is_none(), "private member {private} published");
        }
        assert_eq!(k["use"], "sig");
    }
}

#[tokio::test]
async fn key_rotation_publishes_first_and_old_tokens_keep_working() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", serde_json::json!({})).await;
    let before = app.cc_token(&c).await;
    let old: Value = app.http.get(app.url("/jwks")).send().await.unwrap().json().await.unwrap();
    let resp =
        app.admin(reqwest::Method::POST, "/keys/rotate", Some(serde_json::json!({"delay_secs": 3600}))).await;
    assert_eq!(resp.status(), 200);
    let keys: Value = resp.json().await.unwrap();
    assert_eq!(keys.as_array().unwrap().iter().filter(|k| k["state"] == "next").count(), 5);
    let new: Value = app.http.get(app.url("/jwks")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        new["keys"].as_array().unwrap().len(),
        2 * old["keys"].as_array().unwrap().len(),
        "new keys published"
    );
    // Now switch at once: the old sealing key still opens tokens it sealed.
    let resp =
        app.admin(reqwest::Method::POST, "/keys/rotate", Some(serde_json::json!({"delay_secs": 0}))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.echo(&before).await.status(), 200);
    let after = app.cc_token(&c).await;
    assert_ne!(before.split('_').nth(1), after.split('_').nth(1), "a new sealing key is in use");
    assert_eq!(app.echo(&after).await.status(), 200);
}
