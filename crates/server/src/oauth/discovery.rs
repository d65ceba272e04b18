//! Authorization server metadata: OIDC Discovery 1.0 §3 at
//! `/.well-known/openid-configuration` and RFC 8414 at
//! `/.well-known/oauth-authorization-server`. Built from the route table
//! and the implemented grants, so it advertises exactly what is served.

use crate::infra::state::AppState;
use crate::oauth::token::IMPLEMENTED_GRANTS;
use crate::routes;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Client authentication methods offered at the token, introspection and
/// revocation endpoints. `app_jwt` (seed 002) is not a registered name and
/// is documented instead of advertised.
pub const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "private_key_jwt"];

/// Algorithms accepted on client assertions (pinned per registered key).
pub const ASSERTION_ALGS: &[&str] =
    &["ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

pub fn metadata(app: &AppState) -> Value {
    let url = |e: routes::Endpoint| format!("{}{}", app.issuer, e.path);
    let signing: Vec<&str> = app.key_ring().signing_algs().iter().map(|a| a.as_str()).collect();
    json!({
        "issuer": app.issuer,
        "authorization_endpoint": url(routes::AUTHORIZE),
        "token_endpoint": url(routes::TOKEN),
        "jwks_uri": url(routes::JWKS),
        "userinfo_endpoint": url(routes::USERINFO),
        "introspection_endpoint": url(routes::INTROSPECT),
        "revocation_endpoint": url(routes::REVOKE),
        "backchannel_authentication_endpoint": url(routes::BC_AUTHORIZE),
        "backchannel_token_delivery_modes_supported": ["poll", "ping", "push"],
        "backchannel_authentication_request_signing_alg_values_supported": ASSERTION_ALGS,
        "backchannel_user_code_parameter_supported": false,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": ASSERTION_ALGS,
        "grant_types_supported": IMPLEMENTED_GRANTS.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "scopes_supported": scopes_supported(),
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": netauth_proto::PromptSet::SUPPORTED,
        "display_values_supported": netauth_proto::authorize::Display::ALL.map(|d| d.as_str()),
        "ui_locales_supported": crate::pages::Lang::ALL.map(|l| l.code()),
        "claims_parameter_supported": true,
        "claims_supported": ["sub", "iss", "aud", "azp", "exp", "iat", "auth_time", "nonce", "amr", "acr", "at_hash", "phone_number", "phone_number_verified"],
        "acr_values_supported": [netauth_domain::authorize::ACR_LOA2],
        "request_uri_parameter_supported": false,
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": signing,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
    })
}

/// The protocol scopes (`phone` opens the number at the UserInfo
/// endpoint) and every scope of the resource APIs served. `dpv:`
/// purposes are scope values too, but the operator's legal bases decide
/// which exist; they are not listed.
fn scopes_supported() -> Vec<&'static str> {
    let mut v = vec!["openid", "phone", "offline_access"];
    v.extend_from_slice(netauth_domain::camara::API_SCOPES);
    v
}

fn cacheable(v: &Value) -> Response {
    let mut r = Json(v).into_response();
    // Metadata changes only with configuration; keys may rotate, so keep it short.
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    r
}

pub async fn openid_configuration_get(State(app): State<AppState>) -> Response {
    cacheable(&metadata(&app))
}

pub async fn jwks_get(State(app): State<AppState>) -> Response {
    let ring = app.key_ring();
    let mut r = cacheable(ring.jwks());
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    r
}
