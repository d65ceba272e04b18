//! Issuing tokens about a subscriber (three-legged): the sealed access
//! token, an ID token when `openid` was granted (pairwise `sub`, never the
//! MSISDN), and a refresh token when `offline_access` was granted and the
//! client may refresh (stored hashed, rotated on use). Number Verification
//! scopes bound the token (`netauth_domain::camara::issuance_rules`): at
//! most 300 s, single use, never a refresh token.

use crate::infra::state::App;
use netauth_domain::camara::issuance_rules;
use netauth_domain::ciba::RefreshTokenRecord;
use netauth_domain::client::Client;
use netauth_domain::crypto::{b64url, random_token, sha256};
use netauth_domain::json::set;
use netauth_domain::subscriber::Subscriber;
use netauth_domain::token::{AccessClaims, seal_access_token};
use netauth_proto::GrantType;
use netauth_proto::TokenResponse;
use netauth_store::StoreError;
use serde_json::json;

/// What a three-legged grant established.
pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub subscriber: &'a Subscriber,
    /// Granted scopes, canonical order, `openid`/`offline_access` included.
    pub scopes: Vec<String>,
    pub purpose: Option<String>,
    pub amr: Vec<String>,
    pub auth_time: i64,
    /// An existing refresh family to continue (refresh grant), else new.
    pub family_id: Option<String>,
    /// Extra ID-token claims (e.g. CIBA push's `auth_req_id`).
    pub id_token_extra: Option<serde_json::Value>,
}

/// The `at_hash` of OIDC Core §3.1.3.6: left half of the SHA-256 of the
/// access token (every algorithm netauth signs with uses SHA-256).
fn at_hash(token: &str) -> String {
    b64url(&sha256(token.as_bytes())[..16])
}

pub async fn issue_user_tokens(app: &App, g: UserGrant<'_>) -> Result<TokenResponse, StoreError> {
    let t = app.issue_time(&g.client.client_id, Some(&g.subscriber.id));
    // Number Verification scopes: at most 300 s, single use, no refresh.
    let rules = issuance_rules(g.scopes.iter().map(String::as_str));
    let ttl = rules.ttl(app.access_token_ttl(g.client));
    let has = |s: &str| g.scopes.iter().any(|x| x == s);
    let wants_refresh =
        has("offline_access") && g.client.allows_grant(GrantType::RefreshToken) && rules.refresh_allowed;
    let family_id = g.family_id.clone().unwrap_or_else(random_token::<16>);
    let api_scope: Vec<&str> =
        g.scopes.iter().map(String::as_str).filter(|s| *s != "offline_access").collect();
    let claims = AccessClaims {
        jti: random_token::<16>(),
        client_id: g.client.client_id.clone(),
        sub: Some(g.subscriber.id.clone()),
        msisdn: Some(g.subscriber.msisdn.clone()),
        scope: api_scope.join(" "),
        purpose: g.purpose.clone(),
        amr: g.amr.clone(),
        iat: t,
        exp: t + ttl,
        grant_id: Some(family_id.clone()),
        single_use: rules.single_use,
    };
    let ring = app.key_ring();
    let access_token = seal_access_token(&ring, &claims);
    let refresh_token = if wants_refresh {
        let token = random_token::<32>();
        let ttl = g.client.refresh_token_ttl.unwrap_or(app.config.tokens.refresh_token_ttl_secs);
        app.store
            .insert_refresh_token(&RefreshTokenRecord {
                token_hash: b64url(&sha256(token.as_bytes())),
                family_id: family_id.clone(),
                client_id: g.client.client_id.clone(),
                subscriber_id: g.subscriber.id.clone(),
                scope: g.scopes.join(" "),
                purpose: g.purpose.clone(),
                amr: g.amr.clone(),
                // auth_time, kept through rotations (ID tokens after a
                // refresh still say when the subscriber approved).
                created_at: g.auth_time,
                expires_at: t + ttl,
                rotated_at: None,
                revoked: false,
            })
            .await?;
        Some(token)
    } else {
        None
    };
    let id_token = has("openid").then(|| {
        let (kid, key) = ring.signer_at(g.client.id_token_signed_response_alg, t);
        let mut c = json!({
            "iss": app.issuer,
            "sub": app.master.pairwise_sub(&g.client.client_id, &g.subscriber.id),
            "aud": g.client.client_id,
            "iat": t,
            "exp": t + app.config.tokens.id_token_ttl_secs,
            "auth_time": g.auth_time,
            "at_hash": at_hash(&access_token),
        });
        if !g.amr.is_empty() {
            set(&mut c, "amr", json!(g.amr));
        }
        if let Some(rt) = &refresh_token {
            set(&mut c, "urn:openid:params:jwt:claim:rt_hash", at_hash(rt));
        }
        if let Some(serde_json::Value::Object(extra)) = &g.id_token_extra {
            for (k, v) in extra {
                set(&mut c, k, v.clone());
            }
        }
        key.sign_jwt(Some(kid), Some("JWT"), &c)
    });
    let mut scope: Vec<String> =
        g.scopes.iter().filter(|s| *s != "offline_access" || wants_refresh).cloned().collect();
    if let Some(p) = &g.purpose {
        scope.push(p.clone());
    }
    scope.sort();
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: Some(scope.join(" ")),
        refresh_token,
        id_token,
    })
}
