//! The refresh grant (RFC 6749 §6) with rotation and reuse detection
//! (OAuth 2.0 Security BCP §4.14): every use returns a new refresh token; a
//! rotated one presented again, after a short grace window for parallel
//! refreshes, is a replay and revokes the whole family.
//!
//! ```text
//! token (grant_type=refresh_token) ─► decide_refresh(record, client, scope, rules)
//!   Invalid | Scope (invalid_scope) | Replay (revoke the family) | ConsentGone
//!   Proceed { decision, rotate } ─► subscriber active? consent on record?
//!     ─► rotate (lost a race? is_replay) ─► issue in the same family
//! ```

use crate::UnixTime;
use crate::ciba::RefreshTokenRecord;
use crate::client::Client;
use crate::flows::policy::{LegalBases, PolicyDecision, PolicyError, PolicyGrant, authorize_request};
use netauth_proto::{OAuthError, ScopeSet};

/// What a refresh request may be decided from.
pub struct RefreshInput<'a> {
    /// The stored record of the presented token (`None`: unknown).
    pub record: Option<&'a RefreshTokenRecord>,
    pub client: &'a Client,
    /// The `scope` parameter (narrowing), if sent.
    pub asked: Option<&'a ScopeSet>,
    pub rules: &'a LegalBases,
    /// `tokens.refresh_reuse_grace_secs`.
    pub grace_secs: i64,
    /// A `scope` wider than the grant is `invalid_scope` (SECURITY.md 13),
    /// except on seed 003's path, whose guide says that "if included with an
    /// invalid scope, the scope that have been originally granted by the
    /// end-user is returned": there it falls back to the whole grant.
    pub originally_granted_on_invalid_scope: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Unknown, another client's, revoked or expired: `invalid_grant`.
    Invalid,
    /// A scope beyond the grant: `invalid_scope`, nothing spent.
    Scope(PolicyError),
    /// A rotated token presented again outside the grace window: revoke
    /// the family and its access tokens, then `invalid_grant`.
    Replay,
    /// The legal basis the grant relied on is gone: `invalid_grant`.
    ConsentGone,
    /// Go on: check the subscriber and the consent on record, rotate the
    /// token unless it was rotated within the grace window, and issue.
    Proceed { decision: PolicyDecision, rotate: bool },
}

/// Decides a refresh at `now`. The order matters: a scope error spends
/// nothing and raises no alarm; a replay is detected before anything else
/// about the grant is looked at.
pub fn decide_refresh(input: RefreshInput<'_>, now: UnixTime) -> RefreshDecision {
    let RefreshInput { record, client, asked, rules, grace_secs, originally_granted_on_invalid_scope } =
        input;
    let Some(rec) = record else { return RefreshDecision::Invalid };
    if rec.client_id != client.client_id || rec.revoked || rec.expires_at <= now {
        return RefreshDecision::Invalid;
    }
    let asked = asked.filter(|a| !originally_granted_on_invalid_scope || a.is_subset_of(&rec.scope));
    let policy = authorize_request(
        client,
        asked,
        rec.purpose.as_ref(),
        rules,
        PolicyGrant::Refresh { granted: &rec.scope },
    );
    if let Err(e @ PolicyError::ScopeNotGranted(_)) = policy {
        return RefreshDecision::Scope(e);
    }
    if rec.rotated_at.is_some() && is_replay(rec.rotated_at, grace_secs, now) {
        return RefreshDecision::Replay;
    }
    match policy {
        Ok(decision) => RefreshDecision::Proceed { decision, rotate: rec.rotated_at.is_none() },
        Err(_) => RefreshDecision::ConsentGone,
    }
}

/// Whether a token rotated at `rotated_at` and presented at `now` is a
/// replay: anything but a presentation within the grace window (`grace_secs`
/// of 0 disables the window). Also decides a lost rotation race.
pub fn is_replay(rotated_at: Option<UnixTime>, grace_secs: i64, now: UnixTime) -> bool {
    !rotated_at.is_some_and(|at| grace_secs > 0 && now - at <= grace_secs)
}

impl RefreshDecision {
    /// The error this decision answers with, if it is one.
    pub fn error(&self) -> Option<OAuthError> {
        match self {
            Self::Invalid | Self::Replay => Some(invalid_refresh_token()),
            Self::Scope(e) => Some(e.clone().into()),
            Self::ConsentGone => Some(consent_gone()),
            Self::Proceed { .. } => None,
        }
    }
}

pub fn invalid_refresh_token() -> OAuthError {
    OAuthError::invalid_grant("invalid, expired or revoked refresh token")
}

pub fn consent_gone() -> OAuthError {
    OAuthError::invalid_grant("consent for this grant is no longer given")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::{ConsentCapture, LegalBasis, LegalBasisRule};
    use crate::flows::test_support::client;
    use netauth_proto::{GrantType, Purpose};

    const FRAUD: &str = "dpv:FraudPreventionAndDetection";
    const T0: UnixTime = 1_700_000_000;

    fn record(rotated_at: Option<UnixTime>, revoked: bool) -> RefreshTokenRecord {
        RefreshTokenRecord {
            token_hash: "h".into(),
            family_id: "f".into(),
            client_id: "client-1".into(),
            subscriber_id: "sub-1".into(),
            scope: ScopeSet::parse("offline_access openid sim-swap").unwrap(),
            purpose: Some(Purpose::parse(FRAUD).unwrap()),
            amr: vec![],
            created_at: T0 - 100,
            expires_at: T0 + 1000,
            rotated_at,
            revoked,
        }
    }

    fn rules(with_sim_swap: bool) -> LegalBases {
        LegalBases::new(with_sim_swap.then(|| LegalBasisRule {
            scope: "sim-swap".into(),
            purpose: FRAUD.into(),
            basis: LegalBasis::Contract,
            capture: ConsentCapture::Handset,
        }))
    }

    #[test]
    fn decisions() {
        let c = client(&[], &[], &[GrantType::RefreshToken]);
        let mut other = c.clone();
        other.client_id = "client-2".into();
        let mut expired = record(None, false);
        expired.expires_at = T0;
        let narrow = ScopeSet::parse("sim-swap").unwrap();
        let wider = ScopeSet::parse("sim-swap kyc").unwrap();
        let grace = 5;
        let proceed = |rotate| matches!(rotate, RefreshDecision::Proceed { .. });
        // (name, record, client, asked, rules present, expected)
        type Case<'a> =
            (&'a str, Option<RefreshTokenRecord>, &'a Client, Option<&'a ScopeSet>, bool, RefreshDecision);
        let cases: Vec<Case> = vec![
            ("unknown", None, &c, None, true, RefreshDecision::Invalid),
            ("foreign", Some(record(None, false)), &other, None, true, RefreshDecision::Invalid),
            ("revoked", Some(record(None, true)), &c, None, true, RefreshDecision::Invalid),
            ("expired", Some(expired), &c, None, true, RefreshDecision::Invalid),
            (
                "beyond the grant",
                Some(record(Some(T0 - 60), false)),
                &c,
                Some(&wider),
                true,
                RefreshDecision::Scope(PolicyError::ScopeNotGranted(
                    netauth_proto::Scope::parse("kyc").unwrap(),
                )),
            ),
            (
                "reuse after the grace window",
                Some(record(Some(T0 - 6), false)),
                &c,
                None,
                true,
                RefreshDecision::Replay,
            ),
            (
                "reuse, legal basis gone",
                Some(record(Some(T0 - 60), false)),
                &c,
                None,
                false,
                RefreshDecision::Replay,
            ),
            ("legal basis gone", Some(record(None, false)), &c, None, false, RefreshDecision::ConsentGone),
        ];
        for (name, rec, cl, asked, with_rule, want) in cases {
            let r = rules(with_rule);
            let got = decide_refresh(
                RefreshInput {
                    record: rec.as_ref(),
                    client: cl,
                    asked,
                    rules: &r,
                    grace_secs: grace,
                    originally_granted_on_invalid_scope: false,
                },
                T0,
            );
            assert_eq!(got, want, "{name}");
        }
        let r = rules(true);
        let input = |rec, asked| RefreshInput {
            record: rec,
            client: &c,
            asked,
            rules: &r,
            grace_secs: grace,
            originally_granted_on_invalid_scope: false,
        };
        let fresh = record(None, false);
        match decide_refresh(input(Some(&fresh), Some(&narrow)), T0) {
            RefreshDecision::Proceed { decision, rotate } => {
                assert!(rotate);
                assert_eq!(decision.scopes.to_string(), "offline_access sim-swap", "narrowed, refresh kept");
            }
            other => panic!("{other:?}"),
        }
        // Seed 003's path: a scope beyond the grant yields the whole grant.
        let seed_003 = RefreshInput {
            record: Some(&fresh),
            client: &c,
            asked: Some(&wider),
            rules: &r,
            grace_secs: grace,
            originally_granted_on_invalid_scope: true,
        };
        match decide_refresh(seed_003, T0) {
            RefreshDecision::Proceed { decision, .. } => {
                assert_eq!(decision.scopes.to_string(), "offline_access openid sim-swap", "the whole grant");
            }
            other => panic!("{other:?}"),
        }
        let within = record(Some(T0 - 5), false);
        let d = decide_refresh(input(Some(&within), None), T0);
        assert!(proceed(d.clone()), "reuse within the grace window: {d:?}");
        assert!(matches!(d, RefreshDecision::Proceed { rotate: false, .. }), "already rotated");
    }

    #[test]
    fn grace_window() {
        assert!(!is_replay(Some(T0 - 5), 5, T0));
        assert!(is_replay(Some(T0 - 6), 5, T0));
        assert!(is_replay(Some(T0), 0, T0), "no window");
        assert!(is_replay(None, 5, T0), "a lost race with nothing rotated");
        let codes: Vec<_> = [
            RefreshDecision::Invalid,
            RefreshDecision::Replay,
            RefreshDecision::ConsentGone,
            RefreshDecision::Scope(PolicyError::NoApiScope),
        ]
        .iter()
        .map(|d| d.error().map(|e| e.code.as_str()))
        .collect();
        assert_eq!(
            codes,
            [Some("invalid_grant"), Some("invalid_grant"), Some("invalid_grant"), Some("invalid_scope")]
        );
    }
}
