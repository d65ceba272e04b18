//! Admin API for the network data netauth keeps: operators, subscribers
//! (numbers, SIM history, addresses), legal bases of (scope, purpose) pairs,
//! and subscribers' consents.

use crate::admin::auth::Admin;
use crate::errors::ApiJson;
use crate::errors::ApiQuery;
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use crate::routes;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use netauth_domain::consent::{Consent, LegalBasisRule};
use netauth_domain::crypto::random_token;
use netauth_domain::subscriber::{
    AddressAssignment, HandsetPolicy, Operator, SimRecord, Subscriber, SubscriberStatus,
};
use netauth_proto::{CamaraError, Msisdn, Purpose, Scope};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

fn invalid(m: impl Into<String>) -> ApiReply {
    CamaraError::invalid_argument(m.into()).into()
}

/// A handset policy by its name; the CLI's `--policy` goes through here too.
pub fn parse_handset_policy(s: &str) -> Result<HandsetPolicy, ApiReply> {
    const ALL: [(HandsetPolicy, &str); 3] = [
        (HandsetPolicy::Ask, "ask"),
        (HandsetPolicy::AutoApprove, "auto_approve"),
        (HandsetPolicy::AutoDeny, "auto_deny"),
    ];
    ALL.iter().find(|(_, n)| *n == s).map(|(p, _)| *p).ok_or_else(|| {
        invalid(crate::admin::manage::not_served_message("handset_policy", s, &ALL.map(|(_, n)| n)))
    })
}

/// A subscriber names an operator netauth knows (the admin API and the CLI).
pub async fn require_operator(store: &dyn netauth_store::Store, id: &str) -> Result<(), ApiReply> {
    match store.get_operator(id).await? {
        Some(_) => Ok(()),
        None => Err(invalid(format!("no operator `{id}`"))),
    }
}

/// Stores a new subscriber; a number already registered is a 409 saying so
/// (the admin API and the CLI).
pub async fn insert_subscriber(store: &dyn netauth_store::Store, s: &Subscriber) -> Result<(), ApiReply> {
    store.insert_subscriber(s).await.map_err(|e| match e {
        netauth_store::StoreError::Conflict => {
            CamaraError::new(409, "ALREADY_EXISTS", "a subscriber with this number already exists").into()
        }
        e => e.into(),
    })
}

pub fn check_operator(o: &Operator) -> Result<(), ApiReply> {
    let id_ok = !o.id.is_empty()
        && o.id.len() <= 64
        && o.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !id_ok {
        return Err(invalid("operator id must be 1 to 64 characters of A-Z a-z 0-9 - _ ."));
    }
    if o.name.trim().is_empty() || o.country.len() != 2 || !o.country.bytes().all(|b| b.is_ascii_uppercase())
    {
        return Err(invalid("operator needs a name and an ISO 3166-1 alpha-2 country (e.g. ES)"));
    }
    for r in &o.number_ranges {
        if !r.starts_with('+') || r.len() < 2 || !r[1..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(format!("number range `{r}` must be a + and digits")));
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/admin/v1/operators", tag = "network", responses((status = 200, body = Vec<Operator>)), security(("admin" = [])))]
pub async fn operators_get(_: Admin, State(app): State<AppState>) -> Result<Json<Vec<Operator>>, ApiReply> {
    Ok(Json(app.store.list_operators().await?))
}

#[utoipa::path(put, path = "/admin/v1/operators/{id}", tag = "network", request_body = Operator, responses((status = 200, body = Operator), (status = 400)), security(("admin" = [])))]
pub async fn operator_put(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
    ApiJson(mut o): ApiJson<Operator>,
) -> Result<Json<Operator>, ApiReply> {
    o.id = id;
    check_operator(&o)?;
    app.store.upsert_operator(&o).await?;
    Ok(Json(o))
}

#[utoipa::path(delete, path = "/admin/v1/operators/{id}", tag = "network", responses((status = 204), (status = 404), (status = 409)), security(("admin" = [])))]
pub async fn operator_delete(
    _: Admin,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiReply> {
    match app.store.delete_operator(&id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(CamaraError::not_found("no operator with this id").into()),
        Err(netauth_store::StoreError::Conflict) => {
            Err(CamaraError::new(409, "CONFLICT", "the operator still has subscribers").into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A subscriber as registered through the admin API.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberInput {
    /// E.164 with `+`.
    pub phone_number: String,
    pub operator_id: String,
    #[serde(default)]
    pub status: SubscriberStatus,
    #[serde(default)]
    pub sims: Vec<SimRecord>,
    #[serde(default)]
    pub addresses: Vec<AddressAssignment>,
    // `ask` when absent; text, parsed by `parse_handset_policy` so the CLI
    // and the API word an unknown policy alike.
    #[serde(default)]
    #[schema(value_type = HandsetPolicy)]
    pub handset_policy: Option<String>,
}

/// A SIM history: in order of activation, bounded.
fn check_sims(sims: &[SimRecord]) -> Result<(), ApiReply> {
    if sims.iter().zip(sims.iter().skip(1)).any(|(a, b)| a.activated_at > b.activated_at) {
        return Err(invalid("sims must be in order of activation"));
    }
    if sims.len() > 1000 {
        return Err(invalid("too many SIM records (at most 1000)"));
    }
    if sims.iter().any(|s| s.sim_id.is_empty() || s.sim_id.len() > 64) {
        return Err(invalid("a sim_id is 1 to 64 characters"));
    }
    Ok(())
}

/// Validates and normalises (canonical IP text) a subscriber.
pub fn build_subscriber(
    input: SubscriberInput,
    id: Option<String>,
    created_at: i64,
) -> Result<Subscriber, ApiReply> {
    let msisdn = Msisdn::parse(&input.phone_number).map_err(|e| invalid(e.description.to_string()))?;
    let handset_policy =
        input.handset_policy.as_deref().map(parse_handset_policy).transpose()?.unwrap_or_default();
    let mut addresses = Vec::with_capacity(input.addresses.len());
    for a in input.addresses {
        let ip: IpAddr = a.ip.parse().map_err(|_| invalid(format!("`{}` is not an IP address", a.ip)))?;
        if a.port_start > a.port_end {
            return Err(invalid("port_start must not exceed port_end"));
        }
        addresses.push(AddressAssignment { ip: crate::network::canonical_ip(ip).to_string(), ..a });
    }
    check_sims(&input.sims)?;
    if addresses.len() > 64 {
        return Err(invalid("too many addresses"));
    }
    Ok(Subscriber {
        id: id.unwrap_or_else(|| format!("sub_{}", random_token::<12>())),
        msisdn: msisdn.to_string(),
        operator_id: input.operator_id,
        status: input.status,
        sims: input.sims,
        addresses,
        handset_policy,
        created_at,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Return subscribers whose number sorts after this one.
    pub after: Option<String>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/v1/subscribers", tag = "network", params(Page), responses((status = 200, body = Vec<Subscriber>)), security(("admin" = [])))]
pub async fn subscribers_get(
    _: Admin,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<Page>,
) -> Result<Json<Vec<Subscriber>>, ApiReply> {
    Ok(Json(app.store.list_subscribers(q.after.as_deref(), q.limit.unwrap_or(100).clamp(1, 1000)).await?))
}

#[utoipa::path(post, path = "/admin/v1/subscribers", tag = "network", request_body = SubscriberInput, responses((status = 201, body = Subscriber), (status = 400), (status = 409)), security(("admin" = [])))]
pub async fn subscribers_post(
    _: Admin,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<SubscriberInput>,
) -> Result<(StatusCode, Json<Subscriber>), ApiReply> {
    require_operator(app.store.as_ref(), &input.operator_id).await?;
    let s = build_subscriber(input, None, app.now())?;
    insert_subscriber(app.store.as_ref(), &s).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[utoipa::path(get, path = "/admin/v1/subscribers/{phone_number}", tag = "network", responses((status = 200, body = Subscriber), (status = 404)), security(("admin" = [])))]
pub async fn subscriber_get(
    _: Admin,
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
) -> Result<Json<Subscriber>, ApiReply> {
    Ok(Json(crate::camara::subscriber_by_number(&app, &msisdn).await?))
}

#[utoipa::path(put, path = "/admin/v1/subscribers/{phone_number}", tag = "network", request_body = SubscriberInput, responses((status = 200, body = Subscriber), (status = 400), (status = 404)), security(("admin" = [])))]
pub async fn subscriber_put(
    _: Admin,
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    ApiJson(input): ApiJson<SubscriberInput>,
) -> Result<Json<Subscriber>, ApiReply> {
    let old = crate::camara::subscriber_by_number(&app, &msisdn).await?;
    require_operator(app.store.as_ref(), &input.operator_id).await?;
    let s = build_subscriber(input, Some(old.id), old.created_at)?;
    app.store.update_subscriber(&s).await?;
    Ok(Json(s))
}

#[utoipa::path(delete, path = "/admin/v1/subscribers/{phone_number}", tag = "network", responses((status = 204), (status = 404)), security(("admin" = [])))]
pub async fn subscriber_delete(
    _: Admin,
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
) -> Result<StatusCode, ApiReply> {
    let s = crate::camara::subscriber_by_number(&app, &msisdn).await?;
    app.store.delete_subscriber(&s.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the subscriber's SIM history (what SIM Swap answers from), as an
/// operator's HLR/HSS feed would: SIMs in order of activation, the last one
/// current.
#[utoipa::path(put, path = "/admin/v1/subscribers/{phone_number}/sims", tag = "network", request_body = Vec<SimRecord>, responses((status = 200, body = Subscriber), (status = 400), (status = 404)), security(("admin" = [])))]
pub async fn sims_put(
    _: Admin,
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    ApiJson(sims): ApiJson<Vec<SimRecord>>,
) -> Result<Json<Subscriber>, ApiReply> {
    check_sims(&sims)?;
    let mut s = crate::camara::subscriber_by_number(&app, &msisdn).await?;
    s.sims = sims;
    app.store.update_subscriber(&s).await?;
    Ok(Json(s))
}

#[utoipa::path(get, path = "/admin/v1/legal-bases", tag = "consent", responses((status = 200, body = Vec<LegalBasisRule>)), security(("admin" = [])))]
pub async fn legal_bases_get(
    _: Admin,
    State(app): State<AppState>,
) -> Result<Json<Vec<LegalBasisRule>>, ApiReply> {
    Ok(Json(app.store.list_legal_bases().await?))
}

#[utoipa::path(put, path = "/admin/v1/legal-bases", tag = "consent", request_body = LegalBasisRule, responses((status = 200, body = LegalBasisRule), (status = 400)), security(("admin" = [])))]
pub async fn legal_basis_put(
    _: Admin,
    State(app): State<AppState>,
    ApiJson(r): ApiJson<LegalBasisRule>,
) -> Result<Json<LegalBasisRule>, ApiReply> {
    Scope::parse(&r.scope).map_err(|_| invalid("scope is not a valid scope value"))?;
    Purpose::parse(&r.purpose).map_err(|e| invalid(e.description.to_string()))?;
    if r.scope.starts_with("dpv:") || netauth_proto::scope::is_protocol_scope(&r.scope) {
        return Err(invalid("a legal basis is for an API scope"));
    }
    app.store.upsert_legal_basis(&r).await?;
    app.legal_bases_changed().await?;
    Ok(Json(r))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PairQuery {
    /// The API scope, e.g. `sim-swap`.
    pub scope: String,
    /// The purpose, e.g. `dpv:FraudPreventionAndDetection`.
    pub purpose: String,
}

#[utoipa::path(delete, path = "/admin/v1/legal-bases", tag = "consent", params(PairQuery), responses((status = 204), (status = 404)), security(("admin" = [])))]
pub async fn legal_basis_delete(
    _: Admin,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<PairQuery>,
) -> Result<StatusCode, ApiReply> {
    if app.store.delete_legal_basis(&q.scope, &q.purpose).await? {
        app.legal_bases_changed().await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(CamaraError::not_found("no legal basis for this pair").into())
    }
}

#[utoipa::path(get, path = "/admin/v1/subscribers/{phone_number}/consents", tag = "consent", responses((status = 200, body = Vec<Consent>), (status = 404)), security(("admin" = [])))]
pub async fn consents_get(
    _: Admin,
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
) -> Result<Json<Vec<Consent>>, ApiReply> {
    let s = crate::camara::subscriber_by_number(&app, &msisdn).await?;
    Ok(Json(app.store.list_consents(&s.id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentQuery {
    /// The client the consent was given to.
    pub client_id: String,
    /// The API scope consented to.
    pub scope: String,
    /// The purpose consented to.
    pub purpose: String,
}

/// Revokes a consent on the subscriber's behalf: its tokens stop working.
#[utoipa::path(delete, path = "/admin/v1/subscribers/{phone_number}/consents", tag = "consent", params(ConsentQuery), responses((status = 204), (status = 404)), security(("admin" = [])))]
pub async fn consent_delete(
    _: Admin,
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    ApiQuery(q): ApiQuery<ConsentQuery>,
) -> Result<StatusCode, ApiReply> {
    let s = crate::camara::subscriber_by_number(&app, &msisdn).await?;
    if crate::oauth::consent::revoke(&app, &s.id, &q.client_id, &q.scope, &q.purpose).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(CamaraError::not_found("no such consent").into())
    }
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route(routes::admin::OPERATORS, get(operators_get))
        .route(routes::admin::OPERATOR, axum::routing::put(operator_put).delete(operator_delete))
        .route(routes::admin::SUBSCRIBERS, get(subscribers_get).post(subscribers_post))
        .route(routes::admin::SUBSCRIBER, get(subscriber_get).put(subscriber_put).delete(subscriber_delete))
        .route(routes::admin::SUBSCRIBER_CONSENTS, get(consents_get).delete(consent_delete))
        .route(
            routes::admin::LEGAL_BASES,
            get(legal_bases_get).put(legal_basis_put).delete(legal_basis_delete),
        )
        .route(routes::admin::SUBSCRIBER_SIMS, axum::routing::put(sims_put))
}
