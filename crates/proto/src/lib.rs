//! Wire types of netauth: the two error dialects (RFC 6749/OIDC JSON on OAuth
//! endpoints, CAMARA `{status, code, message}` on resource APIs), form parsing
//! with the RFC 6749 §3.1 rules, scopes, the authorization request and
//! response, and the token request.
//!
//! Nothing in this crate does IO; everything that parses client input returns
//! a typed error instead of panicking.

pub mod authorize;
pub mod camara;
pub mod error;
pub mod form;
pub mod ids;
pub mod login_hint;
pub mod purpose;
pub mod scope;
pub mod time;
pub mod token_request;

#[cfg(test)]
mod fuzz_smoke;

pub use authorize::{AuthorizationParams, ClaimsRequest, CodeChallenge, PromptSet, ValidatedParams};
pub use camara::CamaraError;
pub use error::{OAuthError, OAuthErrorCode};
pub use form::Form;
pub use ids::{AuthReqId, ClientId};
pub use login_hint::{LoginHint, Msisdn};
pub use purpose::{Purpose, PurposeScopes};
pub use scope::{Scope, ScopeSet};
pub use token_request::{GrantType, TokenRequest, TokenResponse};
