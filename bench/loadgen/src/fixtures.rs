//! Bench fixtures: bulk data loaded into a running netauth through its own
//! admin API (so they exercise the same code path as any operator's import
//! and need no private access to the database).

use crate::engine::{BoxFuture, Conn, Flow, PhaseOptions, Progress, run_phase};
use crate::target::{Target, authority, host_port};
use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request};
use serde_json::json;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct CreateClients {
    url_path: String,
    auth: HeaderValue,
    scope: String,
    prefix: String,
    created: Mutex<Vec<(u64, String, String)>>,
}

impl Flow for CreateClients {
    fn iteration<'a>(&'a self, i: u64, conn: &'a mut Conn) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let id = format!("{}{i:07}", self.prefix);
            let body = json!({
                "client_id": id,
                "name": format!("bench scale client {i}"),
                "token_endpoint_auth_method": "client_secret_basic",
                "scopes": [self.scope],
                "grant_types": ["client_credentials"],
            });
            let mut req = Request::new(Full::new(Bytes::from(body.to_string())));
            *req.method_mut() = Method::POST;
            if let Ok(uri) = self.url_path.parse() {
                *req.uri_mut() = uri;
            }
            req.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            req.headers_mut().insert(AUTHORIZATION, self.auth.clone());
            if let Some((_, body)) = conn.send(req, Some(b"\"client_secret\"")).await {
                let secret = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["client_secret"].as_str().map(str::to_owned));
                if let Some(s) = secret {
                    self.created.lock().unwrap_or_else(|p| p.into_inner()).push((i, id, s));
                }
            }
            true
        })
    }
}

/// Registers `count` client_secret_basic clients (`PREFIX0000000`, …) through
/// `POST /admin/v1/clients`; optionally writes `id<TAB>secret` lines to `save`
/// (for the `cc-basic-spread` scenario). Fails on any error.
pub async fn clients(
    target: &Target,
    count: u64,
    concurrency: usize,
    prefix: &str,
    save: Option<&Path>,
) -> anyhow::Result<serde_json::Value> {
    let admin = target.admin.as_ref().context("this target has no admin API (the reference server?)")?;
    let addr = host_port(&admin.base_url)?;
    let path = admin.base_url.strip_prefix("http://").unwrap_or(&admin.base_url);
    let path = &path[path.find('/').unwrap_or(path.len())..];
    let flow = Arc::new(CreateClients {
        url_path: format!("{path}/clients"),
        auth: HeaderValue::from_str(&format!("Bearer {}", admin.token))?,
        scope: target.scope.clone(),
        prefix: prefix.to_owned(),
        created: Mutex::new(Vec::with_capacity(usize::try_from(count)?)),
    });
    let t0 = Instant::now();
    let opts =
        PhaseOptions { concurrency, duration: None, max_iterations: Some(count), rate: None, record: false };
    let r = run_phase(flow.clone(), addr, authority(&admin.base_url), opts, Arc::new(Progress::default()))
        .await?;
    let secs = t0.elapsed().as_secs_f64();
    anyhow::ensure!(
        r.stats.errors() == 0,
        "client fixture: {} of {} requests failed (first: {:?})",
        r.stats.errors(),
        r.stats.requests,
        r.stats.error_sample
    );
    let mut created = std::mem::take(&mut *flow.created.lock().unwrap_or_else(|p| p.into_inner()));
    created.sort();
    if let Some(file) = save {
        let mut text = String::with_capacity(created.len() * 72);
        for (_, id, secret) in &created {
            text.push_str(id);
            text.push('\t');
            text.push_str(secret);
            text.push('\n');
        }
        std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(json!({
        "fixture": "clients",
        "created": created.len(),
        "seconds": (secs * 10.0).round() / 10.0,
        "per_second": (created.len() as f64 / secs).round(),
    }))
}

struct CreateSubscribers {
    url_path: String,
    auth: HeaderValue,
    operator: String,
    prefix: String,
}

impl Flow for CreateSubscribers {
    fn iteration<'a>(&'a self, i: u64, conn: &'a mut Conn) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let body =
                json!({ "phone_number": format!("{}{i:07}", self.prefix), "operator_id": self.operator });
            let mut req = Request::new(Full::new(Bytes::from(body.to_string())));
            *req.method_mut() = Method::POST;
            if let Ok(uri) = self.url_path.parse() {
                *req.uri_mut() = uri;
            }
            req.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            req.headers_mut().insert(AUTHORIZATION, self.auth.clone());
            conn.send(req, Some(b"\"msisdn\"")).await;
            true
        })
    }
}

/// The scale scenario's subscribers: an operator `bench` (numbers +3471…,
/// Spanish mobile plan) created with `PUT /admin/v1/operators/bench`, then
/// `count` subscribers `+3471NNNNNNN` through `POST /admin/v1/subscribers`.
/// At most 10,000,000. Fails on any error.
pub async fn subscribers(
    target: &Target,
    count: u64,
    concurrency: usize,
) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(count <= 10_000_000, "at most 10,000,000 subscribers (+3471 and 7 digits)");
    let admin = target.admin.as_ref().context("this target has no admin API (the reference server?)")?;
    let addr = host_port(&admin.base_url)?;
    let path = admin.base_url.strip_prefix("http://").unwrap_or(&admin.base_url);
    let path = &path[path.find('/').unwrap_or(path.len())..];
    let auth = HeaderValue::from_str(&format!("Bearer {}", admin.token))?;
    let operator =
        json!({ "id": "bench", "name": "Bench operator", "country": "ES", "number_ranges": ["+3471"] });
    let mut req = Request::new(Full::new(Bytes::from(operator.to_string())));
    *req.method_mut() = Method::PUT;
    *req.uri_mut() = format!("{path}/operators/bench").parse()?;
    req.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    req.headers_mut().insert(AUTHORIZATION, auth.clone());
    let mut conn = Conn::new(addr, authority(&admin.base_url), false)?;
    conn.send(req, None).await;
    anyhow::ensure!(
        conn.stats.errors() == 0,
        "creating the bench operator failed: {:?} (does this netauth have subscribers yet?)",
        conn.stats.error_sample
    );
    let flow = Arc::new(CreateSubscribers {
        url_path: format!("{path}/subscribers"),
        auth,
        operator: "bench".into(),
        prefix: "+3471".into(),
    });
    let t0 = Instant::now();
    let opts =
        PhaseOptions { concurrency, duration: None, max_iterations: Some(count), rate: None, record: false };
    let r = run_phase(flow, addr, authority(&admin.base_url), opts, Arc::new(Progress::default())).await?;
    let secs = t0.elapsed().as_secs_f64();
    anyhow::ensure!(
        r.stats.errors() == 0,
        "subscriber fixture: {} of {} requests failed (first: {:?})",
        r.stats.errors(),
        r.stats.requests,
        r.stats.error_sample
    );
    Ok(json!({
        "fixture": "subscribers",
        "requested": count,
        "loaded": r.stats.ok,
        "seconds": (secs * 10.0).round() / 10.0,
        "per_second": (r.stats.ok as f64 / secs).round(),
    }))
}

/// Bulk loading straight into the Store (`--database-url`), in transactions
/// of `BATCH` rows through `insert_clients` / `insert_subscribers`, with the
/// records built by the same functions the admin API uses
/// (`manage::build_client`, `admin_network::build_subscriber`). The admin
/// API creates one record per request and re-reads the revocation log after
/// each (docs/benchmarks.md): ~200 clients/s, too slow for 100,000.
pub mod direct {
    use anyhow::Context;
    use netauth_server::admin::manage::{NewClient, build_client};
    use netauth_server::admin::network::{SubscriberInput, build_subscriber};
    use serde_json::json;
    use std::path::Path;
    use std::time::Instant;

    const BATCH: u64 = 5000;

    fn now() -> i64 {
        netauth_server::infra::clock::system_now()
    }

    fn report(what: &str, n: u64, t0: Instant) -> serde_json::Value {
        let secs = t0.elapsed().as_secs_f64();
        json!({
            "fixture": what,
            "via": "store (bulk)",
            "created": n,
            "loaded": n,
            "seconds": (secs * 10.0).round() / 10.0,
            "per_second": (n as f64 / secs).round(),
        })
    }

    /// `count` client_secret_basic clients `PREFIX0000000…`; `save` gets
    /// `id<TAB>secret` lines.
    pub async fn clients(
        database_url: &str,
        scope: &str,
        count: u64,
        prefix: &str,
        save: Option<&Path>,
    ) -> anyhow::Result<serde_json::Value> {
        let store = netauth_store::connect(database_url, 2).await.context("opening the database")?;
        let t0 = Instant::now();
        let mut saved = String::new();
        let mut i = 0;
        while i < count {
            let n = BATCH.min(count - i);
            let mut batch = Vec::with_capacity(usize::try_from(n)?);
            for k in i..i + n {
                let req: NewClient = serde_json::from_value(json!({
                    "client_id": format!("{prefix}{k:07}"),
                    "name": format!("bench scale client {k}"),
                    "token_endpoint_auth_method": "client_secret_basic",
                    "scopes": [scope],
                    "grant_types": ["client_credentials"],
                }))?;
                let (client, secret) =
                    build_client(req, 86_400, now()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                if save.is_some() {
                    saved.push_str(&client.client_id);
                    saved.push('\t');
                    saved.push_str(secret.context("a client_secret_basic client without a secret")?.expose());
                    saved.push('\n');
                }
                batch.push(client);
            }
            store.insert_clients(&batch).await.context("inserting clients")?;
            i += n;
        }
        if let Some(f) = save {
            std::fs::write(f, saved).with_context(|| format!("writing {}", f.display()))?;
        }
        Ok(report("clients", count, t0))
    }

    /// The `bench` operator and `count` subscribers `+3471NNNNNNN`.
    pub async fn subscribers(database_url: &str, count: u64) -> anyhow::Result<serde_json::Value> {
        anyhow::ensure!(count <= 10_000_000, "at most 10,000,000 subscribers (+3471 and 7 digits)");
        let store = netauth_store::connect(database_url, 2).await.context("opening the database")?;
        let op = serde_json::from_value(json!({
            "id": "bench", "name": "Bench operator", "country": "ES", "number_ranges": ["+3471"],
        }))?;
        store.upsert_operator(&op).await.context("creating the bench operator")?;
        let t0 = Instant::now();
        let created = now();
        let mut i = 0;
        while i < count {
            let n = BATCH.min(count - i);
            let mut batch = Vec::with_capacity(usize::try_from(n)?);
            for k in i..i + n {
                let input: SubscriberInput = serde_json::from_value(json!({
                    "phone_number": format!("+3471{k:07}"),
                    "operator_id": "bench",
                }))?;
                batch.push(build_subscriber(input, None, created).map_err(|e| anyhow::anyhow!("{:?}", e.0))?);
            }
            store.insert_subscribers(&batch).await.context("inserting subscribers")?;
            i += n;
        }
        Ok(report("subscribers", count, t0))
    }
}
