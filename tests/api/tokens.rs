//! Access tokens after issuance: the protected endpoint, introspection
//! (RFC 7662), revocation (RFC 7009), suspension, expiry — SECURITY.md 14,
//! 15, 17 — and revocations reaching another node.

use crate::helpers::*;
use serde_json::{Value, json};

async fn assert_unauthenticated(resp: reqwest::Response, why: &str) {
    assert_eq!(resp.status(), 401, "{why}");
    assert!(resp.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{why}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"status": 401, "code": "UNAUTHENTICATED", "message": body["message"]}), "{why}");
}

#[tokio::test]
async fn protected_endpoint_refuses_missing_malformed_tampered_expired_and_revoked_tokens() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({"access_token_ttl": 1})).await;
    let token = app.cc_token(&c).await;
    assert_eq!(app.echo(&token).await.status(), 200);

    let missing = app.http.get(app.url("/sandbox/echo")).send().await.unwrap();
    assert_unauthenticated(missing, "missing").await;
    let basic = app.http.get(app.url("/sandbox/echo")).basic_auth("a", Some("b")).send().await.unwrap();
    assert_unauthenticated(basic, "wrong scheme").await;
    for bad in
        ["garbage", "nat1_", "nat1_00000000_AAAA", &format!("{token}A"), &token.replace("nat1_", "nat2_")]
    {
        assert_unauthenticated(app.echo(bad).await, bad).await;
    }
    // Tamper with one byte of the sealed body.
    let mut b = token.clone().into_bytes();
    let i = b.len() - 10;
    b[i] = if b[i] == b'a' { b'b' } else { b'a' };
    assert_unauthenticated(app.echo(std::str::from_utf8(&b).unwrap()).await, "tampered").await;
    // Expired (lifetime 1 s).
    app.clock.advance_ms(2100);
    assert_unauthenticated(app.echo(&token).await, "expired").await;
}

#[tokio::test]
async fn introspection_speaks_only_of_the_callers_live_tokens() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let other = app.create_client("client_secret_basic", json!({})).await;
    let token = app.cc_token(&c).await;
    let v = app.introspect(&c, &token).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["client_id"], c.client_id.as_str());
    assert_eq!(v["scope"], "read write");
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["exp"].as_i64().unwrap() > v["iat"].as_i64().unwrap());
    // Another client's token: inactive, as if unknown.
    assert_eq!(app.introspect(&other, &token).await, json!({"active": false}));
    assert_eq!(app.introspect(&c, "nat1_deadbeef_AAAA").await, json!({"active": false}));
    // The caller must authenticate.
    let resp = app.post_form("/introspect", None, &[("token", &token)]).await;
    assert_eq!(resp.status(), 401);
    let resp = app.post_form("/introspect", Some((&c.client_id, "wrong")), &[("token", &token)]).await;
    assert_eq!(error_of(resp).await.1, "invalid_client");
    let resp = app.post_form("/introspect", Some((&c.client_id, c.secret.as_deref().unwrap())), &[]).await;
    assert_eq!(error_of(resp).await.1, "invalid_request");
}

#[tokio::test]
async fn introspection_of_an_expired_token_is_inactive() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({"access_token_ttl": 1})).await;
    let token = app.cc_token(&c).await;
    app.clock.advance_ms(2100);
    assert_eq!(app.introspect(&c, &token).await, json!({"active": false}));
}

#[tokio::test]
async fn revocation_kills_own_tokens_only() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let other = app.create_client("client_secret_basic", json!({})).await;
    let token = app.cc_token(&c).await;
    let keep = app.cc_token(&c).await;
    // Another client revoking our token changes nothing (still 200).
    let resp = app
        .post_form(
            "/revoke",
            Some((&other.client_id, other.secret.as_deref().unwrap())),
            &[("token", &token)],
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.echo(&token).await.status(), 200);
    // Unauthenticated revocation is refused.
    assert_eq!(app.post_form("/revoke", None, &[("token", &token)]).await.status(), 401);
    // The owner revokes it.
    let resp = app
        .post_form(
            "/revoke",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("token", &token), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(app.echo(&token).await.status(), 401);
    assert_eq!(app.introspect(&c, &token).await["active"], false);
    assert_eq!(app.echo(&keep).await.status(), 200, "only the revoked token");
    // Revoking garbage is fine (RFC 7009 §2.2).
    let resp = app
        .post_form("/revoke", Some((&c.client_id, c.secret.as_deref().unwrap())), &[("token", "garbage")])
        .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn suspended_client_loses_its_tokens_and_gets_no_new_ones() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let token = app.cc_token(&c).await;
    let resp = app.admin(reqwest::Method::POST, &format!("/clients/{}/suspend", c.client_id), None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "suspended");
    assert_eq!(app.echo(&token).await.status(), 401);
    let resp = app
        .post_form(
            "/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(error_of(resp).await.1, "invalid_client");
    // Reactivated: new tokens work; the old one stays dead.
    let resp = app.admin(reqwest::Method::POST, &format!("/clients/{}/activate", c.client_id), None).await;
    assert_eq!(resp.status(), 200);
    // Issued within the same second as the suspension: must still work.
    let fresh = app.cc_token(&c).await;
    assert_eq!(app.echo(&fresh).await.status(), 200);
    assert_eq!(app.echo(&token).await.status(), 401);
}

#[tokio::test]
async fn revocations_and_suspensions_reach_other_nodes() {
    let a = spawn_app().await;
    let b = spawn_peer(&a).await;
    let c = a.create_client("client_secret_basic", json!({})).await;
    let t1 = a.cc_token(&c).await;
    let t2 = a.cc_token(&c).await;
    assert_eq!(b.echo(&t1).await.status(), 200, "a token from node A works on node B");
    let resp =
        a.post_form("/revoke", Some((&c.client_id, c.secret.as_deref().unwrap())), &[("token", &t1)]).await;
    assert_eq!(resp.status(), 200);
    // Node B's sync step (run by its background task every interval).
    b.sync().await;
    assert_eq!(b.echo(&t1).await.status(), 401, "node B never learned of the revocation");
    assert_eq!(b.echo(&t2).await.status(), 200);
    // A suspension on node B stops node A's tokens and node A's issuance.
    let resp = b.admin(reqwest::Method::POST, &format!("/clients/{}/suspend", c.client_id), None).await;
    assert_eq!(resp.status(), 200);
    a.sync().await;
    let issued = a
        .post_form(
            "/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", "client_credentials")],
        )
        .await
        .status();
    assert_eq!(
        (a.echo(&t2).await.status(), issued),
        (reqwest::StatusCode::UNAUTHORIZED, reqwest::StatusCode::UNAUTHORIZED),
        "node A kept honouring a client suspended on node B"
    );
}

#[tokio::test]
async fn secret_rotation_without_downtime() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_post", json!({})).await;
    let old = c.secret.clone().unwrap();
    let post = |secret: String| {
        let app = &app;
        let id = c.client_id.clone();
        async move {
            app.post_form(
                "/token",
                None,
                &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret)],
            )
            .await
            .status()
        }
    };
    let resp = app
        .admin(
            reqwest::Method::POST,
            &format!("/clients/{}/secrets", c.client_id),
            Some(json!({"expire_existing_in": 2})),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let new = body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(body["client"]["secrets"].as_array().unwrap().len(), 2);
    assert_eq!(post(old.clone()).await, 200, "old secret still valid during the overlap");
    assert_eq!(post(new.clone()).await, 200);
    app.clock.advance_ms(3100);
    assert_eq!(post(old).await, 401, "old secret expired");
    assert_eq!(post(new).await, 200);
}

#[tokio::test]
async fn a_client_created_on_one_node_works_at_once_on_another() {
    let a = spawn_app().await;
    let b = spawn_peer(&a).await;
    // Node B learns (and caches) that the id does not exist.
    let r = b.post_form("/token", Some(("late-client", "x")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(r.status(), 401);
    let c = a.create_client("client_secret_basic", json!({"client_id": "late-client"})).await;
    b.sync().await;
    let r = b
        .post_form(
            "/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(r.status(), 200, "node B kept its cached 'no such client'");
}
