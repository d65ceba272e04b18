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

/// HOOK(subscribers): the scale scenario's 1,000,000 subscribers. netauth has
/// no subscriber store yet (subscribers arrive with the CIBA issue); when it
/// does, load them here (through the admin or sandbox API, as for clients)
/// and return `"loaded": count`. Until then this reports that nothing was
/// loaded, and bench/run prints the scale figure as "clients only".
pub async fn subscribers(_target: &Target, count: u64) -> anyhow::Result<serde_json::Value> {
    Ok(json!({
        "fixture": "subscribers",
        "requested": count,
        "loaded": 0,
        "skipped": "netauth has no subscriber store yet (arrives with the CIBA issue): hook in bench/loadgen/src/fixtures.rs",
    }))
}
