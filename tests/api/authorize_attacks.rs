//! SECURITY.md 1–17, each performed against the authorization-code flow.

use crate::authorize::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

fn creds(c: &TestClient) -> Option<(&str, &str)> {
    Some((c.client_id.as_str(), c.secret.as_deref().unwrap()))
}

/// An error page: HTML, 400, and above all no redirect anywhere.
fn assert_error_page(r: &Resp, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.body);
    assert!(r.location.is_none(), "{what}: never a redirect");
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"), "{what}");
}

/// Tokens from a completed flow on line `n`.
async fn tokens(app: &TestApp, c: &TestClient, n: u8, scope: &str) -> Value {
    let mut phone = Browser::new(app, Some(n));
    let code = code_for(&mut phone, &params(c, scope)).await;
    let (s, tok) = exchange(app, c, &code, &[]).await;
    assert_eq!(s, 200, "{tok}");
    tok
}

// 1. redirect_uri altered → exact match, an error page, never a redirect; only a loopback port may vary.
#[tokio::test]
async fn s01_altered_redirect_uri_gets_an_error_page() {
    let app = code_app().await;
    let c = oidc_client(
        &app,
        "client_secret_basic",
        json!({"redirect_uris": [REDIRECT, "https://app.example.com/cb"]}),
    )
    .await;
    let mut b = Browser::new(&app, Some(1));
    for bad in [
        "https://app.example.com/cb/",
        "https://app.example.com/cb/../admin",
        "https://app.example.com/CB",
        "https://APP.example.com/cb",
        "https://evil.app.example.com/cb",
        "https://app.example.com.evil.com/cb",
        "https://app.example.com@evil.com/cb",
        "https://app.example.com/cb?next=https://evil.com",
        "https://app.example.com/cb#frag",
        "https://app.example.com/%63b",
        "http://app.example.com/cb",
        "https://app.example.com:8443/cb",
        "http://127.0.0.1:9001/callback/x",
        "http://127.0.0.2:9001/callback",
        "http://127.0.0.1:9001@evil.com/callback",
    ] {
        let r = b
            .authorize(
                "/authorize",
                &[("client_id", &c.client_id), ("redirect_uri", bad), ("scope", "openid"), ("state", "s")],
            )
            .await;
        assert_error_page(&r, bad);
    }
    // The loopback URI on another port is the same URI (RFC 8252 §7.3).
    let r = b
        .authorize(
            "/authorize",
            &[
                ("client_id", &c.client_id),
                ("redirect_uri", "http://127.0.0.1:40000/callback"),
                ("scope", "openid"),
            ],
        )
        .await;
    assert!(r.location.unwrap().starts_with("http://127.0.0.1:40000/callback?code="));
}

// 2. redirect_uri missing with several registered → page; another redirect_uri at the token endpoint → invalid_grant.
#[tokio::test]
async fn s02_missing_or_different_redirect_uri() {
    let app = code_app().await;
    let c = oidc_client(
        &app,
        "client_secret_basic",
        json!({"redirect_uris": [REDIRECT, "https://app.example.com/cb"]}),
    )
    .await;
    let mut b = Browser::new(&app, Some(1));
    let r = b.authorize("/authorize", &[("client_id", &c.client_id), ("scope", "openid")]).await;
    assert_error_page(&r, "missing");
    for other in [Some("https://app.example.com/cb"), Some("http://127.0.0.1:9002/callback"), None] {
        let code = code_for(&mut b, &params(&c, "openid")).await;
        let mut form = vec![("grant_type", CODE), ("code", code.as_str())];
        if let Some(o) = other {
            form.push(("redirect_uri", o));
        }
        let (s, e, body) = error_of(app.post_form("/token", creds(&c), &form).await).await;
        assert_eq!((s, e.as_str()), (400, "invalid_grant"), "{other:?}");
        assert_eq!(body["error_description"], "Invalid redirect_uri");
    }
}

// 3. Unknown client_id or unregistered redirect_uri → error page (no open redirector).
#[tokio::test]
async fn s03_unknown_client_or_unregistered_redirect_is_no_redirector() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut b = Browser::new(&app, Some(1));
    for (client, uri) in [
        ("no-such-client", REDIRECT),
        (c.client_id.as_str(), "https://evil.example/cb"),
        ("", "https://evil.example/cb"),
    ] {
        let r = b
            .authorize(
                "/authorize",
                &[("client_id", client), ("redirect_uri", uri), ("response_type", "token"), ("state", "s")],
            )
            .await;
        assert_error_page(&r, client);
    }
    // Even a signed request cannot smuggle one in: a bad one names no
    // usable redirect URI when the client has several.
    let two = oidc_client(
        &app,
        "client_secret_basic",
        json!({"redirect_uris": [REDIRECT, "https://app.example.com/cb"]}),
    )
    .await;
    let r = b.authorize("/authorize", &[("client_id", &two.client_id), ("request", "not.a.jwt")]).await;
    assert_error_page(&r, "request object without a registered redirect_uri");
    // POST too.
    let resp = app
        .http
        .post(app.url("/authorize"))
        .form(&[("client_id", "nope"), ("redirect_uri", "https://evil.example/cb")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

// 4. A code used twice → invalid_grant, and every token from it is revoked.
#[tokio::test]
async fn s04_code_reuse_revokes_everything_it_produced() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut b = Browser::new(&app, Some(2));
    let code = code_for(&mut b, &params(&c, "openid offline_access")).await;
    let (s, tok) = exchange(&app, &c, &code, &[]).await;
    assert_eq!(s, 200);
    let at = tok["access_token"].as_str().unwrap();
    assert_eq!(app.echo(at).await.status(), 200);
    let (s, again) = exchange(&app, &c, &code, &[]).await;
    assert_eq!((s, again["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(app.echo(at).await.status(), 401, "the first access token is revoked");
    assert_eq!(app.introspect(&c, at).await["active"], false);
    let (s, e, _) = error_of(
        app.post_form(
            "/token",
            creds(&c),
            &[("grant_type", "refresh_token"), ("refresh_token", tok["refresh_token"].as_str().unwrap())],
        )
        .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"), "and its refresh token");
    // On another node too.
    let peer = spawn_peer(&app).await;
    peer.sync().await;
    assert_eq!(peer.echo(at).await.status(), 401);
}

// 5. The same code redeemed in parallel → exactly one success.
#[tokio::test]
async fn s05_parallel_redemption_succeeds_once() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let peer = spawn_peer(&app).await;
    let mut b = Browser::new(&app, Some(3));
    let code = code_for(&mut b, &params(&c, "openid")).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let url = if i % 2 == 0 { app.url("/token") } else { peer.url("/token") };
        let (id, secret, code) = (c.client_id.clone(), c.secret.clone().unwrap(), code.clone());
        let http = app.http.clone();
        tasks.spawn(async move {
            let r = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", CODE), ("code", &code), ("redirect_uri", REDIRECT)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        });
    }
    let results: Vec<(u16, Value)> = tasks.join_all().await;
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 7, "{statuses:?}");
    // The others were replays: what the winner got is revoked (SECURITY.md 4).
    let (_, won) = results.iter().find(|(s, _)| *s == 200).unwrap();
    app.sync().await;
    assert_eq!(app.echo(won["access_token"].as_str().unwrap()).await.status(), 401);
}

// 6. A code of another client, or an expired one → invalid_grant.
#[tokio::test]
async fn s06_foreign_or_expired_codes() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let thief = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut b = Browser::new(&app, Some(4));
    let code = code_for(&mut b, &params(&c, "openid")).await;
    let (s, e) = exchange(&app, &thief, &code, &[]).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let code = code_for(&mut b, &params(&c, "openid")).await;
    app.clock.advance_secs(61);
    let (s, e) = exchange(&app, &c, &code, &[]).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")), "codes live 60 s");
}

// 7. PKCE: verifier missing or wrong; verifier without challenge (downgrade); plain; malformed verifier.
#[tokio::test]
async fn s07_pkce_attacks() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut b = Browser::new(&app, Some(5));
    let with_pkce = |c: &TestClient| {
        let mut p = params(c, "openid");
        p.push(("code_challenge", CHALLENGE));
        p.push(("code_challenge_method", "S256"));
        p.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<(String, String)>>()
    };
    let as_refs =
        |v: &Vec<(String, String)>| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    let wrong = "x".repeat(43);
    for verifier in
        [None, Some(wrong.as_str()), Some("too-short"), Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk+")]
    {
        let p = as_refs(&with_pkce(&c));
        let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let code = code_for(&mut b, &p).await;
        let extra: Vec<(&str, &str)> = verifier.map(|v| vec![("code_verifier", v)]).unwrap_or_default();
        let (s, e) = exchange(&app, &c, &code, &extra).await;
        assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")), "{verifier:?}");
        // The code is spent: not even the right verifier works now.
        let (s, _) = exchange(&app, &c, &code, &[("code_verifier", VERIFIER)]).await;
        assert_eq!(s, 400);
    }
    // Downgrade: no challenge at /authorize, a verifier at /token.
    let code = code_for(&mut b, &params(&c, "openid")).await;
    let (s, e) = exchange(&app, &c, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    // plain, or no method (which means plain): refused at /authorize.
    for method in [Some("plain"), None] {
        let mut p = params(&c, "openid");
        p.push(("code_challenge", VERIFIER));
        if let Some(m) = method {
            p.push(("code_challenge_method", m));
        }
        let cb = b.authorize("/authorize", &p).await.callback();
        assert_eq!(cb["error"], "invalid_request", "{method:?}");
    }
    // And the right verifier works.
    let p = as_refs(&with_pkce(&c));
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let code = code_for(&mut b, &p).await;
    assert_eq!(exchange(&app, &c, &code, &[("code_verifier", VERIFIER)]).await.0, 200);
}

// 8. Mix-up: `iss` in every authorization response, advertised in discovery.
#[tokio::test]
async fn s08_iss_in_every_authorization_response() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let meta: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["authorization_endpoint"], app.url("/authorize"));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    let mut b = Browser::new(&app, Some(6));
    let ok = b.authorize("/authorize", &params(&c, "openid")).await.callback();
    let mut p = params(&c, "openid phone");
    p.push(("prompt", "none"));
    let err = b.authorize("/authorize", &p).await.callback();
    let page = b.authorize("/authorize", &params(&c, "openid phone")).await;
    let denied = b.submit(&page, "/authorize/consent", &[("decision", "deny")]).await.callback();
    for cb in [ok, err, denied] {
        assert_eq!(cb["iss"], app.base, "{cb:?}");
    }
}

// 9. CSRF on the pages: single-use token bound to the session, SameSite cookie, no change on GET; prompt=none grants nothing new.
#[tokio::test]
async fn s09_csrf_on_the_consent_page() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut victim = Browser::new(&app, Some(7));
    let page = victim.authorize("/authorize", &params(&c, "openid phone")).await;
    let (request, csrf) = (page.field("request"), page.field("csrf"));
    // The attacker's browser (another session) posts the victim's form.
    let mut attacker = Browser::new(&app, Some(7));
    let r = attacker
        .post(
            "/authorize/consent",
            &[("request", &request), ("csrf", &csrf), ("decision", "allow"), ("scope:phone", "on")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A cross-site POST from the victim's own browser.
    let resp = victim
        .http
        .post(app.url("/authorize/consent"))
        .header(
            "cookie",
            victim.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "),
        )
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("request", request.as_str()),
            ("csrf", csrf.as_str()),
            ("decision", "allow"),
            ("scope:phone", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // Without the token, or with a token for another form.
    let r = victim.post("/authorize/consent", &[("request", &request), ("decision", "allow")]).await;
    assert_eq!(r.status, 403);
    // Nothing was granted: prompt=none still needs consent.
    let mut p = params(&c, "openid phone");
    p.push(("prompt", "none"));
    let mut fresh = Browser::new(&app, Some(7));
    assert_eq!(fresh.authorize("/authorize", &p).await.callback()["error"], "consent_required");
    // The real form works once; its token cannot be replayed.
    let ok = victim
        .post(
            "/authorize/consent",
            &[("request", &request), ("csrf", &csrf), ("decision", "allow"), ("scope:phone", "on")],
        )
        .await;
    assert_eq!(ok.status, 303);
    let again = victim
        .post(
            "/authorize/consent",
            &[("request", &request), ("csrf", &csrf), ("decision", "allow"), ("scope:phone", "on")],
        )
        .await;
    assert!(again.status == 403 || again.status == 410, "{}", again.status);
    // The session cookie is HttpOnly and SameSite=Lax.
    let set = page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    // A GET of the consent endpoint changes nothing (there is no GET).
    let r = victim.get(&format!("/authorize/consent?request={request}&decision=allow")).await;
    assert_eq!(r.status, 405);
}

// 10 and 11. Framing, Referer, history: headers on every page; no implicit flow, no password grant.
#[tokio::test]
async fn s10_s11_page_headers_and_no_token_in_the_front_channel() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut b = Browser::new(&app, None);
    let login = b.authorize("/authorize", &params(&c, "openid")).await;
    let error = b.authorize("/authorize", &[("client_id", "nope")]).await;
    let redirect = b
        .authorize(
            "/authorize",
            &[("client_id", &c.client_id), ("redirect_uri", REDIRECT), ("response_type", "token")],
        )
        .await;
    for r in [&login, &error, &redirect] {
        assert_eq!(r.headers["x-frame-options"], "DENY");
        assert!(r.headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(r.headers["referrer-policy"], "no-referrer");
        assert_eq!(r.headers["cache-control"], "no-store");
    }
    assert!(
        !login.body.contains("<script")
            && !login.body.contains("http://")
            && !login.body.contains("https://"),
        "no third-party assets"
    );
    assert_eq!(redirect.callback()["error"], "unsupported_response_type");
    let (s, e, _) = error_of(
        app.post_form(
            "/token",
            creds(&c),
            &[("grant_type", "password"), ("username", "a"), ("password", "b")],
        )
        .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (400, "unsupported_grant_type"));
    let meta: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!meta["grant_types_supported"].as_array().unwrap().contains(&json!("password")));
}

// 12. Redirect after a POST with credentials → 303, never 307.
#[tokio::test]
async fn s12_posts_answer_303() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let mut b = Browser::new(&app, None);
    let page = b.authorize("/authorize", &params(&c, "openid phone")).await;
    let r = b
        .post(
            "/authorize/login",
            &[
                ("request", &page.field("request")),
                ("csrf", &page.field("csrf")),
                ("msisdn", "+34666666666"),
                ("method", "code"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let mut phone = Browser::new(&app, Some(8));
    let page = phone.authorize("/authorize", &params(&c, "openid phone")).await;
    let r = phone
        .post(
            "/authorize/consent",
            &[
                ("request", &page.field("request")),
                ("csrf", &page.field("csrf")),
                ("decision", "allow"),
                ("scope:phone", "on"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    // The authorization request itself as a POST (OIDC Core §3.1.2.1).
    let resp = phone
        .http
        .post(app.url("/authorize"))
        .form(&[
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

// 13. Refresh token replayed after rotation, of another client, or for a wider scope.
#[tokio::test]
async fn s13_refresh_token_attacks() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let other = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 9, "openid offline_access").await;
    let rt = tok["refresh_token"].as_str().unwrap();
    let refresh = |c: &TestClient, rt: &str, scope: Option<&str>| {
        let mut form = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), rt.to_owned()),
        ];
        if let Some(s) = scope {
            form.push(("scope".to_owned(), s.to_owned()));
        }
        let (id, secret) = (c.client_id.clone(), c.secret.clone().unwrap());
        let http = app.http.clone();
        let url = app.url("/token");
        async move { http.post(url).basic_auth(id, Some(secret)).form(&form).send().await.unwrap() }
    };
    let (s, e, _) = error_of(refresh(&other, rt, None).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"), "another client's token");
    let (s, e, _) = error_of(refresh(&c, rt, Some("openid offline_access phone")).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_scope"), "wider scope");
    let rotated: Value = refresh(&c, rt, None).await.json().await.unwrap();
    let new_rt = rotated["refresh_token"].as_str().unwrap();
    let (s, e, _) = error_of(refresh(&c, rt, None).await).await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"), "replayed after rotation");
    let (s, _, _) = error_of(refresh(&c, new_rt, None).await).await;
    assert_eq!(s, 400, "the whole family is revoked");
    assert_eq!(app.echo(rotated["access_token"].as_str().unwrap()).await.status(), 401);
}

// 14. Revocation: a refresh token's revocation kills its access tokens; another client's token is untouched; callers authenticate.
#[tokio::test]
async fn s14_revocation() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let other = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 10, "openid offline_access").await;
    let (at, rt) = (tok["access_token"].as_str().unwrap(), tok["refresh_token"].as_str().unwrap());
    assert_eq!(app.post_form("/revoke", None, &[("token", rt)]).await.status(), 401, "unauthenticated");
    assert_eq!(app.post_form("/revoke", creds(&other), &[("token", rt)]).await.status(), 200);
    assert_eq!(app.echo(at).await.status(), 200, "another client cannot revoke it");
    assert_eq!(app.post_form("/revoke", creds(&c), &[("token", rt)]).await.status(), 200);
    assert_eq!(app.echo(at).await.status(), 401, "revoking the refresh token kills its access tokens");
}

// 15. Introspection: callers authenticate; revoked or other clients' tokens are inactive.
#[tokio::test]
async fn s15_introspection() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let other = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 1, "openid").await;
    let at = tok["access_token"].as_str().unwrap();
    assert_eq!(app.post_form("/introspect", None, &[("token", at)]).await.status(), 401);
    let mine = app.introspect(&c, at).await;
    assert_eq!(mine["active"], true);
    assert!(
        mine.get("phone_number").is_none() && !mine.to_string().contains("+346"),
        "no number in clear: {mine}"
    );
    assert_eq!(app.introspect(&other, at).await["active"], false);
    assert_eq!(app.post_form("/revoke", creds(&c), &[("token", at)]).await.status(), 200);
    assert_eq!(app.introspect(&c, at).await["active"], false);
}

// 16. Consent revoked by the subscriber: refresh is invalid_grant, access tokens stop working.
#[tokio::test]
async fn s16_consent_revocation() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 2, "openid phone offline_access").await;
    let at = tok["access_token"].as_str().unwrap();
    assert_eq!(app.echo(at).await.status(), 200);
    let q = format!(
        "/subscribers/{}/consents?client_id={}&scope=phone&purpose=dpv:RequestedServiceProvision",
        msisdn(2),
        c.client_id
    );
    assert_eq!(app.admin(Method::DELETE, &q, None).await.status(), 204);
    assert_eq!(app.echo(at).await.status(), 401);
    let (s, e, _) = error_of(
        app.post_form(
            "/token",
            creds(&c),
            &[("grant_type", "refresh_token"), ("refresh_token", tok["refresh_token"].as_str().unwrap())],
        )
        .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (400, "invalid_grant"));
    // And the next request asks again.
    let mut p = params(&c, "openid phone");
    p.push(("prompt", "none"));
    let mut b = Browser::new(&app, Some(2));
    assert_eq!(b.authorize("/authorize", &p).await.callback()["error"], "consent_required");
}

// 17. A suspended client: its tokens stop working and it gets no new ones.
#[tokio::test]
async fn s17_suspended_client() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let tok = tokens(&app, &c, 3, "openid offline_access").await;
    let mut b = Browser::new(&app, Some(3));
    let code = code_for(&mut b, &params(&c, "openid")).await;
    let r = app.admin(Method::POST, &format!("/clients/{}/suspend", c.client_id), None).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(app.echo(tok["access_token"].as_str().unwrap()).await.status(), 401);
    let (s, _) = exchange(&app, &c, &code, &[]).await;
    assert_eq!(s, 401, "a code issued before the suspension is worth nothing");
    let (s, e, _) = error_of(
        app.post_form(
            "/token",
            creds(&c),
            &[("grant_type", "refresh_token"), ("refresh_token", tok["refresh_token"].as_str().unwrap())],
        )
        .await,
    )
    .await;
    assert_eq!((s, e.as_str()), (401, "invalid_client"));
    let cb = b.authorize("/authorize", &params(&c, "openid")).await.callback();
    assert_eq!(cb["error"], "unauthorized_client");
}

// 27, for line authentication: forwarding headers count only from a trusted proxy.
#[tokio::test]
async fn s27_spoofed_forwarding_headers_do_not_make_a_line() {
    let app = code_app().await;
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let q: String =
        form_urlencoded::Serializer::new(String::new()).extend_pairs(params(&c, "openid")).finish();
    let url = app.url(&format!("/authorize?{q}"));
    // From 127.0.0.1, which nobody trusts: the headers are ignored, the page asks for the number.
    for (name, value) in [
        ("x-forwarded-for", "127.10.0.3"),
        ("forwarded", "for=\"127.10.0.3:5000\""),
        ("x-msisdn", "+34600000003"),
    ] {
        let r = app.http.get(&url).header(name, value).send().await.unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert!(r.text().await.unwrap().contains("name=\"msisdn\""), "{name}: the fallback page");
    }
    // Behind a trusted proxy (here 127.0.0.1), what the proxy says is the line.
    let proxied = spawn_with(Options {
        tweak: Box::new(|cfg| {
            cfg.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            cfg.authorize.msisdn_header = "x-msisdn".into();
        }),
        ..Default::default()
    })
    .await;
    netauth_server::sandbox::load_demo_network(&proxied.app).await.unwrap();
    let c = oidc_client(&proxied, "client_secret_basic", json!({})).await;
    let q: String =
        form_urlencoded::Serializer::new(String::new()).extend_pairs(params(&c, "openid")).finish();
    let url = proxied.url(&format!("/authorize?{q}"));
    for (name, value, who) in [
        ("forwarded", "for=\"127.10.0.3:5000\";proto=https", 3),
        ("x-forwarded-for", "127.10.0.4", 4),
        ("x-msisdn", "+34600000005", 5),
    ] {
        let r = proxied.http.get(&url).header(name, value).send().await.unwrap();
        assert_eq!(r.status(), 302, "{name}");
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        let code = form_urlencoded::parse(loc.split_once('?').unwrap().1.as_bytes())
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let (s, tok) = exchange(&proxied, &c, &code, &[]).await;
        assert_eq!(s, 200);
        let id = claims(tok["id_token"].as_str().unwrap());
        let expected = proxied.app.master.pairwise_sub(&c.client_id, &subscriber_id(&proxied, who).await);
        assert_eq!(id["sub"], expected, "{name}");
        assert_eq!(id["amr"], json!(["nba"]));
    }
    // The proxy itself, with nothing forwarded, is nobody's line.
    let r = proxied.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

async fn subscriber_id(app: &TestApp, n: u8) -> String {
    let s: Value =
        app.admin(Method::GET, &format!("/subscribers/{}", msisdn(n)), None).await.json().await.unwrap();
    s["id"].as_str().unwrap().to_owned()
}

/// Seed 001: "the network authentication flow requires the site to use
/// http ... all other pages must be https". The entry (`authorize.entry_url`)
/// recognises the line where the operator's proxy enriched the request,
/// shows nothing and keeps nothing there, and hands the browser over to the
/// issuer with a one-time secret.
#[tokio::test]
async fn seed_001_plain_http_entry_hands_over_to_the_issuer_once() {
    let app = spawn_with(Options {
        tweak: Box::new(|cfg| {
            cfg.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
            cfg.authorize.msisdn_header = "x-msisdn".into();
            cfg.authorize.entry_url = "http://nba.operator.test".into();
        }),
        ..Default::default()
    })
    .await;
    netauth_server::sandbox::load_demo_network(&app.app).await.unwrap();
    let c = oidc_client(&app, "client_secret_basic", json!({})).await;
    let q: String =
        form_urlencoded::Serializer::new(String::new()).extend_pairs(params(&c, "openid")).finish();
    let entry = |number: Option<&str>| {
        let mut r =
            app.http.get(app.url(&format!("/oauth/v2/authorize?{q}"))).header("host", "nba.operator.test");
        if let Some(n) = number {
            r = r.header("x-msisdn", n);
        }
        r.send()
    };
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_owned();

    // On a subscriber's line: handed over, then a code without a page.
    let r = entry(Some("+34600000003")).await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(r.headers().get("set-cookie").is_none(), "nothing is kept on the plain-HTTP origin");
    let handover = location(&r);
    assert!(handover.starts_with(&format!("{}/authorize/resume?request=", app.base)), "{handover}");
    assert!(handover.contains("&handover="), "{handover}");
    let r = app.http.get(&handover).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let cb = location(&r);
    assert!(cb.starts_with(&c_redirect(&c, &app).await), "{cb}");
    let code = form_urlencoded::parse(cb.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (s, tok) = exchange(&app, &c, &code, &[]).await;
    assert_eq!(s, 200, "{tok}");
    let id = claims(tok["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], json!(["nba"]));
    assert_eq!(id["sub"], app.app.master.pairwise_sub(&c.client_id, &subscriber_id(&app, 3).await));
    // The same hand-over again: the request is over.
    assert_eq!(app.http.get(&handover).send().await.unwrap().status(), 410);

    // Off the mobile network: handed over all the same, and the issuer's
    // page asks for the number. The secret works once, for one browser.
    let r = entry(None).await.unwrap();
    let handover = location(&r);
    let r = app.http.get(&handover).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_some(), "the issuer's session for this browser");
    assert!(r.text().await.unwrap().contains("name=\"msisdn\""), "the fallback page");
    let thief = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(thief.get(&handover).send().await.unwrap().status(), 403, "used already");

    // Without the entry's Host, nothing changes: the issuer's own /authorize.
    let r = app.http.get(app.url(&format!("/oauth/v2/authorize?{q}"))).send().await.unwrap();
    assert_eq!(r.status(), 200, "the fallback page at once");
}

async fn c_redirect(c: &TestClient, app: &TestApp) -> String {
    let v: Value =
        app.admin(Method::GET, &format!("/clients/{}", c.client_id), None).await.json().await.unwrap();
    v["redirect_uris"][0].as_str().unwrap().to_owned()
}
