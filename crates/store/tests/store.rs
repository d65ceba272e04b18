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

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

use netauth_domain::authorize::{Authentication, AuthorizationCode, LoginSession, PendingAuthorization};
use netauth_domain::ciba::{
    CibaRequest, CibaStatus, DeliveryMode, Prompt, PromptBounds, PromptStatus, RefreshTokenRecord,
};
use netauth_domain::client::{AuthMethod, Client, ClientSecret, ClientStatus, SigningAlg};
use netauth_domain::consent::{Consent, ConsentCapture, ConsentStatus, LegalBasis, LegalBasisRule};
use netauth_domain::crypto::random_bytes;
use netauth_domain::keys::{
    KeyRing, KeyUse, MasterKey, StoredKey, initial_keys, new_sealing_key, plan_rotation,
};
use netauth_domain::revocation::RevocationKind;
use netauth_domain::subscriber::{
    AddressAssignment, HandsetPolicy, Operator, OperatorTokenRecord, SimRecord, Subscriber, SubscriberStatus,
};
use netauth_proto::{GrantType, Purpose, Scope, ScopeSet};
use netauth_store::{ClientStore, MetaStore, PgStore, Purged, SqliteStore, Store, StoreError};
use sqlx::Connection;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
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
    client_compat_profile_is_mirrored,
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
    operator_crud_and_references,
    subscriber_crud,
    insert_subscribers_is_all_or_nothing,
    subscribers_by_address_matches_ip_and_port_range,
    list_subscribers_pages_in_msisdn_order,
    operator_tokens_are_spent_once,
    concurrent_operator_token_consumed_once,
    legal_bases_and_consents,
    ciba_request_lifecycle,
    concurrent_consume_ciba_request_exactly_once,
    concurrent_decide_ciba_request_exactly_once,
    record_ciba_poll_applies_once_per_seen,
    concurrent_record_ciba_poll_exactly_once,
    insert_ciba_request_respects_max_pending,
    concurrent_insert_ciba_request_respects_max_pending,
    prompts_list_and_answer,
    refresh_token_rotation,
    concurrent_rotate_refresh_token_exactly_once,
    refresh_token_revocation,
    purge_expired_covers_ciba_prompts_and_tokens,
    enablements_bind_until_they_expire,
    authorization_code_is_consumed_once_and_reuse_is_recorded,
    concurrent_consume_code_exactly_once,
    login_sessions_and_pending_authorizations,
    concurrent_pending_updates_apply_once,
    insert_prompt_respects_max_pending,
    prompts_are_bounded_per_client,
    purge_expired_covers_codes_and_logins,
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
        backchannel_token_delivery_mode: None,
        backchannel_client_notification_endpoint: None,
        compat_profile: None,
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

fn operator(id: &str) -> Operator {
    Operator {
        id: id.to_owned(),
        name: format!("Operator {id}"),
        country: "ES".to_owned(),
        number_ranges: vec!["+3460".to_owned(), "+3461".to_owned()],
    }
}

/// A CGNAT address: `ip`, ports `[start, end]`.
fn addr(ip: &str, port_start: u16, port_end: u16) -> AddressAssignment {
    AddressAssignment { ip: ip.to_owned(), port_start, port_end }
}

fn subscriber(id: &str, msisdn: &str, operator_id: &str) -> Subscriber {
    Subscriber {
        id: id.to_owned(),
        msisdn: msisdn.to_owned(),
        operator_id: operator_id.to_owned(),
        status: SubscriberStatus::Active,
        sims: vec![
            SimRecord { sim_id: format!("8934{id}-1"), activated_at: NOW - 86_400 * 400 },
            SimRecord { sim_id: format!("8934{id}-2"), activated_at: NOW - 86_400 },
        ],
        addresses: vec![addr("100.64.0.1", 1024, 2047)],
        handset_policy: HandsetPolicy::Ask,
        created_at: NOW,
    }
}

/// The `n`th of a benchmark-like population: one CGNAT address each, 32
/// subscribers per public IP with 2,016 ports apiece.
fn numbered_subscriber(n: u32, operator_id: &str) -> Subscriber {
    let block = (n % 32) as u16;
    let ip_n = n / 32;
    let ip = format!("100.{}.{}.{}", 64 + (ip_n >> 16) % 64, (ip_n >> 8) & 0xff, ip_n & 0xff);
    Subscriber {
        id: format!("sub-{n:08}"),
        msisdn: format!("+3460{n:08}"),
        operator_id: operator_id.to_owned(),
        status: SubscriberStatus::Active,
        sims: vec![SimRecord { sim_id: format!("893407{n:012}"), activated_at: NOW - 86_400 }],
        addresses: vec![addr(&ip, 1024 + block * 2016, 1024 + block * 2016 + 2015)],
        handset_policy: HandsetPolicy::AutoApprove,
        created_at: NOW,
    }
}

fn sub_ids(subs: &[Subscriber]) -> Vec<&str> {
    subs.iter().map(|s| s.id.as_str()).collect()
}

fn rule(scope: &str, purpose: &str, basis: LegalBasis) -> LegalBasisRule {
    LegalBasisRule {
        scope: scope.to_owned(),
        purpose: purpose.to_owned(),
        basis,
        capture: ConsentCapture::Handset,
    }
}

fn consent(sub: &str, client_id: &str, scope: &str, status: ConsentStatus) -> Consent {
    Consent {
        subscriber_id: sub.to_owned(),
        client_id: client_id.to_owned(),
        scope: scope.to_owned(),
        purpose: "dpv:FraudPreventionAndDetection".to_owned(),
        status,
        updated_at: NOW,
    }
}

fn ciba_request(id_hash: &str, sub: &str) -> CibaRequest {
    CibaRequest {
        id_hash: id_hash.to_owned(),
        client_id: "client-a".to_owned(),
        subscriber_id: sub.to_owned(),
        scope: ScopeSet::parse("openid dpv:FraudPreventionAndDetection#sim-swap").unwrap(),
        purpose: Some(Purpose::parse("dpv:FraudPreventionAndDetection").unwrap()),
        hint_kind: "tel".to_owned(),
        amr: vec!["sim".to_owned()],
        status: CibaStatus::Pending,
        delivery: DeliveryMode::Poll,
        client_notification_token: None,
        created_at: NOW,
        expires_at: NOW + 120,
        interval: 5,
        last_polled_at: None,
        consent_scopes: vec![Scope::parse("dpv:FraudPreventionAndDetection#sim-swap").unwrap()],
        approved_at: None,
        notify_auth_req_id: None,
    }
}

/// The handset prompt for `r`, created at `at`, expiring 120 s later.
fn prompt_for(id: &str, r: &CibaRequest, at: i64) -> Prompt {
    Prompt {
        id: id.to_owned(),
        subscriber_id: r.subscriber_id.clone(),
        kind: "ciba_consent".to_owned(),
        reference: r.id_hash.clone(),
        client_id: r.client_id.clone(),
        client_name: "Client A".to_owned(),
        purpose: r.purpose.as_ref().map(Purpose::to_string),
        scopes: r.consent_scopes.iter().map(Scope::to_string).collect(),
        status: PromptStatus::Pending,
        created_at: at,
        expires_at: at + 120,
        code: None,
    }
}

fn refresh(token_hash: &str, family_id: &str, client_id: &str, sub: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        token_hash: token_hash.to_owned(),
        family_id: family_id.to_owned(),
        client_id: client_id.to_owned(),
        subscriber_id: sub.to_owned(),
        scope: ScopeSet::parse("openid offline_access dpv:FraudPreventionAndDetection#sim-swap").unwrap(),
        purpose: Some(Purpose::parse("dpv:FraudPreventionAndDetection").unwrap()),
        amr: vec!["sim".to_owned()],
        created_at: NOW,
        expires_at: NOW + 86_400,
        rotated_at: None,
        revoked: false,
    }
}

fn auth_code(hash: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.to_owned(),
        client_id: "client-a".to_owned(),
        redirect_uri: "http://127.0.0.1:9001/cb".to_owned(),
        redirect_uri_sent: true,
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        nonce: Some("n".to_owned()),
        session_hash: "sess".to_owned(),
        auth: Authentication { subscriber_id: "sub".into(), amr: vec!["nba".into()], auth_time: NOW },
        scopes: vec!["openid".into(), "phone".into()],
        purpose: None,
        acr: None,
        id_token_claims: vec![],
        grant_id: format!("grant-{hash}"),
        created_at: NOW,
        expires_at: NOW + 60,
    }
}

fn pending(id_hash: &str) -> PendingAuthorization {
    PendingAuthorization {
        id_hash: id_hash.to_owned(),
        session_hash: "sess".into(),
        version: 0,
        client_id: "client-a".into(),
        entry_path: "/authorize".into(),
        redirect_uri: "http://127.0.0.1:9001/cb".into(),
        redirect_uri_sent: true,
        state: Some("s".into()),
        scopes: vec!["openid".into(), "phone".into()],
        scope_sent: true,
        purpose: None,
        consent_purpose: "dpv:RequestedServiceProvision".into(),
        consent_scopes: vec!["phone".into()],
        nonce: None,
        code_challenge: None,
        prompt: Default::default(),
        max_age: None,
        display: Default::default(),
        ui_locales: None,
        login_hint: None,
        enabled_for: None,
        handover_hash: None,
        claims: Default::default(),
        acr_requested: false,
        authenticated: None,
        handset: None,
        created_at: NOW,
        expires_at: NOW + 600,
    }
}

fn prompt_ids(ps: &[Prompt]) -> Vec<&str> {
    ps.iter().map(|p| p.id.as_str()).collect()
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

    /// The profile lives in the document and is mirrored in its column
    /// (migration 0008), on insert and on every update.
    pub async fn client_compat_profile_is_mirrored(ctx: Ctx) {
        use netauth_domain::compat::CompatProfile;
        let s = ctx.store;
        let column = |id: &'static str| {
            let url = ctx.url.clone();
            async move {
                let q = "SELECT compat_profile FROM clients WHERE client_id = $1";
                if url.starts_with("sqlite:") {
                    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                    sqlx::query_scalar::<_, Option<String>>(q).bind(id).fetch_one(&mut c).await.unwrap()
                } else {
                    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                    sqlx::query_scalar::<_, Option<String>>(q).bind(id).fetch_one(&mut c).await.unwrap()
                }
            }
        };
        let mut a = client("client-a");
        a.compat_profile = Some(CompatProfile::VonageSdk);
        s.insert_client(&a).await.unwrap();
        s.insert_client(&client("client-b")).await.unwrap();
        assert_eq!(s.get_client("client-a").await.unwrap(), Some(a.clone()));
        assert_eq!(column("client-a").await.as_deref(), Some("vonage-sdk"));
        assert_eq!(column("client-b").await, None, "strict CAMARA is NULL");

        a.compat_profile = Some(CompatProfile::TelefonicaSdk);
        assert!(s.update_client(&a).await.unwrap());
        assert_eq!(column("client-a").await.as_deref(), Some("telefonica-sdk"));
        a.compat_profile = None;
        assert!(s.update_client(&a).await.unwrap());
        assert_eq!(s.get_client("client-a").await.unwrap(), Some(a));
        assert_eq!(column("client-a").await, None);
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
        // In batches: the already-recorded one is not new, a pair repeated in
        // the batch is new once, and a single-record call sees the batch.
        let r = |c: &str, j: &str| (c.to_owned(), j.to_owned(), NOW + 60);
        let got = s
            .record_jtis(&[
                r("client-a", "jti-1"),
                r("client-a", "b1"),
                r("client-a", "b1"),
                r("client-c", "b1"),
            ])
            .await
            .unwrap();
        assert_eq!(got, [false, true, false, true]);
        assert!(!s.record_jti("client-a", "b1", NOW + 60).await.unwrap());
        assert_eq!(s.record_jtis(&[]).await.unwrap(), Vec::<bool>::new());
        let many: Vec<_> = (0..1200).map(|i| r("client-d", &format!("m{i}"))).collect();
        assert!(s.record_jtis(&many).await.unwrap().iter().all(|b| *b), "several statements");
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
        assert_eq!(
            purged,
            Purged { jtis: 2, revocations: 1, keys: 1, ..Purged::default() },
            "expires_at <= now is expired"
        );
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

    // ------------------------------------------------------------ subscribers

    pub async fn operator_crud_and_references(ctx: Ctx) {
        let s = ctx.store;
        assert!(s.list_operators().await.unwrap().is_empty());
        s.upsert_operator(&operator("op-b")).await.unwrap();
        s.upsert_operator(&operator("op-a")).await.unwrap();
        assert_eq!(s.get_operator("op-a").await.unwrap(), Some(operator("op-a")));
        assert_eq!(s.get_operator("nobody").await.unwrap(), None);

        let mut renamed = operator("op-b");
        renamed.name = "Renamed".to_owned();
        renamed.number_ranges.clear();
        s.upsert_operator(&renamed).await.unwrap();
        assert_eq!(s.get_operator("op-b").await.unwrap(), Some(renamed.clone()), "upsert replaces");
        assert_eq!(s.list_operators().await.unwrap(), [operator("op-a"), renamed], "ordered by id");

        // Referenced by a subscriber: refused, and the operator stays.
        s.insert_subscriber(&subscriber("s1", "+34600000001", "op-a")).await.unwrap();
        assert!(matches!(s.delete_operator("op-a").await, Err(StoreError::Conflict)));
        assert!(s.get_operator("op-a").await.unwrap().is_some());
        // Nor can a subscriber name an operator that does not exist.
        let res = s.insert_subscriber(&subscriber("s2", "+34600000002", "op-missing")).await;
        assert!(matches!(res, Err(StoreError::Conflict)), "{res:?}");
        assert_eq!(s.get_subscriber("s2").await.unwrap(), None);

        assert!(s.delete_subscriber("s1").await.unwrap());
        assert!(s.delete_operator("op-a").await.unwrap());
        assert!(!s.delete_operator("op-a").await.unwrap());
        assert_eq!(s.get_operator("op-a").await.unwrap(), None);
        assert_eq!(s.list_operators().await.unwrap().len(), 1);
    }

    pub async fn subscriber_crud(ctx: Ctx) {
        let s = ctx.store;
        s.upsert_operator(&operator("op")).await.unwrap();
        s.upsert_operator(&operator("op2")).await.unwrap();
        let mut a = subscriber("sub-a", "+34600000001", "op");
        a.addresses.push(addr("2001:db8::1", 0, u16::MAX));
        let b = subscriber("sub-b", "+34600000002", "op");
        s.insert_subscriber(&a).await.unwrap();
        s.insert_subscriber(&b).await.unwrap();
        assert_eq!(s.count_subscribers().await.unwrap(), 2);

        assert_eq!(s.get_subscriber("sub-a").await.unwrap(), Some(a.clone()), "document comes back whole");
        assert_eq!(s.subscriber_by_msisdn("+34600000002").await.unwrap(), Some(b.clone()));
        assert_eq!(s.get_subscriber("nobody").await.unwrap(), None);
        assert_eq!(s.subscriber_by_msisdn("+34699999999").await.unwrap(), None);

        // Duplicate id, duplicate MSISDN: refused, nothing changed.
        let dup_id = subscriber("sub-a", "+34600000009", "op");
        assert!(matches!(s.insert_subscriber(&dup_id).await, Err(StoreError::Conflict)));
        let dup_msisdn = subscriber("sub-c", "+34600000001", "op");
        assert!(matches!(s.insert_subscriber(&dup_msisdn).await, Err(StoreError::Conflict)));
        assert_eq!(s.subscriber_by_msisdn("+34600000009").await.unwrap(), None);
        assert_eq!(s.get_subscriber("sub-c").await.unwrap(), None);
        assert_eq!(s.count_subscribers().await.unwrap(), 2);

        // Update: new number, operator, status and addresses; the address
        // index follows.
        let mut a2 = a.clone();
        a2.msisdn = "+34600000003".to_owned();
        a2.operator_id = "op2".to_owned();
        a2.status = SubscriberStatus::Suspended;
        a2.addresses = vec![addr("100.64.9.9", 0, 1023)];
        a2.sims.push(SimRecord { sim_id: "new-sim".to_owned(), activated_at: NOW });
        assert!(s.update_subscriber(&a2).await.unwrap());
        assert_eq!(s.get_subscriber("sub-a").await.unwrap(), Some(a2.clone()));
        assert_eq!(s.subscriber_by_msisdn("+34600000003").await.unwrap(), Some(a2.clone()));
        assert_eq!(s.subscriber_by_msisdn("+34600000001").await.unwrap(), None, "old number freed");
        assert!(s.subscribers_by_address("2001:db8::1", None, 10).await.unwrap().is_empty());
        assert_eq!(s.subscribers_by_address("100.64.9.9", Some(80), 10).await.unwrap(), [a2.clone()]);
        assert_eq!(
            sub_ids(&s.subscribers_by_address("100.64.0.1", Some(1500), 10).await.unwrap()),
            ["sub-b"],
            "sub-a's old address is gone from the index"
        );

        // Updating to a number someone holds: Conflict, and no half-update.
        let mut clash = a2.clone();
        clash.msisdn = b.msisdn.clone();
        clash.addresses = vec![];
        assert!(matches!(s.update_subscriber(&clash).await, Err(StoreError::Conflict)));
        assert_eq!(s.get_subscriber("sub-a").await.unwrap(), Some(a2.clone()));
        assert_eq!(s.subscribers_by_address("100.64.9.9", None, 10).await.unwrap(), [a2.clone()]);

        assert!(!s.update_subscriber(&subscriber("nobody", "+34611111111", "op")).await.unwrap());
        assert_eq!(s.get_subscriber("nobody").await.unwrap(), None, "update does not insert");
        assert!(
            s.subscribers_by_address("100.64.0.1", None, 10).await.unwrap().iter().all(|x| x.id != "nobody")
        );

        // Delete takes the addresses with it; the MSISDN can be reused.
        assert!(s.delete_subscriber("sub-a").await.unwrap());
        assert!(!s.delete_subscriber("sub-a").await.unwrap());
        assert_eq!(s.get_subscriber("sub-a").await.unwrap(), None);
        assert!(s.subscribers_by_address("100.64.9.9", None, 10).await.unwrap().is_empty());
        assert_eq!(s.count_subscribers().await.unwrap(), 1);
        s.insert_subscriber(&subscriber("sub-d", "+34600000003", "op")).await.unwrap();
        assert_eq!(s.count_subscribers().await.unwrap(), 2);
    }

    pub async fn insert_subscribers_is_all_or_nothing(ctx: Ctx) {
        let s = ctx.store;
        s.upsert_operator(&operator("op")).await.unwrap();
        s.insert_subscribers(&[]).await.unwrap();

        // Enough rows to span several multi-row statements, with two
        // addresses each (twice as many address rows).
        let mut batch: Vec<Subscriber> = (0..4500).map(|n| numbered_subscriber(n, "op")).collect();
        for sub in batch.iter_mut().step_by(3) {
            sub.addresses.push(addr("2001:db8::7", 0, u16::MAX));
        }
        s.insert_subscribers(&batch).await.unwrap();
        assert_eq!(s.count_subscribers().await.unwrap(), 4500);
        assert_eq!(s.get_subscriber("sub-00004499").await.unwrap().as_ref(), batch.last());
        assert_eq!(s.subscriber_by_msisdn("+346000002222").await.unwrap().as_ref(), Some(&batch[2222]));
        let last = &batch[4499].addresses[0];
        let found = s.subscribers_by_address(&last.ip, Some(last.port_start), 10).await.unwrap();
        assert_eq!(sub_ids(&found), ["sub-00004499"]);
        assert_eq!(s.subscribers_by_address("2001:db8::7", None, 1000).await.unwrap().len(), 1000, "capped");

        // A later batch with a duplicate MSISDN deep inside: nothing of it stays.
        let mut bad: Vec<Subscriber> = (5000..8000).map(|n| numbered_subscriber(n, "op")).collect();
        bad[2500].msisdn = batch[10].msisdn.clone();
        let res = s.insert_subscribers(&bad).await;
        assert!(matches!(res, Err(StoreError::Conflict)), "{res:?}");
        assert_eq!(s.count_subscribers().await.unwrap(), 4500);
        assert_eq!(s.get_subscriber("sub-00005000").await.unwrap(), None);
        assert!(s.subscribers_by_address(&bad[0].addresses[0].ip, None, 10).await.unwrap().is_empty());

        // A duplicate id within the batch itself, and an unknown operator.
        let twice = [numbered_subscriber(9000, "op"), numbered_subscriber(9000, "op")];
        assert!(matches!(s.insert_subscribers(&twice).await, Err(StoreError::Conflict)));
        let orphan = [numbered_subscriber(9001, "op"), numbered_subscriber(9002, "nobody")];
        assert!(matches!(s.insert_subscribers(&orphan).await, Err(StoreError::Conflict)));
        assert_eq!(s.count_subscribers().await.unwrap(), 4500);
    }

    pub async fn subscribers_by_address_matches_ip_and_port_range(ctx: Ctx) {
        let s = ctx.store;
        s.upsert_operator(&operator("op")).await.unwrap();
        let ip = "198.51.100.7";
        let mut low = subscriber("low", "+34600000001", "op");
        low.addresses = vec![addr(ip, 1024, 2047)];
        let mut high = subscriber("high", "+34600000002", "op");
        high.addresses = vec![addr(ip, 2048, 4095)];
        // Two rows on the same IP, both matching port 5000: listed once.
        let mut twice = subscriber("twice", "+34600000003", "op");
        twice.addresses = vec![addr(ip, 4096, 6143), addr(ip, 5000, 5001), addr("203.0.113.1", 0, u16::MAX)];
        let mut v6 = subscriber("v6", "+34600000004", "op");
        v6.addresses = vec![addr("2001:db8::1", 0, u16::MAX)];
        let none = subscriber("none", "+34600000005", "op");
        let none = Subscriber { addresses: vec![], ..none };
        s.insert_subscribers(&[low.clone(), high.clone(), twice.clone(), v6.clone(), none]).await.unwrap();

        let at = |port: Option<u16>| {
            let s = s.clone();
            async move { sub_ids(&s.subscribers_by_address(ip, port, 10).await.unwrap()).join(",") }
        };
        assert_eq!(at(Some(1024)).await, "low", "range start is inclusive");
        assert_eq!(at(Some(2047)).await, "low", "range end is inclusive");
        assert_eq!(at(Some(2048)).await, "high");
        assert_eq!(at(Some(5000)).await, "twice");
        assert_eq!(at(Some(1023)).await, "");
        assert_eq!(at(Some(6144)).await, "");
        assert_eq!(at(None).await, "high,low,twice", "no port: anyone on the IP, once each");
        assert_eq!(s.subscribers_by_address(ip, None, 2).await.unwrap().len(), 2, "limit");
        assert_eq!(s.subscribers_by_address(ip, None, 10).await.unwrap()[1], low, "documents whole");
        assert_eq!(s.subscribers_by_address("2001:db8::1", Some(443), 10).await.unwrap(), [v6]);
        assert_eq!(s.subscribers_by_address("203.0.113.1", Some(0), 10).await.unwrap(), [twice.clone()]);
        assert_eq!(s.subscribers_by_address("203.0.113.1", Some(u16::MAX), 10).await.unwrap(), [twice]);
        assert!(s.subscribers_by_address("198.51.100.8", None, 10).await.unwrap().is_empty());
        assert!(s.subscribers_by_address(ip, None, 0).await.unwrap().is_empty());
    }

    pub async fn list_subscribers_pages_in_msisdn_order(ctx: Ctx) {
        let s = ctx.store;
        s.upsert_operator(&operator("op")).await.unwrap();
        assert!(s.list_subscribers(None, 10).await.unwrap().is_empty());

        // Ids run against MSISDN order, so ordering by id would show.
        let mut all: Vec<Subscriber> = (0..1003)
            .map(|i| subscriber(&format!("id{i:04}"), &format!("+34{:04}", 9999 - i), "op"))
            .collect();
        s.insert_subscribers(&all).await.unwrap();
        all.sort_by(|a, b| a.msisdn.cmp(&b.msisdn));

        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = s.list_subscribers(after.as_deref(), 400).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 400);
            after = page.last().map(|x| x.msisdn.clone());
            seen.extend(page);
        }
        assert_eq!(seen, all, "pages cover every subscriber once, in MSISDN order");

        assert_eq!(s.list_subscribers(None, u32::MAX).await.unwrap().len(), 1000, "limit is capped");
        let msisdns = |v: Vec<Subscriber>| v.into_iter().map(|x| x.msisdn).collect::<Vec<_>>();
        assert_eq!(msisdns(s.list_subscribers(Some("+348997"), 2).await.unwrap()), ["+348998", "+348999"]);
        assert_eq!(msisdns(s.list_subscribers(Some("+348997x"), 1).await.unwrap()), ["+348998"]);
        assert!(s.list_subscribers(Some("+349999"), 10).await.unwrap().is_empty());
        assert!(s.list_subscribers(None, 0).await.unwrap().is_empty());

        // Byte order, whatever the database's locale.
        for (i, m) in ["b", "B", "a", "A", "_"].into_iter().enumerate() {
            s.insert_subscriber(&subscriber(&format!("x{i}"), m, "op")).await.unwrap();
        }
        assert_eq!(
            msisdns(s.list_subscribers(Some("+349999"), 10).await.unwrap()),
            ["A", "B", "_", "a", "b"]
        );
    }

    pub async fn operator_tokens_are_spent_once(ctx: Ctx) {
        let s = ctx.store;
        let t = OperatorTokenRecord {
            token_hash: "h1".to_owned(),
            subscriber_id: "sub".to_owned(),
            expires_at: NOW + 60,
        };
        s.insert_operator_token(&t).await.unwrap();
        assert!(matches!(s.insert_operator_token(&t).await, Err(StoreError::Conflict)));

        assert_eq!(s.consume_operator_token("h1", NOW).await.unwrap(), Some(t.clone()));
        assert_eq!(s.consume_operator_token("h1", NOW).await.unwrap(), None, "spent");
        assert_eq!(s.consume_operator_token("nothing", NOW).await.unwrap(), None);

        // Expired (expires_at <= now): not spendable, left for the janitor.
        let old = OperatorTokenRecord { token_hash: "h2".to_owned(), expires_at: NOW + 10, ..t.clone() };
        s.insert_operator_token(&old).await.unwrap();
        assert_eq!(s.consume_operator_token("h2", NOW + 10).await.unwrap(), None);
        assert_eq!(s.consume_operator_token("h2", NOW + 9).await.unwrap(), Some(old), "still there before");
    }

    pub async fn concurrent_operator_token_consumed_once(ctx: Ctx) {
        let s = ctx.store;
        let t = OperatorTokenRecord {
            token_hash: "race".to_owned(),
            subscriber_id: "sub".to_owned(),
            expires_at: NOW + 60,
        };
        s.insert_operator_token(&t).await.unwrap();
        let mut tasks = JoinSet::new();
        for _ in 0..20 {
            let s = s.clone();
            tasks.spawn(async move { s.consume_operator_token("race", NOW).await.unwrap() });
        }
        let got: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
        assert_eq!(got, [t], "exactly one of 20 concurrent consumers gets the token");
    }

    // ------------------------------------------------------------ consents

    pub async fn legal_bases_and_consents(ctx: Ctx) {
        let s = ctx.store;
        assert!(s.list_legal_bases().await.unwrap().is_empty());
        let swap = "dpv:FraudPreventionAndDetection#sim-swap";
        let loc = "dpv:FraudPreventionAndDetection#device-location-read";
        let fraud = "dpv:FraudPreventionAndDetection";
        s.upsert_legal_basis(&rule(swap, fraud, LegalBasis::Contract)).await.unwrap();
        s.upsert_legal_basis(&rule(loc, fraud, LegalBasis::LegitimateInterest)).await.unwrap();
        s.upsert_legal_basis(&rule(swap, "dpv:Marketing", LegalBasis::Consent)).await.unwrap();
        let mut replaced = rule(swap, fraud, LegalBasis::Consent);
        replaced.capture = ConsentCapture::Refuse;
        s.upsert_legal_basis(&replaced).await.unwrap();
        assert_eq!(
            s.list_legal_bases().await.unwrap(),
            [
                rule(loc, fraud, LegalBasis::LegitimateInterest),
                replaced,
                rule(swap, "dpv:Marketing", LegalBasis::Consent),
            ],
            "ordered by (scope, purpose); upsert replaces"
        );
        assert!(s.delete_legal_basis(swap, "dpv:Marketing").await.unwrap());
        assert!(!s.delete_legal_basis(swap, "dpv:Marketing").await.unwrap());
        assert_eq!(s.list_legal_bases().await.unwrap().len(), 2);

        assert_eq!(s.get_consent("sub", "client-a", swap, fraud).await.unwrap(), None);
        let granted = consent("sub", "client-a", swap, ConsentStatus::Granted);
        s.upsert_consent(&granted).await.unwrap();
        assert_eq!(s.get_consent("sub", "client-a", swap, fraud).await.unwrap(), Some(granted.clone()));
        assert_eq!(s.get_consent("sub", "client-a", swap, "dpv:Other").await.unwrap(), None);
        assert_eq!(s.get_consent("sub", "client-b", swap, fraud).await.unwrap(), None);

        let revoked = Consent { status: ConsentStatus::Revoked, updated_at: NOW + 60, ..granted.clone() };
        s.upsert_consent(&revoked).await.unwrap();
        assert_eq!(s.get_consent("sub", "client-a", swap, fraud).await.unwrap(), Some(revoked.clone()));

        let other_client = consent("sub", "client-0", loc, ConsentStatus::Granted);
        let other_scope = consent("sub", "client-a", loc, ConsentStatus::Granted);
        s.upsert_consent(&other_scope).await.unwrap();
        s.upsert_consent(&other_client).await.unwrap();
        s.upsert_consent(&consent("someone-else", "client-a", swap, ConsentStatus::Granted)).await.unwrap();
        assert_eq!(
            s.list_consents("sub").await.unwrap(),
            [other_client, other_scope, revoked],
            "the subscriber's records, granted and revoked, by (client, scope, purpose)"
        );
        assert!(s.list_consents("nobody").await.unwrap().is_empty());
    }

    // ------------------------------------------------------------ CIBA

    pub async fn ciba_request_lifecycle(ctx: Ctx) {
        let s = ctx.store;
        // Ping mode: every optional field set, to see the document whole.
        let r = CibaRequest {
            delivery: DeliveryMode::Ping,
            client_notification_token: Some("cnt".to_owned()),
            notify_auth_req_id: Some("auth-req-id".to_owned()),
            ..ciba_request("req-1", "sub")
        };
        let p = prompt_for("prompt-1", &r, NOW);
        assert!(s.insert_ciba_request(&r, Some(&p), PromptBounds::per_subscriber(5), NOW).await.unwrap());
        assert!(matches!(
            s.insert_ciba_request(&r, None, PromptBounds::per_subscriber(5), NOW).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(s.get_ciba_request("req-1").await.unwrap(), Some(r.clone()));
        assert_eq!(s.get_prompt("prompt-1").await.unwrap(), Some(p));
        assert_eq!(s.get_ciba_request("nothing").await.unwrap(), None);
        assert_eq!(s.get_prompt("nothing").await.unwrap(), None);

        // Not approved yet: nothing to consume. Not a decision: refused.
        assert_eq!(s.consume_ciba_request("req-1").await.unwrap(), None);
        assert_eq!(s.decide_ciba_request("req-1", CibaStatus::Consumed, NOW + 7).await.unwrap(), None);
        assert_eq!(s.decide_ciba_request("req-1", CibaStatus::Pending, NOW + 7).await.unwrap(), None);
        assert_eq!(s.get_ciba_request("req-1").await.unwrap().map(|r| r.status), Some(CibaStatus::Pending));

        // The approval keeps its time (the ID token's auth_time).
        let approved = CibaRequest { status: CibaStatus::Approved, approved_at: Some(NOW + 7), ..r.clone() };
        assert_eq!(
            s.decide_ciba_request("req-1", CibaStatus::Approved, NOW + 7).await.unwrap(),
            Some(approved.clone())
        );
        assert_eq!(s.get_ciba_request("req-1").await.unwrap(), Some(approved.clone()), "document follows");
        assert_eq!(
            s.decide_ciba_request("req-1", CibaStatus::Denied, NOW + 7).await.unwrap(),
            None,
            "decided once"
        );
        assert_eq!(s.decide_ciba_request("nothing", CibaStatus::Approved, NOW + 7).await.unwrap(), None);

        let consumed = CibaRequest { status: CibaStatus::Consumed, ..approved.clone() };
        assert_eq!(s.consume_ciba_request("req-1").await.unwrap(), Some(consumed.clone()));
        assert_eq!(s.consume_ciba_request("req-1").await.unwrap(), None, "spent");
        assert_eq!(s.get_ciba_request("req-1").await.unwrap(), Some(consumed));

        // Denied: never consumable.
        let d = ciba_request("req-2", "sub");
        assert!(s.insert_ciba_request(&d, None, PromptBounds::per_subscriber(5), NOW).await.unwrap());
        let denied = s.decide_ciba_request("req-2", CibaStatus::Denied, NOW + 7).await.unwrap();
        assert_eq!(denied.map(|r| r.status), Some(CibaStatus::Denied));
        assert_eq!(s.consume_ciba_request("req-2").await.unwrap(), None);
        assert_eq!(s.decide_ciba_request("req-2", CibaStatus::Approved, NOW + 7).await.unwrap(), None);
        assert_eq!(s.get_ciba_request("req-2").await.unwrap().map(|r| r.status), Some(CibaStatus::Denied));
    }

    pub async fn concurrent_consume_ciba_request_exactly_once(ctx: Ctx) {
        let s = ctx.store;
        assert!(
            s.insert_ciba_request(&ciba_request("req", "sub"), None, PromptBounds::per_subscriber(5), NOW)
                .await
                .unwrap()
        );
        assert!(s.decide_ciba_request("req", CibaStatus::Approved, NOW + 7).await.unwrap().is_some());
        let mut tasks = JoinSet::new();
        for _ in 0..20 {
            let s = s.clone();
            tasks.spawn(async move { s.consume_ciba_request("req").await.unwrap() });
        }
        let got: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
        assert_eq!(got.len(), 1, "exactly one of 20 concurrent consumers gets the request");
        assert_eq!(got[0].status, CibaStatus::Consumed);
        assert_eq!(s.get_ciba_request("req").await.unwrap().map(|r| r.status), Some(CibaStatus::Consumed));
    }

    pub async fn concurrent_decide_ciba_request_exactly_once(ctx: Ctx) {
        let s = ctx.store;
        assert!(
            s.insert_ciba_request(&ciba_request("req", "sub"), None, PromptBounds::per_subscriber(5), NOW)
                .await
                .unwrap()
        );
        let mut tasks = JoinSet::new();
        for i in 0..20 {
            let s = s.clone();
            let to = if i % 2 == 0 { CibaStatus::Approved } else { CibaStatus::Denied };
            tasks.spawn(async move { s.decide_ciba_request("req", to, NOW + 7).await.unwrap() });
        }
        let got: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
        assert_eq!(got.len(), 1, "exactly one of 20 concurrent decisions applies");
        assert_eq!(s.get_ciba_request("req").await.unwrap().map(|r| r.status), Some(got[0].status));
    }

    pub async fn record_ciba_poll_applies_once_per_seen(ctx: Ctx) {
        let s = ctx.store;
        let r = ciba_request("req", "sub");
        assert!(s.insert_ciba_request(&r, None, PromptBounds::per_subscriber(5), NOW).await.unwrap());

        assert!(s.record_ciba_poll("req", None, NOW + 5, 5).await.unwrap(), "first poll");
        let got = s.get_ciba_request("req").await.unwrap().unwrap();
        assert_eq!((got.last_polled_at, got.interval), (Some(NOW + 5), 5));
        assert!(!s.record_ciba_poll("req", None, NOW + 6, 10).await.unwrap(), "stale: someone polled");
        assert!(!s.record_ciba_poll("req", Some(NOW), NOW + 6, 10).await.unwrap(), "stale value");

        // Too fast: the interval grows, in the document too.
        assert!(s.record_ciba_poll("req", Some(NOW + 5), NOW + 7, 10).await.unwrap());
        let got = s.get_ciba_request("req").await.unwrap().unwrap();
        assert_eq!(got, CibaRequest { last_polled_at: Some(NOW + 7), interval: 10, ..r.clone() });
        assert!(s.record_ciba_poll("req", Some(NOW + 7), NOW + 20, 10).await.unwrap());
        assert!(!s.record_ciba_poll("nothing", None, NOW, 5).await.unwrap());

        // Polling state and decisions do not overwrite each other.
        assert!(s.decide_ciba_request("req", CibaStatus::Approved, NOW + 7).await.unwrap().is_some());
        assert!(s.record_ciba_poll("req", Some(NOW + 20), NOW + 30, 15).await.unwrap());
        let got = s.get_ciba_request("req").await.unwrap().unwrap();
        assert_eq!(
            (got.status, got.last_polled_at, got.interval),
            (CibaStatus::Approved, Some(NOW + 30), 15)
        );
        assert_eq!(s.consume_ciba_request("req").await.unwrap().map(|r| r.interval), Some(15));
    }

    pub async fn concurrent_record_ciba_poll_exactly_once(ctx: Ctx) {
        let s = ctx.store;
        assert!(
            s.insert_ciba_request(&ciba_request("req", "sub"), None, PromptBounds::per_subscriber(5), NOW)
                .await
                .unwrap()
        );
        for (round, seen) in [(1, None), (2, Some(NOW + 1))] {
            let mut tasks = JoinSet::new();
            for i in 0..20 {
                let s = s.clone();
                tasks.spawn(async move {
                    (i, s.record_ciba_poll("req", seen, NOW + round, 5 + i).await.unwrap())
                });
            }
            let wins: Vec<i64> =
                tasks.join_all().await.into_iter().filter(|(_, won)| *won).map(|(i, _)| i).collect();
            assert_eq!(wins.len(), 1, "round {round}: exactly one of 20 concurrent polls applies");
            let got = s.get_ciba_request("req").await.unwrap().unwrap();
            assert_eq!((got.last_polled_at, got.interval), (Some(NOW + round), 5 + wins[0]), "the winner's");
        }
    }

    pub async fn insert_ciba_request_respects_max_pending(ctx: Ctx) {
        let s = ctx.store;
        for i in 0..3 {
            let r = ciba_request(&format!("req-{i}"), "sub");
            assert!(
                s.insert_ciba_request(
                    &r,
                    Some(&prompt_for(&format!("p-{i}"), &r, NOW)),
                    PromptBounds::per_subscriber(3),
                    NOW
                )
                .await
                .unwrap()
            );
        }
        // At the bound: refused, and nothing written.
        let r = ciba_request("req-x", "sub");
        assert!(
            !s.insert_ciba_request(
                &r,
                Some(&prompt_for("p-x", &r, NOW)),
                PromptBounds::per_subscriber(3),
                NOW
            )
            .await
            .unwrap()
        );
        assert!(
            !s.insert_ciba_request(&r, None, PromptBounds::per_subscriber(3), NOW).await.unwrap(),
            "with or without a prompt"
        );
        assert_eq!(s.get_ciba_request("req-x").await.unwrap(), None);
        assert_eq!(s.get_prompt("p-x").await.unwrap(), None);
        assert!(
            s.insert_ciba_request(&r, None, PromptBounds::per_subscriber(4), NOW).await.unwrap(),
            "a higher bound"
        );
        // Other subscribers have their own count.
        let other = ciba_request("req-o", "other");
        assert!(
            s.insert_ciba_request(
                &other,
                Some(&prompt_for("p-o", &other, NOW)),
                PromptBounds::per_subscriber(3),
                NOW
            )
            .await
            .unwrap()
        );
        assert!(
            !s.insert_ciba_request(
                &ciba_request("zero", "other2"),
                None,
                PromptBounds::per_subscriber(0),
                NOW
            )
            .await
            .unwrap()
        );

        // Answered prompts no longer count.
        assert!(s.answer_prompt("p-0", "sub", true, NOW).await.unwrap().is_some());
        let r = ciba_request("req-3", "sub");
        assert!(
            s.insert_ciba_request(
                &r,
                Some(&prompt_for("p-3", &r, NOW + 1)),
                PromptBounds::per_subscriber(3),
                NOW + 1
            )
            .await
            .unwrap()
        );
        assert!(
            !s.insert_ciba_request(
                &ciba_request("req-y", "sub"),
                None,
                PromptBounds::per_subscriber(3),
                NOW + 1
            )
            .await
            .unwrap()
        );
        // Nor do expired ones (p-1, p-2 expire at NOW + 120).
        let r = ciba_request("req-4", "sub");
        assert!(
            s.insert_ciba_request(
                &r,
                Some(&prompt_for("p-4", &r, NOW + 120)),
                PromptBounds::per_subscriber(3),
                NOW + 120
            )
            .await
            .unwrap()
        );
        assert_eq!(prompt_ids(&s.list_prompts("sub", NOW + 120).await.unwrap()), ["p-4", "p-3"]);
    }

    pub async fn concurrent_insert_ciba_request_respects_max_pending(ctx: Ctx) {
        let s = ctx.store;
        let mut tasks = JoinSet::new();
        for i in 0..20 {
            let s = s.clone();
            tasks.spawn(async move {
                let r = ciba_request(&format!("req-{i:02}"), "sub");
                let p = prompt_for(&format!("p-{i:02}"), &r, NOW);
                s.insert_ciba_request(&r, Some(&p), PromptBounds::per_subscriber(5), NOW).await.unwrap()
            });
        }
        let accepted = tasks.join_all().await.into_iter().filter(|ok| *ok).count();
        assert_eq!(accepted, 5, "of 20 concurrent requests exactly max_pending are accepted");
        assert_eq!(s.list_prompts("sub", NOW).await.unwrap().len(), 5);
        let mut stored = 0;
        for i in 0..20 {
            stored += usize::from(s.get_ciba_request(&format!("req-{i:02}")).await.unwrap().is_some());
        }
        assert_eq!(stored, 5, "refused requests left nothing behind");
    }

    pub async fn prompts_list_and_answer(ctx: Ctx) {
        let s = ctx.store;
        let mut ps = Vec::new();
        for (i, (sub, at)) in
            [("sub", NOW), ("sub", NOW + 10), ("sub", NOW + 20), ("other", NOW + 5), ("sub", NOW - 200)]
                .into_iter()
                .enumerate()
        {
            let r = ciba_request(&format!("req-{i}"), sub);
            let p = prompt_for(&format!("p-{i}"), &r, at);
            assert!(s.insert_ciba_request(&r, Some(&p), PromptBounds::per_subscriber(10), at).await.unwrap());
            ps.push(p);
        }
        // Pending and unexpired (p-4 expired at NOW - 80), newest first.
        assert_eq!(
            s.list_prompts("sub", NOW + 30).await.unwrap(),
            [ps[2].clone(), ps[1].clone(), ps[0].clone()]
        );
        assert_eq!(prompt_ids(&s.list_prompts("other", NOW + 30).await.unwrap()), ["p-3"]);
        assert!(s.list_prompts("nobody", NOW).await.unwrap().is_empty());

        // Only the subscriber's own, pending, unexpired prompts can be answered.
        assert_eq!(s.answer_prompt("p-3", "sub", true, NOW + 30).await.unwrap(), None, "someone else's");
        assert_eq!(s.answer_prompt("p-4", "sub", true, NOW + 30).await.unwrap(), None, "expired");
        assert_eq!(s.answer_prompt("p-0", "sub", true, NOW + 120).await.unwrap(), None, "expires_at <= now");
        assert_eq!(s.answer_prompt("nothing", "sub", true, NOW).await.unwrap(), None);

        let approved = Prompt { status: PromptStatus::Approved, ..ps[1].clone() };
        assert_eq!(s.answer_prompt("p-1", "sub", true, NOW + 30).await.unwrap(), Some(approved.clone()));
        assert_eq!(s.get_prompt("p-1").await.unwrap(), Some(approved), "document follows");
        assert_eq!(s.answer_prompt("p-1", "sub", false, NOW + 30).await.unwrap(), None, "answered once");
        let denied = s.answer_prompt("p-2", "sub", false, NOW + 30).await.unwrap();
        assert_eq!(denied.map(|p| p.status), Some(PromptStatus::Denied));
        assert_eq!(s.get_prompt("p-2").await.unwrap().map(|p| p.status), Some(PromptStatus::Denied));
        assert_eq!(prompt_ids(&s.list_prompts("sub", NOW + 30).await.unwrap()), ["p-0"]);
        assert!(s.list_prompts("sub", NOW + 120).await.unwrap().is_empty(), "expires_at <= now");

        // Concurrent answers: one applies.
        let mut tasks = JoinSet::new();
        for i in 0..10 {
            let s = s.clone();
            tasks.spawn(async move { s.answer_prompt("p-0", "sub", i % 2 == 0, NOW + 30).await.unwrap() });
        }
        assert_eq!(tasks.join_all().await.into_iter().flatten().count(), 1);
    }

    // ------------------------------------------------------------ refresh tokens

    pub async fn refresh_token_rotation(ctx: Ctx) {
        let s = ctx.store;
        let t = refresh("rt-1", "fam", "client-a", "sub");
        s.insert_refresh_token(&t).await.unwrap();
        assert!(matches!(s.insert_refresh_token(&t).await, Err(StoreError::Conflict)));
        assert_eq!(s.get_refresh_token("rt-1").await.unwrap(), Some(t.clone()));
        assert_eq!(s.get_refresh_token("nothing").await.unwrap(), None);

        let rotated = RefreshTokenRecord { rotated_at: Some(NOW + 60), ..t.clone() };
        assert_eq!(s.rotate_refresh_token("rt-1", NOW + 60).await.unwrap(), Some(rotated.clone()));
        assert_eq!(s.get_refresh_token("rt-1").await.unwrap(), Some(rotated.clone()), "document follows");
        assert_eq!(s.rotate_refresh_token("rt-1", NOW + 61).await.unwrap(), None, "rotated once");
        assert_eq!(s.get_refresh_token("rt-1").await.unwrap(), Some(rotated));
        assert_eq!(s.rotate_refresh_token("nothing", NOW).await.unwrap(), None);

        // Revoked: not rotatable. Inserted already rotated: not either.
        s.insert_refresh_token(&RefreshTokenRecord {
            revoked: true,
            ..refresh("rt-2", "fam", "client-a", "sub")
        })
        .await
        .unwrap();
        assert_eq!(s.rotate_refresh_token("rt-2", NOW).await.unwrap(), None);
        s.insert_refresh_token(&RefreshTokenRecord {
            rotated_at: Some(NOW),
            ..refresh("rt-3", "f", "c", "s")
        })
        .await
        .unwrap();
        assert_eq!(s.rotate_refresh_token("rt-3", NOW + 1).await.unwrap(), None);
    }

    pub async fn concurrent_rotate_refresh_token_exactly_once(ctx: Ctx) {
        let s = ctx.store;
        s.insert_refresh_token(&refresh("rt", "fam", "client-a", "sub")).await.unwrap();
        let mut tasks = JoinSet::new();
        for i in 0..20 {
            let s = s.clone();
            tasks.spawn(async move { s.rotate_refresh_token("rt", NOW + i).await.unwrap() });
        }
        let got: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
        assert_eq!(got.len(), 1, "exactly one of 20 concurrent rotations wins");
        assert_eq!(s.get_refresh_token("rt").await.unwrap().unwrap().rotated_at, got[0].rotated_at);
    }

    pub async fn refresh_token_revocation(ctx: Ctx) {
        let s = ctx.store;
        for t in [
            refresh("f1-a", "fam-1", "client-a", "sub"),
            refresh("f1-b", "fam-1", "client-a", "sub"),
            refresh("f1-c", "fam-1", "client-a", "sub"),
            refresh("f2-a", "fam-2", "client-a", "sub"),
            refresh("f3-a", "fam-3", "client-b", "sub"),
            refresh("f4-a", "fam-4", "client-a", "other"),
        ] {
            s.insert_refresh_token(&t).await.unwrap();
        }
        assert!(s.rotate_refresh_token("f1-a", NOW + 1).await.unwrap().is_some());
        assert!(s.rotate_refresh_token("f1-b", NOW + 2).await.unwrap().is_some());

        assert_eq!(s.revoke_refresh_family("fam-1").await.unwrap(), 3, "rotated ones too");
        assert_eq!(s.revoke_refresh_family("fam-1").await.unwrap(), 0, "already revoked");
        assert_eq!(s.revoke_refresh_family("nothing").await.unwrap(), 0);
        let a = s.get_refresh_token("f1-a").await.unwrap().unwrap();
        assert_eq!(
            a,
            RefreshTokenRecord {
                rotated_at: Some(NOW + 1),
                revoked: true,
                ..refresh("f1-a", "fam-1", "client-a", "sub")
            },
            "rows kept, documents follow"
        );
        assert!(s.get_refresh_token("f1-c").await.unwrap().unwrap().revoked);
        assert_eq!(s.rotate_refresh_token("f1-c", NOW + 3).await.unwrap(), None, "revoked");
        assert!(!s.get_refresh_token("f2-a").await.unwrap().unwrap().revoked, "other family untouched");

        // Consent revoked for (client-a, sub): its remaining token goes.
        assert_eq!(s.revoke_refresh_tokens_of("client-a", "sub").await.unwrap(), 1);
        assert!(s.get_refresh_token("f2-a").await.unwrap().unwrap().revoked);
        assert_eq!(s.revoke_refresh_tokens_of("client-a", "sub").await.unwrap(), 0);
        assert!(!s.get_refresh_token("f3-a").await.unwrap().unwrap().revoked, "other client");
        assert!(!s.get_refresh_token("f4-a").await.unwrap().unwrap().revoked, "other subscriber");
        assert_eq!(s.revoke_refresh_tokens_of("client-b", "sub").await.unwrap(), 1);
        assert_eq!(s.rotate_refresh_token("f3-a", NOW).await.unwrap(), None);
        assert!(s.rotate_refresh_token("f4-a", NOW).await.unwrap().is_some());
    }

    pub async fn purge_expired_covers_ciba_prompts_and_tokens(ctx: Ctx) {
        let s = ctx.store;
        let at = NOW + 150;
        // Requests and prompts: one expired exactly at `at`, one just after.
        let mut gone = ciba_request("req-gone", "sub");
        gone.expires_at = at;
        let kept = ciba_request("req-kept", "sub");
        let kept = CibaRequest { expires_at: at + 1, ..kept };
        let p_gone = Prompt { expires_at: at, ..prompt_for("p-gone", &gone, NOW) };
        let p_kept = Prompt { expires_at: at + 1, ..prompt_for("p-kept", &kept, NOW) };
        assert!(
            s.insert_ciba_request(&gone, Some(&p_gone), PromptBounds::per_subscriber(5), NOW).await.unwrap()
        );
        assert!(
            s.insert_ciba_request(&kept, Some(&p_kept), PromptBounds::per_subscriber(5), NOW).await.unwrap()
        );
        // Refresh tokens, rotated or not, and operator tokens.
        for (h, exp) in [("rt-gone", at - 1), ("rt-gone-2", at), ("rt-kept", at + 1)] {
            s.insert_refresh_token(&RefreshTokenRecord { expires_at: exp, ..refresh(h, "fam", "c", "sub") })
                .await
                .unwrap();
        }
        assert!(s.rotate_refresh_token("rt-gone", NOW).await.unwrap().is_some());
        for (h, exp) in [("ot-gone", at), ("ot-kept", at + 1)] {
            let t = OperatorTokenRecord {
                token_hash: h.to_owned(),
                subscriber_id: "sub".to_owned(),
                expires_at: exp,
            };
            s.insert_operator_token(&t).await.unwrap();
        }

        let purged = s.purge_expired(at).await.unwrap();
        assert_eq!(
            purged,
            Purged {
                ciba_requests: 1,
                prompts: 1,
                refresh_tokens: 2,
                operator_tokens: 1,
                ..Purged::default()
            }
        );
        assert_eq!(s.purge_expired(at).await.unwrap(), Purged::default());
        assert_eq!(s.get_ciba_request("req-gone").await.unwrap(), None);
        assert_eq!(s.get_ciba_request("req-kept").await.unwrap(), Some(kept));
        assert_eq!(s.get_prompt("p-gone").await.unwrap(), None);
        assert_eq!(s.get_prompt("p-kept").await.unwrap(), Some(p_kept));
        assert_eq!(s.get_refresh_token("rt-gone").await.unwrap(), None);
        assert_eq!(s.get_refresh_token("rt-gone-2").await.unwrap(), None);
        assert!(s.get_refresh_token("rt-kept").await.unwrap().is_some());
        assert_eq!(s.consume_operator_token("ot-gone", NOW).await.unwrap(), None, "purged");
        assert!(s.consume_operator_token("ot-kept", NOW).await.unwrap().is_some());
    }

    // ------------------------------------------------------------ enablements

    pub async fn enablements_bind_until_they_expire(ctx: Ctx) {
        use netauth_domain::enablement::{Enablement, enablement_key};
        let s = ctx.store;
        let e = |state: &str, msisdn: &str, expires_at: i64| Enablement {
            key_hash: enablement_key("client-a", state),
            client_id: "client-a".to_owned(),
            msisdn: msisdn.to_owned(),
            operator_id: "op".to_owned(),
            scopes: vec![
                "dpv:FraudPreventionAndDetection".to_owned(),
                "number-verification:verify".to_owned(),
            ],
            created_at: NOW,
            expires_at: expires_at - 100,
            forget_at: expires_at,
        };
        let first = e("s1", "+34600000001", NOW + 600);
        s.put_enablement(&first).await.unwrap();
        assert_eq!(s.get_enablement(&first.key_hash, NOW).await.unwrap(), Some(first.clone()));
        assert_eq!(
            s.get_enablement(&first.key_hash, NOW + 600).await.unwrap(),
            None,
            "expired at expires_at"
        );
        assert_eq!(s.get_enablement(&enablement_key("client-b", "s1"), NOW).await.unwrap(), None);
        // The same state again: the latest answer holds.
        let again = e("s1", "+34600000002", NOW + 900);
        s.put_enablement(&again).await.unwrap();
        assert_eq!(s.get_enablement(&first.key_hash, NOW + 700).await.unwrap(), Some(again));
        // Another node sees it; the janitor removes only expired rows.
        let other = netauth_store::connect(&ctx.url, 2).await.unwrap();
        assert!(other.get_enablement(&first.key_hash, NOW).await.unwrap().is_some());
        let gone = e("s2", "+34600000003", NOW + 10);
        s.put_enablement(&gone).await.unwrap();
        assert_eq!(s.purge_expired(NOW + 10).await.unwrap(), Purged { enablements: 1, ..Purged::default() });
        assert!(s.get_enablement(&first.key_hash, NOW).await.unwrap().is_some());
        assert_eq!(s.get_enablement(&gone.key_hash, NOW).await.unwrap(), None);
    }

    // ------------------------------------------------------------ authorization codes, logins

    pub async fn authorization_code_is_consumed_once_and_reuse_is_recorded(ctx: Ctx) {
        let s = ctx.store;
        let c = auth_code("code-1");
        s.insert_code(&c, NOW + 86400).await.unwrap();
        assert!(matches!(s.insert_code(&c, NOW + 86400).await, Err(StoreError::Conflict)));
        assert_eq!(s.mark_code_reused("code-1").await.unwrap(), None, "not spent: not a reuse");
        assert!(!s.code_reused("code-1").await.unwrap());
        assert_eq!(s.consume_code("code-1", NOW + 1).await.unwrap(), Some(c.clone()));
        assert_eq!(s.consume_code("code-1", NOW + 2).await.unwrap(), None, "single use");
        assert_eq!(s.mark_code_reused("code-1").await.unwrap(), Some(c));
        assert!(s.code_reused("code-1").await.unwrap());
        assert_eq!(s.consume_code("nope", NOW).await.unwrap(), None);
        assert_eq!(s.mark_code_reused("nope").await.unwrap(), None);
        assert!(!s.code_reused("nope").await.unwrap());
    }

    pub async fn concurrent_consume_code_exactly_once(ctx: Ctx) {
        let s = ctx.store;
        s.insert_code(&auth_code("code-1"), NOW + 86400).await.unwrap();
        let mut tasks = JoinSet::new();
        for i in 0..20 {
            let s = s.clone();
            tasks.spawn(async move { s.consume_code("code-1", NOW + i).await.unwrap() });
        }
        let got: Vec<_> = tasks.join_all().await.into_iter().flatten().collect();
        assert_eq!(got.len(), 1, "exactly one of 20 concurrent redemptions wins the code");
    }

    pub async fn login_sessions_and_pending_authorizations(ctx: Ctx) {
        let s = ctx.store;
        let ls = LoginSession {
            id_hash: "sess".into(),
            auth: Authentication { subscriber_id: "sub".into(), amr: vec!["nba".into()], auth_time: NOW },
            created_at: NOW,
            expires_at: NOW + 100,
        };
        s.insert_login_session(&ls).await.unwrap();
        assert_eq!(s.get_login_session("sess").await.unwrap(), Some(ls));
        s.delete_login_session("sess").await.unwrap();
        assert_eq!(s.get_login_session("sess").await.unwrap(), None);

        let mut p = pending("req");
        s.insert_pending_authorization(&p).await.unwrap();
        assert_eq!(s.get_pending_authorization("req").await.unwrap(), Some(p.clone()));
        let stale = p.clone();
        p.version += 1;
        p.state = Some("second".into());
        assert!(s.update_pending_authorization(&p).await.unwrap());
        let mut late = stale;
        late.version += 1;
        assert!(!s.update_pending_authorization(&late).await.unwrap(), "written since it was read");
        assert_eq!(s.get_pending_authorization("req").await.unwrap(), Some(p));
        s.delete_pending_authorization("req").await.unwrap();
        assert_eq!(s.get_pending_authorization("req").await.unwrap(), None);
    }

    pub async fn concurrent_pending_updates_apply_once(ctx: Ctx) {
        let s = ctx.store;
        let p = pending("req");
        s.insert_pending_authorization(&p).await.unwrap();
        let mut tasks = JoinSet::new();
        for i in 0..20 {
            let s = s.clone();
            let mut p = p.clone();
            p.version = 1;
            p.state = Some(format!("writer {i}"));
            tasks.spawn(async move { s.update_pending_authorization(&p).await.unwrap() });
        }
        let won = tasks.join_all().await.into_iter().filter(|w| *w).count();
        assert_eq!(won, 1, "of 20 writers that read version 0, one writes");
    }

    pub async fn insert_prompt_respects_max_pending(ctx: Ctx) {
        let s = ctx.store;
        let r = ciba_request("req", "sub");
        let login = |id: &str, status| Prompt {
            kind: "login_code".into(),
            status,
            code: Some("123456".into()),
            ..prompt_for(id, &r, NOW)
        };
        assert!(
            s.insert_prompt(&login("p1", PromptStatus::Pending), PromptBounds::per_subscriber(2), NOW)
                .await
                .unwrap()
        );
        assert!(
            s.insert_prompt(&login("p2", PromptStatus::Pending), PromptBounds::per_subscriber(2), NOW)
                .await
                .unwrap()
        );
        assert!(
            !s.insert_prompt(&login("p3", PromptStatus::Pending), PromptBounds::per_subscriber(2), NOW)
                .await
                .unwrap(),
            "at the bound"
        );
        assert_eq!(s.get_prompt("p3").await.unwrap(), None, "nothing written");
        assert!(
            !s.insert_prompt(&login("p4", PromptStatus::Approved), PromptBounds::per_subscriber(2), NOW)
                .await
                .unwrap()
        );
        assert_eq!(s.get_prompt("p1").await.unwrap().unwrap().code.as_deref(), Some("123456"));
        // Expired prompts do not count.
        assert!(
            s.insert_prompt(&login("p5", PromptStatus::Pending), PromptBounds::per_subscriber(2), NOW + 120)
                .await
                .unwrap()
        );
    }

    pub async fn prompts_are_bounded_per_client(ctx: Ctx) {
        let s = ctx.store;
        let bounds = PromptBounds { per_subscriber: 5, per_client: 2 };
        let of =
            |id: &str, client: &str| CibaRequest { client_id: client.to_owned(), ..ciba_request(id, "sub") };
        for i in 0..2 {
            let r = of(&format!("a-{i}"), "client-a");
            assert!(
                s.insert_ciba_request(&r, Some(&prompt_for(&format!("pa-{i}"), &r, NOW)), bounds, NOW)
                    .await
                    .unwrap()
            );
        }
        // client-a is at its bound for this subscriber, with or without a prompt...
        let r = of("a-x", "client-a");
        assert!(!s.insert_ciba_request(&r, Some(&prompt_for("pa-x", &r, NOW)), bounds, NOW).await.unwrap());
        assert!(!s.insert_ciba_request(&r, None, bounds, NOW).await.unwrap());
        assert_eq!(s.get_ciba_request("a-x").await.unwrap(), None, "nothing written");
        let login = Prompt { kind: "login_approve".into(), ..prompt_for("pa-login", &r, NOW) };
        assert!(!s.insert_prompt(&login, bounds, NOW).await.unwrap(), "nor a sign-in prompt");
        // ...another client is not, up to the subscriber's own bound.
        for i in 0..3 {
            let r = of(&format!("b-{i}"), &format!("client-{i}"));
            assert!(
                s.insert_ciba_request(&r, Some(&prompt_for(&format!("pb-{i}"), &r, NOW)), bounds, NOW)
                    .await
                    .unwrap()
            );
        }
        let r = of("c-x", "client-c");
        assert!(
            !s.insert_ciba_request(&r, Some(&prompt_for("pc-x", &r, NOW)), bounds, NOW).await.unwrap(),
            "5 in all"
        );
        // An answer frees one of client-a's places.
        assert!(s.answer_prompt("pa-0", "sub", false, NOW).await.unwrap().is_some());
        assert!(s.insert_prompt(&login, bounds, NOW).await.unwrap());
    }

    pub async fn purge_expired_covers_codes_and_logins(ctx: Ctx) {
        let s = ctx.store;
        s.insert_code(&auth_code("gone"), NOW).await.unwrap();
        s.insert_code(&auth_code("kept"), NOW + 1).await.unwrap();
        for (id, exp) in [("gone", NOW), ("kept", NOW + 1)] {
            let ls = LoginSession {
                id_hash: id.into(),
                auth: Authentication { subscriber_id: "sub".into(), amr: vec![], auth_time: NOW },
                created_at: NOW,
                expires_at: exp,
            };
            s.insert_login_session(&ls).await.unwrap();
            s.insert_pending_authorization(&PendingAuthorization { expires_at: exp, ..pending(id) })
                .await
                .unwrap();
        }
        let purged = s.purge_expired(NOW).await.unwrap();
        assert_eq!(
            purged,
            Purged {
                authorization_codes: 1,
                login_sessions: 1,
                pending_authorizations: 1,
                ..Purged::default()
            }
        );
        assert!(s.consume_code("kept", NOW).await.unwrap().is_some());
        assert!(s.get_login_session("kept").await.unwrap().is_some());
        assert!(s.get_pending_authorization("kept").await.unwrap().is_some());
    }
}

// ---------------------------------------------------------------- bulk load

/// How fast `insert_subscribers` loads a benchmark population: batches of
/// 10,000 (as a fixture loader would call it), `NETAUTH_BULK_SUBSCRIBERS`
/// subscribers in all (default 1,000,000). Ignored by default; run with
/// `cargo test -p netauth-store --release --test store bulk -- --ignored --nocapture`.
#[cfg(test)]
mod bulk {
    use super::*;

    const BATCH: u32 = 10_000;

    async fn load(ctx: Ctx) {
        let s = ctx.store;
        let total: u32 =
            std::env::var("NETAUTH_BULK_SUBSCRIBERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
        s.upsert_operator(&operator("op")).await.unwrap();
        let t0 = Instant::now();
        let mut slowest = 0_f64;
        let mut start = 0;
        while start < total {
            let batch: Vec<Subscriber> =
                (start..total.min(start + BATCH)).map(|n| numbered_subscriber(n, "op")).collect();
            let t = Instant::now();
            s.insert_subscribers(&batch).await.unwrap();
            slowest = slowest.max(t.elapsed().as_secs_f64());
            start += BATCH;
        }
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(s.count_subscribers().await.unwrap(), u64::from(total));
        eprintln!(
            "{}: {total} subscribers (+{total} addresses) in {secs:.1} s: {:.0}/s; slowest batch: {:.2} s",
            s.backend(),
            f64::from(total) / secs,
            slowest,
        );
        // Lookups still answer from the indexes at this size.
        let probe = numbered_subscriber(total / 2, "op");
        let t = Instant::now();
        for _ in 0..100 {
            assert_eq!(s.subscriber_by_msisdn(&probe.msisdn).await.unwrap().as_ref(), Some(&probe));
            let a = &probe.addresses[0];
            let found = s.subscribers_by_address(&a.ip, Some(a.port_start + 7), 10).await.unwrap();
            assert_eq!(found, std::slice::from_ref(&probe));
            let page = s.list_subscribers(Some(&probe.msisdn), 100).await.unwrap();
            assert_eq!(page.len(), 100.min((total - total / 2 - 1) as usize));
        }
        eprintln!(
            "{}: 100 × (by MSISDN, by IP and port, page of 100): {:.1} ms",
            s.backend(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "benchmark: loads a million subscribers"]
    async fn sqlite_insert_subscribers_throughput() {
        run(Backend::Sqlite, load).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "benchmark: loads a million subscribers"]
    async fn postgres_insert_subscribers_throughput() {
        run(Backend::Postgres, load).await;
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

/// Issue #10 points 6 and 9: the SQLite database lives in a 0700 directory,
/// its file and write-ahead log are 0600; the log, grown by sustained
/// writes, is truncated by the janitor's sweep.
#[tokio::test]
async fn sqlite_files_are_private_and_the_wal_is_truncated_by_the_janitor() {
    use netauth_store::{Maintenance, RevocationStore};
    use std::os::unix::fs::PermissionsExt;
    let root =
        std::env::temp_dir().join(format!("netauth-wal-{}", netauth_domain::crypto::random_token::<6>()));
    let dir = root.join("data");
    let db = dir.join("netauth.db");
    let store = SqliteStore::connect(&format!("sqlite:{}", db.display()), 2).await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let now = 1_800_000_000;
    for i in 0..2000 {
        store
            .append_revocation(RevocationKind::Token, &format!("jti-{i}"), now, now + 60, now)
            .await
            .unwrap();
    }
    let wal = dir.join("netauth.db-wal");
    let grown = std::fs::metadata(&wal).unwrap().len();
    assert!(grown > 0, "the log grew");
    assert_eq!(mode(&dir), 0o700);
    for p in [&db, &wal, &dir.join("netauth.db-shm")] {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }
    store.purge_expired(now).await.unwrap();
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0, "truncated (was {grown} bytes)");
    let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit").fetch_one(store.pool()).await.unwrap();
    assert_eq!(limit, 64 * 1024 * 1024);
    // A file left world-readable by an older version is tightened on start.
    drop(store);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _again = SqliteStore::connect(&format!("sqlite:{}", db.display()), 2).await.unwrap();
    assert_eq!(mode(&db), 0o600);
    let _ = std::fs::remove_dir_all(&root);
}
