//! Negative tests that reach the check they are named after (issue #10,
//! "the tests that hold these"): each sets up everything else correctly, so
//! that the answer can only come from the rule under test.

use crate::ciba::{bc_ok, ciba_app, ciba_client, poll};
use crate::client_auth::jwt_client;
use crate::helpers::*;
use serde_json::{Value, json};

/// SECURITY.md 21: `sub` ≠ client_id. Without a form `client_id` the client
/// is looked up by the assertion's `sub` and the request fails earlier, as
/// an unknown client; with it, the client is found and the `sub` rule is
/// what refuses.
#[tokio::test]
async fn an_assertion_whose_sub_is_another_client_is_refused_by_the_sub_rule() {
    let app = spawn_app().await;
    let c = jwt_client(&app).await;
    let mut claims = assertion_claims(&c.client_id, &app.url("/token"));
    claims["sub"] = "someone-else".into();
    let send = |claims: &Value| {
        app.http.post(app.url("/token")).form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", sign(&c, claims).as_str()),
        ])
    };
    let (s, e, body) = error_of(send(&claims).send().await.unwrap()).await;
    assert_eq!((s, e.as_str()), (401, "invalid_client"), "{body}");
    let why = body["error_description"].as_str().unwrap_or_default();
    assert!(why.contains("sub"), "refused by the sub rule, not another: {body}");
    // The control: the same request with sub = client_id succeeds, so
    // nothing else in it was wrong.
    claims["sub"] = c.client_id.clone().into();
    claims["jti"] = random_name().into();
    assert_eq!(send(&claims).send().await.unwrap().status(), 200);
}

/// SECURITY.md 23: two `Authorization` headers are exactly `400
/// invalid_request`, whatever they hold, valid credentials included.
#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let secret = c.secret.as_deref().unwrap();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{secret}", c.client_id)
        )
    );
    for second in [basic.as_str(), "Bearer x", "Basic Zm9vOmJhcg=="] {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.append("authorization", basic.parse().unwrap());
        headers.append("authorization", second.parse().unwrap());
        let resp = app
            .http
            .post(app.url("/token"))
            .headers(headers)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let (s, e, body) = error_of(resp).await;
        assert_eq!((s, e.as_str()), (400, "invalid_request"), "second header {second:?}: {body}");
    }
    // The control: one header alone works.
    assert_eq!(
        app.post_form("/token", Some((&c.client_id, secret)), &[("grant_type", "client_credentials")])
            .await
            .status(),
        200
    );
}

/// SECURITY.md 26, the other side of `slow_down`: a client that waits the
/// `interval` between polls is told `authorization_pending`, every time.
#[tokio::test]
async fn a_poll_paced_at_the_interval_stays_pending() {
    let app = ciba_app(|c| c.ciba.interval_secs = 2).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    for i in 0..5 {
        let (s, e) = poll(&app, &c, &id).await;
        assert_eq!(
            (s, e["error"].as_str().unwrap_or_default()),
            (400, "authorization_pending"),
            "poll {i}: {e}"
        );
        app.clock.advance_secs(2);
    }
    // The control: one poll early is slow_down.
    app.clock.advance_ms(-1000);
    assert_eq!(poll(&app, &c, &id).await.1["error"], "slow_down");
}

/// SECURITY.md 22, raced: two nodes each receive, at the same moment, an
/// assertion valid there (its `aud` is that node's token endpoint) with
/// one `jti`: exactly one is accepted.
#[tokio::test]
async fn one_jti_raced_on_two_nodes_with_their_own_aud_is_accepted_once() {
    let node_a = spawn_app().await;
    let node_b = spawn_peer(&node_a).await;
    let c = jwt_client(&node_a).await;
    for round in 0..5 {
        let jti = random_name();
        let mut tasks = Vec::new();
        for node in [&node_a, &node_b] {
            let mut claims = assertion_claims(&c.client_id, &node.url("/token"));
            claims["jti"] = jti.clone().into();
            let (http, url, jwt) = (node.http.clone(), node.url("/token"), sign(&c, &claims));
            tasks.push(tokio::spawn(async move {
                http.post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_assertion_type", ASSERTION_TYPE),
                        ("client_assertion", jwt.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, vec![200, 401], "round {round}");
    }
}

/// SECURITY.md 27 over HTTP, where addresses decide something for every
/// client: the failure limiter's per-address count. Behind a trusted proxy
/// the forwarded address is the caller's; from anyone else the header is
/// ignored; a hop that cannot be read is the proxy's own; `ip:port` hops are
/// their address.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| {
            c.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            c.client_auth.max_failures_per_address = 2;
            c.client_auth.max_failures_per_client_address = 1000;
        }),
        ..Default::default()
    })
    .await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let secret = c.secret.clone().unwrap();
    let proxy = app.http.clone(); // 127.0.0.1, trusted
    let stranger = http_from("127.0.0.6"); // not trusted
    let cc = |http: &reqwest::Client, xff: &str, secret: &str| {
        http.post(app.url("/token"))
            .basic_auth(&c.client_id, Some(secret))
            .header("x-forwarded-for", xff)
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();

    // Two failures from 203.0.113.7 through the proxy: that address is held...
    for _ in 0..2 {
        assert_eq!(status(cc(&proxy, "198.51.100.1, 203.0.113.7", "wrong").await.unwrap()), 401);
    }
    assert_eq!(
        status(cc(&proxy, "203.0.113.7", &secret).await.unwrap()),
        429,
        "the forwarded address is held"
    );
    // ...the proxy's other callers are not, nor is the same address with a port.
    assert_eq!(status(cc(&proxy, "203.0.113.8", &secret).await.unwrap()), 200);
    assert_eq!(status(cc(&proxy, "203.0.113.7:4711", &secret).await.unwrap()), 429, "ip:port is its address");

    // From an untrusted peer the header changes nothing: the peer is held.
    for _ in 0..2 {
        assert_eq!(status(cc(&stranger, "203.0.113.9", "wrong").await.unwrap()), 401);
    }
    assert_eq!(
        status(cc(&stranger, "203.0.113.10", &secret).await.unwrap()),
        429,
        "a spoofed header is ignored"
    );
    assert_eq!(
        status(cc(&proxy, "203.0.113.9", &secret).await.unwrap()),
        200,
        "the spoofed address was never held"
    );

    // An unreadable last hop is the proxy itself, not the hop to its left.
    for _ in 0..2 {
        assert_eq!(status(cc(&proxy, "203.0.113.11, not-an-address", "wrong").await.unwrap()), 401);
    }
    assert_eq!(status(cc(&proxy, "203.0.113.11", &secret).await.unwrap()), 200, "the left hop was not taken");
    assert_eq!(
        status(cc(&proxy, "garbage", &secret).await.unwrap()),
        429,
        "the proxy's own address was held"
    );
}
