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
