//! Seed 002's Network Enablement (`POST /v0.1/network-enablement`): the
//! application JWT as the only credentials (single use per endpoint), the
//! body's rules, per-scope answers and errors, the operator chosen by its
//! number ranges.

use crate::helpers::*;
use netauth_server::infra::clock::Clock;
use serde_json::{Value, json};

pub const NE: &str = "/v0.1/network-enablement";
pub const FRAUD: &str = "dpv:FraudPreventionAndDetection";
/// The seed's scope, in the aggregator's own scope names.
pub const SEED_SCOPE: &str = "dpv:FraudPreventionAndDetection#number-verification-verify-read";
pub const REDIRECT_URI: &str = "https://app.example.com/camara/oauth/callback";

/// An application (seed 002): application JWT, the code flow, Number
/// Verification under fraud prevention.
pub async fn vonage_app(app: &TestApp) -> TestClient {
    app.create_client(
        "app_jwt",
        json!({
            "grant_types": ["authorization_code"],
            "redirect_uris": [REDIRECT_URI],
            "scopes": ["number-verification:verify", "sim-swap:check"],
            "purposes": [FRAUD],
        }),
    )
    .await
}

/// An application JWT (seed 002: RS256, `application_id`, `iat`, `jti`,
/// `exp`), at the server's time.
pub fn app_jwt(app: &TestApp, c: &TestClient) -> String {
    let now = app.clock.now();
    let claims = json!({"application_id": c.client_id, "iat": now, "jti": random_name(), "exp": now + 900});
    c.key.as_ref().unwrap().sign_jwt(None, Some("JWT"), &claims)
}

pub async fn enable(app: &TestApp, jwt: &str, body: &Value) -> reqwest::Response {
    app.http.post(app.url(NE)).bearer_auth(jwt).json(body).send().await.unwrap()
}

pub async fn enable_ok(app: &TestApp, jwt: &str, body: &Value) -> Value {
    let resp = enable(app, jwt, body).await;
    let status = resp.status();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').unwrap().1;
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

#[tokio::test]
async fn the_seeds_request_gets_an_auth_url() {
    let app = crate::jwt_bearer::bearer_app().await;
    let c = vonage_app(&app).await;
    let body =
        json!({"phone_number": "+34600000003", "scopes": [SEED_SCOPE], "state": "v2_840e17a8-79f2-1a277bff"});
    let v = enable_ok(&app, &app_jwt(&app, &c), &body).await;
    let answer = &v["scopes"][SEED_SCOPE];
    assert_eq!(answer["requires_carrier_network"], true, "{v}");
    let url = answer["auth_url"].as_str().unwrap();
    assert!(url.starts_with(&app.url("/oauth2/auth?")), "{url}");
    assert_eq!(
        query_of(url),
        [
            ("client_id", c.client_id.as_str()),
            ("scope", "dpv:FraudPreventionAndDetection number-verification:verify"),
            ("state", "v2_840e17a8-79f2-1a277bff"),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    // `scope`, as the seed's table spells it, and CAMARA's scope names.
    let body =
        json!({"phone_number": "+34600000003", "scope": [format!("{FRAUD} sim-swap:check")], "state": "s2"});
    let v = enable_ok(&app, &app_jwt(&app, &c), &body).await;
    let answer = &v["scopes"][format!("{FRAUD} sim-swap:check")];
    assert_eq!(answer["requires_carrier_network"], false, "{v}");
    assert!(
        query_of(answer["auth_url"].as_str().unwrap())
            .contains(&("scope".into(), format!("{FRAUD} sim-swap:check")))
    );
    // The record binds (client, state) to the number, on every node.
    let key = netauth_domain::enablement::enablement_key(&c.client_id, "v2_840e17a8-79f2-1a277bff");
    let rec = app.app.store.get_enablement(&key, app.clock.now()).await.unwrap().unwrap();
    assert_eq!((rec.msisdn.as_str(), rec.operator_id.as_str()), ("+34600000003", "demo-es"));
}

#[tokio::test]
async fn per_scope_errors() {
    let app = crate::jwt_bearer::bearer_app().await;
    let c = vonage_app(&app).await;
    let bad = [
        "dpv:Marketing#number-verification-verify-read", // purpose not registered
        "dpv:FraudPreventionAndDetection#sim-swap:retrieve-date", // scope not registered
        "number-verification:verify",                    // no purpose
        "dpv:FraudPreventionAndDetection#",              // malformed
    ];
    let mut scopes: Vec<&str> = bad.to_vec();
    scopes.push(SEED_SCOPE);
    let body = json!({"phone_number": "+34600000003", "scopes": scopes, "state": "s"});
    let resp = enable(&app, &app_jwt(&app, &c), &body).await;
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let v: Value = resp.json().await.unwrap();
    for s in bad {
        let e = &v["scopes"][s]["error"];
        assert_eq!(
            (e["title"].as_str(), e["error_type"].as_str()),
            (Some("Forbidden"), Some("UNAUTHORIZED")),
            "{s}: {v}"
        );
        assert!(!e["detail"].as_str().unwrap().is_empty());
        assert_eq!(e["instance"], request_id.as_str());
        assert!(v["scopes"][s].get("auth_url").is_none());
    }
    assert!(v["scopes"][SEED_SCOPE]["auth_url"].is_string(), "the good scope is still enabled: {v}");
    // A number on no supported network: every scope says so, nothing is recorded.
    let body = json!({"phone_number": "+442072068888", "scopes": [SEED_SCOPE], "state": "uk"});
    let v = enable_ok(&app, &app_jwt(&app, &c), &body).await;
    assert_eq!(v["scopes"][SEED_SCOPE]["error"]["error_type"], "UNSUPPORTED_NETWORK", "{v}");
    let key = netauth_domain::enablement::enablement_key(&c.client_id, "uk");
    assert_eq!(app.app.store.get_enablement(&key, app.clock.now()).await.unwrap(), None);
    // An operator gains the range through the admin API: the number is served.
    let op = json!({"name": "Demo UK", "country": "GB", "number_ranges": ["+4420"]});
    assert_eq!(app.admin(reqwest::Method::PUT, "/operators/demo-gb", Some(op)).await.status(), 200);
    let v = enable_ok(&app, &app_jwt(&app, &c), &body).await;
    assert!(v["scopes"][SEED_SCOPE]["auth_url"].is_string(), "{v}");
    let rec = app.app.store.get_enablement(&key, app.clock.now()).await.unwrap().unwrap();
    assert_eq!(rec.operator_id, "demo-gb");
    // An application without the code flow may use no scope.
    let cc = app
        .create_client("app_jwt", json!({"scopes": ["number-verification:verify"], "purposes": [FRAUD]}))
        .await;
    let body = json!({"phone_number": "+34600000003", "scopes": [SEED_SCOPE], "state": "s"});
    let v = enable_ok(&app, &app_jwt(&app, &cc), &body).await;
    assert_eq!(v["scopes"][SEED_SCOPE]["error"]["title"], "Forbidden", "{v}");
}

#[tokio::test]
async fn body_and_credentials_errors() {
    let app = crate::jwt_bearer::bearer_app().await;
    let c = vonage_app(&app).await;
    let good = json!({"phone_number": "+34600000003", "scopes": [SEED_SCOPE], "state": "s"});
    for (why, body) in [
        ("bad number", json!({"phone_number": "34600000003", "scopes": [SEED_SCOPE], "state": "s"})),
        ("no scopes", json!({"phone_number": "+34600000003", "state": "s"})),
        ("empty scopes", json!({"phone_number": "+34600000003", "scopes": [], "state": "s"})),
        (
            "both spellings",
            json!({"phone_number": "+34600000003", "scopes": [SEED_SCOPE], "scope": [SEED_SCOPE], "state": "s"}),
        ),
        ("scopes not an array", json!({"phone_number": "+34600000003", "scopes": SEED_SCOPE, "state": "s"})),
        ("no state", json!({"phone_number": "+34600000003", "scopes": [SEED_SCOPE]})),
        ("empty state", json!({"phone_number": "+34600000003", "scopes": [SEED_SCOPE], "state": ""})),
        (
            "unknown field",
            json!({"phone_number": "+34600000003", "scopes": [SEED_SCOPE], "state": "s", "x": 1}),
        ),
    ] {
        let resp = enable(&app, &app_jwt(&app, &c), &body).await;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert_eq!((status.as_u16(), v["code"].as_str()), (400, Some("INVALID_ARGUMENT")), "{why}: {v}");
    }
    let resp = app
        .http
        .post(app.url(NE))
        .bearer_auth(app_jwt(&app, &c))
        .body("phone_number=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "not JSON");
    // Credentials: none, Basic, a JWT replayed here, another app's, expired.
    let resp = app.http.post(app.url(NE)).json(&good).send().await.unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!((v["status"].as_u64(), v["code"].as_str()), (Some(401), Some("UNAUTHENTICATED")), "{v}");
    let basic = app.create_client("client_secret_basic", json!({})).await;
    let resp = app
        .http
        .post(app.url(NE))
        .basic_auth(&basic.client_id, basic.secret.as_deref())
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "Basic is not this API's authentication");
    let jwt = app_jwt(&app, &c);
    assert_eq!(enable(&app, &jwt, &good).await.status(), 200);
    assert_eq!(enable(&app, &jwt, &good).await.status(), 401, "replayed at Network Enablement");
    let now = app.clock.now();
    let expired = c.key.as_ref().unwrap().sign_jwt(
        None,
        None,
        &json!({"application_id": c.client_id, "iat": now - 1000, "jti": random_name(), "exp": now - 100}),
    );
    assert_eq!(enable(&app, &expired, &good).await.status(), 401);
    // The same JWT once at the token endpoint too (the seed's step 6), and
    // only once there.
    let cc = app
        .create_client(
            "app_jwt",
            json!({"grant_types": ["client_credentials", "authorization_code"], "redirect_uris": [REDIRECT_URI],
                   "scopes": ["number-verification:verify"], "purposes": [FRAUD]}),
        )
        .await;
    let jwt = app_jwt(&app, &cc);
    assert_eq!(enable(&app, &jwt, &good).await.status(), 200);
    assert_eq!(app.cc_with_app_jwt(&jwt).await.status(), 200, "first use at the token endpoint");
    assert_eq!(app.cc_with_app_jwt(&jwt).await.status(), 401, "replayed at the token endpoint");
    assert_eq!(enable(&app, &jwt, &good).await.status(), 401, "still spent at Network Enablement");
}

// ---------------------------------------------------------------- seed 002 end to end

fn sha256_hex(s: &str) -> String {
    netauth_domain::crypto::sha256(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Step 2: the backend enables `number` with a fresh `state`; the answer's
/// `auth_url`, the state and the application JWT it used.
async fn enabled(app: &TestApp, c: &TestClient, number: &str) -> (String, String, String) {
    let state = format!("v2_{}", random_name());
    let jwt = app_jwt(app, c);
    let v =
        enable_ok(app, &jwt, &json!({"phone_number": number, "scopes": [SEED_SCOPE], "state": state})).await;
    (v["scopes"][SEED_SCOPE]["auth_url"].as_str().unwrap().to_owned(), state, jwt)
}

/// Step 6: the code exchange at `/oauth2/token`, authenticated by the same
/// application JWT (seed 002: "the JWT token generated in the previous step").
async fn exchange(app: &TestApp, jwt: &str, code: &str) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/oauth2/token"))
        .bearer_auth(jwt)
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI)])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Step 7: `/verify` with `body`.
async fn verify(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/number-verification/v2/verify"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Seed 002 as written: application JWT → Network Enablement → the front
/// end follows `auth_url` on the subscriber's line → callback with `code`
/// and `state` → `/oauth2/token` with the same JWT → Number Verification.
#[tokio::test]
async fn seed_002_end_to_end_on_the_mobile_network() {
    use crate::authorize::{Browser, msisdn};
    let app = crate::authorize::code_app().await;
    let c = vonage_app(&app).await;
    let number = msisdn(3);
    for (body, verified) in [
        (json!({"phoneNumber": number}), true),
        (json!({"hashedPhoneNumber": sha256_hex(&number)}), true),
        (json!({"phoneNumber": msisdn(4)}), false),
        (json!({"hashedPhoneNumber": sha256_hex(&msisdn(4))}), false),
    ] {
        let (auth_url, state, jwt) = enabled(&app, &c, &number).await;
        // Subscriber 3's phone, on mobile data (127.10.0.3 is its line).
        let mut phone = Browser::new(&app, Some(3));
        let r = phone.get(&auth_url).await;
        assert_eq!(r.status, 302, "{}", r.body);
        assert!(r.location.as_deref().unwrap().starts_with(&format!("{REDIRECT_URI}?")), "{r:?}");
        let cb = r.callback();
        assert_eq!(cb["state"], state, "the state of the Network Enablement request");
        let (s, tok) = exchange(&app, &jwt, &cb["code"]).await;
        assert_eq!(s, 200, "{tok}");
        assert_eq!(tok["token_type"], "Bearer");
        assert!(tok["expires_in"].as_i64().unwrap() <= 300, "Number Verification: at most 300 s: {tok}");
        assert!(tok.get("refresh_token").is_none(), "{tok}");
        let (s, v) = verify(&app, tok["access_token"].as_str().unwrap(), &body).await;
        assert_eq!((s, v["devicePhoneNumberVerified"].as_bool()), (200, Some(verified)), "{body}: {v}");
        // The JWT did its two calls; a third is a replay.
        assert_eq!(exchange(&app, &jwt, &cb["code"]).await.0, 401);
    }
}

/// The same `auth_url` off the mobile network: the handset fallback
/// authenticates the subscriber, and Number Verification refuses the token.
#[tokio::test]
async fn seed_002_off_the_mobile_network_gives_a_token_verify_refuses() {
    use crate::authorize::{Browser, msisdn};
    let app = crate::authorize::code_app().await;
    let c = vonage_app(&app).await;
    let number = msisdn(3);
    let (auth_url, state, jwt) = enabled(&app, &c, &number).await;
    let mut wifi = Browser::new(&app, None);
    let page = wifi.get(&auth_url).await;
    assert_eq!(page.status, 200, "the fallback page: {}", page.body);
    assert!(page.body.contains("name=\"msisdn\""), "{}", page.body);
    // Subscriber 3's handset approves at once (its sandbox policy).
    let r = wifi.submit(&page, "/authorize/login", &[("msisdn", &number), ("method", "approve")]).await;
    let cb = r.callback();
    assert_eq!(cb["state"], state);
    let (s, tok) = exchange(&app, &jwt, &cb["code"]).await;
    assert_eq!(s, 200, "{tok}");
    let (s, v) = verify(&app, tok["access_token"].as_str().unwrap(), &json!({"phoneNumber": number})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK")),
        "{v}"
    );
}

/// Denials reach the callback as `error` and `error_description`, with the
/// state: another line than the number enabled, the fallback with another
/// number, the subscriber declining on the handset. Never a code.
#[tokio::test]
async fn seed_002_denials_reach_the_callback() {
    use crate::authorize::{Browser, msisdn};
    let app = crate::authorize::code_app().await;
    let c = vonage_app(&app).await;
    let number = msisdn(3);
    let denied = |r: &crate::authorize::Resp, state: &str| {
        let cb = r.callback();
        assert_eq!(cb["error"], "access_denied", "{cb:?}");
        assert!(!cb["error_description"].is_empty(), "{cb:?}");
        assert_eq!(cb["state"], state);
        assert!(!cb.contains_key("code"));
    };
    // Subscriber 4's phone follows the auth_url enabled for subscriber 3.
    let (auth_url, state, _) = enabled(&app, &c, &number).await;
    let r = Browser::new(&app, Some(4)).get(&auth_url).await;
    denied(&r, &state);
    // Off the network, the fallback with another subscriber's number (whose
    // handset approves).
    let (auth_url, state, _) = enabled(&app, &c, &number).await;
    let mut wifi = Browser::new(&app, None);
    let page = wifi.get(&auth_url).await;
    let r = wifi.submit(&page, "/authorize/login", &[("msisdn", &msisdn(4)), ("method", "approve")]).await;
    denied(&r, &state);
    // The subscriber declines on the handset.
    let resp = app
        .http
        .put(app.url(&format!("/sandbox/v1/handsets/{number}/policy")))
        .json(&json!({"policy": "auto_deny"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (auth_url, state, _) = enabled(&app, &c, &number).await;
    let mut wifi = Browser::new(&app, None);
    let page = wifi.get(&auth_url).await;
    let r = wifi.submit(&page, "/authorize/login", &[("msisdn", &number), ("method", "approve")]).await;
    denied(&r, &state);
    // Without an enablement (another state), the same client's flow is not
    // bound: subscriber 4's line gets its own code.
    let mut params = query_of(&auth_url);
    for (k, v) in params.iter_mut() {
        if k == "state" {
            *v = "not-enabled".into();
        }
    }
    let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
    let r = Browser::new(&app, Some(4)).get(&format!("/oauth2/auth?{q}")).await;
    assert!(r.callback().contains_key("code"), "{r:?}");
    // An auth_url followed too late is refused, even on the right line.
    let (auth_url, state, _) = enabled(&app, &c, &number).await;
    app.clock.advance_secs(netauth_domain::enablement::DEFAULT_ENABLEMENT_TTL);
    let r = Browser::new(&app, Some(3)).get(&auth_url).await;
    denied(&r, &state);
}
