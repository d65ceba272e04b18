//! The OpenAPI document of the OAuth 2.0 / OIDC / CIBA endpoints, served at
//! `/openapi/oauth.json`. It is built from the route table: each operation
//! is described once and listed under its canonical path and every alias
//! the seed integrations use (`routes::Endpoint::paths`), and the grant
//! types of the token request are the implemented ones
//! (`token::IMPLEMENTED_GRANTS`). A new endpoint is one more entry in
//! [`operations`]; `infra::openapi::complete` adds the answers every
//! authenticated operation shares.
//!
//! Client authentication (RFC 6749 §2.3, RFC 7523, OIDC Core §9) is
//! `client_secret_basic` (the security scheme), `client_secret_post`
//! (`client_id` + `client_secret` in the form) or `private_key_jwt`
//! (`client_assertion_type` + `client_assertion`); a client uses the one it
//! registered, and at introspection and revocation a secret either way.

use crate::infra::openapi::{Completion, complete};
use crate::infra::state::AppState;
use crate::oauth::token::IMPLEMENTED_GRANTS;
use crate::routes::{self, Endpoint};
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

fn form(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/x-www-form-urlencoded": { "schema": schema } } })
}

fn body(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn error(description: &str) -> Value {
    body(description, "OAuthError")
}

/// The form fields of client authentication, beside each request's own.
fn client_auth_fields() -> Value {
    json!({
        "client_id": { "type": "string", "maxLength": 255, "description": "With `client_secret` (client_secret_post), or naming the client of an assertion." },
        "client_secret": { "type": "string", "maxLength": 512, "description": "client_secret_post." },
        "client_assertion_type": { "type": "string", "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"] },
        "client_assertion": { "type": "string", "description": "private_key_jwt: a JWT signed with the client's registered key (RFC 7523 §2.2)." },
    })
}

fn with_client_auth(mut fields: Value) -> Value {
    if let (Some(f), Some(a)) = (fields.as_object_mut(), client_auth_fields().as_object()) {
        for (k, v) in a {
            f.insert(k.clone(), v.clone());
        }
    }
    fields
}

fn grant_schema(grant: &str) -> Value {
    let own = match grant {
        "client_credentials" => json!({ "scope": { "type": "string" } }),
        "urn:openid:params:grant-type:ciba" => json!({ "auth_req_id": { "type": "string" } }),
        "refresh_token" => json!({ "refresh_token": { "type": "string" }, "scope": { "type": "string" } }),
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => json!({ "assertion": { "type": "string" } }),
        "authorization_code" => json!({
            "code": { "type": "string" }, "redirect_uri": { "type": "string" }, "code_verifier": { "type": "string" },
        }),
        _ => json!({}),
    };
    let required: Vec<String> = std::iter::once("grant_type".to_owned())
        .chain(
            own.as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .filter(|k| matches!(k.as_str(), "auth_req_id" | "refresh_token" | "assertion" | "code"))
                .cloned(),
        )
        .collect();
    let mut props = with_client_auth(own);
    if let Some(p) = props.as_object_mut() {
        p.insert("grant_type".into(), json!({ "type": "string", "const": grant }));
    }
    json!({ "type": "object", "title": grant, "required": required, "properties": props })
}

fn token_operation(app: &AppState, g2p: bool) -> Value {
    let grants: Vec<Value> = IMPLEMENTED_GRANTS.iter().map(|g| grant_schema(g.as_str())).collect();
    let mut op = json!({
        "tags": ["token"],
        "summary": if g2p { "Token endpoint of G2P Connect's guide (seed 004)" } else { "Token endpoint (RFC 6749 §3.2)" },
        "description": format!(
            "One request per grant type: {}. CIBA polls answer `authorization_pending` and `slow_down` until the subscriber answers (CIBA Core §11).",
            IMPLEMENTED_GRANTS.iter().map(|g| format!("`{}`", g.as_str())).collect::<Vec<_>>().join(", ")
        ),
        "requestBody": form(json!({ "oneOf": grants })),
        "responses": {
            "200": body("The tokens (RFC 6749 §5.1).", "TokenResponse"),
            "400": error("`invalid_request`, `invalid_grant`, `invalid_scope`, `unauthorized_client`, `unsupported_grant_type`, `authorization_pending`, `slow_down`, `access_denied`, `expired_token` (RFC 6749 §5.2, CIBA Core §11)."),
            "413": error("The body is over `server.request_body_limit`."),
            "503": error("`temporarily_unavailable`: the database is unreachable."),
        },
        "security": [{ "client_secret_basic": [] }, {}],
    });
    if g2p && let Some(o) = op.as_object_mut() {
        o.insert(
            "parameters".into(),
            json!([
                { "name": "timestamp", "in": "header", "required": true, "description": "Request time in HTTP-date form, e.g. `Tue, 06 Mar 2020 21:00:00 GMT`.", "schema": { "type": "string" } },
                { "name": "message_id", "in": "header", "required": false, "schema": { "type": "string" } },
                { "name": "accept-language", "in": "header", "required": false, "schema": { "type": "string" } },
            ]),
        );
    }
    let _ = app;
    op
}

fn bc_authorize_operation() -> Value {
    json!({
        "tags": ["ciba"],
        "summary": "Backchannel authentication request (CIBA Core §7)",
        "description": "`login_hint` names the subscriber (`tel:+E164`, `ipport:`, `operatortoken:`); the purpose is `purpose=dpv:…#scope` (seed 000) or a `dpv:` value in `scope` (CAMARA). A signed `request` object carries them instead in the CAMARA profile.",
        "requestBody": form(json!({ "type": "object", "properties": with_client_auth(json!({
            "login_hint": { "type": "string", "maxLength": 2048, "examples": ["tel:+34655555555", "ipport:80.90.34.2:16790"] },
            "scope": { "type": "string" },
            "purpose": { "type": "string", "examples": ["dpv:FraudPreventionAndDetection#sim-swap"] },
            "request": { "type": "string", "description": "A signed request object (CIBA Core §7.1.1)." },
            "client_notification_token": { "type": "string", "maxLength": 1024 },
            "binding_message": { "type": "string" },
        })) })),
        "responses": {
            "200": body("The request is accepted: poll the token endpoint with `auth_req_id`.", "BackchannelAuthenticationResponse"),
            "400": error("`invalid_request`, `invalid_scope`, `unknown_user_id`, `invalid_request_object`, `unauthorized_client` (CIBA Core §13)."),
            "403": error("`access_denied`: the subscriber's consent is required and not given, or too many requests are pending."),
            "413": error("The body is over `server.request_body_limit`."),
            "503": error("`temporarily_unavailable`: the database is unreachable."),
        },
        "security": [{ "client_secret_basic": [] }, {}],
    })
}

fn introspect_operation() -> Value {
    json!({
        "tags": ["tokens"],
        "summary": "Token introspection (RFC 7662)",
        "description": "Only the caller's own live tokens are active; anything else is `{\"active\": false}`.",
        "requestBody": form(json!({ "type": "object", "required": ["token"], "properties": with_client_auth(json!({
            "token": { "type": "string" }, "token_type_hint": { "type": "string" },
        })) })),
        "responses": {
            "200": body("The token's state (RFC 7662 §2.2).", "IntrospectionResponse"),
            "400": error("`invalid_request`."),
            "413": error("The body is over `server.request_body_limit`."),
            "503": error("`temporarily_unavailable`: the database is unreachable."),
        },
        "security": [{ "client_secret_basic": [] }, {}],
    })
}

fn revoke_operation() -> Value {
    json!({
        "tags": ["tokens"],
        "summary": "Token revocation (RFC 7009)",
        "description": "An access token, or a refresh token with its whole family. Unknown or foreign tokens are a 200 too (RFC 7009 §2.2).",
        "requestBody": form(json!({ "type": "object", "required": ["token"], "properties": with_client_auth(json!({
            "token": { "type": "string" }, "token_type_hint": { "type": "string" },
        })) })),
        "responses": {
            "200": { "description": "Revoked, or nothing to revoke." },
            "400": error("`invalid_request`."),
            "413": error("The body is over `server.request_body_limit`."),
            "503": error("`temporarily_unavailable`: the database is unreachable, or the client already has `tokens.max_live_revocations_per_client` revoked tokens that have not expired (with `Retry-After`). The token stays valid (RFC 7009 §2.2.1)."),
        },
        "security": [{ "client_secret_basic": [] }, {}],
    })
}

/// The UserInfo endpoint (OIDC Core §5.3): a bearer token, not client
/// authentication; errors in seed 003's `{code, message, description}` with
/// the RFC 6750 challenge (`errors::BearerReply`).
fn userinfo_operation(post: bool) -> Value {
    let refusal = |d: &str| {
        json!({
            "description": d,
            "headers": { "WWW-Authenticate": { "description": "The RFC 6750 §3 challenge: `Bearer realm=\"netauth\"`, with `error` and `error_description` when a token was sent.", "schema": { "type": "string" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BearerError" } } },
        })
    };
    let mut op = json!({
        "tags": ["userinfo"],
        "summary": "Claims about the subscriber a token was issued for (OIDC Core §5.3)",
        "description": "The ID token's pairwise `sub`; `phone_number` and `phone_number_verified` with the `phone` scope. The access token in `Authorization: Bearer` (RFC 6750 §2.1)".to_owned()
            + if post { " or the form body's `access_token` (§2.2), not both." } else { "." },
        "responses": {
            "200": body("The claims.", "UserInfo"),
            "400": refusal("`invalid_request`: the token sent two ways, two `Authorization` headers, a malformed form body (code 41)."),
            "401": refusal("No token, or an unknown, expired or revoked one, or the subscriber withdrew the consent (`invalid_token`, code 41 `Invalid credentials`)."),
            "403": {
                "description": "The client is suspended (code 50 `Access Denied`), the token is not an OpenID Connect one (`insufficient_scope`, code 50), or the client is over its rate or quota (code 53 `Too Many Requests`, with `Retry-After`).",
                "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BearerError" } } },
            },
            "503": { "description": "The database is unreachable.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/BearerError" } } } },
        },
        "security": [{ "bearer": [] }],
    });
    if post && let Some(o) = op.as_object_mut() {
        o.insert(
            "requestBody".into(),
            json!({ "required": false, "content": { "application/x-www-form-urlencoded": { "schema": {
                "type": "object", "properties": { "access_token": { "type": "string" } },
            } } } }),
        );
    }
    op
}

fn metadata_operation(summary: &str) -> Value {
    json!({
        "tags": ["discovery"], "summary": summary,
        "responses": { "200": { "description": "The metadata.", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Metadata" } } } } },
    })
}

/// Every operation of the document: (route, method, operation).
fn operations(app: &AppState) -> Vec<(Endpoint, &'static str, Value)> {
    vec![
        (
            routes::OPENID_CONFIGURATION,
            "get",
            metadata_operation("OpenID Provider metadata (OIDC Discovery §3)"),
        ),
        (routes::OAUTH_METADATA, "get", metadata_operation("Authorization server metadata (RFC 8414)")),
        (
            routes::JWKS,
            "get",
            json!({ "tags": ["discovery"], "summary": "The ID token signing keys (RFC 7517)",
                "responses": { "200": { "description": "The key set.", "content": { "application/jwk-set+json": { "schema": { "$ref": "#/components/schemas/JwkSet" } } } } } }),
        ),
        (routes::TOKEN, "post", token_operation(app, false)),
        (routes::G2P_TOKEN, "post", token_operation(app, true)),
        (routes::BC_AUTHORIZE, "post", bc_authorize_operation()),
        (routes::INTROSPECT, "post", introspect_operation()),
        (routes::REVOKE, "post", revoke_operation()),
        (routes::USERINFO, "get", userinfo_operation(false)),
        (routes::USERINFO, "post", userinfo_operation(true)),
    ]
}

fn schemas() -> Value {
    json!({
        "OAuthError": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "string" }, "error_description": { "type": "string" } },
        },
        "TokenResponse": {
            "type": "object", "required": ["access_token", "token_type", "expires_in"],
            "properties": {
                "access_token": { "type": "string" }, "token_type": { "type": "string" },
                "expires_in": { "type": "integer" }, "scope": { "type": "string" },
                "refresh_token": { "type": "string" }, "id_token": { "type": "string" },
            },
        },
        "BackchannelAuthenticationResponse": {
            "type": "object", "required": ["auth_req_id", "expires_in"],
            "properties": { "auth_req_id": { "type": "string" }, "expires_in": { "type": "integer" }, "interval": { "type": "integer" } },
        },
        "IntrospectionResponse": {
            "type": "object", "required": ["active"],
            "properties": {
                "active": { "type": "boolean" }, "scope": { "type": "string" }, "client_id": { "type": "string" },
                "token_type": { "type": "string" }, "exp": { "type": "integer" }, "iat": { "type": "integer" },
                "iss": { "type": "string" }, "jti": { "type": "string" }, "purpose": { "type": "string" },
                "amr": { "type": "array", "items": { "type": "string" } },
            },
        },
        "Metadata": {
            "type": "object", "required": ["issuer", "token_endpoint", "jwks_uri"],
            "properties": { "issuer": { "type": "string" }, "token_endpoint": { "type": "string" }, "jwks_uri": { "type": "string" } },
        },
        "UserInfo": {
            "type": "object", "required": ["sub"],
            "properties": {
                "sub": { "type": "string" }, "phone_number": { "type": "string" },
                "phone_number_verified": { "type": "boolean" },
            },
        },
        "BearerError": {
            "type": "object", "required": ["code", "message", "description"],
            "properties": { "code": { "type": "integer" }, "message": { "type": "string" }, "description": { "type": "string" } },
        },
        "JwkSet": { "type": "object", "required": ["keys"], "properties": { "keys": { "type": "array", "items": { "type": "object" } } } },
    })
}

/// The document, for this installation's issuer.
pub fn document(app: &AppState) -> Value {
    let mut paths = Map::new();
    for (endpoint, method, op) in operations(app) {
        for (i, path) in endpoint.paths().enumerate() {
            let mut op = op.clone();
            if let Some(o) = op.as_object_mut() {
                let id = format!("{method}{}", path.replace(['/', '-', '.'], "_"));
                o.insert("operationId".into(), id.into());
                if i > 0 {
                    o.insert(
                        "description".into(),
                        format!("The same as `{}`, under the path an operator's guide uses.", endpoint.path)
                            .into(),
                    );
                }
            }
            let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
            if let Some(item) = item.as_object_mut() {
                item.insert(method.into(), op);
            }
        }
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "netauth OAuth 2.0, OpenID Connect and CIBA endpoints",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every path under its canonical name and the aliases of the operators' guides. Errors are RFC 6749 §5.2 JSON; the UserInfo endpoint's are seed 003's `{code, message, description}` with the RFC 6750 challenge.",
        },
        "servers": [{ "url": app.issuer }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "client_secret_basic": { "type": "http", "scheme": "basic" },
                "bearer": { "type": "http", "scheme": "bearer", "description": "An access token (UserInfo)." },
            },
        },
    });
    complete(
        &mut doc,
        &Completion {
            error_schema: "#/components/schemas/OAuthError",
            malformed: "`invalid_request`: a parameter is missing, repeated or malformed.",
            unauthenticated: "`invalid_client`: client authentication failed (with `WWW-Authenticate`).",
            limited: true,
            describe_param: |_| "A path parameter.",
        },
    );
    // The per-address limit on failed authentications is the client
    // authentication's; the UserInfo endpoint has no such 429 (its rate
    // limit is seed 003's 403, documented above).
    for path in routes::USERINFO.paths() {
        for method in ["get", "post"] {
            if let Some(r) = doc
                .pointer_mut(&format!(
                    "/paths/{}/{method}/responses",
                    path.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(Value::as_object_mut)
            {
                r.remove("429");
            }
        }
    }
    doc
}

pub async fn openapi_get(State(app): State<AppState>) -> Json<Value> {
    Json(document(&app))
}
