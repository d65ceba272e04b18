//! The `authorization_code` grant (RFC 6749 §4.1.3–4.1.4, RFC 7636 §4.5–4.6,
//! OIDC Core §3.1.3).
//!
//! ```text
//! code ─► CodeStore::consume_code            atomic: of parallel requests exactly one wins (SECURITY.md 5)
//!      │   └ already consumed ─► mark_code_reused ─► revoke the grant and its refresh family (SECURITY.md 4)
//!      ─► check_code_exchange                 client, expiry, redirect_uri, PKCE (SECURITY.md 2, 6, 7)
//!      ─► issue_user_tokens                   access token; ID token (nonce, azp, acr, phone claims); refresh
//!      ─► code_reused?                        a replay raced the first use: revoke what was just issued too
//! ```
//! Every refusal is 400 `invalid_grant`, worded as seed 003's table words it.

use crate::errors::OAuthReply;
use crate::infra::state::App;
use crate::oauth::issue::{UserGrant, issue_user_tokens};
use netauth_domain::authorize::{AuthorizationCode, CodeRejection, check_code_exchange};
use netauth_domain::client::Client;
use netauth_domain::crypto::hash_bearer;
use netauth_domain::revocation::RevocationKind;
use netauth_proto::{OAuthError, Purpose, ScopeSet, TokenResponse};
use serde_json::{Map, Value};

fn invalid_code() -> OAuthReply {
    OAuthError::invalid_grant("Invalid authorization code").into()
}

pub async fn exchange(
    app: &App,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenResponse, OAuthReply> {
    if code.len() > 256 {
        return Err(invalid_code());
    }
    let hash = hash_bearer(code);
    let t = app.now();
    let Some(rec) = app.store.consume_code(&hash, t).await? else {
        // Spent already (or never issued): if it was issued, this is a
        // replay and everything the first use produced goes.
        if let Some(rec) = app.store.mark_code_reused(&hash).await? {
            revoke_grant(app, &rec).await?;
            tracing::warn!(client_id = %rec.client_id, "authorization code used twice: its tokens are revoked");
        }
        return Err(invalid_code());
    };
    // The code is spent whatever comes next: a wrong verifier cannot be
    // retried (and so not guessed).
    if let Err(why) = check_code_exchange(&rec, &client.client_id, redirect_uri, verifier, t) {
        tracing::info!(client_id = %client.client_id, reason = %why, "authorization code refused");
        return Err(OAuthError::invalid_grant(match why {
            CodeRejection::RedirectUri => "Invalid redirect_uri".to_owned(),
            CodeRejection::Pkce(p) => p.to_string(),
            other => other.to_string(),
        })
        .into());
    }
    let subscriber = app
        .network
        .subscriber(&rec.auth.subscriber_id)
        .await?
        .filter(|s| s.is_active())
        .ok_or_else(|| OAuthError::invalid_grant("the subscriber is no longer active"))?;
    let mut extra = Map::new();
    extra.insert("azp".into(), Value::String(client.client_id.clone()));
    if let Some(n) = &rec.nonce {
        extra.insert("nonce".into(), Value::String(n.clone()));
    }
    if let Some(acr) = &rec.acr {
        extra.insert("acr".into(), Value::String(acr.clone()));
    }
    // The phone claims in the ID token when the `claims` parameter asked for
    // them and the `phone` scope (the consent to share the number) was granted.
    if rec.scopes.iter().any(|s| s == "phone") {
        for name in &rec.id_token_claims {
            match name.as_str() {
                "phone_number" => {
                    extra.insert(name.clone(), Value::String(subscriber.msisdn.clone()));
                }
                // The number is the one the network says the line has.
                "phone_number_verified" => {
                    extra.insert(name.clone(), Value::Bool(true));
                }
                _ => {}
            }
        }
    }
    // The record holds what the consent step granted, written by us and
    // valid then; one that no longer parses grants nothing.
    let scopes = ScopeSet::from_registered(&rec.scopes).map_err(|_| invalid_code())?;
    let purpose = rec.purpose.as_deref().map(Purpose::parse).transpose().map_err(|_| invalid_code())?;
    let tokens = issue_user_tokens(
        app,
        UserGrant {
            client,
            subscriber: &subscriber,
            scopes: &scopes,
            purpose: purpose.as_ref(),
            amr: &rec.auth.amr,
            // When the subscriber authenticated, not when the code is redeemed.
            auth_time: rec.auth.auth_time,
            family_id: Some(&rec.grant_id),
            id_token_extra: Some(&extra),
        },
    )
    .await?;
    // A second use that arrived while these tokens were being made has
    // revoked the grant, but not the refresh token written after its
    // revocation: look again, and revoke again if so. The answer stays a
    // success (of parallel redemptions exactly one succeeds, SECURITY.md 5),
    // but what it carries no longer works (SECURITY.md 4).
    if app.store.code_reused(&hash).await? {
        revoke_grant(app, &rec).await?;
    }
    Ok(tokens)
}

/// Every token issued from the code: its access tokens (by grant id) and
/// its refresh family.
async fn revoke_grant(app: &App, rec: &AuthorizationCode) -> Result<(), OAuthReply> {
    let t = app.now();
    app.store.revoke_refresh_family(&rec.grant_id).await?;
    app.revoke(RevocationKind::Grant, &rec.grant_id, t, t + app.max_token_lifetime()).await?;
    Ok(())
}
