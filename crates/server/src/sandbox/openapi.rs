//! The OpenAPI document of the sandbox's JSON API (`/sandbox/openapi.json`,
//! sandbox mode only): the simulated handsets, the entitlement server's
//! operator tokens, SIM swaps, the request inspector and the echo resource.
//! Paths come from the route table (`routes::sandbox`); errors are the
//! CAMARA `{status, code, message}` dialect; `infra::openapi::complete`
//! declares the path parameters and the error bodies.

use crate::infra::openapi::{Completion, complete};
use crate::infra::state::AppState;
use crate::routes;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

fn json_body(schema: Value, required: bool) -> Value {
    json!({ "required": required, "content": { "application/json": { "schema": schema } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// 400 for a malformed number or body, 404 for a number nobody has.
fn subscriber_errors() -> Value {
    json!({
        "400": { "description": "`INVALID_ARGUMENT`: the number is not E.164, or the body is malformed." },
        "404": { "description": "`IDENTIFIER_NOT_FOUND`: no subscriber has this number." },
    })
}

fn merged(a: Value, b: Value) -> Value {
    let mut a = a;
    if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
    a
}

fn describe_param(name: &str) -> &'static str {
    match name {
        "msisdn" | "phone_number" => "The subscriber's number in E.164 form, with `+` (`%2B` in a URL).",
        "id" => "The prompt's id, as listed by the prompts endpoint.",
        _ => "A path parameter.",
    }
}

pub fn document(app: &AppState) -> Value {
    let policy = json!({ "type": "string", "enum": ["ask", "auto_approve", "auto_deny"] });
    let prompt = json!({
        "type": "object", "required": ["id", "client_id", "kind", "status", "expires_at"],
        "properties": {
            "id": { "type": "string" }, "kind": { "type": "string" }, "client_id": { "type": "string" },
            "client_name": { "type": "string" }, "purpose": { "type": ["string", "null"] },
            "scopes": { "type": "array", "items": { "type": "string" } }, "status": { "type": "string" },
            "created_at": { "type": "integer" }, "expires_at": { "type": "integer" },
        },
    });
    let exchange = json!({
        "type": "object", "required": ["at", "method", "path", "endpoint", "status", "outcome"],
        "properties": {
            "at": { "type": "integer" }, "method": { "type": "string" }, "path": { "type": "string" },
            "endpoint": { "type": "string" }, "status": { "type": "integer" }, "micros": { "type": "integer" },
            "client_id": { "type": ["string", "null"] }, "grant_type": { "type": ["string", "null"] },
            "outcome": { "type": "string" }, "reason": { "type": ["string", "null"] },
            "subscriber": { "type": ["string", "null"] }, "hint_kind": { "type": ["string", "null"] },
            "request_id": { "type": "string" },
        },
    });
    let sim = json!({ "type": "object", "properties": { "sim_id": { "type": "string" }, "activated_at": { "type": "string" } } });
    let paths = json!({
        routes::sandbox::HANDSET_PROMPTS: { "get": {
            "tags": ["handsets"], "operationId": "handset_prompts_get",
            "summary": "A handset's pending prompts and answering policy",
            "responses": merged(json!({ "200": ok("The handset.", json!({
                "type": "object", "required": ["phone_number", "policy", "prompts"],
                "properties": { "phone_number": { "type": "string" }, "policy": policy, "prompts": { "type": "array", "items": prompt } },
            })) }), subscriber_errors()),
        } },
        routes::sandbox::HANDSET_PROMPT: { "post": {
            "tags": ["handsets"], "operationId": "handset_prompt_post",
            "summary": "Answers a prompt, as the subscriber would on the handset",
            "requestBody": json_body(json!({
                "type": "object", "required": ["decision"], "additionalProperties": false,
                "properties": { "decision": { "type": "string", "enum": ["approve", "deny"] } },
            }), true),
            "responses": merged(json!({ "200": ok("Answered.", json!({
                "type": "object", "required": ["id", "status"],
                "properties": { "id": { "type": "string" }, "status": { "type": "string", "enum": ["approved", "denied"] } },
            })) }), json!({
                "400": { "description": "`INVALID_ARGUMENT`: the number or the body is malformed." },
                "404": { "description": "No such subscriber, or no pending prompt with this id on this handset." },
            })),
        } },
        routes::sandbox::HANDSET_POLICY: { "put": {
            "tags": ["handsets"], "operationId": "handset_policy_put",
            "summary": "Sets how the handset answers: ask, approve or deny at once",
            "requestBody": json_body(json!({
                "type": "object", "required": ["policy"], "additionalProperties": false, "properties": { "policy": policy },
            }), true),
            "responses": merged(json!({ "200": ok("The new policy.", json!({
                "type": "object", "required": ["phone_number", "policy"],
                "properties": { "phone_number": { "type": "string" }, "policy": policy },
            })) }), subscriber_errors()),
        } },
        routes::sandbox::OPERATOR_TOKENS: { "post": {
            "tags": ["entitlement"], "operationId": "operator_tokens_post",
            "summary": "An operator token for a subscriber (TS.43 AcquireOperatorToken), single use, for `operatortoken:` hints",
            "requestBody": json_body(json!({
                "type": "object", "required": ["phoneNumber"], "additionalProperties": false,
                "properties": { "phoneNumber": { "type": "string", "examples": ["+34655555555"] } },
            }), true),
            "responses": merged(json!({ "200": ok("The token.", json!({
                "type": "object", "required": ["operator_token", "expires_in"],
                "properties": { "operator_token": { "type": "string" }, "expires_in": { "type": "integer" } },
            })) }), subscriber_errors()),
        } },
        routes::sandbox::SIM_SWAP: { "post": {
            "tags": ["network"], "operationId": "sim_swap_post",
            "summary": "A SIM swap on the simulated network, now or at a past time",
            "requestBody": json_body(json!({
                "type": "object", "additionalProperties": false,
                "properties": { "at": { "type": "string", "format": "date-time" } },
            }), false),
            "responses": merged(json!({ "200": ok("The new SIM and the history.", json!({
                "type": "object", "required": ["phone_number", "sim", "sims"],
                "properties": { "phone_number": { "type": "string" }, "sim": sim, "sims": { "type": "array", "items": sim } },
            })) }), subscriber_errors()),
        } },
        routes::sandbox::REQUESTS: { "get": {
            "tags": ["inspector"], "operationId": "requests_get",
            "summary": "The last requests the sandbox answered, newest first",
            "parameters": [
                { "name": "client_id", "in": "query", "required": false, "schema": { "type": "string" }, "description": "Only this client's requests." },
                { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0 }, "description": "At most this many." },
            ],
            "responses": { "200": ok("The requests.", json!({ "type": "array", "items": exchange })) },
        } },
        routes::SANDBOX_ECHO.path: { "get": {
            "tags": ["echo"], "operationId": "echo_get",
            "summary": "What a resource server sees in an access token",
            "responses": { "200": ok("The token's claims.", json!({
                "type": "object", "required": ["client_id", "scope", "issued_at", "expires_at", "three_legged"],
                "properties": {
                    "client_id": { "type": "string" }, "scope": { "type": "string" }, "issued_at": { "type": "integer" },
                    "expires_at": { "type": "integer" }, "three_legged": { "type": "boolean" },
                    "purpose": { "type": ["string", "null"] }, "amr": { "type": "array", "items": { "type": "string" } },
                },
            })) },
            "security": [{ "bearer": [] }],
        } },
    });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "netauth sandbox API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Sandbox mode only: drive the simulated network from scripts and tests.",
        },
        "servers": [{ "url": app.issuer }],
        "paths": paths,
        "components": {
            "schemas": { "CamaraError": {
                "type": "object", "required": ["status", "code", "message"],
                "properties": { "status": { "type": "integer" }, "code": { "type": "string" }, "message": { "type": "string" } },
            } },
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        },
    });
    complete(
        &mut doc,
        &Completion {
            error_schema: "#/components/schemas/CamaraError",
            malformed: "`INVALID_ARGUMENT`: a parameter or the body is malformed.",
            unauthenticated: "`UNAUTHENTICATED`: no valid access token.",
            limited: false,
            describe_param,
        },
    );
    doc
}

pub async fn openapi_get(State(app): State<AppState>) -> Json<Value> {
    Json(document(&app))
}
