//! Admin API: clients and signing/sealing keys.

use crate::admin::auth::{Admin, optional_json};
use crate::admin::manage::{self, ClientPatch, ClientView, Created, ManageError, NewClient};
use crate::errors::ApiQuery;
use crate::errors::{ApiJson, ApiReply};
use crate::infra::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use netauth_domain::client::ClientStatus;
use netauth_proto::CamaraError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Return clients whose id sorts after this one.
    pub after: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientView>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    /// Lifetime of the new secret in seconds; no expiry when absent.
    pub expires_in: Option<i64>,
    /// Existing secrets expire after this many seconds (0: at once).
    pub expire_existing_in: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: String,
    pub alg: String,
    pub created_at: i64,
    pub active_from: i64,
    pub retires_at: Option<i64>,
    pub expires_at: Option<i64>,
    /// `next` (published, not signing yet), `active`, or `retired`.
    pub state: String,
}

#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// Seconds before the new keys sign; `keys.rotation_delay_secs` by default.
    pub delay_secs: Option<i64>,
}

fn max_ttl(app: &AppState) -> i64 {
    app.config.tokens.max_access_token_ttl_secs
}

/// After a change made through the Store: apply it on this node at once.
async fn refresh_local(app: &AppState, id: &str) {
    app.clients.evict(id);
    if let Err(e) = app.sync_revocations_from(i64::MAX).await {
        tracing::warn!(error = %e, "revocation sync after an admin change failed");
    }
}

#[utoipa::path(get, path = "/admin/v1/clients", params(ListQuery), tag = "clients",
    responses((status = 200, body = ClientList)), security(("admin" = [])))]
pub async fn clients_get(
    _: Admin,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ClientList>, ApiReply> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let cs = app.store.list_clients(q.after.as_deref(), limit).await?;
    let next = (cs.len() as u32 == limit).then(|| cs.last().map(|c| c.client_id.clone())).flatten();
    Ok(Json(ClientList { clients: cs.iter().map(ClientView::from).collect(), next }))
}

#[utoipa::path(post, path = "/admin/v1/clients", request_body = NewClient, tag = "clients",
    responses((status = 201, body = Created), (status = 400), (status = 409)), security(("admin" = [])))]
pub async fn clients_post(
    _: Admin,
    State(app): State<AppState>,
    ApiJson(req): ApiJson<NewClient>,
) -> Result<Response, ApiReply> {
    let created = manage::create_client(app.store.as_ref(), req, max_ttl(&app), app.now()).await?;
    refresh_local(&app, &created.client.client.client_id).await;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "clients",
    responses((status = 200, body = ClientView), (status = 404)), security(("admin" = [])))]
pub async fn client_get(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiReply> {
    let c = app.store.get_client(&id).await?.ok_or(ManageError::NotFound)?;
    Ok(Json(ClientView::from(&c)))
}

#[utoipa::path(patch, path = "/admin/v1/clients/{client_id}", request_body = ClientPatch, tag = "clients",
    responses((status = 200, body = ClientView), (status = 400), (status = 404)), security(("admin" = [])))]
pub async fn client_patch(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<ClientPatch>,
) -> Result<Json<ClientView>, ApiReply> {
    let v = manage::patch_client(app.store.as_ref(), &id, p, max_ttl(&app), app.now()).await?;
    refresh_local(&app, &id).await;
    Ok(Json(v))
}

#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}", tag = "clients",
    responses((status = 204), (status = 404)), security(("admin" = [])))]
pub async fn client_delete(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiReply> {
    manage::delete_client(app.store.as_ref(), &id, app.max_token_lifetime(), app.now()).await?;
    refresh_local(&app, &id).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_status(app: AppState, id: String, status: ClientStatus) -> Result<Json<ClientView>, ApiReply> {
    let v = manage::set_status(app.store.as_ref(), &id, status, app.max_token_lifetime(), app.now()).await?;
    refresh_local(&app, &id).await;
    Ok(Json(v))
}

/// Suspends a client: its tokens stop working and it gets no new ones.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/suspend", tag = "clients",
    responses((status = 200, body = ClientView), (status = 404)), security(("admin" = [])))]
pub async fn client_suspend_post(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiReply> {
    set_status(app, id, ClientStatus::Suspended).await
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/activate", tag = "clients",
    responses((status = 200, body = ClientView), (status = 404)), security(("admin" = [])))]
pub async fn client_activate_post(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiReply> {
    set_status(app, id, ClientStatus::Active).await
}

/// Adds a secret (shown once). Old secrets keep working until
/// `expire_existing_in`, so a client rotates without downtime.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/secrets", request_body = NewSecret, tag = "clients",
    responses((status = 201, body = Created), (status = 400), (status = 404)), security(("admin" = [])))]
pub async fn client_secrets_post(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiReply> {
    let req: NewSecret = optional_json(&body)?;
    let created =
        manage::add_secret(app.store.as_ref(), &id, req.expires_in, req.expire_existing_in, app.now())
            .await?;
    refresh_local(&app, &id).await;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}/secrets/{secret_id}", tag = "clients",
    responses((status = 200, body = ClientView), (status = 404)), security(("admin" = [])))]
pub async fn client_secret_delete(
    _: Admin,
    State(app): State<AppState>,
    Path((id, secret_id)): Path<(String, String)>,
) -> Result<Json<ClientView>, ApiReply> {
    let v = manage::delete_secret(app.store.as_ref(), &id, &secret_id, app.now()).await?;
    refresh_local(&app, &id).await;
    Ok(Json(v))
}

pub fn key_views(keys: &[netauth_domain::keys::StoredKey], t: i64) -> Vec<KeyView> {
    let mut v: Vec<KeyView> = keys
        .iter()
        .map(|k| KeyView {
            kid: k.kid.clone(),
            key_use: k.key_use.as_str().into(),
            alg: k.alg.clone(),
            created_at: k.created_at,
            active_from: k.active_from,
            retires_at: k.retires_at,
            expires_at: k.expires_at,
            state: if k.active_from > t {
                "next"
            } else if k.retires_at.is_some_and(|r| r <= t) {
                "retired"
            } else {
                "active"
            }
            .into(),
        })
        .collect();
    v.sort_by(|a, b| (&a.key_use, &a.alg, a.active_from).cmp(&(&b.key_use, &b.alg, b.active_from)));
    v
}

#[utoipa::path(get, path = "/admin/v1/keys", tag = "keys",
    responses((status = 200, body = Vec<KeyView>)), security(("admin" = [])))]
pub async fn keys_get(_: Admin, State(app): State<AppState>) -> Result<Json<Vec<KeyView>>, ApiReply> {
    Ok(Json(key_views(&app.store.list_keys().await?, app.now())))
}

/// Publishes new keys now; they sign after the delay. The keys they replace
/// stay published until everything they signed has expired.
#[utoipa::path(post, path = "/admin/v1/keys/rotate", request_body = RotateRequest, tag = "keys",
    responses((status = 200, body = Vec<KeyView>)), security(("admin" = [])))]
pub async fn keys_rotate_post(
    _: Admin,
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Vec<KeyView>>, ApiReply> {
    let req: RotateRequest = optional_json(&body)?;
    let delay = req.delay_secs.unwrap_or(app.config.keys.rotation_delay_secs);
    // Bounded so that `now + delay` cannot overflow; a year is far past any
    // cache a relying party keeps the key set in.
    if !(0..=31_536_000).contains(&delay) {
        return Err(
            CamaraError::invalid_argument("delay_secs must be between 0 and 31536000 (a year)").into()
        );
    }
    crate::infra::keys::rotate(app.store.as_ref(), &app.master, delay, app.max_token_lifetime(), app.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "key rotation failed");
            ApiReply(CamaraError::internal())
        })?;
    if let Err(e) = app.reload_keys().await {
        tracing::error!(error = %e, "key reload after rotation failed");
    }
    Ok(Json(key_views(&app.store.list_keys().await?, app.now())))
}
