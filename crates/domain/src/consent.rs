//! Legal bases and consents (CAMARA API access and user consent):
//! each (API scope, purpose) pair has a legal basis set by the operator;
//! `consent` needs an explicit opt-in by the subscriber for (client, scope,
//! purpose); the others proceed without asking.

use crate::UnixTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    Contract,
    LegitimateInterest,
    Consent,
}

/// When consent is needed and missing, how it is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentCapture {
    /// Ask on the handset; the request stays pending until answered.
    #[default]
    Handset,
    /// Refuse at once (403 access_denied); the subscriber opts in on the
    /// self-service consent page, after which the same request succeeds.
    Refuse,
}

/// The operator's rule for one (scope, purpose) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LegalBasisRule {
    pub scope: String,
    /// `dpv:<Purpose>`.
    pub purpose: String,
    pub basis: LegalBasis,
    #[serde(default)]
    pub capture: ConsentCapture,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Granted,
    Revoked,
}

/// A subscriber's decision for (client, scope, purpose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Consent {
    pub subscriber_id: String,
    pub client_id: String,
    pub scope: String,
    pub purpose: String,
    pub status: ConsentStatus,
    pub updated_at: UnixTime,
}
