//! Network Enablement (seed 002: `POST /v0.1/network-enablement`), the
//! aggregator's front door to the authorization code flow. The backend,
//! authenticated by its application JWT, names the subscriber's number, the
//! scopes and its `state`; each scope gets the `auth_url` its front end
//! follows, or an error object saying why not. See `netauth_domain::enablement`
//! for the flow and the binding of the number to (client, state).
//!
//! ```text
//! POST /v0.1/network-enablement ─► client_auth (AuthAt::NetworkEnablement: app JWT only;
//!                                  its jti single use here, apart from /token's)
//!   ─► body {phone_number, scopes | scope, state}          400 INVALID_ARGUMENT
//!   ─► operator_for(number ranges)                         else every scope: UNSUPPORTED_NETWORK
//!   ─► per scope: read_enablement_scope + authorize_request (authorization code policy)
//!   ─► Store: Enablement (client, state) → number           read back by /authorize
//!                                  (bind_to_enablement; is_number once someone authenticated)
//!   ─► 200 {"scopes": {<scope as sent>: {auth_url, requires_carrier_network} | {error}}}
//! ```
//! Errors of the call itself are in the CAMARA dialect of netauth's other
//! JSON APIs (`{status, code, message}`); the per-scope error objects are
//! the aggregator's (`title`, `detail`, `instance`, `error_type`).

use crate::errors::ApiReply;
use crate::infra::state::{App, AppState};
use crate::oauth::client_auth::{AuthAt, authenticate_request};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, OriginalUri, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use netauth_domain::client::Client;
use netauth_domain::enablement::{
    Binding, DEFAULT_ENABLEMENT_TTL, ENABLEMENT_MEMORY, Enablement, EnablementScope, ScopeRefusal,
    enablement_key, operator_for, read_enablement_scope,
};
use netauth_domain::flows::{PolicyGrant, authorize_request};
use netauth_proto::authorize::MAX_STATE_LEN;
use netauth_proto::{CamaraError, Form, GrantType, Msisdn};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::net::SocketAddr;

/// Scopes per request at most (each may become an `auth_url`).
const MAX_SCOPES: usize = 16;

/// The request body. The seed's table spells the list `scope`, its API
/// reference `scopes`: either is accepted, not both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnablementRequest {
    phone_number: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    scope: Option<Vec<String>>,
    state: String,
}

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiReply {
    CamaraError::invalid_argument(message).into()
}

/// Client authentication failures in this API's dialect.
fn auth_error(r: crate::errors::OAuthReply) -> ApiReply {
    let e = r.error;
    let c = match e.status {
        401 => CamaraError::new(401, "UNAUTHENTICATED", e.description),
        429 => {
            let c = CamaraError::too_many_requests();
            match e.retry_after {
                Some(s) => c.with_retry_after(s),
                None => c,
            }
        }
        400 => CamaraError::invalid_argument(e.description),
        _ => CamaraError::unavailable(),
    };
    c.into()
}

pub async fn network_enablement_post(
    State(app): State<AppState>,
    req: Request,
) -> Result<Response, ApiReply> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let path = req.extensions().get::<OriginalUri>().map_or(req.uri().path(), |u| u.0.path()).to_owned();
    let headers = req.headers().clone();
    let addr = crate::infra::client_ip::client_ip(peer, &headers, &app.config.server.trusted_proxies);
    let endpoint_url = format!("{}{path}", app.issuer);
    let auth = authenticate_request(
        &app,
        &headers,
        &Form::default(),
        addr,
        &endpoint_url,
        AuthAt::NetworkEnablement,
        crate::oauth::client_auth::MethodRule::Registered,
    )
    .await
    .map_err(auth_error)?;
    let body =
        Bytes::from_request(req, &app).await.map_err(|_| invalid("the request body could not be read"))?;
    let r = read_body(&headers, &body)?;
    let answer = enable(&app, &auth.client, &r, &headers).await?;
    Ok(Json(answer).into_response())
}

/// The parsed body: the number, the scope entries as sent, the state.
struct Parsed {
    msisdn: Msisdn,
    entries: Vec<String>,
    state: String,
}

fn read_body(headers: &HeaderMap, body: &[u8]) -> Result<Parsed, ApiReply> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json") {
        return Err(invalid("the request body must be application/json"));
    }
    let r: EnablementRequest =
        serde_json::from_slice(body).map_err(|e| invalid(format!("the request body: {e}")))?;
    let msisdn = Msisdn::parse(&r.phone_number)
        .map_err(|_| invalid("phone_number must be an E.164 number with a leading +, e.g. +34666666666"))?;
    let entries = match (r.scopes, r.scope) {
        (Some(s), None) | (None, Some(s)) => s,
        (Some(_), Some(_)) => return Err(invalid("send `scopes` or `scope`, not both")),
        (None, None) => return Err(invalid("`scopes` is required")),
    };
    if entries.is_empty() || entries.len() > MAX_SCOPES {
        return Err(invalid(format!("`scopes` must hold 1 to {MAX_SCOPES} scopes")));
    }
    if entries.iter().any(|e| e.is_empty() || e.len() > 512) {
        return Err(invalid("each scope must be 1 to 512 characters"));
    }
    if r.state.is_empty() || r.state.len() > MAX_STATE_LEN {
        return Err(invalid(format!("`state` must be 1 to {MAX_STATE_LEN} characters")));
    }
    Ok(Parsed { msisdn, entries, state: r.state })
}

/// Decides each scope, records the binding, and builds the answer.
async fn enable(app: &App, client: &Client, r: &Parsed, headers: &HeaderMap) -> Result<Value, ApiReply> {
    let instance = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let operators = app.store.list_operators().await?;
    let operator = operator_for(&operators, r.msisdn.as_str());
    let redirect_uri = client.redirect_uris.first();
    let rules = app.legal_bases().await?;
    let decide = |entry: &str| -> Result<(EnablementScope, &String), ScopeRefusal> {
        if operator.is_none() {
            return Err(ScopeRefusal::unsupported_network());
        }
        let redirect_uri = redirect_uri.filter(|_| client.allows_grant(GrantType::AuthorizationCode)).ok_or_else(|| {
            ScopeRefusal::forbidden(
                "the application is not registered for the authorization code flow (grant and redirect URI)",
            )
        })?;
        let s = read_enablement_scope(entry).map_err(|e| ScopeRefusal::forbidden(e.description))?;
        authorize_request(client, Some(&s.scopes), Some(&s.purpose), &rules, PolicyGrant::AuthorizationCode)
            .map_err(|e| ScopeRefusal::forbidden(e.to_string()))?;
        Ok((s, redirect_uri))
    };
    let mut answers = Map::new();
    let mut enabled: Vec<String> = Vec::new();
    for entry in &r.entries {
        let a = match decide(entry) {
            Ok((s, redirect_uri)) => {
                let scope = s.to_scope_param();
                enabled.extend(scope.split(' ').map(str::to_owned));
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("client_id", &client.client_id)
                    .append_pair("scope", &scope)
                    .append_pair("state", &r.state)
                    .append_pair("redirect_uri", redirect_uri)
                    .append_pair("response_type", "code")
                    .finish();
                // Number Verification opens only to network-authenticated
                // tokens: off the mobile network, the flow ends with a token
                // it refuses.
                let carrier =
                    s.scopes.iter().any(|x| netauth_domain::camara::is_number_verification_scope(x.as_str()));
                json!({
                    "auth_url": format!("{}{}?{query}", app.issuer, crate::routes::SEED_002_AUTHORIZE),
                    "requires_carrier_network": carrier,
                })
            }
            Err(e) => {
                json!({ "error": {
                    "title": e.title,
                    "detail": e.detail,
                    "instance": instance,
                    "error_type": e.error_type,
                }})
            }
        };
        answers.insert(entry.clone(), a);
    }
    if let (Some(op), false) = (operator, enabled.is_empty()) {
        enabled.sort();
        enabled.dedup();
        let t = app.now();
        app.store
            .put_enablement(&Enablement {
                key_hash: enablement_key(&client.client_id, &r.state),
                client_id: client.client_id.clone(),
                msisdn: r.msisdn.to_string(),
                operator_id: op.id.clone(),
                scopes: enabled,
                created_at: t,
                expires_at: t + DEFAULT_ENABLEMENT_TTL,
                forget_at: t + DEFAULT_ENABLEMENT_TTL + ENABLEMENT_MEMORY,
            })
            .await?;
    }
    Ok(json!({ "scopes": answers }))
}

/// Seed 002: a request Network Enablement started (an application JWT
/// client's, with the `state` it enabled) is for one number. The flow must
/// end with that subscriber (`is_number`, checked once someone has
/// authenticated) and the fallback page offers it. Only application JWT
/// clients can have enablements, so no other request costs a Store read.
/// `Binding::Expired` when its `auth_url` came too late (the caller refuses).
pub async fn bind_to_enablement(
    app: &App,
    client: &Client,
    req: &mut netauth_domain::authorize::PendingAuthorization,
) -> Result<Binding, netauth_store::StoreError> {
    if client.token_endpoint_auth_method != netauth_domain::client::AuthMethod::AppJwt {
        return Ok(Binding::Unbound);
    }
    let Some(state) = &req.state else { return Ok(Binding::Unbound) };
    let t = app.now();
    let found = app.store.get_enablement(&enablement_key(&client.client_id, state), t).await?;
    let b = netauth_domain::enablement::binding(found.as_ref(), t);
    if let Binding::Number(m) = &b {
        req.login_hint = Some(m.clone());
        req.enabled_for = Some(m.clone());
    }
    Ok(b)
}

/// Whether `subscriber_id` holds `msisdn` now.
pub async fn is_number(
    app: &App,
    subscriber_id: &str,
    msisdn: &str,
) -> Result<bool, netauth_store::StoreError> {
    Ok(app.network.subscriber(subscriber_id).await?.is_some_and(|s| s.msisdn == msisdn))
}
