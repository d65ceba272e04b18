//! Building the application: state, router, middleware, background tasks,
//! and serving with graceful shutdown.

use crate::infra::clock::{Clock, SystemClock};
use crate::infra::config::Config;
use crate::infra::jwks_cache::JwksCache;
use crate::infra::limiter::FailureLimiter;
use crate::infra::metrics::Metrics;
use crate::infra::ops;
use crate::infra::state::{App, AppState, ClientCache};
use crate::{admin, oauth, routes, sandbox};
use anyhow::Context;
use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use netauth_domain::keys::{KeyRing, MasterKey};
use netauth_domain::revocation::RevocationSet;
use netauth_store::Store;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// Builds the shared state: keys (generated on first start), revocations.
pub async fn build_state(
    config: Config,
    store: Arc<dyn Store>,
    master: MasterKey,
) -> anyhow::Result<AppState> {
    build_state_with_clock(config, store, master, Arc::new(SystemClock)).await
}

/// [`build_state`] with a given clock (tests drive a `ManualClock`).
pub async fn build_state_with_clock(
    config: Config,
    store: Arc<dyn Store>,
    master: MasterKey,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    // Every Store call is counted, per method (`/metrics`).
    let (store, store_calls) = netauth_store::counted::counted(store);
    let t = clock.now();
    crate::infra::keys::ensure_keys(store.as_ref(), &master, t).await?;
    let rows = store.list_keys().await?;
    let ring = KeyRing::build(&master, &rows, t).context("loading keys (is this the right master key?)")?;
    let ca = &config.client_auth;
    let log_names = crate::infra::pseudonym::LogNames::new(&master, config.sandbox.enabled);
    let app = Arc::new(App {
        issuer: config.issuer(),
        keys: ArcSwap::from_pointee(ring),
        keys_reload: tokio::sync::Mutex::new(()),
        revocations: RwLock::new(RevocationSet::default()),
        clients: ClientCache::new(Duration::from_secs(ca.client_cache_secs)),
        cors_origins: crate::infra::cors::OriginCache::new(Duration::from_secs(ca.client_cache_secs)),
        legal_bases: crate::infra::legal_bases::LegalBasesCache::new(Duration::from_secs(
            ca.client_cache_secs,
        )),
        jwks: JwksCache::new(
            Duration::from_secs(ca.jwks_cache_secs),
            Duration::from_secs(ca.jwks_refresh_min_secs),
            Duration::from_secs(ca.jwks_fetch_timeout_secs),
        ),
        limiter: FailureLimiter::new(
            ca.max_failures_per_client_address,
            ca.max_failures_per_address,
            config.admin.max_failures_per_address,
        ),
        api_limits: crate::infra::api_limits::ApiLimiter::new(&config.camara),
        metrics: Metrics::with_store_calls(store_calls),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("netauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?,
        network: Arc::new(crate::network::SandboxNetwork {
            store: store.clone(),
            log_names: log_names.clone(),
            sim_monitored_days: (config.camara.sim_swap_monitored_days > 0)
                .then_some(config.camara.sim_swap_monitored_days),
        }),
        log_names,
        entitlement: Arc::new(crate::network::SandboxEntitlementServer { store: store.clone() }),
        jti: crate::infra::jti_writer::JtiWriter::spawn(store.clone()),
        store,
        master,
        config,
        clock,
        requests: Default::default(),
        sandbox_description: Default::default(),
    });
    // Start from the whole live log so revocations made before this node
    // started are honoured.
    app.sync_revocations().await?;
    Ok(app)
}

fn route(mut r: Router<AppState>, e: routes::Endpoint, m: MethodRouter<AppState>) -> Router<AppState> {
    for p in e.paths() {
        r = r.route(p, m.clone());
    }
    r
}

/// Request ids, unless the caller sent one: 48 random bits drawn once per
/// process, then a 48-bit count, as 16 URL-safe characters. Unique across
/// nodes and restarts (the random part) without drawing randomness per
/// request, which cost more than the rest of the id; a request id
/// correlates log lines and carries no authority, so being guessable does
/// no harm (a caller may choose its own).
#[derive(Clone, Copy)]
struct RandomRequestId;
impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        static PREFIX: std::sync::OnceLock<[u8; 6]> = std::sync::OnceLock::new();
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let prefix = PREFIX.get_or_init(netauth_domain::crypto::random_bytes::<6>);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_be_bytes();
        let mut id = [0u8; 12];
        id[..6].copy_from_slice(prefix);
        id[6..].copy_from_slice(&n[2..]);
        HeaderValue::from_str(&netauth_domain::crypto::b64url(&id)).ok().map(RequestId::new)
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Counts and times every response; logs each request at debug level; and
/// tells `infra::request_log` what happened (labelled metrics, and in the
/// sandbox the request inspector and one info line per OAuth/CIBA request).
async fn observe(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // The route template, not the path: bounded label values.
    let endpoint = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let note = crate::infra::request_log::Note::default();
    req.extensions_mut().insert(note.clone());
    // CORS runs here rather than as a layer of its own: each `from_fn`
    // layer clones the router beneath it on every request.
    let resp = crate::infra::cors_layer::cors(&app, req, next).await;
    let micros = start.elapsed().as_micros() as u64;
    let status = resp.status().as_u16();
    app.metrics.observe(status, micros);
    // Production logs name no subscriber (infra::pseudonym); the sandbox's
    // request log, kept apart, is in clear.
    let log_path = app.log_names.path(&path);
    tracing::debug!(request_id = %id, %method, path = %log_path, status, micros, "request");
    let listeners = crate::infra::request_log::Listeners {
        metrics: &app.metrics.labelled,
        inspector: app.sandbox().then_some(&app.requests),
        now: app.now(),
    };
    crate::infra::request_log::record(listeners, &resp, note, method.as_str(), path, endpoint, id, micros);
    resp
}

async fn not_found() -> impl IntoResponse {
    crate::errors::ApiReply(netauth_proto::CamaraError::not_found("no such endpoint"))
}

/// The router with every endpoint and middleware.
pub fn router(app: AppState) -> Router {
    let mut r = Router::new();
    r = route(r, routes::OPENID_CONFIGURATION, get(oauth::discovery::openid_configuration_get));
    r = route(r, routes::OAUTH_METADATA, get(oauth::discovery::openid_configuration_get));
    r = route(r, routes::JWKS, get(oauth::discovery::jwks_get));
    r = route(r, routes::TOKEN, post(oauth::token::token_post));
    r = route(r, routes::G2P_TOKEN, post(oauth::token::g2p_token_post));
    r = route(r, routes::BC_AUTHORIZE, post(oauth::ciba::bc_authorize_post));
    r = route(r, routes::NETWORK_ENABLEMENT, post(oauth::network_enablement::network_enablement_post));
    r = route(r, routes::USERINFO, get(oauth::userinfo::userinfo_get).post(oauth::userinfo::userinfo_post));
    r = route(r, routes::INTROSPECT, post(oauth::introspect::introspect_post));
    r = route(r, routes::REVOKE, post(oauth::introspect::revoke_post));
    r = route(r, routes::OAUTH_OPENAPI, get(oauth::openapi::openapi_get));
    r = route(r, routes::HEALTHZ, get(ops::healthz_get));
    r = route(r, routes::READYZ, get(ops::readyz_get));
    r = route(r, routes::METRICS, get(ops::metrics_get));
    r = r.merge(admin::router());
    r = r.merge(crate::camara::router());
    r = r.merge(oauth::authorize::router());
    if app.sandbox() {
        r = route(r, routes::SANDBOX_ECHO, get(sandbox::echo_get));
        r = route(r, routes::SANDBOX_OPENAPI, get(sandbox::openapi::openapi_get));
        r = r.merge(sandbox::api::router()).merge(sandbox::pages::router());
    }
    let limits = &app.config.server;
    r.fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
        .layer(axum::extract::DefaultBodyLimit::max(limits.request_body_limit))
        // Nothing is cacheable unless its handler says so (discovery, JWKS):
        // tokens, errors, admin answers carrying secrets, operator tokens,
        // echoed claims (SECURITY.md "Everywhere", RFC 6749 §5.1).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .with_state(app)
}

/// Keeps the node's views of shared state current: revocations every
/// `sync.revocation_interval_ms`, keys every `keys.reload_interval_secs`,
/// expired rows deleted every `sync.janitor_interval_secs`.
pub fn spawn_background(app: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let a = app.clone();
    tasks.push(tokio::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_millis(a.config.sync.revocation_interval_ms));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            t.tick().await;
            if let Err(e) = a.sync_revocations().await {
                tracing::warn!(error = %e, "revocation sync failed");
            }
        }
    }));
    let a = app.clone();
    tasks.push(tokio::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_secs(a.config.keys.reload_interval_secs));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            t.tick().await;
            if let Err(e) = a.reload_keys().await {
                tracing::warn!(error = %e, "key reload failed");
            }
        }
    }));
    let a = app.clone();
    tasks.push(tokio::spawn(async move {
        let mut t = tokio::time::interval(Duration::from_secs(a.config.sync.janitor_interval_secs));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            t.tick().await;
            match a.store.purge_expired(a.now()).await {
                Ok(p) if p != netauth_store::Purged::default() => {
                    tracing::info!(?p, "janitor purged expired rows")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "janitor failed"),
            }
        }
    }));
    tasks
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish for
/// up to `server.shutdown_grace_secs`. Over TLS when `[tls]` is configured.
pub async fn serve(app: AppState, listener: TcpListener) -> anyhow::Result<()> {
    let tls = load_tls(&app.config)?;
    serve_on(app, vec![(listener, tls)]).await
}

/// The certificate from `[tls]`, when configured.
pub fn load_tls(config: &Config) -> anyhow::Result<Option<Arc<crate::infra::tls::Tls>>> {
    if !config.tls.enabled() {
        return Ok(None);
    }
    Ok(Some(Arc::new(crate::infra::tls::Tls::load(&config.tls)?)))
}

/// [`serve`] on several listeners, each plain or TLS (the sandbox's
/// `--http-listen` beside its HTTPS one). Each has its own connection caps.
pub async fn serve_on(
    app: AppState,
    listeners: Vec<(TcpListener, Option<Arc<crate::infra::tls::Tls>>)>,
) -> anyhow::Result<()> {
    let mut tasks = spawn_background(&app);
    for tls in listeners.iter().filter_map(|(_, t)| t.clone()) {
        tasks.push(tokio::spawn(reload_on_sighup(tls)));
    }
    let grace = Duration::from_secs(app.config.server.shutdown_grace_secs);
    let s = &app.config.server;
    let limits = crate::infra::conn::ConnLimits {
        header_read_timeout: Duration::from_secs(s.header_read_timeout_secs),
        idle_timeout: Duration::from_secs(s.idle_timeout_secs),
        max_connections: s.max_connections,
        max_connections_per_address: s.max_connections_per_address,
        trusted_proxies: s.trusted_proxies.clone(),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_tx.send(true);
        let _ = tx.send(());
    });
    let servers: Vec<_> = listeners
        .into_iter()
        .map(|(listener, tls)| {
            let mut stop = stop_rx.clone();
            tokio::spawn(crate::infra::conn::serve_connections(
                listener,
                tls,
                router(app.clone()),
                limits.clone(),
                app.clone(),
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            ))
        })
        .collect();
    // Past the grace period the remaining connections are dropped with them.
    let aborts: Vec<_> = servers.iter().map(|s| s.abort_handle()).collect();
    let all = async {
        for s in servers {
            let _ = s.await;
        }
    };
    tokio::select! {
        () = all => {}
        _ = async { let _ = rx.await; tokio::time::sleep(grace).await } => {
            tracing::warn!("grace period over; closing remaining connections");
        }
    }
    for t in tasks {
        t.abort();
    }
    for s in aborts {
        s.abort();
    }
    Ok(())
}

/// Reads the TLS certificate and key again on each SIGHUP (certificate
/// rotation without a restart); a failed reload keeps the one in use.
async fn reload_on_sighup(tls: Arc<crate::infra::tls::Tls>) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot watch SIGHUP: the TLS certificate is reloaded only by a restart");
            return;
        };
        while hup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "TLS reload failed; keeping the certificate in use")
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tls;
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
