//! What the two backends share: the SQL text, the row types, the conversions
//! between rows and domain types, error mapping, and [`impl_store!`], which
//! writes every Store trait for a type holding a `pool` of either database.
//!
//! One text serves both databases: sqlx accepts `$n` placeholders on SQLite
//! as well as PostgreSQL, and both understand `ON CONFLICT … DO NOTHING/UPDATE`
//! and `RETURNING`. A statement that had to differ would get a constant per
//! backend module, passed to the macro; none does so far. What really differs
//! (connection options, migrations' DDL) lives in `sqlite.rs` / `postgres.rs`.

use crate::StoreError;
use netauth_domain::client::{Client, ClientStatus};
use netauth_domain::keys::{KeyUse, StoredKey};
use netauth_domain::revocation::{Revocation, RevocationKind};

/// `list_clients` never returns more than this many rows at once: an admin
/// listing is paginated, and one call must not load the whole table.
pub(crate) const MAX_LIST_LIMIT: u32 = 1000;

/// The `meta` row whose insertion decides which node writes the first keys.
pub(crate) const KEYS_INITIALIZED: &str = "keys_initialized";

// ---------------------------------------------------------------- SQL

pub(crate) const INSERT_CLIENT: &str =
    "INSERT INTO clients (client_id, status, document, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const GET_CLIENT: &str = "SELECT document FROM clients WHERE client_id = $1";
pub(crate) const LIST_CLIENTS: &str =
    "SELECT document FROM clients WHERE ($1 IS NULL OR client_id > $1) ORDER BY client_id LIMIT $2";
pub(crate) const UPDATE_CLIENT: &str =
    "UPDATE clients SET status = $2, document = $3, updated_at = $4 WHERE client_id = $1";
pub(crate) const DELETE_CLIENT: &str = "DELETE FROM clients WHERE client_id = $1";
pub(crate) const COUNT_CLIENTS: &str = "SELECT COUNT(*) FROM clients";

pub(crate) const LIST_KEYS: &str = "SELECT kid, key_use, alg, encrypted, public_jwk, created_at, active_from, \
     retires_at, expires_at FROM keys ORDER BY created_at, kid";
pub(crate) const INSERT_KEY: &str = "INSERT INTO keys (kid, key_use, alg, encrypted, public_jwk, created_at, \
     active_from, retires_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
pub(crate) const RETIRE_KEY: &str = "UPDATE keys SET retires_at = $2, expires_at = $3 WHERE kid = $1";

pub(crate) const INSERT_META_ONCE: &str =
    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";
pub(crate) const GET_META: &str = "SELECT value FROM meta WHERE key = $1";
pub(crate) const SET_META: &str =
    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

pub(crate) const RECORD_JTI: &str = "INSERT INTO assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (client_id, jti) DO NOTHING";

pub(crate) const APPEND_REVOCATION: &str = "INSERT INTO revocations (kind, value, issued_before, expires_at, \
     created_at) VALUES ($1, $2, $3, $4, $5) RETURNING seq";
pub(crate) const REVOCATIONS_SINCE: &str = "SELECT seq, kind, value, issued_before, expires_at FROM revocations \
     WHERE seq > $1 OR created_at >= $2 ORDER BY seq LIMIT $3";

pub(crate) const PURGE_JTIS: &str = "DELETE FROM assertion_jti WHERE expires_at <= $1";
pub(crate) const PURGE_REVOCATIONS: &str = "DELETE FROM revocations WHERE expires_at <= $1";
pub(crate) const PURGE_KEYS: &str = "DELETE FROM keys WHERE expires_at <= $1";

pub(crate) const PING: &str = "SELECT 1";

// ---------------------------------------------------------------- errors

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(format!("migration failed: {e}"))
    }
}

// ---------------------------------------------------------------- rows

/// The `status` column: the same string serde writes into the document.
pub(crate) const fn status_str(s: ClientStatus) -> &'static str {
    match s {
        ClientStatus::Active => "active",
        ClientStatus::Suspended => "suspended",
    }
}

pub(crate) fn encode_client(c: &Client) -> Result<String, StoreError> {
    serde_json::to_string(c).map_err(|e| StoreError::Corrupt(format!("client {}: {e}", c.client_id)))
}

pub(crate) fn decode_client(document: &str) -> Result<Client, StoreError> {
    serde_json::from_str(document).map_err(|e| StoreError::Corrupt(format!("client document: {e}")))
}

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

/// Row counts come back as `i64` (SQL has no unsigned integers).
pub(crate) fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
}

// ---------------------------------------------------------------- impls

/// Implements every Store trait for `$store`, a struct with a field
/// `pool: sqlx::Pool<$db>`. Each statement is written once (above) and
/// compiled here against each database's concrete types, which keeps sqlx's
/// trait bounds out of sight: a generic `impl<DB: Database>` would need a
/// dozen `for<'q> …: Encode<'q, DB>` clauses on every method.
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal) => {
        // In an anonymous const so these imports stay out of the caller's module.
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::client::Client;
            use netauth_domain::keys::{RotationPlan, StoredKey};
            use netauth_domain::revocation::{Revocation, RevocationKind};
            use $crate::sql as q;
            use $crate::{
                ClientStore, KeyStore, Maintenance, MetaStore, Purged, ReplayStore, Result, RevocationStore,
            };

            impl $store {
                async fn insert_client_on(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    c: &Client,
                ) -> Result<()> {
                    sqlx::query(q::INSERT_CLIENT)
                        .bind(&c.client_id)
                        .bind(q::status_str(c.status))
                        .bind(q::encode_client(c)?)
                        .bind(c.created_at)
                        .bind(c.updated_at)
                        .execute(conn)
                        .await?;
                    Ok(())
                }

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
            }

            #[async_trait::async_trait]
            impl ClientStore for $store {
                async fn insert_client(&self, c: &Client) -> Result<()> {
                    let mut conn = self.pool.acquire().await?;
                    Self::insert_client_on(&mut conn, c).await
                }

                async fn insert_clients(&self, cs: &[Client]) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    for c in cs {
                        Self::insert_client_on(&mut tx, c).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn get_client(&self, client_id: &str) -> Result<Option<Client>> {
                    let doc: Option<String> =
                        sqlx::query_scalar(q::GET_CLIENT).bind(client_id).fetch_optional(&self.pool).await?;
                    doc.as_deref().map(q::decode_client).transpose()
                }

                async fn list_clients(&self, after: Option<&str>, limit: u32) -> Result<Vec<Client>> {
                    let docs: Vec<String> = sqlx::query_scalar(q::LIST_CLIENTS)
                        .bind(after)
                        .bind(i64::from(limit.min(q::MAX_LIST_LIMIT)))
                        .fetch_all(&self.pool)
                        .await?;
                    docs.iter().map(|d| q::decode_client(d)).collect()
                }

                async fn update_client(&self, c: &Client) -> Result<bool> {
                    let done = sqlx::query(q::UPDATE_CLIENT)
                        .bind(&c.client_id)
                        .bind(q::status_str(c.status))
                        .bind(q::encode_client(c)?)
                        .bind(c.updated_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_client(&self, client_id: &str) -> Result<bool> {
                    let done = sqlx::query(q::DELETE_CLIENT).bind(client_id).execute(&self.pool).await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn count_clients(&self) -> Result<u64> {
                    let n: i64 = sqlx::query_scalar(q::COUNT_CLIENTS).fetch_one(&self.pool).await?;
                    q::count(n)
                }
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
                        Self::insert_key_on(&mut tx, k).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn rotate_keys(&self, plan: &RotationPlan) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    for k in &plan.new_keys {
                        Self::insert_key_on(&mut tx, k).await?;
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
            }

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

            #[async_trait::async_trait]
            impl MetaStore for $store {
                async fn get_meta(&self, key: &str) -> Result<Option<String>> {
                    Ok(sqlx::query_scalar(q::GET_META).bind(key).fetch_optional(&self.pool).await?)
                }

                async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
                    sqlx::query(q::SET_META).bind(key).bind(value).execute(&self.pool).await?;
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl Maintenance for $store {
                async fn purge_expired(&self, now: UnixTime) -> Result<Purged> {
                    // Three short statements rather than one transaction: nothing
                    // ties the tables together, and short writes keep SQLite's
                    // single write lock free for requests.
                    let mut purged = Purged::default();
                    for (sql, n) in [
                        (q::PURGE_JTIS, &mut purged.jtis),
                        (q::PURGE_REVOCATIONS, &mut purged.revocations),
                        (q::PURGE_KEYS, &mut purged.keys),
                    ] {
                        *n = sqlx::query(sql).bind(now).execute(&self.pool).await?.rows_affected();
                    }
                    Ok(purged)
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query(q::PING).execute(&self.pool).await?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    $backend
                }
            }
        };
    };
}

pub(crate) use impl_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_column_matches_the_document() {
        for s in [ClientStatus::Active, ClientStatus::Suspended] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(status_str(s))));
        }
    }
}
