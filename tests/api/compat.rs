//! Per-client compatibility profiles (issue #13, docs/operator-sdks.md):
//! the OAuth requests of Telefónica's and Vonage's SDKs, byte for byte as
//! the SDKs send them, succeed for the sandbox's demo clients that carry
//! those profiles; a client without a profile gets the CAMARA profile's
//! answers to the very same requests; the admin API and the CLI set and
//! remove a profile; the documented table is the code's.

use crate::authorize::{Browser, msisdn};
use crate::ciba::{CIBA, answer, ciba_app, prompts};
use crate::helpers::*;
use base64::Engine;
use netauth_domain::client::SigningAlg;
use netauth_domain::keys::SigningKey;
use netauth_server::infra::clock::Clock;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const FRAUD: &str = "dpv:FraudPreventionAndDetection";
/// Seed 000's subscriber: approves on its own.
const AUTO: &str = "+34655555555";
/// The CAMARA profile's example number: asks on the handset.
const ASKS: &str = "+34666666666";
const VONAGE_CHECK: &str = "dpv:FraudPreventionAndDetection#check-sim-swap";
const VONAGE_DATE: &str = "dpv:FraudPreventionAndDetection#retrieve-sim-swap-date";
const VONAGE_NV: &str = "dpv:FraudPreventionAndDetection#number-verification-verify-read";
const VONAGE_REDIRECT: &str = "http://127.0.0.1:9002/callback";

/// The sandbox's network and demo clients, as `netauth sandbox` makes them.
struct Demo {
    app: TestApp,
    clients: Value,
    dir: std::path::PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Demo {
    async fn new() -> Self {
        let app = ciba_app(|_| {}).await;
        let dir = std::env::temp_dir().join(format!("netauth-compat-{}", random_name()));
        let secrets = netauth_server::sandbox::SandboxSecrets::new(&app.master_b64).unwrap();
        let demo = netauth_server::sandbox::load_demo_data(&app.app, &dir, &secrets).await.unwrap();
        Self { app, clients: serde_json::to_value(&demo).unwrap(), dir }
    }

    fn client(&self, id: &str) -> &Value {
        self.clients.as_array().unwrap().iter().find(|c| c["client_id"] == id).unwrap()
    }

    /// The demo client's RS256 key, from its PEM file (as the SDK reads it).
    fn key(&self, id: &str) -> SigningKey {
        let pem = std::fs::read_to_string(self.client(id)["private_key_file"].as_str().unwrap()).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        SigningKey::from_pkcs8(SigningAlg::RS256, &der).unwrap()
    }
}

/// What vonage-jwt 1.1.5 makes for every request: RS256, `typ` JWT and no
/// `kid`; `application_id`, `iat`, a UUID `jti`, `exp` 15 minutes on.
fn vonage_jwt(app: &TestApp, key: &SigningKey, application_id: &str) -> String {
    let now = app.clock.now();
    let r = random_name();
    let jti = format!("{}-{}-4{}-a{}-{}{}", &r[..8], &r[8..12], &r[13..16], &r[1..4], r, &r[..4]);
    sign_with_header(
        key,
        &json!({"alg": "RS256", "typ": "JWT"}),
        &json!({"application_id": application_id, "iat": now, "jti": jti, "exp": now + 900}),
    )
}

/// One POST as vonage-http-client 1.5.2 sends it: `Accept:
/// application/json`, its User-Agent, a fresh application JWT, the form
/// body; `json_label` puts the `Content-Type: application/json` its shared
/// headers keep after any JSON call.
async fn vonage_post(
    app: &TestApp,
    jwt: &str,
    path: &str,
    form: &[(&str, &str)],
    json_label: bool,
) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let ct = if json_label { "application/json" } else { "application/x-www-form-urlencoded" };
    let resp = app
        .http
        .post(app.url(path))
        .header("user-agent", "vonage-python-sdk/None python/3.11.7")
        .header("accept", "application/json")
        .header("authorization", format!("Bearer {jwt}"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// One POST as opengateway-sandbox-sdk 1.1.0 sends it: Basic, the form.
async fn telefonica_post(
    app: &TestApp,
    id: &str,
    secret: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let resp = app.post_form(path, Some((id, secret)), form).await;
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// What the sandbox's echo sees in a token: its scopes and purpose.
async fn scope_and_purpose(app: &TestApp, token: &str) -> (String, String) {
    let v: Value = app.echo(token).await.json().await.unwrap();
    (v["scope"].as_str().unwrap().to_owned(), v["purpose"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn telefonica_sdk_requests_succeed_for_the_seed_000_demo_client() {
    let demo = Demo::new().await;
    let app = &demo.app;
    let c = demo.client("demo-ciba");
    assert_eq!(c["compat_profile"], "telefonica-sdk", "listed in sandbox.json with its profile");
    let secret = c["client_secret"].as_str().unwrap();
    // clientcredentials.py: bc-authorize, then /token until it is not 400.
    let (s, v) = telefonica_post(
        app,
        "demo-ciba",
        secret,
        "/apigateway/bc-authorize",
        &[
            ("purpose", "dpv:FraudPreventionAndDetection#sim-swap"),
            ("login_hint", "phone_number:+34655555555"),
            ("acr_values", "2"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["interval"].as_i64().unwrap() > 0 && v.get("consent_url").is_none(), "{v}");
    let id = v["auth_req_id"].as_str().unwrap();
    let (s, tok) = telefonica_post(
        app,
        "demo-ciba",
        secret,
        "/apigateway/token",
        &[("grant_type", CIBA), ("auth_req_id", id)],
    )
    .await;
    assert_eq!(s, 200, "{tok}");
    // `"{token_type} {access_token}"` is what it sends as Authorization.
    assert_eq!(tok["token_type"], "Bearer");
    let (scope, purpose) = scope_and_purpose(app, tok["access_token"].as_str().unwrap()).await;
    assert_eq!((scope.as_str(), purpose.as_str()), ("sim-swap", FRAUD), "a CAMARA token");
    // Seed 000's own flow (tel:, scope) is unchanged for the same client.
    let (s, v) = telefonica_post(
        app,
        "demo-ciba",
        secret,
        "/apigateway/bc-authorize",
        &[("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection#sim-swap")],
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Its code exchange sends `redirect_uri=whatever`: refused even under
    // the profile (exact redirect URI matching, RFC 6749 §4.1.3).
    let code_client = app
        .create_client(
            "client_secret_basic",
            json!({"grant_types": ["authorization_code"], "redirect_uris": ["http://127.0.0.1:9010/cb"],
                   "scopes": ["number-verification:verify"], "purposes": [FRAUD], "compat_profile": "telefonica-sdk"}),
        )
        .await;
    let mut phone = Browser::new(app, Some(3));
    let r = phone
        .get(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9010%2Fcb&purpose={}&state=s",
            code_client.client_id,
            "dpv%3AFraudPreventionAndDetection%23number-verification-verify-read",
        ))
        .await;
    let cb = r.callback();
    let code = cb.get("code").unwrap_or_else(|| panic!("{r:?}"));
    let (s, v) = telefonica_post(
        app,
        &code_client.client_id,
        code_client.secret.as_deref().unwrap(),
        "/apigateway/token",
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "whatever")],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_grant")), "{v}");
}

#[tokio::test]
async fn vonage_sdk_requests_succeed_for_the_seed_002_demo_client() {
    let demo = Demo::new().await;
    let app = &demo.app;
    let c = demo.client("demo-vonage");
    assert_eq!(c["compat_profile"], "vonage-sdk", "listed in sandbox.json with its profile");
    let key = demo.key("demo-vonage");
    let jwt = || vonage_jwt(app, &key, "demo-vonage");
    // NetworkSimSwap.check, then get_last_swap_date on the same client
    // object: the second pair carries the JSON label the check left behind.
    for (scope, json_label, expected) in
        [(VONAGE_CHECK, false, "sim-swap:check"), (VONAGE_DATE, true, "sim-swap:retrieve-date")]
    {
        let (s, v) = vonage_post(
            app,
            &jwt(),
            "/oauth2/bc-authorize",
            &[("login_hint", AUTO), ("scope", scope)],
            json_label,
        )
        .await;
        assert_eq!(s, 200, "{scope}: {v}");
        assert!(v["expires_in"].is_i64(), "{v}");
        let id = v["auth_req_id"].as_str().unwrap();
        // Once, at once.
        let (s, tok) = vonage_post(
            app,
            &jwt(),
            "/oauth2/token",
            &[("auth_req_id", id), ("grant_type", CIBA)],
            json_label,
        )
        .await;
        assert_eq!(s, 200, "{scope}: {tok}");
        let (scope, purpose) = scope_and_purpose(app, tok["access_token"].as_str().unwrap()).await;
        assert_eq!((scope.as_str(), purpose.as_str()), (expected, FRAUD), "a CAMARA token");
    }

    // NetworkNumberVerification: get_oidc_url's URL (its default scope),
    // followed on subscriber 3's line, the code exchanged with the JWT.
    let number = msisdn(3);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", "demo-vonage"),
            ("redirect_uri", VONAGE_REDIRECT),
            ("response_type", "code"),
            ("scope", &format!("openid {VONAGE_NV}")),
            ("state", "a-state"),
            ("login_hint", &number),
        ])
        .finish();
    let mut phone = Browser::new(app, Some(3));
    let r = phone.get(&format!("/oauth2/auth?{query}")).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let cb = r.callback();
    assert_eq!(cb["state"], "a-state", "{cb:?}");
    let (s, tok) = vonage_post(
        app,
        &jwt(),
        "/oauth2/token",
        &[("code", &cb["code"]), ("redirect_uri", VONAGE_REDIRECT), ("grant_type", "authorization_code")],
        false,
    )
    .await;
    assert_eq!(s, 200, "{tok}");
    let resp = app
        .http
        .post(app.url("/number-verification/v2/verify"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .json(&json!({"phoneNumber": number}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["devicePhoneNumberVerified"], true, "a number-verification:verify token: {v}");
}

/// A client registered like the demo clients but without a profile, then
/// given one through the admin API, then none again.
async fn strict_client(app: &TestApp) -> TestClient {
    crate::ciba::ciba_client(
        app,
        "client_secret_basic",
        json!({"scopes": ["sim-swap", "sim-swap:check", "sim-swap:retrieve-date", "number-verification:verify"]}),
    )
    .await
}

async fn set_profile(app: &TestApp, c: &TestClient, profile: Value) {
    let resp = app
        .admin(Method::PATCH, &format!("/clients/{}", c.client_id), Some(json!({"compat_profile": profile})))
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["compat_profile"], profile, "{v}");
}

async fn bc(app: &TestApp, c: &TestClient, form: &[(&str, &str)]) -> (u16, Value) {
    telefonica_post(app, &c.client_id, c.secret.as_deref().unwrap(), "/bc-authorize", form).await
}

/// The same form labelled `application/json`, as Vonage's client sends it.
async fn bc_labelled_json(app: &TestApp, c: &TestClient, form: &[(&str, &str)]) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let resp = app
        .http
        .post(app.url("/bc-authorize"))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn without_a_profile_the_camara_profile_holds() {
    let app = ciba_app(|_| {}).await;
    let c = strict_client(&app).await;
    let tel_check =
        [("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection sim-swap:check")];
    let phone_number = [
        ("login_hint", "phone_number:+34655555555"),
        ("purpose", "dpv:FraudPreventionAndDetection#sim-swap"),
    ];
    let bare = [("login_hint", AUTO), ("scope", "dpv:FraudPreventionAndDetection sim-swap:check")];
    let vendor = [("login_hint", "tel:+34655555555"), ("scope", VONAGE_CHECK)];
    // The control: the CAMARA request.
    assert_eq!(bc(&app, &c, &tel_check).await.0, 200);
    let strict = |what: &'static str, (s, v): (u16, Value), code: &str| {
        assert_eq!((s, v["error"].as_str()), (400, Some(code)), "{what}: {v}");
    };
    strict("phone_number: hint", bc(&app, &c, &phone_number).await, "invalid_request");
    strict("bare +E164 hint", bc(&app, &c, &bare).await, "invalid_request");
    strict("a vendor scope name", bc(&app, &c, &vendor).await, "invalid_scope");
    let (s, v) = bc_labelled_json(&app, &c, &tel_check).await;
    assert_eq!(
        (s, v["error_description"].as_str()),
        (400, Some("the request body must be application/x-www-form-urlencoded")),
        "{v}"
    );
    // An immediate first poll of a pending request is answered at once.
    let (_, v) = bc(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    let id = v["auth_req_id"].as_str().unwrap().to_owned();
    let t = Instant::now();
    let resp = app
        .post_form(
            "/token",
            Some((&c.client_id, c.secret.as_deref().unwrap())),
            &[("grant_type", CIBA), ("auth_req_id", &id)],
        )
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "authorization_pending", "{v}");
    assert!(t.elapsed() < Duration::from_millis(1000), "no wait without a profile: {:?}", t.elapsed());

    // Telefónica's profile: its hint form, and no other dialect.
    set_profile(&app, &c, json!("telefonica-sdk")).await;
    assert_eq!(bc(&app, &c, &phone_number).await.0, 200, "the control passes with the profile");
    strict("bare +E164 under telefonica-sdk", bc(&app, &c, &bare).await, "invalid_request");
    strict("Vonage's scope under telefonica-sdk", bc(&app, &c, &vendor).await, "invalid_scope");
    // Vonage's profile: its hint form, its scope names, its content type.
    set_profile(&app, &c, json!("vonage-sdk")).await;
    assert_eq!(bc(&app, &c, &bare).await.0, 200);
    assert_eq!(bc(&app, &c, &vendor).await.0, 200);
    assert_eq!(bc_labelled_json(&app, &c, &tel_check).await.0, 200);
    strict("phone_number: under vonage-sdk", bc(&app, &c, &phone_number).await, "invalid_request");
    // A JSON object is still no form.
    let resp = app
        .http
        .post(app.url("/bc-authorize"))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .json(&json!({"login_hint": AUTO, "scope": VONAGE_CHECK}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Removed again (JSON null): strict CAMARA at once.
    set_profile(&app, &c, Value::Null).await;
    strict("bare +E164 after removal", bc(&app, &c, &bare).await, "invalid_request");
    strict("vendor scope after removal", bc(&app, &c, &vendor).await, "invalid_scope");
    // An unknown profile is refused with the names netauth serves.
    let resp = app
        .admin(
            Method::PATCH,
            &format!("/clients/{}", c.client_id),
            Some(json!({"compat_profile": "nokia-sdk"})),
        )
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(resp_status_of(&v), 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("telefonica-sdk or vonage-sdk"), "{v}");
}

fn resp_status_of(v: &Value) -> u64 {
    v["status"].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn at_authorize_a_vendor_scope_needs_the_profile() {
    let app = crate::authorize::code_app().await;
    let c = app
        .create_client(
            "client_secret_basic",
            json!({"grant_types": ["authorization_code"], "redirect_uris": ["http://127.0.0.1:9011/cb"],
                   "scopes": ["openid", "number-verification:verify"], "purposes": [FRAUD]}),
        )
        .await;
    let url = |hint: &str| {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", c.client_id.as_str()),
                ("redirect_uri", "http://127.0.0.1:9011/cb"),
                ("response_type", "code"),
                ("scope", &format!("openid {VONAGE_NV}")),
                ("state", "s"),
                ("login_hint", hint),
            ])
            .finish();
        format!("/oauth2/auth?{q}")
    };
    let mut phone = Browser::new(&app, Some(3));
    let cb = phone.get(&url(&msisdn(3))).await.callback();
    assert_eq!(cb["error"], "invalid_scope", "strict CAMARA: {cb:?}");
    set_profile(&app, &c, json!("vonage-sdk")).await;
    let cb = phone.get(&url(&msisdn(3))).await.callback();
    assert!(cb.contains_key("code"), "{cb:?}");
    // Telefónica's hint form pre-fills the fallback page's number under its profile only.
    set_profile(&app, &c, json!("telefonica-sdk")).await;
    let mut wifi = Browser::new(&app, None);
    let hint = format!("phone_number:{}", msisdn(3));
    let page =
        wifi.get(&url(&hint).replace(
            &urlencode(VONAGE_NV),
            "dpv%3AFraudPreventionAndDetection+number-verification%3Averify",
        ))
        .await;
    assert!(page.body.contains(&msisdn(3)), "pre-filled: {}", page.body);
    set_profile(&app, &c, Value::Null).await;
    let mut wifi = Browser::new(&app, None);
    let page =
        wifi.get(&url(&hint).replace(
            &urlencode(VONAGE_NV),
            "dpv%3AFraudPreventionAndDetection+number-verification%3Averify",
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(&msisdn(3)), "not a hint CAMARA knows: {}", page.body);
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Vonage's SDK polls once, at once: under its profile the first poll of a
/// pending request waits for the handset's answer, given on another node,
/// and is answered `authorization_pending` when none comes in time; later
/// polls are answered at once.
#[tokio::test]
async fn a_first_poll_waits_for_an_answer_given_on_another_node() {
    let app = ciba_app(|_| {}).await;
    let peer = spawn_peer(&app).await;
    let c = strict_client(&app).await;
    set_profile(&app, &c, json!("vonage-sdk")).await;
    let creds = Some((c.client_id.as_str(), c.secret.as_deref().unwrap()));
    // Each with a scope not consented to yet: the first approval records
    // consent to its scope, and consent on record approves at once.
    let (app_ref, c_ref) = (&app, &c);
    let start = |scope: &'static str| async move {
        bc(app_ref, c_ref, &[("login_hint", ASKS), ("scope", scope)]).await
    };
    let poll = |id: String| async move {
        let app = app_ref;
        let t = Instant::now();
        let resp = app.post_form("/oauth2/token", creds, &[("grant_type", CIBA), ("auth_req_id", &id)]).await;
        (resp.status().as_u16(), resp.json::<Value>().await.unwrap(), t.elapsed())
    };
    // Answered on the peer 700 ms into the wait.
    let (_, v) = start(VONAGE_CHECK).await;
    let id = v["auth_req_id"].as_str().unwrap().to_owned();
    let prompt = prompts(&peer, ASKS).await.last().unwrap()["id"].as_str().unwrap().to_owned();
    let answering = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        answer(&peer, ASKS, &prompt, "approve").await
    };
    let ((s, tok, took), answered) = tokio::join!(poll(id), answering);
    assert_eq!(answered, 200);
    assert_eq!(s, 200, "{tok}");
    assert!(took >= Duration::from_millis(600) && took < Duration::from_millis(3000), "{took:?}");
    // No answer: authorization_pending after the profile's wait, then at once.
    let (_, v) = start(VONAGE_DATE).await;
    let id = v["auth_req_id"].as_str().unwrap().to_owned();
    let (s, v, took) = poll(id.clone()).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("authorization_pending")), "{v}");
    assert!(took >= Duration::from_millis(4900) && took < Duration::from_millis(7000), "{took:?}");
    let (s, v, took) = poll(id).await;
    assert_eq!(s, 400, "{v}");
    assert!(took < Duration::from_millis(1000), "only the first poll waits: {took:?}");
}

#[tokio::test]
async fn the_cli_sets_and_removes_a_profile() {
    let dir = crate::cli::temp_dir();
    assert!(crate::cli::run(&dir, &["migrate"]).0);
    let (ok, out, err) = crate::cli::run(
        &dir,
        &[
            "client",
            "create",
            "--name",
            "sdk app",
            "--auth-method",
            "client_secret_basic",
            "--client-id",
            "sdk-app",
            "--profile",
            "telefonica-sdk",
        ],
    );
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["client"]["compat_profile"], "telefonica-sdk", "{v}");
    let (ok, out, err) = crate::cli::run(&dir, &["client", "set-profile", "sdk-app", "vonage-sdk"]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["compat_profile"], "vonage-sdk");
    let (ok, out, err) = crate::cli::run(&dir, &["client", "set-profile", "sdk-app", "none"]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["compat_profile"], Value::Null);
    let (ok, _, err) = crate::cli::run(&dir, &["client", "set-profile", "sdk-app", "nokia-sdk"]);
    assert!(
        !ok && err.contains(
            "compat_profile `nokia-sdk` is not one netauth serves: use telefonica-sdk or vonage-sdk"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// docs/operator-sdks.md's profile table is `compat::markdown_table()`;
/// `NETAUTH_UPDATE_DOCS=1` writes it there.
#[test]
fn the_documented_profile_table_is_the_code() {
    const BEGIN: &str =
        "<!-- profile-table: generated from crates/domain/src/compat.rs; tests/api/compat.rs checks it -->\n";
    const END: &str = "<!-- /profile-table -->";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operator-sdks.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = doc.split_once(BEGIN).expect("the table's opening marker");
    let (table, tail) = rest.split_once(END).expect("the table's closing marker");
    let want = netauth_domain::compat::markdown_table();
    if table != want {
        if std::env::var_os("NETAUTH_UPDATE_DOCS").is_some() {
            std::fs::write(&path, format!("{head}{BEGIN}{want}{END}{tail}")).unwrap();
        } else {
            panic!(
                "docs/operator-sdks.md's table differs from the profiles in the code; rerun with NETAUTH_UPDATE_DOCS=1"
            );
        }
    }
}

/// A parameter a profile ignores is no parameter: beside a signed request
/// object (where CIBA Core §7.1.1 refuses any other) Telefónica's
/// `acr_values` is refused for a client without the profile and dropped
/// for one with it; parameters the profile does not name stay refused.
#[tokio::test]
async fn an_ignored_parameter_is_dropped_only_under_the_profile() {
    let app = ciba_app(|_| {}).await;
    let c = crate::ciba::ciba_client(&app, "private_key_jwt", json!({})).await;
    let now = netauth_server::infra::clock::system_now();
    let send = |extra: (&'static str, &'static str)| {
        let assertion = sign(&c, &assertion_claims(&c.client_id, &app.base));
        let request = sign(
            &c,
            &json!({
                "iss": c.client_id, "aud": app.base, "iat": now, "nbf": now, "exp": now + 120, "jti": random_name(),
                "login_hint": "tel:+34655555555", "scope": "dpv:FraudPreventionAndDetection sim-swap",
            }),
        );
        let (http, url) = (app.http.clone(), app.url("/bc-authorize"));
        async move {
            let form = [
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
                ("request", request.as_str()),
                extra,
            ];
            let resp = http.post(url).form(&form).send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = send(("acr_values", "2")).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_request")), "strict CAMARA: {v}");
    assert!(v["error_description"].as_str().unwrap().contains("acr_values"), "{v}");
    set_profile(&app, &c, json!("telefonica-sdk")).await;
    let (s, v) = send(("acr_values", "2")).await;
    assert_eq!(s, 200, "dropped under telefonica-sdk: {v}");
    let (s, v) = send(("binding_message", "hi")).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_request")), "not in the profile: {v}");
    set_profile(&app, &c, json!("vonage-sdk")).await;
    let (s, _) = send(("acr_values", "2")).await;
    assert_eq!(s, 400, "not in vonage-sdk");
}
