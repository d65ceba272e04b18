//! The token endpoint (RFC 6749 §3.2, §5) and seed 004's dialect of it.
//!
//! ```text
//! POST /token ─► parse_form ─► client_auth::authenticate ─► TokenRequest::parse
//!              └► grant handler (client_credentials: issue_client_credentials;
//!                 CIBA: ciba::poll; refresh_token: refresh; JWT bearer: jwt_bearer::grant)
//!              └► 200 {access_token, token_type, expires_in, scope}, no-store
//! ```

use crate::errors::{OAuthReply, no_store};
use crate::infra::metrics::Metrics;
use crate::infra::state::AppState;
use crate::oauth::ClientRequest;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use netauth_domain::ciba::RefreshTokenRecord;
use netauth_domain::client::Client;
use netauth_domain::crypto::hash_bearer;
use netauth_domain::flows::refresh::{consent_gone, invalid_refresh_token};
use netauth_domain::flows::{
    ConsentOutcome, LegalBases, PolicyGrant, RefreshDecision, RefreshInput, authorize_request,
    decide_refresh, is_replay,
};
use netauth_domain::token::{AccessClaims, seal_access_token};
use netauth_proto::TokenResponse;
use netauth_proto::{GrantType, OAuthError, Scope, ScopeSet, TokenRequest};

/// The grant types this build implements.
pub const IMPLEMENTED_GRANTS: &[GrantType] = &[
    GrantType::AuthorizationCode,
    GrantType::ClientCredentials,
    GrantType::Ciba,
    GrantType::RefreshToken,
    GrantType::JwtBearer,
];

fn reply(t: TokenResponse) -> Response {
    let mut r = Json(t).into_response();
    no_store(&mut r);
    r
}

pub async fn token_post(State(app): State<AppState>, req: ClientRequest) -> Result<Response, OAuthReply> {
    token(&app, req).await
}

/// Seed 004 (G2P Connect): the `timestamp` header is required and must be an
/// HTTP-date; `message_id` and `accept-language` are accepted.
pub async fn g2p_token_post(State(app): State<AppState>, req: ClientRequest) -> Result<Response, OAuthReply> {
    let headers = &req.headers;
    let ts = headers.get("timestamp").and_then(|v| v.to_str().ok());
    if ts.is_none_or(|t| !is_http_date(t)) {
        return Err(OAuthError::invalid_request(
            "the `timestamp` header is required, as an HTTP-date (e.g. Tue, 06 Mar 2020 21:00:00 GMT)",
        )
        .into());
    }
    token(&app, req).await
}

/// An HTTP-date (RFC 9110 §5.6.7). The weekday is not checked against the
/// date: seed 004's own example, `Tue, 06 Mar 2020 21:00:00 GMT`, names the
/// wrong day (6 March 2020 was a Friday) and must be accepted as written.
fn is_http_date(s: &str) -> bool {
    if httpdate::parse_http_date(s).is_ok() {
        return true;
    }
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    match s.split_once(", ") {
        Some((day, rest)) if DAYS.contains(&day) => {
            DAYS.iter().any(|d| httpdate::parse_http_date(&format!("{d}, {rest}")).is_ok())
        }
        _ => false,
    }
}

async fn token(app: &AppState, req: ClientRequest) -> Result<Response, OAuthReply> {
    let ClientRequest { form, client, endpoint_url, grant_assertion, .. } = req;
    // Seed 003's own path speaks that guide's dialect (see `refresh`).
    let seed_003 = endpoint_url.strip_prefix(app.issuer.as_str()) == Some(crate::routes::SEED_003_TOKEN);
    let request = TokenRequest::parse(&form, IMPLEMENTED_GRANTS).map_err(|e| {
        if seed_003 && e.code == netauth_proto::OAuthErrorCode::UnsupportedGrantType {
            // Seed 003's table: 400 invalid_grant "The parameter grant_type is not valid".
            OAuthError::invalid_grant("The parameter grant_type is not valid")
        } else {
            e
        }
    })?;
    if !client.allows_grant(request.grant_type()) {
        return Err(OAuthError::unauthorized_client(format!(
            "the client may not use grant_type {}",
            request.grant_type().as_str()
        ))
        .into());
    }
    let resp = match request {
        TokenRequest::ClientCredentials { scope } => issue_client_credentials(app, &client, scope)?,
        TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier } => {
            crate::oauth::code_grant::exchange(
                app,
                &client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await?
        }
        TokenRequest::Ciba { auth_req_id } => crate::oauth::ciba::poll(app, &client, &auth_req_id).await?,
        TokenRequest::RefreshToken { refresh_token, scope } => {
            refresh(app, &client, &refresh_token, scope, seed_003).await?
        }
        TokenRequest::JwtBearer { assertion } => {
            crate::oauth::jwt_bearer::grant(app, &client, &assertion, &endpoint_url, grant_assertion).await?
        }
    };
    Metrics::inc(&app.metrics.tokens_issued);
    Ok(reply(resp))
}

/// RFC 6749 §4.4. Without `scope`, the client gets every scope it is
/// registered for (the "pre-defined default value" of RFC 6749 §3.3).
fn issue_client_credentials(
    app: &AppState,
    client: &Client,
    scope: Option<ScopeSet>,
) -> Result<TokenResponse, OAuthReply> {
    // Two-legged: no purpose, so no legal basis and no rule is read.
    let decision = authorize_request(
        client,
        scope.as_ref(),
        None,
        &LegalBases::default(),
        PolicyGrant::ClientCredentials,
    )
    .map_err(OAuthError::from)?;
    let rules = netauth_domain::camara::issuance_rules(decision.scopes.iter().map(Scope::as_str));
    let ttl = rules.ttl(app.access_token_ttl(client));
    let iat = app.issue_time(&client.client_id, None);
    let mut claims = AccessClaims::two_legged(&client.client_id, decision.scopes, iat, ttl);
    claims.single_use = rules.single_use;
    let access_token = seal_access_token(&app.key_ring(), &claims);
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: (!claims.scope.is_empty()).then(|| claims.scope.to_string()),
        refresh_token: None,
        id_token: None,
    })
}

/// The refresh grant (RFC 6749 §6) with rotation: every use returns a new
/// refresh token; a rotated one presented again (after the grace window)
/// revokes the whole family and the access tokens issued from it
/// (SECURITY.md 13). No new tokens after consent revocation or subscriber
/// deactivation (CAMARA profile §1.9).
///
/// A `scope` wider than the grant is `invalid_scope` (SECURITY.md 13),
/// except on seed 003's path, whose guide says that "if included with an
/// invalid scope, the scope that have been originally granted by the
/// end-user is returned" (`originally_granted_on_invalid_scope`).
async fn refresh(
    app: &AppState,
    client: &Client,
    token: &str,
    scope: Option<ScopeSet>,
    originally_granted_on_invalid_scope: bool,
) -> Result<TokenResponse, OAuthReply> {
    let invalid = || OAuthReply::from(invalid_refresh_token());
    if token.len() > 256 {
        return Err(invalid());
    }
    let hash = hash_bearer(token);
    let rec = app.store.get_refresh_token(&hash).await?;
    let rules = app.legal_bases().await?;
    let t = app.now();
    let grace_secs = app.config.tokens.refresh_reuse_grace_secs;
    let input = RefreshInput {
        record: rec.as_ref(),
        client,
        asked: scope.as_ref(),
        rules: &rules,
        grace_secs,
        originally_granted_on_invalid_scope,
    };
    let decision = decide_refresh(input, t);
    let (Some(rec), RefreshDecision::Proceed { decision, rotate }) = (&rec, &decision) else {
        if let (Some(rec), RefreshDecision::Replay) = (&rec, &decision) {
            revoke_family(app, client, rec, t).await?;
        }
        return Err(decision.error().unwrap_or_else(invalid_refresh_token).into());
    };
    // Checked before rotating, so a refused request spends nothing: a
    // subscriber suspended for a while, or a legal basis changed, must not
    // turn the client's next honest refresh into a false replay alarm.
    let subscriber =
        app.network.subscriber(&rec.subscriber_id).await?.filter(|s| s.is_active()).ok_or_else(invalid)?;
    match crate::oauth::consent::evaluate(app, &client.client_id, &subscriber.id, decision).await? {
        ConsentOutcome::Granted => {}
        ConsentOutcome::Missing { .. } => return Err(consent_gone().into()),
    }
    if *rotate && app.store.rotate_refresh_token(&hash, t).await?.is_none() {
        // Lost a race with a parallel refresh of the same token.
        let now_rotated = app.store.get_refresh_token(&hash).await?.and_then(|r| r.rotated_at);
        if is_replay(now_rotated, grace_secs, t) {
            revoke_family(app, client, rec, t).await?;
            return Err(invalid());
        }
    }
    Ok(crate::oauth::issue::issue_user_tokens(
        app,
        crate::oauth::issue::UserGrant {
            client,
            subscriber: &subscriber,
            scopes: &decision.scopes,
            purpose: rec.purpose.as_ref(),
            amr: &rec.amr,
            // The family's records carry the time of the original approval.
            auth_time: rec.created_at,
            family_id: Some(&rec.family_id),
            id_token_extra: None,
        },
    )
    .await?)
}

/// A refresh token replayed: the whole family goes, with the access tokens
/// issued from it (SECURITY.md 13).
async fn revoke_family(
    app: &AppState,
    client: &Client,
    rec: &RefreshTokenRecord,
    t: netauth_domain::UnixTime,
) -> Result<(), OAuthReply> {
    use netauth_domain::revocation::RevocationKind;
    app.store.revoke_refresh_family(&rec.family_id).await?;
    app.revoke(RevocationKind::Grant, &rec.family_id, t, t + app.max_token_lifetime()).await?;
    tracing::warn!(client_id = %client.client_id, "refresh token reuse: family revoked");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert!(super::is_http_date("Tue, 06 Mar 2020 21:00:00 GMT"), "the seed's example");
        assert!(super::is_http_date("Fri, 06 Mar 2020 21:00:00 GMT"));
        assert!(!super::is_http_date("2020-03-06T21:00:00Z"));
        assert!(!super::is_http_date("Xyz, 06 Mar 2020 21:00:00 GMT"));
        assert!(!super::is_http_date(""));
    }
}
