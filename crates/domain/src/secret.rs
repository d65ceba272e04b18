//! [`Secret`]: a string that must never reach a log line. The master key,
//! the admin token and freshly generated client secrets are held in it:
//! `Debug` prints only its length, so a `tracing::debug!(?config)` or a
//! panic message cannot leak one. Serialisation is transparent (a client
//! secret is shown once, in the creation response; configuration files
//! hold the master key).

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the few places that must use it (comparing,
    /// decoding, showing it once to its owner). Named so that every such
    /// place is easy to find.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::from("hunter2-very-secret");
        let d = format!("{s:?} {:?}", Some(&s));
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("19 bytes redacted"), "{d}");
        assert_eq!(s.expose(), "hunter2-very-secret");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2-very-secret\"");
    }
}
