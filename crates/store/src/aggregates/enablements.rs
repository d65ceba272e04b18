//! Network Enablement records (seed 002): the `enablements` table, one row
//! per (client, `state`) whose authorization code flow is bound to a number,
//! kept until its `forget_at` (the `expires_at` column). Read by
//! `/authorize` on any node.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::UnixTime;
use netauth_domain::enablement::Enablement;

#[async_trait]
pub trait EnablementStore: Send + Sync {
    /// Records the enablement, replacing one with the same key (the backend
    /// asked again for the same `state`: its latest answer holds).
    async fn put_enablement(&self, e: &Enablement) -> Result<()>;
    /// The enablement of `key_hash`, unless the Store may forget it by
    /// `now` (its `forget_at`; whether its `auth_url` is still good is the
    /// domain's question).
    async fn get_enablement(&self, key_hash: &str, now: UnixTime) -> Result<Option<Enablement>>;
}

crate::backend::documents!(Enablement => "enablement");

pub(crate) const PUT_ENABLEMENT: &str = "INSERT INTO enablements (key_hash, client_id, document, expires_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (key_hash) DO UPDATE \
     SET client_id = excluded.client_id, document = excluded.document, expires_at = excluded.expires_at";
pub(crate) const GET_ENABLEMENT: &str =
    "SELECT document FROM enablements WHERE key_hash = $1 AND expires_at > $2";
pub(crate) const PURGE_ENABLEMENTS: &str = "DELETE FROM enablements WHERE expires_at <= $1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::UnixTime;
            use netauth_domain::enablement::Enablement;
            use $crate::Result;
            use $crate::aggregates::enablements::{self as q, EnablementStore};
            use $crate::backend::Document as _;

            #[async_trait::async_trait]
            impl EnablementStore for $store {
                async fn put_enablement(&self, e: &Enablement) -> Result<()> {
                    sqlx::query(q::PUT_ENABLEMENT)
                        .bind(&e.key_hash)
                        .bind(&e.client_id)
                        .bind(e.to_doc()?)
                        .bind(e.forget_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn get_enablement(&self, key_hash: &str, now: UnixTime) -> Result<Option<Enablement>> {
                    let doc: Option<String> = sqlx::query_scalar(q::GET_ENABLEMENT)
                        .bind(key_hash)
                        .bind(now)
                        .fetch_optional(&self.pool)
                        .await?;
                    doc.as_deref().map(Enablement::from_doc).transpose()
                }
            }
        };
    };
}
pub(crate) use impl_backend;
