//! The pages of an authorization request: the number page of the handset
//! fallback (seed 001's USSD flow), the wait for the handset's answer, the
//! one-time code, the confirmation `prompt=login` asks for, and the consent
//! page (one checkbox per scope whose legal basis is `consent`).
//!
//! Every form carries the request's handle and a CSRF token bound to the
//! browser's session, the handle and the form (SECURITY.md 9); every POST
//! answers 303 (SECURITY.md 12) or re-shows its page with a notice; GET
//! changes nothing but the wait page's check of the handset's answer.

use super::i18n::{Texts, masked_number, purpose_label, scope_label, texts};
use super::request::{normalise_number, page_display};
use super::{Browser, Flow, Peer, SITE};
use crate::infra::state::AppState;
use crate::pages::{Form, Layout, PageError, refuse_cross_site, render, see_other};
use crate::routes;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use netauth_domain::authorize::{
    AMR_NBA, Authentication, CodeCheck, HandsetLogin, HandsetMethod, PendingAuthorization, generate_otp,
    granted_scopes, otp_hash,
};
use netauth_domain::ciba::{Prompt, PromptStatus};
use netauth_domain::client::Client;
use netauth_domain::crypto::hash_bearer;
use netauth_domain::crypto::random_token;
use netauth_domain::subscriber::{HandsetPolicy, Subscriber};
use netauth_proto::{LoginHint, Msisdn, OAuthError, Purpose, Scope};
use std::net::SocketAddr;
use std::sync::Arc;

/// Why a page is shown again.
#[derive(Debug, Clone, Copy)]
pub enum Notice {
    BadNumber,
    StartAgain,
}

fn look(req: &PendingAuthorization, title: impl Fn(&Texts) -> &'static str) -> (Layout, &'static Texts) {
    let lang = crate::pages::Lang::negotiate(req.ui_locales.as_deref());
    let t = texts(lang);
    (Layout::new(&SITE, title(t)).lang(lang).display(page_display(req.display)), t)
}

fn csrf(flow: &Flow<'_>, handle: &str, action: &str) -> String {
    match flow.session() {
        Some(s) => SITE.form_token(flow.app, &s, handle, action),
        None => String::new(),
    }
}

fn resume_url(handle: &str) -> String {
    format!("{}?request={handle}", routes::AUTHORIZE_RESUME.path)
}

// ---------------------------------------------------------------- pages

#[derive(Template)]
#[template(path = "authorize/login.html")]
struct LoginPage {
    layout: Layout,
    t: &'static Texts,
    lead: String,
    notice: Option<String>,
    action: &'static str,
    request: String,
    csrf: String,
    number: String,
}

pub async fn login_page(
    flow: &mut Flow<'_>,
    req: &mut PendingAuthorization,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let handle = flow.save(req).await?;
    let (layout, t) = look(req, |t| t.login_title);
    let page = LoginPage {
        layout,
        t,
        lead: t.login_lead.replace("{client}", &flow.client.name),
        notice: notice.map(|n| match n {
            Notice::BadNumber => t.bad_number.to_owned(),
            Notice::StartAgain => t.start_again.to_owned(),
        }),
        action: routes::AUTHORIZE_LOGIN.path,
        csrf: csrf(flow, &handle, "login"),
        request: handle,
        number: req.login_hint.clone().unwrap_or_default(),
    };
    Ok(flow.finish_page(req, render(status, &page)))
}

#[derive(Template)]
#[template(path = "authorize/wait.html")]
struct WaitPage {
    layout: Layout,
    t: &'static Texts,
    lead: String,
    resume: String,
    restart_action: &'static str,
    request: String,
    csrf: String,
}

pub async fn wait_page(flow: &mut Flow<'_>, req: &mut PendingAuthorization) -> Result<Response, PageError> {
    let handle = flow.save(req).await?;
    let (layout, t) = look(req, |t| t.wait_title);
    let shown = req.handset.as_ref().map(|h| h.shown_number.clone()).unwrap_or_default();
    let page = WaitPage {
        // The page looks again every few seconds, so the person need not.
        layout: layout.refresh(3),
        t,
        lead: t.wait_lead.replace("{number}", &shown),
        resume: resume_url(&handle),
        restart_action: routes::AUTHORIZE_LOGIN.path,
        csrf: csrf(flow, &handle, "login"),
        request: handle,
    };
    Ok(flow.finish_page(req, render(StatusCode::OK, &page)))
}

#[derive(Template)]
#[template(path = "authorize/code.html")]
struct CodePage {
    layout: Layout,
    t: &'static Texts,
    lead: String,
    notice: Option<String>,
    action: &'static str,
    request: String,
    csrf: String,
}

pub async fn code_page(
    flow: &mut Flow<'_>,
    req: &mut PendingAuthorization,
    attempts_left: Option<u32>,
) -> Result<Response, PageError> {
    let handle = flow.save(req).await?;
    let (layout, t) = look(req, |t| t.code_title);
    let shown = req.handset.as_ref().map(|h| h.shown_number.clone()).unwrap_or_default();
    let page = CodePage {
        layout,
        t,
        lead: t.code_lead.replace("{number}", &shown),
        notice: attempts_left.map(|n| t.code_wrong.replace("{n}", &n.to_string())),
        action: routes::AUTHORIZE_CODE.path,
        csrf: csrf(flow, &handle, "code"),
        request: handle,
    };
    let status = if attempts_left.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok(flow.finish_page(req, render(status, &page)))
}

#[derive(Template)]
#[template(path = "authorize/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    t: &'static Texts,
    lead: String,
    action: &'static str,
    request: String,
    csrf: String,
}

pub async fn confirm_page(
    flow: &mut Flow<'_>,
    req: &mut PendingAuthorization,
    sub: &Subscriber,
) -> Result<Response, PageError> {
    let handle = flow.save(req).await?;
    let (layout, t) = look(req, |t| t.confirm_title);
    let page = ConfirmPage {
        layout,
        t,
        lead: t
            .confirm_lead
            .replace("{number}", &masked_number(&sub.msisdn))
            .replace("{client}", &flow.client.name),
        action: routes::AUTHORIZE_CONFIRM.path,
        csrf: csrf(flow, &handle, "confirm"),
        request: handle,
    };
    Ok(flow.finish_page(req, render(StatusCode::OK, &page)))
}

struct ScopeView {
    scope: String,
    label: String,
}

#[derive(Template)]
#[template(path = "authorize/consent.html")]
struct ConsentPage {
    layout: Layout,
    t: &'static Texts,
    lead: String,
    action: &'static str,
    request: String,
    csrf: String,
    asked: Vec<ScopeView>,
    also: Vec<ScopeView>,
}

pub async fn consent_page(
    flow: &mut Flow<'_>,
    req: &mut PendingAuthorization,
) -> Result<Response, PageError> {
    let handle = flow.save(req).await?;
    let (layout, t) = look(req, |t| t.consent_title);
    let lang = layout.lang;
    let view = |s: &String| ScopeView { scope: s.clone(), label: scope_label(lang, s) };
    let page = ConsentPage {
        layout,
        t,
        lead: t
            .consent_lead
            .replace("{client}", &flow.client.name)
            .replace("{purpose}", &purpose_label(lang, &req.consent_purpose)),
        action: routes::AUTHORIZE_CONSENT.path,
        csrf: csrf(flow, &handle, "consent"),
        request: handle,
        asked: req.consent_scopes.iter().map(view).collect(),
        also: req.scopes.iter().filter(|s| !req.consent_scopes.contains(s)).map(view).collect(),
    };
    Ok(flow.finish_page(req, render(StatusCode::OK, &page)))
}

// ---------------------------------------------------------------- handlers

/// The request a page's form or link names, checked: it exists, has not
/// expired, and belongs to this browser's session.
async fn load(
    app: &AppState,
    browser: &Browser,
    handle: &str,
) -> Result<(PendingAuthorization, Arc<Client>), PageError> {
    load_for(app, Some(browser), handle).await
}

/// As [`load`]; with `None` the session is not checked: a request handed
/// over from the plain-HTTP entry belongs to no browser yet, and its
/// one-time secret stands in for the session.
async fn load_for(
    app: &AppState,
    browser: Option<&Browser>,
    handle: &str,
) -> Result<(PendingAuthorization, Arc<Client>), PageError> {
    let gone = || {
        PageError::new(
            StatusCode::GONE,
            "Expired",
            "This sign-in is over or took too long. Go back to the application and start again.",
        )
    };
    if handle.len() > 64 {
        return Err(gone());
    }
    let req = app.store.get_pending_authorization(&hash_bearer(handle)).await?.ok_or_else(gone)?;
    let lang = crate::pages::Lang::negotiate(req.ui_locales.as_deref());
    let display = page_display(req.display);
    if req.expires_at <= app.now() {
        return Err(gone().shown(lang, display));
    }
    if let Some(browser) = browser
        && browser.session.as_ref().map(|s| hash_bearer(s.as_str())) != Some(req.session_hash.clone())
    {
        return Err(PageError::forbidden(
            "This sign-in was started in another browser session. Go back to the application and start again.",
        )
        .shown(lang, display));
    }
    let client = app.client(&req.client_id).await?.filter(|c| c.is_active()).ok_or_else(|| {
        PageError::bad_request("The application is no longer available.").shown(lang, display)
    })?;
    Ok((req, client))
}

/// GET `/authorize/resume?request=…`: the request's next step.
pub async fn resume_get(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let q = Form::parse_query(query.as_deref())?;
    let handle = q.field("request")?.to_owned();
    let browser = Browser::new(&app, peer, &headers);
    // From seed 001's plain-HTTP entry: no browser session owns the request
    // yet; the one-time secret decides who does.
    if let Some(secret) = q.get("handover") {
        let (req, client) = load_for(&app, None, &handle).await?;
        let mut flow = Flow {
            app: &app,
            browser: &browser,
            client: &client,
            handle: Some(handle.clone()),
            cookie: None,
            redirect_status: StatusCode::FOUND,
        };
        return flow.take_handover(req, secret).await;
    }
    let (req, client) = load(&app, &browser, &handle).await?;
    let mut flow = Flow {
        app: &app,
        browser: &browser,
        client: &client,
        handle: Some(handle),
        cookie: None,
        redirect_status: StatusCode::FOUND,
    };
    flow.advance(req).await
}

/// What every POST of these pages starts with.
struct Posted {
    form: Form,
    handle: String,
    browser: Browser,
}

fn posted(app: &AppState, peer: SocketAddr, headers: &HeaderMap, body: &[u8]) -> Result<Posted, PageError> {
    refuse_cross_site(headers)?;
    let form = Form::parse(headers, body)?;
    let handle = form.field("request")?.to_owned();
    Ok(Posted { form, handle, browser: Browser::new(app, peer, headers) })
}

fn flow<'a>(app: &'a AppState, p: &'a Posted, client: &'a Client) -> Flow<'a> {
    Flow {
        app,
        browser: &p.browser,
        client,
        handle: Some(p.handle.clone()),
        cookie: None,
        redirect_status: StatusCode::SEE_OTHER,
    }
}

/// POST `/authorize/login`: the number of the fallback; `method` is
/// `approve` (a prompt on the handset), `code` (a one-time code shown on
/// it), `restart` (another number) or `cancel`.
pub async fn login_post(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let p = posted(&app, peer, &headers, &body)?;
    let (mut req, client) = load(&app, &p.browser, &p.handle).await?;
    let mut flow = flow(&app, &p, &client);
    let back = resume_url(&p.handle);
    let method = match p.form.field("method")? {
        "approve" => HandsetMethod::Approve,
        "code" => HandsetMethod::Code,
        "restart" => {
            SITE.verify_csrf(&app, &headers, &p.form, &p.handle, "login", &back).await?;
            req.handset = None;
            flow.save(&mut req).await?;
            return see_other(&back);
        }
        "cancel" => {
            SITE.verify_csrf(&app, &headers, &p.form, &p.handle, "login", &back).await?;
            return flow.fail(&req, OAuthError::access_denied("consent denied")).await;
        }
        _ => return Err(PageError::bad_request("Unknown choice.").back(back)),
    };
    let Some(msisdn) = p.form.get("msisdn").and_then(normalise_number) else {
        return login_page(&mut flow, &mut req, Some(Notice::BadNumber), StatusCode::BAD_REQUEST).await;
    };
    SITE.verify_csrf(&app, &headers, &p.form, &p.handle, "login", &back).await?;
    let t = app.now();
    let ttl = app.config.authorize.handset_ttl_secs;
    let subscriber = match Msisdn::parse(&msisdn) {
        Ok(m) => app.network.resolve_hint(&LoginHint::Tel(m), t).await?.filter(Subscriber::is_active),
        Err(_) => None,
    };
    let code = (method == HandsetMethod::Code).then(generate_otp);
    let mut login = HandsetLogin {
        subscriber_id: String::new(),
        shown_number: masked_number(&msisdn),
        method,
        prompt_id: random_token::<16>(),
        code_hash: code.as_deref().map(otp_hash),
        attempts: 0,
        expires_at: t + ttl,
    };
    // A number that is nobody's gets the same page: the page must not tell
    // who is a subscriber. Nothing is sent, and nothing can succeed.
    if let Some(sub) = subscriber {
        // The simulated handset's policy answers a prompt to approve at once.
        let status = match (method, sub.handset_policy) {
            (HandsetMethod::Approve, HandsetPolicy::AutoApprove) => PromptStatus::Approved,
            (HandsetMethod::Approve, HandsetPolicy::AutoDeny) => PromptStatus::Denied,
            _ => PromptStatus::Pending,
        };
        let prompt = Prompt {
            id: login.prompt_id.clone(),
            subscriber_id: sub.id.clone(),
            kind: method.prompt_kind().into(),
            reference: req.id_hash.clone(),
            client_id: client.client_id.clone(),
            client_name: client.name.clone(),
            purpose: None,
            scopes: Vec::new(),
            status,
            created_at: t,
            expires_at: t + ttl,
            code,
        };
        // Bounded per subscriber and per (subscriber, client) (SECURITY.md 30): past the bound nothing
        // is sent, and the page still looks the same.
        if app.store.insert_prompt(&prompt, app.config.ciba.prompt_bounds(), t).await? {
            login.subscriber_id = sub.id.clone();
            if status == PromptStatus::Pending {
                app.network.notify_handset(&sub, &prompt).await;
            }
        }
    }
    req.handset = Some(login);
    flow.save(&mut req).await?;
    see_other(&back)
}

/// POST `/authorize/code`: the one-time code typed (`decision=check`), or
/// `decision=restart`.
pub async fn code_post(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let p = posted(&app, peer, &headers, &body)?;
    let (mut req, client) = load(&app, &p.browser, &p.handle).await?;
    let mut flow = flow(&app, &p, &client);
    let back = resume_url(&p.handle);
    let restart = p.form.get("decision") == Some("restart");
    SITE.verify_csrf(&app, &headers, &p.form, &p.handle, "code", &back).await?;
    let Some(mut login) = req.handset.clone().filter(|h| h.method == HandsetMethod::Code) else {
        return see_other(&back);
    };
    if restart {
        req.handset = None;
        flow.save(&mut req).await?;
        return see_other(&back);
    }
    let t = app.now();
    let typed = p.form.get("code").unwrap_or("");
    match login.check_code(typed, app.config.authorize.otp_max_attempts, t) {
        CodeCheck::Accepted if !login.subscriber_id.is_empty() => {
            let sub = login.subscriber_id.clone();
            // Off the handset's list: it has been used.
            crate::oauth::ciba::answer_prompt(&app, &sub, &login.prompt_id, true).await?;
            let auth = Authentication { subscriber_id: sub, amr: login.method.amr(), auth_time: t };
            flow.log_in(&mut req, auth).await?;
            flow.save(&mut req).await?;
            Ok(flow.finish(see_other(&back)?))
        }
        CodeCheck::Wrong { left } => {
            // The attempt is counted before the page answers, and the write
            // is conditional: parallel guesses cannot share one count.
            req.handset = Some(login);
            code_page(&mut flow, &mut req, Some(left)).await
        }
        CodeCheck::Accepted | CodeCheck::Exhausted | CodeCheck::Expired => {
            req.handset = None;
            login_page(&mut flow, &mut req, Some(Notice::StartAgain), StatusCode::BAD_REQUEST).await
        }
    }
}

/// POST `/authorize/confirm`: `prompt=login` with line authentication;
/// `decision=continue` authenticates the line again, `cancel` refuses.
pub async fn confirm_post(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let p = posted(&app, peer, &headers, &body)?;
    let (mut req, client) = load(&app, &p.browser, &p.handle).await?;
    let mut flow = flow(&app, &p, &client);
    let back = resume_url(&p.handle);
    let decision = p.form.field("decision")?.to_owned();
    SITE.verify_csrf(&app, &headers, &p.form, &p.handle, "confirm", &back).await?;
    if decision != "continue" {
        return flow.fail(&req, OAuthError::access_denied("consent denied")).await;
    }
    // Whoever the line is now: a page confirmed from another line proves nothing.
    if let Some(sub) = flow.line_subscriber().await? {
        let auth =
            Authentication { subscriber_id: sub.id, amr: vec![AMR_NBA.to_owned()], auth_time: app.now() };
        flow.log_in(&mut req, auth).await?;
        flow.save(&mut req).await?;
    }
    Ok(flow.finish(see_other(&back)?))
}

/// POST `/authorize/consent`: `decision=allow` with a `scope:<scope>=on`
/// for each ticked box, or `decision=deny`.
pub async fn consent_post(
    State(app): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let p = posted(&app, peer, &headers, &body)?;
    let (req, client) = load(&app, &p.browser, &p.handle).await?;
    let flow = flow(&app, &p, &client);
    let back = resume_url(&p.handle);
    let Some(auth) = req.authenticated.clone() else {
        return see_other(&back);
    };
    let allow = match p.form.field("decision")? {
        "allow" => true,
        "deny" => false,
        _ => return Err(PageError::bad_request("The decision is allow or deny.").back(back)),
    };
    SITE.verify_csrf(&app, &headers, &p.form, &p.handle, "consent", &back).await?;
    if !allow {
        return flow.fail(&req, OAuthError::access_denied("consent denied")).await;
    }
    let ticked: Vec<String> = req
        .consent_scopes
        .iter()
        .filter(|s| p.form.get(&format!("scope:{s}")) == Some("on"))
        .cloned()
        .collect();
    let granted = granted_scopes(&req.scopes, &req.consent_scopes, &ticked);
    // Nothing left but the right to refresh nothing: that is a refusal.
    if !granted.iter().any(|s| s != "offline_access") {
        return flow.fail(&req, OAuthError::access_denied("consent denied")).await;
    }
    let purpose = Purpose::parse(&req.consent_purpose)
        .map_err(|_| PageError::bad_request("The request's purpose is not valid."))?;
    let ticked_scopes: Vec<Scope> = ticked.iter().filter_map(|s| Scope::parse(s).ok()).collect();
    crate::oauth::consent::grant(&app, &auth.subscriber_id, &req.client_id, &purpose, &ticked_scopes).await?;
    flow.complete(&req, &auth, granted).await
}
