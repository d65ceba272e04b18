//! CIBA authentication requests (OpenID CIBA Core 1.0) and the prompts a
//! subscriber answers on the handset.

use crate::UnixTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    Poll,
    Ping,
    Push,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CibaStatus {
    /// Waiting for the subscriber.
    Pending,
    Approved,
    Denied,
    /// Tokens were issued; the `auth_req_id` is spent.
    Consumed,
}

impl CibaStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Consumed => "consumed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Consumed].into_iter().find(|x| x.as_str() == s)
    }
}

/// One backchannel authentication request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CibaRequest {
    /// base64url SHA-256 of the `auth_req_id` (the id itself is a bearer
    /// secret and is never stored).
    pub id_hash: String,
    pub client_id: String,
    pub subscriber_id: String,
    /// Granted API scopes (space-separated, canonical order), `openid` and
    /// `offline_access` included when asked.
    pub scope: String,
    pub purpose: Option<String>,
    /// How the subscriber was identified (`tel`, `ipport`, `operatortoken`).
    pub hint_kind: String,
    pub amr: Vec<String>,
    pub status: CibaStatus,
    pub delivery: DeliveryMode,
    pub client_notification_token: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Current polling interval in seconds (grows on `slow_down`).
    pub interval: i64,
    /// When the client last polled, in milliseconds since the epoch: with
    /// intervals of a second or two, whole seconds cannot tell two polls
    /// 10 ms apart from two polls a second apart.
    pub last_polled_at: Option<i64>,
    /// Scopes the subscriber must still consent to on the handset.
    #[serde(default)]
    pub consent_scopes: Vec<String>,
    /// Ping and push modes only: the `auth_req_id` itself, which the
    /// notification must carry after a decision made later on the handset.
    /// Redeeming it still needs the client's authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_auth_req_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromptStatus {
    Pending,
    Approved,
    Denied,
    Expired,
}

impl PromptStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Expired].into_iter().find(|x| x.as_str() == s)
    }
}

/// Something shown on a subscriber's handset, waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Prompt {
    /// Public id (random): the handset answers by it.
    pub id: String,
    pub subscriber_id: String,
    /// `ciba_consent` (a CIBA request awaiting approval); later kinds add
    /// login codes.
    pub kind: String,
    /// What it belongs to: the CIBA request's `id_hash`.
    pub reference: String,
    /// Who asks (client name), for what purpose and which data (scopes).
    pub client_id: String,
    pub client_name: String,
    pub purpose: Option<String>,
    pub scopes: Vec<String>,
    pub status: PromptStatus,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A refresh token as stored (only its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    /// base64url SHA-256 of the token.
    pub token_hash: String,
    /// All tokens rotated from one grant share a family; reuse of a rotated
    /// token revokes the whole family.
    pub family_id: String,
    pub client_id: String,
    pub subscriber_id: String,
    pub scope: String,
    pub purpose: Option<String>,
    pub amr: Vec<String>,
    /// When the subscriber approved the grant the family descends from
    /// (the `auth_time` of every ID token issued from it).
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Set when it was exchanged for a new one.
    pub rotated_at: Option<UnixTime>,
    pub revoked: bool,
}
