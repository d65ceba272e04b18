//! `spawn_app()`: a netauth server on port 0 with a fresh database —
//! SQLite in a temp file, or, when `NETAUTH_TEST_DATABASE_URL` is set, a new
//! PostgreSQL database created for this test — and flow helpers.

use netauth_domain::client::SigningAlg;
use netauth_domain::keys::{MasterKey, SigningKey};
use netauth_server::infra::clock::ManualClock;
use netauth_server::infra::config::Config;
use netauth_server::infra::state::AppState;
use serde_json::{Value, json};
use std::sync::Arc;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub app: AppState,
    pub db_url: String,
    pub master_b64: String,
    /// The server's clock: tests move it instead of sleeping. Peer nodes
    /// share it, as the nodes of one installation share the wall clock.
    pub clock: Arc<ManualClock>,
    /// Whether this node made its database (peers share their first node's):
    /// the one that made it removes it.
    owns_db: bool,
    _task: tokio::task::JoinHandle<()>,
}

/// Test databases go when their test ends: a full suite creates hundreds,
/// and the machine that runs it is not always a throwaway one.
impl Drop for TestApp {
    fn drop(&mut self) {
        self._task.abort();
        if !self.owns_db {
            return;
        }
        if let Some(path) = self.db_url.strip_prefix("sqlite:") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        } else if let Ok(admin_url) = std::env::var("NETAUTH_TEST_DATABASE_URL")
            && let Some((_, name)) = self.db_url.rsplit_once('/')
        {
            // Another thread with its own runtime: this one may be the
            // test's, which is being torn down. FORCE ends the server's
            // pooled connections (PostgreSQL 13+).
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                    sqlx::query(&sql).execute(&mut conn).await.ok()
                })
            })
            .join();
        }
    }
}

pub fn random_name() -> String {
    netauth_domain::crypto::random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh, empty database URL for one test.
pub async fn fresh_database() -> String {
    match std::env::var("NETAUTH_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            use sqlx::Connection;
            let name = format!("netauth_t_{}", random_name());
            let mut conn =
                sqlx::PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create database");
            let (head, _) = admin_url.rsplit_once('/').expect("database URL has a path");
            format!("{head}/{name}")
        }
        _ => {
            let p = std::env::temp_dir().join(format!("netauth-test-{}.db", random_name()));
            format!("sqlite:{}", p.display())
        }
    }
}

pub struct Options {
    pub db_url: Option<String>,
    pub master_b64: Option<String>,
    pub clock: Option<Arc<ManualClock>>,
    pub tweak: Box<dyn FnOnce(&mut Config) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Self { db_url: None, master_b64: None, clock: None, tweak: Box::new(|_| {}) }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default()).await
}

/// Another node of the same installation: same database, same master key.
pub async fn spawn_peer(of: &TestApp) -> TestApp {
    spawn_with(Options {
        db_url: Some(of.db_url.clone()),
        master_b64: Some(of.master_b64.clone()),
        clock: Some(of.clock.clone()),
        ..Default::default()
    })
    .await
}

pub async fn spawn_with(opts: Options) -> TestApp {
    let owns_db = opts.db_url.is_none();
    let db_url = match opts.db_url {
        Some(u) => u,
        None => fresh_database().await,
    };
    let master_b64 = opts.master_b64.unwrap_or_else(MasterKey::generate_base64);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut config = Config::default();
    config.server.listen = addr;
    config.sandbox.enabled = true;
    config.admin.token = ADMIN_TOKEN.into();
    config.database.url = db_url.clone();
    config.database.max_connections = 5;
    config.sync.revocation_interval_ms = 100;
    (opts.tweak)(&mut config);
    let store =
        netauth_store::connect(&config.database.url, config.database.max_connections).await.expect("store");
    let master = MasterKey::from_base64(&master_b64).expect("master key");
    let clock = opts.clock.unwrap_or_else(|| Arc::new(ManualClock::at_system_time()));
    let app = netauth_server::app::build_state_with_clock(config, store, master, clock.clone())
        .await
        .expect("state");
    let a = app.clone();
    let task = tokio::spawn(async move {
        netauth_server::app::serve(a, listener).await.expect("serve");
    });
    TestApp {
        base: format!("http://{addr}"),
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client"),
        app,
        db_url,
        master_b64,
        clock,
        owns_db,
        _task: task,
    }
}

/// A registered client with its credentials.
pub struct TestClient {
    pub client_id: String,
    pub secret: Option<String>,
    pub key: Option<Arc<SigningKey>>,
    pub kid: Option<String>,
}

impl TestApp {
    /// Runs this node's revocation-log sync now: the step its background
    /// task repeats every `sync.revocation_interval_ms`, so multi-node tests
    /// need not wait for the next tick.
    pub async fn sync(&self) {
        self.app.sync_revocations().await.expect("revocation sync");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self.http.request(method, self.url(&format!("/admin/v1{path}"))).bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.expect("admin request")
    }

    /// Registers a client through the admin API; `extra` is merged into the
    /// registration (scopes, ttl, …).
    pub async fn create_client(&self, method: &str, extra: Value) -> TestClient {
        let mut body = json!({
            "name": "test client",
            "token_endpoint_auth_method": method,
            "scopes": ["read", "write"],
            "grant_types": ["client_credentials"],
        });
        let (key, kid) = if method == "private_key_jwt" || method == "app_jwt" {
            let alg = if method == "app_jwt" { SigningAlg::RS256 } else { SigningAlg::ES256 };
            let (k, _) = SigningKey::generate(alg).expect("key");
            let mut jwk = k.public_jwk_members();
            let kid = format!("kid-{}", random_name());
            jwk["kid"] = kid.clone().into();
            body["jwks"] = json!({ "keys": [jwk] });
            (Some(Arc::new(k)), Some(kid))
        } else {
            (None, None)
        };
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let resp = self.admin(reqwest::Method::POST, "/clients", Some(body)).await;
        assert_eq!(resp.status(), 201, "create client: {}", resp.text().await.unwrap_or_default());
        let v: Value = resp.json().await.expect("json");
        TestClient {
            client_id: v["client"]["client_id"].as_str().expect("id").to_owned(),
            secret: v["client_secret"].as_str().map(str::to_owned),
            key,
            kid,
        }
    }

    /// POSTs a form to `path` with optional Basic credentials.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut r = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            r = r.basic_auth(id, Some(secret));
        }
        r.send().await.expect("request")
    }

    /// A client-credentials token for a secret-based client.
    pub async fn cc_token(&self, c: &TestClient) -> String {
        let resp = self
            .post_form(
                "/token",
                Some((&c.client_id, c.secret.as_deref().expect("secret"))),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn echo(&self, token: &str) -> reqwest::Response {
        self.http.get(self.url("/sandbox/echo")).bearer_auth(token).send().await.expect("echo")
    }

    pub async fn introspect(&self, c: &TestClient, token: &str) -> Value {
        let resp = self
            .post_form(
                "/introspect",
                Some((&c.client_id, c.secret.as_deref().expect("secret"))),
                &[("token", token)],
            )
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("json")
    }
}

/// An HTTP client whose requests leave from `ip` (any 127.0.0.0/8 address
/// works on loopback): another machine, as the server sees it.
pub fn http_from(ip: &str) -> reqwest::Client {
    let ip: std::net::IpAddr = ip.parse().expect("an IP address");
    reqwest::Client::builder()
        .local_address(ip)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Claims of a `private_key_jwt` assertion for `client_id` at `aud`.
pub fn assertion_claims(client_id: &str, aud: &str) -> Value {
    let now = netauth_server::infra::clock::system_now();
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": random_name(),
    })
}

pub fn sign(c: &TestClient, claims: &Value) -> String {
    c.key.as_ref().expect("key").sign_jwt(c.kid.as_deref(), None, claims)
}

pub async fn error_of(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    (status, v["error"].as_str().unwrap_or("").to_owned(), v)
}

pub fn b64(b: &[u8]) -> String {
    netauth_domain::crypto::b64url(b)
}

/// A compact JWS with an arbitrary header, signed by `key`.
pub fn sign_with_header(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// A compact JWS "signed" with HMAC-SHA256 under `secret`.
pub fn sign_hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let sig = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64(sig.as_ref()))
}

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl TestApp {
    /// Client credentials with a `private_key_jwt` assertion.
    pub async fn cc_with_assertion(&self, assertion: &str) -> reqwest::Response {
        self.post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion),
            ],
        )
        .await
    }

    /// Client credentials with an application JWT (seed 002).
    pub async fn cc_with_app_jwt(&self, jwt: &str) -> reqwest::Response {
        self.http
            .post(self.url("/token"))
            .bearer_auth(jwt)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("request")
    }
}

/// A tiny HTTP server standing in for a client's `jwks_uri`: serves whatever
/// key set it holds and counts the fetches.
pub struct MockJwks {
    pub url: String,
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
    pub set: Arc<std::sync::Mutex<Value>>,
}

pub async fn mock_jwks(initial: Value) -> MockJwks {
    use axum::routing::get;
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let set = Arc::new(std::sync::Mutex::new(initial));
    let (h, s) = (hits.clone(), set.clone());
    let router = axum::Router::new().route(
        "/jwks.json",
        get(move || {
            let (h, s) = (h.clone(), s.clone());
            async move {
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                axum::Json(s.lock().unwrap().clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    MockJwks { url: format!("http://{addr}/jwks.json"), hits, set }
}
