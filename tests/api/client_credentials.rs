//! The client-credentials grant, and seed 004 exactly as written.

use crate::helpers::*;
use serde_json::{Value, json};

const SEED_TIMESTAMP: &str = "Tue, 06 Mar 2020 21:00:00 GMT";

async fn g2p_client(app: &TestApp) -> TestClient {
    app.create_client(
        "client_secret_post",
        json!({"scopes": ["disburse", "on-disburse", "disburse/status", "mapper/link"], "access_token_ttl": 36000}),
    )
    .await
}

#[tokio::test]
async fn seed_004_token_request_then_protected_call() {
    let app = spawn_app().await;
    let c = g2p_client(&app).await;
    let resp = app
        .http
        .post(app.url("/oauth2/client/token"))
        .header("timestamp", SEED_TIMESTAMP)
        .header("message_id", "123456789020211216223812")
        .header("accept-language", "en")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", c.secret.as_deref().unwrap()),
            ("scope", "disburse"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 36000, "a JSON number, the client's configured lifetime");
    assert_eq!(body["scope"], "disburse");
    assert!(body.get("refresh_token").is_none(), "RFC 6749 §4.4.3: no refresh token");
    let token = body["access_token"].as_str().unwrap();
    let echo = app.echo(token).await;
    assert_eq!(echo.status(), 200);
    let seen: Value = echo.json().await.unwrap();
    assert_eq!(seen["client_id"], c.client_id.as_str());
    assert_eq!(seen["scope"], "disburse");
}

#[tokio::test]
async fn seed_004_timestamp_header_is_required_and_checked() {
    let app = spawn_app().await;
    let c = g2p_client(&app).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.secret.as_deref().unwrap()),
    ];
    for ts in [None, Some("yesterday"), Some("2020-03-06T21:00:00Z")] {
        let mut r = app.http.post(app.url("/oauth2/client/token")).form(&form);
        if let Some(t) = ts {
            r = r.header("timestamp", t);
        }
        let (status, error, body) = error_of(r.send().await.unwrap()).await;
        assert_eq!((status, error.as_str()), (400, "invalid_request"), "{ts:?}");
        assert!(body["error_description"].as_str().unwrap().contains("timestamp"));
    }
}

#[tokio::test]
async fn scope_is_limited_to_the_clients_scopes() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let creds = Some((c.client_id.as_str(), c.secret.as_deref().unwrap()));
    let resp = app
        .post_form("/token", creds, &[("grant_type", "client_credentials"), ("scope", "read admin")])
        .await;
    assert_eq!(error_of(resp).await.1, "invalid_scope");
    // No scope: every scope the client is registered for.
    let resp = app.post_form("/token", creds, &[("grant_type", "client_credentials")]).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["scope"], "read write");
    let resp =
        app.post_form("/token", creds, &[("grant_type", "client_credentials"), ("scope", "write")]).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["scope"], "write");
    let resp = app
        .post_form("/token", creds, &[("grant_type", "client_credentials"), ("scope", "bad\"scope")])
        .await;
    assert_eq!(error_of(resp).await.1, "invalid_scope");
}

#[tokio::test]
async fn grant_type_errors() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let creds = Some((c.client_id.as_str(), c.secret.as_deref().unwrap()));
    let (s, e, _) = error_of(app.post_form("/token", creds, &[("grant_type", "password")]).await).await;
    assert_eq!((s, e.as_str()), (400, "unsupported_grant_type"));
    let (s, e, _) = error_of(app.post_form("/token", creds, &[("scope", "read")]).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_request"));
    // A client not registered for the grant.
    let other = app
        .create_client("client_secret_basic", json!({"grant_types": ["urn:openid:params:grant-type:ciba"]}))
        .await;
    let resp = app
        .post_form(
            "/token",
            Some((&other.client_id, other.secret.as_deref().unwrap())),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(error_of(resp).await.1, "unauthorized_client");
}

#[tokio::test]
async fn repeated_parameters_and_wrong_content_type_are_invalid_request() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let resp = app
        .http
        .post(app.url("/token"))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=read&scope=write")
        .send()
        .await
        .unwrap();
    let (s, e, body) = error_of(resp).await;
    assert_eq!((s, e.as_str()), (400, "invalid_request"));
    assert!(body["error_description"].as_str().unwrap().contains("scope"));
    let resp = app
        .http
        .post(app.url("/token"))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_request");
}

#[tokio::test]
async fn token_endpoint_aliases_of_the_seeds_work() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    for path in
        ["/token", "/apigateway/token", "/oauth/v2/token", "/oauth2/token", "/openidconnect/fr/v1/token"]
    {
        let resp = app
            .post_form(
                path,
                Some((&c.client_id, c.secret.as_deref().unwrap())),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(resp.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn client_lifetime_is_capped_by_the_server() {
    let app = spawn_app().await;
    let resp = app
        .admin(
            reqwest::Method::POST,
            "/clients",
            Some(json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic", "access_token_ttl": 10_000_000})),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_ARGUMENT");
    assert!(body["message"].as_str().unwrap().contains("access_token_ttl"));
}
