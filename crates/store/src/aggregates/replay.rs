//! Replay protection for client assertions (RFC 7523 §3, the `jti` claim):
//! the `assertion_jti` table, one row per (client, jti) until the assertion
//! expires, shared by every node.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::UnixTime;

#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records that `jti` of `client_id` was used, until `expires_at`.
    /// Returns false if it was already recorded: a replay, on any node.
    async fn record_jti(&self, client_id: &str, jti: &str, expires_at: UnixTime) -> Result<bool>;
    /// Records many `(client_id, jti, expires_at)` in one statement (group
    /// commit); returns, for each, whether it was new. Within the batch a
    /// repeated pair is new only the first time.
    async fn record_jtis(&self, records: &[(String, String, UnixTime)]) -> Result<Vec<bool>>;
}

pub(crate) const RECORD_JTI: &str = "INSERT INTO assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (client_id, jti) DO NOTHING";
/// Head and tail of the multi-row `record_jtis` (`VALUES (…), (…)` between).
pub(crate) const RECORD_JTIS: &str = "INSERT INTO assertion_jti (client_id, jti, expires_at) ";
pub(crate) const RECORD_JTIS_TAIL: &str = " ON CONFLICT (client_id, jti) DO NOTHING RETURNING client_id, jti";
/// Rows per `record_jtis` statement (3 parameters each, well under both
/// databases' parameter limits).
pub(crate) const JTI_ROWS: usize = 500;
pub(crate) const PURGE_JTIS: &str = "DELETE FROM assertion_jti WHERE expires_at <= $1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use $crate::Result;
            use $crate::aggregates::replay::{self as q, ReplayStore};

            #[async_trait::async_trait]
            impl ReplayStore for $store {
                async fn record_jti(&self, client_id: &str, jti: &str, expires_at: UnixTime) -> Result<bool> {
                    // One statement, so atomic: of two nodes recording the same
                    // jti, exactly one inserts.
                    let done = sqlx::query(q::RECORD_JTI)
                        .bind(client_id)
                        .bind(jti)
                        .bind(expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn record_jtis(&self, records: &[(String, String, UnixTime)]) -> Result<Vec<bool>> {
                    use std::collections::HashSet;
                    // A pair twice in one batch: only its first occurrence is
                    // sent (one statement may not touch a row twice).
                    let mut seen: HashSet<(&str, &str)> = HashSet::new();
                    let unique: Vec<&(String, String, UnixTime)> =
                        records.iter().filter(|(c, j, _)| seen.insert((c.as_str(), j.as_str()))).collect();
                    let mut inserted: HashSet<(String, String)> = HashSet::new();
                    for chunk in unique.chunks(q::JTI_ROWS) {
                        let mut b = sqlx::QueryBuilder::<$db>::new(q::RECORD_JTIS);
                        b.push_values(chunk, |mut row, r| {
                            row.push_bind(&r.0).push_bind(&r.1).push_bind(r.2);
                        });
                        b.push(q::RECORD_JTIS_TAIL);
                        let rows: Vec<(String, String)> = b.build_query_as().fetch_all(&self.pool).await?;
                        inserted.extend(rows);
                    }
                    // Taking a pair out as it is met makes only its first
                    // occurrence new.
                    Ok(records.iter().map(|(c, j, _)| inserted.remove(&(c.clone(), j.clone()))).collect())
                }
            }
        };
    };
}
pub(crate) use impl_backend;
