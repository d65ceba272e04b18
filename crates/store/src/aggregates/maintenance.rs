//! The janitor's sweep over every table whose rows expire (and, on
//! SQLite, the write-ahead log's checkpoint), and the readiness ping. The `PURGE_…` statements live with their aggregates.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::UnixTime;

/// What the janitor removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub jtis: u64,
    pub revocations: u64,
    pub keys: u64,
    pub ciba_requests: u64,
    pub prompts: u64,
    pub refresh_tokens: u64,
    pub operator_tokens: u64,
    pub enablements: u64,
    pub authorization_codes: u64,
    pub login_sessions: u64,
    pub pending_authorizations: u64,
}

#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Deletes every row whose lifetime has passed.
    async fn purge_expired(&self, now: UnixTime) -> Result<Purged>;
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<()>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
}

pub(crate) const PING: &str = "SELECT 1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use $crate::Result;
            use $crate::aggregates::maintenance::{self as q, Maintenance, Purged};
            use $crate::aggregates::{
                ciba, codes, enablements, keys, logins, refresh, replay, revocations, subscribers,
            };
            use $crate::backend::Backend as _;

            #[async_trait::async_trait]
            impl Maintenance for $store {
                async fn purge_expired(&self, now: UnixTime) -> Result<Purged> {
                    // Short statements rather than one transaction: nothing ties
                    // the tables together, and short writes keep SQLite's single
                    // write lock free for requests.
                    let mut purged = Purged::default();
                    for (sql, n) in [
                        (replay::PURGE_JTIS, &mut purged.jtis),
                        (revocations::PURGE_REVOCATIONS, &mut purged.revocations),
                        (keys::PURGE_KEYS, &mut purged.keys),
                        (ciba::PURGE_CIBA_REQUESTS, &mut purged.ciba_requests),
                        (ciba::PURGE_PROMPTS, &mut purged.prompts),
                        (refresh::PURGE_REFRESH_TOKENS, &mut purged.refresh_tokens),
                        (subscribers::PURGE_OPERATOR_TOKENS, &mut purged.operator_tokens),
                        (enablements::PURGE_ENABLEMENTS, &mut purged.enablements),
                        (codes::PURGE_CODES, &mut purged.authorization_codes),
                        (logins::PURGE_LOGIN_SESSIONS, &mut purged.login_sessions),
                        (logins::PURGE_PENDING, &mut purged.pending_authorizations),
                    ] {
                        *n = sqlx::query(sql).bind(now).execute(&self.pool).await?.rows_affected();
                    }
                    if let Some(sql) = <$store>::CHECKPOINT {
                        sqlx::query(sql).execute(&self.pool).await?;
                    }
                    Ok(purged)
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query(q::PING).execute(&self.pool).await?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    <$store>::NAME
                }
            }
        };
    };
}
pub(crate) use impl_backend;
