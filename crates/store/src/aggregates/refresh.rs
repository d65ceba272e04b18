//! Refresh tokens (RFC 6749 §6, rotated as in RFC 9700 §4.14.2): the
//! `refresh_tokens` table, one row per token by its hash, grouped in
//! families so reuse of a rotated token revokes the whole family.
//!
//! Rotation and revocation follow `RefreshTokenRecord::can_rotate` /
//! `rotate` / `revoke` in `netauth_domain::ciba`: the claim's `WHERE` holds
//! the same condition on the mirrored columns, atomically.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::ciba::RefreshTokenRecord;

#[async_trait]
pub trait RefreshStore: Send + Sync {
    async fn insert_refresh_token(&self, r: &RefreshTokenRecord) -> Result<()>;
    async fn get_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshTokenRecord>>;
    /// Marks the token rotated at `now` if it is neither rotated nor revoked;
    /// returns it then (exactly one of concurrent callers), else `None`.
    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> Result<Option<RefreshTokenRecord>>;
    /// Revokes every token of the family; returns how many.
    async fn revoke_refresh_family(&self, family_id: &str) -> Result<u64>;
    /// Revokes every refresh token of (client, subscriber) (consent revoked).
    async fn revoke_refresh_tokens_of(&self, client_id: &str, subscriber_id: &str) -> Result<u64>;
}

crate::backend::documents!(RefreshTokenRecord => "refresh token");

pub(crate) const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens (token_hash, family_id, client_id, \
     subscriber_id, rotated_at, revoked, document, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(crate) const GET_REFRESH_TOKEN: &str = "SELECT document FROM refresh_tokens WHERE token_hash = $1";
/// `RefreshTokenRecord::can_rotate` on the columns.
pub(crate) const CLAIM_REFRESH_ROTATION: &str = "UPDATE refresh_tokens SET rotated_at = $2 \
     WHERE token_hash = $1 AND rotated_at IS NULL AND NOT revoked RETURNING token_hash, document";
pub(crate) const REVOKE_REFRESH_FAMILY: &str = "UPDATE refresh_tokens SET revoked = TRUE \
     WHERE family_id = $1 AND NOT revoked RETURNING token_hash, document";
pub(crate) const REVOKE_REFRESH_TOKENS_OF: &str = "UPDATE refresh_tokens SET revoked = TRUE \
     WHERE client_id = $1 AND subscriber_id = $2 AND NOT revoked RETURNING token_hash, document";
pub(crate) const SET_REFRESH_DOCUMENT: &str = "UPDATE refresh_tokens SET document = $2 WHERE token_hash = $1";
pub(crate) const PURGE_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE expires_at <= $1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::ciba::RefreshTokenRecord;
            use $crate::Result;
            use $crate::aggregates::refresh::{self as q, RefreshStore};
            use $crate::backend::Document as _;

            /// The domain's revocation, for `claim_and_rewrite`.
            fn revoke(r: &mut RefreshTokenRecord) -> Result<()> {
                r.revoke();
                Ok(())
            }

            #[async_trait::async_trait]
            impl RefreshStore for $store {
                async fn insert_refresh_token(&self, r: &RefreshTokenRecord) -> Result<()> {
                    sqlx::query(q::INSERT_REFRESH_TOKEN)
                        .bind(&r.token_hash)
                        .bind(&r.family_id)
                        .bind(&r.client_id)
                        .bind(&r.subscriber_id)
                        .bind(r.rotated_at)
                        .bind(r.revoked)
                        .bind(r.to_doc()?)
                        .bind(r.expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn get_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshTokenRecord>> {
                    self.doc_by_key::<RefreshTokenRecord>(q::GET_REFRESH_TOKEN, token_hash).await
                }

                async fn rotate_refresh_token(
                    &self,
                    token_hash: &str,
                    now: UnixTime,
                ) -> Result<Option<RefreshTokenRecord>> {
                    let claim = sqlx::query_as(q::CLAIM_REFRESH_ROTATION).bind(token_hash).bind(now);
                    self.claim_one(claim, q::SET_REFRESH_DOCUMENT, |r: &mut RefreshTokenRecord| {
                        Ok(r.rotate(now)?)
                    })
                    .await
                }

                async fn revoke_refresh_family(&self, family_id: &str) -> Result<u64> {
                    let claim = sqlx::query_as(q::REVOKE_REFRESH_FAMILY).bind(family_id);
                    let revoked = self.claim_and_rewrite(claim, q::SET_REFRESH_DOCUMENT, revoke).await?;
                    Ok(revoked.len() as u64)
                }

                async fn revoke_refresh_tokens_of(
                    &self,
                    client_id: &str,
                    subscriber_id: &str,
                ) -> Result<u64> {
                    let claim =
                        sqlx::query_as(q::REVOKE_REFRESH_TOKENS_OF).bind(client_id).bind(subscriber_id);
                    let revoked = self.claim_and_rewrite(claim, q::SET_REFRESH_DOCUMENT, revoke).await?;
                    Ok(revoked.len() as u64)
                }
            }
        };
    };
}
pub(crate) use impl_backend;
