//! Client-Initiated Backchannel Authentication (OpenID CIBA Core 1.0) with
//! the CAMARA profile (§1.5) and seed 000's dialect.
//!
//! A client's compatibility profile (`netauth_domain::compat`) widens what
//! the request may say where it is read: the hint's forms, vendor scope
//! names, parameters dropped, and a first poll that may wait briefly; a
//! client without one gets the CAMARA profile exactly.
//!
//! The decisions are `netauth_domain::flows` (`authorize_request`,
//! `decide_consent`, `start_ciba`, `poll_ciba`, `issue_user_tokens`); this
//! edge extracts, reads and writes the Store and the Network, and answers.
//!
//! ```text
//! POST /bc-authorize ─► authenticate client ─► request object? (client_keys: verify, spend jti)
//!   ─► login_hint (only hint; compat::read_login_hint) ─► purpose + scopes (compat::normalise_scopes) ─► flows::authorize_request (PolicyGrant::Ciba)
//!   ─► flows::ciba_delivery ─► App::resolve_hint (Network / EntitlementServer)
//!   ─► consent::evaluate (consents on record ─► flows::decide_consent)
//!   ─► flows::start_ciba ─► Refused: 403 access_denied
//!                        └► Created: consent given by an auto-approving handset recorded,
//!                           request (+ prompt) stored, handset and ping/push client notified
//!   ─► 200 {auth_req_id, expires_in, interval}
//! handset answers ─► answer_prompt ─► Store::decide_ciba_request (approved_at = now) ─► consent::grant
//!   ─► ping/push notification
//! POST /token grant_type=urn:openid:params:grant-type:ciba ─► poll ─► flows::poll_ciba
//!   (first poll, still pending, profile with first_poll_wait: re-read the Store with backoff until decided)
//!   Wait (record the poll): authorization_pending | slow_down; access_denied | expired_token |
//!   Issue { auth_time = approved_at }: consume once ─► issue_user_tokens
//! ```

use crate::errors::{OAuthReply, no_store};
use crate::infra::metrics::Metrics;
use crate::infra::state::{App, AppState};
use crate::oauth::ClientRequest;
use crate::oauth::client_keys::{JtiSpace, KeysError, spend_jti, verify_with_client_keys};
use crate::oauth::consent;
use crate::oauth::issue::{UserGrant, issue_user_tokens};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use netauth_domain::ciba::{CibaRequest, CibaStatus, DeliveryMode};
use netauth_domain::client::Client;
use netauth_domain::client_auth::verify_request_object;
use netauth_domain::compat;
use netauth_domain::crypto::hash_bearer;
use netauth_domain::flows::ciba::invalid_auth_req_id;
use netauth_domain::flows::{
    CibaSettings, CibaStart, CibaStartInput, NewCibaRequest, PolicyGrant, PollDecision, authorize_request,
    ciba_delivery, poll_ciba, start_ciba,
};
use netauth_proto::TokenResponse;
use netauth_proto::{AuthReqId, Form, GrantType, OAuthError, OAuthErrorCode, Scope};
use serde_json::{Value, json};

fn err(code: OAuthErrorCode, d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthReply {
    OAuthError::new(code, d).into()
}

/// The authentication request's parameters: from the form, or only from
/// the signed request object when there is one (CIBA Core §7.1.1).
struct AuthnParams {
    login_hint: Option<String>,
    other_hints: bool,
    scope: Option<String>,
    purpose: Option<String>,
    client_notification_token: Option<String>,
}

fn params_from_form(f: &Form) -> AuthnParams {
    AuthnParams {
        login_hint: f.get("login_hint").map(str::to_owned),
        other_hints: f.contains("login_hint_token") || f.contains("id_token_hint"),
        scope: f.get("scope").map(str::to_owned),
        purpose: f.get("purpose").map(str::to_owned),
        client_notification_token: f.get("client_notification_token").map(str::to_owned),
    }
}

fn params_from_claims(c: &Value) -> AuthnParams {
    let s = |k: &str| c.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty()).map(str::to_owned);
    AuthnParams {
        login_hint: s("login_hint"),
        other_hints: c.get("login_hint_token").is_some() || c.get("id_token_hint").is_some(),
        scope: s("scope"),
        purpose: s("purpose"),
        client_notification_token: s("client_notification_token"),
    }
}

/// Form parameters that may accompany a signed authentication request:
/// the object itself and client authentication.
const BESIDE_REQUEST_OBJECT: &[&str] =
    &["request", "client_id", "client_secret", "client_assertion", "client_assertion_type"];

/// CIBA Core §7.1.1: with a signed request, the authentication request's
/// parameters travel only inside it. One sent beside it would be either
/// ignored (the client believes something it did not get) or preferred (an
/// unsigned parameter overriding a signed one), so it is refused.
/// A parameter the client's profile ignores is no parameter at all.
fn refuse_parameters_beside_request_object(form: &Form, client: &Client) -> Result<(), OAuthReply> {
    let path = crate::routes::BC_AUTHORIZE.path;
    match form.iter().map(|(k, _)| k).find(|k| {
        !BESIDE_REQUEST_OBJECT.contains(k) && !compat::ignores_param(client.compat_profile, path, k)
    }) {
        Some(k) => Err(OAuthError::invalid_request(format!(
            "`{k}` must be inside the signed request object, not beside it (CIBA Core §7.1.1)"
        ))
        .into()),
        None => Ok(()),
    }
}

async fn request_object(
    app: &App,
    client: &Client,
    jwt: &str,
    endpoint_url: &str,
) -> Result<AuthnParams, OAuthReply> {
    let bad = |d: String| err(OAuthErrorCode::InvalidRequestObject, d);
    let audiences = [app.issuer.as_str(), endpoint_url];
    let (now, skew) = (app.now(), app.config.client_auth.clock_skew_secs);
    let v = verify_with_client_keys(app, client, |set| {
        verify_request_object(jwt, client, set, &audiences, now, skew)
    })
    .await
    .map_err(|e| match e {
        KeysError::NoKeys => bad("the client has no registered keys to verify the request object".into()),
        KeysError::Fetch(e) => bad(e.to_string()),
        KeysError::Invalid(e) => bad(format!("request object: {e}")),
    })?;
    // A request object is single-use, like a client assertion.
    if !spend_jti(app, &client.client_id, JtiSpace::RequestObject, &v.jti, v.exp).await? {
        return Err(bad("request object: its jti has already been used".into()));
    }
    Ok(params_from_claims(&v.claims))
}

pub async fn bc_authorize_post(
    State(app): State<AppState>,
    req: ClientRequest,
) -> Result<Response, OAuthReply> {
    let ClientRequest { form, client, endpoint_url, note, .. } = req;
    if !client.allows_grant(GrantType::Ciba) {
        return Err(OAuthError::unauthorized_client("the client is not registered for CIBA").into());
    }
    let p = match form.get("request") {
        Some(jwt) => {
            refuse_parameters_beside_request_object(&form, &client)?;
            request_object(&app, &client, jwt, &endpoint_url).await?
        }
        None => params_from_form(&form),
    };
    if p.other_hints {
        return Err(OAuthError::invalid_request("login_hint is the only hint accepted").into());
    }
    let profile = client.compat_profile;
    let hint = compat::read_login_hint(
        profile,
        p.login_hint.as_deref().ok_or_else(|| OAuthError::invalid_request("login_hint is required"))?,
    )?;
    let ps = compat::normalise_scopes(profile, p.scope.as_deref(), p.purpose.as_deref())?;
    let rules = app.legal_bases().await?;
    let decision = authorize_request(
        &client,
        ps.as_ref().map(|p| &p.scopes),
        ps.as_ref().map(|p| &p.purpose),
        &rules,
        PolicyGrant::Ciba,
    )
    .map_err(OAuthError::from)?;
    let Some(purpose) = decision.purpose.clone() else {
        return Err(OAuthError::from(netauth_domain::flows::PolicyError::PurposeRequired).into());
    };
    let delivery = ciba_delivery(&client, p.client_notification_token.as_deref())?;
    let Some(subscriber) = app.resolve_hint(&hint).await? else {
        return Err(err(
            OAuthErrorCode::UnknownUserId,
            "the login_hint does not identify a subscriber of this operator",
        ));
    };
    note.subscriber(&subscriber.msisdn, hint.kind());
    let consent = consent::evaluate(&app, &client.client_id, &subscriber.id, &decision).await?;
    let settings = CibaSettings {
        auth_req_ttl: app.config.ciba.auth_req_ttl_secs,
        interval: app.config.ciba.interval_secs,
    };
    let input = CibaStartInput {
        client: &client,
        subscriber: &subscriber,
        hint: &hint,
        policy: &decision,
        consent,
        delivery,
        notification_token: p.client_notification_token,
        settings,
    };
    let t = app.now();
    let new = match start_ciba(input, t) {
        CibaStart::Created(new) => new,
        CibaStart::Refused { missing, purpose } => {
            let missing: Vec<&str> = missing.iter().map(Scope::as_str).collect();
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &client.client_id)
                .append_pair("scope", &missing.join(" "))
                .append_pair("purpose", purpose.as_str())
                .finish();
            let url = format!("{}/sandbox/handset/{}/consents?{query}", app.issuer, subscriber.msisdn);
            let hint =
                if app.sandbox() { format!("; the subscriber can give it at {url}") } else { String::new() };
            return Err(OAuthError::access_denied(format!(
                "the subscriber has not consented to {} for {}{hint}",
                missing.join(", "),
                purpose
            ))
            .into());
        }
    };
    let NewCibaRequest { auth_req_id, request, prompt, consent_given, notify_client } = *new;
    if !consent_given.is_empty() {
        // The handset approves by itself: its consent is recorded as given.
        consent::grant(&app, &subscriber.id, &client.client_id, &purpose, &consent_given).await?;
    }
    if !app.store.insert_ciba_request(&request, prompt.as_ref(), app.config.ciba.prompt_bounds(), t).await? {
        return Err(OAuthError::access_denied(
            "too many requests are waiting for this subscriber's answer (from this client, or in all); try again later",
        )
        .into());
    }
    count_state(&app, request.status);
    if let Some(p) = &prompt {
        app.network.notify_handset(&subscriber, p).await;
    }
    let interval = request.interval;
    if notify_client {
        spawn_notification_for(app.clone(), request);
    }
    let body = json!({ "auth_req_id": auth_req_id.as_str(), "expires_in": settings.auth_req_ttl, "interval": interval });
    let mut r = Json(body).into_response();
    no_store(&mut r);
    Ok(r)
}

/// `netauth_ciba_requests_total{state}`: a request entered `status`.
fn count_state(app: &App, status: CibaStatus) {
    let state = match status {
        CibaStatus::Pending => "pending",
        CibaStatus::Approved => "approved",
        CibaStatus::Denied => "denied",
        CibaStatus::Consumed => return,
    };
    app.metrics.labelled.ciba.inc(&[("state", state)]);
}

/// The subscriber answered a prompt on the handset.
pub async fn answer_prompt(
    app: &AppState,
    subscriber_id: &str,
    prompt_id: &str,
    approve: bool,
) -> Result<bool, netauth_store::StoreError> {
    let t = app.now();
    let Some(prompt) = app.store.answer_prompt(prompt_id, subscriber_id, approve, t).await? else {
        return Ok(false);
    };
    if prompt.kind != "ciba_consent" {
        return Ok(true);
    }
    let status = if approve { CibaStatus::Approved } else { CibaStatus::Denied };
    // The approval's time is kept: it is the ID token's auth_time.
    let Some(req) = app.store.decide_ciba_request(&prompt.reference, status, t).await? else {
        return Ok(true);
    };
    count_state(app, status);
    if approve && let Some(purpose) = &req.purpose {
        consent::grant(app, &req.subscriber_id, &req.client_id, purpose, &req.consent_scopes).await?;
    }
    if req.delivery != DeliveryMode::Poll {
        spawn_notification_for(app.clone(), req);
    }
    Ok(true)
}

/// The CIBA grant at the token endpoint (CIBA Core §10, §11).
pub async fn poll(app: &App, client: &Client, auth_req_id: &str) -> Result<TokenResponse, OAuthReply> {
    let id = AuthReqId::parse(auth_req_id)?;
    let id_hash = hash_bearer(id.as_str());
    let req = app.store.get_ciba_request(&id_hash).await?;
    // One reading of the clock for the whole decision.
    let mut decision = poll_ciba(req.as_ref(), &client.client_id, app.now_ms());
    if let PollDecision::Wait { seen: None, slow_down: false, .. } = decision
        && let Some(wait) = compat::first_poll_wait(client.compat_profile)
    {
        decision = wait_for_answer(app, client, &id_hash, wait).await?;
    }
    match decision {
        PollDecision::Issue { auth_time } => {
            let req = app.store.consume_ciba_request(&id_hash).await?.ok_or_else(invalid_auth_req_id)?;
            Ok(tokens_for(app, client, &req, auth_time, None).await?)
        }
        d @ PollDecision::Wait { seen, at_ms, interval, .. } => {
            app.store.record_ciba_poll(&id_hash, seen, at_ms, interval).await?;
            Err(d.error().unwrap_or_else(invalid_auth_req_id).into())
        }
        d => {
            if d == PollDecision::Expired {
                app.metrics.labelled.ciba.inc(&[("state", "expired")]);
            }
            Err(d.error().unwrap_or_else(invalid_auth_req_id).into())
        }
    }
}

/// The first poll of a pending request, by a client whose profile lets it
/// wait (an SDK that polls once, at once): re-reads the Store with a
/// growing pause until the request is decided or `wait` is over, and
/// returns the decision then. Each read takes a pooled connection and
/// gives it back, so a waiting poll holds none; reading the Store, not
/// this node's memory, sees an answer given on any node. The wait stays
/// well inside the server's request timeout.
async fn wait_for_answer(
    app: &App,
    client: &Client,
    id_hash: &str,
    wait: std::time::Duration,
) -> Result<PollDecision, OAuthReply> {
    use std::time::Duration;
    let wait = wait.min(Duration::from_secs(app.config.server.request_timeout_secs) / 2);
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = Duration::from_millis(50);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_millis(500));
        let req = app.store.get_ciba_request(id_hash).await?;
        let d = poll_ciba(req.as_ref(), &client.client_id, app.now_ms());
        if !matches!(d, PollDecision::Wait { .. }) || tokio::time::Instant::now() >= deadline {
            return Ok(d);
        }
    }
}

/// The tokens of an approved (and now consumed) request; `auth_time` is
/// when the subscriber approved.
async fn tokens_for(
    app: &App,
    client: &Client,
    req: &CibaRequest,
    auth_time: netauth_domain::UnixTime,
    extra: Option<&serde_json::Map<String, Value>>,
) -> Result<TokenResponse, OAuthReply> {
    let subscriber = app
        .network
        .subscriber(&req.subscriber_id)
        .await?
        .filter(|s| s.is_active())
        .ok_or_else(|| OAuthError::invalid_grant("the subscriber is no longer active"))?;
    Ok(issue_user_tokens(
        app,
        UserGrant {
            client,
            subscriber: &subscriber,
            scopes: &req.scope,
            purpose: req.purpose.as_ref(),
            amr: &req.amr,
            auth_time,
            family_id: None,
            id_token_extra: extra,
        },
    )
    .await?)
}

fn spawn_notification_for(app: AppState, req: CibaRequest) {
    tokio::spawn(async move { notify(&app, req).await });
}

/// Ping (CIBA Core §10.2) or push (§10.3) to the client's notification
/// endpoint, with `client_notification_token` as bearer, retried with
/// exponential backoff up to `ciba.notification_attempts` times.
///
async fn notify(app: &App, req: CibaRequest) {
    let Ok(Some(client)) = app.client(&req.client_id).await else { return };
    let (Some(endpoint), Some(bearer)) =
        (client.backchannel_client_notification_endpoint.clone(), req.client_notification_token.clone())
    else {
        return;
    };
    let id_value = req.notify_auth_req_id.clone().unwrap_or_default();
    let body = match req.delivery {
        DeliveryMode::Poll => return,
        DeliveryMode::Ping => json!({ "auth_req_id": id_value }),
        DeliveryMode::Push => match req.status {
            CibaStatus::Denied => {
                json!({ "auth_req_id": id_value, "error": "access_denied", "error_description": "the subscriber denied the request" })
            }
            _ => {
                let Ok(Some(consumed)) = app.store.consume_ciba_request(&req.id_hash).await else { return };
                let mut extra = serde_json::Map::new();
                extra.insert("urn:openid:params:jwt:claim:auth_req_id".into(), id_value.clone().into());
                let auth_time = consumed.approved_at.unwrap_or_else(|| app.now());
                match tokens_for(app, &client, &consumed, auth_time, Some(&extra)).await {
                    Ok(t) => {
                        // Issued here, not at the token endpoint, so the
                        // request middleware never counts it.
                        Metrics::inc(&app.metrics.tokens_issued);
                        app.metrics.labelled.tokens_issued.inc(&[("grant_type", GrantType::Ciba.as_str())]);
                        let mut v = serde_json::to_value(&t).unwrap_or_default();
                        netauth_domain::json::set(&mut v, "auth_req_id", id_value.clone());
                        v
                    }
                    Err(e) => json!({ "auth_req_id": id_value, "error": e.error.code.as_str() }),
                }
            }
        },
    };
    let attempts = app.config.ciba.notification_attempts.max(1);
    let timeout = std::time::Duration::from_secs(app.config.ciba.notification_timeout_secs);
    let mut delay = std::time::Duration::from_millis(500);
    for attempt in 1..=attempts {
        let r = app.http.post(&endpoint).bearer_auth(&bearer).json(&body).timeout(timeout).send().await;
        match r {
            Ok(resp) if resp.status().is_success() => return,
            Ok(resp) => tracing::info!(attempt, status = resp.status().as_u16(), "CIBA notification refused"),
            Err(e) => tracing::info!(attempt, error = %e.without_url(), "CIBA notification failed"),
        }
        if attempt < attempts {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    tracing::warn!(client_id = %req.client_id, "CIBA notification abandoned after {attempts} attempts");
}
