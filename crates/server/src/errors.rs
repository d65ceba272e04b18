//! Where each error type belongs:
//!
//! - OAuth and OIDC endpoints (`/token`, `/bc-authorize`, `/introspect`,
//!   `/revoke`, and the JSON side of `/authorize`): [`OAuthReply`], wrapping
//!   [`netauth_proto::OAuthError`]. RFC 6749 §5.2 JSON, `Cache-Control:
//!   no-store`, and `WWW-Authenticate` on 401 with the scheme the client tried.
//! - Resource APIs (`camara/`), the admin API (`admin/`) and the sandbox JSON
//!   API: [`ApiReply`], wrapping [`netauth_proto::CamaraError`]:
//!   `{status, code, message}`; their JSON bodies are read with [`ApiJson`],
//!   so a malformed body is a CAMARA 400, never axum's plain text.
//! - The OIDC UserInfo endpoint (`oauth/userinfo.rs`): [`BearerReply`]:
//!   the RFC 6750 §3 challenge in `WWW-Authenticate` (what OIDC Core
//!   §5.3.3 asks for, and what client libraries read), and the body seed
//!   003's "Error management" section shows, `{code, message, description}`.
//! - Pages a browser looks at (`pages/`, `sandbox/pages/`):
//!   `crate::pages::PageError`, an HTML page in the site's look.
//! - Domain and Store errors (`OAuthError` from the policy and decision
//!   functions, `StoreError`, `ManageError`) are converted into one of the
//!   types above by `From` impls at the edge; handlers only use `?`.
//! - Internal failures are logged here with their details and leave as a
//!   generic `server_error` / `temporarily_unavailable` / `UNAVAILABLE`.
//!
//! Nothing else builds an error body; the snapshot tests in
//! tests/api/contracts.rs hold the bodies still.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use netauth_proto::error::OAuthErrorBody;
use netauth_proto::{CamaraError, OAuthError, OAuthErrorCode};

/// The headers RFC 6749 §5.1 requires on every token response, used on every
/// OAuth response and error too.
pub fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// An OAuth error on its way out.
#[derive(Debug)]
pub struct OAuthReply {
    pub error: OAuthError,
    /// The `WWW-Authenticate` scheme for a 401 (`Basic` unless the client
    /// authenticated with a bearer JWT).
    pub scheme: &'static str,
}

impl From<OAuthError> for OAuthReply {
    fn from(error: OAuthError) -> Self {
        Self { error, scheme: "Basic" }
    }
}

impl From<netauth_store::StoreError> for OAuthReply {
    fn from(e: netauth_store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure on an OAuth endpoint");
        OAuthError::temporarily_unavailable("the authorization server's database is unavailable").into()
    }
}

impl IntoResponse for OAuthReply {
    fn into_response(self) -> Response {
        let e = &self.error;
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, axum::Json(OAuthErrorBody::from(e))).into_response();
        no_store(&mut resp);
        if status == StatusCode::UNAUTHORIZED {
            let v = if e.code == OAuthErrorCode::InvalidToken {
                format!(
                    "Bearer realm=\"netauth\", error=\"invalid_token\", error_description=\"{}\"",
                    e.description
                )
            } else {
                format!("{} realm=\"netauth\"", self.scheme)
            };
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(s) = e.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp.extensions_mut().insert(crate::infra::request_log::ErrorNote {
            code: e.code.as_str().to_owned(),
            description: e.description.to_string(),
        });
        resp
    }
}

/// A CAMARA-dialect error on its way out.
#[derive(Debug)]
pub struct ApiReply(pub CamaraError);

impl From<CamaraError> for ApiReply {
    fn from(e: CamaraError) -> Self {
        Self(e)
    }
}

impl From<netauth_store::StoreError> for ApiReply {
    fn from(e: netauth_store::StoreError) -> Self {
        match e {
            netauth_store::StoreError::Conflict => {
                Self(CamaraError::new(409, "ALREADY_EXISTS", "the resource already exists"))
            }
            e => {
                tracing::error!(error = %e, "store failure on an API endpoint");
                Self(CamaraError::unavailable())
            }
        }
    }
}

impl IntoResponse for ApiReply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(&self.0)).into_response();
        resp.extensions_mut().insert(crate::infra::request_log::ErrorNote {
            code: self.0.code.to_string(),
            description: self.0.message.to_string(),
        });
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"netauth\", error=\"invalid_token\""),
            );
        }
        if let Some(s) = self.0.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// JSON bodies with errors in our dialect rather than axum's plain text.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiReply;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => Err(CamaraError::invalid_argument(e.body_text()).into()),
        }
    }
}

/// Query strings with errors in our dialect rather than axum's plain text
/// (a wrong type or an unknown value is a 400 `INVALID_ARGUMENT` body).
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiReply;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e) => Err(CamaraError::invalid_argument(e.body_text()).into()),
        }
    }
}

/// A UserInfo error on its way out (see the module documentation). The
/// codes and messages are seed 003's: 41 "Invalid credentials" (401), 50
/// "Access Denied" and 53 "Too Many Requests" (both 403).
#[derive(Debug)]
pub struct BearerReply {
    pub status: u16,
    /// The RFC 6750 §3.1 error code; none when the request carried no
    /// token at all (§3.1: "SHOULD NOT include an error code").
    pub error: Option<&'static str>,
    pub code: u16,
    pub message: &'static str,
    pub description: std::borrow::Cow<'static, str>,
    /// With `insufficient_scope`: the scope the endpoint needs.
    pub scope: Option<&'static str>,
    pub retry_after: Option<u64>,
}

#[derive(serde::Serialize)]
struct BearerErrorBody<'a> {
    code: u16,
    message: &'a str,
    description: &'a str,
}

impl BearerReply {
    fn new(
        status: u16,
        error: Option<&'static str>,
        code: u16,
        message: &'static str,
        description: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Self {
        Self { status, error, code, message, description: description.into(), scope: None, retry_after: None }
    }

    /// No token in the request: 401 with a bare challenge.
    pub fn missing() -> Self {
        Self::new(401, None, 41, "Invalid credentials", "no access token was sent")
    }

    /// Unknown, altered, expired or revoked: 401 `invalid_token`.
    pub fn invalid_token(description: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self::new(401, Some("invalid_token"), 41, "Invalid credentials", description)
    }

    /// A malformed request (the token sent twice, a body that is not a form): 400.
    pub fn invalid_request(description: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self::new(400, Some("invalid_request"), 41, "Invalid credentials", description)
    }

    /// A valid token that does not open this endpoint: 403 `insufficient_scope`.
    pub fn insufficient_scope(scope: &'static str, description: &'static str) -> Self {
        Self {
            scope: Some(scope),
            ..Self::new(403, Some("insufficient_scope"), 50, "Access Denied", description)
        }
    }

    /// The client may not call any more (suspended): 403, seed 003's code 50.
    pub fn access_denied(description: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Self::new(403, Some("invalid_token"), 50, "Access Denied", description)
    }

    /// Over the client's rate or quota: 403 code 53, as seed 003 shows, with `Retry-After`.
    pub fn too_many_requests(retry_after: u64, description: &'static str) -> Self {
        Self { retry_after: Some(retry_after), ..Self::new(403, None, 53, "Too Many Requests", description) }
    }
}

impl From<netauth_store::StoreError> for BearerReply {
    fn from(e: netauth_store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure on the UserInfo endpoint");
        Self::new(503, None, 5, "Service unavailable", "the authorization server's database is unavailable")
    }
}

/// A quoted-string of RFC 9110 §5.6.4: descriptions are ours, but keep the
/// header well formed whatever they say.
fn quoted(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c)).collect()
}

impl IntoResponse for BearerReply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::UNAUTHORIZED);
        let body = BearerErrorBody { code: self.code, message: self.message, description: &self.description };
        let mut resp = (status, axum::Json(body)).into_response();
        no_store(&mut resp);
        let mut challenge = String::from("Bearer realm=\"netauth\"");
        if let Some(e) = self.error {
            challenge
                .push_str(&format!(", error=\"{e}\", error_description=\"{}\"", quoted(&self.description)));
        }
        if let Some(s) = self.scope {
            challenge.push_str(&format!(", scope=\"{s}\""));
        }
        // RFC 6750 §3: a challenge on every refusal that is about the token;
        // a rate limit or an outage is not.
        if (self.error.is_some() || status == StatusCode::UNAUTHORIZED)
            && let Ok(v) = HeaderValue::from_str(&challenge)
        {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if let Some(s) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}
