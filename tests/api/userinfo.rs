//! The UserInfo endpoint (OIDC Core §5.3) over HTTP: the bearer token in
//! the header or the form body, at `/userinfo` and seed 003's
//! `/openidconnect/v1/userinfo`; the ID token's pairwise `sub`, the number
//! with the `phone` scope; and every refusal in seed 003's "Error
//! management" shape with the RFC 6750 challenge.

use crate::authorize::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

const SEED_003_PATH: &str = "/openidconnect/v1/userinfo";

/// Tokens from a completed code flow on subscriber `n`'s line.
async fn tokens(app: &TestApp, c: &TestClient, n: u8, scope: &str) -> Value {
    let mut phone = Browser::new(app, Some(n));
    let code = code_for(&mut phone, &params(c, scope)).await;
    let (s, tok) = exchange(app, c, &code, &[]).await;
    assert_eq!(s, 200, "{tok}");
    tok
}

fn at(tok: &Value) -> &str {
    tok["access_token"].as_str().unwrap()
}

async fn get(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap()
}

/// A refusal: status, the `WWW-Authenticate` challenge, the body.
async fn refusal(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let challenge =
        r.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (status, challenge, r.json().await.unwrap())
}

#[tokio::test]
async fn claims_match_the_id_token_by_header_or_form_body_at_both_paths() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 3, "openid phone offline_access").await;
    let id = claims(tok["id_token"].as_str().unwrap());
    let expected = json!({ "sub": id["sub"], "phone_number": msisdn(3), "phone_number_verified": true });
    for path in ["/userinfo", SEED_003_PATH] {
        // GET with the header (RFC 6750 §2.1).
        let r = get(&app, path, at(&tok)).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert_eq!(r.json::<Value>().await.unwrap(), expected, "{path}");
        // POST with the header, and with the form body (§2.2).
        let r = app.http.post(app.url(path)).bearer_auth(at(&tok)).send().await.unwrap();
        assert_eq!(r.json::<Value>().await.unwrap(), expected, "{path} POST header");
        let r = app.post_form(path, None, &[("access_token", at(&tok))]).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), expected, "{path} POST body");
    }
    // A refreshed token speaks of the same subscriber.
    let r = app
        .post_form(
            "/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", "refresh_token"), ("refresh_token", tok["refresh_token"].as_str().unwrap())],
        )
        .await;
    let refreshed: Value = r.json().await.unwrap();
    let r = get(&app, "/userinfo", at(&refreshed)).await;
    assert_eq!(r.json::<Value>().await.unwrap(), expected);

    // Without `phone`: the pairwise sub only, never the number.
    let tok = tokens(&app, &c, 4, "openid").await;
    let id = claims(tok["id_token"].as_str().unwrap());
    let body: Value = get(&app, "/userinfo", at(&tok)).await.json().await.unwrap();
    assert_eq!(body, json!({ "sub": id["sub"] }));
    assert!(!body.to_string().contains("600000004"));

    // Another client sees the same subscriber under another sub (pairwise).
    let other = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &other, 4, "openid").await;
    let body: Value = get(&app, "/userinfo", at(&tok)).await.json().await.unwrap();
    assert_ne!(body["sub"], id["sub"]);
    assert_eq!(body["sub"], claims(tok["id_token"].as_str().unwrap())["sub"]);
}

#[tokio::test]
async fn missing_malformed_unknown_and_two_way_tokens() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 2, "openid phone").await;

    // No token at all: a bare challenge (RFC 6750 §3.1), no error code.
    let (s, ch, body) = refusal(app.http.get(app.url("/userinfo")).send().await.unwrap()).await;
    assert_eq!((s, ch.as_str()), (401, "Bearer realm=\"netauth\""));
    assert_eq!(
        body,
        json!({"code": 41, "message": "Invalid credentials", "description": "no access token was sent"})
    );
    // Basic credentials are not a bearer token.
    let r = app.http.get(app.url("/userinfo")).basic_auth(&c.client_id, c.secret.as_deref()).send().await;
    assert_eq!(refusal(r.unwrap()).await.0, 401);

    // A token nobody issued.
    let (s, ch, body) = refusal(get(&app, "/userinfo", "nat1_00112233_AAAA").await).await;
    assert_eq!(s, 401);
    assert_eq!(
        ch,
        "Bearer realm=\"netauth\", error=\"invalid_token\", error_description=\"access token not found\""
    );
    assert_eq!(
        body,
        json!({"code": 41, "message": "Invalid credentials", "description": "access token not found"})
    );

    // The header and the body both (RFC 6750 §2: one method per request).
    let r = app
        .http
        .post(app.url("/userinfo"))
        .bearer_auth(at(&tok))
        .form(&[("access_token", at(&tok))])
        .send()
        .await
        .unwrap();
    let (s, ch, _) = refusal(r).await;
    assert_eq!(s, 400);
    assert!(ch.contains("error=\"invalid_request\""), "{ch}");
    // Two Authorization headers.
    let r = app
        .http
        .get(app.url("/userinfo"))
        .header("authorization", format!("Bearer {}", at(&tok)))
        .header("authorization", "Bearer other")
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(r).await.0, 400);
    // A repeated form parameter.
    let form = format!("access_token={0}&access_token={0}", at(&tok));
    let r = app
        .http
        .post(app.url("/userinfo"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(refusal(r).await.0, 400);
    // Other methods are not served.
    let r = app.http.delete(app.url("/userinfo")).bearer_auth(at(&tok)).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_invalid_credentials() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({ "access_token_ttl": 600 })).await;
    let tok = tokens(&app, &c, 5, "openid phone").await;
    assert_eq!(get(&app, "/userinfo", at(&tok)).await.status(), 200);
    app.clock.advance_secs(601);
    let (s, ch, body) = refusal(get(&app, SEED_003_PATH, at(&tok)).await).await;
    assert_eq!(s, 401);
    assert!(ch.starts_with("Bearer realm=\"netauth\", error=\"invalid_token\""), "{ch}");
    assert_eq!(
        body,
        json!({"code": 41, "message": "Invalid credentials", "description": "the access token has expired"})
    );

    let tok = tokens(&app, &c, 5, "openid phone").await;
    let r = app
        .post_form("/revoke", Some((&c.client_id, c.secret.as_deref().unwrap())), &[("token", at(&tok))])
        .await;
    assert_eq!(r.status(), 200);
    let (s, _, body) = refusal(get(&app, "/userinfo", at(&tok)).await).await;
    assert_eq!((s, body["description"].as_str()), (401, Some("the access token has been revoked")));
}

#[tokio::test]
async fn withdrawn_consent_answers_as_seed_003_shows() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 6, "openid phone").await;
    assert_eq!(get(&app, "/userinfo", at(&tok)).await.status(), 200);
    let q = format!(
        "/subscribers/{}/consents?client_id={}&scope=phone&purpose=dpv:RequestedServiceProvision",
        msisdn(6),
        c.client_id
    );
    assert_eq!(app.admin(Method::DELETE, &q, None).await.status(), 204);
    let (s, ch, body) = refusal(get(&app, SEED_003_PATH, at(&tok)).await).await;
    assert_eq!(s, 401);
    assert!(ch.contains("error=\"invalid_token\", error_description=\"no consent has been found\""), "{ch}");
    // Seed 003, "The end-user removed the authorizations for your client application".
    assert_eq!(
        body,
        json!({"code": 41, "message": "Invalid credentials", "description": "no consent has been found"})
    );
}

#[tokio::test]
async fn a_suspended_client_is_access_denied_and_stays_revoked_after_activation() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 7, "openid phone").await;
    let r = app.admin(Method::POST, &format!("/clients/{}/suspend", c.client_id), None).await;
    assert!(r.status().is_success());
    let (s, ch, body) = refusal(get(&app, "/userinfo", at(&tok)).await).await;
    assert_eq!(s, 403);
    assert!(ch.contains("error=\"invalid_token\""), "{ch}");
    assert_eq!(
        body,
        json!({"code": 50, "message": "Access Denied", "description": "the client has been suspended"})
    );
    let r = app.admin(Method::POST, &format!("/clients/{}/activate", c.client_id), None).await;
    assert!(r.status().is_success());
    let (s, _, body) = refusal(get(&app, "/userinfo", at(&tok)).await).await;
    assert_eq!((s, body["description"].as_str()), (401, Some("the access token has been revoked")));
    // New tokens work again.
    let tok = tokens(&app, &c, 7, "openid phone").await;
    assert_eq!(get(&app, "/userinfo", at(&tok)).await.status(), 200);
}

#[tokio::test]
async fn tokens_without_a_subscriber_or_openid_are_insufficient_scope() {
    let app = code_app().await;
    let cc = app.create_client("client_secret_basic", json!({})).await;
    let (s, ch, body) = refusal(get(&app, "/userinfo", &app.cc_token(&cc).await).await).await;
    assert_eq!(s, 403);
    assert_eq!(
        ch,
        "Bearer realm=\"netauth\", error=\"insufficient_scope\", error_description=\"the access token was not issued for OpenID Connect (no subscriber, or no openid scope)\", scope=\"openid\""
    );
    assert_eq!((body["code"].as_i64(), body["message"].as_str()), (Some(50), Some("Access Denied")));
    // A three-legged token for a resource API, without openid.
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 8, "dpv:FraudPreventionAndDetection number-verification:verify").await;
    assert_eq!(refusal(get(&app, "/userinfo", at(&tok)).await).await.0, 403);
}

#[tokio::test]
async fn rate_limits_answer_too_many_requests_as_seed_003_shows() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| {
            c.camara.rate_limit_per_sec = 1;
            c.camara.rate_limit_burst = 1;
        }),
        ..Default::default()
    })
    .await;
    netauth_server::sandbox::load_demo_network(&app.app).await.unwrap();
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 9, "openid phone").await;
    assert_eq!(get(&app, "/userinfo", at(&tok)).await.status(), 200);
    let r = get(&app, "/userinfo", at(&tok)).await;
    assert_eq!(r.headers()["retry-after"], "1");
    let (s, ch, body) = refusal(r).await;
    assert_eq!((s, ch.as_str()), (403, ""), "a rate limit is not a token problem: no challenge");
    assert_eq!(
        body,
        json!({"code": 53, "message": "Too Many Requests", "description": "The application has made too many calls and has exceeded the rate limit for this service."})
    );
    // The bucket refills on the application clock.
    app.clock.advance_secs(1);
    assert_eq!(get(&app, "/userinfo", at(&tok)).await.status(), 200);
}

#[tokio::test]
async fn the_oauth_openapi_document_describes_both_paths_and_methods() {
    let app = spawn_app().await;
    let doc: Value = app.http.get(app.url("/openapi/oauth.json")).send().await.unwrap().json().await.unwrap();
    for path in ["/userinfo", SEED_003_PATH] {
        for method in ["get", "post"] {
            let op = &doc["paths"][path][method];
            assert_eq!(op["security"], json!([{ "bearer": [] }]), "{path} {method}");
            assert_eq!(
                op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/UserInfo"
            );
            for status in ["401", "403"] {
                assert_eq!(
                    op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/BearerError",
                    "{path} {method} {status}"
                );
            }
            assert!(op["responses"].get("429").is_none(), "a rate limit here is seed 003's 403");
        }
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}
