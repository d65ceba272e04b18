//! Registered OAuth clients (RFC 6749 §2, RFC 7591 metadata): the `clients`
//! table, one JSON document per client next to its id and status.

use crate::{Result, StoreError};
use async_trait::async_trait;
use netauth_domain::client::{Client, ClientStatus};

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

pub(crate) const INSERT_CLIENT: &str = "INSERT INTO clients (client_id, status, document, created_at, updated_at, compat_profile) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const GET_CLIENT: &str = "SELECT document FROM clients WHERE client_id = $1";
pub(crate) const LIST_CLIENTS: &str =
    "SELECT document FROM clients WHERE ($1 IS NULL OR client_id > $1) ORDER BY client_id LIMIT $2";
pub(crate) const UPDATE_CLIENT: &str = "UPDATE clients SET status = $2, document = $3, updated_at = $4, compat_profile = $5 WHERE client_id = $1";
pub(crate) const DELETE_CLIENT: &str = "DELETE FROM clients WHERE client_id = $1";
pub(crate) const COUNT_CLIENTS: &str = "SELECT COUNT(*) FROM clients";

/// The `status` column: the same string serde writes into the document.
pub(crate) const fn status_str(s: ClientStatus) -> &'static str {
    match s {
        ClientStatus::Active => "active",
        ClientStatus::Suspended => "suspended",
    }
}

/// The `compat_profile` column: the profile's name, mirrored from the
/// document like `status`.
pub(crate) fn compat_profile_str(c: &Client) -> Option<&'static str> {
    c.compat_profile.map(|p| p.as_str())
}

pub(crate) fn encode_client(c: &Client) -> Result<String, StoreError> {
    serde_json::to_string(c).map_err(|e| StoreError::Corrupt(format!("client {}: {e}", c.client_id)))
}

pub(crate) fn decode_client(document: &str) -> Result<Client, StoreError> {
    serde_json::from_str(document).map_err(|e| StoreError::Corrupt(format!("client document: {e}")))
}

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::client::Client;
            use $crate::aggregates::clients::{self as q, ClientStore};
            use $crate::{Result, backend};

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
                    .bind(q::compat_profile_str(c))
                    .execute(conn)
                    .await?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl ClientStore for $store {
                async fn insert_client(&self, c: &Client) -> Result<()> {
                    let mut conn = self.pool.acquire().await?;
                    insert_client_on(&mut conn, c).await
                }

                async fn insert_clients(&self, cs: &[Client]) -> Result<()> {
                    let mut tx = self.pool.begin().await?;
                    for c in cs {
                        insert_client_on(&mut tx, c).await?;
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
                        .bind(i64::from(limit.min(backend::MAX_LIST_LIMIT)))
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
                        .bind(q::compat_profile_str(c))
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
                    backend::count(n)
                }
            }
        };
    };
}
pub(crate) use impl_backend;

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
