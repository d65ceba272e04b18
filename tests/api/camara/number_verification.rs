//! Feature: CAMARA Number Verification API v2.1.0
//! (`number-verification.yaml`): operations phoneNumberVerify and
//! phoneNumberShare, the token rules of NumberVerification PR #226 (at most
//! 300 s, single use on every node, no refresh token), and the generic
//! 400/401/403/405/429.
//!
//! Network-authenticated tokens come from CIBA with an `operatortoken:`
//! hint (the sandbox's TS.43 entitlement server); CIBA with a `tel:` hint
//! is the not-network-authenticated case.

use super::runner::*;
use crate::helpers::spawn_peer;
use serde_json::{Value, json};

const VERIFY: &str = "/number-verification/v2/verify";
const SHARE: &str = "/number-verification/v2/device-phone-number";
const NV_VERIFY: &str = "number-verification:verify";
const NV_READ: &str = "number-verification:device-phone-number:read";
const NUMBER: &str = "+34666666666";

fn sha256_hex(s: &str) -> String {
    netauth_domain::crypto::sha256(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn phone_number_verify_feature() {
    let w = World::new().await;

    scenario("@phone_number_verify_1_generic_success_scenario");
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    let a = w.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await;
    a.status(200).body(json!({ "devicePhoneNumberVerified": true }));

    scenario("@phone_number_verify_2_verify_plain_phone_number_false");
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    let a = w.post(VERIFY).token(&t).json(json!({ "phoneNumber": "+34666666667" })).send().await;
    a.status(200).body(json!({ "devicePhoneNumberVerified": false }));

    scenario("a number that fits the schema but exists in no numbering plan is simply not this one");
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    let a = w.post(VERIFY).token(&t).json(json!({ "phoneNumber": "+123456789" })).send().await;
    a.status(200).property("/devicePhoneNumberVerified", json!(false));

    scenario("@phone_number_verify_3_verify_hashed_phone_number_true (hex of either case)");
    for hash in [sha256_hex(NUMBER), sha256_hex(NUMBER).to_uppercase()] {
        let t = w.token_network(NUMBER, NV_VERIFY).await;
        let a = w.post(VERIFY).token(&t).json(json!({ "hashedPhoneNumber": hash })).send().await;
        a.status(200).body(json!({ "devicePhoneNumberVerified": true }));
    }

    scenario("@phone_number_verify_4_verify_hashed_phone_number_false (also: the hash without the +)");
    for hash in [sha256_hex("+34666666667"), sha256_hex("34666666666")] {
        let t = w.token_network(NUMBER, NV_VERIFY).await;
        let a = w.post(VERIFY).token(&t).json(json!({ "hashedPhoneNumber": hash })).send().await;
        a.status(200).body(json!({ "devicePhoneNumberVerified": false }));
    }

    scenario("@phone_number_verify_400.1..5: no body, {}, unknown property only, both, invalid number");
    // A refused call spends nothing: one token serves them all.
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    let both = json!({ "phoneNumber": NUMBER, "hashedPhoneNumber": sha256_hex(NUMBER) });
    for body in [
        None,
        Some(json!({})),
        Some(json!({ "unknown": NUMBER })),
        Some(both),
        Some(json!({ "phoneNumber": "34666666666" })),
        Some(json!({ "phoneNumber": "+34 666 666 666" })),
        Some(json!({ "hashedPhoneNumber": "xyz" })),
        Some(json!({ "hashedPhoneNumber": &sha256_hex(NUMBER)[1..] })),
        Some(json!({ "phoneNumber": null })),
        Some(json!([NUMBER])),
    ] {
        let call = w.post(VERIFY).token(&t);
        let call = match body {
            Some(b) => call.json(b),
            None => call.raw("application/json", ""),
        };
        call.send().await.error(400, "INVALID_ARGUMENT");
    }
    let a = w.post(VERIFY).token(&t).raw("text/plain", "phoneNumber=+34666666666").send().await;
    a.error(400, "INVALID_ARGUMENT");
    w.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await.status(200);

    scenario("@phone_number_verify_401.1_no_authorization_header");
    w.post(VERIFY).json(json!({ "phoneNumber": NUMBER })).send().await.error(401, "UNAUTHENTICATED");

    scenario("@phone_number_verify_401.2_expired_access_token: 300 s and a second later");
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    w.advance(301);
    w.post(VERIFY)
        .token(&t)
        .json(json!({ "phoneNumber": NUMBER }))
        .send()
        .await
        .error(401, "UNAUTHENTICATED");

    scenario("@phone_number_verify_401.3_invalid_access_token");
    let mut t = w.token_network(NUMBER, NV_VERIFY).await;
    t.replace_range(t.len() - 3.., "xyz");
    w.post(VERIFY)
        .token(&t)
        .json(json!({ "phoneNumber": NUMBER }))
        .send()
        .await
        .error(401, "UNAUTHENTICATED");

    scenario("@phone_number_verify_401 spent: the token's second call");
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    w.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await.status(200);
    w.post(VERIFY)
        .token(&t)
        .json(json!({ "phoneNumber": NUMBER }))
        .send()
        .await
        .error(401, "UNAUTHENTICATED");

    scenario("@phone_number_verify_403.1_permission_denied: a token without the scope");
    let t = w.token_network(NUMBER, NV_READ).await;
    w.post(VERIFY)
        .token(&t)
        .json(json!({ "phoneNumber": NUMBER }))
        .send()
        .await
        .error(403, "PERMISSION_DENIED");
    let t = w.token_tel("+34655555555", "sim-swap").await;
    w.post(VERIFY)
        .token(&t)
        .json(json!({ "phoneNumber": NUMBER }))
        .send()
        .await
        .error(403, "PERMISSION_DENIED");

    scenario("403 PERMISSION_DENIED: a two-legged token, even with the scope");
    let t = w.token_2legged(NV_VERIFY).await;
    w.post(VERIFY)
        .token(&t)
        .json(json!({ "phoneNumber": NUMBER }))
        .send()
        .await
        .error(403, "PERMISSION_DENIED");

    scenario("@phone_number_verify_403.2_user_not_authenticated_by_mobile_network: CIBA with tel:");
    let t = w.token_tel("+34655555555", NV_VERIFY).await;
    let a = w.post(VERIFY).token(&t).json(json!({ "phoneNumber": "+34655555555" })).send().await;
    a.error(403, "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK");
    scenario("… and with ipport: (the network resolved the address, the client chose it)");
    let t = access_token(&w.ciba("ipport:[2001:db8::1]", NV_VERIFY).await);
    w.post(VERIFY)
        .token(&t)
        .json(json!({ "phoneNumber": "+34622222222" }))
        .send()
        .await
        .error(403, "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK");

    scenario("405 METHOD_NOT_ALLOWED: GET /verify");
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    let a = w.get(VERIFY).token(&t).send().await;
    a.error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(a.header("allow"), Some("POST"));
}

#[tokio::test]
async fn phone_number_share_feature() {
    let w = World::new().await;

    scenario("@phone_number_share_1_generic_success_scenario / _2_share_phone_number");
    let t = w.token_network(NUMBER, NV_READ).await;
    w.get(SHARE).token(&t).send().await.status(200).body(json!({ "devicePhoneNumber": NUMBER }));
    scenario("… for another subscriber, their own number");
    let t = w.token_network("+34600000001", NV_READ).await;
    w.get(SHARE).token(&t).send().await.status(200).body(json!({ "devicePhoneNumber": "+34600000001" }));

    scenario("400 INVALID_ARGUMENT: an x-correlator not matching its pattern");
    let t = w.token_network(NUMBER, NV_READ).await;
    let a = w.get(SHARE).token(&t).header("x-correlator", "€uro").send().await;
    a.error(400, "INVALID_ARGUMENT");
    let a = w.get(SHARE).token(&t).header("x-correlator", &"x".repeat(257)).send().await;
    a.error(400, "INVALID_ARGUMENT");
    w.get(SHARE).token(&t).send().await.status(200);

    scenario("@phone_number_share_401.1_no_authorization_header");
    w.get(SHARE).send().await.error(401, "UNAUTHENTICATED");
    scenario("@phone_number_share_401.2_expired_access_token");
    let t = w.token_network(NUMBER, NV_READ).await;
    w.advance(301);
    w.get(SHARE).token(&t).send().await.error(401, "UNAUTHENTICATED");
    scenario("@phone_number_share_401.3_invalid_access_token");
    w.get(SHARE)
        .token("nat1_0011aabb_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .error(401, "UNAUTHENTICATED");
    scenario("401: spent");
    let t = w.token_network(NUMBER, NV_READ).await;
    w.get(SHARE).token(&t).send().await.status(200);
    w.get(SHARE).token(&t).send().await.error(401, "UNAUTHENTICATED");

    scenario("@phone_number_share_403.1_permission_denied");
    let t = w.token_network(NUMBER, NV_VERIFY).await;
    w.get(SHARE).token(&t).send().await.error(403, "PERMISSION_DENIED");
    let t = w.token_2legged(NV_READ).await;
    w.get(SHARE).token(&t).send().await.error(403, "PERMISSION_DENIED");

    scenario("@phone_number_share_403.2_user_not_authenticated_by_mobile_network");
    let t = w.token_tel("+34655555555", NV_READ).await;
    w.get(SHARE)
        .token(&t)
        .send()
        .await
        .error(403, "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK");

    scenario("405 METHOD_NOT_ALLOWED: POST /device-phone-number");
    let a = w.post(SHARE).token(&t).json(json!({})).send().await;
    a.error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(a.header("allow"), Some("GET, HEAD"));
}

/// NumberVerification PR #226: tokens with these scopes live at most 300 s,
/// never come with a refresh token, and are single use on every node.
#[tokio::test]
async fn number_verification_tokens_are_short_single_use_and_never_refreshed() {
    let w = World::new().await;

    scenario("CIBA with offline_access: 300 s, no refresh token, offline_access not granted");
    let ot = w.operator_token(NUMBER).await;
    let tok = w.ciba(&format!("operatortoken:{ot}"), &format!("openid offline_access {NV_VERIFY}")).await;
    assert_eq!(tok["expires_in"], 300, "{tok}");
    assert!(tok.get("refresh_token").is_none(), "{tok}");
    assert!(!tok["scope"].as_str().unwrap().contains("offline_access"), "{tok}");
    assert!(tok["id_token"].is_string());
    scenario("… while the same client's SIM Swap tokens keep their lifetime and refresh token");
    let ss = w.ciba("tel:+34655555555", "offline_access sim-swap").await;
    assert_eq!(ss["expires_in"], 3600);
    assert!(ss["refresh_token"].is_string(), "{ss}");
    scenario("… and a token with both is bound by Number Verification's rules");
    let ot = w.operator_token("+34655555555").await;
    let both = w.ciba(&format!("operatortoken:{ot}"), &format!("offline_access sim-swap {NV_READ}")).await;
    assert_eq!(both["expires_in"], 300);
    assert!(both.get("refresh_token").is_none());
    let t = access_token(&both);
    w.get(SHARE).token(&t).send().await.status(200);
    w.post("/sim-swap/v2/check").token(&t).json(json!({})).send().await.error(401, "UNAUTHENTICATED");

    scenario("client_credentials with a Number Verification scope: 300 s as well");
    let c = &w.two_legged;
    let resp = w
        .app
        .post_form(
            "/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", "client_credentials"), ("scope", NV_VERIFY)],
        )
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["expires_in"], 300, "{v}");

    scenario("a token spent on one node is spent on every node");
    let peer = spawn_peer(&w.app).await;
    let t = w.token_network(NUMBER, NV_READ).await;
    w.get(SHARE).token(&t).send().await.status(200);
    let resp = peer.http.get(peer.url(SHARE)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    scenario("… and of two parallel first calls on two nodes, exactly one is answered");
    for _ in 0..5 {
        let t = w.token_network(NUMBER, NV_READ).await;
        let (a, b) = tokio::join!(
            w.app.http.get(w.app.url(SHARE)).bearer_auth(&t).send(),
            peer.http.get(peer.url(SHARE)).bearer_auth(&t).send(),
        );
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 401]);
    }
}

/// 429 on Number Verification too: the per-client limits apply to every API.
#[tokio::test]
async fn number_verification_quota() {
    let w = World::with_config(|c| {
        c.camara.quota_per_client = 1;
        c.camara.quota_window_secs = 86400;
    })
    .await;
    let t = w.token_network(NUMBER, NV_READ).await;
    w.get(SHARE).token(&t).send().await.status(200);
    let t = w.token_network(NUMBER, NV_READ).await;
    let a = w.get(SHARE).token(&t).send().await;
    a.error(429, "QUOTA_EXCEEDED");
    assert!(a.header("retry-after").is_some());
    let w2 = World::with_config(|c| {
        c.camara.rate_limit_per_sec = 1;
        c.camara.rate_limit_burst = 1;
    })
    .await;
    let t = w2.token_network(NUMBER, NV_VERIFY).await;
    w2.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await.status(200);
    let t = w2.token_network(NUMBER, NV_VERIFY).await;
    let a = w2.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await;
    a.error(429, "TOO_MANY_REQUESTS");
    assert_eq!(a.header("retry-after"), Some("1"));
    w2.advance(1);
    w2.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await.status(200);
}
