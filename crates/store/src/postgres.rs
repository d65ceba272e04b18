//! PostgreSQL, for several netauth nodes sharing one database.
//!
//! The migrations take PostgreSQL's advisory lock (sqlx does this), so nodes
//! starting together apply them once.

use crate::Result;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How long a caller waits for a free connection (or for a new one to be
/// established) before the request fails: long enough to ride out a burst,
/// short enough that a dead database surfaces as errors, not hung requests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and applies the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        tracing::debug!("PostgreSQL store ready");
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl crate::backend::Backend for PgStore {
    const NAME: &'static str = "postgres";
    /// Serialises `insert_ciba_request`s of one subscriber until commit, so
    /// two cannot both count the same pending prompts and exceed the bound
    /// (under READ COMMITTED neither would see the other's uncommitted
    /// prompt). A transaction-scoped advisory lock on (a class number of
    /// netauth's, hash of the subscriber id): the two-key space is separate
    /// from sqlx's migration lock, which uses one 64-bit key.
    /// A hash collision only makes two subscribers' requests wait for each other.
    const CHECKPOINT: Option<&'static str> = None;
    const LOCK_PENDING_PROMPTS: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(1851880001, hashtext($1))");
    /// As above, in a class of its own: one client's RFC 7009 revocations.
    const LOCK_CLIENT_REVOCATIONS: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(1851880002, hashtext($1))");
}

crate::impl_aggregates!(PgStore, sqlx::Postgres);
