//! Feature: the older API versions the operators' SDKs call, answered by
//! the v2 handlers under the old contracts (docs/operator-sdks.md, "API
//! versions"): SIM Swap 0.4.0 at `/sim-swap/v0`, Telefónica's
//! `/apigateway/sim-swap/v0` and Vonage's `/camara/sim-swap/v040`; Number
//! Verification 0.3.1 at `/number-verification/v0`,
//! `/apigateway/number-verification/v0` and
//! `/camara/number-verification/v031`. Each scenario runs on every name of
//! the path and, where the contracts differ, shows the v2 answer beside it.
//!
//! Demo network as in `sim_swap.rs`: +34655555555 swapped 2 days ago,
//! +34644444444 200 days ago (beyond the 90 monitored days), +34699999999
//! suspended, +34666666666 the line the network authenticates.

use super::runner::*;
use netauth_proto::time::parse_rfc3339;
use serde_json::{Value, json};

const SIM_SWAP_V0: &[&str] = &["/sim-swap/v0", "/apigateway/sim-swap/v0", "/camara/sim-swap/v040"];
const NUMBER_VERIFICATION_V0: &[&str] =
    &["/number-verification/v0", "/apigateway/number-verification/v0", "/camara/number-verification/v031"];
const NV_SCOPE: &str = "number-verification:verify";
const NUMBER: &str = "+34666666666";

fn sha256_hex(s: &str) -> String {
    netauth_domain::crypto::sha256(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A SIM Swap 0.4.0 request: that release has no `x-correlator`, so the
/// background header is not sent (the scenario below sends one on purpose).
fn ss_v0<'a>(w: &'a World, base: &str, op: &str) -> Call<'a> {
    w.post(&format!("{base}/{op}")).without_header("x-correlator")
}

#[tokio::test]
async fn sim_swap_v0_feature() {
    let w = World::new().await;
    let three = w.token_tel("+34655555555", "sim-swap").await;
    let two = w.token_2legged("sim-swap").await;

    for base in SIM_SWAP_V0 {
        eprintln!("Base path {base}");

        scenario("check, 3-legged, the token's number in the body (as the SDKs send it), with and without +");
        for n in ["+34655555555", "34655555555"] {
            let a = ss_v0(&w, base, "check")
                .token(&three)
                .json(json!({ "phoneNumber": n, "maxAge": 240 }))
                .send()
                .await;
            a.status(200).body(json!({ "swapped": true }));
            assert!(a.header("x-correlator").is_none());
        }
        scenario("check, 3-legged, no phoneNumber: the token's number, maxAge defaults to 240");
        ss_v0(&w, base, "check")
            .token(&three)
            .json(json!({}))
            .send()
            .await
            .status(200)
            .body(json!({ "swapped": true }));
        scenario("check, 2-legged, the number in the body; 30 days ago is not within the default 240 h");
        let a =
            ss_v0(&w, base, "check").token(&two).json(json!({ "phoneNumber": "34633333333" })).send().await;
        a.status(200).body(json!({ "swapped": false }));

        scenario("retrieve-date: exactly {latestSimChange}, an RFC 3339 date-time");
        for n in ["+34655555555", "34655555555"] {
            let a =
                ss_v0(&w, base, "retrieve-date").token(&three).json(json!({ "phoneNumber": n })).send().await;
            a.status(200);
            assert_eq!(a.body.as_object().map(|o| o.len()), Some(1), "{}", a.text);
            let at = parse_rfc3339(a.body["latestSimChange"].as_str().unwrap()).unwrap();
            assert!((w.now() - 2 * 86400 - at).abs() <= 2, "{}", a.text);
        }

        scenario("3-legged with another number in the body: 403 INVALID_TOKEN_CONTEXT");
        for op in ["check", "retrieve-date"] {
            let a =
                ss_v0(&w, base, op).token(&three).json(json!({ "phoneNumber": "+34633333333" })).send().await;
            a.error(403, "INVALID_TOKEN_CONTEXT");
        }

        scenario("2-legged without a number: 400 INVALID_ARGUMENT");
        for op in ["check", "retrieve-date"] {
            ss_v0(&w, base, op).token(&two).json(json!({})).send().await.error(400, "INVALID_ARGUMENT");
        }

        scenario("unknown number, suspended line: 404 SIM_SWAP.UNKNOWN_PHONE_NUMBER");
        for n in ["+34612345678", "+34699999999", "0034655555555"] {
            for op in ["check", "retrieve-date"] {
                let a = ss_v0(&w, base, op).token(&two).json(json!({ "phoneNumber": n })).send().await;
                a.error(404, "SIM_SWAP.UNKNOWN_PHONE_NUMBER");
            }
        }

        scenario("maxAge outside 1..2400, or beyond the monitored 90 days: 400 INVALID_ARGUMENT");
        for max_age in [json!(0), json!(2401), json!(100000), json!(2161), json!("240"), json!(1.5)] {
            let body = json!({ "phoneNumber": "+34655555555", "maxAge": max_age });
            ss_v0(&w, base, "check").token(&two).json(body).send().await.error(400, "INVALID_ARGUMENT");
        }
        scenario("malformed phoneNumber, unknown property: 400 INVALID_ARGUMENT");
        for body in [json!({ "phoneNumber": "tel:+34655555555" }), json!({ "phoneNumber": 34655555555_i64 })]
        {
            ss_v0(&w, base, "retrieve-date")
                .token(&two)
                .json(body)
                .send()
                .await
                .error(400, "INVALID_ARGUMENT");
        }
        let body = json!({ "phoneNumber": "+34655555555", "msisdn": "+34655555555" });
        ss_v0(&w, base, "check").token(&two).json(body).send().await.error(400, "INVALID_ARGUMENT");

        scenario(
            "retrieve-date beyond the monitored period: latestSimChange left out (neither nullable nor required)",
        );
        let a = ss_v0(&w, base, "retrieve-date")
            .token(&two)
            .json(json!({ "phoneNumber": "+34644444444" }))
            .send()
            .await;
        a.status(200).body(json!({}));

        scenario("x-correlator is no header of 0.4.0: not checked, not echoed");
        let a = w.post(&format!("{base}/check")).header("x-correlator", "not valid in v2").token(&two);
        let a = a.json(json!({ "phoneNumber": "+34655555555" })).send().await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(a.header("x-correlator").is_none());
        assert_eq!(a.header("cache-control"), Some("no-store"));

        scenario("no token: 401; wrong scope: 403; GET: 405; another operation: 404");
        ss_v0(&w, base, "check").json(json!({})).send().await.error(401, "UNAUTHENTICATED");
        let nv = w.token_2legged(NV_SCOPE).await;
        let a =
            ss_v0(&w, base, "check").token(&nv).json(json!({ "phoneNumber": "+34655555555" })).send().await;
        a.error(403, "PERMISSION_DENIED");
        let a = w.get(&format!("{base}/check")).without_header("x-correlator").token(&two).send().await;
        a.error(405, "METHOD_NOT_ALLOWED");
        ss_v0(&w, base, "nothing-here").token(&two).json(json!({})).send().await.error(404, "NOT_FOUND");
    }

    scenario("the same requests on v2 answer by the v2 contract");
    let v2 = |op: &str| w.post(&format!("/sim-swap/v2/{op}"));
    let a = v2("check").token(&three).json(json!({ "phoneNumber": "+34655555555" })).send().await;
    a.error(422, "UNNECESSARY_IDENTIFIER");
    v2("check").token(&two).json(json!({})).send().await.error(422, "MISSING_IDENTIFIER");
    let a = v2("check").token(&two).json(json!({ "phoneNumber": "34655555555" })).send().await;
    a.error(400, "INVALID_ARGUMENT");
    let a = v2("check").token(&two).json(json!({ "phoneNumber": "+34612345678" })).send().await;
    a.error(404, "IDENTIFIER_NOT_FOUND");
    let a = v2("check").token(&two).json(json!({ "phoneNumber": "+34699999999" })).send().await;
    a.error(422, "SERVICE_NOT_APPLICABLE");
    let a =
        v2("check").token(&two).json(json!({ "phoneNumber": "+34655555555", "maxAge": 2401 })).send().await;
    a.error(400, "OUT_OF_RANGE");
    let a = v2("retrieve-date").token(&two).json(json!({ "phoneNumber": "+34644444444" })).send().await;
    a.status(200).body(json!({ "latestSimChange": null, "monitoredPeriod": 90 }));
    let a = v2("check").header("x-correlator", "not valid in v2").token(&two);
    a.json(json!({ "phoneNumber": "+34655555555" })).send().await.error(400, "INVALID_ARGUMENT");
}

#[tokio::test]
async fn number_verification_v0_feature() {
    let w = World::new().await;
    // Tokens with this scope are single-use: one per request.
    let verify = |base: &str, body: Value, token: String| {
        w.post(&format!("{base}/verify")).token(&token).json(body).send()
    };

    for base in NUMBER_VERIFICATION_V0 {
        eprintln!("Base path {base}");

        scenario("the line's own number, with or without +, plain or hashed either way: true");
        let digits = NUMBER.trim_start_matches('+');
        for body in [
            json!({ "phoneNumber": NUMBER }),
            json!({ "phoneNumber": digits }),
            json!({ "hashedPhoneNumber": sha256_hex(NUMBER) }),
            json!({ "hashedPhoneNumber": sha256_hex(digits) }),
            json!({ "hashedPhoneNumber": sha256_hex(NUMBER).to_uppercase() }),
        ] {
            let a = verify(base, body, w.token_network(NUMBER, NV_SCOPE).await).await;
            a.status(200).body(json!({ "devicePhoneNumberVerified": true }));
        }

        scenario("another number, or a value with no pattern to fail (0.3.1 has none): false");
        for body in [
            json!({ "phoneNumber": "+34655555555" }),
            json!({ "phoneNumber": "not a number" }),
            json!({ "hashedPhoneNumber": sha256_hex("+34655555555") }),
            json!({ "hashedPhoneNumber": "not a hash" }),
        ] {
            let a = verify(base, body, w.token_network(NUMBER, NV_SCOPE).await).await;
            a.status(200).body(json!({ "devicePhoneNumberVerified": false }));
        }

        scenario("neither, both, another property, a number that is no string: 400 INVALID_ARGUMENT");
        let t = w.token_network(NUMBER, NV_SCOPE).await;
        for body in [
            json!({}),
            json!({ "phoneNumber": NUMBER, "hashedPhoneNumber": sha256_hex(NUMBER) }),
            json!({ "phoneNumber": NUMBER, "other": 1 }),
            json!({ "phoneNumber": 34666666666_i64 }),
        ] {
            verify(base, body, t.clone()).await.error(400, "INVALID_ARGUMENT");
        }

        scenario("a token without a phone number (2-legged): 403 NUMBER_VERIFICATION.INVALID_TOKEN_CONTEXT");
        let a = verify(base, json!({ "phoneNumber": NUMBER }), w.token_2legged(NV_SCOPE).await).await;
        a.error(403, "NUMBER_VERIFICATION.INVALID_TOKEN_CONTEXT");

        scenario(
            "not authenticated by the network: 403 NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK",
        );
        let a = verify(base, json!({ "phoneNumber": NUMBER }), w.token_tel(NUMBER, NV_SCOPE).await).await;
        a.error(403, "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK");

        scenario("the token is spent by its first answer: 401");
        let t = w.token_network(NUMBER, NV_SCOPE).await;
        verify(base, json!({ "phoneNumber": NUMBER }), t.clone()).await.status(200);
        verify(base, json!({ "phoneNumber": NUMBER }), t).await.error(401, "UNAUTHENTICATED");

        scenario("x-correlator is any string in 0.3.1: echoed, never refused");
        let a = w.post(&format!("{base}/verify")).header("x-correlator", "any string at all");
        let a = a
            .token(&w.token_network(NUMBER, NV_SCOPE).await)
            .json(json!({ "phoneNumber": NUMBER }))
            .send()
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.header("x-correlator"), Some("any string at all"));

        scenario("GET: 405; another operation: 404");
        let a = w.get(&format!("{base}/verify")).send().await;
        a.error(405, "METHOD_NOT_ALLOWED");
        w.post(&format!("{base}/device-phone-numbers")).json(json!({})).send().await.error(404, "NOT_FOUND");
    }

    scenario("the same requests on v2 answer by the v2 contract");
    let v2 = "/number-verification/v2";
    let digits = NUMBER.trim_start_matches('+');
    let a = verify(
        v2,
        json!({ "hashedPhoneNumber": sha256_hex(digits) }),
        w.token_network(NUMBER, NV_SCOPE).await,
    );
    a.await.status(200).body(json!({ "devicePhoneNumberVerified": false }));
    let a = verify(v2, json!({ "phoneNumber": digits }), w.token_network(NUMBER, NV_SCOPE).await).await;
    a.error(400, "INVALID_ARGUMENT");
    let a = verify(v2, json!({ "hashedPhoneNumber": "not a hash" }), w.token_network(NUMBER, NV_SCOPE).await)
        .await;
    a.error(400, "INVALID_ARGUMENT");
    let a = verify(v2, json!({ "phoneNumber": NUMBER }), w.token_2legged(NV_SCOPE).await).await;
    a.error(403, "PERMISSION_DENIED");
}
