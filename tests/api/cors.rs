//! CORS on the token endpoint, UserInfo and the CAMARA resource APIs, over
//! HTTP: preflights allowed only for an origin an active client registered,
//! actual answers readable only by the authenticated client's own origins,
//! never a wildcard, `Vary: Origin` throughout, and a changed registration
//! taking effect at once (on other nodes after their sync).

use crate::authorize::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

const APP: &str = "https://app.example";
const OTHER: &str = "https://other.example";
const LATE: &str = "https://late.example";

/// The paths a browser app may call, with a method each serves.
const PATHS: &[(&str, &str)] = &[
    ("/token", "POST"),
    ("/oauth/v2/token", "POST"),
    ("/openidconnect/fr/v1/token", "POST"),
    ("/oauth2/client/token", "POST"),
    ("/userinfo", "GET"),
    ("/openidconnect/v1/userinfo", "POST"),
    ("/number-verification/v2/verify", "POST"),
    ("/number-verification/v2/device-phone-number", "GET"),
    ("/sim-swap/v2/check", "POST"),
    ("/sim-swap/v2/retrieve-date", "POST"),
    ("/camara/number-verification/v031/verify", "POST"),
    ("/apigateway/sim-swap/v0/check", "POST"),
    ("/camara/sim-swap/v040/retrieve-date", "POST"),
];

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization, content-type")
        .send()
        .await
        .unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    let all: Vec<String> = r.headers().get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    (!all.is_empty()).then(|| all.join(", "))
}

fn varies_on_origin(r: &reqwest::Response) -> bool {
    header(r, "vary").is_some_and(|v| v.split(',').any(|x| x.trim().eq_ignore_ascii_case("origin")))
}

/// The CORS answer of an actual request: the allowed origin, if any.
fn allowed(r: &reqwest::Response) -> Option<String> {
    assert!(varies_on_origin(r), "Vary: Origin on {}", r.url());
    let v = header(r, "access-control-allow-origin");
    assert_ne!(v.as_deref(), Some("*"), "never a wildcard");
    assert!(header(r, "access-control-allow-credentials").is_none());
    v
}

/// A client of seed 001's kind that registered `origins`.
async fn browser_client(app: &TestApp, origins: &[&str]) -> TestClient {
    oidc_client(
        app,
        "client_secret_basic",
        json!({
            "grant_types": [CODE, "refresh_token", "client_credentials"],
            "scopes": ["openid", "phone", "offline_access", "sim-swap:check"],
            "cors_origins": origins,
        }),
    )
    .await
}

#[tokio::test]
async fn preflights_allow_registered_origins_only() {
    let app = code_app().await;
    browser_client(&app, &[APP]).await;
    let suspended = browser_client(&app, &["https://suspended.example"]).await;
    let r = app.admin(Method::POST, &format!("/clients/{}/suspend", suspended.client_id), None).await;
    assert!(r.status().is_success());
    for (path, method) in PATHS {
        let r = preflight(&app, path, APP, method).await;
        assert_eq!(r.status(), 204, "{path}");
        assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some(APP), "{path}");
        assert!(header(&r, "access-control-allow-methods").unwrap().contains(method), "{path}");
        let h = header(&r, "access-control-allow-headers").unwrap();
        assert!(h.contains("authorization") && h.contains("content-type"), "{h}");
        assert_eq!(header(&r, "access-control-max-age").as_deref(), Some("600"));
        assert!(header(&r, "access-control-allow-credentials").is_none());
        assert!(varies_on_origin(&r), "{path}");
        assert!(r.text().await.unwrap().is_empty());
        // Nobody registered this origin; a suspended client's does not count.
        for origin in [OTHER, "https://suspended.example", "null", "https://app.example.evil.example"] {
            let r = preflight(&app, path, origin, method).await;
            assert_eq!(r.status(), 204);
            assert!(header(&r, "access-control-allow-origin").is_none(), "{path} {origin}");
            assert!(varies_on_origin(&r));
        }
    }
    // A method the path does not serve.
    let r = preflight(&app, "/token", APP, "DELETE").await;
    assert!(header(&r, "access-control-allow-origin").is_none());
    // Origins compare as origins: scheme and host are case-insensitive.
    let r = preflight(&app, "/token", "HTTPS://APP.EXAMPLE", "POST").await;
    assert_eq!(header(&r, "access-control-allow-origin").as_deref(), Some("HTTPS://APP.EXAMPLE"));
    // Elsewhere there is no CORS: the preflight is just an OPTIONS request.
    let r = preflight(&app, "/introspect", APP, "POST").await;
    assert_eq!(r.status(), 405);
    assert!(header(&r, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn answers_are_readable_by_the_authenticated_clients_origins_only() {
    let app = code_app().await;
    let c = browser_client(&app, &[APP]).await;
    browser_client(&app, &[OTHER]).await;
    let creds = (c.client_id.as_str(), c.secret.as_deref().unwrap());

    // The token endpoint: the client authenticated, so its origin reads the answer.
    let cc = |origin: &'static str, secret: &'static str| {
        let app = &app;
        let id = c.client_id.clone();
        let secret = if secret.is_empty() { c.secret.clone().unwrap() } else { secret.to_owned() };
        async move {
            app.http
                .post(app.url("/token"))
                .header("origin", origin)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "sim-swap:check")])
                .send()
                .await
                .unwrap()
        }
    };
    let r = cc(APP, "").await;
    assert_eq!(r.status(), 200);
    assert_eq!(allowed(&r).as_deref(), Some(APP));
    let exposed = header(&r, "access-control-expose-headers").unwrap();
    assert!(exposed.contains("www-authenticate") && exposed.contains("retry-after"), "{exposed}");
    let cc_token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    // Another client's origin, even a registered one, does not.
    assert_eq!(allowed(&cc(OTHER, "").await), None);
    // Nobody authenticated: nothing to show anyone.
    let r = cc(APP, "wrong-secret").await;
    assert_eq!(r.status(), 401);
    assert_eq!(allowed(&r), None);
    // A client error after authentication is the client's to read.
    let r = app
        .http
        .post(app.url("/oauth/v2/token"))
        .header("origin", APP)
        .basic_auth(creds.0, Some(creds.1))
        .form(&[("grant_type", CODE), ("code", "no-such-code")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(allowed(&r).as_deref(), Some(APP));

    // UserInfo, with a token of the code flow.
    let mut phone = Browser::new(&app, Some(2));
    let code = code_for(&mut phone, &params(&c, "openid phone")).await;
    let (_, tok) = exchange(&app, &c, &code, &[]).await;
    let at = tok["access_token"].as_str().unwrap();
    let userinfo = |origin: &'static str, token: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url("/userinfo"))
                .header("origin", origin)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let r = userinfo(APP, at.to_owned()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(allowed(&r).as_deref(), Some(APP));
    assert_eq!(allowed(&userinfo(OTHER, at.to_owned()).await), None);
    let r = userinfo(APP, "nat1_00112233_AAAA".to_owned()).await;
    assert_eq!(
        (r.status().as_u16(), allowed(&r)),
        (401, None),
        "a token netauth did not issue names no client"
    );
    // No Origin, no CORS headers; still Vary, for caches.
    let r = app.http.get(app.url("/userinfo")).bearer_auth(at).send().await.unwrap();
    assert_eq!(allowed(&r), None);

    // A resource API with the client-credentials token.
    let sim_swap = |origin: &'static str| {
        let app = &app;
        let t = cc_token.clone();
        async move {
            app.http
                .post(app.url("/sim-swap/v2/check"))
                .header("origin", origin)
                .bearer_auth(t)
                .json(&json!({ "phoneNumber": "+34600000001" }))
                .send()
                .await
                .unwrap()
        }
    };
    let r = sim_swap(APP).await;
    assert_eq!(r.status(), 200);
    assert_eq!(allowed(&r).as_deref(), Some(APP));
    assert_eq!(allowed(&sim_swap(OTHER).await), None);

    // Elsewhere no CORS at all.
    let r = app
        .http
        .post(app.url("/introspect"))
        .header("origin", APP)
        .basic_auth(creds.0, Some(creds.1))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert!(header(&r, "access-control-allow-origin").is_none() && !varies_on_origin(&r));

    // A suspended client's origin reads nothing, even with a live secret.
    let r = app.admin(Method::POST, &format!("/clients/{}/suspend", c.client_id), None).await;
    assert!(r.status().is_success());
    assert_eq!(allowed(&cc(APP, "").await), None);
}

#[tokio::test]
async fn a_changed_registration_applies_at_once_and_on_other_nodes_after_sync() {
    let app = code_app().await;
    let peer = spawn_peer(&app).await;
    let c = browser_client(&app, &[APP]).await;
    // Both nodes have built their set of origins.
    for node in [&app, &peer] {
        node.sync().await;
        assert!(
            header(&preflight(node, "/token", LATE, "POST").await, "access-control-allow-origin").is_none()
        );
        assert!(
            header(&preflight(node, "/token", APP, "POST").await, "access-control-allow-origin").is_some()
        );
    }
    let r = app
        .admin(Method::PATCH, &format!("/clients/{}", c.client_id), Some(json!({ "cors_origins": [LATE] })))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = preflight(&app, "/token", LATE, "POST").await;
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(LATE),
        "the node that made the change"
    );
    assert!(header(&preflight(&app, "/token", APP, "POST").await, "access-control-allow-origin").is_none());
    peer.sync().await;
    let r = preflight(&peer, "/token", LATE, "POST").await;
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(LATE),
        "the other node, after its sync"
    );
    // A new client's origins too.
    browser_client(&app, &[OTHER]).await;
    assert!(
        header(&preflight(&app, "/userinfo", OTHER, "GET").await, "access-control-allow-origin").is_some()
    );
}
