//! The authorization-code flow over HTTP (seeds 001 and 003, the CAMARA
//! profile §1.4): line authentication from a subscriber's address (a
//! client bound to 127.10.0.N *is* subscriber N's phone), the handset
//! fallback (approve/deny and one-time code), the login session, consent
//! (full, partial, denied; remembered for CIBA), prompt and max_age, the
//! code grant with every client authentication method, ID tokens, refresh,
//! and seed 003's own token dialect.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

pub const CODE: &str = "authorization_code";
pub const REDIRECT: &str = "http://127.0.0.1:9001/callback";
const FRAUD: &str = "dpv:FraudPreventionAndDetection";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An app with the sandbox network: subscriber N is `+346000000NN` at 127.10.0.N.
pub async fn code_app() -> TestApp {
    let app = spawn_app().await;
    netauth_server::sandbox::load_demo_network(&app.app).await.unwrap();
    app
}

/// Subscriber N of the sandbox network.
pub fn msisdn(n: u8) -> String {
    format!("+346000000{n:02}")
}

/// A client of seed 001/003's kind: Basic, one loopback redirect URI, the
/// OIDC scopes, refresh allowed; `extra` overrides.
pub async fn oidc_client(app: &TestApp, method: &str, extra: Value) -> TestClient {
    let mut body = json!({
        "grant_types": [CODE, "refresh_token"],
        "scopes": ["openid", "phone", "offline_access", "sim-swap", "number-verification:verify"],
        "purposes": [FRAUD, "dpv:RequestedServiceProvision"],
        "redirect_uris": [REDIRECT],
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    app.create_client(method, body).await
}

/// A response, read once.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub location: Option<String>,
    pub body: String,
}

impl Resp {
    /// The value of a hidden (or any) form field on the page.
    pub fn field(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&needle).unwrap_or_else(|| panic!("no field {name} in {}", self.body));
        let rest = &self.body[at + needle.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// The query parameters of the redirect to the client.
    pub fn callback(&self) -> HashMap<String, String> {
        let loc = self
            .location
            .as_deref()
            .unwrap_or_else(|| panic!("not a redirect: {} {}", self.status, self.body));
        let (_, q) = loc.split_once('?').unwrap();
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }
}

/// A browser: its own cookie jar, optionally on a subscriber's line.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    /// A browser on `line` (127.10.0.N is subscriber N), or on no
    /// subscriber's line (127.0.0.1, "Wi-Fi").
    pub fn new(app: &TestApp, line: Option<u8>) -> Self {
        let ip = match line {
            Some(n) => Ipv4Addr::new(127, 10, 0, n),
            None => Ipv4Addr::LOCALHOST,
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(IpAddr::V4(ip))
            .build()
            .unwrap();
        Self { http, base: app.base.clone(), cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn read(&mut self, r: reqwest::Response) -> Resp {
        for c in r.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.insert(k.to_owned(), v.to_owned());
        }
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let location = headers.get("location").map(|v| v.to_str().unwrap().to_owned());
        Resp { status, headers, location, body: r.text().await.unwrap() }
    }

    pub async fn get(&mut self, path_or_url: &str) -> Resp {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let mut req = self.http.get(url);
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let r = req.send().await.unwrap();
        self.read(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let r = req.send().await.unwrap();
        self.read(r).await
    }

    /// Follows our own redirects (303 after a POST, the handset wait) until
    /// a page or a redirect to the client.
    pub async fn follow(&mut self, mut r: Resp) -> Resp {
        while let Some(loc) = r.location.clone() {
            if loc.starts_with('/') {
                r = self.get(&loc).await;
            } else {
                break;
            }
        }
        r
    }

    /// GET `/authorize` (or an alias) with `params`.
    pub async fn authorize(&mut self, path: &str, params: &[(&str, &str)]) -> Resp {
        let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        self.get(&format!("{path}?{q}")).await
    }

    /// Answers a page's form: `page` must be one of ours with a `request`
    /// and a `csrf` field.
    pub async fn submit(&mut self, page: &Resp, action: &str, extra: &[(&str, &str)]) -> Resp {
        let request = page.field("request");
        let csrf = page.field("csrf");
        let mut form: Vec<(&str, &str)> = vec![("request", &request), ("csrf", &csrf)];
        form.extend_from_slice(extra);
        let r = self.post(action, &form).await;
        self.follow(r).await
    }

    /// Allows everything on a consent page.
    pub async fn allow_all(&mut self, page: &Resp) -> Resp {
        assert_eq!(page.status, 200, "{}", page.body);
        let scopes: Vec<String> = page
            .body
            .match_indices("name=\"scope:")
            .map(|(i, _)| {
                let rest = &page.body[i + "name=\"".len()..];
                rest[..rest.find('"').unwrap()].to_owned()
            })
            .collect();
        let mut extra: Vec<(&str, &str)> = scopes.iter().map(|s| (s.as_str(), "on")).collect();
        extra.push(("decision", "allow"));
        self.submit(page, "/authorize/consent", &extra).await
    }
}

/// The standard request of a test: client, state, redirect_uri, scope.
pub fn params<'a>(c: &'a TestClient, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", c.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "st-1"),
    ]
}

/// The code of a completed flow: consent given if asked.
pub async fn code_for(b: &mut Browser, params: &[(&str, &str)]) -> String {
    let mut r = b.authorize("/authorize", params).await;
    if r.status == 200 && r.body.contains("/authorize/consent") {
        r = b.allow_all(&r).await;
    }
    let cb = r.callback();
    assert!(cb.contains_key("code"), "{cb:?} {}", r.body);
    cb["code"].clone()
}

pub async fn exchange(app: &TestApp, c: &TestClient, code: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut form = vec![("grant_type", CODE), ("code", code), ("redirect_uri", REDIRECT)];
    form.extend_from_slice(extra);
    let r = app.post_form("/token", Some((&c.client_id, c.secret.as_deref().unwrap())), &form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The claims of a JWT (unverified; the signature is checked where it matters).
pub fn claims(jwt: &str) -> Value {
    let p = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&netauth_domain::crypto::b64url_decode(p).unwrap()).unwrap()
}

// ---------------------------------------------------------------- seed 001

#[tokio::test]
async fn seed_001_line_authentication_and_denial_as_written() {
    let app = code_app().await;
    // The seed's client: one callback URL, Basic, default scopes.
    let c =
        oidc_client(&app, "client_secret_basic", json!({"scopes": ["openid", "phone", "offline_access"]}))
            .await;
    let mut phone = Browser::new(&app, Some(3));
    // Step 2, as written: /oauth/v2/authorize?client_id=&state=
    let page =
        phone.authorize("/oauth/v2/authorize", &[("client_id", &c.client_id), ("state", "1234")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("scope:phone"), "the consent page asks for the number: {}", page.body);
    let cookie =
        page.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(
        cookie.iter().any(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/")),
        "{cookie:?}"
    );
    // Step 3: the end user consents; the callback carries code and state.
    let r = phone.allow_all(&page).await;
    assert_eq!(r.status, 303);
    let cb = r.callback();
    assert!(r.location.as_deref().unwrap().starts_with(REDIRECT));
    assert_eq!(cb["state"], "1234");
    assert_eq!(cb["iss"], app.base);
    // Step 4: the one-time code at /oauth/v2/token with Basic.
    let resp = app
        .post_form(
            "/oauth/v2/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", CODE), ("code", &cb["code"])],
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let tok: Value = resp.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    assert!(tok["refresh_token"].is_string() && tok["id_token"].is_string(), "{tok}");
    let id = claims(tok["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["nba"]));
    assert_eq!(id["aud"], c.client_id.as_str());
    assert_eq!(id["azp"], c.client_id.as_str());
    assert_eq!(id["iss"], app.base);
    assert!(!id["sub"].as_str().unwrap().contains("600000003"), "pairwise, never the number");
    // Step 5: the token works (and says how the user was authenticated).
    let echo: Value = app.echo(tok["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(echo["amr"], json!(["nba"]));
    assert_eq!(echo["three_legged"], true);

    // The most common problem: the end user does not consent.
    let mut other = Browser::new(&app, Some(5));
    let page =
        other.authorize("/oauth/v2/authorize", &[("client_id", &c.client_id), ("state", "1234")]).await;
    let r = other.submit(&page, "/authorize/consent", &[("decision", "deny")]).await;
    assert_eq!(r.status, 303);
    let loc = r.location.unwrap();
    assert!(
        loc.starts_with(&format!("{REDIRECT}?error=access_denied&error_description=The%20resource%20owner%20denied%20the%20request&state=1234")),
        "{loc}"
    );
}

#[tokio::test]
async fn consent_is_remembered_and_prompt_none_is_silent() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut phone = Browser::new(&app, Some(4));
    let mut p = params(&c, "openid phone");
    p.push(("prompt", "none"));
    // Authenticated by the line, but no consent yet: consent_required, no page.
    let r = phone.authorize("/authorize", &p).await;
    assert_eq!(r.status, 302);
    let cb = r.callback();
    assert_eq!((cb["error"].as_str(), cb["error_description"].as_str()), ("consent_required", "prompt none"));
    assert_eq!(cb["state"], "st-1");
    assert_eq!(cb["iss"], app.base);
    // Consent once…
    code_for(&mut phone, &params(&c, "openid phone")).await;
    // …then prompt=none succeeds without a page, from the session or the line.
    let r = phone.authorize("/authorize", &p).await;
    assert_eq!(r.status, 302);
    assert!(r.callback().contains_key("code"));
    let mut fresh = Browser::new(&app, Some(4));
    assert!(fresh.authorize("/authorize", &p).await.callback().contains_key("code"), "no cookie: the line");
    // Off the mobile network and without a session: login_required.
    let mut wifi = Browser::new(&app, None);
    let cb = wifi.authorize("/authorize", &p).await.callback();
    assert_eq!(cb["error"], "login_required");
    assert_eq!(cb["error_description"], "The Authorization Server requires End-User authentication");
}

#[tokio::test]
async fn handset_fallback_with_a_one_time_code() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut wifi = Browser::new(&app, None);
    let mut p = params(&c, "openid phone");
    p.push(("login_hint", "tel:+34666666666"));
    let page = wifi.authorize("/authorize", &p).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("value=\"+34666666666\""), "login_hint pre-fills the number");
    let code_page =
        wifi.submit(&page, "/authorize/login", &[("msisdn", "+34 666 666 666"), ("method", "code")]).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert!(code_page.body.contains("name=\"code\""), "{}", code_page.body);
    assert!(code_page.body.contains("+34•••••••66"));
    // The handset shows the code.
    let prompts: Value = app
        .http
        .get(app.url("/sandbox/v1/handsets/+34666666666/prompts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let prompt =
        prompts["prompts"].as_array().unwrap().iter().find(|p| p["kind"] == "login_code").unwrap().clone();
    let otp = prompt["code"].as_str().unwrap().to_owned();
    assert_eq!(otp.len(), 6);
    let handset =
        app.http.get(app.url("/sandbox/handset/+34666666666")).send().await.unwrap().text().await.unwrap();
    assert!(handset.contains(&otp), "the handset page shows the code: {handset}");
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    let again = wifi.submit(&code_page, "/authorize/code", &[("code", wrong), ("decision", "check")]).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Attempts left: 2"), "{}", again.body);
    let consent = wifi.submit(&again, "/authorize/code", &[("code", &otp), ("decision", "check")]).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    let r = wifi.allow_all(&consent).await;
    let (s, tok) = exchange(&app, &c, &r.callback()["code"], &[]).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(claims(tok["id_token"].as_str().unwrap())["amr"], json!(["otp", "sms"]));
    // Number Verification refuses such tokens; the token says why.
    let echo: Value = app.echo(tok["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(echo["amr"], json!(["otp", "sms"]));
    // The session now serves prompt=none from the same browser.
    let mut p = params(&c, "openid phone");
    p.push(("prompt", "none"));
    assert!(wifi.authorize("/authorize", &p).await.callback().contains_key("code"));
}

#[tokio::test]
async fn one_time_codes_have_bounded_attempts_and_expire() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut wifi = Browser::new(&app, None);
    let page = wifi.authorize("/authorize", &params(&c, "openid phone")).await;
    let mut page =
        wifi.submit(&page, "/authorize/login", &[("msisdn", "+34666666666"), ("method", "code")]).await;
    let prompts: Value = app
        .http
        .get(app.url("/sandbox/v1/handsets/+34666666666/prompts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let otp = prompts["prompts"][0]["code"].as_str().unwrap().to_owned();
    let wrong = if otp == "000000" { "111111" } else { "000000" };
    for left in [2, 1] {
        page = wifi.submit(&page, "/authorize/code", &[("code", wrong), ("decision", "check")]).await;
        assert!(page.body.contains(&format!("Attempts left: {left}")), "{}", page.body);
    }
    let start_again = wifi.submit(&page, "/authorize/code", &[("code", wrong), ("decision", "check")]).await;
    assert!(start_again.body.contains("name=\"msisdn\""), "back to the number page: {}", start_again.body);
    assert!(start_again.body.contains("start again"));
    // Expiry: a new code, the clock past handset_ttl_secs.
    let page = wifi
        .submit(&start_again, "/authorize/login", &[("msisdn", "+34666666666"), ("method", "code")])
        .await;
    let prompts: Value = app
        .http
        .get(app.url("/sandbox/v1/handsets/+34666666666/prompts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let otp = prompts["prompts"][0]["code"].as_str().unwrap().to_owned();
    app.clock.advance_secs(301);
    let r = wifi.submit(&page, "/authorize/code", &[("code", &otp), ("decision", "check")]).await;
    assert!(r.body.contains("name=\"msisdn\""), "expired: {}", r.body);
}

#[tokio::test]
async fn handset_fallback_with_approve_and_deny() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut wifi = Browser::new(&app, None);
    let page = wifi.authorize("/authorize", &params(&c, "openid")).await;
    let wait =
        wifi.submit(&page, "/authorize/login", &[("msisdn", "+34666666666"), ("method", "approve")]).await;
    assert_eq!(wait.status, 200);
    assert!(wait.body.contains("http-equiv=\"refresh\""), "the wait page looks again by itself");
    let prompts: Value = app
        .http
        .get(app.url("/sandbox/v1/handsets/+34666666666/prompts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let prompt = prompts["prompts"][0].clone();
    assert_eq!(prompt["kind"], "login_approve");
    assert!(prompt.get("code").is_none());
    // Still waiting.
    let resume = format!("/authorize/resume?request={}", wait.field("request"));
    assert_eq!(wifi.get(&resume).await.status, 200);
    let ok = app
        .http
        .post(
            app.url(&format!("/sandbox/v1/handsets/+34666666666/prompts/{}", prompt["id"].as_str().unwrap())),
        )
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let r = wifi.get(&resume).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let (s, tok) = exchange(&app, &c, &r.callback()["code"], &[]).await;
    assert_eq!(s, 200);
    assert_eq!(claims(tok["id_token"].as_str().unwrap())["amr"], json!(["ussd"]));

    // Declined on the handset: access_denied.
    let mut wifi = Browser::new(&app, None);
    let page = wifi.authorize("/authorize", &params(&c, "openid")).await;
    let wait =
        wifi.submit(&page, "/authorize/login", &[("msisdn", "+34666666666"), ("method", "approve")]).await;
    let prompts: Value = app
        .http
        .get(app.url("/sandbox/v1/handsets/+34666666666/prompts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = prompts["prompts"][0]["id"].as_str().unwrap().to_owned();
    app.http
        .post(app.url(&format!("/sandbox/v1/handsets/+34666666666/prompts/{id}")))
        .json(&json!({"decision": "deny"}))
        .send()
        .await
        .unwrap();
    let r = wifi.get(&format!("/authorize/resume?request={}", wait.field("request"))).await;
    assert_eq!(r.callback()["error"], "access_denied");
    // A number nobody has gets the same wait page, and never succeeds.
    let mut wifi = Browser::new(&app, None);
    let page = wifi.authorize("/authorize", &params(&c, "openid")).await;
    let wait =
        wifi.submit(&page, "/authorize/login", &[("msisdn", "+34699999999"), ("method", "approve")]).await;
    assert_eq!(wait.status, 200);
    assert!(wait.body.contains("http-equiv=\"refresh\""));
}

// ---------------------------------------------------------------- seed 003

#[tokio::test]
async fn seed_003_oidc_flow_partial_grant_and_refresh_as_written() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut phone = Browser::new(&app, Some(6));
    let page = phone
        .authorize(
            "/openidconnect/fr/v1/authorize",
            &[
                ("response_type", "code"),
                ("client_id", &c.client_id),
                ("scope", "openid phone offline_access"),
                ("redirect_uri", REDIRECT),
                ("state", "upToYouData"),
                ("prompt", "login consent"),
                ("display", "touch"),
                ("nonce", "n-0S6_WzA2Mj"),
                ("ui_locales", "fr-FR en"),
                ("acr_values", "2 3"),
                ("login_hint", "tel:+34600000006"),
            ],
        )
        .await;
    // prompt=login: "a page will ask him to confirm the use of his identity".
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<html lang=\"fr\">") && page.body.contains("Confirmez"), "{}", page.body);
    assert!(page.body.contains("display-touch"));
    let consent = phone.submit(&page, "/authorize/confirm", &[("decision", "continue")]).await;
    assert!(consent.body.contains("Autoriser"), "{}", consent.body);
    // Partial grant: the phone number unticked.
    let r = phone.submit(&consent, "/authorize/consent", &[("decision", "allow")]).await;
    let cb = r.callback();
    assert_eq!(cb["scope"], "offline_access openid", "the callback names the scope actually granted");
    assert_eq!(cb["state"], "upToYouData");
    // Step 2, at the seed's path, exactly as its curl sends it.
    let resp = app
        .post_form(
            "/openidconnect/fr/v1/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", CODE), ("code", &cb["code"]), ("redirect_uri", REDIRECT)],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let tok: Value = resp.json().await.unwrap();
    assert_eq!(tok["expires_in"], 3600);
    let id = claims(tok["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["acr"], "2");
    assert!(id.get("phone_number").is_none());
    assert!(id["at_hash"].is_string() && id["auth_time"].is_i64());
    assert_eq!(tok["scope"], "offline_access openid");
    // Refresh with an invalid scope on the seed's path: the originally granted scope.
    let rt = tok["refresh_token"].as_str().unwrap().to_owned();
    let resp = app
        .post_form(
            "/openidconnect/fr/v1/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("redirect_uri", REDIRECT),
                ("scope", "openid cloud"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let again: Value = resp.json().await.unwrap();
    assert_eq!(again["scope"], "offline_access openid");
    // The same on the canonical path is invalid_scope.
    let rt = again["refresh_token"].as_str().unwrap();
    let (s, e, _) = error_of(
        app.post_form(
            "/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", "openid cloud")],
        )
        .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (400, "invalid_scope"));
}

#[tokio::test]
async fn seed_003_error_tables() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut phone = Browser::new(&app, Some(7));
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut p: Vec<(&str, String)> = vec![
            ("client_id", c.client_id.clone()),
            ("redirect_uri", REDIRECT.into()),
            ("state", "s t&x".into()),
            ("scope", "openid".into()),
            ("response_type", "code".into()),
        ];
        for (k, v) in extra {
            p.retain(|(x, _)| x != k);
            p.push((k, v.to_string()));
        }
        p
    };
    for (extra, error, description) in [
        (&[("response_type", "token")][..], "unsupported_response_type", "unsupported response type"),
        (&[("prompt", "sometimes")][..], "invalid_request", "invalid prompt value"),
        (&[("prompt", "none login")][..], "invalid_request", "invalid prompt value"),
        (&[("scope", "openid \"x")][..], "invalid_scope", "scope value cannot be understood"),
        (&[("max_age", "-1")][..], "invalid_request", "max_age must be a non-negative number of seconds"),
        (
            &[("request_uri", "urn:x")][..],
            "request_uri_not_supported",
            "request_uri is not supported; send the request object in `request`",
        ),
        (
            &[("claims", r#"{"id_token":{"phone_number":null}}"#), ("scope", "phone")][..],
            "invalid_request",
            "claims requested without the openid scope",
        ),
    ] {
        let p = base(extra);
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = phone.authorize("/openidconnect/fr/v1/authorize", &p).await;
        assert_eq!(r.status, 302, "{extra:?}: {}", r.body);
        let cb = r.callback();
        assert_eq!(cb["error"], error, "{extra:?}");
        assert_eq!(cb["error_description"], description, "{extra:?}");
        assert_eq!(cb["state"], "s t&x", "state echoed byte for byte");
        assert_eq!(cb["iss"], app.base);
    }
    // Token endpoint, on the seed's path.
    let orange = "/openidconnect/fr/v1/token";
    let (s, e, body) = error_of(
        app.post_form(orange, Some((&c.client_id, "wrong")), &[("grant_type", CODE), ("code", "x")]).await,
    )
    .await;
    assert_eq!((s, e.as_str()), (401, "invalid_client"), "{body}");
    let r =
        app.post_form(orange, Some((&c.client_id, "wrong")), &[("grant_type", CODE), ("code", "x")]).await;
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic realm="));
    let creds = Some((c.client_id.as_str(), c.secret.as_deref().unwrap()));
    let (s, e, body) = error_of(app.post_form(orange, creds, &[("grant_type", "password")]).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"));
    assert_eq!(body["error_description"], "The parameter grant_type is not valid");
    let (s, e, body) = error_of(
        app.post_form(orange, creds, &[("grant_type", CODE), ("code", "nope"), ("redirect_uri", REDIRECT)])
            .await,
    )
    .await;
    assert_eq!(
        (s, e.as_str(), body["error_description"].as_str()),
        (400, "invalid_grant", Some("Invalid authorization code"))
    );
    let (s, e, _) = error_of(app.post_form(orange, creds, &[("grant_type", CODE)]).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_request"));
    let code = code_for(&mut phone, &params(&c, "openid")).await;
    let (s, e, body) = error_of(
        app.post_form(
            orange,
            creds,
            &[("grant_type", CODE), ("code", &code), ("redirect_uri", "http://127.0.0.1:9001/other")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, e.as_str(), body["error_description"].as_str()),
        (400, "invalid_grant", Some("Invalid redirect_uri"))
    );
    // The canonical path keeps RFC 6749's code for an unknown grant.
    let (s, e, _) = error_of(app.post_form("/token", creds, &[("grant_type", "password")]).await).await;
    assert_eq!((s, e.as_str()), (400, "unsupported_grant_type"));
}

#[tokio::test]
async fn pages_speak_the_requested_language_and_display() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    for (locales, lang, word) in [
        ("es", "es", "Permitir"),
        ("nb-NO", "nb", "Tillat"),
        ("fr", "fr", "Autoriser"),
        ("de", "en", "Allow"),
    ] {
        let mut phone = Browser::new(&app, Some(8));
        let mut p = params(&c, "openid phone");
        p.push(("ui_locales", locales));
        let page = phone.authorize("/authorize", &p).await;
        assert!(page.body.contains(&format!("<html lang=\"{lang}\">")), "{locales}");
        assert!(page.body.contains(word), "{locales}: {}", page.body);
    }
    let mut wifi = Browser::new(&app, None);
    let mut p = params(&c, "openid");
    p.push(("display", "wap"));
    p.push(("ui_locales", "nb"));
    let page = wifi.authorize("/authorize", &p).await;
    assert!(page.body.contains("Logg inn"), "{}", page.body);
    assert!(!page.body.contains("<style>"), "wap pages work without CSS");
    assert!(page.body.contains("display-wap"));
}

// ---------------------------------------------------------------- login session

#[tokio::test]
async fn prompt_login_and_max_age_reauthenticate() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut phone = Browser::new(&app, Some(9));
    let code = code_for(&mut phone, &params(&c, "openid")).await;
    let (_, tok) = exchange(&app, &c, &code, &[]).await;
    let first = claims(tok["id_token"].as_str().unwrap())["auth_time"].as_i64().unwrap();
    app.clock.advance_secs(100);
    // Within max_age the session's auth_time stands.
    let mut p = params(&c, "openid");
    p.push(("max_age", "1000"));
    let (_, tok) = exchange(&app, &c, &code_for(&mut phone, &p).await, &[]).await;
    assert_eq!(claims(tok["id_token"].as_str().unwrap())["auth_time"], first);
    // max_age=10: too old, the line authenticates again.
    let mut p = params(&c, "openid");
    p.push(("max_age", "10"));
    let (_, tok) = exchange(&app, &c, &code_for(&mut phone, &p).await, &[]).await;
    let second = claims(tok["id_token"].as_str().unwrap())["auth_time"].as_i64().unwrap();
    assert_eq!(second, first + 100);
    // prompt=login: a confirmation page, then a fresh auth_time.
    app.clock.advance_secs(5);
    let mut p = params(&c, "openid");
    p.push(("prompt", "login"));
    let page = phone.authorize("/authorize", &p).await;
    assert!(page.body.contains("/authorize/confirm"), "{}", page.body);
    let r = phone.submit(&page, "/authorize/confirm", &[("decision", "continue")]).await;
    let (_, tok) = exchange(&app, &c, &r.callback()["code"], &[]).await;
    assert_eq!(claims(tok["id_token"].as_str().unwrap())["auth_time"], second + 5);
    // Off the network, max_age=0 with a session from the fallback asks again.
    let mut wifi = Browser::new(&app, None);
    let mut p = params(&c, "openid");
    p.push(("max_age", "0"));
    p.push(("prompt", "none"));
    assert_eq!(wifi.authorize("/authorize", &p).await.callback()["error"], "login_required");
}

// ---------------------------------------------------------------- CAMARA

#[tokio::test]
async fn consent_given_in_the_code_flow_serves_a_later_ciba_request() {
    let app = code_app().await;
    let c = oidc_client(
        &app,
        "client_secret_basic",
        json!({"grant_types": [CODE, "refresh_token", crate::ciba::CIBA]}),
    )
    .await;
    // The handset would ask; the consent page answers first.
    let put = app
        .http
        .put(app.url(&format!("/sandbox/v1/handsets/{}/policy", msisdn(2))))
        .json(&json!({"policy": "ask"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let mut phone = Browser::new(&app, Some(2));
    let page = phone.authorize("/authorize", &params(&c, &format!("openid {FRAUD} sim-swap"))).await;
    assert!(page.body.contains("scope:sim-swap") && page.body.contains("Fraud prevention"), "{}", page.body);
    let cb = phone.allow_all(&page).await.callback();
    let (s, tok) = exchange(&app, &c, &cb["code"], &[]).await;
    assert_eq!(s, 200, "{tok}");
    assert_eq!(tok["scope"], format!("{FRAUD} openid sim-swap"));
    // CIBA for the same client, scope and purpose: approved at once, no prompt.
    let login_hint = format!("tel:{}", msisdn(2));
    let id =
        crate::ciba::bc_ok(&app, &c, &[("login_hint", &login_hint), ("scope", &format!("{FRAUD} sim-swap"))])
            .await;
    assert_eq!(crate::ciba::poll(&app, &c, &id).await.0, 200);
    // And the admin API shows the consent and can revoke it.
    let consents: Value = app
        .admin(Method::GET, &format!("/subscribers/{}/consents", msisdn(2)), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(consents.to_string().contains("sim-swap"), "{consents}");
}

#[tokio::test]
async fn legitimate_interest_needs_no_page_and_purposes_are_checked() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut phone = Browser::new(&app, Some(1));
    // number-verification:verify for fraud prevention: legitimate interest in the sandbox.
    let r = phone
        .authorize("/authorize", &params(&c, &format!("openid {FRAUD} number-verification:verify")))
        .await;
    assert_eq!(r.status, 302, "{}", r.body);
    let (s, tok) = exchange(&app, &c, &r.callback()["code"], &[]).await;
    assert_eq!(s, 200);
    let echo: Value = app.echo(tok["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(echo["purpose"], FRAUD);
    // The seed-000 purpose syntax is the same request.
    let mut p = params(&c, "openid");
    p.push(("purpose", "dpv:FraudPreventionAndDetection#number-verification:verify"));
    assert_eq!(phone.authorize("/authorize", &p).await.status, 302);
    // A purpose the client may not declare, or a scope it may not ask.
    let cb = phone
        .authorize("/authorize", &params(&c, "openid dpv:IdentityVerification sim-swap"))
        .await
        .callback();
    assert_eq!(cb["error"], "invalid_scope");
    let cb = phone.authorize("/authorize", &params(&c, "openid sim-swap:retrieve-date")).await.callback();
    assert_eq!(cb["error"], "invalid_scope");
}

#[tokio::test]
async fn every_client_authentication_method_redeems_codes() {
    let app = code_app().await;
    for method in ["client_secret_basic", "client_secret_post", "private_key_jwt", "app_jwt"] {
        let c = oidc_client(&app, method, json!({})).await;
        let mut phone = Browser::new(&app, Some(10));
        let mut p = params(&c, "openid");
        p.push(("code_challenge", CHALLENGE));
        p.push(("code_challenge_method", "S256"));
        let code = code_for(&mut phone, &p).await;
        let form = [
            ("grant_type", CODE),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let resp = match method {
            "client_secret_basic" => {
                app.post_form("/token", Some((&c.client_id, c.secret.as_deref().unwrap())), &form).await
            }
            "client_secret_post" => {
                let mut f = form.to_vec();
                f.push(("client_id", &c.client_id));
                f.push(("client_secret", c.secret.as_deref().unwrap()));
                app.post_form("/token", None, &f).await
            }
            "private_key_jwt" => {
                let a = sign(&c, &assertion_claims(&c.client_id, &app.url("/token")));
                let mut f = form.to_vec();
                f.push(("client_assertion_type", ASSERTION_TYPE));
                f.push(("client_assertion", &a));
                app.post_form("/token", None, &f).await
            }
            _ => {
                let now = netauth_server::infra::clock::system_now();
                let jwt = sign(
                    &c,
                    &json!({"application_id": c.client_id, "iat": now, "exp": now + 60, "jti": random_name()}),
                );
                app.http.post(app.url("/oauth2/token")).bearer_auth(jwt).form(&form).send().await.unwrap()
            }
        };
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{method}: {body}");
        assert!(body["id_token"].is_string(), "{method}");
    }
}

#[tokio::test]
async fn signed_request_objects_and_the_demo_clients() {
    let app = code_app().await;
    let c = oidc_client(&app, "private_key_jwt", json!({})).await;
    let now = netauth_server::infra::clock::system_now();
    let object = json!({
        "iss": c.client_id, "aud": app.base, "iat": now, "exp": now + 60, "jti": random_name(),
        "client_id": c.client_id, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "openid phone", "state": "from-object", "nonce": "n1",
        "claims": {"id_token": {"phone_number": {"essential": true}, "phone_number_verified": null}},
    });
    let jwt = sign(&c, &object);
    let mut phone = Browser::new(&app, Some(3));
    let page = phone
        .authorize(
            "/authorize",
            &[
                ("client_id", &c.client_id),
                ("response_type", "code"),
                ("scope", "openid phone"),
                ("request", &jwt),
            ],
        )
        .await;
    let cb = phone.allow_all(&page).await.callback();
    assert_eq!(cb["state"], "from-object");
    let a = sign(&c, &assertion_claims(&c.client_id, &app.url("/token")));
    let resp = app
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", CODE),
                ("code", &cb["code"]),
                ("redirect_uri", REDIRECT),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &a),
            ],
        )
        .await;
    let tok: Value = resp.json().await.unwrap();
    let id = claims(tok["id_token"].as_str().unwrap());
    assert_eq!(id["phone_number"], msisdn(3), "claims asked phone_number, consent given");
    assert_eq!(id["phone_number_verified"], true);
    assert_eq!(id["nonce"], "n1");
    // The same object again (jti spent), a foreign aud, or plain parameters that differ.
    for bad in [
        jwt.clone(),
        sign(
            &c,
            &json!({"iss": c.client_id, "aud": "https://elsewhere", "iat": now, "exp": now + 60, "jti": random_name(), "client_id": c.client_id}),
        ),
    ] {
        let r = phone
            .authorize(
                "/authorize",
                &[("client_id", &c.client_id), ("redirect_uri", REDIRECT), ("request", &bad)],
            )
            .await;
        assert_eq!(r.callback()["error"], "invalid_request_object");
    }
    let other = sign(
        &c,
        &json!({"iss": c.client_id, "aud": app.base, "iat": now, "exp": now + 60, "jti": random_name(), "scope": "openid"}),
    );
    let r = phone
        .authorize(
            "/authorize",
            &[
                ("client_id", &c.client_id),
                ("redirect_uri", REDIRECT),
                ("scope", "phone"),
                ("request", &other),
            ],
        )
        .await;
    assert_eq!(r.callback()["error"], "invalid_request_object");

    // The sandbox's demo clients for seeds 001 and 003 (and CAMARA's) are listed with their redirect URIs.
    let dir = std::env::temp_dir().join(format!("netauth-demo-{}", random_name()));
    let secrets = netauth_server::sandbox::SandboxSecrets::new(&app.master_b64).unwrap();
    let demo = netauth_server::sandbox::load_demo_data(&app.app, &dir, &secrets).await.unwrap();
    let doc = serde_json::to_value(&demo).unwrap();
    for (id, uri) in [
        ("demo-telenor", "http://127.0.0.1:9001/callback"),
        ("demo-orange", "http://127.0.0.1:9003/callback"),
        ("demo-ciba-jwt", "http://127.0.0.1:9000/callback"),
    ] {
        let d = doc.as_array().unwrap().iter().find(|d| d["client_id"] == id).unwrap();
        assert_eq!(d["redirect_uris"], json!([uri]), "{id}");
        assert!(d["grant_types"].as_array().unwrap().contains(&json!(CODE)), "{id}");
    }
    let telenor = doc.as_array().unwrap().iter().find(|d| d["client_id"] == "demo-telenor").unwrap();
    assert_eq!(telenor["scopes"], json!(["openid", "phone", "offline_access"]));
    // Seed 001's minimal request works for it, on any local port.
    let mut phone = Browser::new(&app, Some(5));
    let page =
        phone.authorize("/oauth/v2/authorize", &[("client_id", "demo-telenor"), ("state", "1234")]).await;
    let cb = phone.allow_all(&page).await;
    assert!(cb.location.unwrap().starts_with("http://127.0.0.1:9001/callback?code="));
    let r = phone
        .authorize(
            "/authorize",
            &[
                ("client_id", "demo-orange"),
                ("redirect_uri", "http://127.0.0.1:51234/callback"),
                ("scope", "openid"),
                ("state", "x"),
            ],
        )
        .await;
    assert!(r.location.unwrap().starts_with("http://127.0.0.1:51234/callback?code="), "loopback: any port");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_flow_enabled_for_a_number_ends_with_that_subscriber() {
    use crate::network_enablement::{REDIRECT_URI, SEED_SCOPE, app_jwt, enable_ok, vonage_app};
    let app = code_app().await;
    let c = vonage_app(&app).await;
    let body = json!({"phone_number": msisdn(3), "scopes": [SEED_SCOPE], "state": "seed-002-state"});
    let v = enable_ok(&app, &app_jwt(&app, &c), &body).await;
    let url = v["scopes"][SEED_SCOPE]["auth_url"].as_str().unwrap().to_owned();
    // Another subscriber's phone follows the link: never a code.
    let mut other = Browser::new(&app, Some(4));
    let cb = other.get(&url).await.callback();
    assert_eq!(cb["error"], "access_denied", "{cb:?}");
    assert_eq!(cb["state"], "seed-002-state");
    // The enabled number's phone gets the code, and the application its token.
    let mut phone = Browser::new(&app, Some(3));
    let r = phone.get(&url).await;
    assert!(r.location.as_deref().unwrap().starts_with(REDIRECT_URI), "{r:?}");
    let code = r.callback()["code"].clone();
    let resp = app
        .http
        .post(app.url("/oauth2/token"))
        .bearer_auth(app_jwt(&app, &c))
        .form(&[("grant_type", CODE), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tok: Value = resp.json().await.unwrap();
    let echo: Value = app.echo(tok["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(echo["amr"], json!(["nba"]));
    assert_eq!(echo["scope"], "number-verification:verify");
}

#[tokio::test]
async fn any_node_serves_any_step_of_a_flow() {
    let app = code_app().await;
    let peer = spawn_peer(&app).await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut wifi = Browser::new(&app, None);
    let page = wifi.authorize("/authorize", &params(&c, "openid phone")).await;
    // The number on node B, the code on node A, the consent on node B, the token on node A.
    wifi.base = peer.base.clone();
    let code_page =
        wifi.submit(&page, "/authorize/login", &[("msisdn", "+34666666666"), ("method", "code")]).await;
    let prompts: Value = app
        .http
        .get(app.url("/sandbox/v1/handsets/+34666666666/prompts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let otp = prompts["prompts"][0]["code"].as_str().unwrap().to_owned();
    wifi.base = app.base.clone();
    let consent = wifi.submit(&code_page, "/authorize/code", &[("code", &otp), ("decision", "check")]).await;
    wifi.base = peer.base.clone();
    let cb = wifi.allow_all(&consent).await.callback();
    // (Each test node has its own issuer URL; a real installation has one.)
    assert_eq!(cb["iss"], peer.base);
    let (s, tok) = exchange(&app, &c, &cb["code"], &[]).await;
    assert_eq!(s, 200);
    assert_eq!(claims(tok["id_token"].as_str().unwrap())["amr"], json!(["otp", "sms"]));
}

#[tokio::test]
async fn the_pages_forms_may_end_at_the_client() {
    // Browsers apply form-action to the redirect after a form's POST: the
    // pages of a request name its client's origin, or Allow and Deny
    // cannot take the person back (Chromium refuses the navigation).
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut phone = Browser::new(&app, Some(5));
    let mut p = params(&c, "openid phone");
    // A loopback redirect URI on another port (RFC 8252 §7.3): that port.
    let other = "http://127.0.0.1:9444/callback";
    p.retain(|(k, _)| *k != "redirect_uri");
    p.push(("redirect_uri", other));
    let page = phone.authorize("/authorize", &p).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9444;"), "{csp}");
    // An error page (unknown client) has no client to go back to.
    let r = phone.authorize("/authorize", &[("client_id", "nobody"), ("state", "s")]).await;
    assert_eq!(r.status, 400);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self';"), "{csp}");
}
