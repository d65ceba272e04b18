//! The authorization-request policy: may this client ask for these scopes
//! with this purpose, and which legal basis applies to each (CAMARA API
//! access and user consent; RFC 6749 §3.3 for the scopes; OIDC Core §11 for
//! `offline_access`). One function, [`authorize_request`], for every way a
//! client asks: client credentials, CIBA, refresh, the subscriber's consent
//! page, and the authorization-code and JWT bearer grants.
//!
//! ```text
//! requested scopes + purpose ──► authorize_request(client, …, rules, grant)
//!     ├─ purpose: required? registered for the client?
//!     ├─ scopes: within the grant's ceiling (the registration, or what a
//!     │          refresh family was granted); offline_access dropped when the
//!     │          client may not refresh
//!     └─ legal basis of each API scope under the purpose (LegalBases; an
//!        OpenID Connect claims scope without a rule: `consent`)
//!  ──► PolicyDecision { scopes, purpose, bases }  ──► consent::decide_consent
//! ```
//! The rules come from the Store but are read through a cache kept current
//! from the revocation log, so asking costs no database round trip.

use crate::client::Client;
use crate::consent::{ConsentCapture, LegalBasis, LegalBasisRule};
use netauth_proto::{GrantType, OAuthError, Purpose, Scope, ScopeSet};
use std::collections::HashMap;

/// The operator's legal-basis rules, indexed by purpose then scope.
#[derive(Debug, Default, Clone)]
pub struct LegalBases {
    by_purpose: HashMap<String, HashMap<String, LegalBasisRule>>,
    len: usize,
}

impl LegalBases {
    pub fn new(rules: impl IntoIterator<Item = LegalBasisRule>) -> Self {
        let mut by_purpose: HashMap<String, HashMap<String, LegalBasisRule>> = HashMap::new();
        for r in rules {
            by_purpose.entry(r.purpose.clone()).or_default().insert(r.scope.clone(), r);
        }
        let len = by_purpose.values().map(HashMap::len).sum();
        Self { by_purpose, len }
    }

    /// The rule for (scope, purpose), if the operator set one.
    pub fn rule(&self, scope: &str, purpose: &str) -> Option<&LegalBasisRule> {
        self.by_purpose.get(purpose)?.get(scope)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The scopes of OIDC Core §5.4 (`phone`, `profile`, `email`, `address`):
/// each releases claims about the person. They are API scopes like any
/// other, with two differences: a code-flow request may ask for them
/// without a purpose (seeds 001 and 003 never declare one), and without an
/// operator rule their legal basis is `consent`: the person decides.
pub const OIDC_CLAIM_SCOPES: [&str; 4] = ["phone", "profile", "email", "address"];

pub fn is_claims_scope(s: &Scope) -> bool {
    OIDC_CLAIM_SCOPES.contains(&s.as_str())
}

/// How the client asks, which decides the ceiling on scopes and whether a
/// purpose (and so a legal basis) is involved.
#[derive(Debug, Clone, Copy)]
pub enum PolicyGrant<'a> {
    /// RFC 6749 §4.4: two-legged, no purpose; without `scope`, every scope
    /// the client is registered for (the "pre-defined default" of §3.3).
    ClientCredentials,
    /// CIBA (CAMARA profile §1.5): a purpose and at least one API scope.
    Ciba,
    /// `/authorize` (RFC 6749 §4.1): a purpose whenever an API scope is
    /// asked; a plain OpenID Connect sign-in (`openid` alone, or with OIDC
    /// claims scopes) needs none. Without a purpose, the claims scopes'
    /// bases are `consent`, recorded under the server's default purpose.
    AuthorizationCode,
    /// RFC 7523 §2.1 (CAMARA profile §1.7): like CIBA.
    JwtBearer,
    /// RFC 6749 §6: at most what the family was granted, under the purpose
    /// it was granted for; `offline_access` stays (a new refresh token is
    /// returned).
    Refresh { granted: &'a ScopeSet },
    /// The subscriber opting in on the consent page: every scope named is an
    /// API scope the client is registered for, with a legal basis.
    ConsentPage,
}

/// The legal basis that applies to one API scope under the purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeBasis {
    pub scope: Scope,
    pub basis: LegalBasis,
    pub capture: ConsentCapture,
}

/// What may be granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDecision {
    /// The scopes to grant: what was asked (or the default), less what is
    /// silently not granted; `openid` and `offline_access` included.
    pub scopes: ScopeSet,
    pub purpose: Option<Purpose>,
    /// The basis of each API scope (three-legged requests with a purpose).
    pub bases: Vec<ScopeBasis>,
}

impl PolicyDecision {
    /// API scopes whose legal basis is `consent`: the subscriber's opt-in
    /// must be on record (or be asked for).
    pub fn consent_scopes(&self) -> impl Iterator<Item = &Scope> {
        self.bases.iter().filter(|b| b.basis == LegalBasis::Consent).map(|b| &b.scope)
    }
}

/// Why a request is refused. Each maps to the OAuth error the endpoints
/// have always answered with; the consent page words its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a dpv: purpose is required (purpose=dpv:<Purpose>#<scope> or a dpv: scope)")]
    PurposeRequired,
    #[error("the client may not declare {0}")]
    PurposeNotAllowed(Purpose),
    #[error("the client may not request scope `{0}`")]
    ScopeNotAllowed(Scope),
    #[error("scope `{0}` was not granted")]
    ScopeNotGranted(Scope),
    #[error("at least one API scope is required")]
    NoApiScope,
    #[error("scope `{scope}` may not be used for {purpose}")]
    NoLegalBasis { scope: Scope, purpose: Purpose },
}

impl From<PolicyError> for OAuthError {
    fn from(e: PolicyError) -> Self {
        OAuthError::invalid_scope(e.to_string())
    }
}

/// Decides whether `client` may ask for `requested` (`None`: the request
/// named no scope) with `purpose` under `grant`, and which legal basis of
/// `rules` applies to each API scope.
pub fn authorize_request(
    client: &Client,
    requested: Option<&ScopeSet>,
    purpose: Option<&Purpose>,
    rules: &LegalBases,
    grant: PolicyGrant<'_>,
) -> Result<PolicyDecision, PolicyError> {
    let empty = ScopeSet::default();
    let asked = requested.unwrap_or(&empty);
    let registered = |s: &Scope| client.scopes.iter().any(|c| c == s.as_str());
    let scopes = match grant {
        PolicyGrant::ClientCredentials => match requested {
            Some(s) => {
                if let Some(bad) = s.iter().find(|s| !registered(s)) {
                    return Err(PolicyError::ScopeNotAllowed(bad.clone()));
                }
                s.clone()
            }
            // Registered scopes were validated when registered.
            None => {
                ScopeSet::from_scopes(client.scopes.iter().filter_map(|s| Scope::parse(s).ok()).collect())
            }
        },
        PolicyGrant::Refresh { granted } => match requested {
            Some(s) => {
                if let Some(bad) = s.iter().find(|s| !granted.has(s)) {
                    return Err(PolicyError::ScopeNotGranted(bad.clone()));
                }
                let mut s = s.clone();
                s.insert(Scope::OFFLINE_ACCESS);
                s
            }
            None => granted.clone(),
        },
        PolicyGrant::ConsentPage => {
            if asked.is_empty() {
                return Err(PolicyError::NoApiScope);
            }
            let purpose = purpose.ok_or(PolicyError::PurposeRequired)?;
            check_purpose(client, purpose)?;
            if let Some(bad) = asked.iter().find(|s| !registered(s)) {
                return Err(PolicyError::ScopeNotAllowed(bad.clone()));
            }
            // On this page every scope named is an API scope: `openid` is
            // not something a subscriber consents to.
            let bases = asked.iter().map(|s| basis(rules, s, purpose)).collect::<Result<_, _>>()?;
            return Ok(PolicyDecision { scopes: asked.clone(), purpose: Some(purpose.clone()), bases });
        }
        PolicyGrant::Ciba | PolicyGrant::AuthorizationCode | PolicyGrant::JwtBearer => {
            let needs_api_scope = !matches!(grant, PolicyGrant::AuthorizationCode);
            match purpose {
                Some(p) => check_purpose(client, p)?,
                None if needs_api_scope || asked.api_scopes().any(|s| !is_claims_scope(s)) => {
                    return Err(PolicyError::PurposeRequired);
                }
                None => {}
            }
            let mut granted = Vec::with_capacity(asked.len());
            for s in asked.iter() {
                if *s == Scope::OFFLINE_ACCESS && !client.allows_grant(GrantType::RefreshToken) {
                    continue; // not allowed: silently not granted (OIDC Core §11)
                }
                if !s.is_protocol() && !registered(s) {
                    return Err(PolicyError::ScopeNotAllowed(s.clone()));
                }
                granted.push(s.clone());
            }
            let granted = ScopeSet::from_scopes(granted);
            if needs_api_scope && granted.api_scopes().next().is_none() {
                return Err(PolicyError::NoApiScope);
            }
            granted
        }
    };
    let bases = match (purpose, grant) {
        (_, PolicyGrant::ClientCredentials) => Vec::new(),
        // Only claims scopes get this far without a purpose (see above).
        (None, PolicyGrant::AuthorizationCode) => scopes
            .api_scopes()
            .map(|s| ScopeBasis {
                scope: s.clone(),
                basis: LegalBasis::Consent,
                capture: ConsentCapture::Handset,
            })
            .collect(),
        (None, _) => Vec::new(),
        (Some(p), _) => scopes.api_scopes().map(|s| basis(rules, s, p)).collect::<Result<_, _>>()?,
    };
    let purpose = match grant {
        PolicyGrant::ClientCredentials => None,
        _ => purpose.cloned(),
    };
    Ok(PolicyDecision { scopes, purpose, bases })
}

fn check_purpose(client: &Client, p: &Purpose) -> Result<(), PolicyError> {
    if client.purposes.iter().any(|x| x == p.as_str()) {
        Ok(())
    } else {
        Err(PolicyError::PurposeNotAllowed(p.clone()))
    }
}

fn basis(rules: &LegalBases, scope: &Scope, purpose: &Purpose) -> Result<ScopeBasis, PolicyError> {
    match rules.rule(scope.as_str(), purpose.as_str()) {
        Some(r) => Ok(ScopeBasis { scope: scope.clone(), basis: r.basis, capture: r.capture }),
        None if is_claims_scope(scope) => Ok(ScopeBasis {
            scope: scope.clone(),
            basis: LegalBasis::Consent,
            capture: ConsentCapture::Handset,
        }),
        None => Err(PolicyError::NoLegalBasis { scope: scope.clone(), purpose: purpose.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::test_support::client;

    const FRAUD: &str = "dpv:FraudPreventionAndDetection";

    fn rules() -> LegalBases {
        let r = |scope: &str, basis, capture| LegalBasisRule {
            scope: scope.into(),
            purpose: FRAUD.into(),
            basis,
            capture,
        };
        LegalBases::new([
            r("sim-swap", LegalBasis::Consent, ConsentCapture::Handset),
            r("number-verification:verify", LegalBasis::LegitimateInterest, ConsentCapture::Handset),
            r("kyc-match", LegalBasis::Consent, ConsentCapture::Refuse),
        ])
    }

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    fn fraud() -> Purpose {
        Purpose::parse(FRAUD).unwrap()
    }

    #[test]
    fn client_credentials_stay_within_the_registration() {
        let c = client(&["read", "write"], &[], &[GrantType::ClientCredentials]);
        let r = rules();
        let d = authorize_request(&c, Some(&set("write")), None, &r, PolicyGrant::ClientCredentials).unwrap();
        assert_eq!(d.scopes.to_string(), "write");
        assert!(d.bases.is_empty() && d.purpose.is_none());
        let d = authorize_request(&c, None, None, &r, PolicyGrant::ClientCredentials).unwrap();
        assert_eq!(d.scopes.to_string(), "read write", "the registered default");
        let e = authorize_request(&c, Some(&set("admin")), None, &r, PolicyGrant::ClientCredentials);
        assert_eq!(e.unwrap_err().to_string(), "the client may not request scope `admin`");
    }

    #[test]
    fn three_legged_requests() {
        let can_refresh = client(
            &["sim-swap", "number-verification:verify", "kyc-match", "unruled"],
            &[FRAUD],
            &[GrantType::Ciba, GrantType::RefreshToken],
        );
        let cannot = client(&["sim-swap"], &[FRAUD], &[GrantType::Ciba]);
        let r = rules();
        let p = fraud();
        let other = Purpose::parse("dpv:Marketing").unwrap();
        type Case<'a> = (&'a Client, &'a str, Option<&'a Purpose>, Result<&'a str, PolicyError>);
        let cases: Vec<Case> = vec![
            (&can_refresh, "openid offline_access sim-swap", Some(&p), Ok("offline_access openid sim-swap")),
            (&cannot, "openid offline_access sim-swap", Some(&p), Ok("openid sim-swap")),
            (&can_refresh, "sim-swap", None, Err(PolicyError::PurposeRequired)),
            (&can_refresh, "sim-swap", Some(&other), Err(PolicyError::PurposeNotAllowed(other.clone()))),
            (
                &cannot,
                "kyc-match",
                Some(&p),
                Err(PolicyError::ScopeNotAllowed(Scope::parse("kyc-match").unwrap())),
            ),
            (&can_refresh, "openid offline_access", Some(&p), Err(PolicyError::NoApiScope)),
            (
                &can_refresh,
                "unruled",
                Some(&p),
                Err(PolicyError::NoLegalBasis {
                    scope: Scope::parse("unruled").unwrap(),
                    purpose: p.clone(),
                }),
            ),
        ];
        for (c, asked, purpose, want) in cases {
            let got = authorize_request(c, Some(&set(asked)), purpose, &r, PolicyGrant::Ciba);
            match (got, want) {
                (Ok(d), Ok(w)) => assert_eq!(d.scopes.to_string(), w, "{asked}"),
                (Err(e), Err(w)) => assert_eq!(e, w, "{asked}"),
                (got, want) => panic!("{asked}: got {got:?}, want {want:?}"),
            }
        }
        let d = authorize_request(
            &can_refresh,
            Some(&set("sim-swap number-verification:verify kyc-match")),
            Some(&p),
            &r,
            PolicyGrant::Ciba,
        )
        .unwrap();
        let consent: Vec<&str> = d.consent_scopes().map(Scope::as_str).collect();
        assert_eq!(consent, ["kyc-match", "sim-swap"]);
        assert_eq!(d.bases.len(), 3);
        // A plain OpenID Connect sign-in needs no purpose; API scopes do.
        let code = PolicyGrant::AuthorizationCode;
        assert!(authorize_request(&can_refresh, Some(&set("openid")), None, &r, code).is_ok());
        assert_eq!(
            authorize_request(&can_refresh, Some(&set("openid sim-swap")), None, &r, code),
            Err(PolicyError::PurposeRequired)
        );
    }

    #[test]
    fn oidc_claims_scopes_need_no_purpose_and_default_to_consent() {
        let c = client(&["phone", "sim-swap"], &[FRAUD], &[GrantType::AuthorizationCode]);
        let r = rules();
        let code = PolicyGrant::AuthorizationCode;
        // Seeds 001 and 003: `openid phone`, no purpose, no rule.
        let d = authorize_request(&c, Some(&set("openid phone")), None, &r, code).unwrap();
        assert_eq!(d.purpose, None);
        assert_eq!(d.consent_scopes().map(Scope::as_str).collect::<Vec<_>>(), ["phone"]);
        // With a purpose and no rule for it: still the person's decision.
        let d = authorize_request(&c, Some(&set("openid phone sim-swap")), Some(&fraud()), &r, code).unwrap();
        assert_eq!(d.consent_scopes().map(Scope::as_str).collect::<Vec<_>>(), ["phone", "sim-swap"]);
        // An operator rule wins.
        let contract = LegalBases::new([LegalBasisRule {
            scope: "phone".into(),
            purpose: FRAUD.into(),
            basis: LegalBasis::Contract,
            capture: ConsentCapture::Handset,
        }]);
        let d = authorize_request(&c, Some(&set("openid phone")), Some(&fraud()), &contract, code).unwrap();
        assert_eq!(d.consent_scopes().count(), 0);
        // Other API scopes still need a purpose; CIBA still needs one always.
        assert_eq!(
            authorize_request(&c, Some(&set("phone sim-swap")), None, &r, code),
            Err(PolicyError::PurposeRequired)
        );
        assert_eq!(
            authorize_request(&c, Some(&set("phone")), None, &r, PolicyGrant::Ciba),
            Err(PolicyError::PurposeRequired)
        );
    }

    #[test]
    fn refresh_narrows_within_the_grant() {
        let c = client(&[], &[], &[GrantType::RefreshToken]);
        let r = rules();
        let p = fraud();
        let granted = set("offline_access openid sim-swap");
        let g = PolicyGrant::Refresh { granted: &granted };
        let d = authorize_request(&c, None, Some(&p), &r, g).unwrap();
        assert_eq!(d.scopes, granted);
        assert_eq!(d.consent_scopes().count(), 1);
        let d = authorize_request(&c, Some(&set("sim-swap")), Some(&p), &r, g).unwrap();
        assert_eq!(d.scopes.to_string(), "offline_access sim-swap", "offline_access stays");
        assert_eq!(
            authorize_request(&c, Some(&set("kyc-match")), Some(&p), &r, g),
            Err(PolicyError::ScopeNotGranted(Scope::parse("kyc-match").unwrap()))
        );
        let empty = LegalBases::default();
        assert!(matches!(
            authorize_request(&c, None, Some(&p), &empty, g),
            Err(PolicyError::NoLegalBasis { .. })
        ));
    }

    #[test]
    fn consent_page() {
        let c = client(&["sim-swap", "openid"], &[FRAUD], &[GrantType::Ciba]);
        let r = rules();
        let p = fraud();
        let g = PolicyGrant::ConsentPage;
        assert_eq!(authorize_request(&c, Some(&set("")), Some(&p), &r, g), Err(PolicyError::NoApiScope));
        let d = authorize_request(&c, Some(&set("sim-swap")), Some(&p), &r, g).unwrap();
        assert_eq!(d.bases[0].basis, LegalBasis::Consent);
        assert!(
            matches!(
                authorize_request(&c, Some(&set("openid")), Some(&p), &r, g),
                Err(PolicyError::NoLegalBasis { .. })
            ),
            "openid is not consented to"
        );
    }
}
