//! Admin authentication: a bearer admin token from configuration, compared
//! in constant time; the API is off when none is set.
//!
//! Guessing the token is bounded and leaves a trace (issue #10): failed
//! attempts are logged with the caller's address and limited per address
//! (an IPv6 /64) per minute, past which the address gets 429 whatever it
//! presents; and `serve` refuses a token with less than 256 bits of entropy
//! (`Config::validate`).

use crate::admin::manage::ManageError;
use crate::errors::ApiReply;
use crate::infra::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use netauth_proto::CamaraError;

/// Proof that the request carries the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let expected = app.config.admin.token.expose().as_bytes();
        if expected.is_empty() {
            return Err(ApiReply(CamaraError::not_found("the admin API is disabled (set admin.token)"))
                .into_response());
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let addr =
            crate::infra::client_ip::client_ip(peer, &parts.headers, &app.config.server.trusted_proxies);
        if let Some(wait) = app.limiter.check_admin(addr) {
            let mut r = ApiReply(CamaraError::too_many_requests()).into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return Err(r);
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(p) if netauth_domain::crypto::ct_eq(p.as_bytes(), expected) => Ok(Admin),
            Some(_) => {
                let failures = app.limiter.record_admin_failure(addr);
                tracing::warn!(%addr, failures, path = %app.log_names.path(parts.uri.path()), "admin authentication failed: wrong token");
                Err(ApiReply(CamaraError::unauthenticated()).into_response())
            }
            // No token is not a guess: not counted.
            None => Err(ApiReply(CamaraError::unauthenticated()).into_response()),
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
