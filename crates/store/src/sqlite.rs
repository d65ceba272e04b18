//! SQLite, the embedded default: one file, no set-up.
//!
//! WAL journal so readers never wait for the writer, `synchronous=NORMAL`
//! (durable across a crash of netauth; a power cut may lose the last
//! commits, which WAL keeps consistent), and a 5 s busy timeout so concurrent
//! writers from the pool queue up instead of failing with `SQLITE_BUSY`.
//!
//! The write-ahead log would otherwise only ever grow under sustained writes
//! (readers keep the automatic checkpoint from reaching its end): the janitor
//! checkpoints it with `TRUNCATE`, and `journal_size_limit` caps what is left
//! after any checkpoint. The database holds phone numbers, addresses and
//! consents, so its directory is created 0700 and the file 0600 (SQLite
//! gives `-wal` and `-shm` the database file's mode); an existing file is
//! brought to 0600 on start.

use crate::{Result, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for a free connection from the pool.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// What the write-ahead log may keep on disk after a checkpoint, in bytes.
const JOURNAL_SIZE_LIMIT: &str = "67108864";

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it, and its directory, if missing) the database at
    /// `url` (`sqlite:PATH` or `sqlite::memory:`) and applies the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("bad SQLite url: {e}")))?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = is_in_memory(url);
        let pool = if in_memory {
            // sqlx gives `:memory:` a private shared-cache name, but a shared
            // cache reports lock conflicts as SQLITE_LOCKED, which the busy
            // timeout does not cover, and the database vanishes when its last
            // connection closes. One connection that never closes avoids both;
            // it serialises everything, which is fine for tests and demos.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(opts)
                .await?
        } else {
            create_private(opts.get_filename())?;
            let opts = opts
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT);
            SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(opts)
                .await?
        };
        MIGRATOR.run(&pool).await?;
        tracing::debug!(in_memory, "SQLite store ready");
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Creates the database's directory (0700) and file (0600) if missing, and
/// brings the file and its `-wal`/`-shm` companions to 0600 if they exist.
fn create_private(file: &std::path::Path) -> Result<()> {
    let fail = |p: &std::path::Path, e: std::io::Error| {
        StoreError::Database(format!("cannot create {}: {e}", p.display()))
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(|e| fail(dir, e))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(file).map_err(|e| fail(file, e))?;
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mut p = file.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        if p.exists() {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(|e| fail(&p, e))?;
        }
    }
    Ok(())
}

/// Whether `url` names an in-memory database (`sqlite::memory:`, or a URL
/// with `mode=memory`), which lives only as long as its connections.
fn is_in_memory(url: &str) -> bool {
    let (path, params) = url.split_once('?').unwrap_or((url, ""));
    path.ends_with(":memory:") || params.split('&').any(|p| p == "mode=memory")
}

impl crate::backend::Backend for SqliteStore {
    const NAME: &'static str = "sqlite";
    /// Nothing to add: `insert_ciba_request` writes before it counts, and on
    /// SQLite the first write takes the database's single write lock until
    /// commit, which serialises those transactions already.
    const LOCK_PENDING_PROMPTS: Option<&'static str> = None;
    /// Likewise: `append_token_revocation` writes before it counts.
    const LOCK_CLIENT_REVOCATIONS: Option<&'static str> = None;
    const CHECKPOINT: Option<&'static str> = Some("PRAGMA wal_checkpoint(TRUNCATE)");
}

crate::impl_aggregates!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    use super::is_in_memory;

    #[test]
    fn recognises_in_memory_urls() {
        assert!(is_in_memory("sqlite::memory:"));
        assert!(is_in_memory("sqlite://:memory:"));
        assert!(is_in_memory("sqlite:file:x?mode=memory&cache=shared"));
        assert!(!is_in_memory("sqlite:netauth-data/netauth.db"));
        assert!(!is_in_memory("sqlite://data/memory.db?mode=rwc"));
    }
}
