//! The flows as decisions and the one request policy, seen from outside:
//! legal-basis changes reach every node through the log, and the CIBA flow
//! reads no rule table.

use crate::ciba::{bc, bc_ok, ciba_app, ciba_client, poll};
use crate::helpers::*;
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
