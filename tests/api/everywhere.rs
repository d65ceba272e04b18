//! SECURITY.md "Everywhere", table-driven: every token, error and
//! secret-bearing response carries `Cache-Control: no-store` (issue #10
//! point 8), admin and sandbox included.

use crate::ciba::{ciba_app, ciba_client};
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

/// One request of the table: what it is, and the response.
struct Case {
    what: &'static str,
    resp: reqwest::Response,
}

#[tokio::test]
async fn no_store_on_every_token_error_and_secret_response() {
    let app = ciba_app(|c| {
        c.client_auth.max_failures_per_client_address = 1;
        c.admin.max_failures_per_address = 1;
    })
    .await;
    let c = app.create_client("client_secret_basic", json!({})).await;
    let secret = c.secret.clone().unwrap();
    let basic = Some((c.client_id.as_str(), secret.as_str()));
    let token = app.cc_token(&c).await;
    let cc = [("grant_type", "client_credentials")];
    let ciba = ciba_client(&app, "client_secret_basic", json!({})).await;
    let ciba_basic = Some((ciba.client_id.as_str(), ciba.secret.as_deref().unwrap()));
    let stranger = http_from("127.0.0.6");

    let mut cases = vec![
        Case { what: "token", resp: app.post_form("/token", basic, &cc).await },
        Case {
            what: "token error 401",
            resp: app.post_form("/token", Some(("someone-else", "x")), &cc).await,
        },
        Case {
            what: "token error 400",
            resp: app.post_form("/token", basic, &[("grant_type", "password")]).await,
        },
        Case { what: "introspection", resp: app.post_form("/introspect", basic, &[("token", &token)]).await },
        Case { what: "introspection error", resp: app.post_form("/introspect", basic, &[]).await },
        Case { what: "revocation", resp: app.post_form("/revoke", basic, &[("token", &token)]).await },
        Case {
            what: "bc-authorize",
            resp: app
                .post_form(
                    "/bc-authorize",
                    ciba_basic,
                    &[
                        ("login_hint", "tel:+34655555555"),
                        ("scope", "dpv:FraudPreventionAndDetection sim-swap"),
                    ],
                )
                .await,
        },
        Case {
            what: "bc-authorize error",
            resp: app.post_form("/bc-authorize", ciba_basic, &[("scope", "sim-swap")]).await,
        },
        Case {
            what: "admin: client created (secret)",
            resp: app
                .admin(
                    Method::POST,
                    "/clients",
                    Some(json!({"name": "n", "token_endpoint_auth_method": "client_secret_post"})),
                )
                .await,
        },
        Case {
            what: "admin: secret rotated (secret)",
            resp: app.admin(Method::POST, &format!("/clients/{}/secrets", c.client_id), None).await,
        },
        Case {
            what: "admin: client",
            resp: app.admin(Method::GET, &format!("/clients/{}", c.client_id), None).await,
        },
        Case {
            what: "admin error 400",
            resp: app.admin(Method::POST, "/clients", Some(json!({"name": ""}))).await,
        },
        Case { what: "admin error 404", resp: app.admin(Method::GET, "/clients/nobody", None).await },
        Case {
            what: "admin error 401",
            resp: stranger.get(app.url("/admin/v1/clients")).bearer_auth("guess").send().await.unwrap(),
        },
        Case {
            what: "admin error 429",
            resp: stranger.get(app.url("/admin/v1/clients")).bearer_auth("guess").send().await.unwrap(),
        },
        Case {
            what: "sandbox operator token",
            resp: app
                .http
                .post(app.url("/sandbox/v1/operator-tokens"))
                .json(&json!({"phoneNumber": "+34655555555"}))
                .send()
                .await
                .unwrap(),
        },
        Case { what: "sandbox echo", resp: app.echo(&app.cc_token(&c).await).await },
        Case { what: "sandbox echo error", resp: app.echo("not-a-token").await },
        Case { what: "unknown path", resp: app.http.get(app.url("/nope")).send().await.unwrap() },
        Case {
            what: "body too large",
            resp: app
                .http
                .post(app.url("/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("x=".to_owned() + &"a".repeat(100 * 1024))
                .send()
                .await
                .unwrap(),
        },
    ];
    // The client-authentication rate limit, from an address of its own.
    stranger.post(app.url("/token")).basic_auth("x", Some("y")).form(&cc).send().await.unwrap();
    cases.push(Case {
        what: "token error 429",
        resp: stranger.post(app.url("/token")).basic_auth("x", Some("y")).form(&cc).send().await.unwrap(),
    });

    let mut statuses = Vec::new();
    for Case { what, resp } in cases {
        statuses.push((what, resp.status().as_u16()));
        assert_eq!(
            resp.headers().get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{what} ({})",
            resp.status()
        );
    }
    // The table covers what it says: successes, 4xx of each kind.
    for (what, status) in [
        ("token", 200),
        ("admin: client created (secret)", 201),
        ("admin: secret rotated (secret)", 201),
        ("admin error 429", 429),
        ("token error 429", 429),
        ("sandbox operator token", 200),
        ("bc-authorize", 200),
        ("body too large", 413),
    ] {
        assert!(statuses.contains(&(what, status)), "{what}: {statuses:?}");
    }

    // Public metadata stays cacheable: the header is set where it belongs,
    // not blindly everywhere.
    let r = app.http.get(app.url("/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
}
