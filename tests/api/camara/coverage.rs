//! Every status and error code of the served OpenAPI documents, produced at
//! run time from one table. `openapi.rs` finds, for each documented pair,
//! a scenario that asserts it; here each pair happens in one place, one
//! request per row, so a pair only "covered" by text that never runs, or a
//! code added to a document without a way to produce it, fails. The table
//! must hold exactly the documented pairs: neither fewer nor more.

use super::runner::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const NV: &str = "/number-verification/v2";
const SS: &str = "/sim-swap/v2";
const VERIFY: &str = "/number-verification/v2/verify";
const CHECK: &str = "/sim-swap/v2/check";
const NV_VERIFY: &str = "number-verification:verify";
/// Line authenticated by the network in the rows that need it.
const NUMBER: &str = "+34666666666";

/// How a row's request is made.
#[derive(Debug, Clone, Copy)]
enum Case {
    NvVerified,
    NvMalformedNumber,
    NoToken,
    NvNotNetworkAuthenticated,
    NvTwoLegged,
    GetOnPost,
    RateLimited,
    QuotaSpent,
    SsChecked,
    SsMalformedNumber,
    SsMaxAgeBeyondMonitoring,
    SsUnknownNumber,
    SsNoSuchOperation,
    SsTwoLeggedWithoutNumber,
    SsSuspendedLine,
    SsThreeLeggedWithNumber,
    SsWrongScope,
}

/// (API base, status, code, case): `""` for a success without an error code.
const TABLE: &[(&str, u16, &str, Case)] = &[
    (NV, 200, "", Case::NvVerified),
    (NV, 400, "INVALID_ARGUMENT", Case::NvMalformedNumber),
    (NV, 401, "UNAUTHENTICATED", Case::NoToken),
    (
        NV,
        403,
        "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK",
        Case::NvNotNetworkAuthenticated,
    ),
    (NV, 403, "PERMISSION_DENIED", Case::NvTwoLegged),
    (NV, 405, "METHOD_NOT_ALLOWED", Case::GetOnPost),
    (NV, 429, "QUOTA_EXCEEDED", Case::QuotaSpent),
    (NV, 429, "TOO_MANY_REQUESTS", Case::RateLimited),
    (SS, 200, "", Case::SsChecked),
    (SS, 400, "INVALID_ARGUMENT", Case::SsMalformedNumber),
    (SS, 400, "OUT_OF_RANGE", Case::SsMaxAgeBeyondMonitoring),
    (SS, 401, "UNAUTHENTICATED", Case::NoToken),
    (SS, 403, "PERMISSION_DENIED", Case::SsWrongScope),
    (SS, 404, "IDENTIFIER_NOT_FOUND", Case::SsUnknownNumber),
    (SS, 404, "NOT_FOUND", Case::SsNoSuchOperation),
    (SS, 405, "METHOD_NOT_ALLOWED", Case::GetOnPost),
    (SS, 422, "MISSING_IDENTIFIER", Case::SsTwoLeggedWithoutNumber),
    (SS, 422, "SERVICE_NOT_APPLICABLE", Case::SsSuspendedLine),
    (SS, 422, "UNNECESSARY_IDENTIFIER", Case::SsThreeLeggedWithNumber),
    (SS, 429, "QUOTA_EXCEEDED", Case::QuotaSpent),
    (SS, 429, "TOO_MANY_REQUESTS", Case::RateLimited),
];

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

/// Every `code` enum under `v`, following `$ref`s (whatever the schema's
/// shape: `allOf`, `oneOf` or plain properties).
fn codes_in(doc: &Value, v: &Value, out: &mut BTreeSet<String>, depth: u8) {
    assert!(depth < 16, "a $ref cycle");
    let v = resolve(doc, v);
    if let Some(codes) =
        v.pointer("/properties/code").map(|c| resolve(doc, c)).and_then(|c| c["enum"].as_array())
    {
        out.extend(codes.iter().map(|c| c.as_str().unwrap().to_owned()));
    }
    match v {
        Value::Object(m) => m.values().for_each(|x| codes_in(doc, x, out, depth + 1)),
        Value::Array(a) => a.iter().for_each(|x| codes_in(doc, x, out, depth + 1)),
        _ => {}
    }
}

/// The (status, code) pairs a served document lists, on every operation.
fn documented(doc: &Value) -> BTreeSet<(u16, String)> {
    let mut out = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for (status, r) in op["responses"].as_object().unwrap() {
                let status: u16 = status.parse().unwrap();
                let mut codes = BTreeSet::new();
                codes_in(doc, &resolve(doc, r)["content"], &mut codes, 0);
                if codes.is_empty() {
                    codes.insert(String::new());
                }
                out.extend(codes.into_iter().map(|c| (status, c)));
            }
        }
    }
    out
}

/// The worlds the rows run in: `w` unlimited; `rate` lets a client one call
/// at once and one a second; `quota` one call a day.
struct Worlds {
    w: World,
    rate: World,
    quota: World,
}

/// A request on `base`'s API that spends what a token allows (one call).
async fn one_call(w: &World, base: &str) -> Answer {
    if base == NV {
        let t = w.token_network(NUMBER, NV_VERIFY).await;
        w.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await
    } else {
        let t = w.token_2legged("sim-swap:check").await;
        w.post(CHECK).token(&t).json(json!({ "phoneNumber": "+34655555555" })).send().await
    }
}

async fn produce(ws: &Worlds, base: &str, case: Case) -> Answer {
    let w = &ws.w;
    match case {
        Case::NvVerified => one_call(w, NV).await,
        Case::NvMalformedNumber => {
            let t = w.token_network(NUMBER, NV_VERIFY).await;
            w.post(VERIFY).token(&t).json(json!({ "phoneNumber": "34666666666" })).send().await
        }
        Case::NoToken => {
            let path = if base == NV { VERIFY } else { CHECK };
            w.post(path).json(json!({ "phoneNumber": NUMBER })).send().await
        }
        Case::NvNotNetworkAuthenticated => {
            // CIBA with `tel:`: the client named the number, the network
            // did not authenticate it (+34655555555 approves at once).
            let t = w.token_tel("+34655555555", NV_VERIFY).await;
            w.post(VERIFY).token(&t).json(json!({ "phoneNumber": "+34655555555" })).send().await
        }
        Case::NvTwoLegged => {
            let t = w.token_2legged(NV_VERIFY).await;
            w.post(VERIFY).token(&t).json(json!({ "phoneNumber": NUMBER })).send().await
        }
        Case::GetOnPost => {
            let (path, scope) = if base == NV { (VERIFY, NV_VERIFY) } else { (CHECK, "sim-swap:check") };
            let t =
                if base == NV { w.token_network(NUMBER, scope).await } else { w.token_2legged(scope).await };
            Call::method(w, Method::GET, path).token(&t).send().await
        }
        Case::RateLimited => {
            one_call(&ws.rate, base).await.status(200);
            one_call(&ws.rate, base).await
        }
        Case::QuotaSpent => {
            one_call(&ws.quota, base).await.status(200);
            one_call(&ws.quota, base).await
        }
        Case::SsChecked => one_call(w, SS).await,
        Case::SsMalformedNumber => {
            let t = w.token_2legged("sim-swap:check").await;
            w.post(CHECK).token(&t).json(json!({ "phoneNumber": "+34 655 555 555" })).send().await
        }
        Case::SsMaxAgeBeyondMonitoring => {
            // 2161 h is within the API's 1..2400 but past the sandbox's 90 days.
            let t = w.token_2legged("sim-swap:check").await;
            let body = json!({ "phoneNumber": "+34655555555", "maxAge": 2161 });
            w.post(CHECK).token(&t).json(body).send().await
        }
        Case::SsUnknownNumber => {
            let t = w.token_2legged("sim-swap:check").await;
            w.post(CHECK).token(&t).json(json!({ "phoneNumber": "+34612345678" })).send().await
        }
        Case::SsNoSuchOperation => {
            let t = w.token_2legged("sim-swap:check").await;
            w.post("/sim-swap/v2/check-everything").token(&t).json(json!({})).send().await
        }
        Case::SsTwoLeggedWithoutNumber => {
            let t = w.token_2legged("sim-swap:check").await;
            w.post(CHECK).token(&t).json(json!({})).send().await
        }
        Case::SsSuspendedLine => {
            let t = w.token_2legged("sim-swap:check").await;
            w.set_status("+34600000008", "suspended").await;
            w.post(CHECK).token(&t).json(json!({ "phoneNumber": "+34600000008" })).send().await
        }
        Case::SsThreeLeggedWithNumber => {
            let t = w.token_tel("+34655555555", "sim-swap").await;
            w.post(CHECK).token(&t).json(json!({ "phoneNumber": "+34655555555" })).send().await
        }
        Case::SsWrongScope => {
            let t = w.token_2legged("sim-swap:retrieve-date").await;
            w.post(CHECK).token(&t).json(json!({ "phoneNumber": "+34655555555" })).send().await
        }
    }
}

#[tokio::test]
async fn every_documented_status_and_code_is_produced() {
    let ws = Worlds {
        w: World::new().await,
        rate: World::with_config(|c| {
            c.camara.rate_limit_per_sec = 1;
            c.camara.rate_limit_burst = 1;
        })
        .await,
        quota: World::with_config(|c| {
            c.camara.quota_per_client = 1;
            c.camara.quota_window_secs = 86400;
        })
        .await,
    };
    // Number Verification's calls come from the World's three-legged
    // client, SIM Swap's from its two-legged one: each limited client makes
    // one allowed call, then one refused. The quota World starts just after
    // a window begins, so a client's two calls share one window.
    let ms = ws.quota.app.app.now_ms();
    ws.quota.app.clock.advance_ms(86_400_000 - ms.rem_euclid(86_400_000) + 1000);

    let mut produced = Vec::new();
    for base in [NV, SS] {
        let served = ws.w.get(&format!("{base}/openapi.json")).send().await;
        served.status(200);
        let documented = documented(&served.body);
        let table: BTreeSet<(u16, String)> =
            TABLE.iter().filter(|r| r.0 == base).map(|r| (r.1, r.2.to_owned())).collect();
        assert_eq!(table, documented, "{base}: the table against the served document");
        for (_, status, code, case) in TABLE.iter().filter(|r| r.0 == base) {
            scenario(&format!("{base}: {status} {code} ({case:?})"));
            let a = produce(&ws, base, *case).await;
            if code.is_empty() {
                a.status(*status);
            } else {
                a.error(*status, code);
            }
            produced.push(format!("{base} {status} {code}"));
        }
    }
    eprintln!("produced: {}", produced.join(", "));
}
