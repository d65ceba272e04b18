//! What the two backends share: the SQL text, the row types, the conversions
//! between rows and domain types, error mapping, and [`impl_store!`], which
//! writes every Store trait for a type holding a `pool` of either database.
//!
//! One text serves both databases: sqlx accepts `$n` placeholders on SQLite
//! as well as PostgreSQL, and both understand `ON CONFLICT … DO NOTHING/UPDATE`
//! and `RETURNING`. A statement that has to differ is a constant in each
//! backend module, passed to the macro (`LOCK_PENDING_PROMPTS`). What really
//! differs (connection options, migrations' DDL) lives in `sqlite.rs` /
//! `postgres.rs`.
//!
//! Conditional state changes (`pending → approved`, a refresh token's
//! rotation, …) follow one pattern in a transaction: first a conditional
//! `UPDATE … WHERE <the condition> RETURNING document` on the mirrored
//! column, which decides the winner, then the document rewritten with the
//! same change. Writing first matters on SQLite: a transaction whose first
//! statement is a write takes the database's write lock (waiting out the
//! busy timeout), whereas one that reads first and writes later fails at once
//! with `SQLITE_BUSY` when another connection wrote in between. On PostgreSQL
//! the `UPDATE` takes the row lock, and a concurrent one re-checks its
//! condition against the committed row once the lock is free.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "being split by aggregate; the split removes these (issue 7)"
)]

use crate::StoreError;
use netauth_domain::ciba::{CibaRequest, Prompt, RefreshTokenRecord};
use netauth_domain::client::{Client, ClientStatus};
use netauth_domain::consent::{Consent, ConsentStatus, LegalBasisRule};
use netauth_domain::keys::{KeyUse, StoredKey};
use netauth_domain::revocation::{Revocation, RevocationKind};
use netauth_domain::subscriber::{Operator, Subscriber};

/// `list_clients`, `list_subscribers` and `subscribers_by_address` never
/// return more than this many rows at once: an admin listing is paginated,
/// and one call must not load the whole table.
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

pub(crate) const RECORD_JTIS: &str = "INSERT INTO assertion_jti (client_id, jti, expires_at) ";
pub(crate) const RECORD_JTIS_TAIL: &str = " ON CONFLICT (client_id, jti) DO NOTHING RETURNING client_id, jti";
/// Rows per `record_jtis` statement (3 parameters each, well under both
/// databases' parameter limits).
pub(crate) const JTI_ROWS: usize = 500;

pub(crate) const APPEND_REVOCATION: &str = "INSERT INTO revocations (kind, value, issued_before, expires_at, \
     created_at) VALUES ($1, $2, $3, $4, $5) RETURNING seq";
pub(crate) const REVOCATIONS_SINCE: &str = "SELECT seq, kind, value, issued_before, expires_at FROM revocations \
     WHERE seq > $1 OR created_at >= $2 ORDER BY seq LIMIT $3";

pub(crate) const PURGE_JTIS: &str = "DELETE FROM assertion_jti WHERE expires_at <= $1";
pub(crate) const PURGE_REVOCATIONS: &str = "DELETE FROM revocations WHERE expires_at <= $1";
pub(crate) const PURGE_KEYS: &str = "DELETE FROM keys WHERE expires_at <= $1";
pub(crate) const PURGE_CIBA_REQUESTS: &str = "DELETE FROM ciba_requests WHERE expires_at <= $1";
pub(crate) const PURGE_PROMPTS: &str = "DELETE FROM prompts WHERE expires_at <= $1";
pub(crate) const PURGE_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE expires_at <= $1";
pub(crate) const PURGE_OPERATOR_TOKENS: &str = "DELETE FROM operator_tokens WHERE expires_at <= $1";

// Operators and subscribers.

pub(crate) const UPSERT_OPERATOR: &str = "INSERT INTO operators (id, document) VALUES ($1, $2) \
     ON CONFLICT (id) DO UPDATE SET document = excluded.document";
pub(crate) const GET_OPERATOR: &str = "SELECT document FROM operators WHERE id = $1";
pub(crate) const LIST_OPERATORS: &str = "SELECT document FROM operators ORDER BY id";
pub(crate) const DELETE_OPERATOR: &str = "DELETE FROM operators WHERE id = $1";

/// Heads of the multi-row inserts (`VALUES (…), (…), …` is appended).
pub(crate) const INSERT_SUBSCRIBERS: &str =
    "INSERT INTO subscribers (id, msisdn, operator_id, document, created_at) ";
pub(crate) const INSERT_ADDRESSES: &str =
    "INSERT INTO subscriber_addresses (subscriber_id, ip, port_start, port_end) ";
/// Rows per multi-row statement. Bound parameters per statement (5 and 4 per
/// row) stay well under SQLite's limit (32 766) and PostgreSQL's (65 535).
pub(crate) const SUBSCRIBER_ROWS: usize = 2000;
pub(crate) const ADDRESS_ROWS: usize = 2000;

pub(crate) const UPDATE_SUBSCRIBER: &str =
    "UPDATE subscribers SET msisdn = $2, operator_id = $3, document = $4, created_at = $5 WHERE id = $1";
pub(crate) const DELETE_ADDRESSES: &str = "DELETE FROM subscriber_addresses WHERE subscriber_id = $1";
pub(crate) const DELETE_SUBSCRIBER: &str = "DELETE FROM subscribers WHERE id = $1";
pub(crate) const GET_SUBSCRIBER: &str = "SELECT document FROM subscribers WHERE id = $1";
pub(crate) const SUBSCRIBER_BY_MSISDN: &str = "SELECT document FROM subscribers WHERE msisdn = $1";
pub(crate) const SUBSCRIBERS_BY_IP: &str = "SELECT document FROM subscribers WHERE id IN \
     (SELECT subscriber_id FROM subscriber_addresses WHERE ip = $1) ORDER BY id LIMIT $2";
pub(crate) const SUBSCRIBERS_BY_IP_PORT: &str = "SELECT document FROM subscribers WHERE id IN \
     (SELECT subscriber_id FROM subscriber_addresses WHERE ip = $1 AND port_start <= $2 AND port_end >= $2) \
     ORDER BY id LIMIT $3";
// Two statements rather than `$1 IS NULL OR msisdn > $1`: neither planner
// turns that into an index range once the statement is prepared, and a page
// deep into a million subscribers would scan every row before it.
pub(crate) const LIST_SUBSCRIBERS: &str = "SELECT document FROM subscribers ORDER BY msisdn LIMIT $1";
pub(crate) const LIST_SUBSCRIBERS_AFTER: &str =
    "SELECT document FROM subscribers WHERE msisdn > $1 ORDER BY msisdn LIMIT $2";
pub(crate) const COUNT_SUBSCRIBERS: &str = "SELECT COUNT(*) FROM subscribers";

pub(crate) const INSERT_OPERATOR_TOKEN: &str =
    "INSERT INTO operator_tokens (token_hash, subscriber_id, expires_at) VALUES ($1, $2, $3)";
/// One statement, so of concurrent callers exactly one gets the row.
pub(crate) const CONSUME_OPERATOR_TOKEN: &str = "DELETE FROM operator_tokens \
     WHERE token_hash = $1 AND expires_at > $2 RETURNING token_hash, subscriber_id, expires_at";

// Legal bases and consents.

pub(crate) const UPSERT_LEGAL_BASIS: &str = "INSERT INTO legal_bases (scope, purpose, document) \
     VALUES ($1, $2, $3) ON CONFLICT (scope, purpose) DO UPDATE SET document = excluded.document";
pub(crate) const DELETE_LEGAL_BASIS: &str = "DELETE FROM legal_bases WHERE scope = $1 AND purpose = $2";
pub(crate) const LIST_LEGAL_BASES: &str = "SELECT document FROM legal_bases ORDER BY scope, purpose";

pub(crate) const UPSERT_CONSENT: &str = "INSERT INTO consents (subscriber_id, client_id, scope, purpose, \
     status, document, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (subscriber_id, client_id, scope, purpose) DO UPDATE \
     SET status = excluded.status, document = excluded.document, updated_at = excluded.updated_at";
pub(crate) const GET_CONSENT: &str = "SELECT document FROM consents \
     WHERE subscriber_id = $1 AND client_id = $2 AND scope = $3 AND purpose = $4";
pub(crate) const LIST_CONSENTS: &str =
    "SELECT document FROM consents WHERE subscriber_id = $1 ORDER BY client_id, scope, purpose";

// CIBA requests and prompts.

pub(crate) const INSERT_CIBA_REQUEST: &str = "INSERT INTO ciba_requests (id_hash, client_id, subscriber_id, \
     status, document, expires_at, last_polled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const COUNT_PENDING_PROMPTS: &str =
    "SELECT COUNT(*) FROM prompts WHERE subscriber_id = $1 AND status = $2 AND expires_at > $3";
pub(crate) const INSERT_PROMPT: &str = "INSERT INTO prompts (id, subscriber_id, reference, status, document, \
     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(crate) const GET_CIBA_REQUEST: &str = "SELECT document FROM ciba_requests WHERE id_hash = $1";
/// Null-safe `last_polled_at = $2`, spelt so both dialects accept it
/// (SQLite's `IS` and PostgreSQL's `IS NOT DISTINCT FROM` differ).
pub(crate) const CLAIM_CIBA_POLL: &str = "UPDATE ciba_requests SET last_polled_at = $3 WHERE id_hash = $1 \
     AND (last_polled_at = $2 OR (last_polled_at IS NULL AND $2 IS NULL)) RETURNING document";
pub(crate) const CLAIM_CIBA_STATUS: &str =
    "UPDATE ciba_requests SET status = $3 WHERE id_hash = $1 AND status = $2 RETURNING document";
pub(crate) const SET_CIBA_DOCUMENT: &str = "UPDATE ciba_requests SET document = $2 WHERE id_hash = $1";

pub(crate) const GET_PROMPT: &str = "SELECT document FROM prompts WHERE id = $1";
pub(crate) const LIST_PROMPTS: &str = "SELECT document FROM prompts \
     WHERE subscriber_id = $1 AND status = $2 AND expires_at > $3 ORDER BY created_at DESC, id DESC";
pub(crate) const CLAIM_PROMPT: &str = "UPDATE prompts SET status = $5 \
     WHERE id = $1 AND subscriber_id = $2 AND status = $3 AND expires_at > $4 RETURNING document";
pub(crate) const SET_PROMPT_DOCUMENT: &str = "UPDATE prompts SET document = $2 WHERE id = $1";

// Refresh tokens.

pub(crate) const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens (token_hash, family_id, client_id, \
     subscriber_id, rotated_at, revoked, document, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(crate) const GET_REFRESH_TOKEN: &str = "SELECT document FROM refresh_tokens WHERE token_hash = $1";
pub(crate) const CLAIM_REFRESH_ROTATION: &str = "UPDATE refresh_tokens SET rotated_at = $2 \
     WHERE token_hash = $1 AND rotated_at IS NULL AND NOT revoked RETURNING document";
pub(crate) const REVOKE_REFRESH_FAMILY: &str = "UPDATE refresh_tokens SET revoked = TRUE \
     WHERE family_id = $1 AND NOT revoked RETURNING token_hash, document";
pub(crate) const REVOKE_REFRESH_TOKENS_OF: &str = "UPDATE refresh_tokens SET revoked = TRUE \
     WHERE client_id = $1 AND subscriber_id = $2 AND NOT revoked RETURNING token_hash, document";
pub(crate) const SET_REFRESH_DOCUMENT: &str = "UPDATE refresh_tokens SET document = $2 WHERE token_hash = $1";

pub(crate) const PING: &str = "SELECT 1";

// ---------------------------------------------------------------- errors

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            // A row still referenced (an operator with subscribers), or a
            // reference to a missing row (a subscriber of an unknown operator).
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::Conflict,
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

/// The consents' `status` column: the same string serde writes.
pub(crate) const fn consent_status_str(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Granted => "granted",
        ConsentStatus::Revoked => "revoked",
    }
}

/// A record stored as a JSON document.
pub(crate) trait Document: Sized {
    fn to_doc(&self) -> Result<String, StoreError>;
    fn from_doc(doc: &str) -> Result<Self, StoreError>;
}

macro_rules! documents {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl Document for $ty {
            fn to_doc(&self) -> Result<String, StoreError> {
                serde_json::to_string(self).map_err(|e| StoreError::Corrupt(format!("{}: {e}", $what)))
            }
            fn from_doc(doc: &str) -> Result<Self, StoreError> {
                serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("{} document: {e}", $what)))
            }
        }
    )*};
}

documents!(
    Operator => "operator",
    Subscriber => "subscriber",
    LegalBasisRule => "legal basis",
    Consent => "consent",
    CibaRequest => "CIBA request",
    Prompt => "prompt",
    RefreshTokenRecord => "refresh token",
);

pub(crate) fn decode_all<T: Document>(docs: &[String]) -> Result<Vec<T>, StoreError> {
    docs.iter().map(|d| T::from_doc(d)).collect()
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
///
/// `$lock_pending_prompts` (`Option<&str>`) is the backend's statement that
/// serialises `insert_ciba_request`s of one subscriber (bound to its id), so
/// the count of its pending prompts cannot go stale before the insert.
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:literal, $lock_pending_prompts:expr) => {
        // In an anonymous const so these imports stay out of the caller's module.
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::ciba::{CibaRequest, CibaStatus, Prompt, PromptStatus, RefreshTokenRecord};
            use netauth_domain::client::Client;
            use netauth_domain::consent::{Consent, LegalBasisRule};
            use netauth_domain::keys::{RotationPlan, StoredKey};
            use netauth_domain::revocation::{Revocation, RevocationKind};
            use netauth_domain::subscriber::{Operator, OperatorTokenRecord, Subscriber};
            use $crate::sql::{self as q, Document as _};
            use $crate::{
                CibaStore, ClientStore, ConsentStore, KeyStore, Maintenance, MetaStore, Purged, RefreshStore,
                ReplayStore, Result, RevocationStore, SubscriberStore,
            };

            const PROMPT_LOCK: Option<&str> = $lock_pending_prompts;

            impl $store {
                /// The document a one-parameter `SELECT document …` finds, decoded.
                async fn doc_by_key<T: q::Document>(
                    &self,
                    sql: &'static str,
                    key: &str,
                ) -> Result<Option<T>> {
                    let doc: Option<String> =
                        sqlx::query_scalar(sql).bind(key).fetch_optional(&self.pool).await?;
                    doc.as_deref().map(T::from_doc).transpose()
                }

                /// Subscriber rows, in multi-row statements.
                async fn insert_subscriber_rows_on(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    subs: &[Subscriber],
                ) -> Result<()> {
                    let docs = subs.iter().map(Subscriber::to_doc).collect::<Result<Vec<_>>>()?;
                    for (subs, docs) in subs.chunks(q::SUBSCRIBER_ROWS).zip(docs.chunks(q::SUBSCRIBER_ROWS)) {
                        let mut b = sqlx::QueryBuilder::<$db>::new(q::INSERT_SUBSCRIBERS);
                        b.push_values(subs.iter().zip(docs), |mut row, (s, doc)| {
                            row.push_bind(&s.id)
                                .push_bind(&s.msisdn)
                                .push_bind(&s.operator_id)
                                .push_bind(doc)
                                .push_bind(s.created_at);
                        });
                        b.build().execute(&mut *conn).await?;
                    }
                    Ok(())
                }

                /// The address index of `subs`, in multi-row statements.
                async fn insert_addresses_on(
                    conn: &mut <$db as sqlx::Database>::Connection,
                    subs: &[Subscriber],
                ) -> Result<()> {
                    let rows: Vec<_> =
                        subs.iter().flat_map(|s| s.addresses.iter().map(move |a| (&s.id, a))).collect();
                    for rows in rows.chunks(q::ADDRESS_ROWS) {
                        let mut b = sqlx::QueryBuilder::<$db>::new(q::INSERT_ADDRESSES);
                        b.push_values(rows, |mut row, (id, a)| {
                            row.push_bind(*id)
                                .push_bind(&a.ip)
                                .push_bind(i32::from(a.port_start))
                                .push_bind(i32::from(a.port_end));
                        });
                        b.build().execute(&mut *conn).await?;
                    }
                    Ok(())
                }

                /// `from → to` for a CIBA request, column and document alike;
                /// of concurrent callers one gets the request as updated.
                async fn transition_ciba(
                    &self,
                    id_hash: &str,
                    from: CibaStatus,
                    to: CibaStatus,
                ) -> Result<Option<CibaRequest>> {
                    let mut tx = self.pool.begin().await?;
                    let doc: Option<String> = sqlx::query_scalar(q::CLAIM_CIBA_STATUS)
                        .bind(id_hash)
                        .bind(from.as_str())
                        .bind(to.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(doc) = doc else {
                        tx.rollback().await?;
                        return Ok(None);
                    };
                    let mut r = CibaRequest::from_doc(&doc)?;
                    r.status = to;
                    sqlx::query(q::SET_CIBA_DOCUMENT)
                        .bind(id_hash)
                        .bind(r.to_doc()?)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(r))
                }

                /// Revokes the refresh tokens `claim` (with its binds) selects
                /// and rewrites their documents; returns how many it revoked.
                async fn revoke_refresh_tokens<'q>(
                    &self,
                    claim: sqlx::query::QueryAs<
                        'q,
                        $db,
                        (String, String),
                        <$db as sqlx::Database>::Arguments<'q>,
                    >,
                ) -> Result<u64> {
                    let mut tx = self.pool.begin().await?;
                    let rows = claim.fetch_all(&mut *tx).await?;
                    for (token_hash, doc) in &rows {
                        let mut r = RefreshTokenRecord::from_doc(doc)?;
                        r.revoked = true;
                        sqlx::query(q::SET_REFRESH_DOCUMENT)
                            .bind(token_hash)
                            .bind(r.to_doc()?)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(rows.len() as u64)
                }

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

                async fn record_jtis(&self, records: &[(String, String, UnixTime)]) -> Result<Vec<bool>> {
                    use std::collections::HashSet;
                    let mut fresh = vec![false; records.len()];
                    // A pair twice in one batch: only its first occurrence is
                    // sent (one statement may not touch a row twice).
                    let mut seen: HashSet<(&str, &str)> = HashSet::new();
                    let unique: Vec<usize> = (0..records.len())
                        .filter(|&i| seen.insert((records[i].0.as_str(), records[i].1.as_str())))
                        .collect();
                    for chunk in unique.chunks(q::JTI_ROWS) {
                        let mut b = sqlx::QueryBuilder::<$db>::new(q::RECORD_JTIS);
                        b.push_values(chunk, |mut row, &i| {
                            let (c, j, e) = &records[i];
                            row.push_bind(c).push_bind(j).push_bind(*e);
                        });
                        b.push(q::RECORD_JTIS_TAIL);
                        let inserted: Vec<(String, String)> =
                            b.build_query_as().fetch_all(&self.pool).await?;
                        let inserted: HashSet<(String, String)> = inserted.into_iter().collect();
                        for &i in chunk {
                            let (c, j, _) = &records[i];
                            fresh[i] = inserted.contains(&(c.clone(), j.clone()));
                        }
                    }
                    Ok(fresh)
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
            impl SubscriberStore for $store {
                async fn upsert_operator(&self, o: &Operator) -> Result<()> {
                    sqlx::query(q::UPSERT_OPERATOR).bind(&o.id).bind(o.to_doc()?).execute(&self.pool).await?;
                    Ok(())
                }

                async fn get_operator(&self, id: &str) -> Result<Option<Operator>> {
                    self.doc_by_key::<Operator>(q::GET_OPERATOR, id).await
                }

                async fn list_operators(&self) -> Result<Vec<Operator>> {
                    let docs: Vec<String> =
                        sqlx::query_scalar(q::LIST_OPERATORS).fetch_all(&self.pool).await?;
                    q::decode_all(&docs)
                }

                async fn delete_operator(&self, id: &str) -> Result<bool> {
                    // A subscriber still referencing it fails the foreign key: Conflict.
                    let done = sqlx::query(q::DELETE_OPERATOR).bind(id).execute(&self.pool).await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn insert_subscriber(&self, s: &Subscriber) -> Result<()> {
                    self.insert_subscribers(std::slice::from_ref(s)).await
                }

                async fn insert_subscribers(&self, subs: &[Subscriber]) -> Result<()> {
                    if subs.is_empty() {
                        return Ok(());
                    }
                    let mut tx = self.pool.begin().await?;
                    Self::insert_subscriber_rows_on(&mut tx, subs).await?;
                    Self::insert_addresses_on(&mut tx, subs).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn update_subscriber(&self, s: &Subscriber) -> Result<bool> {
                    let mut tx = self.pool.begin().await?;
                    let done = sqlx::query(q::UPDATE_SUBSCRIBER)
                        .bind(&s.id)
                        .bind(&s.msisdn)
                        .bind(&s.operator_id)
                        .bind(s.to_doc()?)
                        .bind(s.created_at)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    sqlx::query(q::DELETE_ADDRESSES).bind(&s.id).execute(&mut *tx).await?;
                    Self::insert_addresses_on(&mut tx, std::slice::from_ref(s)).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn delete_subscriber(&self, id: &str) -> Result<bool> {
                    // Its addresses go with it (ON DELETE CASCADE).
                    let done = sqlx::query(q::DELETE_SUBSCRIBER).bind(id).execute(&self.pool).await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn get_subscriber(&self, id: &str) -> Result<Option<Subscriber>> {
                    self.doc_by_key::<Subscriber>(q::GET_SUBSCRIBER, id).await
                }

                async fn subscriber_by_msisdn(&self, msisdn: &str) -> Result<Option<Subscriber>> {
                    self.doc_by_key::<Subscriber>(q::SUBSCRIBER_BY_MSISDN, msisdn).await
                }

                async fn subscribers_by_address(
                    &self,
                    ip: &str,
                    port: Option<u16>,
                    limit: u32,
                ) -> Result<Vec<Subscriber>> {
                    let limit = i64::from(limit.min(q::MAX_LIST_LIMIT));
                    let docs: Vec<String> = match port {
                        Some(port) => {
                            sqlx::query_scalar(q::SUBSCRIBERS_BY_IP_PORT)
                                .bind(ip)
                                .bind(i32::from(port))
                                .bind(limit)
                                .fetch_all(&self.pool)
                                .await?
                        }
                        None => {
                            sqlx::query_scalar(q::SUBSCRIBERS_BY_IP)
                                .bind(ip)
                                .bind(limit)
                                .fetch_all(&self.pool)
                                .await?
                        }
                    };
                    q::decode_all(&docs)
                }

                async fn list_subscribers(&self, after: Option<&str>, limit: u32) -> Result<Vec<Subscriber>> {
                    let limit = i64::from(limit.min(q::MAX_LIST_LIMIT));
                    let docs: Vec<String> = match after {
                        Some(after) => {
                            sqlx::query_scalar(q::LIST_SUBSCRIBERS_AFTER)
                                .bind(after)
                                .bind(limit)
                                .fetch_all(&self.pool)
                                .await?
                        }
                        None => {
                            sqlx::query_scalar(q::LIST_SUBSCRIBERS).bind(limit).fetch_all(&self.pool).await?
                        }
                    };
                    q::decode_all(&docs)
                }

                async fn count_subscribers(&self) -> Result<u64> {
                    let n: i64 = sqlx::query_scalar(q::COUNT_SUBSCRIBERS).fetch_one(&self.pool).await?;
                    q::count(n)
                }

                async fn insert_operator_token(&self, t: &OperatorTokenRecord) -> Result<()> {
                    sqlx::query(q::INSERT_OPERATOR_TOKEN)
                        .bind(&t.token_hash)
                        .bind(&t.subscriber_id)
                        .bind(t.expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn consume_operator_token(
                    &self,
                    token_hash: &str,
                    now: UnixTime,
                ) -> Result<Option<OperatorTokenRecord>> {
                    let row: Option<(String, String, i64)> = sqlx::query_as(q::CONSUME_OPERATOR_TOKEN)
                        .bind(token_hash)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|(token_hash, subscriber_id, expires_at)| OperatorTokenRecord {
                        token_hash,
                        subscriber_id,
                        expires_at,
                    }))
                }
            }

            #[async_trait::async_trait]
            impl ConsentStore for $store {
                async fn upsert_legal_basis(&self, r: &LegalBasisRule) -> Result<()> {
                    sqlx::query(q::UPSERT_LEGAL_BASIS)
                        .bind(&r.scope)
                        .bind(&r.purpose)
                        .bind(r.to_doc()?)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn delete_legal_basis(&self, scope: &str, purpose: &str) -> Result<bool> {
                    let done = sqlx::query(q::DELETE_LEGAL_BASIS)
                        .bind(scope)
                        .bind(purpose)
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_legal_bases(&self) -> Result<Vec<LegalBasisRule>> {
                    let docs: Vec<String> =
                        sqlx::query_scalar(q::LIST_LEGAL_BASES).fetch_all(&self.pool).await?;
                    q::decode_all(&docs)
                }

                async fn upsert_consent(&self, c: &Consent) -> Result<()> {
                    sqlx::query(q::UPSERT_CONSENT)
                        .bind(&c.subscriber_id)
                        .bind(&c.client_id)
                        .bind(&c.scope)
                        .bind(&c.purpose)
                        .bind(q::consent_status_str(c.status))
                        .bind(c.to_doc()?)
                        .bind(c.updated_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn get_consent(
                    &self,
                    subscriber_id: &str,
                    client_id: &str,
                    scope: &str,
                    purpose: &str,
                ) -> Result<Option<Consent>> {
                    let doc: Option<String> = sqlx::query_scalar(q::GET_CONSENT)
                        .bind(subscriber_id)
                        .bind(client_id)
                        .bind(scope)
                        .bind(purpose)
                        .fetch_optional(&self.pool)
                        .await?;
                    doc.as_deref().map(Consent::from_doc).transpose()
                }

                async fn list_consents(&self, subscriber_id: &str) -> Result<Vec<Consent>> {
                    let docs: Vec<String> = sqlx::query_scalar(q::LIST_CONSENTS)
                        .bind(subscriber_id)
                        .fetch_all(&self.pool)
                        .await?;
                    q::decode_all(&docs)
                }
            }

            #[async_trait::async_trait]
            impl CibaStore for $store {
                async fn insert_ciba_request(
                    &self,
                    r: &CibaRequest,
                    prompt: Option<&Prompt>,
                    max_pending: u32,
                    now: UnixTime,
                ) -> Result<bool> {
                    let mut tx = self.pool.begin().await?;
                    if let Some(lock) = PROMPT_LOCK {
                        sqlx::query(lock).bind(&r.subscriber_id).execute(&mut *tx).await?;
                    }
                    // The write comes first (see the module's notes), then the
                    // count, taken under the lock; at the bound both are undone.
                    sqlx::query(q::INSERT_CIBA_REQUEST)
                        .bind(&r.id_hash)
                        .bind(&r.client_id)
                        .bind(&r.subscriber_id)
                        .bind(r.status.as_str())
                        .bind(r.to_doc()?)
                        .bind(r.expires_at)
                        .bind(r.last_polled_at)
                        .execute(&mut *tx)
                        .await?;
                    let pending: i64 = sqlx::query_scalar(q::COUNT_PENDING_PROMPTS)
                        .bind(&r.subscriber_id)
                        .bind(PromptStatus::Pending.as_str())
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    if pending >= i64::from(max_pending) {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    if let Some(p) = prompt {
                        sqlx::query(q::INSERT_PROMPT)
                            .bind(&p.id)
                            .bind(&p.subscriber_id)
                            .bind(&p.reference)
                            .bind(p.status.as_str())
                            .bind(p.to_doc()?)
                            .bind(p.created_at)
                            .bind(p.expires_at)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn get_ciba_request(&self, id_hash: &str) -> Result<Option<CibaRequest>> {
                    self.doc_by_key::<CibaRequest>(q::GET_CIBA_REQUEST, id_hash).await
                }

                async fn record_ciba_poll(
                    &self,
                    id_hash: &str,
                    seen: Option<UnixTime>,
                    now: UnixTime,
                    interval: i64,
                ) -> Result<bool> {
                    let mut tx = self.pool.begin().await?;
                    let doc: Option<String> = sqlx::query_scalar(q::CLAIM_CIBA_POLL)
                        .bind(id_hash)
                        .bind(seen)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(doc) = doc else {
                        tx.rollback().await?;
                        return Ok(false);
                    };
                    let mut r = CibaRequest::from_doc(&doc)?;
                    r.last_polled_at = Some(now);
                    r.interval = interval;
                    sqlx::query(q::SET_CIBA_DOCUMENT)
                        .bind(id_hash)
                        .bind(r.to_doc()?)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn decide_ciba_request(
                    &self,
                    id_hash: &str,
                    status: CibaStatus,
                ) -> Result<Option<CibaRequest>> {
                    // Only decisions: `pending → consumed` would skip approval.
                    if !matches!(status, CibaStatus::Approved | CibaStatus::Denied) {
                        return Ok(None);
                    }
                    self.transition_ciba(id_hash, CibaStatus::Pending, status).await
                }

                async fn consume_ciba_request(&self, id_hash: &str) -> Result<Option<CibaRequest>> {
                    self.transition_ciba(id_hash, CibaStatus::Approved, CibaStatus::Consumed).await
                }

                async fn get_prompt(&self, id: &str) -> Result<Option<Prompt>> {
                    self.doc_by_key::<Prompt>(q::GET_PROMPT, id).await
                }

                async fn list_prompts(&self, subscriber_id: &str, now: UnixTime) -> Result<Vec<Prompt>> {
                    let docs: Vec<String> = sqlx::query_scalar(q::LIST_PROMPTS)
                        .bind(subscriber_id)
                        .bind(PromptStatus::Pending.as_str())
                        .bind(now)
                        .fetch_all(&self.pool)
                        .await?;
                    q::decode_all(&docs)
                }

                async fn answer_prompt(
                    &self,
                    id: &str,
                    subscriber_id: &str,
                    approve: bool,
                    now: UnixTime,
                ) -> Result<Option<Prompt>> {
                    let to = if approve { PromptStatus::Approved } else { PromptStatus::Denied };
                    let mut tx = self.pool.begin().await?;
                    let doc: Option<String> = sqlx::query_scalar(q::CLAIM_PROMPT)
                        .bind(id)
                        .bind(subscriber_id)
                        .bind(PromptStatus::Pending.as_str())
                        .bind(now)
                        .bind(to.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(doc) = doc else {
                        tx.rollback().await?;
                        return Ok(None);
                    };
                    let mut p = Prompt::from_doc(&doc)?;
                    p.status = to;
                    sqlx::query(q::SET_PROMPT_DOCUMENT).bind(id).bind(p.to_doc()?).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(Some(p))
                }
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
                    let mut tx = self.pool.begin().await?;
                    let doc: Option<String> = sqlx::query_scalar(q::CLAIM_REFRESH_ROTATION)
                        .bind(token_hash)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(doc) = doc else {
                        tx.rollback().await?;
                        return Ok(None);
                    };
                    let mut r = RefreshTokenRecord::from_doc(&doc)?;
                    r.rotated_at = Some(now);
                    sqlx::query(q::SET_REFRESH_DOCUMENT)
                        .bind(token_hash)
                        .bind(r.to_doc()?)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(r))
                }

                async fn revoke_refresh_family(&self, family_id: &str) -> Result<u64> {
                    self.revoke_refresh_tokens(sqlx::query_as(q::REVOKE_REFRESH_FAMILY).bind(family_id)).await
                }

                async fn revoke_refresh_tokens_of(
                    &self,
                    client_id: &str,
                    subscriber_id: &str,
                ) -> Result<u64> {
                    self.revoke_refresh_tokens(
                        sqlx::query_as(q::REVOKE_REFRESH_TOKENS_OF).bind(client_id).bind(subscriber_id),
                    )
                    .await
                }
            }

            #[async_trait::async_trait]
            impl Maintenance for $store {
                async fn purge_expired(&self, now: UnixTime) -> Result<Purged> {
                    // Short statements rather than one transaction: nothing ties
                    // the tables together, and short writes keep SQLite's single
                    // write lock free for requests.
                    let mut purged = Purged::default();
                    for (sql, n) in [
                        (q::PURGE_JTIS, &mut purged.jtis),
                        (q::PURGE_REVOCATIONS, &mut purged.revocations),
                        (q::PURGE_KEYS, &mut purged.keys),
                        (q::PURGE_CIBA_REQUESTS, &mut purged.ciba_requests),
                        (q::PURGE_PROMPTS, &mut purged.prompts),
                        (q::PURGE_REFRESH_TOKENS, &mut purged.refresh_tokens),
                        (q::PURGE_OPERATOR_TOKENS, &mut purged.operator_tokens),
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
        for s in [ConsentStatus::Granted, ConsentStatus::Revoked] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(consent_status_str(s))));
        }
    }

    #[test]
    fn ciba_and_prompt_status_columns_match_the_documents() {
        use netauth_domain::ciba::{CibaStatus, PromptStatus};
        for s in [CibaStatus::Pending, CibaStatus::Approved, CibaStatus::Denied, CibaStatus::Consumed] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(s.as_str())));
        }
        for s in [PromptStatus::Pending, PromptStatus::Approved, PromptStatus::Denied, PromptStatus::Expired]
        {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(s.as_str())));
        }
    }
}
