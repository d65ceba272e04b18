//! The JWT bearer grant (RFC 7523 §2.1, CAMARA profile §1.7): `tel:` and
//! `operatortoken:` subjects, the assertion's claims attacked one by one,
//! single use on every node, the legal basis and consent without a prompt,
//! and `typ: client-authentication+jwt` on client assertions.

use crate::ciba::CIBA;
use crate::helpers::*;
use netauth_server::infra::clock::Clock;
use serde_json::{Value, json};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const FRAUD: &str = "dpv:FraudPreventionAndDetection";
/// Legitimate interest under FRAUD in the sandbox's legal bases.
const NV: &str = "number-verification:verify";

/// An app with the sandbox network and its legal bases loaded.
pub async fn bearer_app() -> TestApp {
    let app = spawn_app().await;
    netauth_server::sandbox::load_demo_network(&app.app).await.unwrap();
    app
}

/// A `private_key_jwt` client registered for the JWT bearer grant (and
/// CIBA, through which a test gives consent).
pub async fn bearer_client(app: &TestApp) -> TestClient {
    app.create_client(
        "private_key_jwt",
        json!({
            "grant_types": [JWT_BEARER, CIBA],
            "scopes": ["sim-swap", "sim-swap:check", NV, "number-verification:device-phone-number:read"],
            "purposes": [FRAUD, "dpv:RequestedServiceProvision"],
        }),
    )
    .await
}

/// The grant's claims (CAMARA profile §1.7), at the server's time.
pub fn grant_claims(app: &TestApp, c: &TestClient, sub: &str, scope: &str) -> Value {
    let now = app.clock.now();
    json!({
        "iss": c.client_id,
        "sub": sub,
        "aud": app.url("/token"),
        "iat": now,
        "exp": now + 120,
        "jti": random_name(),
        "scope": scope,
    })
}

/// The grant with the assertion as the only credentials.
pub async fn bearer(app: &TestApp, assertion: &str) -> reqwest::Response {
    app.post_form("/token", None, &[("grant_type", JWT_BEARER), ("assertion", assertion)]).await
}

pub async fn bearer_ok(app: &TestApp, assertion: &str) -> Value {
    let resp = bearer(app, assertion).await;
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// A one-time operator token from the sandbox's entitlement server.
pub async fn operator_token(app: &TestApp, msisdn: &str) -> String {
    let v: Value = app
        .http
        .post(app.url("/sandbox/v1/operator-tokens"))
        .json(&json!({ "phoneNumber": msisdn }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["operator_token"].as_str().unwrap().to_owned()
}

/// What a resource server sees in `token`.
async fn echoed(app: &TestApp, token: &str) -> Value {
    let resp = app.echo(token).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn tel_subject_with_legitimate_interest() {
    let app = bearer_app().await;
    let c = bearer_client(&app).await;
    let scope = format!("{FRAUD} {NV}");
    let tok = bearer_ok(&app, &sign(&c, &grant_claims(&app, &c, "tel:+34666666666", &scope))).await;
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["scope"], scope.as_str(), "the purpose and the API scope");
    assert!(tok.get("refresh_token").is_none() && tok.get("id_token").is_none(), "{tok}");
    let seen = echoed(&app, tok["access_token"].as_str().unwrap()).await;
    assert_eq!(seen["three_legged"], true);
    assert_eq!(seen["purpose"], FRAUD);
    assert_eq!(seen["amr"], json!([]), "a number the client vouches for authenticates no one");
    // The assertion's `aud` may be the issuer, or the alias it is sent to.
    let mut claims = grant_claims(&app, &c, "tel:+34666666666", &scope);
    claims["aud"] = app.base.clone().into();
    bearer_ok(&app, &sign(&c, &claims)).await;
    claims["aud"] = app.url("/oauth2/token").into();
    claims["jti"] = random_name().into();
    let resp = app
        .post_form("/oauth2/token", None, &[("grant_type", JWT_BEARER), ("assertion", &sign(&c, &claims))])
        .await;
    assert_eq!(resp.status(), 200);
    // openid and offline_access are not granted: no ID token, never a
    // refresh token (CAMARA profile §1.7, §1.9).
    let with_protocol = format!("{scope} openid offline_access");
    let tok = bearer_ok(&app, &sign(&c, &grant_claims(&app, &c, "tel:+34666666666", &with_protocol))).await;
    assert_eq!(tok["scope"], scope.as_str());
    assert!(tok.get("refresh_token").is_none() && tok.get("id_token").is_none(), "{tok}");
}

#[tokio::test]
async fn operator_token_subject_carries_network_assurance_once() {
    let app = bearer_app().await;
    let c = bearer_client(&app).await;
    let ot = operator_token(&app, "+34666666666").await;
    let sub = format!("operatortoken:{ot}");
    let scope = format!("{FRAUD} {NV}");
    let tok = bearer_ok(&app, &sign(&c, &grant_claims(&app, &c, &sub, &scope))).await;
    let seen = echoed(&app, tok["access_token"].as_str().unwrap()).await;
    assert_eq!(seen["amr"], json!(["nba"]), "the entitlement server proved the SIM");
    // The operator token is single use, whatever the assertion around it.
    let (s, e, body) = error_of(bearer(&app, &sign(&c, &grant_claims(&app, &c, &sub, &scope))).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("operator token"), "{body}");
    // Never issued; and one of a suspended line.
    let (_, e, _) =
        error_of(bearer(&app, &sign(&c, &grant_claims(&app, &c, "operatortoken:nope", &scope))).await).await;
    assert_eq!(e, "invalid_grant");
    let ot = operator_token(&app, "+34677777777").await;
    let s: Value =
        app.admin(reqwest::Method::GET, "/subscribers/+34677777777", None).await.json().await.unwrap();
    let input = json!({"phone_number": "+34677777777", "operator_id": s["operator_id"], "sims": s["sims"],
        "status": "suspended"});
    let r = app.admin(reqwest::Method::PUT, "/subscribers/+34677777777", Some(input)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let sub = format!("operatortoken:{ot}");
    let (_, e, _) = error_of(bearer(&app, &sign(&c, &grant_claims(&app, &c, &sub, &scope))).await).await;
    assert_eq!(e, "invalid_grant", "a suspended line's operator token");
}

/// Every assertion failure is `invalid_grant` (RFC 7523 §3.1).
#[tokio::test]
async fn assertion_attacks_are_invalid_grant() {
    let app = bearer_app().await;
    let c = bearer_client(&app).await;
    let other = bearer_client(&app).await;
    let scope = format!("{FRAUD} {NV}");
    let good = || grant_claims(&app, &c, "tel:+34666666666", &scope);
    let with = |k: &str, v: Value| {
        let mut claims = good();
        claims[k] = v;
        claims
    };
    let without = |k: &str| {
        let mut claims = good();
        claims.as_object_mut().unwrap().remove(k);
        claims
    };
    let now = app.clock.now();
    let cases: Vec<(&str, String)> = vec![
        ("wrong aud", sign(&c, &with("aud", "https://elsewhere.example/token".into()))),
        ("aud of another endpoint", sign(&c, &with("aud", app.url("/bc-authorize").into()))),
        (
            "expired (beyond the clock skew)",
            sign(&c, &{
                let mut x = with("exp", (now - 100).into());
                x["iat"] = (now - 200).into();
                x
            }),
        ),
        ("exp − iat > 300", sign(&c, &with("iat", (now - 200).into()))),
        (
            "exp > 300 s after receipt",
            sign(&c, &{
                let mut x = with("exp", (now + 400).into());
                x["iat"] = (now + 200).into();
                x
            }),
        ),
        ("iat in the future", sign(&c, &with("iat", (now + 100).into()))),
        ("iat i64::MIN", sign(&c, &with("iat", i64::MIN.into()))),
        ("exp i64::MAX", sign(&c, &with("exp", i64::MAX.into()))),
        ("no iat", sign(&c, &without("iat"))),
        ("no exp", sign(&c, &without("exp"))),
        ("no jti", sign(&c, &without("jti"))),
        ("no sub", sign(&c, &without("sub"))),
        ("no scope claim", sign(&c, &without("scope"))),
        ("scope claim not a string", sign(&c, &with("scope", json!([FRAUD, NV])))),
        ("ipport subject", sign(&c, &with("sub", "ipport:127.10.0.1".into()))),
        ("client id as subject", sign(&c, &with("sub", c.client_id.clone().into()))),
        ("unknown number", sign(&c, &with("sub", "tel:+34699999999".into()))),
        ("malformed number", sign(&c, &with("sub", "tel:34666666666".into()))),
        ("signed by another client", sign(&other, &good())),
        ("iss names another client", sign(&other, &with("iss", c.client_id.clone().into()))),
        ("unknown iss", sign(&c, &with("iss", "no-such-client".into()))),
        (
            "typed as a client assertion",
            c.key.as_ref().unwrap().sign_jwt(c.kid.as_deref(), Some("client-authentication+jwt"), &good()),
        ),
        ("alg none", format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(good().to_string().as_bytes()))),
        ("not a JWT", "not-a-jwt".into()),
    ];
    for (why, assertion) in cases {
        let (s, e, body) = error_of(bearer(&app, &assertion).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_grant"), "{why}: {body}");
    }
    // A `scope` form parameter is refused (CAMARA profile §1.7).
    let resp = app
        .post_form(
            "/token",
            None,
            &[("grant_type", JWT_BEARER), ("assertion", &sign(&c, &good())), ("scope", NV)],
        )
        .await;
    assert_eq!(error_of(resp).await.1, "invalid_request");
    // The assertion is required.
    let resp = app.post_form("/token", None, &[("grant_type", JWT_BEARER)]).await;
    assert_eq!(error_of(resp).await.0, 401, "no assertion: no credentials at all");
    // And the good one still works.
    bearer_ok(&app, &sign(&c, &good())).await;
}

/// The assertion's `jti` is single use on every node (through the batching
/// jti writer, in a space of its own).
#[tokio::test]
async fn replayed_assertion_is_refused_on_any_node() {
    let a = bearer_app().await;
    // Another node of the same installation, behind the same public URL.
    let issuer = a.base.clone();
    let b = spawn_with(Options {
        db_url: Some(a.db_url.clone()),
        master_b64: Some(a.master_b64.clone()),
        clock: Some(a.clock.clone()),
        tweak: Box::new(move |cfg| cfg.server.issuer = issuer),
    })
    .await;
    let c = bearer_client(&a).await;
    let assertion = sign(&c, &grant_claims(&a, &c, "tel:+34666666666", &format!("{FRAUD} {NV}")));
    bearer_ok(&a, &assertion).await;
    for node in [&a, &b] {
        let (s, e, body) = error_of(bearer(node, &assertion).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_grant"), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("jti"), "{body}");
    }
    // Parallel presentations: exactly one wins.
    let assertion = sign(&c, &grant_claims(&a, &c, "tel:+34666666666", &format!("{FRAUD} {NV}")));
    let (r1, r2) = tokio::join!(bearer(&a, &assertion), bearer(&b, &assertion));
    let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
}

#[tokio::test]
async fn client_policy_and_legal_basis() {
    let app = bearer_app().await;
    let c = bearer_client(&app).await;
    let sub = "tel:+34666666666";
    for (scope, error) in [
        (NV.to_owned(), "invalid_scope"), // no purpose
        (format!("{FRAUD} dpv:IdentityVerification {NV}"), "invalid_scope"), // two purposes
        (FRAUD.to_owned(), "invalid_scope"), // no API scope
        (format!("dpv:IdentityVerification {NV}"), "invalid_scope"), // purpose not registered
        (format!("{FRAUD} sim-swap:retrieve-date"), "invalid_scope"), // scope not registered
        ("dpv:RequestedServiceProvision sim-swap".to_owned(), "invalid_scope"), // no legal basis
    ] {
        let (s, e, body) =
            error_of(bearer(&app, &sign(&c, &grant_claims(&app, &c, sub, &scope))).await).await;
        assert_eq!((s, e.as_str()), (400, error), "{scope}: {body}");
    }
    // A client not registered for the grant.
    let cc = app.create_client("private_key_jwt", json!({"scopes": [NV], "purposes": [FRAUD]})).await;
    let (s, e, _) =
        error_of(bearer(&app, &sign(&cc, &grant_claims(&app, &cc, sub, &format!("{FRAUD} {NV}")))).await)
            .await;
    assert_eq!((s, e.as_str()), (400, "unauthorized_client"));
    // A client may not register the grant without keys to sign with.
    let resp = app
        .admin(
            reqwest::Method::POST,
            "/clients",
            Some(json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic", "grant_types": [JWT_BEARER]})),
        )
        .await;
    assert_eq!(resp.status(), 400);
}

/// Consent cannot be asked for in this grant: without it, `invalid_grant`
/// saying so; once given (here through CIBA), the grant works.
#[tokio::test]
async fn missing_consent_is_invalid_grant_until_given() {
    let app = bearer_app().await;
    let c = bearer_client(&app).await;
    // sim-swap under FRAUD needs the subscriber's consent (handset capture).
    let scope = format!("{FRAUD} sim-swap");
    let sub = "tel:+34655555555";
    let (s, e, body) = error_of(bearer(&app, &sign(&c, &grant_claims(&app, &c, sub, &scope))).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"), "{body}");
    let d = body["error_description"].as_str().unwrap();
    assert!(d.contains("consent") && d.contains("sim-swap"), "{d}");
    // Consent given on the handset through CIBA (an auto-approving line):
    let assertion = sign(&c, &assertion_claims(&c.client_id, &app.url("/bc-authorize")));
    let resp = app
        .post_form(
            "/bc-authorize",
            None,
            &[
                ("login_hint", sub),
                ("scope", &scope),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let tok = bearer_ok(&app, &sign(&c, &grant_claims(&app, &c, sub, &scope))).await;
    assert_eq!(tok["scope"], scope.as_str());
}

/// A client that authenticates itself (here with `private_key_jwt`) may
/// send the grant too; the assertion must then be its own.
#[tokio::test]
async fn authenticated_client_with_its_own_assertion() {
    let app = bearer_app().await;
    let c = bearer_client(&app).await;
    let other = bearer_client(&app).await;
    let scope = format!("{FRAUD} {NV}");
    let send = |grant: String| {
        let client_assertion = sign(&c, &assertion_claims(&c.client_id, &app.url("/token")));
        let app = &app;
        async move {
            app.post_form(
                "/token",
                None,
                &[
                    ("grant_type", JWT_BEARER),
                    ("assertion", &grant),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", &client_assertion),
                ],
            )
            .await
        }
    };
    let resp = send(sign(&c, &grant_claims(&app, &c, "tel:+34666666666", &scope))).await;
    assert_eq!(resp.status(), 200);
    let resp = send(sign(&other, &grant_claims(&app, &other, "tel:+34666666666", &scope))).await;
    let (s, e, body) = error_of(resp).await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"), "another client's assertion: {body}");
    let grant = sign(&c, &grant_claims(&app, &c, "tel:+34666666666", &scope));
    assert_eq!(send(grant.clone()).await.status(), 200);
    assert_eq!(error_of(send(grant).await).await.1, "invalid_grant", "replayed");
}

/// An open ICM change: client assertions typed `client-authentication+jwt`
/// are accepted, everywhere a client assertion is.
#[tokio::test]
async fn client_assertions_may_be_typed() {
    let app = bearer_app().await;
    let c = app.create_client("private_key_jwt", json!({})).await;
    let key = c.key.as_ref().unwrap();
    for typ in ["client-authentication+jwt", "JWT"] {
        let claims = assertion_claims(&c.client_id, &app.url("/token"));
        let resp = app.cc_with_assertion(&key.sign_jwt(c.kid.as_deref(), Some(typ), &claims)).await;
        assert_eq!(resp.status(), 200, "typ {typ}");
    }
}

/// Number Verification opens to a JWT bearer token about an operator token
/// (network assurance), never to one about a number the client vouches for
/// (CAMARA profile §3: "valid ways to get the token", (c)).
#[tokio::test]
async fn number_verification_with_jwt_bearer_tokens() {
    let app = bearer_app().await;
    let c = bearer_client(&app).await;
    let scope = format!("{FRAUD} {NV}");
    let verify = |token: String, body: Value| {
        let req = app.http.post(app.url("/number-verification/v2/verify")).bearer_auth(token).json(&body);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let hashed: String =
        netauth_domain::crypto::sha256(b"+34666666666").iter().map(|b| format!("{b:02x}")).collect();
    for (body, verified) in [
        (json!({"phoneNumber": "+34666666666"}), true),
        (json!({"hashedPhoneNumber": hashed}), true),
        (json!({"phoneNumber": "+34666666667"}), false),
    ] {
        let sub = format!("operatortoken:{}", operator_token(&app, "+34666666666").await);
        let tok = bearer_ok(&app, &sign(&c, &grant_claims(&app, &c, &sub, &scope))).await;
        assert!(tok["expires_in"].as_i64().unwrap() <= 300, "{tok}");
        let (s, v) = verify(tok["access_token"].as_str().unwrap().to_owned(), body.clone()).await;
        assert_eq!((s, v["devicePhoneNumberVerified"].as_bool()), (200, Some(verified)), "{body}: {v}");
    }
    let tok = bearer_ok(&app, &sign(&c, &grant_claims(&app, &c, "tel:+34666666666", &scope))).await;
    let (s, v) =
        verify(tok["access_token"].as_str().unwrap().to_owned(), json!({"phoneNumber": "+34666666666"}))
            .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK")),
        "{v}"
    );
}
