//! The revocation log (tokens revoked before they expire, RFC 7009): the
//! `revocations` table, append-only, which every node reads forward from the
//! last position it applied.

use crate::{Result, StoreError};
use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::revocation::{Revocation, RevocationKind};

#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Appends to the revocation log; returns the entry's position.
    async fn append_revocation(
        &self,
        kind: RevocationKind,
        value: &str,
        issued_before: UnixTime,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<i64>;
    /// Appends the RFC 7009 revocation of one of `client_id`'s tokens
    /// (kind `token`, value its `jti`) unless that client already has
    /// `max_live` entries that have not expired at `now`; `None` then, and
    /// nothing is written. Bounds what one client can add to every node's
    /// revocation set (issue #10 point 5).
    async fn append_token_revocation(
        &self,
        client_id: &str,
        jti: &str,
        issued_before: UnixTime,
        expires_at: UnixTime,
        max_live: u32,
        now: UnixTime,
    ) -> Result<Option<i64>>;
    /// Entries after position `after_seq`, and also every entry created at
    /// or after `created_since`: with concurrent writers a later position can
    /// commit before an earlier one, so readers look back a few seconds and
    /// apply entries idempotently. Ordered by position, at most `limit`.
    async fn revocations_since(
        &self,
        after_seq: i64,
        created_since: UnixTime,
        limit: u32,
    ) -> Result<Vec<Revocation>>;
}

pub(crate) const APPEND_REVOCATION: &str = "INSERT INTO revocations (kind, value, issued_before, expires_at, \
     created_at) VALUES ($1, $2, $3, $4, $5) RETURNING seq";
pub(crate) const APPEND_CLIENT_REVOCATION: &str = "INSERT INTO revocations (kind, value, issued_before, \
     expires_at, created_at, client_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq";
pub(crate) const COUNT_LIVE_CLIENT_REVOCATIONS: &str =
    "SELECT COUNT(*) FROM revocations WHERE client_id = $1 AND expires_at > $2";
pub(crate) const REVOCATIONS_SINCE: &str = "SELECT seq, kind, value, issued_before, expires_at FROM revocations \
     WHERE seq > $1 OR created_at >= $2 ORDER BY seq LIMIT $3";
pub(crate) const PURGE_REVOCATIONS: &str = "DELETE FROM revocations WHERE expires_at <= $1";

/// A row of `revocations`.
#[derive(sqlx::FromRow)]
pub(crate) struct RevocationRow {
    seq: i64,
    kind: String,
    value: String,
    issued_before: i64,
    expires_at: i64,
}

impl RevocationRow {
    pub(crate) fn into_revocation(self) -> Result<Revocation, StoreError> {
        let kind = RevocationKind::parse(&self.kind).ok_or_else(|| {
            StoreError::Corrupt(format!("revocation {}: unknown kind {:?}", self.seq, self.kind))
        })?;
        Ok(Revocation {
            seq: self.seq,
            kind,
            value: self.value,
            issued_before: self.issued_before,
            expires_at: self.expires_at,
        })
    }
}

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::revocation::{Revocation, RevocationKind};
            use $crate::Result;
            use $crate::aggregates::revocations::{self as q, RevocationStore};
            use $crate::backend::Backend as _;

            #[async_trait::async_trait]
            impl RevocationStore for $store {
                async fn append_revocation(
                    &self,
                    kind: RevocationKind,
                    value: &str,
                    issued_before: UnixTime,
                    expires_at: UnixTime,
                    now: UnixTime,
                ) -> Result<i64> {
                    let seq: i64 = sqlx::query_scalar(q::APPEND_REVOCATION)
                        .bind(kind.as_str())
                        .bind(value)
                        .bind(issued_before)
                        .bind(expires_at)
                        .bind(now)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(seq)
                }

                async fn append_token_revocation(
                    &self,
                    client_id: &str,
                    jti: &str,
                    issued_before: UnixTime,
                    expires_at: UnixTime,
                    max_live: u32,
                    now: UnixTime,
                ) -> Result<Option<i64>> {
                    let mut tx = self.pool.begin().await?;
                    if let Some(lock) = <$store>::LOCK_CLIENT_REVOCATIONS {
                        sqlx::query(lock).bind(client_id).execute(&mut *tx).await?;
                    }
                    // Write first, then count under the lock (as the CIBA
                    // aggregate does for prompts); over the bound, undo.
                    let seq: i64 = sqlx::query_scalar(q::APPEND_CLIENT_REVOCATION)
                        .bind(RevocationKind::Token.as_str())
                        .bind(jti)
                        .bind(issued_before)
                        .bind(expires_at)
                        .bind(now)
                        .bind(client_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    let live: i64 = sqlx::query_scalar(q::COUNT_LIVE_CLIENT_REVOCATIONS)
                        .bind(client_id)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    if live > i64::from(max_live) {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    tx.commit().await?;
                    Ok(Some(seq))
                }

                async fn revocations_since(
                    &self,
                    after_seq: i64,
                    created_since: UnixTime,
                    limit: u32,
                ) -> Result<Vec<Revocation>> {
                    let rows: Vec<q::RevocationRow> = sqlx::query_as(q::REVOCATIONS_SINCE)
                        .bind(after_seq)
                        .bind(created_since)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.into_iter().map(q::RevocationRow::into_revocation).collect()
                }
            }
        };
    };
}
pub(crate) use impl_backend;
