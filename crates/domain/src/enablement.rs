//! Network Enablement (seed 002: an aggregator's front door to the
//! authorization code flow): the backend names the subscriber's number, the
//! scopes and its `state`; netauth answers, per scope, the `auth_url` that
//! starts the code flow, and remembers which number that flow is for.
//!
//! ```text
//! POST /v0.1/network-enablement {phone_number, scopes, state}   (application JWT)
//!   ─► operator_for(number)        the operator whose number ranges hold it (longest prefix)
//!   ─► read_enablement_scope(each) `dpv:P#api-scope` (the vendor's scope names too) → purpose + scope
//!   ─► policy (authorization code) may this application ask it?      per-scope error otherwise
//!   ─► Enablement record           (client, state) → number, until expires_at
//!   ─► {"scopes": {<scope>: {"auth_url", "requires_carrier_network"}}}
//! GET /oauth2/auth?client_id&scope&state&redirect_uri&response_type=code
//!   ─► the record of (client, state) binds the flow: the line (or fallback)
//!      must be that number, else access_denied and never a code
//! ```
//! The binding is keyed by the client and its `state`, not carried in the
//! URL: the browser cannot remove it without changing `state`, which the
//! backend checks on the callback.

use crate::UnixTime;
use crate::crypto::{b64url, sha256};
use crate::subscriber::Operator;
use netauth_proto::{OAuthError, Purpose, Scope, ScopeSet, purpose};
use serde::{Deserialize, Serialize};

/// How long an `auth_url` stays good.
pub const DEFAULT_ENABLEMENT_TTL: i64 = 600;
/// How long an enablement is remembered after that, so that its `auth_url`
/// followed late is refused rather than taken for an unbound request.
pub const ENABLEMENT_MEMORY: i64 = 86400;

/// A flow enabled for one number: the authorization request of `client_id`
/// carrying the `state` whose key this is must end with that subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enablement {
    /// [`enablement_key`] of (client, state).
    pub key_hash: String,
    pub client_id: String,
    /// The number the flow is for (E.164).
    pub msisdn: String,
    /// The operator whose number ranges hold it.
    pub operator_id: String,
    /// The CAMARA scopes enabled (purpose included).
    pub scopes: Vec<String>,
    pub created_at: UnixTime,
    /// Until when its `auth_url` may start the flow.
    pub expires_at: UnixTime,
    /// When the Store may forget it ([`ENABLEMENT_MEMORY`] later). Rows
    /// written before it existed read as 0: the Store filters on its own
    /// column, so they still expire when they did.
    #[serde(default)]
    pub forget_at: UnixTime,
}

/// What an enablement found for a request means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// No enablement: an ordinary request.
    Unbound,
    /// The flow must end with this number.
    Number(String),
    /// The `auth_url` was followed too late.
    Expired,
}

/// The binding of a request whose (client, state) has `found`, at `now`.
pub fn binding(found: Option<&Enablement>, now: UnixTime) -> Binding {
    match found {
        None => Binding::Unbound,
        Some(e) if now >= e.expires_at => Binding::Expired,
        Some(e) => Binding::Number(e.msisdn.clone()),
    }
}

/// The Store key of (client, state): hashed, so that `state` values are not
/// kept in clear.
pub fn enablement_key(client_id: &str, state: &str) -> String {
    let mut input = Vec::with_capacity(client_id.len() + state.len() + 1);
    input.extend_from_slice(client_id.as_bytes());
    input.push(0);
    input.extend_from_slice(state.as_bytes());
    b64url(&sha256(&input))
}

/// The operator serving `msisdn`: the longest of the operators' number
/// ranges (E.164 prefixes) it starts with.
pub fn operator_for<'a>(operators: &'a [Operator], msisdn: &str) -> Option<&'a Operator> {
    operators
        .iter()
        .filter_map(|o| {
            let best =
                o.number_ranges.iter().filter(|r| msisdn.starts_with(r.as_str())).map(String::len).max()?;
            Some((best, o))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, o)| o)
}

/// The aggregator's names for CAMARA scopes (its scopes guide), accepted
/// in Network Enablement requests beside the CAMARA names. The `auth_url`
/// always carries the CAMARA name.
const VENDOR_SCOPES: &[(&str, &str)] = &[
    ("number-verification-verify-read", "number-verification:verify"),
    ("check-sim-swap", "sim-swap:check"),
    ("retrieve-sim-swap-date", "sim-swap:retrieve-date"),
];

fn camara_name(scope: &str) -> &str {
    VENDOR_SCOPES.iter().find(|(v, _)| *v == scope).map_or(scope, |(_, c)| c)
}

/// One entry of the request's `scopes`: a purpose and the API scopes asked
/// under it, in CAMARA names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnablementScope {
    pub purpose: Purpose,
    pub scopes: ScopeSet,
}

impl EnablementScope {
    /// The `scope` parameter of the `auth_url`: the purpose as a scope
    /// value beside the API scopes (CAMARA profile §1.9; the `dpv:P#scope`
    /// form is accepted but never emitted).
    pub fn to_scope_param(&self) -> String {
        let mut s = self.purpose.to_string();
        for x in self.scopes.iter() {
            s.push(' ');
            s.push_str(x.as_str());
        }
        s
    }
}

/// Reads one entry: `dpv:<Purpose>#<api-scope>` (the seed's form), or
/// CAMARA's `dpv:<Purpose> <api-scope> …`; vendor scope names become
/// CAMARA's. A scope without a purpose, or two purposes, is refused.
pub fn read_enablement_scope(entry: &str) -> Result<EnablementScope, OAuthError> {
    let mut parts = Vec::new();
    for v in entry.split(' ').filter(|p| !p.is_empty()) {
        match v.split_once('#') {
            Some((p, api)) => parts.push(format!("{p}#{}", camara_name(api))),
            None => parts.push(camara_name(v).to_owned()),
        }
    }
    let ps = purpose::normalise(Some(&parts.join(" ")), None)?
        .ok_or_else(|| OAuthError::invalid_scope("a scope needs its dpv: purpose (dpv:<Purpose>#<scope>)"))?;
    let scopes: Vec<Scope> = ps.scopes.iter().filter(|s| !s.is_protocol()).cloned().collect();
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("no API scope"));
    }
    Ok(EnablementScope { purpose: ps.purpose, scopes: ScopeSet::from_scopes(scopes) })
}

/// Why one scope of a request is not enabled: the per-scope error object of
/// the response (`title`, `detail`, `error_type`; the edge adds `instance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRefusal {
    pub title: &'static str,
    pub error_type: &'static str,
    pub detail: String,
}

impl ScopeRefusal {
    /// The application may not use this scope (unregistered scope or
    /// purpose, no legal basis, a malformed entry).
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self { title: "Forbidden", error_type: "UNAUTHORIZED", detail: detail.into() }
    }
    /// No operator served by this installation has the number.
    pub fn unsupported_network() -> Self {
        Self {
            title: "Unsupported network",
            error_type: "UNSUPPORTED_NETWORK",
            detail: "the phone number is not on a mobile network that supports this API".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, ranges: &[&str]) -> Operator {
        Operator {
            id: id.into(),
            name: id.into(),
            country: "ES".into(),
            number_ranges: ranges.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn the_longest_range_picks_the_operator() {
        let ops = [op("es", &["+34"]), op("es-mvno", &["+34655", "+3469"]), op("no", &["+47"])];
        assert_eq!(operator_for(&ops, "+34655555555").map(|o| o.id.as_str()), Some("es-mvno"));
        assert_eq!(operator_for(&ops, "+34666666666").map(|o| o.id.as_str()), Some("es"));
        assert_eq!(operator_for(&ops, "+4790000001").map(|o| o.id.as_str()), Some("no"));
        assert_eq!(operator_for(&ops, "+442072068888"), None);
        assert_eq!(operator_for(&[], "+34666666666"), None);
    }

    #[test]
    fn scopes_in_the_seeds_form_and_camaras() {
        let s =
            read_enablement_scope("dpv:FraudPreventionAndDetection#number-verification-verify-read").unwrap();
        assert_eq!(s.purpose.as_str(), "dpv:FraudPreventionAndDetection");
        assert_eq!(s.to_scope_param(), "dpv:FraudPreventionAndDetection number-verification:verify");
        let s = read_enablement_scope("dpv:FraudPreventionAndDetection number-verification:verify").unwrap();
        assert_eq!(s.to_scope_param(), "dpv:FraudPreventionAndDetection number-verification:verify");
        let s = read_enablement_scope("openid dpv:FraudPreventionAndDetection#check-sim-swap").unwrap();
        assert_eq!(s.to_scope_param(), "dpv:FraudPreventionAndDetection sim-swap:check");
        for bad in
            ["number-verification:verify", "dpv:A#x dpv:B#y", "dpv:A", "dpv:A openid", "", "dpv:A#\u{1}"]
        {
            assert!(read_enablement_scope(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_late_request_is_refused_until_forgotten() {
        let e = Enablement {
            key_hash: "k".into(),
            client_id: "c".into(),
            msisdn: "+34600000003".into(),
            operator_id: "op".into(),
            scopes: vec![],
            created_at: 0,
            expires_at: 600,
            forget_at: 600 + ENABLEMENT_MEMORY,
        };
        assert_eq!(binding(Some(&e), 599), Binding::Number("+34600000003".into()));
        assert_eq!(binding(Some(&e), 600), Binding::Expired);
        assert_eq!(binding(None, 600), Binding::Unbound);
    }

    #[test]
    fn keys_separate_client_and_state() {
        assert_ne!(enablement_key("ab", "c"), enablement_key("a", "bc"));
        assert_eq!(enablement_key("a", "b"), enablement_key("a", "b"));
    }
}
