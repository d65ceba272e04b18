//! The UserInfo endpoint (OIDC Core §5.3), seed 001's "Mobile User API"
//! and seed 003's `/openidconnect/v1/userinfo`: claims about the subscriber
//! an access token was issued for.
//!
//! ```text
//! token: Authorization: Bearer (RFC 6750 §2.1) or the form body's
//!        access_token (§2.2, POST only), never both ──────────► 400 / 401
//!   ─► open the sealed token: unknown, altered, expired ─────► 401 code 41
//!   ─► revocation set: consent withdrawn, token or grant
//!      revoked (401 code 41), client suspended (403 code 50)
//!   ─► the client's rate and quota, shared with the
//!      resource APIs (`infra::api_limits`) ──────────────────► 403 code 53
//!   ─► an OpenID Connect token: a subscriber and `openid` ───► 403 insufficient_scope
//!   ─► { sub, phone_number, phone_number_verified }
//! ```
//!
//! `sub` is the ID token's pairwise identifier (OIDC Core §5.3.2: they must
//! match); `phone_number` and `phone_number_verified` come with the `phone`
//! scope (§5.4). The number is verified: the network or the handset itself
//! authenticated the subscriber. Errors: see `errors::BearerReply`.

use crate::errors::{BearerReply, no_store};
use crate::infra::api_limits::Refusal;
use crate::infra::cors::CorsClient;
use crate::infra::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use netauth_domain::revocation::RevocationKind;
use netauth_domain::token::{AccessClaims, TokenError, open_access_token};
use netauth_proto::Form;
use serde_json::json;

pub async fn userinfo_get(
    State(app): State<AppState>,
    cors: Option<Extension<CorsClient>>,
    headers: HeaderMap,
) -> Response {
    let cors = cors.map(|Extension(c)| c);
    match header_token(&headers) {
        Ok(Some(token)) => answer(&app, cors.as_ref(), &token).await,
        Ok(None) => BearerReply::missing().into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn userinfo_post(
    State(app): State<AppState>,
    cors: Option<Extension<CorsClient>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let from_header = match header_token(&headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let Ok(body) = body else {
        return BearerReply::invalid_request("the request body could not be read").into_response();
    };
    let from_body = match body_token(&headers, &body) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => {
            BearerReply::invalid_request("the access token was sent in more than one way (RFC 6750 §2)")
                .into_response()
        }
        (Some(t), None) | (None, Some(t)) => answer(&app, cors.map(|Extension(c)| c).as_ref(), &t).await,
        (None, None) => BearerReply::missing().into_response(),
    }
}

/// The token of an `Authorization: Bearer` header, if there is one. Other
/// schemes carry no bearer token (and are not ours to judge here).
fn header_token(headers: &HeaderMap) -> Result<Option<String>, BearerReply> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (first, second) = (values.next(), values.next());
    let Some(v) = first else { return Ok(None) };
    if second.is_some() {
        return Err(BearerReply::invalid_request("more than one Authorization header"));
    }
    let Some((scheme, token)) = v.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(BearerReply::invalid_token("the bearer token is empty"));
    }
    Ok(Some(token.to_owned()))
}

/// `access_token` of a form body (RFC 6750 §2.2: only with
/// `application/x-www-form-urlencoded`; other bodies carry no token).
fn body_token(headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, BearerReply> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Ok(None);
    }
    let form = Form::parse(body).map_err(|e| BearerReply::invalid_request(e.description))?;
    Ok(form.get("access_token").map(str::to_owned))
}

async fn answer(app: &AppState, cors: Option<&CorsClient>, token: &str) -> Response {
    match claims_for(app, cors, token).await {
        Ok(body) => {
            let mut r = Json(body).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}

/// The live token's claims, or why not (see the module's diagram).
async fn check_token(
    app: &AppState,
    cors: Option<&CorsClient>,
    token: &str,
) -> Result<AccessClaims, BearerReply> {
    let claims = open_access_token(&app.key_ring(), token, app.now()).map_err(|e| match e {
        TokenError::Expired => BearerReply::invalid_token("the access token has expired"),
        TokenError::Malformed | TokenError::UnknownKey | TokenError::Tampered => {
            BearerReply::invalid_token("access token not found")
        }
    })?;
    // Authentic (sealed by netauth for this client): CORS may show the
    // client's own origins the answer, a refusal included.
    if let Some(slot) = cors {
        slot.set(&claims.client_id);
    }
    match app.revoked_by(&claims) {
        None => Ok(claims),
        // Seed 003: "The end-user removed the authorizations for your client application".
        Some(RevocationKind::Subject) => Err(BearerReply::invalid_token("no consent has been found")),
        // Suspension revokes every token the client holds; a client
        // re-activated since keeps its old tokens revoked, and a deleted
        // one is gone.
        Some(RevocationKind::Client) => match app.client(&claims.client_id).await? {
            Some(c) if !c.is_active() => Err(BearerReply::access_denied("the client has been suspended")),
            _ => Err(BearerReply::invalid_token("the access token has been revoked")),
        },
        Some(_) => Err(BearerReply::invalid_token("the access token has been revoked")),
    }
}

async fn claims_for(
    app: &AppState,
    cors: Option<&CorsClient>,
    token: &str,
) -> Result<serde_json::Value, BearerReply> {
    let claims = check_token(app, cors, token).await?;
    match app.api_limits.admit(&claims.client_id, app.now_ms()) {
        Ok(()) => {}
        Err(Refusal::Rate { retry_after }) => {
            return Err(BearerReply::too_many_requests(
                retry_after,
                "The application has made too many calls and has exceeded the rate limit for this service.",
            ));
        }
        Err(Refusal::Quota { retry_after }) => {
            return Err(BearerReply::too_many_requests(
                retry_after,
                "The application has spent its quota of calls for this period.",
            ));
        }
    }
    // OIDC Core §5.3: the token of an OpenID Connect authentication, which
    // names a subscriber; a client-credentials token names nobody.
    let Some(subscriber_id) = claims.sub.as_deref().filter(|_| claims.has_scope("openid")) else {
        return Err(BearerReply::insufficient_scope(
            "openid",
            "the access token was not issued for OpenID Connect (no subscriber, or no openid scope)",
        ));
    };
    let mut body = json!({ "sub": app.master.pairwise_sub(&claims.client_id, subscriber_id) });
    if claims.has_scope("phone")
        && let Some(m) = &claims.msisdn
    {
        netauth_domain::json::set(&mut body, "phone_number", m.clone());
        netauth_domain::json::set(&mut body, "phone_number_verified", true);
    }
    Ok(body)
}
