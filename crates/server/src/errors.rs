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
//! - Pages a browser looks at (`pages/`, `sandbox/pages/`):
//!   `crate::pages::PageError`, an HTML page in the site's look.
//! - Domain and Store errors (`OAuthError` from the policy and decision
//!   functions, `StoreError`, `ManageError`) are converted into one of the
//!   three above by `From` impls at the edge; handlers only use `?`.
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
