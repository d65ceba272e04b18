//! Scope values (RFC 6749 §3.3): space-delimited, case-sensitive strings of
//! `%x21 / %x23-5B / %x5D-7E`. Order does not matter and duplicates collapse.
//!
//! A request's scopes are a [`ScopeSet`] from parsing to the stored record
//! and the sealed token; [`ScopeSet::as_space_string`] keeps the space-separated
//! form those have always been stored in.

use crate::error::OAuthError;
use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Scope(Cow<'static, str>);

impl Scope {
    /// OIDC Core §3.1.2.1: the request is an OpenID Connect request; an ID
    /// token is issued.
    pub const OPENID: Scope = Scope(Cow::Borrowed("openid"));
    /// OIDC Core §11: a refresh token is asked for.
    pub const OFFLINE_ACCESS: Scope = Scope(Cow::Borrowed("offline_access"));

    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let ok = !s.is_empty()
            && s.len() <= 256
            && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if ok {
            Ok(Self(Cow::Owned(s.to_owned())))
        } else {
            Err(OAuthError::invalid_scope("malformed scope value"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Scopes about the protocol, not an API (`openid`, `offline_access`):
    /// they have no legal basis and need no consent.
    pub fn is_protocol(&self) -> bool {
        is_protocol_scope(&self.0)
    }
}

/// See [`Scope::is_protocol`].
pub fn is_protocol_scope(s: &str) -> bool {
    s == Scope::OPENID.as_str() || s == Scope::OFFLINE_ACCESS.as_str()
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes, kept sorted so that its string form is canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ScopeSet(Vec<Scope>);

impl ScopeSet {
    pub const MAX_SCOPES: usize = 32;

    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let mut v = Vec::new();
        // RFC 6749 says single spaces; tolerate runs of them rather than fail.
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            v.push(Scope::parse(part)?);
            if v.len() > Self::MAX_SCOPES {
                return Err(OAuthError::invalid_scope("too many scope values"));
            }
        }
        v.sort();
        v.dedup();
        Ok(Self(v))
    }

    pub fn from_scopes(mut v: Vec<Scope>) -> Self {
        v.sort();
        v.dedup();
        Self(v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|x| x.0 == s)
    }
    /// Whether `openid` or `offline_access` (or any scope) is in the set.
    pub fn has(&self, s: &Scope) -> bool {
        self.0.binary_search(s).is_ok()
    }
    pub fn insert(&mut self, s: Scope) {
        if let Err(at) = self.0.binary_search(&s) {
            self.0.insert(at, s);
        }
    }
    /// The set without `s`.
    pub fn without(&self, s: &Scope) -> ScopeSet {
        Self(self.0.iter().filter(|x| *x != s).cloned().collect())
    }
    /// The API scopes: everything but `openid` and `offline_access`.
    pub fn api_scopes(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter().filter(|s| !s.is_protocol())
    }
    /// Scopes from trusted storage (a registration, a stored record, a
    /// sealed token), which were valid when written: the per-request bound
    /// on their number does not apply, malformed values are still refused.
    pub fn from_stored(s: &str) -> Result<Self, OAuthError> {
        let v = s.split(' ').filter(|p| !p.is_empty()).map(Scope::parse).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_scopes(v))
    }
    /// A registration's list of scope strings (validated when registered).
    pub fn from_registered(v: &[String]) -> Result<Self, OAuthError> {
        Ok(Self::from_scopes(v.iter().map(|s| Scope::parse(s)).collect::<Result<Vec<_>, _>>()?))
    }
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(&s.0))
    }
    /// The scopes of `self` that are not in `allowed`.
    pub fn not_in<'a>(&'a self, allowed: &'a [String]) -> impl Iterator<Item = &'a Scope> + 'a {
        self.0.iter().filter(move |s| !allowed.iter().any(|a| *a == s.0))
    }
}

/// `#[serde(with = "netauth_proto::scope::as_space_string")]`: a
/// [`ScopeSet`] stored as the space-separated string documents and sealed
/// tokens have always carried.
pub mod as_space_string {
    use super::ScopeSet;

    pub fn serialize<S: serde::Serializer>(s: &ScopeSet, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_str(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(de: D) -> Result<ScopeSet, D::Error> {
        let s: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(de)?;
        ScopeSet::from_stored(&s).map_err(|e| serde::de::Error::custom(e.description))
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&s.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorts_and_dedups() {
        let s = ScopeSet::parse("b a  b").unwrap();
        assert_eq!(s.to_string(), "a b");
        assert!(s.contains("a"));
    }

    #[test]
    fn rejects_bad_characters() {
        assert!(ScopeSet::parse("a\"b").is_err());
        assert!(ScopeSet::parse("a\\b").is_err());
        assert!(ScopeSet::parse("é").is_err());
    }

    #[test]
    fn constants_and_protocol_scopes() {
        let mut s = ScopeSet::parse("openid sim-swap").unwrap();
        assert!(s.has(&Scope::OPENID));
        assert!(!s.has(&Scope::OFFLINE_ACCESS));
        s.insert(Scope::OFFLINE_ACCESS);
        assert_eq!(s.to_string(), "offline_access openid sim-swap");
        assert_eq!(s.api_scopes().map(Scope::as_str).collect::<Vec<_>>(), ["sim-swap"]);
        assert_eq!(s.without(&Scope::OFFLINE_ACCESS).to_string(), "openid sim-swap");
        assert_eq!(Scope::parse("openid").unwrap(), Scope::OPENID);
    }

    #[test]
    fn stored_form_is_the_space_string() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct R {
            #[serde(with = "as_space_string")]
            scope: ScopeSet,
        }
        let r: R = serde_json::from_str(r#"{"scope":"b a"}"#).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"scope":"a b"}"#);
        let empty: R = serde_json::from_str(r#"{"scope":""}"#).unwrap();
        assert!(empty.scope.is_empty());
        let many = (0..40).map(|i| format!("s{i}")).collect::<Vec<_>>().join(" ");
        assert_eq!(ScopeSet::from_stored(&many).unwrap().len(), 40, "no per-request bound");
    }

    #[test]
    fn camara_scopes_are_valid() {
        let s = ScopeSet::parse("openid dpv:FraudPreventionAndDetection#sim-swap sim-swap:check").unwrap();
        assert_eq!(s.len(), 3);
    }
}
