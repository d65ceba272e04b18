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
//! | `number-verification` | operator token → JWT bearer grant (token) → POST /verify        |
//! | `number-verification-ciba` | operator token → CIBA (bc-authorize, token) → POST /verify |
//! | `code-flow`      | GET authorize from a subscriber's line (redirects followed) → POST token |
//!
//! `ciba` uses a subscriber whose handset approves at once, so the first
//! poll gets the token: one iteration is two requests (a flow).
//! `number-verification` is a flow of three: the sandbox's entitlement
//! server issues an operator token (what the app on the device would get
//! and hand to its backend), the backend exchanges it with the JWT bearer
//! grant (`sub=operatortoken:…`, CAMARA profile §1.7) for a
//! network-authenticated, single-use token, and `/verify` spends it. The
//! grant's assertion names the operator token, so it is signed during the
//! run, by the load generator (one ES256 signature per flow).
//! `number-verification-ciba` gets the token through CIBA with
//! `login_hint=operatortoken:…` instead: four requests. Both netauth only
//! (the reference serves no resource API).
//!
//! `code-flow` is the authorization code flow with network-based
//! authentication (seed 001, RFC 6749 §4.1 with PKCE): each worker connects
//! from one subscriber's line (127.10.0.N), so the authorization request is
//! answered without a page; consent was given once per line before the run
//! (remembered), so the browser's part ends in a redirect to the client
//! with a `code`, which is exchanged (Basic, PKCE) for tokens with an ID
//! token. See [`CodeFlow`].
//!
//! Room for the later issues' flows: add a variant to [`Scenario`] and a
//! [`Sequence`] of steps (`refresh`).

use crate::engine::{BoxFuture, Conn, Flow, contains};
use crate::jwt::Signer;
use crate::target::Target;
use anyhow::{Context, bail};
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue, LOCATION, SET_COOKIE};
use hyper::{Method, Request, Uri};
use std::collections::BTreeMap;
use std::net::IpAddr;
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
    NumberVerificationCiba,
    CodeFlow,
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
            Self::NumberVerificationCiba => "number-verification-ciba",
            Self::CodeFlow => "code-flow",
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
            let k = c.jwt_bearer_client.as_ref().context(
                "the target has no JWT bearer client (`camara.jwt_bearer_client` in its target.json)",
            )?;
            let aud = format!("{}{}", target.base_url, target.token_path);
            let signer = Arc::new(Signer::new(&k.private_key_file, &k.kid, &k.alg, &k.client_id, &aud)?);
            let phone = serde_json::json!({ "phoneNumber": c.phone_number }).to_string();
            let issue =
                Template::new(Method::POST, &c.operator_token_path, json_headers(None), phone.clone())?;
            let token = Template::new(Method::POST, &target.token_path, form_headers(None), "")?;
            let verify_path = c.nv_verify_path.clone();
            let scope = format!("{} number-verification:verify", c.purpose);
            let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let first: Step = Box::new(move |_| Some(issue.request()));
            let grant: Step = Box::new(move |prev| {
                let v: serde_json::Value = serde_json::from_slice(prev).ok()?;
                let sub = format!("operatortoken:{}", v["operator_token"].as_str()?);
                let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let assertion =
                    signer.sign_grant(&sub, &scope, i, &aws_lc_rs::rand::SystemRandom::new()).ok()?;
                let body = format!(
                    "grant_type={}&assertion={assertion}",
                    enc("urn:ietf:params:oauth:grant-type:jwt-bearer")
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
                steps: vec![(first, Some(OPERATOR_TOKEN)), (grant, Some(TOKEN_OK)), (verify, Some(VERIFIED))],
            })
        }
        Scenario::NumberVerificationCiba => {
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
        Scenario::CodeFlow => {
            let c = target
                .code
                .as_ref()
                .context("the target has no code-flow client (`code` in its target.json)")?;
            let flow = CodeFlow::new(target, c)?;
            // Consent once on each line, as each subscriber would: the
            // measured flows find it remembered.
            for &line in &c.lines {
                flow.consent_once(target, line).await?;
            }
            Arc::new(flow)
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

/// RFC 7636 appendix B's verifier and its S256 challenge: one pair for
/// every flow (each code is bound to it; the servers cannot tell).
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CODE_STATE: &str = "bench-code-flow";
const ID_TOKEN: &[u8] = b"\"id_token\"";
/// Redirects a browser follows within one authorization server before it
/// reaches the client (netauth: none; oidc-provider: its interaction and
/// back).
const MAX_HOPS: usize = 6;

/// The authorization code flow as a phone's browser and its app's backend
/// run it: `GET` authorize from the subscriber's line, follow the
/// authorization server's own redirects (cookies kept for this flow only:
/// a fresh browser each time), read `code` and `state` off the redirect to
/// the client, then `POST` token (`authorization_code`, Basic, PKCE); the
/// answer must hold an ID token.
pub struct CodeFlow {
    authorize: String,
    base_url: String,
    redirect_uri: String,
    token: Template,
    lines: Vec<IpAddr>,
}

impl CodeFlow {
    fn new(target: &Target, c: &crate::target::CodeClient) -> anyhow::Result<Self> {
        anyhow::ensure!(!c.lines.is_empty(), "the code-flow target lists no subscriber lines");
        let query = [
            ("response_type", "code"),
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", c.redirect_uri.as_str()),
            ("scope", c.scope.as_str()),
            ("state", CODE_STATE),
            ("code_challenge", PKCE_CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
        Ok(Self {
            authorize: format!("{}?{query}", c.authorize_path),
            base_url: target.base_url.trim_end_matches('/').to_owned(),
            redirect_uri: c.redirect_uri.clone(),
            token: Template::new(
                Method::POST,
                &target.token_path,
                form_headers(Some(basic_auth(&c.client_id, &c.client_secret)?)),
                "",
            )?,
            lines: c.lines.clone(),
        })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        mut headers: HeaderMap,
        body: String,
        jar: &BTreeMap<String, String>,
    ) -> Result<Request<Full<Bytes>>, String> {
        if !jar.is_empty() {
            let cookie = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            headers.insert(COOKIE, HeaderValue::from_str(&cookie).map_err(|e| format!("cookie: {e}"))?);
        }
        Ok(Template::new(method, path, headers, body).map_err(|e| format!("{path}: {e}"))?.request())
    }

    /// Where a `Location` points: `Ok(path)` on the authorization server,
    /// `Err(query)` at the client's redirect URI, None elsewhere.
    fn place<'l>(&self, location: &'l str) -> Option<Result<&'l str, &'l str>> {
        if let Some(q) = location.strip_prefix(self.redirect_uri.as_str()) {
            return Some(Err(q.strip_prefix('?').unwrap_or("")));
        }
        let path = location.strip_prefix(self.base_url.as_str()).unwrap_or(location);
        path.starts_with('/').then_some(Ok(path))
    }

    /// The code off the client's redirect: `state` must be ours and there
    /// must be no `error`.
    fn code_of(query: &str) -> Result<String, String> {
        let params: BTreeMap<&str, &str> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
        if params.get("state") != Some(&CODE_STATE) {
            return Err(format!("redirect to the client without our state: ?{query}"));
        }
        match params.get("code") {
            Some(c) if !params.contains_key("error") => Ok((*c).to_owned()),
            _ => Err(format!("redirect to the client without a code: ?{query}")),
        }
    }

    /// One browser's way through the authorization server to the client,
    /// with a fresh cookie jar. With `consent`, the first page shown on the
    /// way is taken for the consent page and everything on it allowed (the
    /// preparation); without, a page is an error (the measured flows, where
    /// nothing may be asked). Returns the code.
    async fn browse(&self, conn: &mut Conn, consent: bool) -> Result<String, String> {
        let mut jar = BTreeMap::new();
        let mut req = self.request(Method::GET, &self.authorize, HeaderMap::new(), String::new(), &jar)?;
        let mut consented = false;
        for _ in 0..MAX_HOPS {
            let (status, headers, body) = conn
                .send_for_redirect(req)
                .await
                .ok_or_else(|| format!("no answer: {:?}", conn.stats.error_sample))?;
            keep_cookies(&headers, &mut jar);
            let location =
                headers.get(LOCATION).and_then(|l| l.to_str().ok()).filter(|_| status.is_redirection());
            let Some(location) = location else {
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                if !consent || consented || !status.is_success() {
                    return Err(format!("HTTP {status} where a redirect was expected: {text}"));
                }
                let (action, form) = allow_everything(&body).ok_or(format!("not a consent page: {text}"))?;
                req = self.request(Method::POST, &action, form_headers(None), form, &jar)?;
                consented = true;
                continue;
            };
            match self.place(location) {
                Some(Err(query)) => return Self::code_of(query).inspect_err(|e| conn.reject_last(e.clone())),
                Some(Ok(path)) => {
                    req = self.request(Method::GET, path, HeaderMap::new(), String::new(), &jar)?;
                }
                None => {
                    let e = format!("a redirect off the authorization server: {location}");
                    conn.reject_last(e.clone());
                    return Err(e);
                }
            }
        }
        Err(format!("more than {MAX_HOPS} redirects"))
    }

    fn token_request(&self, code: &str) -> Request<Full<Bytes>> {
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={PKCE_VERIFIER}",
            enc(code),
            enc(&self.redirect_uri)
        );
        self.token.request_with(Bytes::from(body))
    }

    /// Before the run, from `line`: the whole flow once, allowing what the
    /// consent page asks (where one is shown), and the code exchanged; so
    /// the measured flows of this line find the consent remembered.
    async fn consent_once(&self, target: &Target, line: IpAddr) -> anyhow::Result<()> {
        let mut conn = Conn::new(target.addr()?, target.authority(), false)?.from_addr(Some(line));
        let code = self
            .browse(&mut conn, true)
            .await
            .map_err(|e| anyhow::anyhow!("code flow from {line} (consent): {e}"))?;
        let answer = conn.send(self.token_request(&code), Some(ID_TOKEN)).await;
        match answer {
            Some((s, body)) if s.is_success() && contains(&body, ID_TOKEN) => Ok(()),
            _ => bail!("code exchange for {line}'s code failed: {:?}", conn.stats.error_sample),
        }
    }
}

impl Flow for CodeFlow {
    fn iteration<'a>(&'a self, _i: u64, conn: &'a mut Conn) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            // A failed step was counted where it failed; the flow ends there.
            if let Ok(code) = self.browse(conn, false).await {
                conn.send(self.token_request(&code), Some(ID_TOKEN)).await;
            }
            true
        })
    }

    fn local_addr(&self, worker: usize) -> Option<IpAddr> {
        self.lines.get(worker % self.lines.len()).copied()
    }
}

/// The cookies a response sets (name and value; attributes ignored: the
/// jar lives for one flow on one server).
fn keep_cookies(headers: &HeaderMap, jar: &mut BTreeMap<String, String>) {
    for c in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        let pair = c.split(';').next().unwrap_or("");
        if let Some((k, v)) = pair.split_once('=') {
            jar.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
}

/// The value of attribute `name` in one HTML tag's text.
fn attr<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let needle = format!(" {name}=\"");
    let at = tag.find(&needle)? + needle.len();
    let rest = &tag[at..];
    Some(&rest[..rest.find('"')?])
}

/// A consent page's POST form with every box ticked and `decision=allow`:
/// the form's action and its urlencoded body. netauth's page: hidden
/// `request` and `csrf`, one `scope:…` checkbox per scope, Allow/Deny
/// buttons named `decision`.
fn allow_everything(html: &[u8]) -> Option<(String, String)> {
    let html = std::str::from_utf8(html).ok()?;
    let form_at = html.find("<form method=\"post\"")?;
    let form = &html[form_at..];
    let form = &form[..form.find("</form>")?];
    let action = attr(&form[..form.find('>')?], "action")?.replace("&amp;", "&");
    let mut fields = Vec::new();
    for tag in form.split("<input").skip(1).map(|t| t.split('>').next().unwrap_or("")) {
        let Some(name) = attr(tag, "name") else { continue };
        match attr(tag, "type") {
            Some("checkbox") => {
                fields.push(format!("{}={}", enc(name), enc(attr(tag, "value").unwrap_or("on"))))
            }
            Some("hidden") => fields.push(format!("{}={}", enc(name), enc(attr(tag, "value").unwrap_or("")))),
            _ => {}
        }
    }
    form.contains("name=\"decision\" value=\"allow\"").then_some(())?;
    fields.push("decision=allow".into());
    Some((action, fields.join("&")))
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

    #[test]
    fn consent_form_allows_every_scope() {
        // netauth's consent page, as served (trimmed).
        let html = br#"<form method="post" action="/authorize/consent">
    <input type="hidden" name="request" value="w6oiPG0HE98Evava0TWauA">
    <input type="hidden" name="csrf" value="1795645169.cmNn5C5f.f82m-Foy9S_Jq">
    <ul><li><label><input type="checkbox" name="scope:phone" value="on" checked> Your number</label></li>
    <li><label><input type="checkbox" name="scope:sim-swap" value="on"> SIM</label></li></ul>
      <button class="deny" type="submit" name="decision" value="deny">Deny</button>
      <button class="approve" type="submit" name="decision" value="allow">Allow</button>
  </form>"#;
        let (action, body) = super::allow_everything(html).unwrap();
        assert_eq!(action, "/authorize/consent");
        assert_eq!(
            body,
            "request=w6oiPG0HE98Evava0TWauA&csrf=1795645169.cmNn5C5f.f82m-Foy9S_Jq\
             &scope%3Aphone=on&scope%3Asim-swap=on&decision=allow"
        );
        assert!(super::allow_everything(b"<p>no form</p>").is_none());
    }

    #[test]
    fn the_code_comes_with_our_state_only() {
        let state = super::CODE_STATE;
        assert_eq!(super::CodeFlow::code_of(&format!("code=abc&state={state}&iss=x")).unwrap(), "abc");
        assert!(super::CodeFlow::code_of("code=abc&state=other").is_err());
        assert!(super::CodeFlow::code_of(&format!("error=access_denied&state={state}")).is_err());
    }
}
