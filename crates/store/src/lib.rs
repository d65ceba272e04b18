//! Persistence for netauth: one trait per aggregate, two implementations
//! (`SqliteStore`, the embedded default, and `PgStore`, for several nodes
//! sharing one database). Every piece of state that correctness depends on
//! lives here, so any node can serve any step of a flow.
//!
//! Times are Unix seconds (`i64`) in both databases. Structured records are
//! stored as JSON documents next to the columns that are queried.
//!
//! # Layout
//!
//! - `aggregates/<name>.rs`: one file per aggregate (clients, keys, replay,
//!   revocations, meta, subscribers, consent, ciba, refresh, enablements,
//!   maintenance),
//!   each holding its trait, its SQL (written once for both databases), its
//!   row conversions, and an `impl_backend!` macro that implements the trait
//!   for a backend's store type against that backend's concrete sqlx types.
//! - `backend.rs`: what the aggregates share: the [`Backend`](backend) facts
//!   that differ between databases, error mapping, JSON documents, and the
//!   generic helpers (`doc_by_key`; `claim_and_rewrite`, the one
//!   implementation of "claim a row by a conditional `UPDATE … RETURNING`,
//!   change its document by the domain's transition rule, write it back").
//! - `sqlite.rs`, `postgres.rs`: connecting, migrations, the `Backend` facts,
//!   and one `impl_aggregates!` line.
//! - `migrations/{sqlite,postgres}/`: the schema, one numbered file per change.
//!
//! State-transition rules (which CIBA status may follow which, when a prompt
//! may be answered, when a refresh token may be rotated) live in
//! `netauth_domain`; the Store enforces them atomically with the `WHERE` of
//! its claim, and applies them to the document with the domain's function.
//!
//! # Adding an aggregate
//!
//! For, say, authorization codes:
//!
//! 1. `aggregates/codes.rs`: the `CodeStore` trait, its SQL constants, and
//!    `macro_rules! impl_backend { ($store:ty, $db:ty) => { … } }` followed
//!    by `pub(crate) use impl_backend;` (copy the shape of `consent.rs`; use
//!    `claim_and_rewrite` for any conditional state change).
//! 2. Register it below, in this file only: `pub mod codes;` in
//!    `mod aggregates`, `pub use aggregates::codes::CodeStore;`, `+ CodeStore`
//!    in both lists of the [`Store`] supertrait, and one line in
//!    `impl_aggregates!`.
//! 3. One line per method in the list of `counted.rs` (the round-trip
//!    counter; the compiler points there).
//! 4. One migration per backend: `migrations/sqlite/NNNN_codes.sql` and
//!    `migrations/postgres/NNNN_codes.sql`.
//!
//! If its rows expire, also add its `PURGE_…` statement to the janitor's list
//! in `aggregates/maintenance.rs` (and a counter to [`Purged`]).

use std::sync::Arc;

mod backend;
pub mod counted;
mod postgres;
mod sqlite;

/// The aggregates, one file each (see the crate docs).
mod aggregates {
    pub mod ciba;
    pub mod clients;
    pub mod codes;
    pub mod consent;
    pub mod enablements;
    pub mod keys;
    pub mod logins;
    pub mod maintenance;
    pub mod meta;
    pub mod refresh;
    pub mod replay;
    pub mod revocations;
    pub mod subscribers;
}

pub use aggregates::ciba::CibaStore;
pub use aggregates::clients::ClientStore;
pub use aggregates::codes::CodeStore;
pub use aggregates::consent::ConsentStore;
pub use aggregates::enablements::EnablementStore;
pub use aggregates::keys::KeyStore;
pub use aggregates::logins::LoginStore;
pub use aggregates::maintenance::{Maintenance, Purged};
pub use aggregates::meta::MetaStore;
pub use aggregates::refresh::RefreshStore;
pub use aggregates::replay::ReplayStore;
pub use aggregates::revocations::RevocationStore;
pub use aggregates::subscribers::SubscriberStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Implements every aggregate's trait (and the shared helpers they use) for
/// `$store`, a struct with a field `pool: sqlx::Pool<$db>` that implements
/// `backend::Backend`. Each backend module invokes it once.
macro_rules! impl_aggregates {
    ($store:ty, $db:ty) => {
        $crate::backend::impl_shared!($store, $db);
        $crate::aggregates::ciba::impl_backend!($store, $db);
        $crate::aggregates::clients::impl_backend!($store, $db);
        $crate::aggregates::codes::impl_backend!($store, $db);
        $crate::aggregates::consent::impl_backend!($store, $db);
        $crate::aggregates::enablements::impl_backend!($store, $db);
        $crate::aggregates::keys::impl_backend!($store, $db);
        $crate::aggregates::logins::impl_backend!($store, $db);
        $crate::aggregates::maintenance::impl_backend!($store, $db);
        $crate::aggregates::meta::impl_backend!($store, $db);
        $crate::aggregates::refresh::impl_backend!($store, $db);
        $crate::aggregates::replay::impl_backend!($store, $db);
        $crate::aggregates::revocations::impl_backend!($store, $db);
        $crate::aggregates::subscribers::impl_backend!($store, $db);
    };
}
pub(crate) use impl_aggregates;

/// Everything netauth keeps.
pub trait Store:
    ClientStore
    + KeyStore
    + ReplayStore
    + RevocationStore
    + MetaStore
    + SubscriberStore
    + ConsentStore
    + CibaStore
    + RefreshStore
    + EnablementStore
    + CodeStore
    + LoginStore
    + Maintenance
{
}
impl<T> Store for T where
    T: ClientStore
        + KeyStore
        + ReplayStore
        + RevocationStore
        + MetaStore
        + SubscriberStore
        + ConsentStore
        + CibaStore
        + RefreshStore
        + EnablementStore
        + CodeStore
        + LoginStore
        + Maintenance
{
}

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
