//! Persistence for netauth: one trait per aggregate, two implementations
//! (`sqlite`, the embedded default, and `postgres`, for several nodes sharing
//! one database). Every piece of state that correctness depends on lives here,
//! so any node can serve any step of a flow.
//!
//! Times are Unix seconds (`i64`) in both databases. Structured client
//! metadata is stored as a JSON document next to the columns that are queried.

use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::client::Client;
use netauth_domain::keys::{RotationPlan, StoredKey};
use netauth_domain::revocation::{Revocation, RevocationKind};
use std::sync::Arc;

mod postgres;
mod sql;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row with the same key exists.
    #[error("already exists")]
    Conflict,
    /// The database could not be reached or answered with an error.
    #[error("database error: {0}")]
    Database(String),
    /// A stored document could not be decoded (written by a newer version?).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database url (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Inserts a new client; `Conflict` if the id is taken.
    async fn insert_client(&self, c: &Client) -> Result<()>;
    /// Inserts many clients in one transaction (fixtures, imports).
    async fn insert_clients(&self, cs: &[Client]) -> Result<()>;
    async fn get_client(&self, client_id: &str) -> Result<Option<Client>>;
    /// Clients ordered by id, starting after `after`, at most `limit`.
    async fn list_clients(&self, after: Option<&str>, limit: u32) -> Result<Vec<Client>>;
    /// Replaces a client's document; false if it does not exist.
    async fn update_client(&self, c: &Client) -> Result<bool>;
    /// Deletes a client; false if it did not exist.
    async fn delete_client(&self, client_id: &str) -> Result<bool>;
    async fn count_clients(&self) -> Result<u64>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn list_keys(&self) -> Result<Vec<StoredKey>>;
    /// Writes the first keys of an installation, once: when several nodes
    /// start together only one set is written. Returns whether these were.
    async fn init_keys(&self, keys: &[StoredKey]) -> Result<bool>;
    /// Applies a rotation in one transaction: new keys in, old ones retired.
    async fn rotate_keys(&self, plan: &RotationPlan) -> Result<()>;
}

#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records that `jti` of `client_id` was used, until `expires_at`.
    /// Returns false if it was already recorded: a replay, on any node.
    async fn record_jti(&self, client_id: &str, jti: &str, expires_at: UnixTime) -> Result<bool>;
}

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

#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, key: &str) -> Result<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;
}

/// What the janitor removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub jtis: u64,
    pub revocations: u64,
    pub keys: u64,
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

/// Everything netauth keeps.
pub trait Store: ClientStore + KeyStore + ReplayStore + RevocationStore + MetaStore + Maintenance {}
impl<T: ClientStore + KeyStore + ReplayStore + RevocationStore + MetaStore + Maintenance> Store for T {}

/// Connects to `url` (`sqlite:PATH`, `sqlite::memory:`, `postgres://…`),
/// applies the migrations, and returns the store.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url, max_connections).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, max_connections).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}
