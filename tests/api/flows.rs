//! The flows as decisions and the one request policy, seen from outside:
//! legal-basis changes reach every node through the log, and the CIBA flow
//! reads no rule table.

use crate::ciba::{bc, bc_ok, ciba_app, ciba_client, poll};
use crate::helpers::*;
use netauth_server::infra::clock::Clock;
use reqwest::Method;
use serde_json::json;

const IDENTITY: &str = "dpv:IdentityVerification";

/// An admin change of the legal bases on one node applies on another
/// after that node's next sync, with no restart and no wait for a cache age.
#[tokio::test]
async fn a_legal_basis_change_reaches_every_node() {
    let a = ciba_app(|_| {}).await;
    let b = spawn_peer(&a).await;
    let c = ciba_client(&a, "client_secret_basic", json!({})).await;
    let form = [("login_hint", "tel:+34655555555"), ("scope", "dpv:IdentityVerification sim-swap")];
    // Contract basis in the demo rules: node B learns the rules now.
    bc_ok(&b, &c, &form).await;

    let q = format!("/legal-bases?scope=sim-swap&purpose={IDENTITY}");
    assert_eq!(a.admin(Method::DELETE, &q, None).await.status(), 204);
    let (status, code, _) = error_of(bc(&a, &c, &form).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_scope"), "at once on the node that changed it");
    b.sync().await;
    let (status, code, body) = error_of(bc(&b, &c, &form).await).await;
    assert_eq!((status, code.as_str()), (400, "invalid_scope"), "{body}");
    assert_eq!(body["error_description"], format!("scope `sim-swap` may not be used for {IDENTITY}"));

    let rule = json!({"scope": "sim-swap", "purpose": IDENTITY, "basis": "contract"});
    assert_eq!(a.admin(Method::PUT, "/legal-bases", Some(rule)).await.status(), 200);
    b.sync().await;
    let id = bc_ok(&b, &c, &form).await;
    assert_eq!(poll(&b, &c, &id).await.0, 200);
}

/// Store calls per method so far, less the background tasks' (revocation
/// sync, key reload, janitor, readiness).
fn request_path_calls(app: &TestApp) -> std::collections::BTreeMap<&'static str, u64> {
    const BACKGROUND: [&str; 4] = ["revocations_since", "list_keys", "purge_expired", "ping"];
    app.app.metrics.store_calls.by_method().filter(|(m, n)| *n > 0 && !BACKGROUND.contains(m)).collect()
}

/// The `ciba` bench scenario's flow (bc-authorize, then one poll for an
/// auto-approving handset, consent on record) once the client and the rules
/// are cached: the rule table is not read, and the flow costs at most six
/// Store round trips (hint, consent, insert; read, consume, subscriber).
#[tokio::test]
async fn a_ciba_flow_reads_no_rules_and_makes_six_store_calls() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let form = [("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")];
    // The first flow caches the client and the rules and records the consent.
    let id = bc_ok(&app, &c, &form).await;
    assert_eq!(poll(&app, &c, &id).await.0, 200);
    // Past the sync's look-back window (it re-applies the last few seconds
    // of the log, the client's registration notice among them), then one
    // sync: the steady state of a busy node.
    app.clock.advance_secs(10);
    app.sync().await;
    let id = bc_ok(&app, &c, &form).await;
    assert_eq!(poll(&app, &c, &id).await.0, 200);

    let before = request_path_calls(&app);
    let id = bc_ok(&app, &c, &form).await;
    assert_eq!(poll(&app, &c, &id).await.0, 200);
    let after = request_path_calls(&app);
    let flow: std::collections::BTreeMap<&str, u64> = after
        .iter()
        .map(|(m, n)| (*m, n - before.get(m).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    eprintln!("store calls of one CIBA flow: {flow:?}");
    assert!(!flow.contains_key("list_legal_bases"), "{flow:?}");
    assert!(flow.values().sum::<u64>() <= 6, "{flow:?}");
}

/// The claims of an ID token (its signature is checked elsewhere).
fn id_token_claims(tok: &serde_json::Value) -> serde_json::Value {
    let jwt = tok["id_token"].as_str().expect("an id_token");
    let payload = jwt.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&netauth_domain::crypto::b64url_decode(payload).expect("base64url")).expect("JSON")
}

/// OIDC Core §2: `auth_time` is when the subscriber authenticated, that is
/// approved on the handset, not when the client happened to poll; the same
/// for a handset that approves at once.
#[tokio::test]
async fn auth_time_is_when_the_subscriber_approved() {
    let app = ciba_app(|c| c.ciba.auth_req_ttl_secs = 600).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let scope = ("scope", "openid dpv:FraudPreventionAndDetection sim-swap");

    // On the handset (+34666666666 asks).
    let id = bc_ok(&app, &c, &[("login_hint", "tel:+34666666666"), scope]).await;
    app.clock.advance_secs(20);
    let p = crate::ciba::prompts(&app, "+34666666666").await;
    assert_eq!(crate::ciba::answer(&app, "+34666666666", p[0]["id"].as_str().unwrap(), "approve").await, 200);
    let approved_at = app.clock.now_ms() / 1000;
    app.clock.advance_secs(90);
    let (status, tok) = poll(&app, &c, &id).await;
    assert_eq!(status, 200, "{tok}");
    let claims = id_token_claims(&tok);
    assert_eq!(claims["auth_time"], approved_at, "{claims}");
    assert_eq!(claims["iat"], approved_at + 90, "issued at the poll");

    // At once (+34655555555 approves by itself): when the request was made.
    let asked_at = app.clock.now_ms() / 1000;
    let id = bc_ok(&app, &c, &[("login_hint", "tel:+34655555555"), scope]).await;
    app.clock.advance_secs(45);
    let (status, tok) = poll(&app, &c, &id).await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(id_token_claims(&tok)["auth_time"], asked_at);
}
