//! CIBA authentication requests (OpenID CIBA Core 1.0), the prompts a
//! subscriber answers on the handset, and refresh tokens (RFC 6749 §6), with
//! the rules of their state changes: which status may follow which
//! ([`CibaStatus::can_become`], [`PromptStatus::can_become`]), when a prompt
//! may be answered ([`Prompt::answer`]) and a refresh token rotated
//! ([`RefreshTokenRecord::rotate`]). The Store enforces the same conditions
//! atomically in its `UPDATE … WHERE`, and applies these functions to the
//! stored document.

use crate::UnixTime;
use netauth_proto::{Purpose, Scope, ScopeSet};
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

    /// The lifecycle: a pending request is approved or denied (the
    /// subscriber's decision); an approved one is consumed once, when tokens
    /// are issued. Denied and consumed are final, and nothing skips a step
    /// (`pending → consumed` would issue tokens without approval).
    pub const fn can_become(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Pending, Self::Approved)
                | (Self::Pending, Self::Denied)
                | (Self::Approved, Self::Consumed)
        )
    }
}

/// A state change its lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub what: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

/// One backchannel authentication request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CibaRequest {
    /// base64url SHA-256 of the `auth_req_id` (the id itself is a bearer
    /// secret and is never stored).
    pub id_hash: String,
    pub client_id: String,
    pub subscriber_id: String,
    /// Granted API scopes, `openid` and `offline_access` included when
    /// asked (stored space-separated, canonical order).
    #[serde(with = "netauth_proto::scope::as_space_string")]
    pub scope: ScopeSet,
    pub purpose: Option<Purpose>,
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
    pub consent_scopes: Vec<Scope>,
    /// When the subscriber approved (at once, or later on the handset): the
    /// ID token's `auth_time`. Absent in requests stored by older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<UnixTime>,
    /// Ping and push modes only: the `auth_req_id` itself, which the
    /// notification must carry after a decision made later on the handset.
    /// Redeeming it still needs the client's authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_auth_req_id: Option<String>,
}

impl CibaRequest {
    /// Moves the request to `to` if [`CibaStatus::can_become`] allows it.
    pub fn transition(&mut self, to: CibaStatus) -> Result<(), IllegalTransition> {
        if !self.status.can_become(to) {
            return Err(IllegalTransition {
                what: "CIBA request",
                from: self.status.as_str(),
                to: to.as_str(),
            });
        }
        self.status = to;
        Ok(())
    }

    /// The subscriber's decision at `now`: [`Self::transition`] to approved
    /// or denied, and the approval time kept for `auth_time`.
    pub fn decide(&mut self, to: CibaStatus, now: UnixTime) -> Result<(), IllegalTransition> {
        if !matches!(to, CibaStatus::Approved | CibaStatus::Denied) {
            return Err(IllegalTransition {
                what: "CIBA request",
                from: self.status.as_str(),
                to: to.as_str(),
            });
        }
        self.transition(to)?;
        if to == CibaStatus::Approved {
            self.approved_at = Some(now);
        }
        Ok(())
    }

    /// Records a poll at `at` (milliseconds) and the interval the client must
    /// keep from now on.
    pub fn record_poll(&mut self, at: i64, interval: i64) {
        self.last_polled_at = Some(at);
        self.interval = interval;
    }
}

/// How many unexpired pending prompts one subscriber may have at once, and
/// how many of those may come from one client (SECURITY.md 30: one client
/// cannot take a subscriber's whole quota from the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptBounds {
    pub per_subscriber: u32,
    pub per_client: u32,
}

impl PromptBounds {
    /// One bound for both: a single client may use the whole quota.
    pub const fn per_subscriber(n: u32) -> Self {
        Self { per_subscriber: n, per_client: n }
    }
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

    /// Only a pending prompt changes, once: answered (approved or denied) or
    /// lapsed; every other status is final.
    pub const fn can_become(self, to: Self) -> bool {
        matches!((self, to), (Self::Pending, Self::Approved | Self::Denied | Self::Expired))
    }
}

/// Something shown on a subscriber's handset, waiting for an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Prompt {
    /// Public id (random): the handset answers by it.
    pub id: String,
    pub subscriber_id: String,
    /// `ciba_consent` (a CIBA request awaiting approval), `login_approve`
    /// (approve or deny a sign-in) or `login_code` (a sign-in code to type
    /// into the page).
    pub kind: String,
    /// What it belongs to: the CIBA request's or the authorization
    /// request's `id_hash`.
    pub reference: String,
    /// Who asks (client name), for what purpose and which data (scopes).
    pub client_id: String,
    pub client_name: String,
    pub purpose: Option<String>,
    pub scopes: Vec<String>,
    pub status: PromptStatus,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// `login_code` only: the one-time code the handset shows. Kept in clear
    /// for its few minutes, as a hash of a six-digit code would protect
    /// nothing (a million guesses undo it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Prompt {
    /// The status an answer moves a prompt to.
    pub const fn answer_status(approve: bool) -> PromptStatus {
        if approve { PromptStatus::Approved } else { PromptStatus::Denied }
    }

    /// Whether the subscriber may still answer at `now`: pending and unexpired.
    pub fn is_open(&self, now: UnixTime) -> bool {
        self.status == PromptStatus::Pending && self.expires_at > now
    }

    /// The subscriber's answer at `now`, if the prompt [is open](Self::is_open).
    pub fn answer(&mut self, approve: bool, now: UnixTime) -> Result<(), IllegalTransition> {
        let to = Self::answer_status(approve);
        if !self.is_open(now) || !self.status.can_become(to) {
            let from = if self.expires_at <= now { "expired" } else { self.status.as_str() };
            return Err(IllegalTransition { what: "prompt", from, to: to.as_str() });
        }
        self.status = to;
        Ok(())
    }
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
    #[serde(with = "netauth_proto::scope::as_space_string")]
    pub scope: ScopeSet,
    pub purpose: Option<Purpose>,
    pub amr: Vec<String>,
    /// When the subscriber approved the grant the family descends from
    /// (the `auth_time` of every ID token issued from it).
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Set when it was exchanged for a new one.
    pub rotated_at: Option<UnixTime>,
    pub revoked: bool,
}

impl RefreshTokenRecord {
    /// A refresh token is exchanged at most once, and never after revocation.
    pub fn can_rotate(&self) -> bool {
        self.rotated_at.is_none() && !self.revoked
    }

    /// Marks it exchanged at `now`, if [`Self::can_rotate`].
    pub fn rotate(&mut self, now: UnixTime) -> Result<(), IllegalTransition> {
        if !self.can_rotate() {
            let from = if self.revoked { "revoked" } else { "rotated" };
            return Err(IllegalTransition { what: "refresh token", from, to: "rotated" });
        }
        self.rotated_at = Some(now);
        Ok(())
    }

    /// Revokes it (a revoked token stays revoked).
    pub fn revoke(&mut self) {
        self.revoked = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIBA: [CibaStatus; 4] =
        [CibaStatus::Pending, CibaStatus::Approved, CibaStatus::Denied, CibaStatus::Consumed];

    #[test]
    fn ciba_lifecycle() {
        let allowed: Vec<_> = CIBA
            .iter()
            .flat_map(|&a| CIBA.iter().map(move |&b| (a, b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            [
                (CibaStatus::Pending, CibaStatus::Approved),
                (CibaStatus::Pending, CibaStatus::Denied),
                (CibaStatus::Approved, CibaStatus::Consumed)
            ]
        );
    }

    fn prompt(status: PromptStatus, expires_at: UnixTime) -> Prompt {
        Prompt {
            id: "p".into(),
            subscriber_id: "s".into(),
            kind: "ciba_consent".into(),
            reference: "r".into(),
            client_id: "c".into(),
            client_name: "C".into(),
            purpose: None,
            scopes: vec![],
            status,
            created_at: 0,
            expires_at,
            code: None,
        }
    }

    #[test]
    fn only_an_open_prompt_is_answered() {
        let mut p = prompt(PromptStatus::Pending, 100);
        assert_eq!(p.answer(true, 99), Ok(()));
        assert_eq!(p.status, PromptStatus::Approved);
        assert!(p.answer(false, 99).is_err(), "answered twice");
        assert!(prompt(PromptStatus::Pending, 100).answer(false, 100).is_err(), "expired");
        let mut p = prompt(PromptStatus::Pending, 100);
        assert_eq!(p.answer(false, 0), Ok(()));
        assert_eq!(p.status, PromptStatus::Denied);
        assert!(!PromptStatus::Denied.can_become(PromptStatus::Approved));
    }

    #[test]
    fn refresh_token_rotates_once_and_never_when_revoked() {
        let mut r = RefreshTokenRecord {
            token_hash: "h".into(),
            family_id: "f".into(),
            client_id: "c".into(),
            subscriber_id: "s".into(),
            scope: netauth_proto::ScopeSet::parse("openid").unwrap(),
            purpose: None,
            amr: vec![],
            created_at: 0,
            expires_at: 100,
            rotated_at: None,
            revoked: false,
        };
        let mut revoked = r.clone();
        assert_eq!(r.rotate(5), Ok(()));
        assert_eq!(r.rotated_at, Some(5));
        assert!(r.rotate(6).is_err());
        assert_eq!(r.rotated_at, Some(5));
        revoked.revoke();
        assert!(revoked.rotate(5).is_err());
    }
}
