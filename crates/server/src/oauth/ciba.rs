//! Client-Initiated Backchannel Authentication (OpenID CIBA Core 1.0) with
//! the CAMARA profile (§1.5) and seed 000's dialect.
//!
//! ```text
//! POST /bc-authorize ─► authenticate client ─► request object? (verify_request_object)
//!   ─► login_hint (only hint) ─► purpose + scopes (normalise) ─► App::resolve_hint (Network / EntitlementServer)
//!   ─► consent::evaluate ─► Granted: approve at once
//!                        └► Missing/Refuse: 403 access_denied
//!                        └► Missing/Handset: prompt (policy: ask | auto-approve | auto-deny)
//!   ─► 200 {auth_req_id, expires_in, interval}
//! handset answers ─► decide() ─► consent::grant ─► ping/push notification
//! POST /token grant_type=urn:openid:params:grant-type:ciba ─► poll()
//!   authorization_pending | slow_down | access_denied | expired_token | tokens (once)
//! ```

use crate::errors::{OAuthReply, no_store};
use crate::infra::metrics::Metrics;
use crate::infra::state::{App, AppState};
use crate::oauth::ClientRequest;
use crate::oauth::consent;
use crate::oauth::issue::{UserGrant, issue_user_tokens};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use netauth_domain::ciba::{CibaRequest, CibaStatus, DeliveryMode, Prompt, PromptStatus};
use netauth_domain::client::Client;
use netauth_domain::client_auth::{parse_jwks, verify_request_object};
use netauth_domain::consent::ConsentCapture;
use netauth_domain::crypto::{b64url, random_token, sha256};
use netauth_domain::flows::{ConsentOutcome, PolicyGrant, authorize_request};
use netauth_domain::subscriber::HandsetPolicy;
use netauth_proto::TokenResponse;
use netauth_proto::{Form, GrantType, LoginHint, OAuthError, OAuthErrorCode, Purpose, Scope, purpose};
use serde_json::{Value, json};

pub fn hash_id(id: &str) -> String {
    b64url(&sha256(id.as_bytes()))
}

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
fn refuse_parameters_beside_request_object(form: &Form) -> Result<(), OAuthReply> {
    match form.iter().map(|(k, _)| k).find(|k| !BESIDE_REQUEST_OBJECT.contains(k)) {
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
    let jwks = match (&client.jwks, &client.jwks_uri) {
        (Some(j), _) => std::sync::Arc::new(parse_jwks(j)),
        (None, Some(uri)) => app.jwks.get(&app.http, uri).await.map_err(|e| bad(e.to_string()))?,
        (None, None) => {
            return Err(bad("the client has no registered keys to verify the request object".into()));
        }
    };
    let audiences = [app.issuer.as_str(), endpoint_url];
    let v = verify_request_object(
        jwt,
        client,
        &jwks,
        &audiences,
        app.now(),
        app.config.client_auth.clock_skew_secs,
    )
    .map_err(|e| bad(format!("request object: {e}")))?;
    // A request object is single-use, like a client assertion.
    if !app.store.record_jti(&client.client_id, &format!("request:{}", v.jti), v.exp).await? {
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
            refuse_parameters_beside_request_object(&form)?;
            request_object(&app, &client, jwt, &endpoint_url).await?
        }
        None => params_from_form(&form),
    };
    if p.other_hints {
        return Err(OAuthError::invalid_request("login_hint is the only hint accepted").into());
    }
    let hint = LoginHint::parse(
        p.login_hint.as_deref().ok_or_else(|| OAuthError::invalid_request("login_hint is required"))?,
    )?;
    let ps = purpose::normalise(p.scope.as_deref(), p.purpose.as_deref())?;
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
    let mode = client.backchannel_token_delivery_mode.unwrap_or(DeliveryMode::Poll);
    if mode != DeliveryMode::Poll && p.client_notification_token.is_none() {
        return Err(OAuthError::invalid_request(
            "client_notification_token is required in ping and push modes",
        )
        .into());
    }
    if p.client_notification_token.as_ref().is_some_and(|t| t.len() > 1024) {
        return Err(OAuthError::invalid_request("client_notification_token is too long").into());
    }
    let t = app.now();
    let Some(subscriber) = app.resolve_hint(&hint).await? else {
        return Err(err(
            OAuthErrorCode::UnknownUserId,
            "the login_hint does not identify a subscriber of this operator",
        ));
    };
    note.subscriber(&subscriber.msisdn, hint.kind());
    let outcome = consent::evaluate(&app, &client.client_id, &subscriber.id, &decision).await?;
    let (status, consent_scopes) = match outcome {
        ConsentOutcome::Granted => (CibaStatus::Approved, Vec::new()),
        ConsentOutcome::Missing { capture: ConsentCapture::Refuse, scopes: missing } => {
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
        ConsentOutcome::Missing { scopes: missing, .. } => match subscriber.handset_policy {
            HandsetPolicy::Ask => (CibaStatus::Pending, missing.iter().map(Scope::to_string).collect()),
            HandsetPolicy::AutoApprove => {
                consent::grant(&app, &subscriber.id, &client.client_id, &purpose, &missing).await?;
                (CibaStatus::Approved, Vec::new())
            }
            HandsetPolicy::AutoDeny => (CibaStatus::Denied, Vec::new()),
        },
    };
    let auth_req_id = random_token::<32>();
    let ttl = app.config.ciba.auth_req_ttl_secs;
    let amr = match (&hint, status) {
        (LoginHint::OperatorToken(_), _) => vec!["nba".to_owned()],
        (_, CibaStatus::Pending) => vec!["hwk".to_owned()],
        _ => Vec::new(),
    };
    let request = CibaRequest {
        id_hash: hash_id(&auth_req_id),
        client_id: client.client_id.clone(),
        subscriber_id: subscriber.id.clone(),
        scope: decision.scopes.to_string(),
        purpose: Some(purpose.to_string()),
        hint_kind: hint.kind().into(),
        amr,
        status,
        delivery: mode,
        client_notification_token: p.client_notification_token,
        created_at: t,
        expires_at: t + ttl,
        interval: app.config.ciba.interval_secs,
        last_polled_at: None,
        consent_scopes: consent_scopes.clone(),
        notify_auth_req_id: (mode != DeliveryMode::Poll).then(|| auth_req_id.clone()),
    };
    let prompt = (status == CibaStatus::Pending).then(|| Prompt {
        id: random_token::<16>(),
        subscriber_id: subscriber.id.clone(),
        kind: "ciba_consent".into(),
        reference: request.id_hash.clone(),
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        purpose: request.purpose.clone(),
        scopes: consent_scopes,
        status: PromptStatus::Pending,
        created_at: t,
        expires_at: t + ttl,
        code: None,
    });
    if !app.store.insert_ciba_request(&request, prompt.as_ref(), app.config.ciba.prompt_bounds(), t).await? {
        return Err(OAuthError::access_denied(
            "too many requests are waiting for this subscriber's answer (from this client, or in all); try again later",
        )
        .into());
    }
    count_state(&app, status);
    if let Some(p) = &prompt {
        app.network.notify_handset(&subscriber, p).await;
    }
    if status != CibaStatus::Pending && mode != DeliveryMode::Poll {
        spawn_notification_for(app.clone(), request.clone());
    }
    let mut r = Json(json!({ "auth_req_id": auth_req_id, "expires_in": ttl, "interval": request.interval }))
        .into_response();
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
    let Some(req) = app.store.decide_ciba_request(&prompt.reference, status).await? else {
        return Ok(true);
    };
    count_state(app, status);
    if approve && let Some(purpose) = req.purpose.as_deref().and_then(|p| Purpose::parse(p).ok()) {
        let scopes: Vec<Scope> = req.consent_scopes.iter().filter_map(|s| Scope::parse(s).ok()).collect();
        consent::grant(app, &req.subscriber_id, &req.client_id, &purpose, &scopes).await?;
    }
    if req.delivery != DeliveryMode::Poll {
        spawn_notification_for(app.clone(), req);
    }
    Ok(true)
}

/// The CIBA grant at the token endpoint (CIBA Core §10, §11).
pub async fn poll(app: &App, client: &Client, auth_req_id: &str) -> Result<TokenResponse, OAuthReply> {
    let invalid = || OAuthError::invalid_grant("unknown, spent or foreign auth_req_id");
    if auth_req_id.len() > 256 {
        return Err(invalid().into());
    }
    let id_hash = hash_id(auth_req_id);
    let req = app.store.get_ciba_request(&id_hash).await?.ok_or_else(invalid)?;
    if req.client_id != client.client_id {
        return Err(invalid().into());
    }
    if req.delivery == DeliveryMode::Push {
        return Err(OAuthError::unauthorized_client(
            "push-mode clients receive tokens at their notification endpoint",
        )
        .into());
    }
    let t = app.now();
    if t >= req.expires_at {
        app.metrics.labelled.ciba.inc(&[("state", "expired")]);
        return Err(err(OAuthErrorCode::ExpiredToken, "the auth_req_id has expired"));
    }
    match req.status {
        CibaStatus::Pending => {
            // Polling faster than the interval: slow_down, and the interval
            // grows by 5 s (CIBA Core §11).
            let t_ms = app.now_ms();
            let too_soon = req.last_polled_at.is_some_and(|last| t_ms - last < req.interval * 1000);
            let interval = if too_soon { req.interval + 5 } else { req.interval };
            app.store.record_ciba_poll(&id_hash, req.last_polled_at, t_ms, interval).await?;
            if too_soon {
                Err(err(OAuthErrorCode::SlowDown, format!("poll at most every {interval} s")))
            } else {
                Err(err(OAuthErrorCode::AuthorizationPending, "the subscriber has not answered yet"))
            }
        }
        // 400 at the token endpoint (RFC 6749 §5.2, CIBA Core §11; the
        // CAMARA appendix lists it there), unlike bc-authorize's 403.
        CibaStatus::Denied => {
            Err(OAuthError::access_denied("the subscriber denied the request").with_status(400).into())
        }
        CibaStatus::Consumed => Err(invalid().into()),
        CibaStatus::Approved => {
            let req = app.store.consume_ciba_request(&id_hash).await?.ok_or_else(invalid)?;
            Ok(tokens_for(app, client, &req, None).await?)
        }
    }
}

async fn tokens_for(
    app: &App,
    client: &Client,
    req: &CibaRequest,
    extra: Option<Value>,
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
            scopes: req.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            purpose: req.purpose.clone(),
            amr: req.amr.clone(),
            auth_time: app.now(),
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
                let extra = json!({ "urn:openid:params:jwt:claim:auth_req_id": id_value });
                match tokens_for(app, &client, &consumed, Some(extra)).await {
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
