//! Server keys (signing keys published in the JWK Set, RFC 7517; sealing
//! keys for access tokens): the `keys` table, private halves encrypted under
//! the master key by `netauth_domain::keys`, and the `meta` row that decides
//! which node writes the first ones.

use crate::{Result, StoreError};
use async_trait::async_trait;
use netauth_domain::keys::{KeyUse, RotationPlan, StoredKey};

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn list_keys(&self) -> Result<Vec<StoredKey>>;
    /// Writes the first keys of an installation, once: when several nodes
    /// start together only one set is written. Returns whether these were.
    async fn init_keys(&self, keys: &[StoredKey]) -> Result<bool>;
    /// Applies a rotation in one transaction: new keys in, old ones retired.
    async fn rotate_keys(&self, plan: &RotationPlan) -> Result<()>;
}

/// The `meta` row whose insertion decides which node writes the first keys.
pub(crate) const KEYS_INITIALIZED: &str = "keys_initialized";

pub(crate) const LIST_KEYS: &str = "SELECT kid, key_use, alg, encrypted, public_jwk, created_at, active_from, \
     retires_at, expires_at FROM keys ORDER BY created_at, kid";
pub(crate) const INSERT_KEY: &str = "INSERT INTO keys (kid, key_use, alg, encrypted, public_jwk, created_at, \
     active_from, retires_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
pub(crate) const RETIRE_KEY: &str = "UPDATE keys SET retires_at = $2, expires_at = $3 WHERE kid = $1";
pub(crate) const INSERT_META_ONCE: &str =
    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
pub(crate) const PURGE_KEYS: &str = "DELETE FROM keys WHERE expires_at <= $1";

pub(crate) fn encode_jwk(k: &StoredKey) -> Result<Option<String>, StoreError> {
    k.public_jwk
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("key {}: {e}", k.kid)))
}

/// A row of `keys`.
#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    key_use: String,
    alg: String,
    encrypted: Vec<u8>,
    public_jwk: Option<String>,
    created_at: i64,
    active_from: i64,
    retires_at: Option<i64>,
    expires_at: Option<i64>,
}

impl KeyRow {
    pub(crate) fn into_key(self) -> Result<StoredKey, StoreError> {
        let key_use = KeyUse::parse(&self.key_use).ok_or_else(|| {
            StoreError::Corrupt(format!("key {}: unknown use {:?}", self.kid, self.key_use))
        })?;
        let public_jwk = self
            .public_jwk
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("key {}: public JWK: {e}", self.kid)))?;
        Ok(StoredKey {
            kid: self.kid,
            key_use,
            alg: self.alg,
            encrypted: self.encrypted,
            public_jwk,
            created_at: self.created_at,
            active_from: self.active_from,
            retires_at: self.retires_at,
            expires_at: self.expires_at,
        })
    }
}

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::keys::{RotationPlan, StoredKey};
            use $crate::Result;
            use $crate::aggregates::keys::{self as q, KeyStore};

            async fn insert_key_on(
                conn: &mut <$db as sqlx::Database>::Connection,
                k: &StoredKey,
            ) -> Result<()> {
                sqlx::query(q::INSERT_KEY)
                    .bind(&k.kid)
                    .bind(k.key_use.as_str())
                    .bind(&k.alg)
                    .bind(&k.encrypted)
                    .bind(q::encode_jwk(k)?)
                    .bind(k.created_at)
                    .bind(k.active_from)
                    .bind(k.retires_at)
                    .bind(k.expires_at)
                    .execute(conn)
                    .await?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl KeyStore for $store {
                async fn list_keys(&self) -> Result<Vec<StoredKey>> {
                    let rows: Vec<q::KeyRow> = sqlx::query_as(q::LIST_KEYS).fetch_all(&self.pool).await?;
                    rows.into_iter().map(q::KeyRow::into_key).collect()
                }

                async fn init_keys(&self, keys: &[StoredKey]) -> Result<bool> {
                    // An empty set must not claim the installation for good.
                    if keys.is_empty() {
                        return Ok(false);
                    }
                    // The `meta` row is the tie-breaker between nodes starting
                    // together: a second inserter waits on the first one's
                    // uncommitted row (PostgreSQL) or for the write lock (SQLite),
                    // then sees the conflict and writes nothing.
                    let mut tx = self.pool.begin().await?;
                    // The value says when, for an operator reading the table.
                    let first = keys.iter().map(|k| k.created_at).min().unwrap_or_default();
                    let claimed = sqlx::query(q::INSERT_META_ONCE)
                        .bind(q::KEYS_INITIALIZED)
                        .bind(first.to_string())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1;
                    if !claimed {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    for k in keys {
                        insert_key_on(&mut tx, k).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn rotate_keys(&self, plan: &RotationPlan) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    for k in &plan.new_keys {
                        insert_key_on(&mut tx, k).await?;
                    }
                    for (kid, retires_at, expires_at) in &plan.retire {
                        sqlx::query(q::RETIRE_KEY)
                            .bind(kid)
                            .bind(retires_at)
                            .bind(expires_at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }
            }
        };
    };
}
pub(crate) use impl_backend;
