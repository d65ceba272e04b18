//! The browser side of the authorization-code flow: `login_sessions` (who
//! is signed in on a browser, by the hash of its session cookie) and
//! `pending_authorizations` (a request between its pages, by the hash of
//! its handle). Both are here so that any node serves any step of a flow.
//!
//! A pending request is rewritten as the person goes through the pages;
//! each write names the version it read (`version` column), so of two
//! concurrent writes (two tabs, parallel guesses of a one-time code) one
//! wins and the other is told so.

use crate::Result;
use async_trait::async_trait;
use netauth_domain::authorize::{LoginSession, PendingAuthorization};

#[async_trait]
pub trait LoginStore: Send + Sync {
    async fn insert_login_session(&self, s: &LoginSession) -> Result<()>;
    async fn get_login_session(&self, id_hash: &str) -> Result<Option<LoginSession>>;
    async fn delete_login_session(&self, id_hash: &str) -> Result<()>;

    /// Inserts a request (its `version` as given, normally 0).
    async fn insert_pending_authorization(&self, p: &PendingAuthorization) -> Result<()>;
    async fn get_pending_authorization(&self, id_hash: &str) -> Result<Option<PendingAuthorization>>;
    /// Replaces the request if the stored one is still at `p.version - 1`;
    /// false (and nothing written) if another write came first.
    async fn update_pending_authorization(&self, p: &PendingAuthorization) -> Result<bool>;
    async fn delete_pending_authorization(&self, id_hash: &str) -> Result<()>;
}

crate::backend::documents!(LoginSession => "login session", PendingAuthorization => "pending authorization");

pub(crate) const INSERT_LOGIN_SESSION: &str =
    "INSERT INTO login_sessions (id_hash, document, expires_at) VALUES ($1, $2, $3)";
pub(crate) const GET_LOGIN_SESSION: &str = "SELECT document FROM login_sessions WHERE id_hash = $1";
pub(crate) const DELETE_LOGIN_SESSION: &str = "DELETE FROM login_sessions WHERE id_hash = $1";
pub(crate) const PURGE_LOGIN_SESSIONS: &str = "DELETE FROM login_sessions WHERE expires_at <= $1";

pub(crate) const INSERT_PENDING: &str = "INSERT INTO pending_authorizations (id_hash, version, document, \
     expires_at) VALUES ($1, $2, $3, $4)";
pub(crate) const GET_PENDING: &str = "SELECT document FROM pending_authorizations WHERE id_hash = $1";
pub(crate) const UPDATE_PENDING: &str = "UPDATE pending_authorizations SET version = $2, document = $3 \
     WHERE id_hash = $1 AND version = $4";
pub(crate) const DELETE_PENDING: &str = "DELETE FROM pending_authorizations WHERE id_hash = $1";
pub(crate) const PURGE_PENDING: &str = "DELETE FROM pending_authorizations WHERE expires_at <= $1";

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::authorize::{LoginSession, PendingAuthorization};
            use $crate::Result;
            use $crate::aggregates::logins::{self as q, LoginStore};
            use $crate::backend::Document as _;

            #[async_trait::async_trait]
            impl LoginStore for $store {
                async fn insert_login_session(&self, s: &LoginSession) -> Result<()> {
                    sqlx::query(q::INSERT_LOGIN_SESSION)
                        .bind(&s.id_hash)
                        .bind(s.to_doc()?)
                        .bind(s.expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn get_login_session(&self, id_hash: &str) -> Result<Option<LoginSession>> {
                    self.doc_by_key::<LoginSession>(q::GET_LOGIN_SESSION, id_hash).await
                }

                async fn delete_login_session(&self, id_hash: &str) -> Result<()> {
                    sqlx::query(q::DELETE_LOGIN_SESSION).bind(id_hash).execute(&self.pool).await?;
                    Ok(())
                }

                async fn insert_pending_authorization(&self, p: &PendingAuthorization) -> Result<()> {
                    sqlx::query(q::INSERT_PENDING)
                        .bind(&p.id_hash)
                        .bind(p.version)
                        .bind(p.to_doc()?)
                        .bind(p.expires_at)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn get_pending_authorization(
                    &self,
                    id_hash: &str,
                ) -> Result<Option<PendingAuthorization>> {
                    self.doc_by_key::<PendingAuthorization>(q::GET_PENDING, id_hash).await
                }

                async fn update_pending_authorization(&self, p: &PendingAuthorization) -> Result<bool> {
                    let done = sqlx::query(q::UPDATE_PENDING)
                        .bind(&p.id_hash)
                        .bind(p.version)
                        .bind(p.to_doc()?)
                        .bind(p.version.saturating_sub(1))
                        .execute(&self.pool)
                        .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn delete_pending_authorization(&self, id_hash: &str) -> Result<()> {
                    sqlx::query(q::DELETE_PENDING).bind(id_hash).execute(&self.pool).await?;
                    Ok(())
                }
            }
        };
    };
}
pub(crate) use impl_backend;
