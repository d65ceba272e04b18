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
