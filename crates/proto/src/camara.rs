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
    /// Seconds after which a 429 may be retried (`Retry-After`); not in the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl CamaraError {
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self { status, code: code.into(), message: message.into(), retry_after: None }
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
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
    /// A business quota (requests per period agreed at onboarding) is used up.
    pub fn quota_exceeded() -> Self {
        Self::new(429, "QUOTA_EXCEEDED", "Out of resource quota.")
    }
    /// Commonalities: a field with a pre-defined range got a value outside it.
    pub fn out_of_range(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, "OUT_OF_RANGE", message)
    }
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "METHOD_NOT_ALLOWED",
            "The requested method is not allowed/supported on the target resource.",
        )
    }
    /// Commonalities Appendix A: a three-legged token already names the
    /// subject, so the body must not (even when it names the same one).
    pub fn unnecessary_identifier() -> Self {
        Self::new(422, "UNNECESSARY_IDENTIFIER", "The device is already identified by the access token.")
    }
    /// Commonalities Appendix A: a two-legged token names no subject, so the
    /// body must.
    pub fn missing_identifier() -> Self {
        Self::new(422, "MISSING_IDENTIFIER", "The device cannot be identified.")
    }
    pub fn identifier_not_found() -> Self {
        Self::new(404, "IDENTIFIER_NOT_FOUND", "Device identifier not found.")
    }
    /// The line exists but the service is not available for it (suspended,
    /// not eligible).
    pub fn service_not_applicable() -> Self {
        Self::new(422, "SERVICE_NOT_APPLICABLE", "The service is not available for the provided identifier.")
    }
}
