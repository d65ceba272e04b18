//! The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2) with
//! network-based authentication (CAMARA profile §1.4), seed 001's handset
//! fallback, the consent page, and authorization codes.
//!
//! ```text
//! GET|POST /authorize (+ aliases) ─► request::validate     client, redirect URI (page on error), request
//!                                                          object, PKCE, prompt, scopes, legal bases
//!   ─► advance (every step below, again after each page)
//!      1. who: the login session (unless prompt=login or max_age says no)
//!              │ else the handset's answer (fallback in progress)
//!              │ else the line: Network::resolve_address(socket peer or trusted proxy) ─► amr=["nba"]
//!              │      (prompt=login: confirm page first)
//!              └ else prompt=none ─► login_required │ the number page (pages::login_page)
//!      (seed 002: a flow enabled for a number must end with that subscriber)
//!      2. consent: scopes whose legal basis is `consent` and not yet given
//!              └ prompt=none ─► consent_required │ the consent page (pages::consent_page)
//!      3. issue_code ─► 302 redirect_uri?code&state&iss[&scope]
//! POST /authorize/login    number ─► handset prompt (approve/deny) or one-time code
//! POST /authorize/code     the code typed ─► HandsetLogin::check_code (bounded attempts)
//! POST /authorize/confirm  prompt=login with line authentication
//! POST /authorize/consent  ticked scopes ─► consent::grant ─► issue_code ─► 303
//! GET  /authorize/resume   advance again (the handset wait page reloads it)
//! ```
//!
//! The request in progress is a Store record (`PendingAuthorization`) whose
//! handle the pages carry; it is bound to the browser's session cookie, so
//! any node serves any step and another browser holding the handle gets
//! nowhere. A login session (who, how, when) is a Store record behind the
//! same `HttpOnly; SameSite=Lax` cookie, whose id changes on every login.

mod i18n;
mod pages;
pub mod request;

use crate::errors::no_store;
use crate::infra::state::{App, AppState};
use crate::pages::{Frame, PageError, PageSite, SameSite, Session};
use crate::routes;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, OriginalUri, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use netauth_domain::UnixTime;
use netauth_domain::authorize::{
    ACR_LOA2, AMR_NBA, Authentication, AuthorizationCode, HandsetMethod, LoginSession, PendingAuthorization,
    session_satisfies,
};
use netauth_domain::ciba::PromptStatus;
use netauth_domain::client::Client;
use netauth_domain::consent::ConsentStatus;
use netauth_domain::crypto::{hash_bearer, random_token};
use netauth_domain::subscriber::Subscriber;
use netauth_proto::authorize::{authorization_response_url, error_response_url};
use netauth_proto::{Form, LoginHint, Msisdn, OAuthError, OAuthErrorCode};
use netauth_store::StoreError;
use std::net::{IpAddr, SocketAddr};

/// The pages of the flow. The cookie's path is `/` because the flow runs
/// under `/authorize` and under each seed's alias; `SameSite=Lax` because
/// the browser arrives by a top-level navigation from the client's site.
pub const SITE: PageSite = PageSite {
    name: "netauth",
    frame: Frame::Sheet,
    cookie: "netauth_session",
    cookie_path: "/",
    same_site: SameSite::Lax,
    csrf_sector: "csrf:authorize",
    replay_scope: "pages:authorize",
    csrf_ttl: 600,
};

/// A consumed code is remembered this long, so that a second use still
/// revokes what the first one produced (SECURITY.md 4).
const CODE_MEMORY_SECS: i64 = 86400;

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    for p in routes::AUTHORIZE.paths() {
        r = r.route(p, get(authorize_get).post(authorize_post));
    }
    r = r
        .route(routes::AUTHORIZE_RESUME.path, get(pages::resume_get))
        .route(routes::AUTHORIZE_LOGIN.path, post(pages::login_post))
        .route(routes::AUTHORIZE_CODE.path, post(pages::code_post))
        .route(routes::AUTHORIZE_CONFIRM.path, post(pages::confirm_post))
        .route(routes::AUTHORIZE_CONSENT.path, post(pages::consent_post));
    crate::pages::site_router(&SITE, r)
}

/// The browser side of a request: its session cookie and its line.
pub(crate) struct Browser {
    pub session: Option<Session>,
    /// Where the request came from (socket peer, or what a trusted proxy saw).
    pub line: Option<(IpAddr, Option<u16>)>,
    /// Header enrichment by a trusted proxy (`authorize.msisdn_header`).
    pub enriched: Option<String>,
}

impl Browser {
    pub fn new(app: &App, peer: SocketAddr, headers: &HeaderMap) -> Self {
        let trusted = &app.config.server.trusted_proxies;
        let from_proxy = trusted.contains(&crate::network::canonical_ip(peer.ip()));
        let header_name = app.config.authorize.msisdn_header.as_str();
        let enriched = (from_proxy && !header_name.is_empty())
            .then(|| headers.get(header_name).and_then(|v| v.to_str().ok()).map(str::to_owned))
            .flatten();
        Self {
            session: SITE.session_from(headers),
            line: crate::infra::client_ip::line_endpoint(peer, headers, trusted),
            enriched,
        }
    }
}

/// The socket peer (unspecified when the router runs without connection
/// info, as in-process tests may: such a caller is nobody's line).
pub struct Peer(pub SocketAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        Ok(Peer(peer.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))))
    }
}

pub async fn authorize_get(
    State(app): State<AppState>,
    Peer(peer): Peer,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    authorize(&app, peer, uri.path(), &headers, form, StatusCode::FOUND).await
}

/// OIDC Core §3.1.2.1: the same request as a form POST.
pub async fn authorize_post(
    State(app): State<AppState>,
    Peer(peer): Peer,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = crate::oauth::parse_form(&headers, &body).map_err(|r| r.error);
    authorize(&app, peer, uri.path(), &headers, form, StatusCode::SEE_OTHER).await
}

async fn authorize(
    app: &AppState,
    peer: SocketAddr,
    path: &str,
    headers: &HeaderMap,
    form: Result<Form, OAuthError>,
    redirect_status: StatusCode,
) -> Response {
    // A request that cannot even be read (a repeated parameter, say) is
    // not trusted with a redirect.
    let form = match form {
        Ok(f) => f,
        Err(e) => {
            return PageError::bad_request(format!("The request is malformed: {}.", e.description))
                .into_response();
        }
    };
    let endpoint_url = format!("{}{}", app.issuer, path);
    let v = match request::validate(app, &form, &endpoint_url).await {
        Ok(v) => v,
        Err(request::Rejection::Page(e)) => return e.into_response(),
        Err(request::Rejection::Redirect { redirect_uri, error, state }) => {
            let error = in_dialect(path, error);
            return redirect(
                &error_response_url(&redirect_uri, &error, state.as_deref(), &app.issuer),
                redirect_status,
            );
        }
    };
    let mut pending = v.pending;
    pending.entry_path = path.to_owned();
    match crate::oauth::network_enablement::bind_to_enablement(app, &v.client, &mut pending).await {
        Ok(netauth_domain::enablement::Binding::Expired) => {
            let e = OAuthError::access_denied("the Network Enablement of this request has expired");
            let url = error_response_url(&pending.redirect_uri, &e, pending.state.as_deref(), &app.issuer);
            return redirect(&url, redirect_status);
        }
        Ok(_) => {}
        Err(e) => return PageError::from(e).into_response(),
    }
    let browser = Browser::new(app, peer, headers);
    let mut flow =
        Flow { app, browser: &browser, client: &v.client, handle: None, cookie: None, redirect_status };
    if is_entry(app, headers) {
        return flow.hand_over(pending).await.unwrap_or_else(IntoResponse::into_response);
    }
    flow.advance(pending).await.unwrap_or_else(IntoResponse::into_response)
}

/// Whether a request came to seed 001's plain-HTTP entry (its `Host` is
/// `authorize.entry_url`'s). A client that sends that `Host` elsewhere only
/// gets the hand-over it would have got there.
fn is_entry(app: &App, headers: &HeaderMap) -> bool {
    let Some(entry) = app.config.authorize.entry_host() else { return false };
    headers.get(header::HOST).and_then(|v| v.to_str().ok()).is_some_and(|h| h.eq_ignore_ascii_case(entry))
}

/// Seed 001 words a refusal its own way ("The resource owner denied the
/// request"); everywhere else it is seed 003's "consent denied".
fn in_dialect(path: &str, mut e: OAuthError) -> OAuthError {
    if e.code == OAuthErrorCode::AccessDenied && path == "/oauth/v2/authorize" {
        e.description = "The resource owner denied the request".into();
    }
    e
}

pub(crate) fn redirect(location: &str, status: StatusCode) -> Response {
    let mut r = match HeaderValue::from_str(location) {
        Ok(v) => (status, [(header::LOCATION, v)]).into_response(),
        Err(_) => {
            return PageError::bad_request("The address to return to cannot be used.").into_response();
        }
    };
    no_store(&mut r);
    r
}

/// One run of the flow for one request of the browser.
pub(crate) struct Flow<'a> {
    pub app: &'a AppState,
    pub browser: &'a Browser,
    pub client: &'a Client,
    /// The request's handle, once it is stored.
    pub handle: Option<String>,
    /// A new session cookie to set with the response.
    pub cookie: Option<HeaderValue>,
    /// 302 after a GET, 303 after a POST (SECURITY.md 12).
    pub redirect_status: StatusCode,
}

impl Flow<'_> {
    fn now(&self) -> UnixTime {
        self.app.now()
    }

    /// The session the pages are bound to: a new one made during this
    /// response, else the browser's.
    pub fn session(&self) -> Option<Session> {
        self.cookie
            .as_ref()
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .and_then(|kv| kv.split_once('='))
            .and_then(|(_, v)| Session::parse(v))
            .or_else(|| self.browser.session.clone())
    }

    /// Adds the cookie, if one was made, to a response.
    pub fn finish(&self, resp: Response) -> Response {
        crate::pages::with_cookie(resp, self.cookie.clone())
    }

    /// A page of this request: its forms end, through a redirect, at the
    /// client's redirect URI, which the page's CSP must allow.
    pub fn finish_page(&self, req: &PendingAuthorization, mut resp: Response) -> Response {
        resp.extensions_mut().insert(crate::pages::FormTarget(req.redirect_uri.clone()));
        self.finish(resp)
    }

    /// Back to the client with an error; the request is over.
    pub async fn fail(&self, req: &PendingAuthorization, error: OAuthError) -> Result<Response, PageError> {
        self.forget(req).await?;
        let error = in_dialect(&req.entry_path, error);
        let url = error_response_url(&req.redirect_uri, &error, req.state.as_deref(), &self.app.issuer);
        Ok(self.finish(redirect(&url, self.redirect_status)))
    }

    async fn forget(&self, req: &PendingAuthorization) -> Result<(), StoreError> {
        if self.handle.is_some() {
            self.app.store.delete_pending_authorization(&req.id_hash).await?;
        }
        Ok(())
    }

    /// Saves the request for its pages: inserted the first time (with a new
    /// handle, bound to the browser's session, made if it has none), then
    /// replaced only if nobody else wrote it in between.
    pub async fn save(&mut self, req: &mut PendingAuthorization) -> Result<String, PageError> {
        let t = self.now();
        if let Some(h) = &self.handle {
            req.version += 1;
            if !self.app.store.update_pending_authorization(req).await? {
                return Err(PageError::new(
                    StatusCode::CONFLICT,
                    "Try again",
                    "This sign-in was changed in another window. Reload the page.",
                ));
            }
            return Ok(h.clone());
        }
        let session = match self.session() {
            Some(s) => s,
            None => {
                let (s, c) = SITE.new_session(self.app.issuer.starts_with("https://"));
                self.cookie = c;
                s
            }
        };
        let handle = random_token::<16>();
        req.id_hash = hash_bearer(&handle);
        req.session_hash = hash_bearer(session.as_str());
        req.version = 0;
        req.created_at = t;
        req.expires_at = t + self.app.config.authorize.request_ttl_secs;
        self.app.store.insert_pending_authorization(req).await?;
        self.handle = Some(handle.clone());
        Ok(handle)
    }

    /// The browser's login session, if it has a live one for an active
    /// subscriber.
    async fn login_session(&self) -> Result<Option<LoginSession>, StoreError> {
        let Some(s) = &self.browser.session else { return Ok(None) };
        let Some(ls) = self.app.store.get_login_session(&hash_bearer(s.as_str())).await? else {
            return Ok(None);
        };
        if ls.expires_at <= self.now() {
            return Ok(None);
        }
        let active =
            self.app.network.subscriber(&ls.auth.subscriber_id).await?.is_some_and(|s| s.is_active());
        Ok(active.then_some(ls))
    }

    /// The subscriber the network says is behind this request's line.
    pub async fn line_subscriber(&self) -> Result<Option<Subscriber>, StoreError> {
        let found = if let Some(m) = &self.browser.enriched {
            match Msisdn::parse(m.trim()) {
                Ok(m) => self.app.network.resolve_hint(&LoginHint::Tel(m), self.now()).await?,
                Err(_) => None,
            }
        } else if let Some((ip, port)) = self.browser.line {
            self.app.network.resolve_address(ip, port).await?
        } else {
            None
        };
        Ok(found.filter(Subscriber::is_active))
    }

    /// A fresh authentication: a new login session (a new id, so a session
    /// fixed before the login is worth nothing) replacing the browser's.
    pub async fn log_in(
        &mut self,
        req: &mut PendingAuthorization,
        auth: Authentication,
    ) -> Result<(), StoreError> {
        let t = self.now();
        let (s, c) = SITE.new_session(self.app.issuer.starts_with("https://"));
        self.app
            .store
            .insert_login_session(&LoginSession {
                id_hash: hash_bearer(s.as_str()),
                auth: auth.clone(),
                created_at: t,
                expires_at: t + self.app.config.authorize.session_ttl_secs,
            })
            .await?;
        if let Some(old) = &self.browser.session {
            self.app.store.delete_login_session(&hash_bearer(old.as_str())).await?;
        }
        self.cookie = c;
        req.session_hash = hash_bearer(s.as_str());
        req.authenticated = Some(auth);
        req.handset = None;
        Ok(())
    }

    /// Seed 001's plain-HTTP entry ("a simple http page to initiate the
    /// flow; all other pages must be https"): the line is recognised here,
    /// where the operator's proxy could enrich the request, and nothing is
    /// shown. The request is stored bound to no browser, and the browser is
    /// sent to the `https` issuer's `/authorize/resume` with a one-time
    /// secret, which binds it there to whoever presents it first.
    async fn hand_over(&mut self, mut req: PendingAuthorization) -> Result<Response, PageError> {
        let t = self.now();
        if !req.prompt.login
            && let Some(sub) = self.line_subscriber().await?
        {
            req.authenticated = Some(Authentication {
                subscriber_id: sub.id.clone(),
                amr: vec![AMR_NBA.to_owned()],
                auth_time: t,
            });
        }
        let handle = random_token::<16>();
        let secret = random_token::<16>();
        req.id_hash = hash_bearer(&handle);
        req.handover_hash = Some(hash_bearer(&secret));
        // No browser holds this session: only the hand-over can take it.
        req.session_hash = hash_bearer(&random_token::<16>());
        req.version = 0;
        req.created_at = t;
        req.expires_at = t + self.app.config.authorize.request_ttl_secs;
        self.app.store.insert_pending_authorization(&req).await?;
        let url = format!(
            "{}{}?request={handle}&handover={secret}",
            self.app.issuer,
            routes::AUTHORIZE_RESUME.path
        );
        Ok(redirect(&url, self.redirect_status))
    }

    /// The `https` side of [`Flow::hand_over`]: the secret is checked and
    /// cleared in one conditional write (of two browsers racing with it,
    /// one wins), and the request is bound to a new session of this browser.
    pub async fn take_handover(
        &mut self,
        mut req: PendingAuthorization,
        secret: &str,
    ) -> Result<Response, PageError> {
        let matches = req
            .handover_hash
            .as_deref()
            .is_some_and(|h| netauth_domain::crypto::ct_eq(h.as_bytes(), hash_bearer(secret).as_bytes()));
        if !matches {
            return Err(PageError::forbidden(
                "This sign-in link was already used. Go back to the application and start again.",
            ));
        }
        let (s, c) = SITE.new_session(self.app.issuer.starts_with("https://"));
        req.handover_hash = None;
        req.session_hash = hash_bearer(s.as_str());
        self.cookie = c;
        self.save(&mut req).await?;
        self.advance(req).await
    }

    /// Takes the request as far as it can go without the person: a page to
    /// show, or the response to the client.
    pub async fn advance(&mut self, mut req: PendingAuthorization) -> Result<Response, PageError> {
        let t = self.now();
        // 1. Who.
        let mut auth = req.authenticated.clone();
        if auth.is_none()
            && let Some(ls) = self.login_session().await?
            && session_satisfies(&ls, &req.prompt, req.max_age, t)
        {
            auth = Some(ls.auth);
        }
        if auth.is_none()
            && let Some(h) = req.handset.clone()
            && h.method == HandsetMethod::Approve
        {
            let answer = match h.subscriber_id.is_empty() {
                true => None,
                false => self
                    .app
                    .store
                    .get_prompt(&h.prompt_id)
                    .await?
                    .filter(|p| p.subscriber_id == h.subscriber_id),
            };
            match answer.map(|p| p.status) {
                Some(PromptStatus::Approved) => {
                    let a = Authentication {
                        subscriber_id: h.subscriber_id.clone(),
                        amr: h.method.amr(),
                        auth_time: t,
                    };
                    self.log_in(&mut req, a.clone()).await?;
                    if self.handle.is_some() {
                        self.save(&mut req).await?;
                    }
                    auth = Some(a);
                }
                Some(PromptStatus::Denied) => {
                    return self
                        .fail(&req, OAuthError::access_denied("the sign-in was declined on the handset"))
                        .await;
                }
                _ if t >= h.expires_at => {
                    req.handset = None;
                    self.save(&mut req).await?;
                    return pages::login_page(
                        self,
                        &mut req,
                        Some(pages::Notice::StartAgain),
                        StatusCode::OK,
                    )
                    .await;
                }
                _ => return pages::wait_page(self, &mut req).await,
            }
        }
        if auth.is_none()
            && let Some(sub) = self.line_subscriber().await?
        {
            if req.prompt.login {
                // Seed 003: with prompt=login "a page will ask him to confirm
                // the use of his identity".
                return pages::confirm_page(self, &mut req, &sub).await;
            }
            let a =
                Authentication { subscriber_id: sub.id.clone(), amr: vec![AMR_NBA.to_owned()], auth_time: t };
            self.log_in(&mut req, a.clone()).await?;
            if self.handle.is_some() {
                self.save(&mut req).await?;
            }
            auth = Some(a);
        }
        let Some(auth) = auth else {
            if req.prompt.none {
                return self
                    .fail(
                        &req,
                        OAuthError::new(
                            OAuthErrorCode::LoginRequired,
                            "The Authorization Server requires End-User authentication",
                        ),
                    )
                    .await;
            }
            if req.handset.as_ref().is_some_and(|h| h.method == HandsetMethod::Code && t < h.expires_at) {
                return pages::code_page(self, &mut req, None).await;
            }
            req.handset = None;
            return pages::login_page(self, &mut req, None, StatusCode::OK).await;
        };
        // Seed 002: a flow Network Enablement started ends with its number.
        if let Some(number) = &req.enabled_for
            && !crate::oauth::network_enablement::is_number(self.app, &auth.subscriber_id, number).await?
        {
            let e = OAuthError::access_denied(
                "the phone number authenticated is not the one this request is for",
            );
            return self.fail(&req, e).await;
        }
        // 2. Consent.
        let missing = self.missing_consents(&req, &auth.subscriber_id).await?;
        if req.prompt.consent || !missing.is_empty() {
            if req.prompt.none {
                return self
                    .fail(&req, OAuthError::new(OAuthErrorCode::ConsentRequired, "prompt none"))
                    .await;
            }
            req.authenticated = Some(auth);
            return pages::consent_page(self, &mut req).await;
        }
        // 3. The code.
        let granted = req.scopes.clone();
        self.complete(&req, &auth, granted).await
    }

    /// The request's scopes whose legal basis is `consent` and that the
    /// subscriber has not given to this client for this purpose.
    async fn missing_consents(
        &self,
        req: &PendingAuthorization,
        sub: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut missing = Vec::new();
        for s in &req.consent_scopes {
            let c = self.app.store.get_consent(sub, &req.client_id, s, &req.consent_purpose).await?;
            if !c.is_some_and(|c| c.status == ConsentStatus::Granted) {
                missing.push(s.clone());
            }
        }
        Ok(missing)
    }

    /// Issues the code and sends the browser back to the client.
    pub async fn complete(
        &self,
        req: &PendingAuthorization,
        auth: &Authentication,
        granted: Vec<String>,
    ) -> Result<Response, PageError> {
        let t = self.now();
        let code = random_token::<32>();
        let session_hash = self.session().map(|s| hash_bearer(s.as_str())).unwrap_or_default();
        let include_scope = granted != req.scopes || !req.scope_sent;
        let scope = granted.join(" ");
        let rec = AuthorizationCode {
            code_hash: hash_bearer(&code),
            client_id: req.client_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            redirect_uri_sent: req.redirect_uri_sent,
            code_challenge: req.code_challenge.clone(),
            nonce: req.nonce.clone(),
            session_hash,
            auth: auth.clone(),
            scopes: granted,
            purpose: req.purpose.clone(),
            acr: req.acr_requested.then(|| ACR_LOA2.to_owned()),
            id_token_claims: req.claims.id_token.clone(),
            grant_id: random_token::<16>(),
            created_at: t,
            expires_at: t + self.app.config.authorize.code_ttl_secs,
        };
        self.app.store.insert_code(&rec, t + CODE_MEMORY_SECS).await?;
        self.forget(req).await?;
        let mut p: Vec<(&str, &str)> = vec![("code", &code)];
        if let Some(s) = &req.state {
            p.push(("state", s));
        }
        if include_scope {
            p.push(("scope", &scope));
        }
        p.push(("iss", &self.app.issuer));
        let url = authorization_response_url(&req.redirect_uri, &p);
        Ok(self.finish(redirect(&url, self.redirect_status)))
    }
}
