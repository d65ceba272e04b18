//! What the CAMARA APIs netauth serves ask of the tokens that open them:
//! their scopes (Commonalities §6.6, from each API's OpenAPI file), and the
//! issuance rules Number Verification adds (NumberVerification PR #226,
//! CAMARA-PROFILE §3): a token carrying one of its scopes lives at most
//! 300 s, may be used once, and never comes with a refresh token.

/// `POST /number-verification/v2/verify`.
pub const NV_VERIFY: &str = "number-verification:verify";
/// `GET /number-verification/v2/device-phone-number`.
pub const NV_DEVICE_PHONE_NUMBER_READ: &str = "number-verification:device-phone-number:read";
/// Either SIM Swap operation (the file's alternative security requirement).
pub const SIM_SWAP: &str = "sim-swap";
pub const SIM_SWAP_CHECK: &str = "sim-swap:check";
pub const SIM_SWAP_RETRIEVE_DATE: &str = "sim-swap:retrieve-date";

/// Every API scope served, for discovery's `scopes_supported`.
pub const API_SCOPES: &[&str] =
    &[NV_VERIFY, NV_DEVICE_PHONE_NUMBER_READ, SIM_SWAP, SIM_SWAP_CHECK, SIM_SWAP_RETRIEVE_DATE];

/// The longest a token with a Number Verification scope may live.
pub const NV_MAX_TOKEN_TTL: i64 = 300;

pub fn is_number_verification_scope(s: &str) -> bool {
    s == NV_VERIFY || s == NV_DEVICE_PHONE_NUMBER_READ
}

/// Authentication methods (`amr`) by which the network itself established
/// who the subscriber is: network-based authentication of the line (the
/// code flow on mobile data), or a SIM-based operator token (TS.43) in a
/// CIBA hint or a JWT bearer subject, which netauth records as `nba` too.
/// Number Verification accepts only tokens carrying one of these.
pub const NETWORK_AMR: &[&str] = &["nba"];

pub fn is_network_authenticated(amr: &[String]) -> bool {
    amr.iter().any(|m| NETWORK_AMR.contains(&m.as_str()))
}

/// What a token's scopes impose on its issuance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuanceRules {
    /// Upper bound on the access token's lifetime, if any.
    pub max_ttl: Option<i64>,
    /// The first call to a resource API spends the token (on every node).
    pub single_use: bool,
    /// Whether a refresh token may accompany it.
    pub refresh_allowed: bool,
}

pub fn issuance_rules<'a>(scopes: impl IntoIterator<Item = &'a str>) -> IssuanceRules {
    let nv = scopes.into_iter().any(is_number_verification_scope);
    IssuanceRules { max_ttl: nv.then_some(NV_MAX_TOKEN_TTL), single_use: nv, refresh_allowed: !nv }
}

impl IssuanceRules {
    /// `ttl` within the bound.
    pub fn ttl(&self, ttl: i64) -> i64 {
        self.max_ttl.map_or(ttl, |m| ttl.min(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_verification_scopes_restrict_issuance() {
        let r = issuance_rules(["openid", NV_VERIFY]);
        assert_eq!(r, IssuanceRules { max_ttl: Some(300), single_use: true, refresh_allowed: false });
        assert_eq!(r.ttl(3600), 300);
        assert_eq!(r.ttl(120), 120);
        let r = issuance_rules([SIM_SWAP_CHECK, "offline_access"]);
        assert_eq!(r, IssuanceRules { max_ttl: None, single_use: false, refresh_allowed: true });
        assert_eq!(r.ttl(3600), 3600);
        assert!(issuance_rules([SIM_SWAP, NV_DEVICE_PHONE_NUMBER_READ]).single_use);
    }

    #[test]
    fn network_authentication() {
        assert!(is_network_authenticated(&["nba".into()]));
        assert!(!is_network_authenticated(&["hwk".into()]));
        assert!(!is_network_authenticated(&[]));
    }
}
