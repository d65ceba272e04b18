//! The admin API under `/admin/v1`: clients and keys. Bearer admin token
//! from configuration (compared in constant time); off when none is set.
//! Errors use the `{status, code, message}` dialect. The OpenAPI document
//! is generated from these handlers and served at `/admin/v1/openapi.json`.
//!
//! `auth` (the admin token), `clients` (clients and keys), `network`
//! (operators, subscribers, legal bases, consents), `manage` (client
//! registration rules, shared with the CLI).

pub mod auth;
pub mod clients;
pub mod manage;
pub mod network;

use crate::admin::clients::*;
use crate::admin::manage::{ClientPatch, ClientView, Created, NewClient};
use crate::infra::state::AppState;
use crate::routes;
use axum::Json;
use axum::routing::{get, post};
use netauth_proto::CamaraError;
use utoipa::OpenApi;

struct AdminSecurity;
impl utoipa::Modify for AdminSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "netauth admin API", description = "Clients and keys of a netauth installation."),
    paths(clients_get, clients_post, client_get, client_patch, client_delete, client_suspend_post,
          client_activate_post, client_secrets_post, client_secret_delete, keys_get, keys_rotate_post,
          crate::admin::network::operators_get, crate::admin::network::operator_put,
          crate::admin::network::operator_delete, crate::admin::network::subscribers_get,
          crate::admin::network::subscribers_post, crate::admin::network::subscriber_get,
          crate::admin::network::subscriber_put, crate::admin::network::subscriber_delete,
          crate::admin::network::sims_put,
          crate::admin::network::legal_bases_get, crate::admin::network::legal_basis_put,
          crate::admin::network::legal_basis_delete, crate::admin::network::consents_get,
          crate::admin::network::consent_delete),
    components(schemas(NewClient, ClientPatch, ClientView, Created, ClientList, NewSecret, KeyView, RotateRequest,
                        CamaraError, crate::admin::network::SubscriberInput)),
    modifiers(&AdminSecurity),
)]
pub struct AdminApi;

/// The path parameters of the admin API, described once.
fn describe_param(name: &str) -> &'static str {
    match name {
        "client_id" => "The client's id.",
        "secret_id" => "The secret's id, as listed in the client's `secrets`.",
        "id" => "The operator's id.",
        "phone_number" => "The subscriber's number in E.164 form, with `+` (`%2B` in a URL).",
        _ => "A path parameter.",
    }
}

/// The admin API's OpenAPI document: generated from the handlers' attributes,
/// then completed (path parameters, 401/429, error bodies; `infra::openapi`).
pub fn openapi_document() -> serde_json::Value {
    let mut doc = serde_json::to_value(AdminApi::openapi()).unwrap_or_default();
    crate::infra::openapi::complete(
        &mut doc,
        &crate::infra::openapi::Completion {
            error_schema: "#/components/schemas/CamaraError",
            malformed: "A parameter or the body is malformed or out of range; `message` says which.",
            unauthenticated: "The admin token is missing or wrong (`Authorization: Bearer <admin token>`).",
            limited: true,
            describe_param,
        },
    );
    doc
}

pub async fn openapi_get() -> Json<serde_json::Value> {
    Json(openapi_document())
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(routes::admin::CLIENTS, get(clients_get).post(clients_post))
        .route(routes::admin::CLIENT, get(client_get).patch(client_patch).delete(client_delete))
        .route(routes::admin::CLIENT_SUSPEND, post(client_suspend_post))
        .route(routes::admin::CLIENT_ACTIVATE, post(client_activate_post))
        .route(routes::admin::CLIENT_SECRETS, post(client_secrets_post))
        .route(routes::admin::CLIENT_SECRET, axum::routing::delete(client_secret_delete))
        .route(routes::admin::KEYS, get(keys_get))
        .route(routes::admin::KEYS_ROTATE, post(keys_rotate_post))
        .route(routes::admin::OPENAPI, get(openapi_get))
        .merge(crate::admin::network::router())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `#[utoipa::path]` literals and the route table name the same paths.
    #[test]
    fn admin_paths_are_documented() {
        use crate::routes::admin as r;
        let doc = AdminApi::openapi();
        let documented: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        for p in [
            r::CLIENTS,
            r::CLIENT,
            r::CLIENT_SUSPEND,
            r::CLIENT_ACTIVATE,
            r::CLIENT_SECRETS,
            r::CLIENT_SECRET,
            r::KEYS,
            r::KEYS_ROTATE,
            r::OPERATORS,
            r::OPERATOR,
            r::SUBSCRIBERS,
            r::SUBSCRIBER,
            r::SUBSCRIBER_CONSENTS,
            r::SUBSCRIBER_SIMS,
            r::LEGAL_BASES,
        ] {
            assert!(documented.contains(&p), "{p} is routed but not in the OpenAPI document");
        }
        assert_eq!(documented.len(), 15, "documented but not routed: {documented:?}");
    }
}
