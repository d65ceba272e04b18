//! What happened to each answered request, told once by the middleware in
//! `app.rs` to three listeners: the metrics (every mode), and in sandbox
//! mode the request inspector (`/sandbox/requests`, a bounded ring of the
//! last [`CAPACITY`] exchanges) and one info line per OAuth/CIBA request.
//!
//! Handlers add what only they know through the request's [`Note`]: the
//! client (also when its authentication failed), the grant type, the
//! subscriber a `login_hint` resolved to. Error replies (`OAuthReply`,
//! `ApiReply`) leave their code and description in the response's
//! extensions ([`ErrorNote`]). Nothing secret is ever noted: no secret, no
//! token, no assertion; the sandbox's log is kept apart from production
//! logging (its own tracing target, `netauth::sandbox::requests`, and only
//! in sandbox mode), since it names subscribers' numbers.

use crate::infra::metrics::Labelled;
use crate::routes;
use axum::http::header;
use axum::response::Response;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many exchanges the inspector keeps: a few minutes of a developer's
/// work, a bounded amount of memory (each is a few hundred bytes).
pub const CAPACITY: usize = 500;

/// What handlers learned about the request, filled in as it is answered.
#[derive(Clone, Default, Debug)]
pub struct Note(Arc<Mutex<Noted>>);

#[derive(Clone, Default, Debug)]
pub struct Noted {
    pub client_id: Option<String>,
    pub grant_type: Option<String>,
    /// The subscriber (E.164 number) a `login_hint` resolved to.
    pub subscriber: Option<String>,
    /// The `login_hint` kind (`tel`, `ipport`, `operatortoken`).
    pub hint_kind: Option<String>,
}

impl Note {
    fn with(&self, f: impl FnOnce(&mut Noted)) {
        if let Ok(mut n) = self.0.lock() {
            f(&mut n);
        }
    }
    pub fn client(&self, id: &str) {
        // Bounded: a claimed id can be anything a client sent.
        let id = bounded(id, 128);
        self.with(|n| n.client_id = Some(id));
    }
    pub fn grant_type(&self, g: &str) {
        let g = bounded(g, 128);
        self.with(|n| n.grant_type = Some(g));
    }
    pub fn subscriber(&self, msisdn: &str, hint_kind: &str) {
        self.with(|n| {
            n.subscriber = Some(msisdn.to_owned());
            n.hint_kind = Some(hint_kind.to_owned());
        });
    }
    pub fn get(&self) -> Noted {
        self.0.lock().map(|n| n.clone()).unwrap_or_default()
    }
    /// What was noted, leaving the note empty: for the middleware, once
    /// the response is ready and no handler writes any more.
    pub fn take(&self) -> Noted {
        self.0.lock().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default()
    }
}

/// At most `max` characters of `s` (what a client sent can be anything).
fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => s.get(..end).unwrap_or_default().to_owned(),
        None => s.to_owned(),
    }
}

/// An error reply's code and description, left in the response's
/// extensions for the middleware.
#[derive(Clone, Debug)]
pub struct ErrorNote {
    pub code: String,
    pub description: String,
}

/// One answered request, as the inspector shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Exchange {
    /// Unix time (seconds) it was answered.
    pub at: i64,
    pub method: String,
    /// The path as sent (without the query).
    pub path: String,
    /// The route it matched, e.g. `/token` or `/sandbox/v1/handsets/{msisdn}/prompts`.
    pub endpoint: String,
    pub status: u16,
    pub micros: u64,
    pub client_id: Option<String>,
    pub grant_type: Option<String>,
    /// `ok`, or the error code (`invalid_client`, `INVALID_ARGUMENT`, …).
    pub outcome: String,
    /// The error's description: why.
    pub reason: Option<String>,
    pub subscriber: Option<String>,
    pub hint_kind: Option<String>,
    pub request_id: String,
}

/// The inspector's ring of recent exchanges.
#[derive(Default)]
pub struct RequestLog {
    ring: Mutex<VecDeque<Exchange>>,
}

impl RequestLog {
    pub fn push(&self, e: Exchange) {
        if let Ok(mut r) = self.ring.lock() {
            if r.len() >= CAPACITY {
                r.pop_front();
            }
            r.push_back(e);
        }
    }

    /// Newest first, at most `limit`, only `client_id`'s when given.
    pub fn recent(&self, client_id: Option<&str>, limit: usize) -> Vec<Exchange> {
        let Ok(r) = self.ring.lock() else { return Vec::new() };
        r.iter()
            .rev()
            .filter(|e| client_id.is_none_or(|c| e.client_id.as_deref() == Some(c)))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The client ids seen, sorted, for the inspector's filter.
    pub fn clients(&self) -> Vec<String> {
        let Ok(r) = self.ring.lock() else { return Vec::new() };
        let mut ids: Vec<String> = r.iter().filter_map(|e| e.client_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// The grant type as a metric label: one of the grant types netauth knows,
/// else `other` (the raw value is whatever a client sent).
fn grant_label(g: &str) -> &'static str {
    netauth_proto::GrantType::ALL.iter().find(|k| k.as_str() == g).map_or("other", |k| k.as_str())
}

/// OAuth, OIDC and CIBA protocol endpoints: the ones the sandbox logs at
/// info (`/authorize` only for the answers that are not a page: redirects
/// back to the client and JSON errors).
fn is_oauth(endpoint: &str) -> bool {
    [
        routes::TOKEN,
        routes::G2P_TOKEN,
        routes::AUTHORIZE,
        routes::BC_AUTHORIZE,
        routes::INTROSPECT,
        routes::REVOKE,
        routes::USERINFO,
    ]
    .iter()
    .any(|e| e.paths().any(|p| p == endpoint))
}

/// What the inspector leaves out: pages (a handset page reloading would
/// flood it), operations endpoints, and the inspector's own JSON.
fn inspected(endpoint: &str, resp: &Response) -> bool {
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let ops = [routes::METRICS.path, routes::HEALTHZ.path, routes::READYZ.path, routes::sandbox::REQUESTS];
    !html && !ops.contains(&endpoint)
}

/// Who hears about answered requests. Passed in by the middleware rather
/// than read from the application state, which holds the [`RequestLog`]:
/// this module does not import `state`, so the two form no cycle.
pub struct Listeners<'a> {
    pub metrics: &'a Labelled,
    /// The request inspector: in sandbox mode only.
    pub inspector: Option<&'a RequestLog>,
    /// The time the exchange is recorded with (Unix seconds).
    pub now: i64,
}

/// Tells the listeners what happened to one request (called by the
/// middleware in `app.rs` once the response is ready). The strings are
/// moved in, not copied: this runs on every request.
#[allow(clippy::too_many_arguments, reason = "one call site, the middleware, passes what it measured")]
pub fn record(
    to: Listeners<'_>,
    resp: &Response,
    note: Note,
    method: &str,
    path: String,
    endpoint: String,
    request_id: String,
    micros: u64,
) {
    let n = note.take();
    let status = resp.status().as_u16();
    let error = resp.extensions().get::<ErrorNote>();
    let outcome = match error {
        Some(e) => e.code.clone(),
        None if status < 400 => "ok".to_owned(),
        None => status.to_string(),
    };
    let m = to.metrics;
    m.requests.inc(&[("endpoint", &endpoint), ("outcome", &outcome)]);
    m.latency.observe(&endpoint, micros);
    if let Some(g) = &n.grant_type {
        let g = grant_label(g);
        m.token_requests.inc(&[("grant_type", g), ("outcome", &outcome)]);
        if outcome == "ok" {
            m.tokens_issued.inc(&[("grant_type", g)]);
        }
    }
    let Some(inspector) = to.inspector.filter(|_| inspected(&endpoint, resp)) else {
        return;
    };
    let e = Exchange {
        at: to.now,
        method: method.to_owned(),
        path: if path.len() <= 512 { path } else { bounded(&path, 512) },
        endpoint,
        status,
        micros,
        client_id: n.client_id,
        grant_type: n.grant_type,
        outcome,
        reason: error.map(|e| e.description.clone()),
        subscriber: n.subscriber,
        hint_kind: n.hint_kind,
        request_id,
    };
    if is_oauth(&e.endpoint) {
        tracing::info!(
            target: "netauth::sandbox::requests",
            request_id = %e.request_id,
            method = %e.method,
            endpoint = %e.endpoint,
            status = e.status,
            client_id = e.client_id.as_deref().unwrap_or("-"),
            grant_type = e.grant_type.as_deref().unwrap_or("-"),
            outcome = %e.outcome,
            reason = e.reason.as_deref().unwrap_or("-"),
            subscriber = e.subscriber.as_deref().unwrap_or("-"),
            "sandbox request"
        );
    }
    inspector.push(e);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(client: Option<&str>, at: i64) -> Exchange {
        Exchange {
            at,
            method: "POST".into(),
            path: "/token".into(),
            endpoint: "/token".into(),
            status: 200,
            micros: 1,
            client_id: client.map(str::to_owned),
            grant_type: None,
            outcome: "ok".into(),
            reason: None,
            subscriber: None,
            hint_kind: None,
            request_id: "r".into(),
        }
    }

    #[test]
    fn the_ring_is_bounded_newest_first_and_filters_by_client() {
        let log = RequestLog::default();
        for i in 0..(CAPACITY as i64 + 10) {
            log.push(ex(Some(if i % 2 == 0 { "a" } else { "b" }), i));
        }
        let all = log.recent(None, usize::MAX);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all.first().map(|e| e.at), Some(CAPACITY as i64 + 9));
        assert!(log.recent(Some("a"), 5).iter().all(|e| e.client_id.as_deref() == Some("a")));
        assert_eq!(log.clients(), ["a", "b"]);
        let n = Note::default();
        n.client(&"x".repeat(1000));
        assert_eq!(n.get().client_id.map(|c| c.len()), Some(128));
    }
}
