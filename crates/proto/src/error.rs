//! OAuth 2.0 / OIDC / CIBA error codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
//! RFC 7009 §2.2.1; OIDC Core §3.1.2.6; CIBA Core §11, §13) and the error value
//! every OAuth endpoint returns. The HTTP edge turns it into a response; this
//! crate only decides the code, the description and the default status.

use std::borrow::Cow;
use std::fmt;

/// The `error` value of an OAuth/OIDC error response. The text of each variant
/// is exactly the registered code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthErrorCode {
    /// The request is missing a required parameter, includes an invalid
    /// parameter value, includes a parameter more than once, or is otherwise
    /// malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The provided authorization grant or refresh token is invalid, expired,
    /// revoked, or was issued to another client.
    InvalidGrant,
    /// The authenticated client is not authorized to use this grant type.
    UnauthorizedClient,
    /// The authorization grant type is not supported by the authorization server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, malformed, or exceeds what the
    /// client may ask for.
    InvalidScope,
    /// The resource owner or authorization server denied the request.
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    /// CIBA: the end-user has not answered yet.
    AuthorizationPending,
    /// CIBA: polling faster than the interval; the client must add 5 s.
    SlowDown,
    /// CIBA: the `auth_req_id` has expired.
    ExpiredToken,
    /// CIBA: the hint does not identify a known end-user.
    UnknownUserId,
    InvalidRequestObject,
    RequestUriNotSupported,
    ConsentRequired,
    LoginRequired,
    InteractionRequired,
    /// RFC 6750: the access token is missing, malformed, expired or revoked.
    InvalidToken,
    /// RFC 6750: the token lacks a scope the resource needs.
    InsufficientScope,
    /// RFC 7009: the server does not revoke this token type.
    UnsupportedTokenType,
    InvalidDpopProof,
}

impl OAuthErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::UnknownUserId => "unknown_user_id",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::ConsentRequired => "consent_required",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidDpopProof => "invalid_dpop_proof",
        }
    }

    /// The status RFC 6749 §5.2 (and CIBA Core §13, the CAMARA profile appendix)
    /// give each code on the token and backchannel endpoints.
    pub const fn default_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::AccessDenied | Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error: the code, a human-readable description (never internal
/// details), and the HTTP status to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: Cow<'static, str>,
    pub status: u16,
    /// Seconds the client should wait before retrying (rate limiting).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self { code, description: description.into(), status: code.default_status(), retry_after: None }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidGrant, d)
    }
    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidScope, d)
    }
    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::UnauthorizedClient, d)
    }
    pub fn access_denied(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::AccessDenied, d)
    }
    /// Internal failures: the description is fixed so nothing internal leaks.
    pub fn server_error() -> Self {
        Self::new(OAuthErrorCode::ServerError, "the server could not complete the request")
    }
    pub fn temporarily_unavailable(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::TemporarilyUnavailable, d)
    }
    pub fn too_many_attempts(retry_after: u64) -> Self {
        Self {
            code: OAuthErrorCode::TemporarilyUnavailable,
            description: "too many failed attempts; retry later".into(),
            status: 429,
            retry_after: Some(retry_after),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// The JSON body of an OAuth error response (RFC 6749 §5.2).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl From<&OAuthError> for OAuthErrorBody {
    fn from(e: &OAuthError) -> Self {
        Self { error: e.code.as_str().to_owned(), error_description: Some(e.description.to_string()) }
    }
}
