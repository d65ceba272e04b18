//! Public contracts, snapshot-tested (insta): the OAuth error bodies (RFC
//! 6749 §5.2, CIBA Core §13) with their status and caching/authentication
//! headers, the CAMARA `{status, code, message}` bodies, and `/jwks`. A
//! change to any of these is a change to what clients parse: the snapshot
//! diff makes it a decision, never an accident.

use crate::ciba::{bc, ciba_app, ciba_client};
use crate::helpers::*;
use serde_json::{Map, Value, json};

/// Status, the headers a client acts on, and the body.
async fn reply(resp: reqwest::Response) -> Value {
    let status = resp.status().as_u16();
    let mut headers = Map::new();
    for h in ["cache-control", "pragma", "www-authenticate", "retry-after", "content-type"] {
        if let Some(v) = resp.headers().get(h).and_then(|v| v.to_str().ok()) {
            headers.insert(h.into(), v.into());
        }
    }
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    json!({ "status": status, "headers": headers, "body": body })
}

#[tokio::test]
async fn oauth_error_bodies() {
    let app = ciba_app(|_| {}).await;
    let c = ciba_client(&app, "client_secret_basic", json!({})).await;
    let basic = Some((c.client_id.as_str(), c.secret.as_deref().unwrap()));
    let mut cases = Map::new();
    let mut case = |name: &str, v: Value| {
        cases.insert(name.into(), v);
    };
    case("token: no grant_type", reply(app.post_form("/token", basic, &[]).await).await);
    case(
        "token: unsupported grant_type",
        reply(app.post_form("/token", basic, &[("grant_type", "password")]).await).await,
    );
    case(
        "token: wrong secret",
        reply(
            app.post_form("/token", Some((&c.client_id, "wrong")), &[("grant_type", "client_credentials")])
                .await,
        )
        .await,
    );
    case(
        "token: grant not registered",
        reply(app.post_form("/token", basic, &[("grant_type", "client_credentials")]).await).await,
    );
    case(
        "token: unknown auth_req_id",
        reply(
            app.post_form(
                "/token",
                basic,
                &[("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", "nope")],
            )
            .await,
        )
        .await,
    );
    case(
        "token: duplicated parameter",
        reply(
            app.post_form(
                "/token",
                basic,
                &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
            )
            .await,
        )
        .await,
    );
    case(
        "bc-authorize: unknown subscriber",
        reply(
            bc(
                &app,
                &c,
                &[("login_hint", "tel:+34699999999"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")],
            )
            .await,
        )
        .await,
    );
    case(
        "bc-authorize: no purpose",
        reply(bc(&app, &c, &[("login_hint", "tel:+34655555555"), ("scope", "sim-swap")]).await).await,
    );
    case(
        "bc-authorize: malformed hint",
        reply(
            bc(&app, &c, &[("login_hint", "tel:12"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")])
                .await,
        )
        .await,
    );
    case("introspect: no client", reply(app.post_form("/introspect", None, &[("token", "x")]).await).await);
    insta::assert_json_snapshot!("oauth_error_bodies", Value::Object(cases));
}

#[tokio::test]
async fn camara_error_bodies() {
    let app = spawn_app().await;
    let mut cases = Map::new();
    cases.insert(
        "no such endpoint".into(),
        reply(app.http.get(app.url("/no/such/path")).send().await.unwrap()).await,
    );
    cases.insert(
        "resource without a token".into(),
        reply(app.http.get(app.url("/sandbox/echo")).send().await.unwrap()).await,
    );
    cases.insert("resource with a forged token".into(), reply(app.echo("forged").await).await);
    cases.insert(
        "admin without the token".into(),
        reply(app.http.get(app.url("/admin/v1/clients")).send().await.unwrap()).await,
    );
    cases.insert(
        "admin: malformed number".into(),
        reply(app.admin(reqwest::Method::GET, "/subscribers/12", None).await).await,
    );
    cases.insert(
        "admin: unknown number".into(),
        reply(app.admin(reqwest::Method::GET, "/subscribers/+34699999998", None).await).await,
    );
    cases.insert(
        "admin: invalid body".into(),
        reply(app.admin(reqwest::Method::POST, "/clients", Some(json!({"name": 3}))).await).await,
    );
    insta::assert_json_snapshot!("camara_error_bodies", Value::Object(cases));
}

#[tokio::test]
async fn jwks_document() {
    let app = spawn_app().await;
    let resp = app.http.get(app.url("/jwks")).send().await.unwrap();
    let mut jwks: Value = resp.json().await.unwrap();
    // Key material and ids differ per installation: the members, their
    // order and the algorithms are the contract.
    if let Some(keys) = jwks["keys"].as_array_mut() {
        keys.sort_by_key(|k| k["alg"].as_str().unwrap_or("").to_owned());
    }
    insta::assert_json_snapshot!("jwks", jwks, {
        ".keys[].kid" => "[kid]",
        ".keys[].n" => "[modulus]",
        ".keys[].x" => "[x]",
        ".keys[].y" => "[y]",
    });
}
