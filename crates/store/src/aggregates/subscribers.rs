//! Network operators, their subscribers (CAMARA's end users: MSISDN, SIM,
//! assigned IP addresses and port ranges) and one-time operator tokens: the
//! `operators`, `subscribers`, `subscriber_addresses` (the address index) and
//! `operator_tokens` tables.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::subscriber::{Operator, OperatorTokenRecord, Subscriber};

#[async_trait]
pub trait SubscriberStore: Send + Sync {
    /// Inserts or replaces an operator.
    async fn upsert_operator(&self, o: &Operator) -> Result<()>;
    async fn get_operator(&self, id: &str) -> Result<Option<Operator>>;
    async fn list_operators(&self) -> Result<Vec<Operator>>;
    /// False if it did not exist. `Conflict` while subscribers reference it.
    async fn delete_operator(&self, id: &str) -> Result<bool>;

    /// Inserts a subscriber and indexes its addresses; `Conflict` if the id
    /// or the MSISDN is taken.
    async fn insert_subscriber(&self, s: &Subscriber) -> Result<()>;
    /// Many at once, in one transaction (fixtures, imports).
    async fn insert_subscribers(&self, s: &[Subscriber]) -> Result<()>;
    /// Replaces the subscriber's document and address index; false if missing.
    async fn update_subscriber(&self, s: &Subscriber) -> Result<bool>;
    async fn delete_subscriber(&self, id: &str) -> Result<bool>;
    async fn get_subscriber(&self, id: &str) -> Result<Option<Subscriber>>;
    async fn subscriber_by_msisdn(&self, msisdn: &str) -> Result<Option<Subscriber>>;
    /// Subscribers holding `ip` (canonical text) with `port` inside their
    /// range, or with any port when `port` is `None`; at most `limit`.
    async fn subscribers_by_address(
        &self,
        ip: &str,
        port: Option<u16>,
        limit: u32,
    ) -> Result<Vec<Subscriber>>;
    /// Ordered by MSISDN, after `after` (exclusive), at most `limit` (≤ 1000).
    async fn list_subscribers(&self, after: Option<&str>, limit: u32) -> Result<Vec<Subscriber>>;
    async fn count_subscribers(&self) -> Result<u64>;

    async fn insert_operator_token(&self, t: &OperatorTokenRecord) -> Result<()>;
    /// Spends an operator token: returns it once if it exists and is
    /// unexpired at `now`, and deletes it.
    async fn consume_operator_token(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> Result<Option<OperatorTokenRecord>>;
}

crate::backend::documents!(Operator => "operator", Subscriber => "subscriber");

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
/// One statement, so of concurrent callers exactly one gets the row. (No
/// document to rewrite: the token is spent by deleting it, so this is not a
/// `claim_and_rewrite`.)
pub(crate) const CONSUME_OPERATOR_TOKEN: &str = "DELETE FROM operator_tokens \
     WHERE token_hash = $1 AND expires_at > $2 RETURNING token_hash, subscriber_id, expires_at";
pub(crate) const PURGE_OPERATOR_TOKENS: &str = "DELETE FROM operator_tokens WHERE expires_at <= $1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::subscriber::{Operator, OperatorTokenRecord, Subscriber};
            use $crate::Result;
            use $crate::aggregates::subscribers::{self as q, SubscriberStore};
            use $crate::backend::{self, Document as _};

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
                    backend::decode_all(&docs)
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
                    insert_subscriber_rows_on(&mut tx, subs).await?;
                    insert_addresses_on(&mut tx, subs).await?;
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
                    insert_addresses_on(&mut tx, std::slice::from_ref(s)).await?;
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
                    let limit = i64::from(limit.min(backend::MAX_LIST_LIMIT));
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
                    backend::decode_all(&docs)
                }

                async fn list_subscribers(&self, after: Option<&str>, limit: u32) -> Result<Vec<Subscriber>> {
                    let limit = i64::from(limit.min(backend::MAX_LIST_LIMIT));
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
                    backend::decode_all(&docs)
                }

                async fn count_subscribers(&self) -> Result<u64> {
                    let n: i64 = sqlx::query_scalar(q::COUNT_SUBSCRIBERS).fetch_one(&self.pool).await?;
                    backend::count(n)
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
        };
    };
}
pub(crate) use impl_backend;
