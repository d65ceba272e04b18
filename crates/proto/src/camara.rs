//! The CAMARA error dialect for resource APIs (Commonalities API Design Guide
//! §3.2, `CAMARA_common.yaml` `ErrorInfo`): `{status, code, message}`, all
//! required. OAuth endpoints never use it.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CamaraError {
    pub status: u16,
    #[schema(value_type = String)]
    pub code: Cow<'static, str>,
    #[schema(value_type = String)]
    pub message: Cow<'static, str>,
}

impl CamaraError {
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self { status, code: code.into(), message: message.into() }
    }

    /// Commonalities NOTE 1: every authentication failure is the same generic
    /// 401, whatever the cause, so a caller learns nothing from the difference.
    pub fn unauthenticated() -> Self {
        Self::new(
            401,
            "UNAUTHENTICATED",
            "Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required.",
        )
    }
    pub fn permission_denied(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(403, "PERMISSION_DENIED", message)
    }
    pub fn invalid_argument(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, "INVALID_ARGUMENT", message)
    }
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(404, "NOT_FOUND", message)
    }
    pub fn internal() -> Self {
        Self::new(500, "INTERNAL", "Unknown server error. Typically a server bug.")
    }
    pub fn unavailable() -> Self {
        Self::new(503, "UNAVAILABLE", "Service Unavailable.")
    }
    pub fn too_many_requests() -> Self {
        Self::new(429, "TOO_MANY_REQUESTS", "Rate limit reached.")
    }
}
