//! CIBA (seed 000, CAMARA profile §1.5): flows, every error, the three
//! hint formats, both purpose syntaxes, signed requests, consent, refresh
//! rotation, ping and push (SECURITY.md 13, 16, 25, 26, 28).

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;

pub const CIBA: &str = "urn:openid:params:grant-type:ciba";
const FRAUD: &str = "dpv:FraudPreventionAndDetection";

/// An app with the sandbox network loaded and a 1 s polling interval.
pub async fn ciba_app(
    tweak: impl FnOnce(&mut netauth_server::infra::config::Config) + Send + 'static,
) -> TestApp {
    let app = spawn_with(Options {
        tweak: Box::new(move |c| {
            c.ciba.interval_secs = 1;
            tweak(c);
        }),
        ..Default::default()
    })
    .await;
    netauth_server::sandbox::load_demo_network(&app.app).await.unwrap();
    app
}

pub async fn ciba_client(app: &TestApp, method: &str, extra: Value) -> TestClient {
    let mut body = json!({
        "grant_types": [CIBA, "refresh_token"],
        "scopes": ["sim-swap", "sim-swap:check", "number-verification:verify"],
        "purposes": [FRAUD, "dpv:RequestedServiceProvision", "dpv:IdentityVerification"],
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    app.create_client(method, body).await
}

fn creds(c: &TestClient) -> Option<(&str, &str)> {
    Some((c.client_id.as_str(), c.secret.as_deref().unwrap()))
}

pub async fn bc(app: &TestApp, c: &TestClient, form: &[(&str, &str)]) -> reqwest::Response {
    app.post_form("/bc-authorize", creds(c), form).await
}

pub async fn bc_ok(app: &TestApp, c: &TestClient, form: &[(&str, &str)]) -> String {
    let resp = bc(app, c, form).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["auth_req_id"].as_str().unwrap().to_owned()
}

/// Tokens for an auto-approving subscriber (+34655555555) with `scope`.
async fn approved(app: &TestApp, c: &TestClient, scope: &str) -> Value {
    let id = bc_ok(app, c, &[("login_hint", "tel:+34655555555"), ("scope", scope)]).await;
    let (s, tok) = poll(app, c, &id).await;
    assert_eq!(s, 200, "{tok}");
    tok
}

pub async fn poll(app: &TestApp, c: &TestClient, id: &str) -> (u16, Value) {
    let resp = app.post_form("/token", creds(c), &[("grant_type", CIBA), ("auth_req_id", id)]).await;
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn set_policy(app: &TestApp, msisdn: &str, policy: &str) {
    let resp = app
        .http
        .put(app.url(&format!("/sandbox/v1/handsets/{msisdn}/policy")))
        .json(&json!({ "policy": policy }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

pub async fn prompts(app: &TestApp, msisdn: &str) -> Vec<Value> {
    let v: Value = app
        .http
        .get(app.url(&format!("/sandbox/v1/handsets/{msisdn}/prompts")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["prompts"].as_array().unwrap().clone()
}

pub async fn answer(app: &TestApp, msisdn: &str, id: &str, decision: &str) -> u16 {
    app.http
        .post(app.url(&format!("/sandbox/v1/handsets/{msisdn}/prompts/{id}")))
        .json(&json!({ "decision": decision }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn seed_000_both_requests_as_written() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    // The seed's body, byte for byte: `+` unescaped, `#` unescaped.
    let resp = app
        .http
        .post(app.url("/apigateway/bc-authorize"))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .basic_auth(&c.client_id, c.secret.as_deref())
        .body("login_hint=tel:+34655555555&purpose=dpv:FraudPreventionAndDetection#sim-swap")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    let id = body["auth_req_id"].as_str().unwrap();
    assert!(id.len() >= 43, "≥ 256 bits of entropy");
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["interval"], 1);
    let resp = app
        .http
        .post(app.url("/apigateway/token"))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .basic_auth(&c.client_id, c.secret.as_deref())
        .body(format!("grant_type=urn:openid:params:grant-type:ciba&auth_req_id={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let tok: Value = resp.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    assert!(tok["expires_in"].as_i64().unwrap() > 0);
    assert!(tok.get("id_token").is_none(), "no openid, no ID token");
    assert!(tok.get("refresh_token").is_none(), "no offline_access, no refresh token");
    let seen: Value = app.echo(tok["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(seen["three_legged"], true);
    assert_eq!(seen["purpose"], FRAUD);
    assert_eq!(seen["scope"], "sim-swap");
    // Single use.
    let (s, e) = poll(&app, &c, id).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "invalid_grant"));
}

#[tokio::test]
async fn ask_policy_pends_until_the_handset_approves() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    let (s, e) = poll(&app, &c, &id).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "authorization_pending"));
    // Polling faster than the interval.
    let (s, e) = poll(&app, &c, &id).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "slow_down"));
    let ps = prompts(&app, "+34666666666").await;
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0]["purpose"], FRAUD);
    assert_eq!(ps[0]["scopes"], json!(["sim-swap"]));
    assert_eq!(answer(&app, "+34666666666", ps[0]["id"].as_str().unwrap(), "approve").await, 200);
    assert_eq!(
        answer(&app, "+34666666666", ps[0]["id"].as_str().unwrap(), "approve").await,
        404,
        "answered once"
    );
    let (s, tok) = poll(&app, &c, &id).await;
    assert_eq!(s, 200, "{tok}");
    // Consent is now on record: the next request needs no prompt.
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    assert!(prompts(&app, "+34666666666").await.is_empty());
    assert_eq!(poll(&app, &c, &id).await.0, 200);
}

#[tokio::test]
async fn slow_down_grows_the_interval() {
    let app = ciba_app(|c| c.ciba.interval_secs = 2).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    assert_eq!(poll(&app, &c, &id).await.1["error"], "authorization_pending");
    let (_, e) = poll(&app, &c, &id).await;
    assert_eq!(e["error"], "slow_down");
    assert!(e["error_description"].as_str().unwrap().contains("7 s"), "{e}");
    app.clock.advance_ms(2100);
    assert_eq!(poll(&app, &c, &id).await.1["error"], "slow_down", "the interval is now 7 s");
}

#[tokio::test]
async fn denied_requests_answer_access_denied() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    let p = prompts(&app, "+34666666666").await;
    assert_eq!(answer(&app, "+34666666666", p[0]["id"].as_str().unwrap(), "deny").await, 200);
    let (s, e) = poll(&app, &c, &id).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "access_denied"));
    // A subscriber whose handset refuses everything.
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34677777777"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    assert_eq!(poll(&app, &c, &id).await.1["error"], "access_denied");
    // The policy is the subscriber's to change.
    set_policy(&app, "+34655555555", "auto_deny").await;
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    assert_eq!(poll(&app, &c, &id).await.1["error"], "access_denied");
}

#[tokio::test]
async fn every_hint_format() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let ask = |hint: &'static str| [("login_hint", hint), ("scope", "dpv:IdentityVerification sim-swap")];
    for hint in [
        "tel:+34655555555",
        // Seed 000's four examples, as written there.
        "ipport:80.90.34.2:16790",
        "ipport:80.90.34.2",
        "ipport:[2001:db8::1]:8080",
        "ipport:[2001:db8::1]",
        "ipport:2001:db8::1",
        "ipport:80.90.34.2:17001",
        // Behind CGNAT: one address, a port range each.
        "ipport:80.90.34.3:16790",
        "ipport:80.90.34.3:17001",
        "ipport:127.10.0.3",
        "ipport:127.10.0.3:5555",
    ] {
        let id = bc_ok(&app, &c, &ask(hint)).await;
        assert_eq!(poll(&app, &c, &id).await.0, 200, "{hint}");
    }
    for (hint, error, status) in [
        ("ipport:80.90.34.3", "unknown_user_id", 400), // CGNAT: ambiguous without a port
        ("ipport:80.90.34.3:80", "unknown_user_id", 400), // no range holds port 80
        ("ipport:10.1.2.3", "unknown_user_id", 400),
        ("tel:+34699999999", "unknown_user_id", 400),
        ("tel:34655555555", "invalid_request", 400),
        ("tel:+34-655-555-555", "invalid_request", 400),
        ("ipport:80.90.34.2:99999", "invalid_request", 400),
        ("ipport:[2001:db8::1", "invalid_request", 400),
        ("email:a@b.example", "invalid_request", 400),
        ("operatortoken:never-issued", "unknown_user_id", 400),
    ] {
        let (s, e, body) = error_of(bc(&app, &c, &ask(hint)).await).await;
        assert_eq!((s, e.as_str()), (status, error), "{hint}: {body}");
    }
    // Operator tokens from the sandbox's entitlement server: single use.
    let v: Value = app
        .http
        .post(app.url("/sandbox/v1/operator-tokens"))
        .json(&json!({"phoneNumber": "+34666666666"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hint = format!("operatortoken:{}", v["operator_token"].as_str().unwrap());
    let form = [("login_hint", hint.as_str()), ("scope", "dpv:IdentityVerification sim-swap")];
    let id = bc_ok(&app, &c, &form).await;
    let (s, tok) = poll(&app, &c, &id).await;
    assert_eq!(s, 200);
    assert_eq!(app.introspect(&c, tok["access_token"].as_str().unwrap()).await["amr"], json!(["nba"]));
    assert_eq!(error_of(bc(&app, &c, &form).await).await.1, "unknown_user_id", "operator token reused");
}

#[tokio::test]
async fn hint_rules() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    for form in [
        vec![("scope", "dpv:IdentityVerification sim-swap")],
        vec![
            ("login_hint", "tel:+34655555555"),
            ("id_token_hint", "x.y.z"),
            ("scope", "dpv:IdentityVerification sim-swap"),
        ],
        vec![
            ("login_hint", "tel:+34655555555"),
            ("login_hint_token", "x"),
            ("scope", "dpv:IdentityVerification sim-swap"),
        ],
    ] {
        let (s, e, body) = error_of(bc(&app, &c, &form).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_request"), "{form:?}: {body}");
    }
    let resp = app
        .http
        .post(app.url("/bc-authorize"))
        .basic_auth(&c.client_id, c.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("login_hint=tel:%2B34655555555&login_hint=tel:%2B34666666666&scope=dpv:IdentityVerification+sim-swap")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_request", "two hints");
}

#[tokio::test]
async fn both_purpose_syntaxes_and_scope_errors() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    for form in [
        vec![("login_hint", "tel:+34655555555"), ("purpose", "dpv:FraudPreventionAndDetection#sim-swap")],
        vec![("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
        vec![("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection#sim-swap")],
    ] {
        let id = bc_ok(&app, &c, &form).await;
        let (s, tok) = poll(&app, &c, &id).await;
        assert_eq!(s, 200);
        assert_eq!(tok["scope"], "dpv:FraudPreventionAndDetection sim-swap", "{form:?}");
    }
    for (form, why) in [
        (vec![("scope", "sim-swap")], "no purpose"),
        (
            vec![("scope", "dpv:FraudPreventionAndDetection dpv:IdentityVerification sim-swap")],
            "two purposes",
        ),
        (
            vec![
                ("scope", "dpv:FraudPreventionAndDetection sim-swap"),
                ("purpose", "dpv:IdentityVerification#sim-swap"),
            ],
            "two purposes",
        ),
        (vec![("scope", "dpv:Marketing sim-swap")], "purpose not allowed to the client"),
        (
            vec![("scope", "dpv:FraudPreventionAndDetection kyc-match:match")],
            "scope not allowed to the client",
        ),
        (vec![("scope", "dpv:FraudPreventionAndDetection")], "no API scope"),
        (
            vec![("scope", "dpv:IdentityVerification number-verification:verify")],
            "no legal basis for the pair",
        ),
        (vec![("scope", "dpv:Fraud-Prevention sim-swap")], "malformed purpose"),
    ] {
        let mut f = form.clone();
        f.push(("login_hint", "tel:+34655555555"));
        let (s, e, body) = error_of(bc(&app, &c, &f).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_scope"), "{why}: {body}");
    }
}

#[tokio::test]
async fn consent_required_or_not_and_refused_at_once() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    // Legitimate interest: no prompt even for an "ask" handset.
    let id = bc_ok(
        &app,
        &c,
        &[
            ("login_hint", "tel:+34666666666"),
            ("scope", "dpv:FraudPreventionAndDetection number-verification:verify"),
        ],
    )
    .await;
    assert!(prompts(&app, "+34666666666").await.is_empty());
    assert_eq!(poll(&app, &c, &id).await.0, 200);
    // Consent with capture "refuse": 403 at once, saying where to give it.
    let (s, e, body) = error_of(
        bc(
            &app,
            &c,
            &[
                ("login_hint", "tel:+34666666666"),
                ("scope", "dpv:RequestedServiceProvision number-verification:verify"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (403, "access_denied"));
    assert!(
        body["error_description"].as_str().unwrap().contains("/sandbox/handset/+34666666666/consents"),
        "{body}"
    );
    assert!(prompts(&app, "+34666666666").await.is_empty(), "refused at once: no prompt");
}

#[tokio::test]
async fn consent_revocation_ends_tokens_and_refresh() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let id = bc_ok(
        &app,
        &c,
        &[
            ("login_hint", "tel:+34666666666"),
            ("scope", "openid offline_access dpv:FraudPreventionAndDetection sim-swap"),
        ],
    )
    .await;
    let p = prompts(&app, "+34666666666").await;
    answer(&app, "+34666666666", p[0]["id"].as_str().unwrap(), "approve").await;
    let (s, tok) = poll(&app, &c, &id).await;
    assert_eq!(s, 200, "{tok}");
    let access = tok["access_token"].as_str().unwrap();
    let refresh = tok["refresh_token"].as_str().unwrap();
    assert_eq!(app.echo(access).await.status(), 200);
    let consents: Value = app
        .admin(reqwest::Method::GET, "/subscribers/+34666666666/consents", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(consents[0]["status"], "granted");
    let q = format!(
        "/subscribers/+34666666666/consents?client_id={}&scope=sim-swap&purpose={FRAUD}",
        c.client_id
    );
    assert_eq!(app.admin(reqwest::Method::DELETE, &q, None).await.status(), 204);
    assert_eq!(app.echo(access).await.status(), 401, "access token issued under the consent");
    let resp = app
        .post_form("/token", creds(&c), &[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_eq!(error_of(resp).await.1, "invalid_grant");
    // And a new request needs the handset again.
    bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    assert_eq!(prompts(&app, "+34666666666").await.len(), 1);
}

#[tokio::test]
async fn refresh_rotation_and_reuse_detection() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let other = ciba_client(&app, "client_secret_basic", json!({})).await;
    let tok =
        approved(&app, &c, "offline_access dpv:FraudPreventionAndDetection sim-swap sim-swap:check").await;
    let r1 = tok["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |client: &TestClient, rt: &str, scope: Option<&str>| {
        let mut f = vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", rt.to_owned())];
        if let Some(s) = scope {
            f.push(("scope", s.to_owned()));
        }
        let (id, secret) = (client.client_id.clone(), client.secret.clone().unwrap());
        let http = app.http.clone();
        let url = app.url("/token");
        async move { http.post(url).basic_auth(id, Some(secret)).form(&f).send().await.unwrap() }
    };
    // Another client's refresh token: invalid_grant.
    assert_eq!(error_of(refresh(&other, &r1, None).await).await.1, "invalid_grant");
    // Wider scope: invalid_scope.
    assert_eq!(
        error_of(refresh(&c, &r1, Some("sim-swap number-verification:verify")).await).await.1,
        "invalid_scope"
    );
    let t2: Value = refresh(&c, &r1, Some("sim-swap")).await.json().await.unwrap();
    assert_eq!(t2["scope"], "dpv:FraudPreventionAndDetection offline_access sim-swap", "narrowed");
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    let a2 = t2["access_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(app.echo(&a2).await.status(), 200);
    // Replaying the rotated r1 revokes the family: r2 and a2 die too.
    assert_eq!(error_of(refresh(&c, &r1, None).await).await.1, "invalid_grant");
    assert_eq!(error_of(refresh(&c, &r2, None).await).await.1, "invalid_grant");
    assert_eq!(app.echo(&a2).await.status(), 401);
}

#[tokio::test]
async fn refresh_reuse_grace_window_allows_parallel_refreshes() {
    let app = ciba_app(|c| c.tokens.refresh_reuse_grace_secs = 30).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let tok = approved(&app, &c, "offline_access dpv:FraudPreventionAndDetection sim-swap").await;
    let r1 = tok["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", r1)];
    assert_eq!(app.post_form("/token", creds(&c), &form).await.status(), 200);
    assert_eq!(app.post_form("/token", creds(&c), &form).await.status(), 200, "within the grace window");
}

#[tokio::test]
async fn id_token_is_signed_with_a_pairwise_sub() {
    let app = ciba_app(|_| {}).await;
    let c1 = ciba_client(&app, "client_secret_basic", json!({})).await;
    let c2 = ciba_client(&app, "client_secret_basic", json!({"id_token_signed_response_alg": "RS256"})).await;
    let jwks: Value = app.http.get(app.url("/jwks")).send().await.unwrap().json().await.unwrap();
    let mut subs = Vec::new();
    for (c, alg) in [(&c1, "ES256"), (&c2, "RS256")] {
        let id = bc_ok(
            &app,
            c,
            &[
                ("login_hint", "tel:+34655555555"),
                ("scope", "openid dpv:FraudPreventionAndDetection sim-swap"),
            ],
        )
        .await;
        let (_, tok) = poll(&app, c, &id).await;
        let jwt = tok["id_token"].as_str().unwrap();
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        assert_eq!(format!("{:?}", header.alg), alg);
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
        let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_audience(&[c.client_id.as_str()]);
        v.set_issuer(&[app.base.as_str()]);
        let claims =
            jsonwebtoken::decode::<Value>(jwt, &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(), &v)
                .unwrap()
                .claims;
        let sub = claims["sub"].as_str().unwrap().to_owned();
        assert!(!sub.contains("34655555555"), "never the MSISDN");
        assert!(claims["at_hash"].is_string());
        subs.push(sub);
    }
    assert_ne!(subs[0], subs[1], "pairwise: each client sees another sub");
    // The same client sees the same sub again.
    let id = bc_ok(
        &app,
        &c1,
        &[("login_hint", "tel:+34655555555"), ("scope", "openid dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    let (_, tok) = poll(&app, &c1, &id).await;
    let claims: Value = serde_json::from_slice(
        &netauth_domain::crypto::b64url_decode(tok["id_token"].as_str().unwrap().split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], subs[0].as_str());
}

#[tokio::test]
async fn auth_req_id_errors() {
    let app = ciba_app(|c| c.ciba.auth_req_ttl_secs = 1).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let other = ciba_client(&app, "client_secret_basic", json!({})).await;
    let id = bc_ok(
        &app,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    let (s, e) = poll(&app, &other, &id).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "invalid_grant"), "another client's auth_req_id");
    let (_, e) = poll(&app, &c, "no-such-id").await;
    assert_eq!(e["error"], "invalid_grant");
    app.clock.advance_ms(2100);
    let (s, e) = poll(&app, &c, &id).await;
    assert_eq!((s, e["error"].as_str().unwrap()), (400, "expired_token"));
    // Not registered for CIBA.
    let cc = app.create_client("client_secret_basic", json!({})).await;
    let (s, e, _) = error_of(
        bc(
            &app,
            &cc,
            &[("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
        )
        .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (400, "unauthorized_client"));
    // Client authentication is required.
    let resp = app.post_form("/bc-authorize", None, &[("login_hint", "tel:+34655555555")]).await;
    assert_eq!(error_of(resp).await.1, "invalid_client");
}

#[tokio::test]
async fn pending_prompts_are_bounded() {
    let app = ciba_app(|c| c.ciba.max_pending_prompts = 2).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let form = [("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")];
    bc_ok(&app, &c, &form).await;
    bc_ok(&app, &c, &form).await;
    let (s, e, _) = error_of(bc(&app, &c, &form).await).await;
    assert_eq!((s, e.as_str()), (403, "access_denied"));
}

/// SECURITY.md 28: signed authentication requests.
#[tokio::test]
async fn signed_authentication_requests() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "private_key_jwt", json!({})).await;
    let other = ciba_client(&app, "private_key_jwt", json!({})).await;
    let now = netauth_server::infra::clock::system_now();
    let base = json!({
        "iss": c.client_id, "aud": app.base, "iat": now, "nbf": now, "exp": now + 120, "jti": random_name(),
        "login_hint": "tel:+34655555555", "scope": "dpv:FraudPreventionAndDetection sim-swap",
    });
    let send = |request: String| {
        let assertion = sign(&c, &assertion_claims(&c.client_id, &app.base));
        let http = app.http.clone();
        let url = app.url("/bc-authorize");
        async move {
            http.post(url)
                .form(&[
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", assertion.as_str()),
                    ("request", request.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let good = sign(&c, &base);
    let resp = send(good.clone()).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let mut to_endpoint = base.clone();
    to_endpoint["aud"] = app.url("/bc-authorize").into();
    to_endpoint["jti"] = random_name().into();
    assert_eq!(send(sign(&c, &to_endpoint)).await.status(), 200, "aud = the endpoint URL");
    let (s, e, _) = error_of(send(good).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_request_object"), "replayed request object");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("no jti", Box::new(|v| drop(v.as_object_mut().unwrap().remove("jti")))),
        ("no iat", Box::new(|v| drop(v.as_object_mut().unwrap().remove("iat")))),
        ("no nbf", Box::new(|v| drop(v.as_object_mut().unwrap().remove("nbf")))),
        ("no exp", Box::new(|v| drop(v.as_object_mut().unwrap().remove("exp")))),
        ("no aud", Box::new(|v| drop(v.as_object_mut().unwrap().remove("aud")))),
        ("wrong aud", Box::new(|v| v["aud"] = "https://other.example".into())),
        ("wrong iss", Box::new(|v| v["iss"] = "someone-else".into())),
        (
            "expired",
            Box::new(move |v| {
                v["iat"] = (now - 400).into();
                v["nbf"] = (now - 400).into();
                v["exp"] = (now - 200).into();
            }),
        ),
        ("lifetime over 300 s", Box::new(move |v| v["exp"] = (now + 301).into())),
        (
            "iat in the future",
            Box::new(move |v| {
                v["iat"] = (now + 100).into();
                v["exp"] = (now + 200).into();
            }),
        ),
    ];
    for (why, edit) in cases {
        let mut claims = base.clone();
        claims["jti"] = random_name().into();
        edit(&mut claims);
        let (s, e, body) = error_of(send(sign(&c, &claims)).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_request_object"), "{why}: {body}");
    }
    let mut claims = base.clone();
    claims["jti"] = random_name().into();
    let (s, e, _) = error_of(send(sign(&other, &claims)).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_request_object"), "signed by another client");
    let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims.to_string().as_bytes()));
    let (s, e, _) = error_of(send(none).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_request_object"), "alg none");
}

/// A local endpoint standing in for the client's notification endpoint.
struct Notifications {
    url: String,
    got: std::sync::Arc<tokio::sync::Mutex<Vec<(String, Value)>>>,
    /// How many notifications have arrived, to wait on without sleeping.
    seen: tokio::sync::watch::Receiver<usize>,
}

async fn notification_endpoint() -> Notifications {
    use axum::routing::post;
    let got: std::sync::Arc<tokio::sync::Mutex<Vec<(String, Value)>>> = Default::default();
    let (tx, seen) = tokio::sync::watch::channel(0usize);
    let tx = std::sync::Arc::new(tx);
    let g = got.clone();
    let router = axum::Router::new().route(
        "/cb",
        post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
            let (g, tx) = (g.clone(), tx.clone());
            async move {
                let auth =
                    headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let mut v = g.lock().await;
                v.push((auth, body));
                tx.send_replace(v.len());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Notifications { url: format!("http://{addr}/cb"), got, seen }
}

async fn wait_for(n: &Notifications, count: usize) -> Vec<(String, Value)> {
    let mut seen = n.seen.clone();
    let _ = tokio::time::timeout(Duration::from_secs(5), seen.wait_for(|k| *k >= count)).await;
    n.got.lock().await.clone()
}

#[tokio::test]
async fn ping_mode_notifies_then_the_client_polls() {
    let app = ciba_app(|_| {}).await;
    let n = notification_endpoint().await;
    let c = ciba_client(
        &app,
        "client_secret_basic",
        json!({"backchannel_token_delivery_mode": "ping", "backchannel_client_notification_endpoint": n.url}),
    )
    .await;
    let form = [("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")];
    let (s, e, _) = error_of(bc(&app, &c, &form).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_request"), "client_notification_token required");
    let mut f = form.to_vec();
    f.push(("client_notification_token", "note-123"));
    let id = bc_ok(&app, &c, &f).await;
    let mut seen = n.seen.clone();
    let early = tokio::time::timeout(Duration::from_millis(300), seen.wait_for(|k| *k > 0)).await;
    assert!(early.is_err(), "nothing before the decision");
    let p = prompts(&app, "+34666666666").await;
    answer(&app, "+34666666666", p[0]["id"].as_str().unwrap(), "approve").await;
    let got = wait_for(&n, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "Bearer note-123");
    assert_eq!(got[0].1, json!({"auth_req_id": id}));
    assert_eq!(poll(&app, &c, &id).await.0, 200);
}

#[tokio::test]
async fn push_mode_delivers_the_tokens() {
    let app = ciba_app(|_| {}).await;
    let n = notification_endpoint().await;
    let c = ciba_client(
        &app,
        "client_secret_basic",
        json!({"backchannel_token_delivery_mode": "push", "backchannel_client_notification_endpoint": n.url}),
    )
    .await;
    let id = bc_ok(
        &app,
        &c,
        &[
            ("login_hint", "tel:+34655555555"),
            ("scope", "openid dpv:FraudPreventionAndDetection sim-swap"),
            ("client_notification_token", "push-456"),
        ],
    )
    .await;
    let got = wait_for(&n, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "Bearer push-456");
    let body = &got[0].1;
    assert_eq!(body["auth_req_id"], id.as_str());
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(app.echo(access).await.status(), 200);
    let claims: Value = serde_json::from_slice(
        &netauth_domain::crypto::b64url_decode(body["id_token"].as_str().unwrap().split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["urn:openid:params:jwt:claim:auth_req_id"], id.as_str());
    // Push clients do not poll.
    assert_eq!(poll(&app, &c, &id).await.1["error"], "unauthorized_client");
    // Tokens pushed to the client count as issued, like those polled for.
    let m = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let issued = format!(r#"netauth_tokens_issued_by_grant_total{{grant_type="{CIBA}"}} 1"#);
    assert!(m.lines().any(|l| l == issued), "no `{issued}` in\n{m}");
    assert!(m.lines().any(|l| l == "netauth_tokens_issued_total 1"), "{m}");
}

#[tokio::test]
async fn notifications_are_retried() {
    let app = ciba_app(|_| {}).await;
    // An endpoint that fails twice, then accepts.
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let k = count.clone();
    let (tx, mut seen) = tokio::sync::watch::channel(0usize);
    let tx = std::sync::Arc::new(tx);
    let router = axum::Router::new().route(
        "/cb",
        axum::routing::post(move || {
            let (k, tx) = (k.clone(), tx.clone());
            async move {
                let n = k.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tx.send_replace(n + 1);
                if n < 2 {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let c = ciba_client(
        &app,
        "client_secret_basic",
        json!({"backchannel_token_delivery_mode": "ping", "backchannel_client_notification_endpoint": url}),
    )
    .await;
    bc_ok(
        &app,
        &c,
        &[
            ("login_hint", "tel:+34655555555"),
            ("scope", "dpv:FraudPreventionAndDetection sim-swap"),
            ("client_notification_token", "n"),
        ],
    )
    .await;
    // The server retries with its backoff (real time: it is the delay
    // between HTTP attempts, not protocol time); wait for the third.
    let _ = tokio::time::timeout(Duration::from_secs(6), seen.wait_for(|k| *k >= 3)).await;
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3, "two failures, then delivered");
}

#[tokio::test]
async fn polling_works_on_any_node() {
    let a = ciba_app(|_| {}).await;
    let b = spawn_peer(&a).await;
    let c = ciba_client(&a, "client_secret_basic", json!({})).await;
    let id = bc_ok(
        &a,
        &c,
        &[("login_hint", "tel:+34666666666"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
    )
    .await;
    assert_eq!(poll(&b, &c, &id).await.1["error"], "authorization_pending");
    let p = prompts(&b, "+34666666666").await;
    answer(&b, "+34666666666", p[0]["id"].as_str().unwrap(), "approve").await;
    let (s, _) = poll(&b, &c, &id).await;
    assert_eq!(s, 200);
    assert_eq!(poll(&a, &c, &id).await.1["error"], "invalid_grant", "spent on node B, refused on node A");
}

/// SECURITY.md 14: revoking a refresh token kills it and its access tokens.
#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let other = ciba_client(&app, "client_secret_basic", json!({})).await;
    let tok = approved(&app, &c, "offline_access dpv:FraudPreventionAndDetection sim-swap").await;
    let rt = tok["refresh_token"].as_str().unwrap();
    let at = tok["access_token"].as_str().unwrap();
    // Another client's attempt changes nothing.
    let r =
        app.post_form("/revoke", creds(&other), &[("token", rt), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.echo(at).await.status(), 200);
    let r = app.post_form("/revoke", creds(&c), &[("token", rt), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.echo(at).await.status(), 401);
    let r =
        app.post_form("/token", creds(&c), &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await;
    assert_eq!(error_of(r).await.1, "invalid_grant");
}

#[tokio::test]
async fn consent_given_again_right_after_revocation_works() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let form = [("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")];
    let id = bc_ok(&app, &c, &form).await;
    assert_eq!(poll(&app, &c, &id).await.0, 200);
    let q = format!(
        "/subscribers/+34655555555/consents?client_id={}&scope=sim-swap&purpose={FRAUD}",
        c.client_id
    );
    assert_eq!(app.admin(reqwest::Method::DELETE, &q, None).await.status(), 204);
    // The handset auto-approves again at once: the new token must work.
    let id = bc_ok(&app, &c, &form).await;
    let (s, tok) = poll(&app, &c, &id).await;
    assert_eq!(s, 200);
    assert_eq!(app.echo(tok["access_token"].as_str().unwrap()).await.status(), 200);
}

/// A refresh refused while the subscriber is suspended spends nothing: after
/// reactivation the same refresh token works (no false replay alarm), and
/// `auth_time` stays the time of the original approval.
#[tokio::test]
async fn refused_refresh_spends_nothing_and_auth_time_holds() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let tok = approved(&app, &c, "openid offline_access dpv:FraudPreventionAndDetection sim-swap").await;
    let claims = |t: &Value| -> Value {
        serde_json::from_slice(
            &netauth_domain::crypto::b64url_decode(
                t["id_token"].as_str().unwrap().split('.').nth(1).unwrap(),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let auth_time = claims(&tok)["auth_time"].clone();
    let rt = tok["refresh_token"].as_str().unwrap().to_owned();
    let sub: Value =
        app.admin(reqwest::Method::GET, "/subscribers/+34655555555", None).await.json().await.unwrap();
    let mut input = json!({"phone_number": "+34655555555", "operator_id": sub["operator_id"], "sims": sub["sims"], "handset_policy": "auto_approve"});
    input["status"] = "suspended".into();
    assert_eq!(
        app.admin(reqwest::Method::PUT, "/subscribers/+34655555555", Some(input.clone())).await.status(),
        200
    );
    let form = |rt: &str| vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", rt.to_owned())];
    let send = |f: Vec<(&'static str, String)>| {
        let (http, url, id, secret) =
            (app.http.clone(), app.url("/token"), c.client_id.clone(), c.secret.clone());
        async move { http.post(url).basic_auth(id, secret).form(&f).send().await.unwrap() }
    };
    assert_eq!(error_of(send(form(&rt)).await).await.1, "invalid_grant");
    input["status"] = "active".into();
    assert_eq!(app.admin(reqwest::Method::PUT, "/subscribers/+34655555555", Some(input)).await.status(), 200);
    app.clock.advance_ms(1100);
    let t2: Value = send(form(&rt)).await.json().await.unwrap();
    assert!(t2["access_token"].is_string(), "{t2}");
    app.clock.advance_ms(1100);
    let t3: Value = send(form(t2["refresh_token"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(claims(&t3)["auth_time"], auth_time, "auth_time is the original approval's");
}

/// Issue #10 point 10, CIBA Core §7.1.1: authentication-request parameters
/// sent beside a signed request object are refused, not silently ignored;
/// client authentication beside it is fine.
#[tokio::test]
async fn parameters_beside_a_request_object_are_refused() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "private_key_jwt", json!({})).await;
    let now = netauth_server::infra::clock::system_now();
    let request = |jti: String| {
        sign(
            &c,
            &json!({
                "iss": c.client_id, "aud": app.base, "iat": now, "nbf": now, "exp": now + 120, "jti": jti,
                "login_hint": "tel:+34655555555", "scope": "dpv:FraudPreventionAndDetection sim-swap",
            }),
        )
    };
    let send = |extra: Option<(&'static str, String)>| {
        let assertion = sign(&c, &assertion_claims(&c.client_id, &app.base));
        let request = request(random_name());
        let (http, url) = (app.http.clone(), app.url("/bc-authorize"));
        async move {
            let mut form = vec![
                ("client_assertion_type", ASSERTION_TYPE.to_owned()),
                ("client_assertion", assertion),
                ("request", request),
            ];
            form.extend(extra);
            http.post(url).form(&form).send().await.unwrap()
        }
    };
    for extra in [
        ("login_hint", "tel:+34677777777"),
        ("scope", "dpv:FraudPreventionAndDetection sim-swap"),
        ("purpose", "dpv:FraudPreventionAndDetection"),
        ("binding_message", "hi"),
        ("client_notification_token", "t"),
        ("requested_expiry", "60"),
    ] {
        let (s, e, body) = error_of(send(Some((extra.0, extra.1.to_owned()))).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_request"), "{extra:?}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains(extra.0), "{body}");
    }
    // The same request alone, and with the client id beside it, works.
    assert_eq!(send(None).await.status(), 200);
    assert_eq!(send(Some(("client_id", c.client_id.clone()))).await.status(), 200);
}
