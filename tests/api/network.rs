//! The admin API for the network: operators, subscribers, legal bases.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn operators_subscribers_and_legal_bases() {
    let app = spawn_app().await;
    let put = app
        .admin(
            Method::PUT,
            "/operators/op-1",
            Some(json!({"id": "x", "name": "Op", "country": "ES", "number_ranges": ["+34"]})),
        )
        .await;
    assert_eq!(put.status(), 200);
    let bad = app
        .admin(Method::PUT, "/operators/op-2", Some(json!({"id": "x", "name": "Op", "country": "Spain"})))
        .await;
    assert_eq!(bad.status(), 400);
    let sub = json!({
        "phone_number": "+34612345678",
        "operator_id": "op-1",
        "sims": [{"sim_id": "a", "activated_at": 1000}],
        "addresses": [{"ip": "::ffff:10.0.0.7", "port_start": 0, "port_end": 65535}],
        "handset_policy": "auto_approve",
    });
    let created = app.admin(Method::POST, "/subscribers", Some(sub.clone())).await;
    assert_eq!(created.status(), 201);
    let s: Value = created.json().await.unwrap();
    assert_eq!(s["addresses"][0]["ip"], "10.0.0.7", "IPv4-mapped addresses are stored as IPv4");
    assert_eq!(app.admin(Method::POST, "/subscribers", Some(sub.clone())).await.status(), 409);
    for (field, value) in [
        ("phone_number", json!("0034612345678")),
        ("operator_id", json!("nope")),
        ("addresses", json!([{"ip": "999.1.1.1"}])),
        ("addresses", json!([{"ip": "10.0.0.1", "port_start": 9, "port_end": 1}])),
        ("sims", json!([{"sim_id": "a", "activated_at": 2}, {"sim_id": "b", "activated_at": 1}])),
    ] {
        let mut b = sub.clone();
        b[field] = value;
        b["phone_number"] = if field == "phone_number" { b[field].clone() } else { json!("+34612345679") };
        let r = app.admin(Method::POST, "/subscribers", Some(b)).await;
        assert_eq!(r.status(), 400, "{field}");
    }
    let got: Value = app.admin(Method::GET, "/subscribers/+34612345678", None).await.json().await.unwrap();
    assert_eq!(got["operator_id"], "op-1");
    assert_eq!(
        app.admin(Method::DELETE, "/operators/op-1", None).await.status(),
        409,
        "still has subscribers"
    );
    let rule = json!({"scope": "sim-swap", "purpose": "dpv:FraudPreventionAndDetection", "basis": "consent", "capture": "refuse"});
    assert_eq!(app.admin(Method::PUT, "/legal-bases", Some(rule)).await.status(), 200);
    let bad_rule =
        json!({"scope": "openid", "purpose": "dpv:FraudPreventionAndDetection", "basis": "contract"});
    assert_eq!(app.admin(Method::PUT, "/legal-bases", Some(bad_rule)).await.status(), 400);
    let rules: Value = app.admin(Method::GET, "/legal-bases", None).await.json().await.unwrap();
    assert_eq!(rules.as_array().unwrap().len(), 1);
    let q = "/legal-bases?scope=sim-swap&purpose=dpv:FraudPreventionAndDetection";
    assert_eq!(app.admin(Method::DELETE, q, None).await.status(), 204);
    assert_eq!(app.admin(Method::DELETE, q, None).await.status(), 404);
    assert_eq!(app.admin(Method::DELETE, "/subscribers/+34612345678", None).await.status(), 204);
    assert_eq!(app.admin(Method::DELETE, "/operators/op-1", None).await.status(), 204);
    let list: Value = app.admin(Method::GET, "/subscribers", None).await.json().await.unwrap();
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn a_subscriber_added_through_the_api_is_reachable_by_ciba() {
    let app = crate::ciba::ciba_app(|_| {}).await;
    app.admin(Method::PUT, "/operators/op-1", Some(json!({"id": "op-1", "name": "Op", "country": "ES"})))
        .await;
    let sub = json!({"phone_number": "+34612345670", "operator_id": "op-1", "addresses": [{"ip": "192.0.2.10", "port_start": 2000, "port_end": 2999}], "handset_policy": "auto_approve"});
    assert_eq!(app.admin(Method::POST, "/subscribers", Some(sub)).await.status(), 201);
    let c = crate::ciba::ciba_client(&app, "client_secret_basic", json!({})).await;
    let id = crate::ciba::bc_ok(
        &app,
        &c,
        &[("login_hint", "ipport:192.0.2.10:2500"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    assert_eq!(crate::ciba::poll(&app, &c, &id).await.0, 200);
    // Suspended subscribers are unknown.
    let mut s: Value = app.admin(Method::GET, "/subscribers/+34612345670", None).await.json().await.unwrap();
    s["status"] = "suspended".into();
    let input = json!({"phone_number": s["msisdn"], "operator_id": "op-1", "status": "suspended", "addresses": s["addresses"]});
    assert_eq!(app.admin(Method::PUT, "/subscribers/+34612345670", Some(input)).await.status(), 200);
    let (st, e, _) = error_of(
        crate::ciba::bc(
            &app,
            &c,
            &[("login_hint", "tel:+34612345670"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
        )
        .await,
    )
    .await;
    assert_eq!((st, e.as_str()), (400, "unknown_user_id"));
}
