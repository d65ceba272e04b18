//! SIM Swap v2 (CAMARA SimSwap r3.3, `sim-swap.yaml` 2.1.0):
//! `POST /sim-swap/v2/check` and `POST /sim-swap/v2/retrieve-date`, for
//! two-legged tokens (the number in the body) and three-legged ones (the
//! number from the token), answered from the subscriber's SIM history
//! through the `Network` (decisions in `netauth_domain::sim_swap`). The same
//! handlers answer SIM Swap 0.4.0 (`/sim-swap/v0/…` and the operators'
//! names for it) by that release's contract ([`ApiVersion::V0`]).
//!
//! ```text
//! Caller ─► authorize(sim-swap:check | sim-swap) ─► body {phoneNumber?, maxAge?}
//!   ─► max_age (400) ─► subject (v2: resolve_subject 422/404; v0: legacy_subject 403/400/404)
//!   ─► Network::sim_history ─► swapped_within (400 beyond the monitored period) ─► {swapped}
//! ```

use crate::camara::call::{Caller, JsonBody, authorize, resolve_subject, spend_if_single_use};
use crate::camara::version::ApiVersion;
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use axum::Json;
use axum::extract::State;
use netauth_domain::camara::{SIM_SWAP, SIM_SWAP_CHECK, SIM_SWAP_RETRIEVE_DATE};
use netauth_domain::sim_swap::{self, MaxAgeError};
use netauth_domain::subscriber::Subscriber;
use netauth_domain::token::AccessClaims;
use netauth_proto::CamaraError;
use netauth_proto::time::format_rfc3339;
use serde_json::{Value, json};

fn max_age_error(e: MaxAgeError, v: ApiVersion) -> ApiReply {
    match (v, e) {
        (ApiVersion::V2, MaxAgeError::Invalid) => {
            CamaraError::invalid_argument("`maxAge` must be at least 1 (hours)")
        }
        (ApiVersion::V2, MaxAgeError::AboveLimit) => {
            CamaraError::out_of_range("`maxAge` must be between 1 and 2400 hours")
        }
        (ApiVersion::V2, MaxAgeError::BeyondMonitoredPeriod { days }) => CamaraError::out_of_range(format!(
            "Check monitor period could not exceed local regulations ({days} days, {} hours)",
            u64::from(days) * 24
        )),
        // 0.4.0 knows no OUT_OF_RANGE: its bounds are the schema's
        // (minimum 1, maximum 2400), and its one 400 is INVALID_ARGUMENT.
        (ApiVersion::V0, MaxAgeError::Invalid | MaxAgeError::AboveLimit) => {
            CamaraError::invalid_argument("`maxAge` must be between 1 and 2400 hours")
        }
        (ApiVersion::V0, MaxAgeError::BeyondMonitoredPeriod { days }) => {
            CamaraError::invalid_argument(format!(
                "`maxAge` must not exceed the period local regulations allow to check ({days} days, {} hours)",
                u64::from(days) * 24
            ))
        }
    }
    .into()
}

/// Whose line a SIM Swap 0.4.0 call is about. That release predates
/// Commonalities Appendix A: `phoneNumber` is optional and may come with a
/// three-legged token (the operators' SDKs always send it), where it must
/// be the token's own number (403 `INVALID_TOKEN_CONTEXT`, the release's
/// Generic403); with a two-legged token it is needed (400). A number nobody
/// has, or a line that is not active, is 404 `SIM_SWAP.UNKNOWN_PHONE_NUMBER`
/// (the release's only 404: "SIM Swap can't be checked").
async fn legacy_subject(
    app: &AppState,
    claims: &AccessClaims,
    number: Option<&str>,
) -> Result<Subscriber, ApiReply> {
    let found = match (claims.sub.as_deref(), number) {
        (Some(sub), _) => app.network.subscriber(sub).await?,
        (None, Some(n)) => app.network.subscriber_by_number(n).await?,
        (None, None) => {
            return Err(CamaraError::invalid_argument(
                "`phoneNumber` is required: the access token names no phone number",
            )
            .into());
        }
    };
    // The token's own number: sealed in it, or its subscriber's.
    let own = claims.msisdn.as_deref().or(found.as_ref().map(|s| s.msisdn.as_str()));
    if let (Some(_), Some(n), Some(own)) = (claims.sub.as_deref(), number, own)
        && n != own
    {
        return Err(CamaraError::new(
            403,
            "INVALID_TOKEN_CONTEXT",
            "phoneNumber is not the phone number of the access token",
        )
        .into());
    }
    found.filter(Subscriber::is_active).ok_or_else(|| {
        CamaraError::new(
            404,
            "SIM_SWAP.UNKNOWN_PHONE_NUMBER",
            "SIM Swap can't be checked because the phone number is unknown",
        )
        .into()
    })
}

async fn subject(
    app: &AppState,
    claims: &AccessClaims,
    number: Option<String>,
    v: ApiVersion,
) -> Result<Subscriber, ApiReply> {
    match v {
        ApiVersion::V2 => resolve_subject(app, claims, number.as_deref()).await,
        ApiVersion::V0 => legacy_subject(app, claims, number.as_deref()).await,
    }
}

/// `checkSimSwap`: has the number had a new SIM in the last `maxAge` hours?
pub async fn check_post(
    State(app): State<AppState>,
    Caller(claims): Caller,
    body: JsonBody,
    v: ApiVersion,
) -> Result<Json<Value>, ApiReply> {
    authorize(&app, &claims, &[SIM_SWAP_CHECK, SIM_SWAP]).await?;
    body.allow_only(&["phoneNumber", "maxAge"])?;
    let number = v.sim_swap_phone_number(&body)?;
    let hours = sim_swap::max_age(body.integer("maxAge")?).map_err(|e| max_age_error(e, v))?;
    let subscriber = subject(&app, &claims, number, v).await?;
    let history = app.network.sim_history(&subscriber).await?;
    let swapped = history.swapped_within(hours, app.now()).map_err(|e| max_age_error(e, v))?;
    spend_if_single_use(&app, &claims).await?;
    Ok(Json(json!({ "swapped": swapped })))
}

/// `retrieveSimSwapDate`: when did the number last get a new SIM? The
/// activation date when it never changed. When that lies outside what the
/// operator may disclose (or the line never had a SIM): v2 answers `null`
/// with `monitoredPeriod`; 0.4.0 has neither (`latestSimChange` is neither
/// nullable nor required there, and `monitoredPeriod` came later), so the
/// property is left out.
pub async fn retrieve_date_post(
    State(app): State<AppState>,
    Caller(claims): Caller,
    body: JsonBody,
    v: ApiVersion,
) -> Result<Json<Value>, ApiReply> {
    authorize(&app, &claims, &[SIM_SWAP_RETRIEVE_DATE, SIM_SWAP]).await?;
    body.allow_only(&["phoneNumber"])?;
    let number = v.sim_swap_phone_number(&body)?;
    let subscriber = subject(&app, &claims, number, v).await?;
    let latest = app.network.sim_history(&subscriber).await?.latest_sim_change(app.now());
    spend_if_single_use(&app, &claims).await?;
    let mut out = serde_json::Map::new();
    match (v, latest.at) {
        (ApiVersion::V2, at) => {
            out.insert("latestSimChange".into(), at.map(format_rfc3339).into());
            if let Some(days) = latest.monitored_period {
                out.insert("monitoredPeriod".into(), days.into());
            }
        }
        (ApiVersion::V0, Some(at)) => {
            out.insert("latestSimChange".into(), format_rfc3339(at).into());
        }
        (ApiVersion::V0, None) => {}
    }
    Ok(Json(Value::Object(out)))
}
