//! OAuth 2.0 / OIDC endpoints.

pub mod ciba;
pub mod discovery;
pub mod introspect;
pub mod issue;
pub mod token;

use crate::errors::OAuthReply;
use axum::http::{HeaderMap, header};
use netauth_proto::{Form, OAuthError};

/// Parses an OAuth request body: `application/x-www-form-urlencoded` only
/// (RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1).
pub fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthReply> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the request body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    Ok(Form::parse(body)?)
}

impl From<OAuthError> for Box<OAuthReply> {
    fn from(e: OAuthError) -> Self {
        Box::new(e.into())
    }
}
