//! The scenario runner: a `World` per feature (a running sandbox with the
//! demo network, a three-legged CIBA client and a two-legged
//! client-credentials client), the tokens scenarios ask for, minted
//! through real flows, and the request/answer steps of the CAMARA test
//! definitions:
//!
//! ```text
//! Given a token (World::token_*)  ─►  When the request is sent (World::post/get … .send())
//!   ─►  Then the answer (Answer::status, property, error, correlator echoed)
//! ```
//!
//! A feature runs its scenarios in order on one World, printing each
//! scenario's tag first, so a failure names the scenario it is in.

use crate::ciba::{CIBA, bc_ok, ciba_app, poll};
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

pub const FRAUD: &str = "dpv:FraudPreventionAndDetection";

/// Every CAMARA scope, for the clients the World registers.
pub const ALL_SCOPES: &[&str] = &[
    "sim-swap",
    "sim-swap:check",
    "sim-swap:retrieve-date",
    "number-verification:verify",
    "number-verification:device-phone-number:read",
];

pub struct World {
    pub app: TestApp,
    /// CIBA (poll), client_secret_basic, every CAMARA scope and purpose.
    pub three_legged: TestClient,
    /// client_credentials, client_secret_basic, every CAMARA scope.
    pub two_legged: TestClient,
}

/// Prints the scenario's CAMARA tag, so a failure below names it.
pub fn scenario(tag: &str) {
    eprintln!("  Scenario: {tag}");
}

impl World {
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(
        tweak: impl FnOnce(&mut netauth_server::infra::config::Config) + Send + 'static,
    ) -> Self {
        let app = ciba_app(tweak).await;
        Self::on(app).await
    }

    /// A World on an app already running (e.g. a second node).
    pub async fn on(app: TestApp) -> Self {
        let three_legged = app
            .create_client(
                "client_secret_basic",
                json!({
                    "grant_types": [CIBA, "refresh_token"],
                    "scopes": ALL_SCOPES,
                    "purposes": [FRAUD, "dpv:IdentityVerification", "dpv:RequestedServiceProvision"],
                }),
            )
            .await;
        let two_legged = app
            .create_client(
                "client_secret_basic",
                json!({ "grant_types": ["client_credentials"], "scopes": ALL_SCOPES }),
            )
            .await;
        Self { app, three_legged, two_legged }
    }

    /// The token response of a CIBA flow for `hint` with `scope` (purpose
    /// included, or `dpv:FraudPreventionAndDetection` added), approved at
    /// once by the sandbox (legal basis, or an auto-approving handset).
    pub async fn ciba(&self, hint: &str, scope: &str) -> Value {
        let scope = if scope.contains("dpv:") { scope.to_owned() } else { format!("{FRAUD} {scope}") };
        let id = bc_ok(&self.app, &self.three_legged, &[("login_hint", hint), ("scope", &scope)]).await;
        let (status, tok) = poll(&self.app, &self.three_legged, &id).await;
        assert_eq!(status, 200, "CIBA token: {tok}");
        tok
    }

    /// Three-legged, identified by the number the client gave (`tel:`): NOT
    /// network-authenticated.
    pub async fn token_tel(&self, msisdn: &str, scope: &str) -> String {
        access_token(&self.ciba(&format!("tel:{msisdn}"), scope).await)
    }

    /// An operator token from the sandbox's entitlement server, as an app
    /// on the subscriber's device would get it (TS.43).
    pub async fn operator_token(&self, msisdn: &str) -> String {
        let resp = self
            .app
            .http
            .post(self.app.url("/sandbox/v1/operator-tokens"))
            .json(&json!({ "phoneNumber": msisdn }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.unwrap()["operator_token"].as_str().unwrap().to_owned()
    }

    /// Three-legged and network-authenticated: CIBA with an
    /// `operatortoken:` hint (amr `nba`).
    pub async fn token_network(&self, msisdn: &str, scope: &str) -> String {
        let ot = self.operator_token(msisdn).await;
        access_token(&self.ciba(&format!("operatortoken:{ot}"), scope).await)
    }

    /// Two-legged: client_credentials.
    pub async fn token_2legged(&self, scope: &str) -> String {
        let c = &self.two_legged;
        let resp = self
            .app
            .post_form(
                "/token",
                Some((&c.client_id, c.secret.as_deref().unwrap())),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        let v: Value = resp.json().await.unwrap();
        access_token(&v)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        Call::new(self, Method::POST, path)
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        Call::new(self, Method::GET, path)
    }

    /// Moves the server's clock (never sleep).
    pub fn advance(&self, secs: i64) {
        self.app.clock.advance_secs(secs);
    }

    pub fn now(&self) -> i64 {
        self.app.app.now()
    }

    /// Swaps the subscriber's SIM on the simulated network, `hours_ago`.
    pub async fn swap_sim(&self, msisdn: &str, hours_ago: i64) -> Value {
        let at = netauth_proto::time::format_rfc3339(self.now() - hours_ago * 3600);
        let resp = self
            .app
            .http
            .post(self.app.url(&format!("/sandbox/v1/subscribers/{msisdn}/sim-swap")))
            .json(&json!({ "at": at }))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{v}");
        v
    }

    pub async fn set_status(&self, msisdn: &str, status: &str) {
        let path = format!("/subscribers/{msisdn}");
        let mut s: Value = self.app.admin(Method::GET, &path, None).await.json().await.unwrap();
        let input = json!({
            "phone_number": s["msisdn"], "operator_id": s["operator_id"], "status": status,
            "sims": s["sims"].take(), "addresses": s["addresses"].take(), "handset_policy": s["handset_policy"],
        });
        let resp = self.app.admin(Method::PUT, &path, Some(input)).await;
        assert_eq!(resp.status(), 200);
    }
}

pub fn access_token(v: &Value) -> String {
    v["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {v}")).to_owned()
}

/// A request being built: `When the request … is sent`.
pub struct Call<'a> {
    world: &'a World,
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<(String, Vec<u8>)>,
    headers: Vec<(String, String)>,
}

pub const CORRELATOR: &str = "b4333c46-49c0-4f62-80d7-f0ef930f1c46";

impl<'a> Call<'a> {
    pub fn method(world: &'a World, method: Method, path: &str) -> Self {
        Self::new(world, method, path)
    }

    fn new(world: &'a World, method: Method, path: &str) -> Self {
        // Background of every CAMARA feature: a compliant x-correlator.
        Self {
            world,
            method,
            path: path.to_owned(),
            token: None,
            body: None,
            headers: vec![("x-correlator".into(), CORRELATOR.into())],
        }
    }

    pub fn token(mut self, t: &str) -> Self {
        self.token = Some(t.to_owned());
        self
    }

    pub fn json(mut self, v: Value) -> Self {
        self.body = Some(("application/json".into(), v.to_string().into_bytes()));
        self
    }

    pub fn raw(mut self, content_type: &str, body: &str) -> Self {
        self.body = Some((content_type.into(), body.as_bytes().to_vec()));
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn without_header(mut self, k: &str) -> Self {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
        self
    }

    pub async fn send(self) -> Answer {
        let mut r = self.world.app.http.request(self.method, self.world.app.url(&self.path));
        if let Some(t) = &self.token {
            r = r.bearer_auth(t);
        }
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        if let Some((ct, b)) = self.body {
            r = r.header("content-type", ct).body(b);
        }
        let sent_correlator =
            self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-correlator")).map(|(_, v)| v.clone());
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text, sent_correlator }
    }
}

/// The answer: `Then …`.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
    sent_correlator: Option<String>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The response status code is `status`, with a JSON body, and the
    /// x-correlator sent is echoed (a valid one: an invalid one is refused).
    pub fn status(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert!(
            self.header("content-type").is_some_and(|c| c.starts_with("application/json")),
            "Content-Type of {}: {:?}",
            self.text,
            self.header("content-type")
        );
        let valid = |c: &&String| netauth_server::camara::call::is_valid_correlator(c.as_bytes());
        if let Some(c) = self.sent_correlator.as_ref().filter(valid) {
            assert_eq!(self.header("x-correlator"), Some(c.as_str()), "x-correlator echoed");
        }
        self
    }

    /// The response property at `pointer` (JSON pointer) is `value`.
    pub fn property(&self, pointer: &str, value: Value) -> &Self {
        assert_eq!(self.body.pointer(pointer), Some(&value), "{pointer} in {}", self.text);
        self
    }

    /// The answer is exactly `body`.
    pub fn body(&self, body: Value) -> &Self {
        assert_eq!(self.body, body);
        self
    }

    /// The response status code is `status`, and the body is the CAMARA
    /// `{status, code, message}` with this code and a message.
    pub fn error(&self, status: u16, code: &str) -> &Self {
        self.status(status);
        assert_eq!(self.body["status"], json!(status), "$.status in {}", self.text);
        assert_eq!(self.body["code"], json!(code), "$.code in {}", self.text);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()), "$.message in {}", self.text);
        assert_eq!(self.body.as_object().map(|o| o.len()), Some(3), "only status, code, message");
        self
    }
}
