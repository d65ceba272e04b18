//! The admin API under `/admin/v1`: clients and keys. Bearer admin token
//! from configuration (compared in constant time); off when none is set.
//! Errors use the `{status, code, message}` dialect. The OpenAPI document
//! is generated from these handlers and served at `/admin/v1/openapi.json`.

use crate::errors::ApiReply;
use crate::manage::{self, ClientPatch, ClientView, Created, ManageError, NewClient};
use crate::state::{AppState, now};
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use netauth_domain::client::ClientStatus;
use netauth_proto::CamaraError;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

/// Proof that the request carries the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiReply;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let expected = app.config.admin.token.as_bytes();
        if expected.is_empty() {
            return Err(CamaraError::not_found("the admin API is disabled (set admin.token)").into());
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if netauth_domain::crypto::ct_eq(presented.as_bytes(), expected) {
            Ok(Admin)
        } else {
            Err(CamaraError::unauthenticated().into())
        }
    }
}

impl From<ManageError> for ApiReply {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Invalid(m) => CamaraError::invalid_argument(m).into(),
            ManageError::NotFound => CamaraError::not_found("no client with this id").into(),
            ManageError::Exists => {
                CamaraError::new(409, "ALREADY_EXISTS", "a client with this id already exists").into()
            }
            ManageError::Store(s) => s.into(),
        }
    }
}

/// JSON bodies with errors in our dialect rather than axum's plain text.
pub struct AdminJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for AdminJson<T> {
    type Rejection = ApiReply;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(e) => Err(CamaraError::invalid_argument(e.body_text()).into()),
        }
    }
}

/// A JSON body that may be left out entirely (then: defaults).
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiReply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| CamaraError::invalid_argument(format!("invalid JSON body: {e}")).into())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
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
    Query(q): Query<ListQuery>,
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
    AdminJson(req): AdminJson<NewClient>,
) -> Result<Response, ApiReply> {
    let created = manage::create_client(app.store.as_ref(), req, max_ttl(&app)).await?;
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
    AdminJson(p): AdminJson<ClientPatch>,
) -> Result<Json<ClientView>, ApiReply> {
    let v = manage::patch_client(app.store.as_ref(), &id, p, max_ttl(&app)).await?;
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
    manage::delete_client(app.store.as_ref(), &id, app.max_token_lifetime()).await?;
    refresh_local(&app, &id).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_status(app: AppState, id: String, status: ClientStatus) -> Result<Json<ClientView>, ApiReply> {
    let v = manage::set_status(app.store.as_ref(), &id, status, app.max_token_lifetime()).await?;
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
    let created = manage::add_secret(app.store.as_ref(), &id, req.expires_in, req.expire_existing_in).await?;
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
    let v = manage::delete_secret(app.store.as_ref(), &id, &secret_id).await?;
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
    Ok(Json(key_views(&app.store.list_keys().await?, now())))
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
    if delay < 0 {
        return Err(CamaraError::invalid_argument("delay_secs must not be negative").into());
    }
    crate::keys::rotate(app.store.as_ref(), &app.master, delay, app.max_token_lifetime()).await.map_err(
        |e| {
            tracing::error!(error = %e, "key rotation failed");
            ApiReply(CamaraError::internal())
        },
    )?;
    if let Err(e) = app.reload_keys().await {
        tracing::error!(error = %e, "key reload after rotation failed");
    }
    Ok(Json(key_views(&app.store.list_keys().await?, now())))
}

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
          crate::admin_network::operators_get, crate::admin_network::operator_put,
          crate::admin_network::operator_delete, crate::admin_network::subscribers_get,
          crate::admin_network::subscribers_post, crate::admin_network::subscriber_get,
          crate::admin_network::subscriber_put, crate::admin_network::subscriber_delete,
          crate::admin_network::legal_bases_get, crate::admin_network::legal_basis_put,
          crate::admin_network::legal_basis_delete, crate::admin_network::consents_get,
          crate::admin_network::consent_delete),
    components(schemas(NewClient, ClientPatch, ClientView, Created, ClientList, NewSecret, KeyView, RotateRequest,
                        CamaraError, crate::admin_network::SubscriberInput)),
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
        .merge(crate::admin_network::router())
}
