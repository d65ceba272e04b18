//! Identifiers that travel on the wire: `client_id` (RFC 6749 §2.2) and
//! `auth_req_id` (OpenID CIBA Core §7.3). Newtypes so that a client id is
//! never passed where a subscriber id or a hash is expected, with the
//! length bounds checked once, at parsing.
//!
//! Both serialise as plain strings (stored documents and sealed tokens keep
//! their format).

use crate::error::OAuthError;
use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

/// A registered client's identifier (RFC 6749 §2.2): netauth generates 128
/// random bits, operators may choose their own, at most
/// [`ClientId::MAX_LEN`] bytes.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    pub const MAX_LEN: usize = 255;

    /// A client id a request claims; `None` when it cannot be one (empty or
    /// too long), so no lookup is spent on it.
    pub fn parse(s: &str) -> Option<Self> {
        (!s.is_empty() && s.len() <= Self::MAX_LEN).then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A CIBA `auth_req_id` (CIBA Core §7.3): a bearer secret the client
/// presents at the token endpoint. netauth issues 256 random bits and stores
/// only its hash.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AuthReqId(String);

impl AuthReqId {
    /// Far above what netauth issues; bounds the work spent on garbage.
    pub const MAX_LEN: usize = 256;

    /// An `auth_req_id` as the client sent it.
    pub fn parse(s: &str) -> Result<Self, OAuthError> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(OAuthError::invalid_grant("unknown, spent or foreign auth_req_id"));
        }
        Ok(Self(s.to_owned()))
    }

    /// Wraps a freshly generated value.
    pub fn from_generated(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Not printed: it is a bearer secret.
impl fmt::Debug for AuthReqId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthReqId(…)")
    }
}

macro_rules! string_like {
    ($t:ty) => {
        impl Deref for $t {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
        impl PartialEq<str> for $t {
            fn eq(&self, o: &str) -> bool {
                self.0 == o
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, o: &&str) -> bool {
                self.0 == *o
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, o: &String) -> bool {
                &self.0 == o
            }
        }
        impl PartialEq<$t> for String {
            fn eq(&self, o: &$t) -> bool {
                *self == o.0
            }
        }
        impl PartialEq<$t> for str {
            fn eq(&self, o: &$t) -> bool {
                self == o.0
            }
        }
    };
}
string_like!(ClientId);
string_like!(AuthReqId);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Client ids from registrations and stored records, which were checked
/// when they were written.
impl From<String> for ClientId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for ClientId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<ClientId> for String {
    fn from(c: ClientId) -> Self {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse(&"x".repeat(256)).is_none());
        assert_eq!(ClientId::parse("demo").unwrap(), "demo");
        assert!(AuthReqId::parse(&"x".repeat(257)).is_err());
        assert!(AuthReqId::parse("").is_err());
        assert_eq!(AuthReqId::parse("abc").unwrap().as_str(), "abc");
        assert_eq!(format!("{:?}", AuthReqId::parse("secret").unwrap()), "AuthReqId(…)");
    }

    #[test]
    fn serialise_as_strings() {
        let c = ClientId::from("c-1");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"c-1\"");
        assert_eq!(serde_json::from_str::<ClientId>("\"c-1\"").unwrap(), c);
    }
}
