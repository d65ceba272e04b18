//! Scope values (RFC 6749 §3.3): space-delimited, case-sensitive strings of
//! `%x21 / %x23-5B / %x5D-7E`. Order does not matter and duplicates collapse.

use crate::error::OAuthError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Scope(String);

impl Scope {
    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        let ok = !s.is_empty()
            && s.len() <= 256
            && s.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if ok { Ok(Self(s.to_owned())) } else { Err(OAuthError::invalid_scope("malformed scope value")) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
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
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(&s.0))
    }
    /// The scopes of `self` that are not in `allowed`.
    pub fn not_in<'a>(&'a self, allowed: &'a [String]) -> impl Iterator<Item = &'a Scope> + 'a {
        self.0.iter().filter(move |s| !allowed.contains(&s.0))
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
    fn camara_scopes_are_valid() {
        let s = ScopeSet::parse("openid dpv:FraudPreventionAndDetection#sim-swap sim-swap:check").unwrap();
        assert_eq!(s.len(), 3);
    }
}
