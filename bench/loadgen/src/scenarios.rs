//! The benchmark scenarios: each a real request sequence, the same on every
//! server (only paths and credentials come from the Target).
//!
//! | scenario         | one iteration                                                      |
//! |------------------|--------------------------------------------------------------------|
//! | `floor`          | GET the server's cheapest endpoint                                 |
//! | `cc-basic`       | POST token, client_credentials, client_secret_basic                |
//! | `cc-jwt`         | POST token, client_credentials, private_key_jwt (ES256, fresh jti) |
//! | `introspect`     | POST introspect (Basic) of one of 256 valid tokens of that client  |
//! | `cc-basic-spread`| `cc-basic`, rotating over the fixture's clients (scale runs)       |
//! | `ciba`           | POST bc-authorize (Basic), then POST token with its auth_req_id    |
//! | `sim-swap`       | POST /sim-swap/v2/check with a two-legged (client_credentials) token |
//! | `number-verification` | operator token → CIBA (bc-authorize, token) → POST /verify     |
//!
//! `ciba` uses a subscriber whose handset approves at once, so the first
//! poll gets the token: one iteration is two requests (a flow).
//! `number-verification` is a flow of four: the sandbox's entitlement server
//! issues an operator token (what the app on the device would get), CIBA
//! with `login_hint=operatortoken:…` gives a network-authenticated,
//! single-use token, and `/verify` spends it (netauth only: the reference
//! serves no resource API; until the JWT bearer grant exists, CIBA is the
//! token source).
//!
//! Room for the later issues' flows: add a variant to [`Scenario`] and a
//! [`Sequence`] of steps: `code-flow` (authorize → consent → code exchange), `refresh`.

use crate::engine::{BoxFuture, Conn, Flow, contains};
use crate::jwt::Signer;
use crate::target::Target;
use anyhow::{Context, bail};
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Uri};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Floor,
    CcBasic,
    CcJwt,
    Introspect,
    CcBasicSpread,
    Ciba,
    SimSwap,
    NumberVerification,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::CcBasic => "cc-basic",
            Self::CcJwt => "cc-jwt",
            Self::Introspect => "introspect",
            Self::CcBasicSpread => "cc-basic-spread",
            Self::Ciba => "ciba",
            Self::SimSwap => "sim-swap",
            Self::NumberVerification => "number-verification",
        }
    }

    /// Whether each iteration consumes pre-generated material (so the pool
    /// must be sized from the expected request count).
    pub fn pooled(self) -> bool {
        matches!(self, Self::CcJwt)
    }
}

/// A request to send, again and again: its parts are cheap to clone.
#[derive(Clone)]
pub struct Template {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Template {
    fn new(method: Method, path: &str, headers: HeaderMap, body: impl Into<Bytes>) -> anyhow::Result<Self> {
        Ok(Self { method, uri: path.parse().context("request path")?, headers, body: body.into() })
    }

    pub fn request(&self) -> Request<Full<Bytes>> {
        self.request_with(self.body.clone())
    }

    pub fn request_with(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut r = Request::new(Full::new(body));
        *r.method_mut() = self.method.clone();
        *r.uri_mut() = self.uri.clone();
        *r.headers_mut() = self.headers.clone();
        r
    }
}

/// Requests taken in turn: `templates[i % n]` (or, without `wrap`, each
/// once and then the end of the flow), bodies from `bodies` when present.
pub struct Rotate {
    templates: Vec<Template>,
    bodies: Vec<Bytes>,
    wrap: bool,
    expect: Option<&'static [u8]>,
}

impl Flow for Rotate {
    fn iteration<'a>(&'a self, i: u64, conn: &'a mut Conn) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let n = self.templates.len().max(self.bodies.len()) as u64;
            if n == 0 || (!self.wrap && i >= n) {
                return false;
            }
            let k = (i % n) as usize;
            let t = &self.templates[k % self.templates.len()];
            let req = match self.bodies.get(k) {
                Some(b) => t.request_with(b.clone()),
                None => t.request(),
            };
            conn.send(req, self.expect).await;
            true
        })
    }
}

/// One step of a [`Sequence`]: the next request, built from the previous
/// answer's body (empty for the first step); None ends the iteration.
pub type Step = Box<dyn Fn(&[u8]) -> Option<Request<Full<Bytes>>> + Send + Sync>;

/// A multi-step flow: each step's request may use the previous answer (an
/// `auth_req_id`, a `code`), and its answer must contain the step's expected
/// bytes. A failed step ends the iteration (the rest is not sent).
pub struct Sequence {
    pub steps: Vec<(Step, Option<&'static [u8]>)>,
}

impl Flow for Sequence {
    fn iteration<'a>(&'a self, _i: u64, conn: &'a mut Conn) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            let mut prev = Bytes::new();
            for (step, expect) in &self.steps {
                let Some(req) = step(&prev) else { break };
                match conn.send(req, *expect).await {
                    Some((s, body)) if s.is_success() && expect.is_none_or(|e| contains(&body, e)) => {
                        prev = body
                    }
                    _ => break,
                }
            }
            true
        })
    }
}

fn basic_auth(id: &str, secret: &str) -> anyhow::Result<HeaderValue> {
    // RFC 6749 §2.3.1: form-encode, then base64. Our ids and secrets are
    // URL-safe already; refuse the others rather than encode them wrongly.
    let safe = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !safe(id) || !safe(secret) {
        bail!("client id or secret needs form-encoding; not supported by the load generator");
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    Ok(HeaderValue::from_str(&format!("Basic {b64}"))?)
}

fn form_headers(auth: Option<HeaderValue>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    if let Some(a) = auth {
        h.insert(AUTHORIZATION, a);
    }
    h
}

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn cc_body(scope: &str) -> String {
    format!("grant_type=client_credentials&scope={}", enc(scope))
}

const TOKEN_OK: &[u8] = b"\"access_token\"";
const ACTIVE: &[u8] = b"\"active\":true";
const AUTH_REQ_ID: &[u8] = b"\"auth_req_id\"";
const OPERATOR_TOKEN: &[u8] = b"\"operator_token\"";
const SWAPPED: &[u8] = b"\"swapped\"";
const VERIFIED: &[u8] = b"\"devicePhoneNumberVerified\":true";

fn json_headers(auth: Option<HeaderValue>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(a) = auth {
        h.insert(AUTHORIZATION, a);
    }
    h
}

fn bearer(token: &str) -> anyhow::Result<HeaderValue> {
    Ok(HeaderValue::from_str(&format!("Bearer {token}"))?)
}

/// What a scenario needs besides the Target.
#[derive(Debug, Clone, Default)]
pub struct PrepareOptions {
    /// How many distinct iterations the pooled scenarios should prepare.
    pub budget: u64,
    /// `cc-basic-spread`: the fixture's credentials (`client_id<TAB>secret` lines).
    pub clients_file: Option<PathBuf>,
}

/// Builds the flow of `scenario` against `target`. May talk to the server
/// (introspection first obtains tokens to introspect).
pub async fn prepare(
    scenario: Scenario,
    target: &Target,
    opts: &PrepareOptions,
) -> anyhow::Result<Arc<dyn Flow>> {
    let basic = || basic_auth(&target.basic.client_id, &target.basic.client_secret);
    Ok(match scenario {
        Scenario::Floor => Arc::new(Rotate {
            templates: vec![Template::new(Method::GET, &target.floor_path, HeaderMap::new(), "")?],
            bodies: vec![],
            wrap: true,
            expect: None,
        }),
        Scenario::CcBasic => Arc::new(Rotate {
            templates: vec![Template::new(
                Method::POST,
                &target.token_path,
                form_headers(Some(basic()?)),
                cc_body(&target.scope),
            )?],
            bodies: vec![],
            wrap: true,
            expect: Some(TOKEN_OK),
        }),
        Scenario::CcBasicSpread => {
            let file = opts.clients_file.as_ref().context("cc-basic-spread needs --clients-file")?;
            let text =
                std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let mut templates = Vec::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let (id, secret) = line.split_once('\t').context("clients file: id<TAB>secret lines")?;
                templates.push(Template::new(
                    Method::POST,
                    &target.token_path,
                    form_headers(Some(basic_auth(id, secret)?)),
                    cc_body(&target.scope),
                )?);
            }
            anyhow::ensure!(!templates.is_empty(), "{}: no clients", file.display());
            Arc::new(Rotate { templates, bodies: vec![], wrap: true, expect: Some(TOKEN_OK) })
        }
        Scenario::CcJwt => {
            let k = &target.jwt;
            let signer = Signer::new(&k.private_key_file, &k.kid, &k.alg, &k.client_id, &target.issuer)?;
            let n = usize::try_from(opts.budget.max(1))?;
            let t0 = std::time::Instant::now();
            let assertions = tokio::task::spawn_blocking(move || signer.sign_many(0, n)).await??;
            eprintln!("loadgen: signed {n} ES256 assertions in {:.1}s", t0.elapsed().as_secs_f64());
            let prefix = format!(
                "{}&client_id={}&client_assertion_type={}&client_assertion=",
                cc_body(&target.scope),
                enc(&k.client_id),
                enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            );
            let bodies = assertions.into_iter().map(|a| Bytes::from(format!("{prefix}{a}"))).collect();
            Arc::new(Rotate {
                templates: vec![Template::new(Method::POST, &target.token_path, form_headers(None), "")?],
                bodies,
                wrap: false,
                expect: Some(TOKEN_OK),
            })
        }
        Scenario::Ciba => {
            let c =
                target.ciba.as_ref().context("the target has no CIBA client (`ciba` in its target.json)")?;
            let headers = form_headers(Some(basic_auth(&c.client_id, &c.client_secret)?));
            let bc = Template::new(
                Method::POST,
                &c.bc_authorize_path,
                headers.clone(),
                format!("login_hint={}&scope={}", enc(&c.login_hint), enc(&c.scope)),
            )?;
            let token = Template::new(Method::POST, &target.token_path, headers, "")?;
            let first: Step = Box::new(move |_| Some(bc.request()));
            let poll: Step = Box::new(move |prev| {
                let v: serde_json::Value = serde_json::from_slice(prev).ok()?;
                let id = v["auth_req_id"].as_str()?;
                let body = format!(
                    "grant_type={}&auth_req_id={}",
                    enc("urn:openid:params:grant-type:ciba"),
                    enc(id)
                );
                Some(token.request_with(Bytes::from(body)))
            });
            Arc::new(Sequence { steps: vec![(first, Some(AUTH_REQ_ID)), (poll, Some(TOKEN_OK))] })
        }
        Scenario::SimSwap => {
            let c = target
                .camara
                .as_ref()
                .context("the target has no CAMARA APIs (`camara` in its target.json)")?;
            let token = client_credentials_token(target, &c.sim_swap_client, "sim-swap:check").await?;
            let body = serde_json::json!({ "phoneNumber": c.phone_number }).to_string();
            Arc::new(Rotate {
                templates: vec![Template::new(
                    Method::POST,
                    &c.sim_swap_check_path,
                    json_headers(Some(bearer(&token)?)),
                    body,
                )?],
                bodies: vec![],
                wrap: true,
                expect: Some(SWAPPED),
            })
        }
        Scenario::NumberVerification => {
            let c = target
                .camara
                .as_ref()
                .context("the target has no CAMARA APIs (`camara` in its target.json)")?;
            let basic = basic_auth(&c.nv_client.client_id, &c.nv_client.client_secret)?;
            let phone = serde_json::json!({ "phoneNumber": c.phone_number }).to_string();
            let issue =
                Template::new(Method::POST, &c.operator_token_path, json_headers(None), phone.clone())?;
            let bc =
                Template::new(Method::POST, &c.bc_authorize_path, form_headers(Some(basic.clone())), "")?;
            let token = Template::new(Method::POST, &target.token_path, form_headers(Some(basic)), "")?;
            let verify_path = c.nv_verify_path.clone();
            let scope = format!("{} number-verification:verify", c.purpose);
            let first: Step = Box::new(move |_| Some(issue.request()));
            let start: Step = Box::new(move |prev| {
                let v: serde_json::Value = serde_json::from_slice(prev).ok()?;
                let hint = format!("operatortoken:{}", v["operator_token"].as_str()?);
                let body = format!("login_hint={}&scope={}", enc(&hint), enc(&scope));
                Some(bc.request_with(Bytes::from(body)))
            });
            let poll: Step = Box::new(move |prev| {
                let v: serde_json::Value = serde_json::from_slice(prev).ok()?;
                let body = format!(
                    "grant_type={}&auth_req_id={}",
                    enc("urn:openid:params:grant-type:ciba"),
                    enc(v["auth_req_id"].as_str()?)
                );
                Some(token.request_with(Bytes::from(body)))
            });
            let verify: Step = Box::new(move |prev| {
                let v: serde_json::Value = serde_json::from_slice(prev).ok()?;
                let t = Template::new(
                    Method::POST,
                    &verify_path,
                    json_headers(Some(bearer(v["access_token"].as_str()?).ok()?)),
                    phone.clone(),
                )
                .ok()?;
                Some(t.request())
            });
            Arc::new(Sequence {
                steps: vec![
                    (first, Some(OPERATOR_TOKEN)),
                    (start, Some(AUTH_REQ_ID)),
                    (poll, Some(TOKEN_OK)),
                    (verify, Some(VERIFIED)),
                ],
            })
        }
        Scenario::Introspect => {
            let tokens = issue_tokens(target, 256).await?;
            let template =
                Template::new(Method::POST, &target.introspect_path, form_headers(Some(basic()?)), "")?;
            let bodies = tokens
                .iter()
                .map(|t| Bytes::from(format!("token={}&token_type_hint=access_token", enc(t))))
                .collect();
            Arc::new(Rotate { templates: vec![template], bodies, wrap: true, expect: Some(ACTIVE) })
        }
    })
}

/// One client_credentials token for `client` with `scope`.
async fn client_credentials_token(
    target: &Target,
    client: &crate::target::SecretClient,
    scope: &str,
) -> anyhow::Result<String> {
    let t = Template::new(
        Method::POST,
        &target.token_path,
        form_headers(Some(basic_auth(&client.client_id, &client.client_secret)?)),
        cc_body(scope),
    )?;
    let mut conn = Conn::new(target.addr()?, target.authority(), false)?;
    let (status, body) = conn
        .send(t.request(), Some(TOKEN_OK))
        .await
        .with_context(|| format!("token request failed: {:?}", conn.stats.error_sample))?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).with_context(|| format!("token answer {status} is not JSON"))?;
    Ok(v["access_token"].as_str().with_context(|| format!("token answer {status}: {v}"))?.to_owned())
}

/// Obtains `n` access tokens for the Basic client, on one connection.
pub async fn issue_tokens(target: &Target, n: usize) -> anyhow::Result<Vec<String>> {
    let t = Template::new(
        Method::POST,
        &target.token_path,
        form_headers(Some(basic_auth(&target.basic.client_id, &target.basic.client_secret)?)),
        cc_body(&target.scope),
    )?;
    let mut conn = Conn::new(target.addr()?, target.authority(), false)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (status, body) = conn
            .send(t.request(), Some(TOKEN_OK))
            .await
            .with_context(|| format!("token request failed: {:?}", conn.stats.error_sample))?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).with_context(|| format!("token answer {status} is not JSON"))?;
        let tok = v["access_token"].as_str().with_context(|| format!("token answer {status}: {v}"))?;
        out.push(tok.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_encoding() {
        assert_eq!(super::enc("a b/c:d"), "a%20b%2Fc%3Ad");
        assert_eq!(super::cc_body("disburse"), "grant_type=client_credentials&scope=disburse");
        assert!(super::basic_auth("demo-basic", "abc_-").is_ok());
        assert!(super::basic_auth("a:b", "x").is_err());
    }
}
