//! The token request (RFC 6749 §4.1.3, §4.4.2, §6; CIBA Core §10.1; RFC 7523
//! §2.1): one variant per grant type, so every handler sees only the
//! parameters its grant defines. An unknown `grant_type` is
//! `unsupported_grant_type`; a missing one is `invalid_request`.

use crate::error::{OAuthError, OAuthErrorCode};
use crate::form::Form;
use crate::scope::ScopeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum GrantType {
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "urn:openid:params:grant-type:ciba")]
    Ciba,
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
}

impl GrantType {
    pub const ALL: [GrantType; 5] =
        [Self::AuthorizationCode, Self::ClientCredentials, Self::RefreshToken, Self::Ciba, Self::JwtBearer];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::Ciba => "urn:openid:params:grant-type:ciba",
            Self::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    /// RFC 6749 §4.4.2.
    ClientCredentials { scope: Option<ScopeSet> },
    /// RFC 6749 §4.1.3 with RFC 7636 §4.5's `code_verifier`.
    AuthorizationCode { code: String, redirect_uri: Option<String>, code_verifier: Option<String> },
    /// CIBA Core §10.1.
    Ciba { auth_req_id: String },
    /// RFC 6749 §6.
    RefreshToken { refresh_token: String, scope: Option<ScopeSet> },
    /// RFC 7523 §2.1 with the CAMARA profile §1.7: the signed `assertion`
    /// carries everything, scope included (a `scope` parameter is refused).
    JwtBearer { assertion: String },
}

impl TokenRequest {
    /// Parses the grant-specific parameters. `implemented` lists the grant
    /// types this server offers; others are `unsupported_grant_type`.
    pub fn parse(form: &Form, implemented: &[GrantType]) -> Result<Self, OAuthError> {
        let raw = form.require("grant_type")?;
        let grant = GrantType::parse(raw).filter(|g| implemented.contains(g)).ok_or_else(|| {
            OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                format!("grant_type `{raw}` is not supported"),
            )
        })?;
        match grant {
            GrantType::ClientCredentials => {
                let scope = form.get("scope").map(ScopeSet::parse).transpose()?;
                Ok(Self::ClientCredentials { scope })
            }
            GrantType::AuthorizationCode => Ok(Self::AuthorizationCode {
                code: form.require("code")?.to_owned(),
                redirect_uri: form.get("redirect_uri").map(str::to_owned),
                code_verifier: form.get("code_verifier").map(str::to_owned),
            }),
            GrantType::Ciba => Ok(Self::Ciba { auth_req_id: form.require("auth_req_id")?.to_owned() }),
            GrantType::RefreshToken => Ok(Self::RefreshToken {
                refresh_token: form.require("refresh_token")?.to_owned(),
                scope: form.get("scope").map(ScopeSet::parse).transpose()?,
            }),
            GrantType::JwtBearer => {
                // CAMARA profile §1.7: the scope travels in the assertion's
                // `scope` claim, never as a form parameter.
                if form.contains("scope") {
                    return Err(OAuthError::invalid_request(
                        "the scope parameter must not be sent with the JWT bearer grant; \
                         put the purpose and scopes in the assertion's `scope` claim",
                    ));
                }
                Ok(Self::JwtBearer { assertion: form.require("assertion")?.to_owned() })
            }
        }
    }

    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::Ciba { .. } => GrantType::Ciba,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::JwtBearer { .. } => GrantType::JwtBearer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_grant_is_unsupported() {
        let f = Form::parse(b"grant_type=password").unwrap();
        let e = TokenRequest::parse(&f, &GrantType::ALL).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::UnsupportedGrantType);
    }

    #[test]
    fn missing_grant_is_invalid_request() {
        let f = Form::parse(b"scope=a").unwrap();
        let e = TokenRequest::parse(&f, &GrantType::ALL).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidRequest);
    }

    #[test]
    fn authorization_code_needs_the_code() {
        let f = Form::parse(b"grant_type=authorization_code&redirect_uri=x").unwrap();
        let e = TokenRequest::parse(&f, &GrantType::ALL).unwrap_err();
        assert_eq!(e.code, OAuthErrorCode::InvalidRequest);
        let f = Form::parse(b"grant_type=authorization_code&code=c&code_verifier=v").unwrap();
        assert_eq!(
            TokenRequest::parse(&f, &GrantType::ALL).unwrap(),
            TokenRequest::AuthorizationCode {
                code: "c".into(),
                redirect_uri: None,
                code_verifier: Some("v".into())
            }
        );
    }

    #[test]
    fn jwt_bearer_takes_the_assertion_and_refuses_scope() {
        let f =
            Form::parse(b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c")
                .unwrap();
        assert_eq!(
            TokenRequest::parse(&f, &GrantType::ALL).unwrap(),
            TokenRequest::JwtBearer { assertion: "a.b.c".into() }
        );
        let f = Form::parse(
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c&scope=x",
        )
        .unwrap();
        assert_eq!(
            TokenRequest::parse(&f, &GrantType::ALL).unwrap_err().code,
            OAuthErrorCode::InvalidRequest
        );
        let f = Form::parse(b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer").unwrap();
        assert_eq!(
            TokenRequest::parse(&f, &GrantType::ALL).unwrap_err().code,
            OAuthErrorCode::InvalidRequest
        );
    }

    #[test]
    fn client_credentials_with_scope() {
        let f = Form::parse(b"grant_type=client_credentials&scope=b+a").unwrap();
        let r = TokenRequest::parse(&f, &GrantType::ALL).unwrap();
        assert_eq!(r, TokenRequest::ClientCredentials { scope: Some(ScopeSet::parse("a b").unwrap()) });
    }
}

/// The successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: std::borrow::Cow<'static, str>,
    /// A JSON number: RFC 6749 §5.1 clients reject a string.
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
