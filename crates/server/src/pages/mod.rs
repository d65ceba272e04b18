//! Browser pages of the sandbox: the handset simulator and the subscriber's
//! consent page (sandbox mode only). The JSON twin of the handset is
//! `sandbox_api`; these pages are for a person with a browser.
//!
//! ```text
//! GET  /sandbox/handset/{msisdn}               handset_get   phone card: policy, pending prompts
//! POST /sandbox/handset/{msisdn}/prompts/{id}  prompt_post   ─► ciba::answer_prompt ─► 303
//! POST /sandbox/handset/{msisdn}/policy        policy_post   ─► Store::update_subscriber ─► 303
//! GET  /sandbox/handset/{msisdn}/consents      consents_get  consents + "Allow …?" (?client_id&scope&purpose)
//! POST /sandbox/handset/{msisdn}/consents      consents_post ─► consent::grant | consent::revoke ─► 303
//! ```
//!
//! SECURITY.md "Pages":
//! - 9, CSRF: every form carries a token `issued.nonce.mac`, the MAC (HMAC
//!   under the master key) binding it to the browser's session cookie
//!   (`HttpOnly; SameSite=Strict`), the subscriber and the exact action
//!   (which prompt; which client, scope and purpose). A token is spent on use
//!   (the nonce goes to the replay store) and lives at most an hour.
//!   Cross-site POSTs (`Sec-Fetch-Site`) are refused before anything else.
//!   GET never changes anything.
//! - 10, 11: [`page_headers`] on every response of this router: CSP with
//!   `frame-ancestors 'none'` (the one inline style allowed by its hash),
//!   `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`, `no-store`;
//!   no scripts, no third-party assets.
//! - 12: every POST answers 303 See Other.

use crate::infra::state::AppState;
use crate::oauth::consent;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use netauth_domain::ciba::Prompt;
use netauth_domain::client::{Client, ClientStatus};
use netauth_domain::consent::{ConsentStatus, LegalBasis};
use netauth_domain::crypto::{random_token, sha256};
use netauth_domain::subscriber::{HandsetPolicy, Subscriber, SubscriberStatus};
use netauth_proto::Msisdn;
use netauth_store::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use subtle::ConstantTimeEq;

/// The session cookie the CSRF tokens are bound to.
const SESSION_COOKIE: &str = "netauth_handset";
/// How long a form stays usable (the handset page refreshes every 3 s, so
/// only a consent page left open for long meets this).
const CSRF_TTL: i64 = 3600;
/// Tolerated clock difference between nodes for a token's issue time.
const CSRF_SKEW: i64 = 60;
/// The replay store's "client" under which spent CSRF nonces are recorded.
const CSRF_REPLAY_SCOPE: &str = "sandbox:pages";
/// The HMAC label of CSRF tokens, apart from every other use of the master key.
const CSRF_SECTOR: &str = "csrf:handset";

/// The only style of every page; the CSP allows it by its hash, so nothing
/// injected could add another.
const CSS: &str = include_str!("../../templates/style.css");

static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(sha256(CSS.as_bytes()));
    let v = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/sandbox/handset/{msisdn}", get(handset_get))
        .route("/sandbox/handset/{msisdn}/prompts/{id}", post(prompt_post))
        .route("/sandbox/handset/{msisdn}/policy", post(policy_post))
        .route("/sandbox/handset/{msisdn}/consents", get(consents_get).post(consents_post))
        .layer(middleware::from_fn(page_headers))
}

/// SECURITY.md 10 and 11, on every response of these routes (errors and
/// redirects included).
async fn page_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    resp
}

// ---------------------------------------------------------------- templates

/// What the base layout needs from every page.
struct Layout {
    title: String,
    css: &'static str,
    /// Seconds between automatic reloads (the handset page only).
    refresh: Option<u32>,
}

impl Layout {
    fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), css: CSS, refresh: None }
    }
}

struct PromptView {
    id: String,
    kind: String,
    client_name: String,
    client_id: String,
    purpose: String,
    purpose_label: String,
    scopes: Vec<String>,
    expires_in: i64,
    csrf: String,
}

#[derive(Template)]
#[template(path = "handset.html")]
struct HandsetPage {
    layout: Layout,
    msisdn: String,
    operator: String,
    active: bool,
    policy: &'static str,
    policy_csrf: String,
    prompts: Vec<PromptView>,
}

struct ConsentView {
    client_name: String,
    client_id: String,
    scope: String,
    purpose: String,
    purpose_label: String,
    granted: bool,
    updated: String,
    csrf: String,
}

/// The question of the consent page: "Allow <client> to use <scopes> for <purpose>?".
struct AskView {
    client_name: String,
    client_id: String,
    scope: String,
    scopes: Vec<String>,
    purpose: String,
    purpose_label: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "consents.html")]
struct ConsentsPage {
    layout: Layout,
    msisdn: String,
    operator: String,
    consents: Vec<ConsentView>,
    ask: Option<AskView>,
    /// Why the query's request cannot be granted here, or that it already is.
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    message: &'a str,
    back: Option<&'a str>,
}

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Internal error.</p>"),
            )
                .into_response()
        }
    }
}

/// A page-shaped error: status, a sentence for the person, a way back.
#[derive(Debug)]
struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
    back: Option<String>,
}

impl PageError {
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self { status, title, message: message.into(), back: None }
    }
    fn back(mut self, to: impl Into<String>) -> Self {
        self.back = Some(to.into());
        self
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }
    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure on a sandbox page");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", "The database is unavailable; try again.")
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            layout: Layout::new(self.title),
            status: self.status.as_u16(),
            message: &self.message,
            back: self.back.as_deref(),
        };
        render(self.status, &page)
    }
}

type PageResult = Result<Response, PageError>;

// ---------------------------------------------------------------- helpers

fn handset_path(msisdn: &str) -> String {
    format!("/sandbox/handset/{msisdn}")
}

fn consents_path(msisdn: &str) -> String {
    format!("/sandbox/handset/{msisdn}/consents")
}

/// 303 See Other to one of our own pages (SECURITY.md 12).
fn see_other(location: &str) -> PageResult {
    let loc = HeaderValue::from_str(location)
        .map_err(|_| PageError::bad_request("The redirect target is not a valid path."))?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, loc)]).into_response())
}

/// The subscriber a page is about: 400 for a malformed number, 404 for a
/// number nobody has.
async fn subscriber(app: &AppState, msisdn: &str) -> Result<Subscriber, PageError> {
    if Msisdn::parse(msisdn).is_err() {
        return Err(PageError::bad_request(
            "This is not a phone number in E.164 form (a + then the country code and number, e.g. +34666666666).",
        ));
    }
    app.store.subscriber_by_msisdn(msisdn).await?.ok_or_else(|| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "Unknown number",
            "No subscriber of this network has this number.",
        )
    })
}

async fn operator_name(app: &AppState, s: &Subscriber) -> Result<String, PageError> {
    Ok(app.store.get_operator(&s.operator_id).await?.map(|o| o.name).unwrap_or_else(|| s.operator_id.clone()))
}

/// `dpv:FraudPreventionAndDetection` → `Fraud prevention and detection`.
fn purpose_label(purpose: &str) -> String {
    let name = purpose.strip_prefix("dpv:").unwrap_or(purpose);
    let mut out = String::with_capacity(name.len() + 8);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn policy_str(p: HandsetPolicy) -> &'static str {
    match p {
        HandsetPolicy::Ask => "ask",
        HandsetPolicy::AutoApprove => "auto_approve",
        HandsetPolicy::AutoDeny => "auto_deny",
    }
}

/// The client's display name, or its id when it is gone.
async fn client_name(app: &AppState, client_id: &str) -> Result<String, PageError> {
    Ok(app.client(client_id).await?.map(|c| c.name.clone()).unwrap_or_else(|| client_id.to_owned()))
}

/// A urlencoded form body: each field at most once.
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, PageError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(PageError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported form",
            "This form is sent as application/x-www-form-urlencoded.",
        ));
    }
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(PageError::bad_request(format!("The form field `{k}` appears more than once.")));
        }
    }
    Ok(out)
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, PageError> {
    form.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| PageError::bad_request(format!("The form field `{name}` is missing.")))
}

// ---------------------------------------------------------------- CSRF

/// The browser's session id from its cookie, if it has a well-formed one.
fn session_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| {
            (16..=64).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The session for a GET: the browser's, or a new one with its cookie.
fn session_for_page(app: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(s) = session_from(headers) {
        return (s, None);
    }
    let s = random_token::<16>();
    let secure = if app.issuer.starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={s}; Path=/sandbox/handset; HttpOnly; SameSite=Strict{secure}");
    (s.clone(), HeaderValue::from_str(&cookie).ok())
}

fn with_cookie(mut resp: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

fn csrf_mac(app: &AppState, session: &str, subscriber_id: &str, action: &str, stamp: &str) -> String {
    app.master.pairwise_sub(CSRF_SECTOR, &format!("{session}\n{subscriber_id}\n{action}\n{stamp}"))
}

/// A fresh token for one form: `issued.nonce.mac`.
fn csrf_token(app: &AppState, session: &str, subscriber_id: &str, action: &str) -> String {
    let stamp = format!("{}.{}", app.now(), random_token::<12>());
    let mac = csrf_mac(app, session, subscriber_id, action, &stamp);
    format!("{stamp}.{mac}")
}

/// Checks a form's token against the session, subscriber and action, then
/// spends it. Called after every other check of the form, right before the
/// change, so a form refused for another reason can be corrected and resent.
async fn spend_csrf(
    app: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    subscriber_id: &str,
    action: &str,
    back: &str,
) -> Result<(), PageError> {
    let refused = |why: &str| {
        PageError::forbidden(format!("{why} Nothing was changed; reload the page and try again.")).back(back)
    };
    let Some(session) = session_from(headers) else {
        return Err(refused("This browser has no session for the handset pages (are cookies enabled?)."));
    };
    let token = form.get("csrf").map(String::as_str).unwrap_or("");
    let mut parts = token.splitn(3, '.');
    let (Some(issued), Some(nonce), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(refused("The form's anti-forgery token is missing or malformed."));
    };
    let Ok(issued_at) = issued.parse::<i64>() else {
        return Err(refused("The form's anti-forgery token is malformed."));
    };
    let expected = csrf_mac(app, &session, subscriber_id, action, &format!("{issued}.{nonce}"));
    if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
        return Err(refused("The form's anti-forgery token is not valid for this session and action."));
    }
    let t = app.now();
    if t - issued_at > CSRF_TTL || issued_at - t > CSRF_SKEW {
        return Err(refused("The form has expired."));
    }
    if !app.store.record_jti(CSRF_REPLAY_SCOPE, &format!("csrf:{nonce}"), issued_at + CSRF_TTL).await? {
        return Err(refused("This form was already sent."));
    }
    Ok(())
}

/// Forms are only ever posted from these pages: a cross-site POST is
/// refused outright (browsers that send `Sec-Fetch-Site`), the CSRF token
/// covers the others.
fn refuse_cross_site(headers: &HeaderMap) -> Result<(), PageError> {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => {
            Err(PageError::forbidden("Forms of this page cannot be sent from another site."))
        }
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------- handset

async fn handset_get(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    headers: HeaderMap,
) -> PageResult {
    let s = subscriber(&app, &msisdn).await?;
    let (session, cookie) = session_for_page(&app, &headers);
    let t = app.now();
    let mut prompts = Vec::new();
    for p in app.store.list_prompts(&s.id, t).await? {
        prompts.push(prompt_view(&app, &session, &s, p, t).await?);
    }
    let page = HandsetPage {
        layout: Layout { refresh: Some(3), ..Layout::new(format!("Handset {}", s.msisdn)) },
        operator: operator_name(&app, &s).await?,
        active: s.status == SubscriberStatus::Active,
        policy: policy_str(s.handset_policy),
        policy_csrf: csrf_token(&app, &session, &s.id, "policy"),
        prompts,
        msisdn: s.msisdn,
    };
    Ok(with_cookie(render(StatusCode::OK, &page), cookie))
}

async fn prompt_view(
    app: &AppState,
    session: &str,
    s: &Subscriber,
    p: Prompt,
    t: i64,
) -> Result<PromptView, PageError> {
    // The name as registered now, should the client have been renamed.
    let client_name = match app.client(&p.client_id).await? {
        Some(c) => c.name.clone(),
        None => p.client_name.clone(),
    };
    let purpose = p.purpose.unwrap_or_default();
    Ok(PromptView {
        csrf: csrf_token(app, session, &s.id, &format!("prompt:{}", p.id)),
        purpose_label: purpose_label(&purpose),
        id: p.id,
        kind: p.kind,
        client_name,
        client_id: p.client_id,
        purpose,
        scopes: p.scopes,
        expires_in: (p.expires_at - t).max(0),
    })
}

async fn prompt_post(
    State(app): State<AppState>,
    Path((msisdn, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    refuse_cross_site(&headers)?;
    let s = subscriber(&app, &msisdn).await?;
    let back = handset_path(&s.msisdn);
    let form = parse_form(&headers, &body)?;
    let approve = match field(&form, "decision")? {
        "approve" => true,
        "deny" => false,
        _ => return Err(PageError::bad_request("The decision is approve or deny.").back(back)),
    };
    spend_csrf(&app, &headers, &form, &s.id, &format!("prompt:{id}"), &back).await?;
    if !crate::oauth::ciba::answer_prompt(&app, &s.id, &id, approve).await? {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "No longer pending",
            "This request is no longer pending: it was answered already, or it expired.",
        )
        .back(back));
    }
    see_other(&back)
}

async fn policy_post(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    refuse_cross_site(&headers)?;
    let mut s = subscriber(&app, &msisdn).await?;
    let back = handset_path(&s.msisdn);
    let form = parse_form(&headers, &body)?;
    let policy = match field(&form, "policy")? {
        "ask" => HandsetPolicy::Ask,
        "auto_approve" => HandsetPolicy::AutoApprove,
        "auto_deny" => HandsetPolicy::AutoDeny,
        _ => return Err(PageError::bad_request("The policy is ask, auto_approve or auto_deny.").back(back)),
    };
    spend_csrf(&app, &headers, &form, &s.id, "policy", &back).await?;
    s.handset_policy = policy;
    app.store.update_subscriber(&s).await?;
    see_other(&back)
}

// ---------------------------------------------------------------- consents

/// A (client, scopes, purpose) the subscriber may opt in to here: the
/// client exists, is active, may ask for these scopes under this purpose,
/// and the operator's legal basis for each (scope, purpose) is `consent`.
async fn grantable(
    app: &AppState,
    client_id: &str,
    scopes: &[String],
    purpose: &str,
) -> Result<Arc<Client>, PageError> {
    let no = |m: String| PageError::bad_request(m);
    let Some(client) = app.client(client_id).await? else {
        return Err(no(format!("There is no application `{client_id}`.")));
    };
    if client.status != ClientStatus::Active {
        return Err(no(format!("The application {} is suspended.", client.name)));
    }
    if scopes.is_empty() {
        return Err(no("No data (scope) was named.".into()));
    }
    if !client.purposes.iter().any(|p| p == purpose) {
        return Err(no(format!("{} may not ask for anything for {purpose}.", client.name)));
    }
    let rules = app.store.list_legal_bases().await?;
    for scope in scopes {
        if !client.scopes.iter().any(|c| c == scope) {
            return Err(no(format!("{} may not ask for `{scope}`.", client.name)));
        }
        let rule = rules.iter().find(|r| r.scope == *scope && r.purpose == purpose);
        match rule.map(|r| r.basis) {
            Some(LegalBasis::Consent) => {}
            Some(_) => {
                return Err(no(format!(
                    "`{scope}` for {purpose} does not need your consent (the operator's legal basis is not consent)."
                )));
            }
            None => return Err(no(format!("`{scope}` may not be used for {purpose}."))),
        }
    }
    Ok(client)
}

fn split_scopes(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect();
    v.dedup();
    v
}

fn consent_action(action: &str, client_id: &str, scope: &str, purpose: &str) -> String {
    format!("consent:{action}\n{client_id}\n{scope}\n{purpose}")
}

async fn consents_get(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> PageResult {
    let s = subscriber(&app, &msisdn).await?;
    let (session, cookie) = session_for_page(&app, &headers);
    let mut q: HashMap<String, String> = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        if q.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(PageError::bad_request(format!("The parameter `{k}` appears more than once.")));
        }
    }
    let wanted = ["client_id", "scope", "purpose"].map(|k| q.get(k).filter(|v| !v.is_empty()));
    let given = wanted.iter().filter(|v| v.is_some()).count();
    if given != 0 && given != 3 {
        return Err(PageError::bad_request("Name all of client_id, scope and purpose, or none.")
            .back(consents_path(&s.msisdn)));
    }

    let records = app.store.list_consents(&s.id).await?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut consents = Vec::with_capacity(records.len());
    for c in records {
        if !names.contains_key(&c.client_id) {
            names.insert(c.client_id.clone(), client_name(&app, &c.client_id).await?);
        }
        let granted = c.status == ConsentStatus::Granted;
        let action = if granted { "revoke" } else { "grant" };
        consents.push(ConsentView {
            client_name: names.get(&c.client_id).cloned().unwrap_or_default(),
            csrf: csrf_token(
                &app,
                &session,
                &s.id,
                &consent_action(action, &c.client_id, &c.scope, &c.purpose),
            ),
            purpose_label: purpose_label(&c.purpose),
            updated: httpdate::fmt_http_date(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(c.updated_at.max(0) as u64),
            ),
            granted,
            client_id: c.client_id,
            scope: c.scope,
            purpose: c.purpose,
        });
    }

    let (mut ask, mut notice) = (None, None);
    if let [Some(client_id), Some(scope), Some(purpose)] = wanted {
        let scopes = split_scopes(scope);
        match grantable(&app, client_id, &scopes, purpose).await {
            Ok(client) => {
                let missing: Vec<String> = scopes
                    .iter()
                    .filter(|sc| {
                        !consents.iter().any(|c| {
                            c.granted && c.client_id == *client_id && c.scope == **sc && c.purpose == *purpose
                        })
                    })
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    notice =
                        Some(format!("{} may already use this for {}.", client.name, purpose_label(purpose)));
                } else {
                    let scope = missing.join(" ");
                    ask = Some(AskView {
                        csrf: csrf_token(
                            &app,
                            &session,
                            &s.id,
                            &consent_action("grant", client_id, &scope, purpose),
                        ),
                        client_name: client.name.clone(),
                        client_id: client_id.clone(),
                        scope,
                        scopes: missing,
                        purpose: purpose.clone(),
                        purpose_label: purpose_label(purpose),
                    });
                }
            }
            Err(e) if e.status == StatusCode::BAD_REQUEST => notice = Some(e.message),
            Err(e) => return Err(e),
        }
    }

    let page = ConsentsPage {
        layout: Layout::new(format!("Consents of {}", s.msisdn)),
        operator: operator_name(&app, &s).await?,
        consents,
        ask,
        notice,
        msisdn: s.msisdn,
    };
    Ok(with_cookie(render(StatusCode::OK, &page), cookie))
}

async fn consents_post(
    State(app): State<AppState>,
    Path(msisdn): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    refuse_cross_site(&headers)?;
    let s = subscriber(&app, &msisdn).await?;
    let back = consents_path(&s.msisdn);
    let form = parse_form(&headers, &body)?;
    let action = field(&form, "action")?;
    let client_id = field(&form, "client_id")?;
    let scope = field(&form, "scope")?;
    let purpose = field(&form, "purpose")?;
    match action {
        "grant" => {
            let scopes = split_scopes(scope);
            grantable(&app, client_id, &scopes, purpose).await.map_err(|e| e.back(back.clone()))?;
            spend_csrf(
                &app,
                &headers,
                &form,
                &s.id,
                &consent_action("grant", client_id, scope, purpose),
                &back,
            )
            .await?;
            consent::grant(&app, &s.id, client_id, purpose, &scopes).await?;
        }
        "revoke" => {
            spend_csrf(
                &app,
                &headers,
                &form,
                &s.id,
                &consent_action("revoke", client_id, scope, purpose),
                &back,
            )
            .await?;
            // Nothing to revoke is no error: the consent is not there either way.
            consent::revoke(&app, &s.id, client_id, scope, purpose).await?;
        }
        _ => return Err(PageError::bad_request("The action is grant or revoke.").back(back)),
    }
    see_other(&back)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_labels_read_as_words() {
        assert_eq!(purpose_label("dpv:FraudPreventionAndDetection"), "Fraud prevention and detection");
        assert_eq!(purpose_label("dpv:RequestedServiceProvision"), "Requested service provision");
        assert_eq!(purpose_label(""), "");
    }

    #[test]
    fn session_cookie_is_read_only_when_well_formed() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; netauth_handset=abcdefghijklmnopqrstuv"));
        assert_eq!(session_from(&h).as_deref(), Some("abcdefghijklmnopqrstuv"));
        h.insert(header::COOKIE, HeaderValue::from_static("netauth_handset=short"));
        assert_eq!(session_from(&h), None);
        h.insert(header::COOKIE, HeaderValue::from_static("netauth_handset=\"abcdefghijklmnopqrstuv\""));
        assert_eq!(session_from(&h), None);
    }

    #[test]
    fn style_has_no_closing_tag() {
        assert!(!CSS.contains("</"));
    }
}
