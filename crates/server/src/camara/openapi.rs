//! The OpenAPI documents of the resource APIs, served at each API's base
//! path (`/number-verification/v2/openapi.json`, `/sim-swap/v2/openapi.json`).
//!
//! `openapi/*.json` are CAMARA's own files (NumberVerification r3.2 and
//! SimSwap r3.3, Apache-2.0), converted from YAML and otherwise unchanged,
//! so what a client reads is the contract it was written against. Serving
//! fills in what CAMARA leaves to the provider: the `apiRoot` server
//! variable and the `openIdConnectUrl` of this installation; and it
//! documents the two answers netauth gives beyond a file's list, as the
//! files allow ("The list of error codes in this API specification is not
//! exhaustive"): 405 `METHOD_NOT_ALLOWED` everywhere, and 429 on Number
//! Verification (per-client limits apply to every API). The test suite
//! validates the served documents with an OpenAPI validator.

use crate::infra::state::AppState;
use crate::routes;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use std::sync::LazyLock;

static NUMBER_VERIFICATION: LazyLock<Value> =
    LazyLock::new(|| parse(include_str!("openapi/number-verification.json")));
static SIM_SWAP: LazyLock<Value> = LazyLock::new(|| parse(include_str!("openapi/sim-swap.json")));

fn parse(text: &str) -> Value {
    // Checked by a unit test; an empty document rather than a panic.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn x_correlator_headers() -> Value {
    json!({ "x-correlator": { "$ref": "#/components/headers/x-correlator" } })
}

fn error_response(description: &str, status: u16, codes: &[&str], example: (&str, &str)) -> Value {
    json!({
        "description": description,
        "headers": x_correlator_headers(),
        "content": { "application/json": {
            "schema": { "allOf": [
                { "$ref": "#/components/schemas/ErrorInfo" },
                { "type": "object", "properties": {
                    "status": { "enum": [status] },
                    "code": { "enum": codes },
                } },
            ] },
            "example": { "status": status, "code": example.0, "message": example.1 },
        } },
    })
}

/// The file with this installation's `apiRoot` and discovery URL, and the
/// responses netauth adds (`extra`: status → component name).
fn served(base: &Value, app: &AppState, extra: &[(&str, &str)]) -> Value {
    let mut doc = base.clone();
    if let Some(v) = doc.pointer_mut("/servers/0/variables/apiRoot/default") {
        *v = app.issuer.clone().into();
    }
    if let Some(v) = doc.pointer_mut("/components/securitySchemes/openId/openIdConnectUrl") {
        *v = format!("{}{}", app.issuer, routes::OPENID_CONFIGURATION.path).into();
    }
    if let Some(responses) = doc.pointer_mut("/components/responses").and_then(Value::as_object_mut) {
        responses.entry("Generic405").or_insert_with(|| {
            error_response(
                "Method Not Allowed",
                405,
                &["METHOD_NOT_ALLOWED"],
                (
                    "METHOD_NOT_ALLOWED",
                    "The requested method is not allowed/supported on the target resource.",
                ),
            )
        });
        responses.entry("Generic429").or_insert_with(|| {
            error_response(
                "Too Many Requests",
                429,
                &["QUOTA_EXCEEDED", "TOO_MANY_REQUESTS"],
                ("TOO_MANY_REQUESTS", "Rate limit reached."),
            )
        });
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut() {
                if let Some(r) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    for (status, component) in extra {
                        r.entry(*status).or_insert_with(
                            || json!({ "$ref": format!("#/components/responses/{component}") }),
                        );
                    }
                }
            }
        }
    }
    doc
}

pub async fn number_verification_openapi_get(State(app): State<AppState>) -> Json<Value> {
    Json(served(&NUMBER_VERIFICATION, &app, &[("405", "Generic405"), ("429", "Generic429")]))
}

pub async fn sim_swap_openapi_get(State(app): State<AppState>) -> Json<Value> {
    Json(served(&SIM_SWAP, &app, &[("405", "Generic405")]))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_camara_files_parse() {
        for d in [&*super::NUMBER_VERIFICATION, &*super::SIM_SWAP] {
            assert_eq!(d["openapi"], "3.0.3");
            assert!(d["paths"].as_object().is_some_and(|p| p.len() == 2));
        }
    }
}
