//! The CAMARA resource APIs: Number Verification v2 and SIM Swap v2, what
//! every call goes through (`call`: x-correlator, bearer token, per-client
//! limits, scope and purpose, body schema, the token-versus-body identifier
//! rules, single-use tokens), and their OpenAPI documents. Errors are
//! CAMARA's `{status, code, message}` throughout (Commonalities §3.2).

pub mod bearer;
pub mod call;
pub mod number_verification;
pub mod openapi;
pub mod sim_swap;

use crate::errors::ApiReply;
use crate::infra::state::AppState;
use crate::routes::{self, Endpoint};
use axum::Router;
use axum::routing::{MethodRouter, get, post};
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

/// Every resource-API route, behind the x-correlator middleware.
pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    r = api_route(r, routes::NUMBER_VERIFICATION_VERIFY, post(number_verification::verify_post), "POST");
    r = api_route(
        r,
        routes::NUMBER_VERIFICATION_DEVICE_PHONE_NUMBER,
        get(number_verification::device_phone_number_get),
        "GET, HEAD",
    );
    r = api_route(
        r,
        routes::NUMBER_VERIFICATION_OPENAPI,
        get(openapi::number_verification_openapi_get),
        "GET, HEAD",
    );
    r = api_route(r, routes::SIM_SWAP_CHECK, post(sim_swap::check_post), "POST");
    r = api_route(r, routes::SIM_SWAP_RETRIEVE_DATE, post(sim_swap::retrieve_date_post), "POST");
    r = api_route(r, routes::SIM_SWAP_OPENAPI, get(openapi::sim_swap_openapi_get), "GET, HEAD");
    // Unknown operations under an API's base: 404 with the x-correlator.
    for e in [routes::NUMBER_VERIFICATION_OTHER, routes::SIM_SWAP_OTHER] {
        r = e.paths().fold(r, |r, p| r.route(p, axum::routing::any(no_such_operation)));
    }
    r.layer(axum::middleware::from_fn(call::correlator))
}
