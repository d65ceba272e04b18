//! SIM Swap v2 (CAMARA SimSwap r3.3, `sim-swap.yaml` 2.1.0):
//! `POST /sim-swap/v2/check` and `POST /sim-swap/v2/retrieve-date`, for
//! two-legged tokens (the number in the body) and three-legged ones (the
//! number from the token), answered from the subscriber's SIM history
//! through the `Network` (decisions in `netauth_domain::sim_swap`).
//!
//! ```text
//! Caller ─► authorize(sim-swap:check | sim-swap) ─► body {phoneNumber?, maxAge?}
//!   ─► max_age (400) ─► resolve_subject (422/404) ─► Network::sim_history
//!   ─► swapped_within (400 OUT_OF_RANGE beyond the monitored period) ─► {swapped}
//! ```

use crate::camara::call::{Caller, JsonBody, authorize, resolve_subject, spend_if_single_use};
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use axum::Json;
use axum::extract::State;
use netauth_domain::camara::{SIM_SWAP, SIM_SWAP_CHECK, SIM_SWAP_RETRIEVE_DATE};
use netauth_domain::sim_swap::{self, MaxAgeError};
use netauth_proto::CamaraError;
use netauth_proto::time::format_rfc3339;
use serde_json::{Value, json};

fn max_age_error(e: MaxAgeError) -> ApiReply {
    match e {
        MaxAgeError::Invalid => CamaraError::invalid_argument("`maxAge` must be at least 1 (hours)"),
        MaxAgeError::AboveLimit => CamaraError::out_of_range("`maxAge` must be between 1 and 2400 hours"),
        MaxAgeError::BeyondMonitoredPeriod { days } => CamaraError::out_of_range(format!(
            "Check monitor period could not exceed local regulations ({days} days, {} hours)",
            u64::from(days) * 24
        )),
    }
    .into()
}

/// `checkSimSwap`: has the number had a new SIM in the last `maxAge` hours?
pub async fn check_post(
    State(app): State<AppState>,
    Caller(claims): Caller,
    body: JsonBody,
) -> Result<Json<Value>, ApiReply> {
    authorize(&app, &claims, &[SIM_SWAP_CHECK, SIM_SWAP]).await?;
    body.allow_only(&["phoneNumber", "maxAge"])?;
    let number = body.phone_number()?;
    let hours = sim_swap::max_age(body.integer("maxAge")?).map_err(max_age_error)?;
    let subscriber = resolve_subject(&app, &claims, number).await?;
    let history = app.network.sim_history(&subscriber).await?;
    let swapped = history.swapped_within(hours, app.now()).map_err(max_age_error)?;
    spend_if_single_use(&app, &claims).await?;
    Ok(Json(json!({ "swapped": swapped })))
}

/// `retrieveSimSwapDate`: when did the number last get a new SIM? The
/// activation date when it never changed; `null` (with `monitoredPeriod`)
/// when that lies outside what the operator may disclose.
pub async fn retrieve_date_post(
    State(app): State<AppState>,
    Caller(claims): Caller,
    body: JsonBody,
) -> Result<Json<Value>, ApiReply> {
    authorize(&app, &claims, &[SIM_SWAP_RETRIEVE_DATE, SIM_SWAP]).await?;
    body.allow_only(&["phoneNumber"])?;
    let number = body.phone_number()?;
    let subscriber = resolve_subject(&app, &claims, number).await?;
    let latest = app.network.sim_history(&subscriber).await?.latest_sim_change(app.now());
    spend_if_single_use(&app, &claims).await?;
    let mut out = serde_json::Map::new();
    out.insert("latestSimChange".into(), latest.at.map(format_rfc3339).into());
    if let Some(days) = latest.monitored_period {
        out.insert("monitoredPeriod".into(), days.into());
    }
    Ok(Json(Value::Object(out)))
}
