//! What resource endpoints use to require a valid access token (RFC 6750
//! §2.1), in the CAMARA error dialect: any failure to authenticate is the one
//! generic 401 `UNAUTHENTICATED` (Commonalities NOTE 1), a missing scope is
//! 403 `PERMISSION_DENIED`.
//!
//! ```ignore
//! async fn handler(Bearer(claims): Bearer) -> … { claims.require_scope(&["sim-swap:check"])?; … }
//! ```

use crate::errors::ApiReply;
use crate::infra::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use netauth_domain::token::{AccessClaims, open_access_token};
use netauth_proto::CamaraError;

/// A verified, unexpired, unrevoked access token.
#[derive(Debug, Clone)]
pub struct Bearer(pub AccessClaims);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiReply;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let (Some(v), None) = (values.next(), values.next()) else {
            return Err(CamaraError::unauthenticated().into());
        };
        let token = v
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(CamaraError::unauthenticated)?;
        let claims = open_access_token(&app.key_ring(), token, app.now())
            .map_err(|_| CamaraError::unauthenticated())?;
        // The token is authentic (sealed by netauth for this client): CORS
        // may show its client's own origins the answer, a refusal included.
        crate::infra::cors::CorsClient::note(&parts.extensions, &claims.client_id);
        if app.is_revoked(&claims) {
            return Err(CamaraError::unauthenticated().into());
        }
        Ok(Bearer(claims))
    }
}

impl Bearer {
    /// Requires at least one of `scopes` (CAMARA APIs list alternatives,
    /// e.g. `sim-swap:check` or `sim-swap`).
    pub fn require_any_scope(&self, scopes: &[&str]) -> Result<(), ApiReply> {
        if scopes.iter().any(|s| self.0.has_scope(s)) {
            Ok(())
        } else {
            Err(CamaraError::permission_denied(
                "Client does not have sufficient permissions to perform this action.",
            )
            .into())
        }
    }
}
