//! CIBA (OpenID Connect Client-Initiated Backchannel Authentication Core
//! 1.0): the `ciba_requests` table (one row per `auth_req_id`, by its hash)
//! and the `prompts` table (what the subscriber answers on the handset).
//!
//! Status changes follow `netauth_domain::ciba`'s rules (`CibaStatus::
//! can_become`, `Prompt::answer`): the claim's `WHERE` enforces them
//! atomically on the status column, the domain function applies them to the
//! document.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::ciba::{CibaRequest, CibaStatus, Prompt, PromptBounds};

#[async_trait]
pub trait CibaStore: Send + Sync {
    /// Inserts a request and, when given, its handset prompt, in one
    /// transaction. Returns false (and writes nothing) when the subscriber
    /// already has `bounds.per_subscriber` unexpired pending prompts at
    /// `now`, or `bounds.per_client` of them for the request's client.
    async fn insert_ciba_request(
        &self,
        r: &CibaRequest,
        prompt: Option<&Prompt>,
        bounds: PromptBounds,
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
    /// pending → `status` (approved or denied) at `now`, which an approval
    /// keeps as the request's `approved_at` (the ID token's `auth_time`).
    /// Returns the request as updated if it was pending, else `None`.
    async fn decide_ciba_request(
        &self,
        id_hash: &str,
        status: CibaStatus,
        now: UnixTime,
    ) -> Result<Option<CibaRequest>>;
    /// approved → consumed, atomically: of concurrent callers exactly one
    /// gets the request.
    async fn consume_ciba_request(&self, id_hash: &str) -> Result<Option<CibaRequest>>;

    /// Inserts a prompt of its own (a sign-in on the handset), unless the
    /// subscriber already has `bounds.per_subscriber` unexpired pending
    /// prompts at `now`, or `bounds.per_client` for the prompt's client:
    /// then nothing is written and the answer is false.
    async fn insert_prompt(&self, p: &Prompt, bounds: PromptBounds, now: UnixTime) -> Result<bool>;
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

crate::backend::documents!(CibaRequest => "CIBA request", Prompt => "prompt");

pub(crate) const INSERT_CIBA_REQUEST: &str = "INSERT INTO ciba_requests (id_hash, client_id, subscriber_id, \
     status, document, expires_at, last_polled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// A subscriber's unexpired pending prompts, and how many of them are one
/// client's: both bounds from one round trip.
pub(crate) const COUNT_PENDING_PROMPTS: &str = "SELECT COUNT(*), \
     COALESCE(SUM(CASE WHEN client_id = $2 THEN 1 ELSE 0 END), 0) FROM prompts \
     WHERE subscriber_id = $1 AND status = $3 AND expires_at > $4";
pub(crate) const INSERT_PROMPT: &str = "INSERT INTO prompts (id, subscriber_id, reference, status, document, \
     created_at, expires_at, client_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(crate) const GET_CIBA_REQUEST: &str = "SELECT document FROM ciba_requests WHERE id_hash = $1";
/// Null-safe `last_polled_at = $2`, spelt so both dialects accept it
/// (SQLite's `IS` and PostgreSQL's `IS NOT DISTINCT FROM` differ).
pub(crate) const CLAIM_CIBA_POLL: &str = "UPDATE ciba_requests SET last_polled_at = $3 WHERE id_hash = $1 \
     AND (last_polled_at = $2 OR (last_polled_at IS NULL AND $2 IS NULL)) RETURNING id_hash, document";
pub(crate) const CLAIM_CIBA_STATUS: &str =
    "UPDATE ciba_requests SET status = $3 WHERE id_hash = $1 AND status = $2 RETURNING id_hash, document";
pub(crate) const SET_CIBA_DOCUMENT: &str = "UPDATE ciba_requests SET document = $2 WHERE id_hash = $1";

pub(crate) const GET_PROMPT: &str = "SELECT document FROM prompts WHERE id = $1";
pub(crate) const LIST_PROMPTS: &str = "SELECT document FROM prompts \
     WHERE subscriber_id = $1 AND status = $2 AND expires_at > $3 ORDER BY created_at DESC, id DESC";
/// `Prompt::answer`'s condition (pending, unexpired), plus the owner.
pub(crate) const CLAIM_PROMPT: &str = "UPDATE prompts SET status = $5 \
     WHERE id = $1 AND subscriber_id = $2 AND status = $3 AND expires_at > $4 RETURNING id, document";
pub(crate) const SET_PROMPT_DOCUMENT: &str = "UPDATE prompts SET document = $2 WHERE id = $1";

pub(crate) const PURGE_CIBA_REQUESTS: &str = "DELETE FROM ciba_requests WHERE expires_at <= $1";
pub(crate) const PURGE_PROMPTS: &str = "DELETE FROM prompts WHERE expires_at <= $1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::ciba::{CibaRequest, CibaStatus, Prompt, PromptBounds, PromptStatus};
            use $crate::Result;
            use $crate::aggregates::ciba::{self as q, CibaStore};
            use $crate::backend::{self, Backend as _, Document as _};

            impl $store {
                /// `from → to` for a CIBA request, column and document alike,
                /// if the domain allows it; of concurrent callers one gets the
                /// request as updated.
                async fn transition_ciba(
                    &self,
                    id_hash: &str,
                    from: CibaStatus,
                    to: CibaStatus,
                ) -> Result<Option<CibaRequest>> {
                    if !from.can_become(to) {
                        return Ok(None);
                    }
                    let claim = sqlx::query_as(q::CLAIM_CIBA_STATUS)
                        .bind(id_hash)
                        .bind(from.as_str())
                        .bind(to.as_str());
                    self.claim_one(claim, q::SET_CIBA_DOCUMENT, |r: &mut CibaRequest| Ok(r.transition(to)?))
                        .await
                }
            }

            #[async_trait::async_trait]
            impl CibaStore for $store {
                async fn insert_ciba_request(
                    &self,
                    r: &CibaRequest,
                    prompt: Option<&Prompt>,
                    bounds: PromptBounds,
                    now: UnixTime,
                ) -> Result<bool> {
                    let mut tx = self.pool.begin().await?;
                    if let Some(lock) = <$store>::LOCK_PENDING_PROMPTS {
                        sqlx::query(lock).bind(&r.subscriber_id).execute(&mut *tx).await?;
                    }
                    // The write comes first (see `backend`'s notes), then the
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
                    let (pending, of_client): (i64, i64) = sqlx::query_as(q::COUNT_PENDING_PROMPTS)
                        .bind(&r.subscriber_id)
                        .bind(&r.client_id)
                        .bind(PromptStatus::Pending.as_str())
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    if pending >= i64::from(bounds.per_subscriber)
                        || of_client >= i64::from(bounds.per_client)
                    {
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
                            .bind(&p.client_id)
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
                    let claim = sqlx::query_as(q::CLAIM_CIBA_POLL).bind(id_hash).bind(seen).bind(now);
                    let polled = self
                        .claim_one(claim, q::SET_CIBA_DOCUMENT, |r: &mut CibaRequest| {
                            r.record_poll(now, interval);
                            Ok(())
                        })
                        .await?;
                    Ok(polled.is_some())
                }

                async fn decide_ciba_request(
                    &self,
                    id_hash: &str,
                    status: CibaStatus,
                    now: UnixTime,
                ) -> Result<Option<CibaRequest>> {
                    // Only decisions: the domain refuses `pending → consumed`,
                    // which would skip approval.
                    if !matches!(status, CibaStatus::Approved | CibaStatus::Denied) {
                        return Ok(None);
                    }
                    let claim = sqlx::query_as(q::CLAIM_CIBA_STATUS)
                        .bind(id_hash)
                        .bind(CibaStatus::Pending.as_str())
                        .bind(status.as_str());
                    self.claim_one(claim, q::SET_CIBA_DOCUMENT, |r: &mut CibaRequest| {
                        Ok(r.decide(status, now)?)
                    })
                    .await
                }

                async fn consume_ciba_request(&self, id_hash: &str) -> Result<Option<CibaRequest>> {
                    self.transition_ciba(id_hash, CibaStatus::Approved, CibaStatus::Consumed).await
                }

                async fn insert_prompt(
                    &self,
                    p: &Prompt,
                    bounds: PromptBounds,
                    now: UnixTime,
                ) -> Result<bool> {
                    let mut tx = self.pool.begin().await?;
                    if let Some(lock) = <$store>::LOCK_PENDING_PROMPTS {
                        sqlx::query(lock).bind(&p.subscriber_id).execute(&mut *tx).await?;
                    }
                    // Write first, then count under the lock, as in
                    // `insert_ciba_request`; the new prompt is not held
                    // against itself.
                    sqlx::query(q::INSERT_PROMPT)
                        .bind(&p.id)
                        .bind(&p.subscriber_id)
                        .bind(&p.reference)
                        .bind(p.status.as_str())
                        .bind(p.to_doc()?)
                        .bind(p.created_at)
                        .bind(p.expires_at)
                        .bind(&p.client_id)
                        .execute(&mut *tx)
                        .await?;
                    let (pending, of_client): (i64, i64) = sqlx::query_as(q::COUNT_PENDING_PROMPTS)
                        .bind(&p.subscriber_id)
                        .bind(&p.client_id)
                        .bind(PromptStatus::Pending.as_str())
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    let this = i64::from(p.status == PromptStatus::Pending);
                    if pending - this >= i64::from(bounds.per_subscriber)
                        || of_client - this >= i64::from(bounds.per_client)
                    {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    tx.commit().await?;
                    Ok(true)
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
                    backend::decode_all(&docs)
                }

                async fn answer_prompt(
                    &self,
                    id: &str,
                    subscriber_id: &str,
                    approve: bool,
                    now: UnixTime,
                ) -> Result<Option<Prompt>> {
                    let to = Prompt::answer_status(approve);
                    let claim = sqlx::query_as(q::CLAIM_PROMPT)
                        .bind(id)
                        .bind(subscriber_id)
                        .bind(PromptStatus::Pending.as_str())
                        .bind(now)
                        .bind(to.as_str());
                    self.claim_one(
                        claim,
                        q::SET_PROMPT_DOCUMENT,
                        |p: &mut Prompt| Ok(p.answer(approve, now)?),
                    )
                    .await
                }
            }
        };
    };
}
pub(crate) use impl_backend;

#[cfg(test)]
mod tests {
    use netauth_domain::ciba::{CibaStatus, PromptStatus};

    #[test]
    fn status_columns_match_the_documents() {
        for s in [CibaStatus::Pending, CibaStatus::Approved, CibaStatus::Denied, CibaStatus::Consumed] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(s.as_str())));
        }
        for s in [PromptStatus::Pending, PromptStatus::Approved, PromptStatus::Denied, PromptStatus::Expired]
        {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(s.as_str())));
        }
    }
}
