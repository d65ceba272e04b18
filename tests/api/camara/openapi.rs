//! The OpenAPI documents served at each API's base path: CAMARA's files
//! with this installation's `apiRoot` and discovery URL, every operation
//! served, every scope in discovery, and every status and error code they
//! document produced by a scenario of this suite. (Schema validity is
//! checked by openapi-spec-validator in tests/interop/python/test_openapi.py.)

use super::runner::*;
use serde_json::Value;
use std::collections::BTreeSet;

const DOCS: &[(&str, &str, &[&str], &str)] = &[
    (
        "/number-verification/v2",
        "Number Verification",
        &["phoneNumberVerify", "phoneNumberShare"],
        include_str!("number_verification.rs"),
    ),
    ("/sim-swap/v2", "SIM Swap", &["retrieveSimSwapDate", "checkSimSwap"], include_str!("sim_swap.rs")),
];

/// Follows a local `$ref` (`#/components/…`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

/// Every (status, code) a document lists: `200`, or the `code` enum of an
/// error response's ErrorInfo.
fn documented(doc: &Value) -> BTreeSet<(u16, String)> {
    let mut out = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for (status, r) in op["responses"].as_object().unwrap() {
                let status: u16 = status.parse().unwrap();
                let r = resolve(doc, r);
                let schema = &r["content"]["application/json"]["schema"];
                let codes = schema["allOf"][1]["properties"]["code"]["enum"].as_array();
                match codes {
                    Some(codes) => out.extend(codes.iter().map(|c| (status, c.as_str().unwrap().to_owned()))),
                    None => {
                        out.insert((status, String::new()));
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn openapi_documents_match_what_is_served() {
    let w = World::new().await;
    let discovery: Value = w
        .app
        .http
        .get(w.app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scopes: Vec<&str> =
        discovery["scopes_supported"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    for (base, title, operation_ids, feature_source) in DOCS {
        scenario(&format!("GET {base}/openapi.json"));
        let a = w.get(&format!("{base}/openapi.json")).send().await;
        a.status(200);
        let doc = &a.body;
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["title"], *title);
        assert_eq!(doc["info"]["version"], "2.1.0");
        let server = &doc["servers"][0];
        assert_eq!(
            server["url"]
                .as_str()
                .unwrap()
                .replace("{apiRoot}", server["variables"]["apiRoot"]["default"].as_str().unwrap()),
            w.app.url(base)
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["openId"]["openIdConnectUrl"],
            w.app.url("/.well-known/openid-configuration")
        );

        scenario("every documented operation is served, behind a bearer token, with scopes in discovery");
        let mut ids = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                ids.push(op["operationId"].as_str().unwrap().to_owned());
                let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let call = Call::method(&w, m, &format!("{base}{path}"));
                call.send().await.error(401, "UNAUTHENTICATED");
                for requirement in op["security"].as_array().unwrap() {
                    for s in requirement["openId"].as_array().unwrap() {
                        assert!(scopes.contains(&s.as_str().unwrap()), "{s} not in scopes_supported");
                    }
                }
            }
        }
        ids.sort();
        let mut expected: Vec<String> = operation_ids.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(ids, expected);

        scenario("every documented status and error code is produced by a scenario");
        let source: String = feature_source.split_whitespace().collect();
        for (status, code) in documented(doc) {
            let produced = if code.is_empty() {
                source.contains(&format!(".status({status})"))
            } else {
                source.contains(&format!(".error({status},\"{code}\")"))
            };
            assert!(produced, "{base}: no scenario produces {status} {code}");
        }
    }
}
