//! Finishing touches every OpenAPI document netauth serves gets, so that a
//! document states what the server does rather than what each handler's
//! attribute remembered to say (OpenAPI 3.1 §4.8.9, §4.8.12, §4.8.16):
//!
//! - every `{name}` of a path template is declared as a required path
//!   parameter (a generated client cannot build the URL otherwise);
//! - an operation that requires authentication documents the 401 it answers
//!   without it, and the 429 of the per-address failure limit;
//! - an operation that takes parameters or a body documents the 400 it
//!   answers when they are malformed;
//! - every error response carries the body schema of the API's error dialect,
//!   and every response a description.
//!
//! It works on the serialised document (`serde_json::Value`), so it serves
//! the generated documents (utoipa) and hand-written parts alike.

use serde_json::{Value, json};

/// What an API's documents share.
pub struct Completion {
    /// `$ref` of the error body schema, e.g. `#/components/schemas/CamaraError`.
    pub error_schema: &'static str,
    /// Description of the 400 every operation that takes input may answer.
    pub malformed: &'static str,
    /// Description of the 401 every secured operation may answer.
    pub unauthenticated: &'static str,
    /// Whether failed authentications are limited per address (429 documented).
    pub limited: bool,
    /// Describes a path parameter by name.
    pub describe_param: fn(&str) -> &'static str,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The names of a path template's parameters: `/a/{x}/b/{y}` → `x`, `y`.
pub fn template_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}')).collect()
}

fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Response")
}

/// Applies the completion rules to every operation of `doc`.
pub fn complete(doc: &mut Value, c: &Completion) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let params = template_params(path);
        let Some(item) = item.as_object_mut() else { continue };
        for m in METHODS {
            let Some(op) = item.get_mut(m).and_then(Value::as_object_mut) else { continue };
            declare_path_params(op, &params, c.describe_param);
            // Anything with parameters or a body can be malformed.
            let takes_input = op.get("requestBody").is_some()
                || op.get("parameters").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            let Some(responses) = responses.as_object_mut() else { continue };
            if takes_input {
                responses.entry("400").or_insert_with(|| json!({ "description": c.malformed }));
            }
            if secured {
                responses.entry("401").or_insert_with(|| json!({ "description": c.unauthenticated }));
                if c.limited {
                    responses.entry("429").or_insert_with(|| {
                        json!({
                            "description": "Too many failed authentications from this address; retry after `Retry-After` seconds.",
                            "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                        })
                    });
                }
            }
            for (status, r) in responses.iter_mut() {
                let Some(r) = r.as_object_mut() else { continue };
                if r.contains_key("$ref") {
                    continue;
                }
                let empty = r.get("description").and_then(Value::as_str).is_none_or(str::is_empty);
                if empty {
                    r.insert("description".into(), reason(status).into());
                }
                let is_error = status.starts_with('4') || status.starts_with('5');
                if is_error && !r.contains_key("content") {
                    r.insert(
                        "content".into(),
                        json!({ "application/json": { "schema": { "$ref": c.error_schema } } }),
                    );
                }
            }
        }
    }
}

fn declare_path_params(
    op: &mut serde_json::Map<String, Value>,
    params: &[&str],
    describe: fn(&str) -> &'static str,
) {
    if params.is_empty() {
        return;
    }
    let list = op.entry("parameters").or_insert_with(|| json!([]));
    let Some(list) = list.as_array_mut() else { return };
    for name in params {
        let declared =
            list.iter().any(|p| p.get("in").and_then(Value::as_str) == Some("path") && p["name"] == *name);
        if !declared {
            list.push(json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": describe(name),
                "schema": { "type": "string" },
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(_: &str) -> &'static str {
        "d"
    }

    #[test]
    fn completes_params_auth_and_error_bodies() {
        let mut doc = json!({ "paths": { "/x/{a}/y/{b}": { "get": {
            "parameters": [{ "name": "a", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": { "200": { "description": "" }, "404": { "description": "" } },
            "security": [{ "admin": [] }],
        } } } });
        let c = Completion {
            error_schema: "#/components/schemas/E",
            malformed: "bad",
            unauthenticated: "no token",
            limited: true,
            describe_param: describe,
        };
        complete(&mut doc, &c);
        let op = &doc["paths"]["/x/{a}/y/{b}"]["get"];
        let names: Vec<&str> =
            op["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(op["responses"]["200"]["description"], "OK");
        assert_eq!(
            op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/E"
        );
        assert_eq!(op["responses"]["401"]["description"], "no token");
        assert!(op["responses"]["429"].is_object());
        assert_eq!(template_params("/a/{x}/b"), ["x"]);
    }
}
