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
          crate::admin::network::legal_bases_get, crate::admin::network::legal_basis_put,
          crate::admin::network::legal_basis_delete, crate::admin::network::consents_get,
          crate::admin::network::consent_delete),
    components(schemas(NewClient, ClientPatch, ClientView, Created, ClientList, NewSecret, KeyView, RotateRequest,
                        CamaraError, crate::admin::network::SubscriberInput)),
    modifiers(&AdminSecurity),
)]
pub struct AdminApi;

pub async fn openapi_get() -> Json<utoipa::openapi::OpenApi> {
    Json(AdminApi::openapi())
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/clients", get(clients_get).post(clients_post))
        .route("/clients/{client_id}", get(client_get).patch(client_patch).delete(client_delete))
        .route("/clients/{client_id}/suspend", post(client_suspend_post))
        .route("/clients/{client_id}/activate", post(client_activate_post))
        .route("/clients/{client_id}/secrets", post(client_secrets_post))
        .route("/clients/{client_id}/secrets/{secret_id}", axum::routing::delete(client_secret_delete))
        .route("/keys", get(keys_get))
        .route("/keys/rotate", post(keys_rotate_post))
        .route("/openapi.json", get(openapi_get))
        .merge(crate::admin::network::router())
}
