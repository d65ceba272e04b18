//! What every aggregate shares: the [`Backend`] trait (the few facts that
//! differ between SQLite and PostgreSQL), error mapping, JSON documents, and
//! [`impl_shared!`], the generic helpers each backend gets once: reading a
//! document by key, and claiming rows and rewriting their documents.
//!
//! One SQL text serves both databases: sqlx accepts `$n` placeholders on
//! SQLite as well as PostgreSQL, and both understand `ON CONFLICT … DO
//! NOTHING/UPDATE` and `RETURNING`. A statement that has to differ is an
//! associated constant of [`Backend`].
//!
//! Conditional state changes (`pending → approved`, a refresh token's
//! rotation, …) follow one pattern in a transaction, written once in
//! `claim_and_rewrite`: first a conditional `UPDATE … WHERE <the condition>
//! RETURNING key, document` on the mirrored column, which decides the winner
//! atomically, then the document decoded, changed by the domain's transition
//! rule (which re-checks it), and rewritten. Writing first matters on SQLite:
//! a transaction whose first statement is a write takes the database's write
//! lock (waiting out the busy timeout), whereas one that reads first and
//! writes later fails at once with `SQLITE_BUSY` when another connection
//! wrote in between. On PostgreSQL the `UPDATE` takes the row lock, and a
//! concurrent one re-checks its condition against the committed row once the
//! lock is free.

use crate::StoreError;
use netauth_domain::ciba::IllegalTransition;

/// What differs between the databases, beyond their connection set-up and
/// their migrations' DDL.
pub(crate) trait Backend {
    /// `sqlite` or `postgres`, as `Maintenance::backend` reports it.
    const NAME: &'static str;
    /// The statement that serialises `insert_ciba_request`s of one subscriber
    /// (bound to its id), so the count of its pending prompts cannot go stale
    /// before the insert; `None` when the database serialises writers anyway.
    const LOCK_PENDING_PROMPTS: Option<&'static str>;
    /// The same for `append_token_revocation`s of one client (bound to its
    /// id), so that its count of live revocations cannot go stale either.
    const LOCK_CLIENT_REVOCATIONS: Option<&'static str>;
    /// Run by the janitor after its sweep: SQLite's write-ahead log is
    /// checkpointed and truncated there (issue #10 point 6); `None` where the
    /// database manages its log itself.
    const CHECKPOINT: Option<&'static str>;
}

/// `list_clients`, `list_subscribers` and `subscribers_by_address` never
/// return more than this many rows at once: an admin listing is paginated,
/// and one call must not load the whole table.
pub(crate) const MAX_LIST_LIMIT: u32 = 1000;

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

/// The row's column allowed the change but its document does not: the two
/// disagree, which only a write outside netauth can cause.
impl From<IllegalTransition> for StoreError {
    fn from(e: IllegalTransition) -> Self {
        StoreError::Corrupt(format!("{e} (the document disagrees with its row)"))
    }
}

/// Row counts come back as `i64` (SQL has no unsigned integers).
pub(crate) fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
}

// ---------------------------------------------------------------- documents

/// A record stored as a JSON document.
pub(crate) trait Document: Sized + Send {
    fn to_doc(&self) -> Result<String, StoreError>;
    fn from_doc(doc: &str) -> Result<Self, StoreError>;
}

/// Implements [`Document`] with serde for each `type => "what"` (the name
/// error messages use).
macro_rules! documents {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl $crate::backend::Document for $ty {
            fn to_doc(&self) -> Result<String, $crate::StoreError> {
                serde_json::to_string(self)
                    .map_err(|e| $crate::StoreError::Corrupt(format!("{}: {e}", $what)))
            }
            fn from_doc(doc: &str) -> Result<Self, $crate::StoreError> {
                serde_json::from_str(doc)
                    .map_err(|e| $crate::StoreError::Corrupt(format!("{} document: {e}", $what)))
            }
        }
    )*};
}
pub(crate) use documents;

pub(crate) fn decode_all<T: Document>(docs: &[String]) -> Result<Vec<T>, StoreError> {
    docs.iter().map(|d| T::from_doc(d)).collect()
}

// ---------------------------------------------------------------- helpers

/// The helpers every aggregate may call on `$store` (a struct with a field
/// `pool: sqlx::Pool<$db>`), compiled against the backend's concrete types:
/// a generic `impl<DB: Database>` would need a dozen `for<'q> …: Encode<'q,
/// DB>` clauses on every function.
macro_rules! impl_shared {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::Result;
            use $crate::backend::Document;

            impl $store {
                /// The document a one-parameter `SELECT document …` finds, decoded.
                pub(crate) async fn doc_by_key<T: Document>(
                    &self,
                    sql: &'static str,
                    key: &str,
                ) -> Result<Option<T>> {
                    let doc: Option<String> =
                        sqlx::query_scalar(sql).bind(key).fetch_optional(&self.pool).await?;
                    doc.as_deref().map(T::from_doc).transpose()
                }

                /// The one pattern of conditional state changes (see the
                /// module's notes), in one transaction: `claim` (with its binds)
                /// is an `UPDATE … WHERE <condition> RETURNING key, document`
                /// that moves the queried columns and so decides, atomically,
                /// which rows change; each document is then decoded, changed by
                /// `change` (the domain's rule, which may refuse: the whole
                /// transaction is then undone) and written back with `rewrite`
                /// (`UPDATE … SET document = $2 WHERE key = $1`). Returns the
                /// documents as rewritten; none if the condition held for no row.
                pub(crate) async fn claim_and_rewrite<'q, T, F>(
                    &self,
                    claim: sqlx::query::QueryAs<
                        'q,
                        $db,
                        (String, String),
                        <$db as sqlx::Database>::Arguments<'q>,
                    >,
                    rewrite: &'static str,
                    mut change: F,
                ) -> Result<Vec<T>>
                where
                    T: Document,
                    F: FnMut(&mut T) -> Result<()> + Send,
                {
                    let mut tx = self.pool.begin().await?;
                    let rows = claim.fetch_all(&mut *tx).await?;
                    if rows.is_empty() {
                        tx.rollback().await?;
                        return Ok(Vec::new());
                    }
                    let mut changed = Vec::with_capacity(rows.len());
                    for (key, doc) in &rows {
                        let mut t = T::from_doc(doc)?;
                        change(&mut t)?;
                        sqlx::query(rewrite).bind(key).bind(t.to_doc()?).execute(&mut *tx).await?;
                        changed.push(t);
                    }
                    tx.commit().await?;
                    Ok(changed)
                }

                /// [`Self::claim_and_rewrite`] for a claim on a primary key:
                /// at most one row.
                pub(crate) async fn claim_one<'q, T, F>(
                    &self,
                    claim: sqlx::query::QueryAs<
                        'q,
                        $db,
                        (String, String),
                        <$db as sqlx::Database>::Arguments<'q>,
                    >,
                    rewrite: &'static str,
                    change: F,
                ) -> Result<Option<T>>
                where
                    T: Document,
                    F: FnMut(&mut T) -> Result<()> + Send,
                {
                    Ok(self.claim_and_rewrite(claim, rewrite, change).await?.into_iter().next())
                }
            }
        };
    };
}
pub(crate) use impl_shared;
