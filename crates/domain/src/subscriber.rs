//! Operators and subscribers: who is behind a number, an IP address and port,
//! or an operator token. Reached by the server only through the `Network`
//! trait (the sandbox implements it from the Store's tables; a real operator
//! plugs its own systems in behind it).

use crate::UnixTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Operator {
    /// Taken from the path on `PUT /admin/v1/operators/{id}`.
    #[serde(default)]
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// E.164 prefixes the operator's numbers start with (`+3465`, …).
    #[serde(default)]
    pub number_ranges: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriberStatus {
    #[default]
    Active,
    Suspended,
}

/// How the sandbox's simulated handset answers prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandsetPolicy {
    /// Prompts wait for a person (or a test) to answer.
    #[default]
    Ask,
    AutoApprove,
    AutoDeny,
}

/// One SIM the number has held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimRecord {
    /// An identifier of the SIM (ICCID in a real network).
    pub sim_id: String,
    pub activated_at: UnixTime,
}

/// An address a subscriber's device holds: an IP, and for CGNAT a port range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddressAssignment {
    /// IPv4 or IPv6, canonical text form.
    pub ip: String,
    /// Inclusive port range; the whole range (0–65535) when not CGNAT.
    #[serde(default)]
    pub port_start: u16,
    #[serde(default = "max_port")]
    pub port_end: u16,
}

fn max_port() -> u16 {
    u16::MAX
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscriber {
    /// Internal id (never shown to clients; `sub` claims are pairwise).
    pub id: String,
    /// E.164 with `+`.
    pub msisdn: String,
    pub operator_id: String,
    #[serde(default)]
    pub status: SubscriberStatus,
    /// SIMs in order of activation; the last is the current one.
    #[serde(default)]
    pub sims: Vec<SimRecord>,
    #[serde(default)]
    pub addresses: Vec<AddressAssignment>,
    #[serde(default)]
    pub handset_policy: HandsetPolicy,
    pub created_at: UnixTime,
}

impl Subscriber {
    pub fn is_active(&self) -> bool {
        self.status == SubscriberStatus::Active
    }
    /// When the current SIM was activated.
    pub fn current_sim_since(&self) -> Option<UnixTime> {
        self.sims.last().map(|s| s.activated_at)
    }
}

/// A TS.43-style operator token: proves a SIM authentication of the subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorTokenRecord {
    /// base64url SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    pub subscriber_id: String,
    pub expires_at: UnixTime,
}
