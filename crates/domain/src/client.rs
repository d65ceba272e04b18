//! Registered clients (RFC 7591 metadata names where one exists) and their
//! secrets.
//!
//! Secrets are generated here with 256 bits of entropy and only their SHA-256
//! digest is stored. A slow password hash protects low-entropy human passwords;
//! against a uniformly random 256-bit value it adds nothing but latency on
//! every token request. A client may hold several secrets at once, each with an
//! optional expiry, so a secret is rotated without downtime.

use crate::UnixTime;
use crate::crypto::{b64url_decode, ct_eq, hash_bearer, random_token, sha256};
use netauth_proto::GrantType;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    Suspended,
}

/// `token_endpoint_auth_method` (RFC 7591 §2, OIDC Core §9), plus `app_jwt`:
/// an application JWT in `Authorization: Bearer` (the aggregator dialect of seed 002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
    AppJwt,
}

impl AuthMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::AppJwt => "app_jwt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::ClientSecretBasic, Self::ClientSecretPost, Self::PrivateKeyJwt, Self::AppJwt]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
    pub const fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

/// JWS algorithms netauth signs ID tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub enum SigningAlg {
    #[default]
    ES256,
    RS256,
    PS256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 4] = [Self::ES256, Self::RS256, Self::PS256, Self::EdDSA];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::EdDSA => "EdDSA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// One secret of a client: only its digest is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClientSecret {
    /// Short public identifier of the secret, to name it when rotating.
    pub id: String,
    /// base64url SHA-256 of the secret.
    pub digest: String,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
}

impl ClientSecret {
    /// Generates a secret; returns the plaintext (shown once) and the record.
    pub fn generate(now: UnixTime, expires_at: Option<UnixTime>) -> (crate::secret::Secret, Self) {
        let plain = random_token::<32>();
        let rec = Self { id: random_token::<6>(), digest: hash_bearer(&plain), created_at: now, expires_at };
        (plain.into(), rec)
    }

    pub fn is_live(&self, now: UnixTime) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub status: ClientStatus,
    pub token_endpoint_auth_method: AuthMethod,
    #[serde(default)]
    pub secrets: Vec<ClientSecret>,
    /// Public keys for `private_key_jwt` / `app_jwt` (a JWK Set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[schema(value_type = Vec<String>)]
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `dpv:` purposes the client may declare.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Origins allowed to call netauth from a browser on behalf of this client.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    #[serde(default)]
    pub id_token_signed_response_alg: SigningAlg,
    /// Access-token lifetime in seconds; the server default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_ttl: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_ttl: Option<i64>,
    /// CIBA `backchannel_token_delivery_mode`; poll when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_token_delivery_mode: Option<crate::ciba::DeliveryMode>,
    /// CIBA `backchannel_client_notification_endpoint` (ping and push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_client_notification_endpoint: Option<String>,
    /// The operator SDK dialect this client may speak beside the CAMARA
    /// profile (`crate::compat`); strict CAMARA when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat_profile: Option<crate::compat::CompatProfile>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl Client {
    pub fn is_active(&self) -> bool {
        self.status == ClientStatus::Active
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    /// Checks a presented secret against every live secret of the client,
    /// without an early exit, so the time taken does not depend on which (if
    /// any) secret matched.
    pub fn verify_secret(&self, presented: &str, now: UnixTime) -> bool {
        let digest = sha256(presented.as_bytes());
        let mut ok = false;
        for s in &self.secrets {
            let stored = b64url_decode(&s.digest).unwrap_or_default();
            ok |= ct_eq(&stored, &digest) & s.is_live(now);
        }
        ok
    }
}

/// Work equal to one secret comparison, for unknown client ids: an attacker
/// must not learn which ids exist from the response time.
pub fn verify_secret_dummy(presented: &str) {
    let digest = sha256(presented.as_bytes());
    // The result is discarded; black_box keeps the work from being optimised away.
    std::hint::black_box(ct_eq(&digest, &[0u8; 32]));
}

/// A new client id: 128 random bits, URL-safe.
pub fn generate_client_id() -> String {
    random_token::<16>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(secrets: Vec<ClientSecret>) -> Client {
        Client {
            client_id: "c".into(),
            name: "n".into(),
            status: ClientStatus::Active,
            token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
            secrets,
            jwks: None,
            jwks_uri: None,
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec![],
            purposes: vec![],
            cors_origins: vec![],
            id_token_signed_response_alg: SigningAlg::ES256,
            access_token_ttl: None,
            refresh_token_ttl: None,
            backchannel_token_delivery_mode: None,
            backchannel_client_notification_endpoint: None,
            compat_profile: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn secret_round_trip_and_rotation() {
        let (p1, s1) = ClientSecret::generate(0, Some(100));
        let p1 = p1.expose();
        let (p2, s2) = ClientSecret::generate(50, None);
        let p2 = p2.expose();
        assert_eq!(p1.len(), 43, "256 bits in base64url");
        let c = client(vec![s1, s2]);
        assert!(c.verify_secret(p1, 99));
        assert!(!c.verify_secret(p1, 100), "expired secret");
        assert!(c.verify_secret(p2, 1000));
        assert!(!c.verify_secret("nope", 10));
        verify_secret_dummy(p1);
    }
}
