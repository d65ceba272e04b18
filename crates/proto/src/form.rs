//! `application/x-www-form-urlencoded` request parameters with the RFC 6749
//! rules: §3.1 "parameters sent without a value MUST be treated as if they were
//! omitted" and "request and response parameters MUST NOT be included more than
//! once" (a repeated parameter is `invalid_request`, SECURITY.md 23).
//! Sizes are bounded so that a hostile body costs little.

use crate::error::OAuthError;

/// Most parameters are short identifiers; JWT-carrying ones (`request`,
/// `assertion`, `client_assertion`) get more room.
const MAX_VALUE_LEN: usize = 4096;
const MAX_JWT_VALUE_LEN: usize = 16 * 1024;
const MAX_PARAMS: usize = 64;

fn max_len(name: &str) -> usize {
    match name {
        "request" | "assertion" | "client_assertion" | "id_token_hint" | "login_hint_token" => {
            MAX_JWT_VALUE_LEN
        }
        _ => MAX_VALUE_LEN,
    }
}

/// Parsed form parameters, in order, each name at most once.
#[derive(Debug, Default, Clone)]
pub struct Form {
    params: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        Self::from_pairs(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())))
    }

    /// Builds a form from already-decoded pairs (a query string, say) with the
    /// same rules as a body.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Self, OAuthError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            if params.len() >= MAX_PARAMS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            if name.len() > 64 {
                return Err(OAuthError::invalid_request("parameter name too long"));
            }
            if value.len() > max_len(&name) {
                return Err(OAuthError::invalid_request(format!("parameter `{name}` is too long")));
            }
            if value.is_empty() {
                continue;
            }
            if params.iter().any(|(n, _)| *n == name) {
                return Err(OAuthError::invalid_request(format!("parameter `{name}` is repeated")));
            }
            params.push((name, value));
        }
        Ok(Self { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let err = Form::parse(b"a=1&a=2").unwrap_err();
        assert_eq!(err.code.as_str(), "invalid_request");
        assert!(err.description.contains("`a`"));
    }

    #[test]
    fn empty_value_is_omitted() {
        let f = Form::parse(b"a=&b=2").unwrap();
        assert_eq!(f.get("a"), None);
        assert_eq!(f.get("b"), Some("2"));
        // An empty value followed by a real one is not a repetition.
        assert_eq!(Form::parse(b"a=&a=3").unwrap().get("a"), Some("3"));
    }

    #[test]
    fn decodes_plus_and_percent() {
        let f = Form::parse(b"scope=a+b%3Ac").unwrap();
        assert_eq!(f.get("scope"), Some("a b:c"));
    }

    #[test]
    fn bounds_hold() {
        let long = format!("x={}", "a".repeat(MAX_VALUE_LEN + 1));
        assert!(Form::parse(long.as_bytes()).is_err());
        let many: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=1&")).collect();
        assert!(Form::parse(many.as_bytes()).is_err());
    }
}
