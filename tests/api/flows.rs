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
