//! The sandbox's JSON API: the simulated handsets (list and answer prompts,
//! set the answering policy) and a TS.43-style entitlement server issuing
//! operator tokens. Sandbox mode only.

use crate::camara::subscriber_by_number;
use crate::errors::ApiJson;
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use crate::routes;
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use netauth_domain::crypto::{b64url, random_token, sha256};
use netauth_domain::subscriber::{HandsetPolicy, OperatorTokenRecord};
use netauth_proto::CamaraError;
use serde::Deserialize;
use serde_json::{Value, json};

/// How long a sandbox operator token is valid.
const OPERATOR_TOKEN_TTL: i64 = 300;

pub async fn prompts_get(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
) -> Result<Json<Value>, ApiReply> {
    let s = subscriber_by_number(&app, &msisdn).await?;
    let prompts = app.store.list_prompts(&s.id, app.now()).await?;
    Ok(Json(json!({ "phone_number": s.msisdn, "policy": s.handset_policy, "prompts": prompts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// `approve` or `deny`.
    pub decision: String,
}

pub async fn prompt_post(
    State(app): State<AppState>,
    Path((msisdn, id)): Path<(String, String)>,
    ApiJson(d): ApiJson<Decision>,
) -> Result<Json<Value>, ApiReply> {
    let approve = match d.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return Err(CamaraError::invalid_argument("decision is approve or deny").into()),
    };
    let s = subscriber_by_number(&app, &msisdn).await?;
    if !crate::oauth::ciba::answer_prompt(&app, &s.id, &id, approve).await? {
        return Err(CamaraError::not_found("no pending prompt with this id on this handset").into());
    }
    Ok(Json(json!({ "id": id, "status": if approve { "approved" } else { "denied" } })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub policy: HandsetPolicy,
}

pub async fn policy_put(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    ApiJson(p): ApiJson<PolicyBody>,
) -> Result<Json<Value>, ApiReply> {
    let mut s = subscriber_by_number(&app, &msisdn).await?;
    s.handset_policy = p.policy;
    app.store.update_subscriber(&s).await?;
    Ok(Json(json!({ "phone_number": s.msisdn, "policy": s.handset_policy })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorTokenRequest {
    #[serde(rename = "phoneNumber", alias = "phone_number")]
    pub phone_number: String,
}

/// What a TS.43 entitlement server's AcquireOperatorToken would give an app
/// on the subscriber's device: a short-lived, single-use token.
pub async fn operator_token_post(
    State(app): State<AppState>,
    ApiJson(r): ApiJson<OperatorTokenRequest>,
) -> Result<Json<Value>, ApiReply> {
    let s = subscriber_by_number(&app, &r.phone_number).await?;
    let token = random_token::<24>();
    app.store
        .insert_operator_token(&OperatorTokenRecord {
            token_hash: b64url(&sha256(token.as_bytes())),
            subscriber_id: s.id,
            expires_at: app.now() + OPERATOR_TOKEN_TTL,
        })
        .await?;
    Ok(Json(json!({ "operator_token": token, "expires_in": OPERATOR_TOKEN_TTL })))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(routes::sandbox::HANDSET_PROMPTS, get(prompts_get))
        .route(routes::sandbox::HANDSET_PROMPT, post(prompt_post))
        .route(routes::sandbox::HANDSET_POLICY, put(policy_put))
        .route(routes::sandbox::OPERATOR_TOKENS, post(operator_token_post))
}
