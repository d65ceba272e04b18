//! The consent decision (CAMARA API access and user consent): after the
//! policy has found the legal basis of each API scope, a scope whose basis
//! is `consent` proceeds only with the subscriber's opt-in on record for
//! (client, scope, purpose); the others proceed without asking.

use crate::consent::{Consent, ConsentCapture, ConsentStatus};
use crate::flows::policy::PolicyDecision;
use netauth_proto::Scope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentOutcome {
    /// Every scope has a basis that needs nothing more, or consent on record.
    Granted,
    /// Consent is missing for these scopes; ask this way (`Refuse` when any
    /// of their rules says so).
    Missing { scopes: Vec<Scope>, capture: ConsentCapture },
}

/// Decides from the consents on record (`on_record`: the subscriber's
/// records for this client, any scope and purpose) whether the request
/// proceeds.
pub fn decide_consent(policy: &PolicyDecision, on_record: &[Consent]) -> ConsentOutcome {
    let Some(purpose) = &policy.purpose else { return ConsentOutcome::Granted };
    let mut missing = Vec::new();
    let mut capture = ConsentCapture::Handset;
    for b in policy.bases.iter().filter(|b| b.basis == crate::consent::LegalBasis::Consent) {
        let given = on_record.iter().any(|c| {
            c.scope == b.scope.as_str() && c.purpose == purpose.as_str() && c.status == ConsentStatus::Granted
        });
        if given {
            continue;
        }
        if b.capture == ConsentCapture::Refuse {
            capture = ConsentCapture::Refuse;
        }
        missing.push(b.scope.clone());
    }
    if missing.is_empty() {
        ConsentOutcome::Granted
    } else {
        ConsentOutcome::Missing { scopes: missing, capture }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::LegalBasis;
    use crate::flows::policy::ScopeBasis;
    use netauth_proto::{Purpose, ScopeSet};

    const FRAUD: &str = "dpv:FraudPreventionAndDetection";

    fn decision(bases: &[(&str, LegalBasis, ConsentCapture)]) -> PolicyDecision {
        PolicyDecision {
            scopes: ScopeSet::default(),
            purpose: Some(Purpose::parse(FRAUD).unwrap()),
            bases: bases
                .iter()
                .map(|(s, basis, capture)| ScopeBasis {
                    scope: Scope::parse(s).unwrap(),
                    basis: *basis,
                    capture: *capture,
                })
                .collect(),
        }
    }

    fn consent(scope: &str, purpose: &str, status: ConsentStatus) -> Consent {
        Consent {
            subscriber_id: "s".into(),
            client_id: "c".into(),
            scope: scope.into(),
            purpose: purpose.into(),
            status,
            updated_at: 0,
        }
    }

    #[test]
    fn outcomes() {
        use ConsentCapture::{Handset, Refuse};
        use LegalBasis::{Consent as C, Contract, LegitimateInterest};
        let missing = |s: &[&str], capture| ConsentOutcome::Missing {
            scopes: s.iter().map(|s| Scope::parse(s).unwrap()).collect(),
            capture,
        };
        let granted = consent("a", FRAUD, ConsentStatus::Granted);
        let revoked = consent("a", FRAUD, ConsentStatus::Revoked);
        let elsewhere = consent("a", "dpv:Marketing", ConsentStatus::Granted);
        type Case<'a> = (&'a str, Vec<(&'a str, LegalBasis, ConsentCapture)>, Vec<Consent>, ConsentOutcome);
        let cases: Vec<Case> = vec![
            (
                "no consent basis",
                vec![("a", Contract, Handset), ("b", LegitimateInterest, Refuse)],
                vec![],
                ConsentOutcome::Granted,
            ),
            ("on record", vec![("a", C, Handset)], vec![granted.clone()], ConsentOutcome::Granted),
            ("missing", vec![("a", C, Handset)], vec![], missing(&["a"], Handset)),
            ("revoked", vec![("a", C, Handset)], vec![revoked], missing(&["a"], Handset)),
            ("other purpose", vec![("a", C, Handset)], vec![elsewhere], missing(&["a"], Handset)),
            ("refuse wins", vec![("a", C, Handset), ("b", C, Refuse)], vec![], missing(&["a", "b"], Refuse)),
            (
                "partly given",
                vec![("a", C, Handset), ("b", C, Handset)],
                vec![granted],
                missing(&["b"], Handset),
            ),
        ];
        for (name, bases, records, want) in cases {
            assert_eq!(decide_consent(&decision(&bases), &records), want, "{name}");
        }
        let mut no_purpose = decision(&[("a", C, Handset)]);
        no_purpose.purpose = None;
        assert_eq!(decide_consent(&no_purpose, &[]), ConsentOutcome::Granted);
    }
}
