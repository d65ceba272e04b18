//! The Store test suite, run against every backend from the same cases:
//!
//! - `sqlite::*` always, each test on a fresh database file in a random
//!   directory under the system temp dir (removed afterwards);
//! - `postgres::*` when `NETAUTH_TEST_DATABASE_URL` is set (`scripts/pg-tmp`
//!   prints one), each test on a fresh database created through that URL
//!   and dropped afterwards. Without it these tests pass without running.
//!
//! A fresh database per test keeps tests independent of each other and of
//! the order they run in (nextest runs each in its own process anyway).

use netauth_domain::client::{AuthMethod, Client, ClientSecret, ClientStatus, SigningAlg};
use netauth_domain::crypto::random_bytes;
use netauth_domain::keys::{
    KeyRing, KeyUse, MasterKey, StoredKey, initial_keys, new_sealing_key, plan_rotation,
};
use netauth_domain::revocation::RevocationKind;
use netauth_proto::GrantType;
use netauth_store::{ClientStore, MetaStore, PgStore, Purged, SqliteStore, Store, StoreError};
use sqlx::Connection;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::task::JoinSet;

const ENV_URL: &str = "NETAUTH_TEST_DATABASE_URL";
/// Enough connections that concurrent calls really run concurrently.
const POOL_SIZE: u32 = 5;

// ---------------------------------------------------------------- harness

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// What a case gets: the store, and the URL it was opened with (to open a
/// second "node" on the same database).
struct Ctx {
    store: Arc<dyn Store>,
    url: String,
}

/// A fresh database and how to get rid of it.
enum TestDb {
    Sqlite { store: SqliteStore, dir: PathBuf },
    Postgres { store: PgStore, admin_url: String, name: String },
}

fn random_name() -> String {
    let hex: String = random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect();
    format!("netauth_store_{hex}")
}

/// `url` with its database (the path) replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(i) => &base[..authority + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

impl TestDb {
    /// None when the backend is not configured on this machine.
    async fn create(backend: Backend) -> Option<(Self, Ctx)> {
        match backend {
            Backend::Sqlite => {
                // A directory that does not exist yet: `connect` must create it.
                let dir = std::env::temp_dir().join(random_name());
                let url = format!("sqlite:{}", dir.join("data").join("netauth.db").display());
                let store = SqliteStore::connect(&url, POOL_SIZE).await.expect("open SQLite");
                let ctx = Ctx { store: Arc::new(store.clone()), url };
                Some((Self::Sqlite { store, dir }, ctx))
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var(ENV_URL) else {
                    eprintln!("{ENV_URL} not set: PostgreSQL case skipped");
                    return None;
                };
                let name = random_name();
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect with NETAUTH_TEST_DATABASE_URL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create database");
                admin.close().await.expect("close admin connection");
                let url = with_database(&admin_url, &name);
                let store = PgStore::connect(&url, POOL_SIZE).await.expect("open PostgreSQL");
                let ctx = Ctx { store: Arc::new(store.clone()), url };
                Some((Self::Postgres { store, admin_url, name }, ctx))
            }
        }
    }

    async fn destroy(self) {
        match self {
            Self::Sqlite { store, dir } => {
                store.pool().close().await;
                std::fs::remove_dir_all(&dir).expect("remove test database directory");
            }
            Self::Postgres { store, admin_url, name } => {
                store.pool().close().await;
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect with NETAUTH_TEST_DATABASE_URL");
                // FORCE: a case may have opened a second pool that is still
                // closing its connections.
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .expect("drop database");
                admin.close().await.expect("close admin connection");
            }
        }
    }
}

/// Runs `case` on a fresh database of `backend`, then removes the database
/// whether the case passed or panicked.
async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((db, ctx)) = TestDb::create(backend).await else { return };
    let outcome = tokio::spawn(case(ctx)).await;
    db.destroy().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// One `#[tokio::test]` per case and backend: `sqlite::client_crud`,
/// `postgres::client_crud`, …
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::run(super::Backend::Sqlite, super::cases::$case).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::run(super::Backend::Postgres, super::cases::$case).await;
                }
            )*
        }
    };
}

suite!(
    client_crud,
    insert_clients_is_all_or_nothing,
    list_clients_pages_in_id_order,
    jti_replay_is_detected,
    concurrent_jti_records_exactly_once,
    init_keys_writes_one_set,
    rotate_keys_retires_and_publishes,
    failed_rotation_changes_nothing,
    revocation_log_order_and_look_back,
    purge_expired_deletes_only_expired_rows,
    meta_round_trip,
    second_node_shares_state,
    ping_and_backend,
);

// ---------------------------------------------------------------- fixtures

const NOW: i64 = 1_700_000_000;

fn master() -> MasterKey {
    MasterKey::from_base64(&MasterKey::generate_base64()).expect("master key")
}

fn client(id: &str) -> Client {
    let (_plain, secret) = ClientSecret::generate(NOW, Some(NOW + 86_400));
    Client {
        client_id: id.to_owned(),
        name: format!("Client {id}"),
        status: ClientStatus::Active,
        token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
        secrets: vec![secret],
        jwks: None,
        jwks_uri: None,
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        grant_types: vec![GrantType::ClientCredentials, GrantType::Ciba],
        scopes: vec!["openid".to_owned(), "dpv:FraudPreventionAndDetection#sim-swap".to_owned()],
        purposes: vec!["dpv:FraudPreventionAndDetection".to_owned()],
        cors_origins: vec![],
        id_token_signed_response_alg: SigningAlg::ES256,
        access_token_ttl: Some(600),
        refresh_token_ttl: None,
        created_at: NOW,
        updated_at: NOW,
    }
}

/// A client with a JWK Set, so nested JSON goes through the document.
fn jwt_client(id: &str) -> Client {
    let mut c = client(id);
    c.token_endpoint_auth_method = AuthMethod::PrivateKeyJwt;
    c.secrets.clear();
    c.jwks = Some(
        serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k1"}]}),
    );
    c.id_token_signed_response_alg = SigningAlg::EdDSA;
    c
}

fn ids(cs: &[Client]) -> Vec<&str> {
    cs.iter().map(|c| c.client_id.as_str()).collect()
}

fn by_kid(mut keys: Vec<StoredKey>) -> Vec<StoredKey> {
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    keys
}

// ---------------------------------------------------------------- cases

// `cfg(test)` is always on here; it tells clippy these are test code
// (`allow-unwrap-in-tests`), as the `#[test]` functions above are.
#[cfg(test)]
mod cases {
    use super::*;

    pub async fn client_crud(ctx: Ctx) {
        let s = ctx.store;
        let a = client("client-a");
        let b = jwt_client("client-b");
        s.insert_client(&a).await.unwrap();
        s.insert_client(&b).await.unwrap();

        assert_eq!(s.get_client("client-a").await.unwrap(), Some(a.clone()));
        assert_eq!(s.get_client("client-b").await.unwrap(), Some(b.clone()));
        assert_eq!(s.get_client("nobody").await.unwrap(), None);
        assert_eq!(s.count_clients().await.unwrap(), 2);

        let mut dup = client("client-a");
        dup.name = "impostor".to_owned();
        assert!(matches!(s.insert_client(&dup).await, Err(StoreError::Conflict)));
        assert_eq!(s.get_client("client-a").await.unwrap(), Some(a.clone()), "conflict left the row alone");

        let mut a2 = a.clone();
        a2.status = ClientStatus::Suspended;
        a2.name = "Renamed".to_owned();
        a2.updated_at = NOW + 60;
        assert!(s.update_client(&a2).await.unwrap());
        assert_eq!(s.get_client("client-a").await.unwrap(), Some(a2));
        assert!(!s.update_client(&client("nobody")).await.unwrap());
        assert_eq!(s.get_client("nobody").await.unwrap(), None, "update does not insert");

        assert!(s.delete_client("client-a").await.unwrap());
        assert!(!s.delete_client("client-a").await.unwrap());
        assert_eq!(s.get_client("client-a").await.unwrap(), None);
        assert_eq!(s.count_clients().await.unwrap(), 1);
    }

    pub async fn insert_clients_is_all_or_nothing(ctx: Ctx) {
        let s = ctx.store;
        s.insert_clients(&[client("c1"), client("c2"), jwt_client("c3")]).await.unwrap();
        assert_eq!(s.count_clients().await.unwrap(), 3);

        // c4 comes before the duplicate: the whole batch must roll back.
        let res = s.insert_clients(&[client("c4"), client("c2"), client("c5")]).await;
        assert!(matches!(res, Err(StoreError::Conflict)), "{res:?}");
        assert_eq!(s.count_clients().await.unwrap(), 3);
        assert_eq!(s.get_client("c4").await.unwrap(), None);

        s.insert_clients(&[]).await.unwrap();
        assert_eq!(s.count_clients().await.unwrap(), 3);
    }

    pub async fn list_clients_pages_in_id_order(ctx: Ctx) {
        let s = ctx.store;
        assert!(s.list_clients(None, 10).await.unwrap().is_empty());

        // Inserted out of order, more than the 1000-row cap.
        let mut all: Vec<Client> = (0..1003).rev().map(|i| client(&format!("c{i:04}"))).collect();
        s.insert_clients(&all).await.unwrap();
        all.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        let expected = ids(&all);

        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s.list_clients(after.as_deref(), 400).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 400);
            after = page.last().map(|c| c.client_id.clone());
            seen.extend(page);
        }
        assert_eq!(ids(&seen), expected, "pages cover every client once, in order");
        assert_eq!(seen[0], all[0], "documents come back whole");

        assert_eq!(s.list_clients(None, u32::MAX).await.unwrap().len(), 1000, "limit is capped");
        assert_eq!(
            ids(&s.list_clients(Some("c0999"), 2).await.unwrap()),
            ["c1000", "c1001"],
            "after is exclusive"
        );
        assert_eq!(ids(&s.list_clients(Some("c0999x"), 1).await.unwrap()), ["c1000"], "after need not exist");
        assert!(s.list_clients(Some("c1002"), 10).await.unwrap().is_empty());
        assert!(s.list_clients(None, 0).await.unwrap().is_empty());

        // Byte order, whatever the database's locale: both backends agree.
        for id in ["b", "B", "a", "A", "_"] {
            s.insert_client(&client(id)).await.unwrap();
        }
        let first = s.list_clients(None, 3).await.unwrap();
        assert_eq!(ids(&first), ["A", "B", "_"]);
        let next = s.list_clients(Some("_"), 3).await.unwrap();
        assert_eq!(ids(&next), ["a", "b", "c0000"]);
    }

    pub async fn jti_replay_is_detected(ctx: Ctx) {
        let s = ctx.store;
        assert!(s.record_jti("client-a", "jti-1", NOW + 60).await.unwrap());
        assert!(!s.record_jti("client-a", "jti-1", NOW + 60).await.unwrap(), "replay");
        assert!(!s.record_jti("client-a", "jti-1", NOW + 999).await.unwrap(), "replay with another expiry");
        assert!(s.record_jti("client-b", "jti-1", NOW + 60).await.unwrap(), "jti is per client");
        assert!(s.record_jti("client-a", "jti-2", NOW + 60).await.unwrap());
    }

    pub async fn concurrent_jti_records_exactly_once(ctx: Ctx) {
        let s = ctx.store;
        let mut tasks = JoinSet::new();
        for _ in 0..20 {
            let s = s.clone();
            tasks.spawn(async move { s.record_jti("client-a", "same-jti", NOW + 60).await.unwrap() });
        }
        let wins = tasks.join_all().await.into_iter().filter(|won| *won).count();
        assert_eq!(wins, 1, "exactly one of 20 concurrent records succeeds");
        assert!(!s.record_jti("client-a", "same-jti", NOW + 60).await.unwrap());
    }

    pub async fn init_keys_writes_one_set(ctx: Ctx) {
        let s = ctx.store;
        let m = master();
        assert!(s.list_keys().await.unwrap().is_empty());
        assert_eq!(s.get_meta("keys_initialized").await.unwrap(), None);
        assert!(!s.init_keys(&[]).await.unwrap(), "nothing to write");
        assert_eq!(s.get_meta("keys_initialized").await.unwrap(), None, "an empty set claims nothing");

        // Two nodes starting together, each with its own fresh keys.
        let sets = [initial_keys(&m, NOW).unwrap(), initial_keys(&m, NOW).unwrap()];
        let mut tasks = JoinSet::new();
        for (i, keys) in sets.iter().cloned().enumerate() {
            let s = s.clone();
            tasks.spawn(async move { (i, s.init_keys(&keys).await.unwrap()) });
        }
        let results = tasks.join_all().await;
        let winners: Vec<usize> = results.iter().filter(|(_, won)| *won).map(|(i, _)| *i).collect();
        assert_eq!(winners.len(), 1, "exactly one node writes keys: {results:?}");

        let stored = by_kid(s.list_keys().await.unwrap());
        assert_eq!(stored, by_kid(sets[winners[0]].clone()), "the winner's keys, every field intact");
        assert_eq!(stored.iter().filter(|k| k.key_use == KeyUse::Seal).count(), 1);
        assert!(s.get_meta("keys_initialized").await.unwrap().is_some());

        assert!(!s.init_keys(&initial_keys(&m, NOW + 1).unwrap()).await.unwrap(), "never again");
        assert_eq!(s.list_keys().await.unwrap().len(), stored.len());
        KeyRing::build(&m, &stored, NOW).expect("stored keys decrypt and sign");
    }

    pub async fn rotate_keys_retires_and_publishes(ctx: Ctx) {
        let s = ctx.store;
        let m = master();
        let old = initial_keys(&m, NOW).unwrap();
        assert!(s.init_keys(&old).await.unwrap());
        let old_es256 = KeyRing::build(&m, &s.list_keys().await.unwrap(), NOW)
            .unwrap()
            .signer(SigningAlg::ES256)
            .0
            .to_owned();

        let plan = plan_rotation(&m, &s.list_keys().await.unwrap(), NOW + 10, 60, 3600).unwrap();
        let new_kids: Vec<String> = plan.new_keys.iter().map(|k| k.kid.clone()).collect();
        s.rotate_keys(&plan).await.unwrap();

        let keys = s.list_keys().await.unwrap();
        assert_eq!(keys.len(), old.len() * 2);
        for k in &keys {
            if new_kids.contains(&k.kid) {
                assert_eq!((k.active_from, k.retires_at, k.expires_at), (NOW + 70, None, None), "{}", k.kid);
            } else {
                assert_eq!(
                    (k.retires_at, k.expires_at),
                    (Some(NOW + 70), Some(NOW + 70 + 3600)),
                    "{}",
                    k.kid
                );
            }
        }
        // What nodes build from the rows: old key signs until the switch,
        // then the new one; both are published meanwhile.
        let before = KeyRing::build(&m, &keys, NOW + 20).unwrap();
        assert_eq!(before.signer(SigningAlg::ES256).0, old_es256);
        assert_eq!(before.jwks()["keys"].as_array().map(Vec::len), Some(8));
        let after = KeyRing::build(&m, &keys, NOW + 71).unwrap();
        assert!(new_kids.iter().any(|k| k == after.signer(SigningAlg::ES256).0));

        // Once the old keys' tokens have expired, the janitor removes them.
        let purged = s.purge_expired(NOW + 70 + 3600).await.unwrap();
        assert_eq!(purged.keys, old.len() as u64);
        let left: Vec<String> = by_kid(s.list_keys().await.unwrap()).into_iter().map(|k| k.kid).collect();
        let mut new_sorted = new_kids.clone();
        new_sorted.sort();
        assert_eq!(left, new_sorted);
    }

    pub async fn failed_rotation_changes_nothing(ctx: Ctx) {
        let s = ctx.store;
        let m = master();
        let first = new_sealing_key(&m, NOW, NOW);
        assert!(s.init_keys(std::slice::from_ref(&first)).await.unwrap());
        let before = s.list_keys().await.unwrap();

        // The second new key collides with a stored kid: the first new key
        // and the retirement must not survive the failure.
        let plan = netauth_domain::keys::RotationPlan {
            new_keys: vec![new_sealing_key(&m, NOW, NOW + 60), first.clone()],
            retire: vec![(first.kid.clone(), NOW + 60, NOW + 3660)],
        };
        assert!(matches!(s.rotate_keys(&plan).await, Err(StoreError::Conflict)));
        assert_eq!(s.list_keys().await.unwrap(), before);
    }

    pub async fn revocation_log_order_and_look_back(ctx: Ctx) {
        let s = ctx.store;
        assert!(s.revocations_since(0, 0, 100).await.unwrap().is_empty());

        let s1 = s.append_revocation(RevocationKind::Token, "jti-1", NOW, NOW + 600, NOW).await.unwrap();
        let s2 =
            s.append_revocation(RevocationKind::Grant, "grant-1", NOW + 5, NOW + 900, NOW + 5).await.unwrap();
        let s3 = s
            .append_revocation(RevocationKind::Client, "client-a", NOW + 9, NOW + 3600, NOW + 9)
            .await
            .unwrap();
        assert!(s1 < s2 && s2 < s3, "positions increase: {s1} {s2} {s3}");

        let all = s.revocations_since(0, i64::MAX, 100).await.unwrap();
        assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [s1, s2, s3]);
        let r2 = &all[1];
        assert_eq!(
            (r2.kind, r2.value.as_str(), r2.issued_before, r2.expires_at),
            (RevocationKind::Grant, "grant-1", NOW + 5, NOW + 900)
        );
        assert_eq!(all[2].kind, RevocationKind::Client);

        // After a position only.
        let seqs =
            |v: Vec<netauth_domain::revocation::Revocation>| v.into_iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(s.revocations_since(s1, i64::MAX, 100).await.unwrap()), [s2, s3]);
        assert!(s.revocations_since(s3, i64::MAX, 100).await.unwrap().is_empty());
        // The look-back: entries created since NOW+5 again, though already seen.
        assert_eq!(seqs(s.revocations_since(s3, NOW + 5, 100).await.unwrap()), [s2, s3]);
        assert_eq!(seqs(s.revocations_since(s3, NOW, 100).await.unwrap()), [s1, s2, s3]);
        // Either condition, ordered by position, at most `limit`.
        assert_eq!(seqs(s.revocations_since(s2, NOW + 9, 100).await.unwrap()), [s3]);
        assert_eq!(seqs(s.revocations_since(0, i64::MAX, 2).await.unwrap()), [s1, s2]);
        assert_eq!(seqs(s.revocations_since(s1, NOW, 1).await.unwrap()), [s1]);
    }

    pub async fn purge_expired_deletes_only_expired_rows(ctx: Ctx) {
        let s = ctx.store;
        let m = master();
        assert_eq!(s.purge_expired(NOW).await.unwrap(), Purged::default());

        assert!(s.record_jti("c", "old", NOW + 100).await.unwrap());
        assert!(s.record_jti("c", "edge", NOW + 150).await.unwrap());
        assert!(s.record_jti("c", "live", NOW + 151).await.unwrap());
        // The newest entry expires first: its position must not come back.
        let live = s.append_revocation(RevocationKind::Token, "live", NOW, NOW + 300, NOW).await.unwrap();
        let gone = s.append_revocation(RevocationKind::Token, "gone", NOW, NOW + 100, NOW).await.unwrap();
        let mut retired = new_sealing_key(&m, NOW, NOW);
        retired.retires_at = Some(NOW + 50);
        retired.expires_at = Some(NOW + 150);
        let current = new_sealing_key(&m, NOW, NOW + 50);
        assert!(s.init_keys(&[retired, current.clone()]).await.unwrap());

        let purged = s.purge_expired(NOW + 150).await.unwrap();
        assert_eq!(purged, Purged { jtis: 2, revocations: 1, keys: 1 }, "expires_at <= now is expired");
        assert_eq!(s.purge_expired(NOW + 150).await.unwrap(), Purged::default());

        assert!(s.record_jti("c", "old", NOW + 500).await.unwrap(), "purged jti is forgotten");
        assert!(!s.record_jti("c", "live", NOW + 500).await.unwrap(), "live jti is kept");
        let left = s.revocations_since(0, 0, 100).await.unwrap();
        assert_eq!(left.iter().map(|r| r.seq).collect::<Vec<_>>(), [live]);
        assert_eq!(s.list_keys().await.unwrap(), [current]);
        let next =
            s.append_revocation(RevocationKind::Token, "next", NOW, NOW + 300, NOW + 160).await.unwrap();
        assert!(next > gone, "positions are never reused ({next} after {gone})");
    }

    pub async fn meta_round_trip(ctx: Ctx) {
        let s = ctx.store;
        assert_eq!(s.get_meta("schema_note").await.unwrap(), None);
        s.set_meta("schema_note", "one").await.unwrap();
        assert_eq!(s.get_meta("schema_note").await.unwrap().as_deref(), Some("one"));
        s.set_meta("schema_note", "two").await.unwrap();
        assert_eq!(s.get_meta("schema_note").await.unwrap().as_deref(), Some("two"));
        s.set_meta("other", "").await.unwrap();
        assert_eq!(s.get_meta("other").await.unwrap().as_deref(), Some(""));
        assert_eq!(s.get_meta("schema_note").await.unwrap().as_deref(), Some("two"));
    }

    /// A second node opening the same database: the migrations are already
    /// applied, state is shared, and replay detection holds across nodes.
    pub async fn second_node_shares_state(ctx: Ctx) {
        let a = ctx.store;
        let b = netauth_store::connect(&ctx.url, POOL_SIZE).await.expect("second node connects");
        let c = client("shared");
        a.insert_client(&c).await.unwrap();
        assert_eq!(b.get_client("shared").await.unwrap(), Some(c));

        let mut tasks = JoinSet::new();
        for i in 0..20 {
            let node = if i % 2 == 0 { a.clone() } else { b.clone() };
            tasks.spawn(async move { node.record_jti("shared", "cross-node", NOW + 60).await.unwrap() });
        }
        let wins = tasks.join_all().await.into_iter().filter(|won| *won).count();
        assert_eq!(wins, 1, "exactly one of 20 records across two nodes succeeds");

        let seq = b.append_revocation(RevocationKind::Client, "shared", NOW, NOW + 60, NOW).await.unwrap();
        assert_eq!(
            a.revocations_since(0, i64::MAX, 10).await.unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(),
            [seq]
        );
    }

    pub async fn ping_and_backend(ctx: Ctx) {
        let s = ctx.store;
        s.ping().await.unwrap();
        let expected = if ctx.url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
        assert_eq!(s.backend(), expected);
    }
}

// ---------------------------------------------------------------- SQLite only

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_in_memory_is_one_database_per_connect() {
    let a = netauth_store::connect("sqlite::memory:", 8).await.unwrap();
    let b = netauth_store::connect("sqlite::memory:", 8).await.unwrap();
    a.insert_client(&client("mem")).await.unwrap();

    // Every access sees the same database, however many run at once.
    let mut tasks = JoinSet::new();
    for i in 0..16 {
        let a = a.clone();
        tasks.spawn(async move {
            assert!(a.get_client("mem").await.unwrap().is_some());
            a.record_jti("mem", &format!("jti-{i}"), NOW).await.unwrap()
        });
    }
    assert!(tasks.join_all().await.into_iter().all(|won| won));
    assert_eq!(a.count_clients().await.unwrap(), 1);
    assert_eq!(b.count_clients().await.unwrap(), 0, "another connect is another database");
}

#[tokio::test]
async fn sqlite_file_survives_reopening() {
    let dir = std::env::temp_dir().join(random_name());
    let url = format!("sqlite://{}", dir.join("nested").join("again").join("store.db").display());
    let kept = client("kept");
    let first = SqliteStore::connect(&url, 2).await.unwrap();
    first.insert_client(&kept).await.unwrap();
    first.set_meta("k", "v").await.unwrap();
    first.pool().close().await;

    let second = SqliteStore::connect(&url, 2).await.expect("migrations are not applied twice");
    let found = second.get_client("kept").await;
    let meta = second.get_meta("k").await;
    second.pool().close().await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.unwrap(), Some(kept));
    assert_eq!(meta.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    assert!(matches!(
        netauth_store::connect("mysql://localhost/db", 1).await,
        Err(StoreError::UnsupportedUrl)
    ));
    assert!(matches!(netauth_store::connect("netauth.db", 1).await, Err(StoreError::UnsupportedUrl)));
}

#[test]
fn database_is_swapped_in_the_url() {
    assert_eq!(with_database("postgres://u@h:5432/netauth_test", "x"), "postgres://u@h:5432/x");
    assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    assert_eq!(with_database("postgresql://h/db?sslmode=disable", "x"), "postgresql://h/x?sslmode=disable");
}
