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

/// The value of the one sample whose name and labels are `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Issue #11 point 7, over HTTP: after a CIBA request in every state, a
/// refresh, an introspection and a revocation, `/metrics` has each named
/// family with the counts those requests make, and the revocation set's size.
#[tokio::test]
async fn metrics_name_every_family_after_the_requests_that_feed_it() {
    use crate::ciba::{CIBA, bc_ok, ciba_app, ciba_client, poll};
    let app = ciba_app(|c| c.ciba.auth_req_ttl_secs = 5).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let creds = Some((c.client_id.as_str(), c.secret.as_deref().unwrap()));
    let scope = ("scope", "dpv:FraudPreventionAndDetection sim-swap");
    // +34655555555 approves at once, +34677777777 denies, +34666666666 asks.
    let approved = bc_ok(
        &app,
        &c,
        &[
            ("login_hint", "tel:+34655555555"),
            ("scope", "offline_access dpv:FraudPreventionAndDetection sim-swap"),
        ],
    )
    .await;
    let denied = bc_ok(&app, &c, &[("login_hint", "tel:+34677777777"), scope]).await;
    let pending = bc_ok(&app, &c, &[("login_hint", "tel:+34666666666"), scope]).await;
    let (s, tok) = poll(&app, &c, &approved).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(poll(&app, &c, &denied).await.1["error"], "access_denied");
    assert_eq!(poll(&app, &c, &pending).await.1["error"], "authorization_pending");
    let refresh = tok["refresh_token"].as_str().expect("a refresh token");
    let r =
        app.post_form("/token", creds, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(r.status(), 200);
    let access = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.introspect(&c, &access).await["active"], true);
    assert_eq!(app.post_form("/revoke", creds, &[("token", &access)]).await.status(), 200);
    app.clock.advance_ms(6000);
    assert_eq!(poll(&app, &c, &pending).await.1["error"], "expired_token");

    let m = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for (family, kind) in [
        ("netauth_requests_total", "counter"),
        ("netauth_token_requests_total", "counter"),
        ("netauth_tokens_issued_by_grant_total", "counter"),
        ("netauth_ciba_requests_total", "counter"),
        ("netauth_request_duration_by_endpoint_seconds", "histogram"),
        ("netauth_http_request_duration_seconds", "histogram"),
        ("netauth_revocation_set_entries", "gauge"),
    ] {
        assert!(m.contains(&format!("\n# TYPE {family} {kind}\n")), "no {kind} {family} in\n{m}");
    }
    for (series, want) in [
        (r#"netauth_requests_total{endpoint="/bc-authorize",outcome="ok"}"#, 3.0),
        (r#"netauth_requests_total{endpoint="/token",outcome="ok"}"#, 2.0),
        (r#"netauth_requests_total{endpoint="/token",outcome="access_denied"}"#, 1.0),
        (r#"netauth_requests_total{endpoint="/token",outcome="authorization_pending"}"#, 1.0),
        (r#"netauth_requests_total{endpoint="/token",outcome="expired_token"}"#, 1.0),
        (r#"netauth_requests_total{endpoint="/introspect",outcome="ok"}"#, 1.0),
        (r#"netauth_requests_total{endpoint="/revoke",outcome="ok"}"#, 1.0),
        (&format!(r#"netauth_token_requests_total{{grant_type="{CIBA}",outcome="ok"}}"#), 1.0),
        (&format!(r#"netauth_token_requests_total{{grant_type="{CIBA}",outcome="access_denied"}}"#), 1.0),
        (
            &format!(
                r#"netauth_token_requests_total{{grant_type="{CIBA}",outcome="authorization_pending"}}"#
            ),
            1.0,
        ),
        (&format!(r#"netauth_token_requests_total{{grant_type="{CIBA}",outcome="expired_token"}}"#), 1.0),
        (r#"netauth_token_requests_total{grant_type="refresh_token",outcome="ok"}"#, 1.0),
        (&format!(r#"netauth_tokens_issued_by_grant_total{{grant_type="{CIBA}"}}"#), 1.0),
        (r#"netauth_tokens_issued_by_grant_total{grant_type="refresh_token"}"#, 1.0),
        (r#"netauth_ciba_requests_total{state="pending"}"#, 1.0),
        (r#"netauth_ciba_requests_total{state="approved"}"#, 1.0),
        (r#"netauth_ciba_requests_total{state="denied"}"#, 1.0),
        (r#"netauth_ciba_requests_total{state="expired"}"#, 1.0),
        (r#"netauth_request_duration_by_endpoint_seconds_count{endpoint="/bc-authorize"}"#, 3.0),
        (r#"netauth_request_duration_by_endpoint_seconds_count{endpoint="/token"}"#, 5.0),
        (r#"netauth_request_duration_by_endpoint_seconds_bucket{endpoint="/token",le="+Inf"}"#, 5.0),
    ] {
        assert_eq!(sample(&m, series), Some(want), "{series} in\n{m}");
    }
    let revoked = sample(&m, "netauth_revocation_set_entries").expect("the revocation set's size");
    assert!(revoked >= 1.0, "the revoked access token is not in the set: {revoked}");
    // docs/deployment.md names every family /metrics exposes.
    let doc = include_str!("../../docs/deployment.md");
    for family in m.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next()) {
        assert!(doc.contains(&format!("`{family}")), "docs/deployment.md does not list {family}");
    }
}
