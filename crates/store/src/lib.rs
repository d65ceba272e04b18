//! Persistence for netauth: one trait per aggregate, two implementations
//! (`sqlite`, the embedded default, and `postgres`, for several nodes sharing
//! one database). Every piece of state that correctness depends on lives here,
//! so any node can serve any step of a flow.
//!
//! Times are Unix seconds (`i64`) in both databases. Structured client
//! metadata is stored as a JSON document next to the columns that are queried.

use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::ciba::{CibaRequest, CibaStatus, Prompt, RefreshTokenRecord};
use netauth_domain::client::Client;
use netauth_domain::consent::{Consent, LegalBasisRule};
use netauth_domain::keys::{RotationPlan, StoredKey};
use netauth_domain::revocation::{Revocation, RevocationKind};
use netauth_domain::subscriber::{Operator, OperatorTokenRecord, Subscriber};
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
    /// Records many `(client_id, jti, expires_at)` in one statement (group
    /// commit); returns, for each, whether it was new. Within the batch a
    /// repeated pair is new only the first time.
    async fn record_jtis(&self, records: &[(String, String, UnixTime)]) -> Result<Vec<bool>>;
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

#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Inserts or replaces the rule for (scope, purpose).
    async fn upsert_legal_basis(&self, r: &LegalBasisRule) -> Result<()>;
    async fn delete_legal_basis(&self, scope: &str, purpose: &str) -> Result<bool>;
    async fn list_legal_bases(&self) -> Result<Vec<LegalBasisRule>>;

    /// Inserts or replaces the consent for (subscriber, client, scope, purpose).
    async fn upsert_consent(&self, c: &Consent) -> Result<()>;
    async fn get_consent(
        &self,
        subscriber_id: &str,
        client_id: &str,
        scope: &str,
        purpose: &str,
    ) -> Result<Option<Consent>>;
    /// Every consent record of a subscriber (granted and revoked).
    async fn list_consents(&self, subscriber_id: &str) -> Result<Vec<Consent>>;
}

#[async_trait]
pub trait CibaStore: Send + Sync {
    /// Inserts a request and, when given, its handset prompt, in one
    /// transaction. Returns false (and writes nothing) when the subscriber
    /// already has `max_pending` unexpired pending prompts at `now`.
    async fn insert_ciba_request(
        &self,
        r: &CibaRequest,
        prompt: Option<&Prompt>,
        max_pending: u32,
        now: UnixTime,
    ) -> Result<bool>;
    async fn get_ciba_request(&self, id_hash: &str) -> Result<Option<CibaRequest>>;
    /// Records a poll at `now` with the (possibly grown) `interval`, only if
    /// `last_polled_at` is still `seen`: of two concurrent polls one applies.
    /// (`now` and `seen` are whatever unit the caller keeps there: the server
    /// uses milliseconds.)
    async fn record_ciba_poll(
        &self,
        id_hash: &str,
        seen: Option<UnixTime>,
        now: UnixTime,
        interval: i64,
    ) -> Result<bool>;
    /// pending → `status` (approved or denied). Returns the request as updated
    /// if it was pending, else `None`.
    async fn decide_ciba_request(&self, id_hash: &str, status: CibaStatus) -> Result<Option<CibaRequest>>;
    /// approved → consumed, atomically: of concurrent callers exactly one
    /// gets the request.
    async fn consume_ciba_request(&self, id_hash: &str) -> Result<Option<CibaRequest>>;

    async fn get_prompt(&self, id: &str) -> Result<Option<Prompt>>;
    /// The subscriber's pending, unexpired prompts, newest first.
    async fn list_prompts(&self, subscriber_id: &str, now: UnixTime) -> Result<Vec<Prompt>>;
    /// pending → approved/denied for a prompt of `subscriber_id` unexpired at
    /// `now`; returns the prompt as updated, else `None`.
    async fn answer_prompt(
        &self,
        id: &str,
        subscriber_id: &str,
        approve: bool,
        now: UnixTime,
    ) -> Result<Option<Prompt>>;
}

#[async_trait]
pub trait RefreshStore: Send + Sync {
    async fn insert_refresh_token(&self, r: &RefreshTokenRecord) -> Result<()>;
    async fn get_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshTokenRecord>>;
    /// Marks the token rotated at `now` if it is neither rotated nor revoked;
    /// returns it then (exactly one of concurrent callers), else `None`.
    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> Result<Option<RefreshTokenRecord>>;
    /// Revokes every token of the family; returns how many.
    async fn revoke_refresh_family(&self, family_id: &str) -> Result<u64>;
    /// Revokes every refresh token of (client, subscriber) (consent revoked).
    async fn revoke_refresh_tokens_of(&self, client_id: &str, subscriber_id: &str) -> Result<u64>;
}

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
        + Maintenance
{
}

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
