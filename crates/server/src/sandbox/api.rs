//! The sandbox's JSON API: the simulated handsets (list and answer prompts,
//! set the answering policy), a TS.43-style entitlement server issuing
//! operator tokens, and SIM swaps on the simulated network. Sandbox mode only.

use crate::camara::subscriber_by_number;
use crate::errors::ApiJson;
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use crate::routes;
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use netauth_domain::crypto::{hash_bearer, random_bytes, random_token};
use netauth_domain::subscriber::{HandsetPolicy, OperatorTokenRecord, SimRecord};
use netauth_proto::CamaraError;
use netauth_proto::time::{format_rfc3339, parse_rfc3339};
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
            token_hash: hash_bearer(&token),
            subscriber_id: s.id,
            expires_at: app.now() + OPERATOR_TOKEN_TTL,
        })
        .await?;
    Ok(Json(json!({ "operator_token": token, "expires_in": OPERATOR_TOKEN_TTL })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSwapRequest {
    /// When the new SIM was activated (RFC 3339); now when absent.
    pub at: Option<String>,
}

/// A SIM swap on the simulated network: the number gets a new SIM, now or
/// at a given past time (after the current SIM's activation), so that SIM
/// Swap's answers can be tried without waiting. Body optional.
pub async fn sim_swap_post(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiReply> {
    let req: SimSwapRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SimSwapRequest { at: None }
    } else {
        serde_json::from_slice(&body).map_err(|e| CamaraError::invalid_argument(format!("body: {e}")))?
    };
    let t = app.now();
    let at = match req.at.as_deref() {
        None => t,
        Some(s) => parse_rfc3339(s)
            .ok_or_else(|| CamaraError::invalid_argument("`at` must be an RFC 3339 date-time"))?,
    };
    if at > t {
        return Err(CamaraError::invalid_argument("`at` must not be in the future").into());
    }
    let mut s = subscriber_by_number(&app, &msisdn).await?;
    if s.current_sim_since().is_some_and(|current| at < current) {
        return Err(CamaraError::invalid_argument("`at` precedes the activation of the current SIM").into());
    }
    if s.sims.len() >= 1000 {
        return Err(CamaraError::invalid_argument("the SIM history is full (1000 records)").into());
    }
    let digits: String = random_bytes::<9>().iter().map(|b| format!("{:02}", b % 100)).collect();
    let sim = SimRecord { sim_id: format!("89{digits}"), activated_at: at };
    s.sims.push(sim.clone());
    app.store.update_subscriber(&s).await?;
    let show = |r: &SimRecord| json!({ "sim_id": r.sim_id, "activated_at": format_rfc3339(r.activated_at) });
    Ok(Json(json!({
        "phone_number": s.msisdn,
        "sim": show(&sim),
        "sims": s.sims.iter().map(show).collect::<Vec<_>>(),
    })))
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(routes::sandbox::HANDSET_PROMPTS, get(prompts_get))
        .route(routes::sandbox::HANDSET_PROMPT, post(prompt_post))
        .route(routes::sandbox::HANDSET_POLICY, put(policy_put))
        .route(routes::sandbox::OPERATOR_TOKENS, post(operator_token_post))
        .route(routes::sandbox::SIM_SWAP, post(sim_swap_post))
}
