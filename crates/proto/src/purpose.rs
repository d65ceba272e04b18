//! Purposes (CAMARA profile §1.9): exactly one `dpv:<Purpose>` per
//! three-legged request, either as a scope value (`scope=openid
//! dpv:FraudPreventionAndDetection sim-swap`) or in the older form that seed
//! 000 documents, a separate `purpose=dpv:<Purpose>#<scope>` parameter (also
//! accepted inside `scope`). Both normalise to the same request.

use crate::error::OAuthError;
use crate::scope::{Scope, ScopeSet};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Purpose(String);

impl Purpose {
    /// `^dpv:[a-zA-Z0-9]+$` (the Consent Info API's pattern).
    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let name =
            s.strip_prefix("dpv:").ok_or_else(|| OAuthError::invalid_scope("a purpose is dpv:<Purpose>"))?;
        if name.is_empty() || name.len() > 100 || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(OAuthError::invalid_scope(format!("`{s}` is not a valid dpv: purpose")));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request's purpose and the scopes asked under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurposeScopes {
    pub purpose: Purpose,
    /// API scopes plus `openid` / `offline_access` when asked; never `dpv:`.
    pub scopes: ScopeSet,
}

/// Splits `dpv:P` or `dpv:P#scope`.
fn split_dpv(s: &str) -> Result<(Purpose, Option<Scope>), OAuthError> {
    match s.split_once('#') {
        Some((p, scope)) => Ok((Purpose::parse(p)?, Some(Scope::parse(scope)?))),
        None => Ok((Purpose::parse(s)?, None)),
    }
}

/// Normalises `scope` and the optional `purpose` parameter. `require` says
/// whether a purpose must be present (three-legged requests).
pub fn normalise(scope: Option<&str>, purpose: Option<&str>) -> Result<Option<PurposeScopes>, OAuthError> {
    normalise_with(scope, purpose, |_| None)
}

/// [`normalise`], where `vendor` may read a whole value (a scope value, or
/// the `purpose` parameter) as a purpose and a scope: a client's
/// compatibility profile naming an SDK's scope names
/// (`netauth_domain::compat`). A value it does not know is read as
/// [`normalise`] reads it.
pub fn normalise_with(
    scope: Option<&str>,
    purpose: Option<&str>,
    vendor: impl Fn(&str) -> Option<(Purpose, Scope)>,
) -> Result<Option<PurposeScopes>, OAuthError> {
    let mut found: Option<Purpose> = None;
    let mut scopes = Vec::new();
    let mut take = |p: Purpose| -> Result<(), OAuthError> {
        match &found {
            Some(f) if *f != p => Err(OAuthError::invalid_scope("exactly one dpv: purpose per request")),
            _ => {
                found = Some(p);
                Ok(())
            }
        }
    };
    if let Some(p) = purpose {
        let (p, s) = match vendor(p) {
            Some((p, s)) => (p, Some(s)),
            None => split_dpv(p)?,
        };
        take(p)?;
        scopes.extend(s);
    }
    if let Some(s) = scope {
        for v in ScopeSet::parse(s)?.iter() {
            if let Some((p, s)) = vendor(v.as_str()) {
                take(p)?;
                scopes.push(s);
            } else if v.as_str().starts_with("dpv:") {
                let (p, s) = split_dpv(v.as_str())?;
                take(p)?;
                scopes.extend(s);
            } else {
                scopes.push(v.clone());
            }
        }
    }
    Ok(found.map(|purpose| PurposeScopes { purpose, scopes: ScopeSet::from_scopes(scopes) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_syntaxes_normalise_to_the_same_request() {
        let seed = normalise(None, Some("dpv:FraudPreventionAndDetection#sim-swap")).unwrap().unwrap();
        let camara = normalise(Some("dpv:FraudPreventionAndDetection sim-swap"), None).unwrap().unwrap();
        let inside = normalise(Some("dpv:FraudPreventionAndDetection#sim-swap"), None).unwrap().unwrap();
        assert_eq!(seed, camara);
        assert_eq!(seed, inside);
        assert_eq!(seed.purpose.as_str(), "dpv:FraudPreventionAndDetection");
        assert_eq!(seed.scopes.to_string(), "sim-swap");
        let mixed =
            normalise(Some("openid"), Some("dpv:FraudPreventionAndDetection#sim-swap")).unwrap().unwrap();
        assert_eq!(mixed.scopes.to_string(), "openid sim-swap");
    }

    #[test]
    fn one_purpose_only() {
        let e = normalise(Some("dpv:A dpv:B x"), None).unwrap_err();
        assert_eq!(e.code.as_str(), "invalid_scope");
        let e = normalise(Some("dpv:A x"), Some("dpv:B#y")).unwrap_err();
        assert_eq!(e.code.as_str(), "invalid_scope");
        // The same purpose twice is one purpose.
        assert!(normalise(Some("dpv:A x"), Some("dpv:A#y")).is_ok());
        assert_eq!(normalise(Some("openid x"), None).unwrap(), None);
        assert!(normalise(Some("dpv:Bad-Name x"), None).is_err());
        assert!(normalise(None, Some("FraudPrevention#sim-swap")).is_err());
    }
}
