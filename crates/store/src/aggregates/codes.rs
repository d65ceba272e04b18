//! Authorization codes (RFC 6749 §4.1.2, §10.5): the `authorization_codes`
//! table, one row per code by its hash. The code's bindings (client,
//! redirect URI, PKCE challenge, nonce, session, scope) are a document that
//! never changes; its state is two columns: `consumed_at`, set once, by the
//! one request that wins the code (SECURITY.md 5), and `reused`, set when it
//! is presented again (SECURITY.md 4). Rows stay until `purge_at`, past the
//! code's expiry, so that a late second use is still recognised.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::authorize::AuthorizationCode;

#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Inserts a new code, remembered until `purge_at`.
    async fn insert_code(&self, c: &AuthorizationCode, purge_at: UnixTime) -> Result<()>;
    /// Spends the code at `now` if nobody has: of concurrent callers exactly
    /// one gets it; the others (and later ones) get `None`.
    async fn consume_code(&self, code_hash: &str, now: UnixTime) -> Result<Option<AuthorizationCode>>;
    /// Records that a spent code was presented again; returns it (to revoke
    /// what it produced), or `None` if no spent code has this hash.
    async fn mark_code_reused(&self, code_hash: &str) -> Result<Option<AuthorizationCode>>;
    /// Whether the code has been presented again since it was spent.
    async fn code_reused(&self, code_hash: &str) -> Result<bool>;
}

crate::backend::documents!(AuthorizationCode => "authorization code");

pub(crate) const INSERT_CODE: &str = "INSERT INTO authorization_codes (code_hash, client_id, consumed_at, \
     reused, document, purge_at) VALUES ($1, $2, NULL, FALSE, $3, $4)";
pub(crate) const CONSUME_CODE: &str = "UPDATE authorization_codes SET consumed_at = $2 \
     WHERE code_hash = $1 AND consumed_at IS NULL RETURNING document";
pub(crate) const MARK_CODE_REUSED: &str = "UPDATE authorization_codes SET reused = TRUE \
     WHERE code_hash = $1 AND consumed_at IS NOT NULL RETURNING document";
pub(crate) const CODE_REUSED: &str = "SELECT reused FROM authorization_codes WHERE code_hash = $1";
pub(crate) const PURGE_CODES: &str = "DELETE FROM authorization_codes WHERE purge_at <= $1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::authorize::AuthorizationCode;
            use $crate::Result;
            use $crate::aggregates::codes::{self as q, CodeStore};
            use $crate::backend::Document as _;

            #[async_trait::async_trait]
            impl CodeStore for $store {
                async fn insert_code(&self, c: &AuthorizationCode, purge_at: UnixTime) -> Result<()> {
                    sqlx::query(q::INSERT_CODE)
                        .bind(&c.code_hash)
                        .bind(&c.client_id)
                        .bind(c.to_doc()?)
                        .bind(purge_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn consume_code(
                    &self,
                    code_hash: &str,
                    now: UnixTime,
                ) -> Result<Option<AuthorizationCode>> {
                    // One conditional UPDATE decides the winner atomically.
                    let doc: Option<String> = sqlx::query_scalar(q::CONSUME_CODE)
                        .bind(code_hash)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    doc.as_deref().map(AuthorizationCode::from_doc).transpose()
                }

                async fn mark_code_reused(&self, code_hash: &str) -> Result<Option<AuthorizationCode>> {
                    let doc: Option<String> = sqlx::query_scalar(q::MARK_CODE_REUSED)
                        .bind(code_hash)
                        .fetch_optional(&self.pool)
                        .await?;
                    doc.as_deref().map(AuthorizationCode::from_doc).transpose()
                }

                async fn code_reused(&self, code_hash: &str) -> Result<bool> {
                    let r: Option<bool> =
                        sqlx::query_scalar(q::CODE_REUSED).bind(code_hash).fetch_optional(&self.pool).await?;
                    Ok(r.unwrap_or(false))
                }
            }
        };
    };
}
pub(crate) use impl_backend;
