//! Feature: CAMARA SIM Swap API v2.1.0 (`sim-swap.yaml`): operations
//! checkSimSwap and retrieveSimSwapDate, the Commonalities identifier
//! scenarios (C02.01–05), and the generic 401/403/404/405/429.
//!
//! Demo network (sandbox/mod.rs): +34655555555 swapped 2 days ago,
//! +34633333333 30 days ago, +34644444444 200 days ago, +34688888888 never
//! had a SIM, +34699999999 suspended, +346000000NN one SIM since 200 days.
//! The monitored period is 90 days unless a scenario sets it.

use super::runner::*;
use netauth_proto::time::format_rfc3339;
use serde_json::json;

const CHECK: &str = "/sim-swap/v2/check";
const RETRIEVE: &str = "/sim-swap/v2/retrieve-date";

#[tokio::test]
async fn check_sim_swap_feature() {
    let w = World::new().await;

    scenario("@check_sim_swap_1_generic_success_scenario (3-legged: the number from the token)");
    let t = w.token_tel("+34655555555", "sim-swap:check").await;
    w.post(CHECK).token(&t).json(json!({})).send().await.status(200).body(json!({ "swapped": true }));

    scenario("@check_sim_swap_1_generic_success_scenario (2-legged: the number in the body)");
    let t2 = w.token_2legged("sim-swap:check").await;
    w.post(CHECK).token(&t2).json(json!({ "phoneNumber": "+34655555555" })).send().await.status(200);

    scenario("@check_sim_swap_2_valid_sim_swap_no_max_age: swapped 2 days ago, default 240 h");
    let a = w.post(CHECK).token(&t2).json(json!({ "phoneNumber": "+34655555555" })).send().await;
    a.status(200).property("/swapped", json!(true));

    scenario("@check_sim_swap_3_valid_sim_swap_max_age: swapped <hours> ago, maxAge ≥ hours");
    for (n, hours) in [(1, 260), (2, 120), (3, 24), (4, 12)] {
        let msisdn = format!("+3460000000{n}");
        w.swap_sim(&msisdn, hours).await;
        for max_age in [hours + 1, 2160] {
            let body = json!({ "phoneNumber": msisdn, "maxAge": max_age });
            w.post(CHECK).token(&t2).json(body).send().await.status(200).property("/swapped", json!(true));
        }
    }

    scenario("@check_sim_swap_4_more_than_240_hours: swapped 30 days ago, default maxAge");
    let a = w.post(CHECK).token(&t2).json(json!({ "phoneNumber": "+34633333333" })).send().await;
    a.status(200).property("/swapped", json!(false));

    scenario("@check_sim_swap_5_out_of_max_age: maxAge = hours since the swap - 1");
    let body = json!({ "phoneNumber": "+34600000001", "maxAge": 259 });
    w.post(CHECK).token(&t2).json(body).send().await.status(200).property("/swapped", json!(false));

    scenario("@check_sim_swap_6_no_sim_swap_no_max_age: one SIM, activated 200 days ago");
    let a = w.post(CHECK).token(&t2).json(json!({ "phoneNumber": "+34600000005" })).send().await;
    a.status(200).property("/swapped", json!(false));

    scenario("@check_sim_swap_7_no_sim_swap_with_max_age");
    for hours in [260, 120, 24, 12] {
        let body = json!({ "phoneNumber": "+34600000005", "maxAge": hours - 1 });
        w.post(CHECK).token(&t2).json(body).send().await.status(200).property("/swapped", json!(false));
    }

    scenario("@check_sim_swap_400.2_invalid_max_age: maxAge not an integer ≥ 1");
    for bad in [json!("240"), json!(1.5), json!(0), json!(-3), json!(null), json!(1e30)] {
        let body = json!({ "phoneNumber": "+34655555555", "maxAge": bad });
        w.post(CHECK).token(&t2).json(body).send().await.error(400, "INVALID_ARGUMENT");
    }

    scenario("@check_sim_swap_400.3_invalid_max_age_value: maxAge 100000");
    let body = json!({ "phoneNumber": "+34655555555", "maxAge": 100000 });
    w.post(CHECK).token(&t2).json(body).send().await.error(400, "OUT_OF_RANGE");

    scenario("@check_sim_swap_400.4_max_age_out_of_monitored_period: 2161 h > 90 days");
    let body = json!({ "phoneNumber": "+34655555555", "maxAge": 2161 });
    let a = w.post(CHECK).token(&t2).json(body).send().await;
    a.error(400, "OUT_OF_RANGE");
    assert!(a.body["message"].as_str().unwrap().contains("90 days"), "{}", a.text);

    scenario("a token spent by nothing: SIM Swap tokens are not single-use");
    w.post(CHECK).token(&t).json(json!({})).send().await.status(200);

    scenario("a swap made just now (sandbox API without a body) is seen at once, 3-legged too");
    let resp =
        w.app.http.post(w.app.url("/sandbox/v1/subscribers/+34600000006/sim-swap")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let t6 = w.token_tel("+34600000006", "sim-swap").await;
    let a = w.post(CHECK).token(&t6).json(json!({ "maxAge": 1 })).send().await;
    a.status(200).property("/swapped", json!(true));
    scenario("… and an hour and a second later, no longer within maxAge 1");
    w.advance(3601);
    let t6 = w.token_tel("+34600000006", "sim-swap").await;
    let a = w.post(CHECK).token(&t6).json(json!({ "maxAge": 1 })).send().await;
    a.status(200).property("/swapped", json!(false));
}

#[tokio::test]
async fn retrieve_sim_swap_date_feature() {
    let w = World::new().await;
    let t2 = w.token_2legged("sim-swap:retrieve-date").await;

    scenario("@retrieve_sim_swap_date_1_generic_success_scenario (3-legged)");
    let t = w.token_tel("+34655555555", "sim-swap:retrieve-date").await;
    let a = w.post(RETRIEVE).token(&t).json(json!({})).send().await;
    a.status(200);
    let at = netauth_proto::time::parse_rfc3339(a.body["latestSimChange"].as_str().unwrap()).unwrap();
    assert!((w.now() - 2 * 86400 - at).abs() <= 2, "swapped 2 days ago: {}", a.text);
    assert!(a.body.get("monitoredPeriod").is_none());

    scenario("@retrieve_sim_swap_date_2_valid_sim_swap: the date of a swap made at a given time");
    let swap = w.swap_sim("+34600000002", 50).await;
    let expected = swap["sim"]["activated_at"].clone();
    assert_eq!(expected, json!(format_rfc3339(w.now() - 50 * 3600)));
    let a = w.post(RETRIEVE).token(&t2).json(json!({ "phoneNumber": "+34600000002" })).send().await;
    a.status(200).body(json!({ "latestSimChange": expected }));

    scenario("a SIM history set through the admin API is what is answered");
    let sims = json!([
        { "sim_id": "8934000000000000001", "activated_at": w.now() - 40 * 86400 },
        { "sim_id": "8934000000000000002", "activated_at": w.now() - 3 * 86400 },
    ]);
    let resp = w.app.admin(reqwest::Method::PUT, "/subscribers/+34600000003/sims", Some(sims)).await;
    assert_eq!(resp.status(), 200);
    let a = w.post(RETRIEVE).token(&t2).json(json!({ "phoneNumber": "+34600000003" })).send().await;
    a.status(200).property("/latestSimChange", json!(format_rfc3339(w.now() - 3 * 86400)));
    let body = json!({ "phoneNumber": "+34600000003", "maxAge": 72 });
    let t2c = w.token_2legged("sim-swap").await;
    w.post(CHECK).token(&t2c).json(body).send().await.status(200).property("/swapped", json!(false));
    let body = json!({ "phoneNumber": "+34600000003", "maxAge": 73 });
    w.post(CHECK).token(&t2c).json(body).send().await.status(200).property("/swapped", json!(true));

    scenario("RETRIEVE_MONITORED_PERIOD: last change 200 days ago, monitored 90 days");
    let a = w.post(RETRIEVE).token(&t2).json(json!({ "phoneNumber": "+34644444444" })).send().await;
    a.status(200).body(json!({ "latestSimChange": null, "monitoredPeriod": 90 }));

    scenario("@retrieve_sim_swap_date_4_sim_never_associated: null");
    let a = w.post(RETRIEVE).token(&t2).json(json!({ "phoneNumber": "+34688888888" })).send().await;
    a.status(200).property("/latestSimChange", json!(null));
    let body = json!({ "phoneNumber": "+34688888888", "maxAge": 2400 });
    let a = w.post(CHECK).token(&t2c).json(body).send().await;
    a.error(400, "OUT_OF_RANGE");
}

#[tokio::test]
async fn retrieve_sim_swap_date_without_a_monitoring_limit() {
    let w = World::with_config(|c| c.camara.sim_swap_monitored_days = 0).await;
    let t2 = w.token_2legged("sim-swap").await;

    scenario("@retrieve_sim_swap_date_3_no_sim_swap_returns_activation_date");
    let a = w.post(RETRIEVE).token(&t2).json(json!({ "phoneNumber": "+34600000004" })).send().await;
    a.status(200).body(json!({ "latestSimChange": format_rfc3339(w.now() - 200 * 86400) }));

    scenario("swapped 200 days ago: the date, as nothing limits it");
    let a = w.post(RETRIEVE).token(&t2).json(json!({ "phoneNumber": "+34644444444" })).send().await;
    a.status(200).body(json!({ "latestSimChange": format_rfc3339(w.now() - 200 * 86400) }));

    scenario("maxAge 2400 is within the API's range and not limited");
    let body = json!({ "phoneNumber": "+34600000004", "maxAge": 2400 });
    w.post(CHECK).token(&t2).json(body).send().await.status(200).property("/swapped", json!(false));
}

/// C02 (Commonalities `C02-phoneNumber-errors.feature`) on both operations.
#[tokio::test]
async fn phone_number_identifier_scenarios_c02() {
    let w = World::new().await;
    let t2 = w.token_2legged("sim-swap").await;
    let t3 = w.token_tel("+34655555555", "sim-swap").await;
    for op in [CHECK, RETRIEVE] {
        scenario(&format!("{op} @C02.01_phone_number_not_schema_compliant"));
        for bad in
            [json!("34655555555"), json!("+0655555555"), json!("+34 655 555 555"), json!(34655555555_i64)]
        {
            let a = w.post(op).token(&t2).json(json!({ "phoneNumber": bad })).send().await;
            a.error(400, "INVALID_ARGUMENT");
        }

        scenario(&format!("{op} @C02.02_phone_number_not_found"));
        let a = w.post(op).token(&t2).json(json!({ "phoneNumber": "+34612345678" })).send().await;
        a.error(404, "IDENTIFIER_NOT_FOUND");

        scenario(&format!("{op} @C02.03_unnecessary_phone_number: even the token's own number"));
        for n in ["+34655555555", "+34633333333"] {
            let a = w.post(op).token(&t3).json(json!({ "phoneNumber": n })).send().await;
            a.error(422, "UNNECESSARY_IDENTIFIER");
        }

        scenario(&format!("{op} @C02.04_missing_phone_number"));
        w.post(op).token(&t2).json(json!({})).send().await.error(422, "MISSING_IDENTIFIER");

        scenario(&format!("{op} @C02.05_phone_number_not_supported: a suspended line"));
        let a = w.post(op).token(&t2).json(json!({ "phoneNumber": "+34699999999" })).send().await;
        a.error(422, "SERVICE_NOT_APPLICABLE");
    }

    scenario("3-legged: the token's subscriber suspended after issuance");
    let t = w.token_tel("+34600000007", "sim-swap").await;
    w.set_status("+34600000007", "suspended").await;
    w.post(CHECK).token(&t).json(json!({})).send().await.error(422, "SERVICE_NOT_APPLICABLE");
    w.post(RETRIEVE).token(&t).json(json!({})).send().await.error(422, "SERVICE_NOT_APPLICABLE");
}

/// What every operation shares: the generic 401s, 403, 400 for bodies and
/// headers, 404 and 405.
#[tokio::test]
async fn sim_swap_generic_errors() {
    let w = World::new().await;
    let good = json!({ "phoneNumber": "+34655555555" });

    for op in [CHECK, RETRIEVE] {
        scenario(&format!("{op} @401.1_no_authorization_header"));
        w.post(op).json(good.clone()).send().await.error(401, "UNAUTHENTICATED");

        scenario(&format!("{op} @401.2_expired_access_token"));
        let t = w.token_2legged("sim-swap").await;
        w.advance(3601);
        w.post(op).token(&t).json(good.clone()).send().await.error(401, "UNAUTHENTICATED");

        scenario(&format!("{op} @401.3_invalid_access_token"));
        let mut tampered = w.token_2legged("sim-swap").await;
        tampered.replace_range(tampered.len() - 4.., "AAAA");
        for bad in [tampered.as_str(), "nat1_00000000_AAAA", "not-a-token"] {
            let a = w.post(op).token(bad).json(good.clone()).send().await;
            a.error(401, "UNAUTHENTICATED");
            assert!(a.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
        }

        scenario(&format!("{op} 403 PERMISSION_DENIED: a token without the operation's scope"));
        let nv = w.token_2legged("number-verification:verify").await;
        w.post(op).token(&nv).json(good.clone()).send().await.error(403, "PERMISSION_DENIED");

        scenario(&format!("{op} 400 INVALID_ARGUMENT: bodies that are not the schema"));
        let t2 = w.token_2legged("sim-swap").await;
        for (ct, body) in [
            ("application/json", ""),
            ("application/json", "{\"phoneNumber\":"),
            ("application/json", "[]"),
            ("application/json", "\"+34655555555\""),
            ("text/plain", "{\"phoneNumber\":\"+34655555555\"}"),
            ("application/json", "{\"phoneNumber\":\"+34655555555\",\"extra\":1}"),
        ] {
            w.post(op).token(&t2).raw(ct, body).send().await.error(400, "INVALID_ARGUMENT");
        }

        scenario(&format!("{op} 400 INVALID_ARGUMENT: an x-correlator not matching its pattern"));
        let a = w.post(op).token(&t2).json(good.clone()).header("x-correlator", "has space").send().await;
        a.error(400, "INVALID_ARGUMENT");
        assert!(a.header("x-correlator").is_none());

        scenario(&format!("{op} 405 METHOD_NOT_ALLOWED for another method"));
        for m in [reqwest::Method::GET, reqwest::Method::PUT, reqwest::Method::DELETE] {
            let a = Call::method(&w, m, op).token(&t2).send().await;
            a.error(405, "METHOD_NOT_ALLOWED");
            assert_eq!(a.header("allow"), Some("POST"));
        }
    }

    let t2 = w.token_2legged("sim-swap:check sim-swap:retrieve-date").await;
    scenario("404 NOT_FOUND: no such operation");
    let a = w.post("/sim-swap/v2/check-everything").token(&t2).json(good.clone()).send().await;
    a.error(404, "NOT_FOUND");
    w.get("/sim-swap/v1/check").without_header("x-correlator").send().await.error(404, "NOT_FOUND");

    scenario("x-correlator is optional, and echoed on success and errors alike");
    let a = w.post(CHECK).token(&t2).json(good.clone()).without_header("x-correlator").send().await;
    a.status(200);
    assert!(a.header("x-correlator").is_none());
    let a = w.post(CHECK).json(good.clone()).header("x-correlator", "a:b;c.d/e<f>{g}_h-1").send().await;
    a.error(401, "UNAUTHENTICATED");
    assert_eq!(a.header("cache-control"), Some("no-store"));

    scenario("403 PERMISSION_DENIED: a purpose the legal basis no longer allows");
    let t = w.token_tel("+34655555555", "sim-swap:check").await;
    w.post(CHECK).token(&t).json(json!({})).send().await.status(200);
    let resp = w
        .app
        .admin(
            reqwest::Method::DELETE,
            "/legal-bases?scope=sim-swap:check&purpose=dpv:FraudPreventionAndDetection",
            None,
        )
        .await;
    assert_eq!(resp.status(), 204);
    w.post(CHECK).token(&t).json(json!({})).send().await.error(403, "PERMISSION_DENIED");
}

/// Per-client limits: 429 TOO_MANY_REQUESTS (rate) and QUOTA_EXCEEDED
/// (business quota), with Retry-After; other clients unaffected; time (the
/// server's clock, moved) restores them.
#[tokio::test]
async fn too_many_requests_and_quota_exceeded() {
    let w = World::with_config(|c| {
        c.camara.rate_limit_per_sec = 2;
        c.camara.rate_limit_burst = 3;
        c.camara.quota_per_client = 5;
        c.camara.quota_window_secs = 3600;
    })
    .await;
    // Start just after a quota window begins, so the scenario stays in one.
    let ms = w.app.app.now_ms();
    w.app.clock.advance_ms(3_600_000 - ms.rem_euclid(3_600_000) + 1000);
    let t = w.token_2legged("sim-swap:check").await;
    let body = json!({ "phoneNumber": "+34655555555" });

    scenario("a burst of 3, then 429 TOO_MANY_REQUESTS with Retry-After");
    for _ in 0..3 {
        w.post(CHECK).token(&t).json(body.clone()).send().await.status(200);
    }
    let a = w.post(CHECK).token(&t).json(body.clone()).send().await;
    a.error(429, "TOO_MANY_REQUESTS");
    assert_eq!(a.header("retry-after"), Some("1"));

    scenario("another client is not slowed down by this one");
    let other = w.token_tel("+34655555555", "sim-swap:check").await;
    w.post(CHECK).token(&other).json(json!({})).send().await.status(200);

    scenario("after a second, two more; then the hour's quota of 5 is spent: QUOTA_EXCEEDED");
    w.advance(1);
    for _ in 0..2 {
        w.post(CHECK).token(&t).json(body.clone()).send().await.status(200);
    }
    w.advance(5);
    let a = w.post(CHECK).token(&t).json(body.clone()).send().await;
    a.error(429, "QUOTA_EXCEEDED");
    let retry: i64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");

    scenario("when the window ends, the client is served again");
    w.advance(retry);
    w.post(CHECK).token(&t).json(body).send().await.status(200);
}

/// Seeds 000 and 004 (ARCHITECTURE.md) reach SIM Swap as written.
#[tokio::test]
async fn seed_tokens_open_sim_swap_check() {
    let w = World::new().await;

    scenario("seed 000: CIBA at /apigateway with purpose=dpv:FraudPreventionAndDetection#sim-swap");
    let c = &w.three_legged;
    let creds = Some((c.client_id.as_str(), c.secret.as_deref().unwrap()));
    let resp = w
        .app
        .post_form(
            "/apigateway/bc-authorize",
            creds,
            &[("login_hint", "tel:+34655555555"), ("purpose", "dpv:FraudPreventionAndDetection#sim-swap")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let id = resp.json::<serde_json::Value>().await.unwrap()["auth_req_id"].as_str().unwrap().to_owned();
    let resp = w
        .app
        .post_form(
            "/apigateway/token",
            creds,
            &[("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", &id)],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let token = access_token(&resp.json().await.unwrap());
    w.post(CHECK).token(&token).json(json!({})).send().await.status(200).body(json!({ "swapped": true }));
    w.post(RETRIEVE).token(&token).json(json!({})).send().await.status(200);

    scenario("seed 004: client_credentials with client_secret_post and a timestamp header");
    let g2p = w
        .app
        .create_client(
            "client_secret_post",
            json!({ "scopes": ["sim-swap:check"], "access_token_ttl": 36000 }),
        )
        .await;
    let resp = w
        .app
        .http
        .post(w.app.url("/oauth2/client/token"))
        .header("timestamp", "Tue, 06 Mar 2020 21:00:00 GMT")
        .header("message_id", "123456789020211216223812")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", g2p.client_id.as_str()),
            ("client_secret", g2p.secret.as_deref().unwrap()),
            ("scope", "sim-swap:check"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token = access_token(&resp.json().await.unwrap());
    let a = w.post(CHECK).token(&token).json(json!({ "phoneNumber": "+34655555555" })).send().await;
    a.status(200).body(json!({ "swapped": true }));
    w.post(CHECK).token(&token).json(json!({})).send().await.error(422, "MISSING_IDENTIFIER");
    w.post(RETRIEVE)
        .token(&token)
        .json(json!({ "phoneNumber": "+34655555555" }))
        .send()
        .await
        .error(403, "PERMISSION_DENIED");
}
