//! Per-client bounds (issue #10 point 5): one client cannot grow every
//! node's revocation set without limit, nor take a subscriber's whole
//! pending-prompt quota from the other clients.

use crate::helpers::*;
use serde_json::{Value, json};

async fn revoke(app: &TestApp, c: &TestClient, token: &str) -> reqwest::Response {
    app.post_form("/revoke", Some((&c.client_id, c.secret.as_deref().unwrap())), &[("token", token)]).await
}

#[tokio::test]
async fn a_client_at_its_revocation_bound_gets_503_and_its_token_stays_valid() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| c.tokens.max_live_revocations_per_client = 3),
        ..Default::default()
    })
    .await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let other = app.create_client("client_secret_basic", json!({})).await;

    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(app.cc_token(&c).await);
    }
    for t in &tokens[..3] {
        assert_eq!(revoke(&app, &c, t).await.status(), 200);
        assert_eq!(app.echo(t).await.status(), 401, "revoked");
    }

    // The fourth: RFC 7009 §2.2.1's 503, which tells the client the token
    // is still valid, with a time to retry.
    let r = revoke(&app, &c, &tokens[3]).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_some(), "Retry-After");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (_, error, _) = error_of(r).await;
    assert_eq!(error, "temporarily_unavailable");
    assert_eq!(app.echo(&tokens[3]).await.status(), 200, "the token the bound refused stays valid");
    assert_eq!(app.introspect(&c, &tokens[3]).await["active"], true);

    // Revoking a token already revoked, or a refresh token, is not what the
    // bound counts: an unknown token is still 200 (RFC 7009 §2.2).
    assert_eq!(revoke(&app, &c, "not-a-token").await.status(), 200);

    // Another client is not affected.
    let t = app.cc_token(&other).await;
    assert_eq!(revoke(&app, &other, &t).await.status(), 200);
    assert_eq!(app.echo(&t).await.status(), 401);

    // Once the first revoked tokens have expired, their entries no longer
    // count and the client may revoke again.
    app.clock.advance_secs(3601);
    let fresh = app.cc_token(&c).await;
    assert_eq!(revoke(&app, &c, &fresh).await.status(), 200);
    assert_eq!(app.echo(&fresh).await.status(), 401);
}

#[tokio::test]
async fn the_revocation_bound_holds_across_nodes() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| c.tokens.max_live_revocations_per_client = 2),
        ..Default::default()
    })
    .await;
    let peer = spawn_with(Options {
        db_url: Some(app.db_url.clone()),
        master_b64: Some(app.master_b64.clone()),
        clock: Some(app.clock.clone()),
        tweak: Box::new(|c| c.tokens.max_live_revocations_per_client = 2),
    })
    .await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let tokens: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(app.cc_token(&c).await);
        }
        v
    };
    assert_eq!(revoke(&app, &c, &tokens[0]).await.status(), 200);
    assert_eq!(revoke(&peer, &c, &tokens[1]).await.status(), 200);
    let r = revoke(&app, &c, &tokens[2]).await;
    assert_eq!(r.status(), 503, "the count is the installation's, not one node's");
    peer.sync().await;
    assert_eq!(peer.echo(&tokens[0]).await.status(), 401);
    let v: Value = peer.introspect(&c, &tokens[2]).await;
    assert_eq!(v["active"], true);
}

/// SECURITY.md 30: one client's unanswered requests take at most
/// `ciba.max_pending_prompts_per_client` of a subscriber's places; other
/// clients still reach the subscriber, up to `ciba.max_pending_prompts`.
#[tokio::test]
async fn one_client_cannot_take_a_subscribers_whole_prompt_quota() {
    use crate::ciba::{bc, bc_ok, ciba_app, ciba_client};
    let app = ciba_app(|c| {
        c.ciba.max_pending_prompts = 5;
        c.ciba.max_pending_prompts_per_client = 2;
    })
    .await;
    let form = [("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")];
    let noisy = ciba_client(&app, "client_secret_basic", json!({})).await;
    bc_ok(&app, &noisy, &form).await;
    bc_ok(&app, &noisy, &form).await;
    let (s, e, body) = error_of(bc(&app, &noisy, &form).await).await;
    assert_eq!((s, e.as_str()), (403, "access_denied"), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("waiting"), "{body}");
    // Others still get through, until the subscriber's own bound.
    for _ in 0..3 {
        let other = ciba_client(&app, "client_secret_basic", json!({})).await;
        bc_ok(&app, &other, &form).await;
    }
    let last = ciba_client(&app, "client_secret_basic", json!({})).await;
    assert_eq!(error_of(bc(&app, &last, &form).await).await.0, 403, "five in all");
    // The limit resets when prompts expire.
    app.clock.advance_secs(121);
    bc_ok(&app, &noisy, &form).await;
}

#[tokio::test]
async fn a_per_client_prompt_bound_above_the_subscribers_is_refused_at_start() {
    let file = std::env::temp_dir().join(format!("netauth-bounds-{}.toml", random_name()));
    std::fs::write(&file, "[ciba]\nmax_pending_prompts = 5\nmax_pending_prompts_per_client = 6\n").unwrap();
    let loaded = netauth_server::infra::config::Config::load(Some(file.as_path()), std::iter::empty());
    let _ = std::fs::remove_file(&file);
    let err = loaded.unwrap_err().to_string();
    assert!(err.contains("ciba.max_pending_prompts_per_client"), "{err}");
}
