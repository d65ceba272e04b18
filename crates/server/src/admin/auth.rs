//! Admin authentication: a bearer admin token from configuration, compared
//! in constant time; the API is off when none is set.

use crate::admin::manage::ManageError;
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use netauth_proto::CamaraError;

/// Proof that the request carries the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiReply;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let expected = app.config.admin.token.as_bytes();
        if expected.is_empty() {
            return Err(CamaraError::not_found("the admin API is disabled (set admin.token)").into());
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if netauth_domain::crypto::ct_eq(presented.as_bytes(), expected) {
            Ok(Admin)
        } else {
            Err(CamaraError::unauthenticated().into())
        }
    }
}

impl From<ManageError> for ApiReply {
    fn from(e: ManageError) -> Self {
        match e {
            ManageError::Invalid(m) => CamaraError::invalid_argument(m).into(),
            ManageError::NotFound => CamaraError::not_found("no client with this id").into(),
            ManageError::Exists => {
                CamaraError::new(409, "ALREADY_EXISTS", "a client with this id already exists").into()
            }
            ManageError::Store(s) => s.into(),
        }
    }
}

/// A JSON body that may be left out entirely (then: defaults).
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiReply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| CamaraError::invalid_argument(format!("invalid JSON body: {e}")).into())
}
