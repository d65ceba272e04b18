//! Client authentication: every case of SECURITY.md 19–24 performed as an
//! attack against a running server.

use crate::helpers::*;
use netauth_domain::client::SigningAlg;
use netauth_domain::keys::SigningKey;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

async fn assert_invalid_client(resp: reqwest::Response, why: &str) {
    let www = resp.headers().get("www-authenticate").cloned();
    let (status, error, body) = error_of(resp).await;
    assert_eq!((status, error.as_str()), (401, "invalid_client"), "{why}: {body}");
    assert!(www.is_some(), "{why}: 401 without WWW-Authenticate");
}

pub async fn jwt_client(app: &TestApp) -> TestClient {
    app.create_client("private_key_jwt", json!({})).await
}

#[tokio::test]
async fn private_key_jwt_works_with_issuer_or_endpoint_audience() {
    let app = spawn_app().await;
    let c = jwt_client(&app).await;
    for aud in [app.base.clone(), app.url("/token")] {
        let resp = app.cc_with_assertion(&sign(&c, &assertion_claims(&c.client_id, &aud))).await;
        assert_eq!(resp.status(), 200, "aud {aud}");
    }
    // The aud may also be an array containing the endpoint.
    let mut claims = assertion_claims(&c.client_id, "x");
    claims["aud"] = json!(["https://elsewhere", app.url("/token")]);
    assert_eq!(app.cc_with_assertion(&sign(&c, &claims)).await.status(), 200);
    // client_id in the form is allowed when it matches.
    let resp = app
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &sign(&c, &assertion_claims(&c.client_id, &app.base))),
            ],
        )
        .await;
    assert_eq!(resp.status(), 200);
}

/// SECURITY.md 19: `alg=none`, and HS256 keyed with the client's public key.
#[tokio::test]
async fn algorithm_confusion_is_refused() {
    let app = spawn_app().await;
    let c = jwt_client(&app).await;
    let claims = assertion_claims(&c.client_id, &app.url("/token"));
    let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims.to_string().as_bytes()));
    assert_invalid_client(app.cc_with_assertion(&none).await, "alg none").await;
    let none_kid = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "kid": c.kid}).to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    assert_invalid_client(app.cc_with_assertion(&none_kid).await, "alg none with kid").await;
    // HS256 with the public key as the HMAC secret, in the forms an attacker
    // would try: the JWK JSON, and the raw public point.
    let mut jwk = c.key.as_ref().unwrap().public_jwk_members();
    jwk["kid"] = c.kid.clone().unwrap().into();
    let header = json!({"alg": "HS256", "kid": c.kid});
    for secret in [jwk.to_string().into_bytes(), b64(jwk.to_string().as_bytes()).into_bytes()] {
        let claims = assertion_claims(&c.client_id, &app.url("/token"));
        assert_invalid_client(app.cc_with_assertion(&sign_hs256(&secret, &header, &claims)).await, "HS256")
            .await;
    }
    // An RSA algorithm against an EC key.
    let (rsa, _) = SigningKey::generate(SigningAlg::RS256).unwrap();
    let jwt = sign_with_header(&rsa, &json!({"alg": "RS256", "kid": c.kid}), &claims);
    assert_invalid_client(app.cc_with_assertion(&jwt).await, "RS256 on an EC key").await;
}

/// SECURITY.md 20: another client's key, unknown kid, keys in the header.
#[tokio::test]
async fn foreign_and_embedded_keys_are_refused() {
    let app = spawn_app().await;
    let c = jwt_client(&app).await;
    let other = jwt_client(&app).await;
    let claims = assertion_claims(&c.client_id, &app.url("/token"));
    // Signed by the other client's key, naming ours.
    let jwt = other.key.as_ref().unwrap().sign_jwt(c.kid.as_deref(), None, &claims);
    assert_invalid_client(app.cc_with_assertion(&jwt).await, "another client's key").await;
    // Signed by the other client's key, naming its kid.
    let jwt = sign(&other, &claims);
    assert_invalid_client(app.cc_with_assertion(&jwt).await, "other kid").await;
    let jwt = c.key.as_ref().unwrap().sign_jwt(
        Some("no-such-kid"),
        None,
        &assertion_claims(&c.client_id, &app.base),
    );
    assert_invalid_client(app.cc_with_assertion(&jwt).await, "unknown kid").await;
    // An attacker key offered in jwk / jku / x5u: ignored, never fetched.
    let (attacker, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mock = mock_jwks(json!({"keys": [attacker.public_jwk_members()]})).await;
    for header in [
        json!({"alg": "ES256", "jwk": attacker.public_jwk_members()}),
        json!({"alg": "ES256", "jku": mock.url}),
        json!({"alg": "ES256", "x5u": mock.url}),
        json!({"alg": "ES256", "kid": "attacker", "jku": mock.url}),
    ] {
        let jwt = sign_with_header(&attacker, &header, &assertion_claims(&c.client_id, &app.base));
        assert_invalid_client(app.cc_with_assertion(&jwt).await, &header.to_string()).await;
    }
    assert_eq!(mock.hits.load(Ordering::SeqCst), 0, "header URLs must never be fetched");
}

/// SECURITY.md 21: every claim rule.
#[tokio::test]
async fn assertion_claims_are_enforced() {
    let app = spawn_app().await;
    let c = jwt_client(&app).await;
    let now = netauth_server::infra::clock::system_now();
    let aud = app.url("/token");
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("iss is another client", Box::new(|v| v["iss"] = "someone-else".into())),
        ("sub is another client", Box::new(|v| v["sub"] = "someone-else".into())),
        ("no iss", Box::new(|v| drop(v.as_object_mut().unwrap().remove("iss")))),
        ("no exp", Box::new(|v| drop(v.as_object_mut().unwrap().remove("exp")))),
        ("no jti", Box::new(|v| drop(v.as_object_mut().unwrap().remove("jti")))),
        (
            "expired",
            Box::new(move |v| {
                v["iat"] = (now - 200).into();
                v["exp"] = (now - 100).into();
            }),
        ),
        (
            "exp - iat > 300",
            Box::new(move |v| {
                v["iat"] = now.into();
                v["exp"] = (now + 301).into();
            }),
        ),
        (
            "exp too far ahead without iat",
            Box::new(move |v| {
                v.as_object_mut().unwrap().remove("iat");
                v["exp"] = (now + 1000).into();
            }),
        ),
        (
            "iat in the future",
            Box::new(move |v| {
                v["iat"] = (now + 120).into();
                v["exp"] = (now + 180).into();
            }),
        ),
        ("nbf in the future", Box::new(move |v| v["nbf"] = (now + 120).into())),
        ("wrong aud", Box::new(|v| v["aud"] = "https://other-as.example/token".into())),
        (
            "aud of another endpoint",
            Box::new(|v| {
                let a = v["aud"].as_str().unwrap().replace("/token", "/introspect");
                v["aud"] = a.into();
            }),
        ),
        ("no aud", Box::new(|v| drop(v.as_object_mut().unwrap().remove("aud")))),
    ];
    for (why, edit) in cases {
        let mut claims = assertion_claims(&c.client_id, &aud);
        edit(&mut claims);
        assert_invalid_client(app.cc_with_assertion(&sign(&c, &claims)).await, why).await;
    }
}

/// SECURITY.md 22: a jti is single-use, on every node.
#[tokio::test]
async fn replayed_assertion_is_refused_on_any_node() {
    let node_a = spawn_app().await;
    let node_b = spawn_peer(&node_a).await;
    let c = jwt_client(&node_a).await;
    let claims = assertion_claims(&c.client_id, &node_a.url("/token"));
    let jwt = sign(&c, &claims);
    assert_eq!(node_a.cc_with_assertion(&jwt).await.status(), 200);
    assert_invalid_client(node_a.cc_with_assertion(&jwt).await, "replay, same node").await;
    // Node B has its own issuer URL; an assertion for node A's token endpoint
    // that B accepts by issuer is the same jti: refused there too.
    let mut claims_b = claims.clone();
    claims_b["aud"] = node_b.url("/token").into();
    let fresh = sign(&c, &{
        let mut f = assertion_claims(&c.client_id, &node_b.url("/token"));
        f["jti"] = claims["jti"].clone();
        f
    });
    assert_invalid_client(node_b.cc_with_assertion(&fresh).await, "replay, other node").await;
    // Parallel redemption of one fresh assertion: exactly one succeeds.
    let jwt = sign(&c, &assertion_claims(&c.client_id, &node_a.base));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let node = if i % 2 == 0 { node_a.base.clone() } else { node_b.base.clone() };
        let (http, jwt) = (node_a.http.clone(), jwt.clone());
        tasks.push(tokio::spawn(async move {
            http.post(format!("{node}/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", jwt.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    // Node B only accepts its own issuer as aud, so at most node A's four can
    // succeed, and of those exactly one.
    assert_eq!(ok, 1);
}

/// SECURITY.md 23: two methods in one request, duplicated parameters.
#[tokio::test]
async fn mixed_or_duplicated_credentials_are_invalid_request() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let j = jwt_client(&app).await;
    let secret = c.secret.as_deref().unwrap();
    let assertion = sign(&j, &assertion_claims(&j.client_id, &app.base));
    type Basic<'a> = Option<(&'a str, &'a str)>;
    let cases: Vec<(Basic, Vec<(&str, &str)>)> = vec![
        (Some((&c.client_id, secret)), vec![("client_id", &c.client_id), ("client_secret", secret)]),
        (
            Some((&c.client_id, secret)),
            vec![("client_assertion_type", ASSERTION_TYPE), ("client_assertion", &assertion)],
        ),
        (
            None,
            vec![
                ("client_id", &j.client_id),
                ("client_secret", secret),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        ),
        (Some((&c.client_id, secret)), vec![("client_id", "someone-else")]),
        (None, vec![("client_assertion", &assertion)]),
        (None, vec![("client_assertion_type", "urn:x"), ("client_assertion", &assertion)]),
    ];
    for (basic, mut form) in cases {
        form.push(("grant_type", "client_credentials"));
        let (s, e, body) = error_of(app.post_form("/token", basic, &form).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_request"), "{form:?}: {body}");
    }
    let resp = app
        .http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={0}&client_id={0}&client_secret={secret}",
            c.client_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_request");
    // Two Authorization headers.
    let resp = app
        .http
        .post(app.url("/token"))
        .basic_auth(&c.client_id, Some(secret))
        .header("authorization", "Bearer x")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(resp).await.1, "invalid_request", "two Authorization headers");
}

/// SECURITY.md 24: wrong secret → 401 with WWW-Authenticate, the same
/// answer for an unknown client or another method.
#[tokio::test]
async fn wrong_secret_is_401_with_www_authenticate() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let resp =
        app.post_form("/token", Some((&c.client_id, "wrong")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(resp.headers()["www-authenticate"], "Basic realm=\"netauth\"");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_invalid_client(resp, "wrong secret").await;
    let resp =
        app.post_form("/token", Some(("no-such-client", "x")), &[("grant_type", "client_credentials")]).await;
    assert_invalid_client(resp, "unknown client").await;
    // Registered for Basic, presenting the secret in the form.
    let resp = app
        .post_form(
            "/token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_secret", c.secret.as_deref().unwrap()),
            ],
        )
        .await;
    assert_invalid_client(resp, "method other than the registered one").await;
}

async fn cc_basic(app: &TestApp, http: &reqwest::Client, id: &str, secret: &str) -> u16 {
    http.post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Issue #10 point 1, SECURITY.md 24: whoever knows a client id cannot lock
/// the client out. An attacker at another address fails again and again for
/// client X, by secret and through the `sub` of unverified assertions; the
/// attacker is stopped, X's correct secret still gets 200 from X's address.
#[tokio::test]
async fn failures_from_another_address_never_lock_a_client_out() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| {
            c.client_auth.max_failures_per_client_address = 3;
            c.client_auth.max_failures_per_address = 1000;
        }),
        ..Default::default()
    })
    .await;
    let x = app.create_client("client_secret_basic", json!({})).await;
    let secret = x.secret.as_deref().unwrap();
    let attacker = http_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(cc_basic(&app, &attacker, &x.client_id, "guess").await);
    }
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "the attacker is limited: {statuses:?}");
    // Assertions naming X in `sub` (unverified, wrongly signed) from the
    // attacker's address count against the attacker, not against X.
    let (k, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    for _ in 0..5 {
        let jwt = k.sign_jwt(Some("k"), None, &assertion_claims(&x.client_id, &app.url("/token")));
        let s = attacker
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", jwt.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .status();
        assert!(s == 401 || s == 429, "{s}");
    }
    // X, from its own address, with the right secret: never refused.
    for _ in 0..3 {
        assert_eq!(cc_basic(&app, &app.http, &x.client_id, secret).await, 200);
    }
    // Even the attacker's address holding the right secret waits: that
    // budget is the attacker's own.
    assert_eq!(cc_basic(&app, &attacker, &x.client_id, secret).await, 429);
}

/// SECURITY.md 24: failures are limited per source address too, whatever
/// client ids they name; other addresses are unaffected.
#[tokio::test]
async fn failures_are_limited_per_address() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| c.client_auth.max_failures_per_address = 2),
        ..Default::default()
    })
    .await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let secret = c.secret.as_deref().unwrap();
    let noisy = http_from("127.0.0.3");
    for id in ["a", "b"] {
        assert_eq!(cc_basic(&app, &noisy, id, "x").await, 401);
    }
    let r = noisy
        .post(app.url("/token"))
        .basic_auth(&c.client_id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(cc_basic(&app, &app.http, &c.client_id, secret).await, 200, "another address");
}

/// RFC 6749 §2.3.1: the Basic id and secret are form-urlencoded first.
#[tokio::test]
async fn basic_credentials_are_form_decoded() {
    let app = spawn_app().await;
    let c = app.create_client("client_secret_basic", json!({"client_id": "my.client~1"})).await;
    let encoded_id: String = form_urlencoded::byte_serialize(c.client_id.as_bytes()).collect();
    let encoded_id = encoded_id.replace('.', "%2E").replace('~', "%7E");
    let resp = app
        .post_form(
            "/token",
            Some((&encoded_id, c.secret.as_deref().unwrap())),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn app_jwt_of_seed_002() {
    let app = spawn_app().await;
    let c = app.create_client("app_jwt", json!({})).await;
    let now = netauth_server::infra::clock::system_now();
    let claims =
        |exp: i64| json!({"application_id": c.client_id, "iat": now, "jti": random_name(), "exp": exp});
    let key = c.key.as_ref().unwrap();
    // Vonage application JWTs usually carry no kid.
    let jwt = key.sign_jwt(None, Some("JWT"), &claims(now + 900));
    assert_eq!(key.alg(), SigningAlg::RS256);
    let resp = app.cc_with_app_jwt(&jwt).await;
    assert_eq!(resp.status(), 200);
    let (s, e, _) = error_of(app.cc_with_app_jwt(&jwt).await).await;
    assert_eq!((s, e.as_str()), (401, "invalid_client"), "jti replay");
    let resp = app.cc_with_app_jwt(&key.sign_jwt(None, None, &claims(now + 25 * 3600))).await;
    assert_eq!(resp.headers()["www-authenticate"], "Bearer realm=\"netauth\"");
    assert_eq!(error_of(resp).await.1, "invalid_client", "exp beyond 24 h");
    let mut wrong = claims(now + 60);
    wrong["application_id"] = "another-app".into();
    assert_eq!(
        error_of(app.cc_with_app_jwt(&key.sign_jwt(None, None, &wrong)).await).await.1,
        "invalid_client"
    );
    let mut no_iat = claims(now + 60);
    no_iat.as_object_mut().unwrap().remove("iat");
    assert_eq!(
        error_of(app.cc_with_app_jwt(&key.sign_jwt(None, None, &no_iat)).await).await.1,
        "invalid_client"
    );
}

#[tokio::test]
async fn jwks_uri_is_cached_and_refreshed_on_unknown_kid_at_most_once_a_minute() {
    let app = spawn_app().await;
    let (k1, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mut j1 = k1.public_jwk_members();
    j1["kid"] = "k1".into();
    let mock = mock_jwks(json!({"keys": [j1.clone()]})).await;
    let c = app.create_client("private_key_jwt", json!({"jwks_uri": mock.url, "jwks": null})).await;
    let token_with =
        |k: &SigningKey, kid: &str| k.sign_jwt(Some(kid), None, &assertion_claims(&c.client_id, &app.base));
    assert_eq!(app.cc_with_assertion(&token_with(&k1, "k1")).await.status(), 200);
    assert_eq!(app.cc_with_assertion(&token_with(&k1, "k1")).await.status(), 200);
    assert_eq!(mock.hits.load(Ordering::SeqCst), 1, "cached");
    // The client rotates to k2 and publishes it: the unknown kid would
    // trigger a refresh, but the set was fetched less than a minute ago.
    let (k2, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mut j2 = k2.public_jwk_members();
    j2["kid"] = "k2".into();
    *mock.set.lock().unwrap() = json!({"keys": [j1, j2]});
    for _ in 0..5 {
        assert_eq!(app.cc_with_assertion(&token_with(&k2, "k2")).await.status(), 401);
    }
    assert_eq!(mock.hits.load(Ordering::SeqCst), 1, "no refetch within a minute, whatever the kid");
}

#[tokio::test]
async fn jwks_uri_refresh_picks_up_a_new_key() {
    let app = spawn_with(Options {
        tweak: Box::new(|c| c.client_auth.jwks_refresh_min_secs = 0),
        ..Default::default()
    })
    .await;
    let (k1, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mut j1 = k1.public_jwk_members();
    j1["kid"] = "k1".into();
    let mock = mock_jwks(json!({"keys": [j1.clone()]})).await;
    let c = app.create_client("private_key_jwt", json!({"jwks_uri": mock.url, "jwks": null})).await;
    let (k2, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mut j2 = k2.public_jwk_members();
    j2["kid"] = "k2".into();
    assert_eq!(
        app.cc_with_assertion(&k1.sign_jwt(Some("k1"), None, &assertion_claims(&c.client_id, &app.base)))
            .await
            .status(),
        200
    );
    *mock.set.lock().unwrap() = json!({"keys": [j1, j2]});
    let resp = app
        .cc_with_assertion(&k2.sign_jwt(Some("k2"), None, &assertion_claims(&c.client_id, &app.base)))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(mock.hits.load(Ordering::SeqCst), 2);
}

/// A raw `jwks_uri` endpoint: answers every request with `head` and then
/// `body_chunks` chunks of 16 KiB (chunked encoding), after `delay`; counts
/// requests and the bytes it managed to write.
struct RawJwks {
    url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    written: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn raw_jwks(body_chunks: usize, delay: std::time::Duration, valid: Option<Value>) -> RawJwks {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (h, w) = (hits.clone(), written.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let (h, w, valid) = (h.clone(), w.clone(), valid.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                h.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                if let Some(v) = valid {
                    let b = v.to_string();
                    let _ = s
                        .write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}", b.len()).as_bytes())
                        .await;
                    return;
                }
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n").await;
                let chunk = format!("4000\r\n{}\r\n", " ".repeat(0x4000));
                for _ in 0..body_chunks {
                    if s.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    w.fetch_add(0x4000, Ordering::SeqCst);
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    RawJwks { url, hits, written }
}

/// Issue #10 point 4: a `jwks_uri` answering an endless chunked body is
/// abandoned past 64 KiB; the failure is remembered, so parallel and later
/// assertions do not fetch again.
#[tokio::test]
async fn huge_jwks_uri_bodies_are_cut_and_failures_cached() {
    let app = spawn_app().await;
    // 64 MiB offered; the server must stop long before.
    let raw = raw_jwks(4096, std::time::Duration::ZERO, None).await;
    let c = app.create_client("private_key_jwt", json!({"jwks_uri": raw.url, "jwks": null})).await;
    let (k, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let jwt = k.sign_jwt(Some("k"), None, &assertion_claims(&c.client_id, &app.base));
        let (http, url) = (app.http.clone(), app.url("/token"));
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", jwt.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 401);
    }
    assert_eq!(raw.hits.load(Ordering::SeqCst), 1, "ten parallel assertions, one fetch");
    let jwt = k.sign_jwt(Some("k"), None, &assertion_claims(&c.client_id, &app.base));
    assert_eq!(app.cc_with_assertion(&jwt).await.status(), 401);
    assert_eq!(raw.hits.load(Ordering::SeqCst), 1, "the failure is remembered");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let written = raw.written.load(Ordering::SeqCst);
    assert!(written < 16 * 1024 * 1024, "the server stopped reading: {written} bytes written of 64 MiB");
}

/// Issue #10 point 4: concurrent first fetches of one `jwks_uri` share a
/// single request.
#[tokio::test]
async fn concurrent_jwks_uri_fetches_share_one_request() {
    let app = spawn_app().await;
    let (k, _) = SigningKey::generate(SigningAlg::ES256).unwrap();
    let mut j = k.public_jwk_members();
    j["kid"] = "k1".into();
    let raw = raw_jwks(0, std::time::Duration::from_millis(300), Some(json!({"keys": [j]}))).await;
    let c = app.create_client("private_key_jwt", json!({"jwks_uri": raw.url, "jwks": null})).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let jwt = k.sign_jwt(Some("k1"), None, &assertion_claims(&c.client_id, &app.base));
        let (http, url) = (app.http.clone(), app.url("/token"));
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", ASSERTION_TYPE),
                    ("client_assertion", jwt.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(raw.hits.load(Ordering::SeqCst), 1);
}

/// Issue #11.6: at introspection and revocation a secret-based client may
/// present its secret with Basic or in the form, whatever it registered
/// (RFC 8414 lists methods per endpoint); the token endpoint keeps the
/// registered method, key-based clients keep their key, and two methods in
/// one request stay `invalid_request` (SECURITY.md 23).
#[tokio::test]
async fn introspection_and_revocation_take_a_secret_either_way() {
    let app = spawn_app().await;
    for registered in ["client_secret_post", "client_secret_basic"] {
        let c = app.create_client(registered, json!({})).await;
        let secret = c.secret.as_deref().unwrap();
        let id = c.client_id.as_str();
        let token = {
            let form = [("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)];
            let resp = if registered == "client_secret_post" {
                app.post_form("/token", None, &form).await
            } else {
                app.post_form("/token", Some((id, secret)), &form[..1]).await
            };
            assert_eq!(resp.status(), 200, "{registered}");
            resp.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
        };
        let basic = app.post_form("/introspect", Some((id, secret)), &[("token", &token)]).await;
        assert_eq!(basic.status(), 200, "{registered}: introspection with Basic");
        assert_eq!(basic.json::<Value>().await.unwrap()["active"], true);
        let post = app
            .post_form(
                "/introspect",
                None,
                &[("token", &token), ("client_id", id), ("client_secret", secret)],
            )
            .await;
        assert_eq!(post.status(), 200, "{registered}: introspection with the secret in the form");
        assert_eq!(post.json::<Value>().await.unwrap()["active"], true);
        // Both at once is still two methods.
        let both = app
            .post_form(
                "/introspect",
                Some((id, secret)),
                &[("token", &token), ("client_id", id), ("client_secret", secret)],
            )
            .await;
        assert_eq!(error_of(both).await.1, "invalid_request", "{registered}: two methods");
        // A wrong secret is wrong either way.
        let wrong = app.post_form("/revoke", Some((id, "wrong")), &[("token", &token)]).await;
        assert_invalid_client(wrong, "wrong secret at revocation").await;
        // The other method at the token endpoint is still refused.
        let other = if registered == "client_secret_post" {
            app.post_form("/token", Some((id, secret)), &[("grant_type", "client_credentials")]).await
        } else {
            app.post_form(
                "/token",
                None,
                &[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)],
            )
            .await
        };
        assert_invalid_client(other, "the other method at the token endpoint").await;
        // Revocation with the other method works, and the token is dead.
        let revoke = if registered == "client_secret_post" {
            app.post_form("/revoke", Some((id, secret)), &[("token", &token)]).await
        } else {
            app.post_form("/revoke", None, &[("token", &token), ("client_id", id), ("client_secret", secret)])
                .await
        };
        assert_eq!(revoke.status(), 200, "{registered}: revocation with the other method");
        app.sync().await;
        let after = app.post_form("/introspect", Some((id, secret)), &[("token", &token)]).await;
        assert_eq!(after.json::<Value>().await.unwrap()["active"], false, "{registered}: revoked");
    }
    // A key-based client cannot fall back to a secret it does not have:
    // another client's secret under its id is refused.
    let j = jwt_client(&app).await;
    let s = app.create_client("client_secret_basic", json!({})).await;
    let resp = app
        .post_form("/introspect", Some((&j.client_id, s.secret.as_deref().unwrap())), &[("token", "x")])
        .await;
    assert_invalid_client(resp, "secret presented for a private_key_jwt client").await;
}
