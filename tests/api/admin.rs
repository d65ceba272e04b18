//! The admin API: authentication, validation, OpenAPI.

use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn admin_api_requires_the_admin_token() {
    let app = spawn_app().await;
    let resp = app.http.get(app.url("/admin/v1/clients")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app.http.get(app.url("/admin/v1/clients")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "UNAUTHENTICATED");
}

/// Issue #10 point 7: guessing the admin token is limited per address;
/// other addresses, and the right token from them, are unaffected.
#[tokio::test]
async fn admin_token_guessing_is_rate_limited_per_address() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| c.admin.max_failures_per_address = 3),
        ..Default::default()
    })
    .await;
    let guesser = reqwest::Client::builder()
        .local_address("127.0.0.4".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let get = |http: &reqwest::Client, token: &str| {
        http.get(app.url("/admin/v1/clients")).bearer_auth(token).send()
    };
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(get(&guesser, &format!("guess-{i}")).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    let r = get(&guesser, ADMIN_TOKEN).await.unwrap();
    assert_eq!(r.status(), 429, "the guesser's address is spent, whatever it presents");
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "TOO_MANY_REQUESTS");
    assert_eq!(get(&app.http, ADMIN_TOKEN).await.unwrap().status(), 200, "another address");
    // No token at all is not a guess and is not counted.
    let quiet = reqwest::Client::builder()
        .local_address("127.0.0.5".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    for _ in 0..5 {
        assert_eq!(quiet.get(app.url("/admin/v1/clients")).send().await.unwrap().status(), 401);
    }
    assert_eq!(get(&quiet, ADMIN_TOKEN).await.unwrap().status(), 200);
}

/// Issue #10 point 12: query-string errors in the JSON error format.
#[tokio::test]
async fn admin_query_errors_are_json() {
    let app = spawn_app().await;
    for path in ["/clients?limit=abc", "/clients?limit=-1", "/subscribers?limit=x"] {
        let resp = app.admin(reqwest::Method::GET, path, None).await;
        assert_eq!(resp.status(), 400, "{path}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
        let e: Value = resp.json().await.unwrap();
        assert_eq!(
            (e["status"].as_u64(), e["code"].as_str()),
            (Some(400), Some("INVALID_ARGUMENT")),
            "{path}"
        );
    }
    let resp = app.admin(reqwest::Method::DELETE, "/legal-bases?scope=a", None).await;
    assert_eq!(resp.status(), 400, "purpose missing");
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn admin_api_disabled_without_a_token() {
    let app =
        spawn_with(Options { tweak: Box::new(|c| c.admin.token = Default::default()), ..Default::default() })
            .await;
    let resp = app.http.get(app.url("/admin/v1/clients")).bearer_auth("").send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn client_crud_and_validation() {
    let app = spawn_app().await;
    let post = |body: Value| app.admin(reqwest::Method::POST, "/clients", Some(body));
    for (body, needle) in [
        (json!({"name": "", "token_endpoint_auth_method": "client_secret_basic"}), "name"),
        (json!({"name": "x", "token_endpoint_auth_method": "magic"}), "token_endpoint_auth_method"),
        (json!({"name": "x", "token_endpoint_auth_method": "private_key_jwt"}), "jwks"),
        (
            json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["http://evil.example/cb"]}),
            "http",
        ),
        (
            json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["https://a.example/cb#f"]}),
            "fragment",
        ),
        (
            json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic", "purposes": ["FraudPrevention"]}),
            "dpv",
        ),
        (
            json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic", "client_id": "bad id"}),
            "client_id",
        ),
        (json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic", "unknown": 1}), "unknown"),
        (
            json!({"name": "x", "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://keys.example/jwks"}),
            "jwks_uri",
        ),
        (
            json!({"name": "x", "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "oct", "k": "AAAA"}]}}),
            "jwks",
        ),
    ] {
        let resp = post(body.clone()).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: Value = resp.json().await.unwrap();
        assert_eq!(e["code"], "INVALID_ARGUMENT");
        assert!(e["message"].as_str().unwrap().contains(needle), "{body} → {e}");
    }
    let created: Value =
        post(json!({"client_id": "c1", "name": "one", "token_endpoint_auth_method": "client_secret_basic"}))
            .await
            .json()
            .await
            .unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43, "256-bit secret, base64url");
    let shown = serde_json::to_string(&created["client"]).unwrap();
    assert!(!shown.contains("digest"), "digests are never shown");
    assert_eq!(
        post(json!({"client_id": "c1", "name": "dup", "token_endpoint_auth_method": "client_secret_basic"}))
            .await
            .status(),
        409
    );
    let resp = app.admin(reqwest::Method::PATCH, "/clients/c1", Some(json!({"scopes": ["a", "b"]}))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["scopes"], json!(["a", "b"]));
    let list: Value = app.admin(reqwest::Method::GET, "/clients?limit=10", None).await.json().await.unwrap();
    assert!(list["clients"].as_array().unwrap().iter().any(|c| c["client_id"] == "c1"));
    assert_eq!(app.admin(reqwest::Method::DELETE, "/clients/c1", None).await.status(), 204);
    assert_eq!(app.admin(reqwest::Method::GET, "/clients/c1", None).await.status(), 404);
    assert_eq!(app.admin(reqwest::Method::DELETE, "/clients/c1", None).await.status(), 404);
}

#[tokio::test]
async fn deleted_client_tokens_stop_working() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let token = app.cc_token(&c).await;
    assert_eq!(
        app.admin(reqwest::Method::DELETE, &format!("/clients/{}", c.client_id), None).await.status(),
        204
    );
    assert_eq!(app.echo(&token).await.status(), 401);
}

#[tokio::test]
async fn pagination_walks_every_client() {
    let app = spawn_app().await;
    for i in 0..7 {
        app.create_client("client_secret_basic", json!({"client_id": format!("p{i}")})).await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let q = if after.is_empty() {
            "/clients?limit=3".to_owned()
        } else {
            format!("/clients?limit=3&after={after}")
        };
        let page: Value = app.admin(reqwest::Method::GET, &q, None).await.json().await.unwrap();
        for c in page["clients"].as_array().unwrap() {
            seen.push(c["client_id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => after = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("p{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn openapi_document_describes_the_admin_api() {
    let app = spawn_app().await;
    let resp = app.http.get(app.url("/admin/v1/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/admin/v1/clients",
        "/admin/v1/clients/{client_id}/suspend",
        "/admin/v1/keys/rotate",
        "/admin/v1/subscribers",
        "/admin/v1/legal-bases",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing from the OpenAPI document");
    }
    insta::assert_json_snapshot!("admin_openapi", doc);
}
