//! Token introspection (RFC 7662) and revocation (RFC 7009). Both require
//! the caller to authenticate, and only ever speak of the caller's own
//! tokens: anyone else's token is `{"active": false}` and is not revoked
//! (SECURITY.md 14, 15). A client registered for a secret may present it
//! with Basic or in the form here (`client_auth::MethodRule`).

use crate::errors::{OAuthReply, no_store};
use crate::infra::metrics::Metrics;
use crate::infra::state::AppState;
use crate::oauth::{ClientRequest, EitherSecretMethod};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use netauth_domain::revocation::RevocationKind;
use netauth_domain::token::{AccessClaims, open_access_token};
use serde_json::json;

/// Opens `token` if it is a live access token of `client_id`.
fn live_token_of(app: &AppState, token: &str, client_id: &str) -> Option<AccessClaims> {
    let claims = open_access_token(&app.key_ring(), token, app.now()).ok()?;
    (claims.client_id == client_id && !app.is_revoked(&claims)).then_some(claims)
}

pub async fn introspect_post(
    State(app): State<AppState>,
    req: ClientRequest<EitherSecretMethod>,
) -> Result<Response, OAuthReply> {
    let ClientRequest { form, client, .. } = req;
    let token = form.require("token")?;
    Metrics::inc(&app.metrics.introspections);
    let body = match live_token_of(&app, token, &client.client_id) {
        Some(c) => {
            let mut v = json!({
                "active": true,
                "scope": c.scope.to_string(),
                "client_id": c.client_id,
                "token_type": "Bearer",
                "exp": c.exp,
                "iat": c.iat,
                "iss": app.issuer,
                "jti": c.jti,
            });
            if let Some(p) = &c.purpose {
                netauth_domain::json::set(&mut v, "purpose", p.to_string());
            }
            if !c.amr.is_empty() {
                netauth_domain::json::set(&mut v, "amr", c.amr.clone());
            }
            v
        }
        None => json!({ "active": false }),
    };
    let mut r = Json(body).into_response();
    no_store(&mut r);
    Ok(r)
}

/// What a client told to wait by the revocation bound is asked to wait:
/// its oldest entries expire with their tokens, at the latest an access
/// token's lifetime later, so a minute is a reasonable retry step.
const REVOCATION_RETRY_AFTER_SECS: u64 = 60;

pub async fn revoke_post(
    State(app): State<AppState>,
    req: ClientRequest<EitherSecretMethod>,
) -> Result<Response, OAuthReply> {
    let ClientRequest { form, client, .. } = req;
    let token = form.require("token")?;
    Metrics::inc(&app.metrics.revocations);
    // RFC 7009 §2.2: invalid, unknown or foreign tokens still get 200.
    if let Some(c) = live_token_of(&app, token, &client.client_id) {
        if !app.revoke_token(&client.client_id, &c.jti, c.iat, c.exp).await? {
            // RFC 7009 §2.2.1: 503 means the token is still valid; the
            // client may retry once some of its revocations have expired.
            tracing::warn!(client = %client.client_id, "revocation refused: the client's bound of live revocations");
            let mut e = netauth_proto::OAuthError::temporarily_unavailable(
                "this client has too many revoked tokens that have not expired yet; the token stays valid, retry later",
            );
            e.retry_after = Some(REVOCATION_RETRY_AFTER_SECS);
            return Err(e.into());
        }
    } else if token.len() <= 256 {
        // A refresh token: its whole family goes, with the access tokens
        // issued from it (RFC 7009 §2.1).
        let hash = netauth_domain::crypto::hash_bearer(token);
        if let Some(r) = app.store.get_refresh_token(&hash).await?
            && r.client_id == client.client_id
        {
            let t = app.now();
            app.store.revoke_refresh_family(&r.family_id).await?;
            app.revoke(RevocationKind::Grant, &r.family_id, t, t + app.max_token_lifetime()).await?;
        }
    }
    let mut r = axum::http::StatusCode::OK.into_response();
    no_store(&mut r);
    Ok(r)
}
