//! The CAMARA resource APIs: Number Verification v2 and SIM Swap v2 (and
//! their v0 releases the operators' SDKs call, `version`), what
//! every call goes through (`call`: x-correlator, bearer token, per-client
//! limits, scope and purpose, body schema, the token-versus-body identifier
//! rules, single-use tokens), and their OpenAPI documents. Errors are
//! CAMARA's `{status, code, message}` throughout (Commonalities §3.2).

pub mod bearer;
pub mod call;
pub mod number_verification;
pub mod openapi;
pub mod sim_swap;
pub mod version;

use crate::errors::ApiReply;
use crate::infra::state::AppState;
use crate::routes::{self, Endpoint};
use axum::Router;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodRouter, get, post};
use call::{Caller, JsonBody};
use netauth_domain::subscriber::Subscriber;
use netauth_proto::{CamaraError, Msisdn};

/// The subscriber with this E.164 number: 400 `INVALID_ARGUMENT` for a
/// malformed number, 404 `IDENTIFIER_NOT_FOUND` for one nobody has.
pub async fn subscriber_by_number(app: &AppState, msisdn: &str) -> Result<Subscriber, ApiReply> {
    subscriber_in(app.store.as_ref(), msisdn).await
}

/// [`subscriber_by_number`] in a Store: the CLI's `subscriber show` and
/// `delete` word a malformed or unknown number as the APIs do.
pub async fn subscriber_in(store: &dyn netauth_store::Store, msisdn: &str) -> Result<Subscriber, ApiReply> {
    Msisdn::parse(msisdn).map_err(|e| CamaraError::invalid_argument(e.description.to_string()))?;
    store
        .subscriber_by_msisdn(msisdn)
        .await?
        .ok_or_else(|| CamaraError::new(404, "IDENTIFIER_NOT_FOUND", "no subscriber has this number").into())
}

async fn no_such_operation() -> ApiReply {
    CamaraError::not_found("The specified resource is not found.").into()
}

/// One resource-API path: other methods get a CAMARA 405 naming `allow`.
fn api_route(
    r: Router<AppState>,
    e: Endpoint,
    m: MethodRouter<AppState>,
    allow: &'static str,
) -> Router<AppState> {
    let m = m.fallback(move || async move { call::method_not_allowed(allow) });
    e.paths().fold(r, |r, p| r.route(p, m.clone()))
}

/// Unknown operations under an API's base: 404 `NOT_FOUND`.
fn other_operations(r: Router<AppState>, e: Endpoint) -> Router<AppState> {
    e.paths().fold(r, |r, p| r.route(p, axum::routing::any(no_such_operation)))
}

/// Every resource-API route, behind the x-correlator middleware of its
/// contract. Each version's routes call the same handlers with their
/// [`ApiVersion`](version::ApiVersion).
pub fn router() -> Router<AppState> {
    use version::ApiVersion::{V0, V2};
    let correlated = |r: Router<AppState>, rule| r.layer(from_fn_with_state(rule, call::correlator));
    let mut r = Router::new();
    for (v, verify, nv_other, check, retrieve, ss_other) in [
        (
            V2,
            routes::NUMBER_VERIFICATION_VERIFY,
            routes::NUMBER_VERIFICATION_OTHER,
            routes::SIM_SWAP_CHECK,
            routes::SIM_SWAP_RETRIEVE_DATE,
            routes::SIM_SWAP_OTHER,
        ),
        (
            V0,
            routes::NUMBER_VERIFICATION_V0_VERIFY,
            routes::NUMBER_VERIFICATION_V0_OTHER,
            routes::SIM_SWAP_V0_CHECK,
            routes::SIM_SWAP_V0_RETRIEVE_DATE,
            routes::SIM_SWAP_V0_OTHER,
        ),
    ] {
        let verify_post =
            move |s: State<AppState>, c: Caller, b: JsonBody| number_verification::verify_post(s, c, b, v);
        let check_post = move |s: State<AppState>, c: Caller, b: JsonBody| sim_swap::check_post(s, c, b, v);
        let retrieve_post =
            move |s: State<AppState>, c: Caller, b: JsonBody| sim_swap::retrieve_date_post(s, c, b, v);
        let mut nv = api_route(Router::new(), verify, post(verify_post), "POST");
        if v == V2 {
            let share = get(number_verification::device_phone_number_get);
            nv = api_route(nv, routes::NUMBER_VERIFICATION_DEVICE_PHONE_NUMBER, share, "GET, HEAD");
            let doc = get(openapi::number_verification_openapi_get);
            nv = api_route(nv, routes::NUMBER_VERIFICATION_OPENAPI, doc, "GET, HEAD");
        }
        nv = other_operations(nv, nv_other);
        let mut ss = api_route(Router::new(), check, post(check_post), "POST");
        ss = api_route(ss, retrieve, post(retrieve_post), "POST");
        if v == V2 {
            ss = api_route(ss, routes::SIM_SWAP_OPENAPI, get(openapi::sim_swap_openapi_get), "GET, HEAD");
        }
        ss = other_operations(ss, ss_other);
        r = r.merge(correlated(nv, v.correlator_rule_number_verification()));
        r = r.merge(correlated(ss, v.correlator_rule_sim_swap()));
    }
    r
}
