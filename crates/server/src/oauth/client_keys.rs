//! One way to resolve a client's keys and to spend what it signed, for
//! every JWT a client signs: client assertions (RFC 7523 §2.2), seed 002's
//! application JWTs, signed request objects (CIBA Core §7.1.1, RFC 9101)
//! and JWT bearer grant assertions (RFC 7523 §2.1).
//!
//! ```text
//! verify_with_client_keys(client, verify)
//!   inline `jwks` ──► verify
//!   `jwks_uri`    ──► JwksCache::get ──► verify ──► unknown kid? ──► JwksCache::refresh
//!                     (at most once per `jwks_refresh_min_secs`) ──► verify again
//! spend_jti(client, space, jti, exp) ──► JtiWriter (group commit; single use on every node)
//! ```

use crate::infra::state::App;
use jsonwebtoken::jwk::JwkSet;
use netauth_domain::UnixTime;
use netauth_domain::client::Client;
use netauth_domain::client_auth::{AssertionError, parse_jwks};
use netauth_store::StoreError;

/// Why a client's JWT could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("the client has no registered keys")]
    NoKeys,
    #[error(transparent)]
    Fetch(#[from] crate::infra::jwks_cache::JwksError),
    #[error(transparent)]
    Invalid(#[from] AssertionError),
}

/// Runs `verify` against the client's registered keys: the inline `jwks`,
/// or the `jwks_uri` set, re-fetched once (within the cache's rate limit)
/// when the JWT names a `kid` the cached set lacks, so a key the client
/// has just rotated in works without waiting for the cache to age.
pub async fn verify_with_client_keys<T>(
    app: &App,
    client: &Client,
    verify: impl Fn(&JwkSet) -> Result<T, AssertionError>,
) -> Result<T, KeysError> {
    if let Some(jwks) = &client.jwks {
        return Ok(verify(&parse_jwks(jwks))?);
    }
    let Some(uri) = &client.jwks_uri else { return Err(KeysError::NoKeys) };
    let set = app.jwks.get(&app.http, uri).await?;
    match verify(&set) {
        Err(AssertionError::UnknownKid) => match app.jwks.refresh(&app.http, uri).await? {
            Some(fresh) => Ok(verify(&fresh)?),
            None => Err(AssertionError::UnknownKid.into()),
        },
        other => Ok(other?),
    }
}

/// The replay spaces of a client's single-use JWTs: each kind is spent in
/// its own, so that a request object's `jti` never collides with an
/// assertion's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JtiSpace {
    /// Client assertions and application JWTs (client authentication).
    Assertion,
    /// Signed request objects.
    RequestObject,
    /// JWT bearer grant assertions.
    Grant,
}

impl JtiSpace {
    /// The stored key: assertions as sent (as they have always been
    /// stored), the others with a prefix.
    fn key(self, jti: &str) -> String {
        match self {
            Self::Assertion => jti.to_owned(),
            Self::RequestObject => format!("request:{jti}"),
            Self::Grant => format!("grant:{jti}"),
        }
    }
}

/// Records `jti` of `client_id` in `space` until `expires_at`, through the
/// node's group commit; false when it was already spent (on any node).
pub async fn spend_jti(
    app: &App,
    client_id: &str,
    space: JtiSpace,
    jti: &str,
    expires_at: UnixTime,
) -> Result<bool, StoreError> {
    app.jti.record(client_id, &space.key(jti), expires_at).await
}
