//! The sandbox as a developer portal (issue #11): the home page, the request
//! inspector (page and JSON), the labelled metrics.

use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn home_page_lists_endpoints_clients_and_subscribers() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let o = app
        .admin(
            reqwest::Method::PUT,
            "/operators/op-home",
            Some(json!({"id": "op-home", "name": "Home Telecom", "country": "ES", "number_ranges": ["+34"]})),
        )
        .await;
    assert_eq!(o.status(), 200);
    let s = app
        .admin(
            reqwest::Method::POST,
            "/subscribers",
            Some(json!({"phone_number": "+34699000123", "operator_id": "op-home", "handset_policy": "ask"})),
        )
        .await;
    assert_eq!(s.status(), 201);
    let resp = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let html = resp.text().await.unwrap();
    let token = format!("{}/token", app.base);
    let bc = format!("{}/apigateway/bc-authorize", app.base);
    for want in [
        token.as_str(),
        bc.as_str(),
        c.client_id.as_str(),
        "client_secret_basic",
        r#"<a href="/sandbox/handset/+34699000123">"#,
        "Home Telecom",
        "asks on its handset page",
        r#"href="/sandbox/requests""#,
    ] {
        assert!(html.contains(want), "home page lacks {want}");
    }
    // A client registered through the admin API has no secret to show.
    assert!(!html.contains(c.secret.as_deref().unwrap()), "a secret on the page");
}

#[tokio::test]
async fn production_has_no_home_page_or_inspector() {
    let app =
        spawn_with(Options { tweak: Box::new(|c| c.sandbox.enabled = false), ..Default::default() }).await;
    for path in ["/", "/sandbox/requests", "/sandbox/v1/requests"] {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
    let _ = app.cc_token(&app.create_client("client_secret_basic", json!({})).await).await;
    assert!(app.app.requests.recent(None, 10).is_empty(), "production keeps no request log");
}

#[tokio::test]
async fn inspector_says_who_asked_what_they_got_and_why() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let other = app.create_client("client_secret_basic", json!({})).await;
    let _ = app.cc_token(&c).await;
    let bad =
        app.post_form("/token", Some((&c.client_id, "wrong")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(bad.status(), 401);
    let _ = app.cc_token(&other).await;

    let v: Value = app
        .http
        .get(app.url(&format!("/sandbox/v1/requests?client_id={}", c.client_id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert!(rows.iter().all(|r| r["client_id"] == c.client_id.as_str()), "filtered by client: {v}");
    // Newest first: the failure, then the success.
    assert_eq!(rows[0]["outcome"], "invalid_client");
    assert_eq!(rows[0]["status"], 401);
    assert_eq!(rows[0]["reason"], "client authentication failed");
    assert_eq!(rows[0]["grant_type"], "client_credentials");
    assert_eq!(rows[1]["outcome"], "ok");
    assert_eq!(rows[1]["endpoint"], "/token");
    // Nothing secret is kept.
    assert!(!v.to_string().contains(c.secret.as_deref().unwrap()));

    let html = app.http.get(app.url("/sandbox/requests")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("invalid_client") && html.contains("client authentication failed"), "{html}");
    assert!(html.contains(&format!(r#"<option value="{}""#, other.client_id)), "filter lists every client");
    let only = app
        .http
        .get(app.url(&format!("/sandbox/requests?client_id={}", other.client_id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!only.contains("invalid_client"), "the filter hides the other client's failure");
}

#[tokio::test]
async fn inspector_shows_the_subscriber_a_hint_resolved_to() {
    let app = crate::ciba::ciba_app(|_| {}).await;
    let c = crate::ciba::ciba_client(&app, "client_secret_basic", json!({})).await;
    let resp = app
        .post_form(
            "/bc-authorize",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("login_hint", "ipport:80.90.34.2"), ("purpose", "dpv:FraudPreventionAndDetection#sim-swap")],
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let unknown = app
        .post_form(
            "/bc-authorize",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("login_hint", "tel:+34699999999"), ("purpose", "dpv:FraudPreventionAndDetection#sim-swap")],
        )
        .await;
    assert_eq!(unknown.status(), 400);
    let v: Value = app.http.get(app.url("/sandbox/v1/requests")).send().await.unwrap().json().await.unwrap();
    let rows = v.as_array().unwrap();
    let bc: Vec<&Value> = rows.iter().filter(|r| r["endpoint"] == "/bc-authorize").collect();
    assert_eq!(bc.len(), 2, "{v}");
    assert_eq!(bc[0]["outcome"], "unknown_user_id");
    assert!(bc[0]["subscriber"].is_null());
    assert_eq!(bc[1]["outcome"], "ok");
    assert_eq!(bc[1]["subscriber"], "+34611111111", "seed 000's ipport:80.90.34.2");
    assert_eq!(bc[1]["hint_kind"], "ipport");
}

#[tokio::test]
async fn metrics_count_by_endpoint_grant_and_outcome() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let _ = app.cc_token(&c).await;
    let _ =
        app.post_form("/token", Some((&c.client_id, "wrong")), &[("grant_type", "client_credentials")]).await;
    let m = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        r#"netauth_requests_total{endpoint="/token",outcome="ok"} 1"#,
        r#"netauth_requests_total{endpoint="/token",outcome="invalid_client"} 1"#,
        r#"netauth_token_requests_total{grant_type="client_credentials",outcome="ok"} 1"#,
        r#"netauth_tokens_issued_by_grant_total{grant_type="client_credentials"} 1"#,
        r#"netauth_request_duration_by_endpoint_seconds_count{endpoint="/token"} 2"#,
        "netauth_revocation_set_entries",
    ] {
        assert!(m.lines().any(|l| l.starts_with(line)), "no `{line}` in\n{m}");
    }
}
