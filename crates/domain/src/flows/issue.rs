//! Issuing tokens about a subscriber (three-legged), as a decision: the
//! sealed access token, an ID token when `openid` was granted (OIDC Core
//! §2, pairwise `sub`, never the MSISDN; `auth_time` when the subscriber
//! approved), and a refresh token when `offline_access` was granted and the
//! client may refresh (OIDC Core §11). Number Verification scopes bound the
//! token ([`crate::camara::issuance_rules`]): at most 300 s, single use,
//! never a refresh token.
//!
//! Nothing here writes: the caller stores [`IssuedTokens::refresh_record`]
//! (when there is one) before answering.

use crate::UnixTime;
use crate::camara::issuance_rules;
use crate::ciba::RefreshTokenRecord;
use crate::client::Client;
use crate::crypto::{b64url, hash_bearer, random_token, sha256};
use crate::json::set;
use crate::keys::{KeyRing, MasterKey};
use crate::subscriber::Subscriber;
use crate::token::{AccessClaims, seal_access_token};
use netauth_proto::{GrantType, Purpose, Scope, ScopeSet, TokenResponse};
use serde_json::json;

/// What a three-legged grant established.
pub struct UserGrant<'a> {
    pub client: &'a Client,
    pub subscriber: &'a Subscriber,
    /// Granted scopes, `openid`/`offline_access` included.
    pub scopes: &'a ScopeSet,
    pub purpose: Option<&'a Purpose>,
    pub amr: &'a [String],
    /// When the subscriber approved: the ID token's `auth_time`.
    pub auth_time: UnixTime,
    /// An existing refresh family to continue (refresh grant), else new.
    pub family_id: Option<&'a str>,
    /// Extra ID-token claims (e.g. CIBA push's `auth_req_id`).
    pub id_token_extra: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// The installation's side of issuing: who signs and seals, and for how long.
pub struct IssueContext<'a> {
    pub issuer: &'a str,
    pub ring: &'a KeyRing,
    pub master: &'a MasterKey,
    /// The client's access-token lifetime (before the scopes' bound).
    pub access_ttl: i64,
    pub id_token_ttl: i64,
    /// The client's refresh-token lifetime.
    pub refresh_ttl: i64,
}

/// The tokens, and the refresh record to store before answering.
pub struct IssuedTokens {
    pub response: TokenResponse,
    pub refresh_record: Option<RefreshTokenRecord>,
}

/// The `at_hash` of OIDC Core §3.1.3.6: left half of the SHA-256 of the
/// access token (every algorithm netauth signs with uses SHA-256).
fn at_hash(token: &str) -> String {
    let d = sha256(token.as_bytes());
    b64url(d.get(..16).unwrap_or(&d))
}

/// Issues the tokens of grant `g` with `iat` (the issuing time, see
/// `RevocationSet::issue_time`).
pub fn issue_user_tokens(g: UserGrant<'_>, ctx: &IssueContext<'_>, iat: UnixTime) -> IssuedTokens {
    let t = iat;
    let rules = issuance_rules(g.scopes.iter().map(Scope::as_str));
    let ttl = rules.ttl(ctx.access_ttl);
    let wants_refresh = g.scopes.has(&Scope::OFFLINE_ACCESS)
        && g.client.allows_grant(GrantType::RefreshToken)
        && rules.refresh_allowed;
    let family_id = g.family_id.map_or_else(random_token::<16>, str::to_owned);
    let claims = AccessClaims {
        jti: random_token::<16>(),
        client_id: g.client.client_id.clone(),
        sub: Some(g.subscriber.id.clone()),
        msisdn: Some(g.subscriber.msisdn.clone()),
        scope: g.scopes.without(&Scope::OFFLINE_ACCESS),
        purpose: g.purpose.cloned(),
        amr: g.amr.to_vec(),
        iat: t,
        exp: t + ttl,
        grant_id: Some(family_id.clone()),
        single_use: rules.single_use,
    };
    let access_token = seal_access_token(ctx.ring, &claims);
    let refresh = wants_refresh.then(|| {
        let token = random_token::<32>();
        let record = RefreshTokenRecord {
            token_hash: hash_bearer(&token),
            family_id: family_id.clone(),
            client_id: g.client.client_id.clone(),
            subscriber_id: g.subscriber.id.clone(),
            scope: g.scopes.clone(),
            purpose: g.purpose.cloned(),
            amr: g.amr.to_vec(),
            // auth_time, kept through rotations (ID tokens after a refresh
            // still say when the subscriber approved).
            created_at: g.auth_time,
            expires_at: t + ctx.refresh_ttl,
            rotated_at: None,
            revoked: false,
        };
        (token, record)
    });
    let id_token = g.scopes.has(&Scope::OPENID).then(|| {
        let (kid, key) = ctx.ring.signer_at(g.client.id_token_signed_response_alg, t);
        let mut c = json!({
            "iss": ctx.issuer,
            "sub": ctx.master.pairwise_sub(&g.client.client_id, &g.subscriber.id),
            "aud": g.client.client_id,
            "iat": t,
            "exp": t + ctx.id_token_ttl,
            "auth_time": g.auth_time,
            "at_hash": at_hash(&access_token),
        });
        if !g.amr.is_empty() {
            set(&mut c, "amr", json!(g.amr));
        }
        if let Some((rt, _)) = &refresh {
            set(&mut c, "urn:openid:params:jwt:claim:rt_hash", at_hash(rt));
        }
        for (k, v) in g.id_token_extra.into_iter().flatten() {
            set(&mut c, k, v.clone());
        }
        key.sign_jwt(Some(kid), Some("JWT"), &c)
    });
    // The response names what was granted: offline_access only with a
    // refresh token, and the purpose as the dpv: scope it was asked as.
    let mut scope: Vec<String> = g
        .scopes
        .iter()
        .filter(|s| **s != Scope::OFFLINE_ACCESS || wants_refresh)
        .map(Scope::to_string)
        .collect();
    if let Some(p) = g.purpose {
        scope.push(p.to_string());
    }
    scope.sort();
    let (refresh_token, refresh_record) = refresh.unzip();
    IssuedTokens {
        response: TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ttl,
            scope: Some(scope.join(" ")),
            refresh_token,
            id_token,
        },
        refresh_record,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::test_support::client;
    use crate::keys::initial_keys;
    use crate::subscriber::{HandsetPolicy, SubscriberStatus};
    use crate::token::open_access_token;

    const T0: UnixTime = 1_700_000_000;

    fn subscriber() -> Subscriber {
        Subscriber {
            id: "sub-1".into(),
            msisdn: "+34655555555".into(),
            operator_id: "op".into(),
            status: SubscriberStatus::Active,
            sims: vec![],
            addresses: vec![],
            handset_policy: HandsetPolicy::Ask,
            created_at: 0,
        }
    }

    fn peek(jwt: &str) -> serde_json::Value {
        crate::client_auth::peek_claims(jwt).unwrap()
    }

    #[test]
    fn tokens_of_a_grant() {
        let m = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let ring = KeyRing::build(&m, &initial_keys(&m, 0).unwrap(), 0).unwrap();
        let ctx = IssueContext {
            issuer: "https://as.example",
            ring: &ring,
            master: &m,
            access_ttl: 3600,
            id_token_ttl: 600,
            refresh_ttl: 86400,
        };
        let s = subscriber();
        let can_refresh = client(&[], &[], &[GrantType::Ciba, GrantType::RefreshToken]);
        let cannot = client(&[], &[], &[GrantType::Ciba]);
        let purpose = Purpose::parse("dpv:FraudPreventionAndDetection").unwrap();
        let amr = ["hwk".to_owned()];
        let sets = [
            "offline_access openid sim-swap",
            "offline_access sim-swap",
            "offline_access number-verification:verify",
        ]
        .map(|s| ScopeSet::parse(s).unwrap());
        let grant = |c, scopes| UserGrant {
            client: c,
            subscriber: &s,
            scopes,
            purpose: Some(&purpose),
            amr: &amr,
            auth_time: T0 - 50,
            family_id: None,
            id_token_extra: None,
        };
        let full = issue_user_tokens(grant(&can_refresh, &sets[0]), &ctx, T0);
        let r = &full.response;
        assert_eq!(
            r.scope.as_deref(),
            Some("dpv:FraudPreventionAndDetection offline_access openid sim-swap")
        );
        let rec = full.refresh_record.as_ref().unwrap();
        assert_eq!(Some(rec.token_hash.clone()), r.refresh_token.as_deref().map(hash_bearer));
        assert_eq!((rec.created_at, rec.expires_at), (T0 - 50, T0 + 86400), "created_at is auth_time");
        let id = peek(r.id_token.as_deref().unwrap());
        assert_eq!((id["auth_time"].as_i64(), id["iat"].as_i64()), (Some(T0 - 50), Some(T0)));
        assert_eq!(id["amr"], json!(["hwk"]));
        assert!(id["urn:openid:params:jwt:claim:rt_hash"].is_string());
        assert_ne!(id["sub"], "sub-1", "pairwise, not the internal id");
        let claims = open_access_token(&ring, &r.access_token, T0).unwrap();
        assert_eq!(claims.scope.to_string(), "openid sim-swap", "offline_access is not an API scope");
        assert_eq!(claims.grant_id.as_deref(), Some(rec.family_id.as_str()));
        assert_eq!(claims.msisdn.as_deref(), Some("+34655555555"), "sealed, never in clear");

        let no_refresh = issue_user_tokens(grant(&cannot, &sets[1]), &ctx, T0);
        assert!(no_refresh.refresh_record.is_none() && no_refresh.response.id_token.is_none());
        assert_eq!(no_refresh.response.scope.as_deref(), Some("dpv:FraudPreventionAndDetection sim-swap"));

        let nv = issue_user_tokens(grant(&can_refresh, &sets[2]), &ctx, T0);
        assert!(nv.refresh_record.is_none(), "Number Verification: no refresh token");
        assert_eq!(nv.response.expires_in, 300);
        assert!(open_access_token(&ring, &nv.response.access_token, T0).unwrap().single_use);
    }
}
