//! Consent (CAMARA consent management): the `legal_bases` table (which
//! (scope, purpose) needs which legal basis) and the `consents` table (a
//! subscriber's answer per client, scope and purpose).

use crate::Result;
use async_trait::async_trait;
use netauth_domain::consent::{Consent, ConsentStatus, LegalBasisRule};

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

crate::backend::documents!(LegalBasisRule => "legal basis", Consent => "consent");

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

/// The consents' `status` column: the same string serde writes.
pub(crate) const fn consent_status_str(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Granted => "granted",
        ConsentStatus::Revoked => "revoked",
    }
}

macro_rules! impl_backend {
    ($store:ty, $db:ty) => {
        const _: () = {
            use netauth_domain::consent::{Consent, LegalBasisRule};
            use $crate::Result;
            use $crate::aggregates::consent::{self as q, ConsentStore};
            use $crate::backend::{self, Document as _};

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
                    backend::decode_all(&docs)
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
                    backend::decode_all(&docs)
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
        for s in [ConsentStatus::Granted, ConsentStatus::Revoked] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::Value::from(consent_status_str(s))));
        }
    }
}
