//! The sandbox's home page (`/`) and request inspector (`/sandbox/requests`):
//! what a developer needs to find their way, on one page, read from the
//! running server (the Store's clients and subscribers, the route table),
//! and what happened to each of their requests and why.
//!
//! ```text
//! GET /                    home_get       endpoints, demo clients, subscribers, each seed's flow
//! GET /sandbox/requests    requests_get   the last answered requests (infra::request_log), ?client_id=
//! GET /sandbox/v1/requests requests_json  the same as JSON, for scripts
//! ```
//!
//! Secrets are shown only on a click (`<details>`, no script: the page CSP
//! allows none) and only for the demo clients, whose secrets are derived
//! from the sandbox's master key and are in `sandbox.json` anyway.

use super::PORTAL_SITE as SITE;
use crate::errors::{ApiQuery, ApiReply};
use crate::infra::request_log::{CAPACITY, Exchange};
use crate::infra::state::AppState;
use crate::pages::{Layout, PageError, PageResult, render};
use crate::routes;
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use netauth_domain::subscriber::{HandsetPolicy, Subscriber, SubscriberStatus};
use serde::Deserialize;

struct EndpointView {
    name: &'static str,
    url: String,
    aliases: Vec<String>,
    what: &'static str,
}

struct ClientView {
    client_id: String,
    name: String,
    method: String,
    grants: Vec<String>,
    scopes: String,
    secret: Option<String>,
    key_file: Option<String>,
    purpose: String,
    suspended: bool,
}

struct SubscriberView {
    msisdn: String,
    handset: String,
    operator: String,
    addresses: Vec<String>,
    policy: &'static str,
    does: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "sandbox/home.html")]
struct HomePage {
    layout: Layout,
    issuer: String,
    endpoints: Vec<EndpointView>,
    clients: Vec<ClientView>,
    subscribers: Vec<SubscriberView>,
    /// (name, URL) of each OpenAPI document.
    openapi: Vec<(&'static str, String)>,
    sandbox_json: Option<String>,
}

/// What a handset with this policy does when an app asks.
fn policy_does(p: HandsetPolicy) -> &'static str {
    match p {
        HandsetPolicy::AutoApprove => "approves at once",
        HandsetPolicy::Ask => "asks on its handset page; the request waits",
        HandsetPolicy::AutoDeny => "denies at once (access_denied)",
    }
}

fn policy_label(p: HandsetPolicy) -> &'static str {
    match p {
        HandsetPolicy::AutoApprove => "auto_approve",
        HandsetPolicy::Ask => "ask",
        HandsetPolicy::AutoDeny => "auto_deny",
    }
}

/// A sentence on what trying this subscriber shows.
fn subscriber_does(s: &Subscriber, shared: &[String]) -> String {
    let mut parts = vec![policy_does(s.handset_policy).to_owned()];
    for a in &s.addresses {
        let whole = a.port_start == 0 && a.port_end == u16::MAX;
        if a.ip.starts_with("127.10.0.") {
            parts.push(format!("loopback phone: a test bound to {} is this line", a.ip));
        } else if a.ip.contains(':') {
            parts.push(format!("IPv6: ipport:[{}]", a.ip));
        } else if shared.contains(&a.ip) && !whole {
            parts.push(format!(
                "behind CGNAT: ipport:{}:{} (a port of {}–{}); without a port the address names nobody",
                a.ip, a.port_start, a.port_start, a.port_end
            ));
        } else {
            parts.push(format!("ipport:{}", a.ip));
        }
    }
    if s.sims.len() > 1 {
        parts.push("its SIM was swapped recently".into());
    }
    if s.status != SubscriberStatus::Active {
        parts.push("line suspended: every hint naming it is unknown_user_id".into());
    }
    parts.join("; ")
}

/// The sandbox's own description (sandbox.json) of a demo client, if any.
fn described<'a>(app: &'a AppState, client_id: &str) -> Option<&'a serde_json::Value> {
    app.sandbox_description
        .get()?
        .get("clients")?
        .as_array()?
        .iter()
        .find(|c| c.get("client_id").and_then(|v| v.as_str()) == Some(client_id))
}

pub(super) async fn home_get(State(app): State<AppState>) -> PageResult {
    let url = |e: routes::Endpoint| format!("{}{}", app.issuer, e.path);
    let ep = |name, e: routes::Endpoint, what| EndpointView {
        name,
        url: url(e),
        aliases: e.aliases.iter().map(|a| format!("{}{a}", app.issuer)).collect(),
        what,
    };
    let endpoints = vec![
        ep(
            "Discovery",
            routes::OPENID_CONFIGURATION,
            "OpenID Provider metadata: every endpoint and method below",
        ),
        ep("Token", routes::TOKEN, "client credentials, CIBA polling, refresh"),
        ep("Token (seed 004)", routes::G2P_TOKEN, "G2P Connect: client_secret_post, `timestamp` header"),
        ep("Backchannel authentication", routes::BC_AUTHORIZE, "CIBA: login_hint + purpose → auth_req_id"),
        ep("Introspection", routes::INTROSPECT, "RFC 7662: is this token live, and what does it carry"),
        ep("Revocation", routes::REVOKE, "RFC 7009: end an access or refresh token"),
        ep("JWKS", routes::JWKS, "the keys ID tokens are signed with"),
        ep("Echo", routes::SANDBOX_ECHO, "a protected resource that shows what it sees in your token"),
        ep("Metrics", routes::METRICS, "Prometheus metrics"),
    ];
    let mut clients = Vec::new();
    for c in app.store.list_clients(None, 200).await? {
        let d = described(&app, &c.client_id);
        let s = |k: &str| d.and_then(|d| d.get(k)).and_then(|v| v.as_str()).map(str::to_owned);
        clients.push(ClientView {
            secret: s("client_secret"),
            key_file: s("private_key_file"),
            purpose: s("purpose").unwrap_or_default(),
            method: c.token_endpoint_auth_method.as_str().to_owned(),
            grants: c.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
            scopes: c.scopes.join(" "),
            suspended: !c.is_active(),
            client_id: c.client_id,
            name: c.name,
        });
    }
    let subs = app.store.list_subscribers(None, 200).await?;
    let mut seen = std::collections::HashMap::<&str, usize>::new();
    for a in subs.iter().flat_map(|s| s.addresses.iter()) {
        *seen.entry(a.ip.as_str()).or_default() += 1;
    }
    let shared: Vec<String> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(ip, _)| ip.to_owned()).collect();
    let mut operators = std::collections::HashMap::new();
    for o in app.store.list_operators().await? {
        operators.insert(o.id.clone(), o.name);
    }
    let subscribers = subs
        .iter()
        .map(|s| SubscriberView {
            handset: routes::sandbox::for_msisdn(routes::sandbox::HANDSET_PAGE, &s.msisdn),
            operator: operators.get(&s.operator_id).cloned().unwrap_or_else(|| s.operator_id.clone()),
            addresses: s
                .addresses
                .iter()
                .map(|a| {
                    if a.port_start == 0 && a.port_end == u16::MAX {
                        a.ip.clone()
                    } else {
                        format!("{} ports {}–{}", a.ip, a.port_start, a.port_end)
                    }
                })
                .collect(),
            policy: policy_label(s.handset_policy),
            does: subscriber_does(s, &shared),
            active: s.status == SubscriberStatus::Active,
            msisdn: s.msisdn.clone(),
        })
        .collect();
    let sandbox_json = app
        .sandbox_description
        .get()
        .and_then(|d| d.get("data_dir"))
        .and_then(|v| v.as_str())
        .map(|d| format!("{d}/sandbox.json"));
    let page = HomePage {
        layout: Layout::new(&SITE, "Sandbox"),
        issuer: app.issuer.clone(),
        endpoints,
        clients,
        subscribers,
        openapi: routes::OPENAPI_DOCUMENTS
            .iter()
            .map(|e| {
                let name = match e.path {
                    p if p == routes::ADMIN_OPENAPI.path => "admin",
                    p if p == routes::OAUTH_OPENAPI.path => "OAuth",
                    p if p == routes::SANDBOX_OPENAPI.path => "sandbox",
                    p if p == routes::NUMBER_VERIFICATION_OPENAPI.path => "Number Verification",
                    p if p == routes::SIM_SWAP_OPENAPI.path => "SIM Swap",
                    _ => "API",
                };
                (name, url(*e))
            })
            .collect(),
        sandbox_json,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Only this client's requests.
    pub client_id: Option<String>,
    /// At most this many, newest first (default and maximum: all kept).
    pub limit: Option<usize>,
}

struct ExchangeView {
    time: String,
    method: String,
    path: String,
    status: u16,
    ok: bool,
    outcome: String,
    reason: String,
    client_id: String,
    /// `client_id=…`, encoded, for the filter link.
    client_query: String,
    grant_type: String,
    subscriber: String,
    hint_kind: String,
    millis: String,
}

#[derive(Template)]
#[template(path = "sandbox/requests.html")]
struct RequestsPage {
    layout: Layout,
    rows: Vec<ExchangeView>,
    clients: Vec<String>,
    selected: String,
    capacity: usize,
}

/// `HH:MM:SS` UTC of a Unix time.
fn clock_time(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn view(e: Exchange) -> ExchangeView {
    ExchangeView {
        time: clock_time(e.at),
        ok: e.status < 400,
        millis: format!("{:.1}", e.micros as f64 / 1000.0),
        method: e.method,
        path: e.path,
        status: e.status,
        outcome: e.outcome,
        reason: e.reason.unwrap_or_default(),
        client_query: form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", e.client_id.as_deref().unwrap_or_default())
            .finish(),
        client_id: e.client_id.unwrap_or_default(),
        grant_type: e.grant_type.unwrap_or_default(),
        subscriber: e.subscriber.unwrap_or_default(),
        hint_kind: e.hint_kind.unwrap_or_default(),
    }
}

pub(super) async fn requests_get(State(app): State<AppState>, Query(q): Query<RequestsQuery>) -> PageResult {
    let selected = q.client_id.filter(|c| !c.is_empty());
    if selected.as_ref().is_some_and(|c| c.len() > 255) {
        return Err(
            PageError::bad_request("A client id is at most 255 characters.").back("/sandbox/requests")
        );
    }
    let rows =
        app.requests.recent(selected.as_deref(), q.limit.unwrap_or(CAPACITY)).into_iter().map(view).collect();
    let page = RequestsPage {
        layout: Layout::new(&SITE, "Request inspector"),
        rows,
        clients: app.requests.clients(),
        selected: selected.unwrap_or_default(),
        capacity: CAPACITY,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The inspector's JSON twin: the last answered requests, newest first.
#[utoipa::path(get, path = "/sandbox/v1/requests", tag = "inspector", params(RequestsQuery),
    responses((status = 200, body = Vec<Exchange>)))]
pub async fn requests_json(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<RequestsQuery>,
) -> Result<Json<Vec<Exchange>>, ApiReply> {
    Ok(Json(
        app.requests.recent(q.client_id.as_deref().filter(|c| !c.is_empty()), q.limit.unwrap_or(CAPACITY)),
    ))
}
