//! Installation-wide settings and markers: the `meta` key/value table.

use crate::Result;
use async_trait::async_trait;

#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, key: &str) -> Result<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> Result<()>;
}

pub(crate) const GET_META: &str = "SELECT value FROM meta WHERE key = $1";
pub(crate) const SET_META: &str =
    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::Result;
            use $crate::aggregates::meta::{self as q, MetaStore};

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
        };
    };
}
pub(crate) use impl_backend;
