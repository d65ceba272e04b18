//! The `netauth` binary itself: the sandbox from a fresh directory, the
//! seed-004 request against it, the client CLI, and configuration errors.

use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

pub(crate) fn netauth() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netauth"))
}

pub(crate) fn temp_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("netauth-cli-{}", crate::helpers::random_name()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) struct Kill(pub(crate) std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sandbox_starts_from_nothing_and_serves_seed_004() {
    let dir = temp_dir();
    let port = free_port();
    let child = netauth()
        .current_dir(&dir)
        .args(["sandbox", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("NETAUTH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Kill(child);
    let file = dir.join("netauth-data/sandbox.json");
    let mut doc: Option<Value> = None;
    for _ in 0..100 {
        if let Ok(t) = std::fs::read_to_string(&file)
            && let Ok(v) = serde_json::from_str(&t)
        {
            doc = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let doc = doc.expect("sandbox.json written");
    // Issue #10 point 9: the data directory and every file holding keys,
    // secrets or subscriber data are the owner's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        let data = dir.join("netauth-data");
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("keys")), 0o700);
        for f in ["netauth.db", "netauth.db-wal", "netauth.db-shm", "master.key", "sandbox.json"] {
            assert_eq!(mode(&data.join(f)), 0o600, "{f}");
        }
        for k in std::fs::read_dir(data.join("keys")).unwrap() {
            assert_eq!(mode(&k.unwrap().path()), 0o600);
        }
    }
    let issuer = doc["issuer"].as_str().unwrap();
    assert_eq!(issuer, format!("http://127.0.0.1:{port}"));
    let g2p = doc["clients"].as_array().unwrap().iter().find(|c| c["client_id"] == "demo-g2p").unwrap();
    let http = reqwest::Client::new();
    let mut ok = false;
    for _ in 0..50 {
        if http.get(format!("{issuer}/healthz")).send().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "sandbox did not come up");
    let disc: Value = http
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disc["issuer"], issuer);
    let resp = http
        .post(format!("{issuer}/oauth2/client/token"))
        .header("timestamp", "Tue, 06 Mar 2020 21:00:00 GMT")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "demo-g2p"),
            ("client_secret", g2p["client_secret"].as_str().unwrap()),
            ("scope", "disburse"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token: Value = resp.json().await.unwrap();
    assert_eq!(token["expires_in"], 36000);
    let echo = http
        .get(format!("{issuer}/sandbox/echo"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(echo.status(), 200);
    // The private_key_jwt demo client's key file works as documented.
    let pk =
        doc["clients"].as_array().unwrap().iter().find(|c| c["client_id"] == "demo-private-key-jwt").unwrap();
    let pem = std::fs::read_to_string(pk["private_key_file"].as_str().unwrap()).unwrap();
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(der).unwrap();
    let key = netauth_domain::keys::SigningKey::from_pkcs8(netauth_domain::client::SigningAlg::ES256, &der)
        .unwrap();
    let claims = crate::helpers::assertion_claims("demo-private-key-jwt", &format!("{issuer}/token"));
    let assertion = key.sign_jwt(pk["kid"].as_str(), None, &claims);
    let resp = http
        .post(format!("{issuer}/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", crate::helpers::ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}

pub(crate) fn run(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = netauth().current_dir(dir).args(args).env_remove("NETAUTH_DATABASE_URL").output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn client_cli_manages_the_sandbox_registry() {
    let dir = temp_dir();
    let (ok, _, err) = run(&dir, &["client", "list"]);
    assert!(!ok && err.contains("no sandbox registry"), "no silent new installation: {err}");
    let (ok, out, err) = run(&dir, &["migrate"]);
    assert!(ok && out.contains("migrations applied"), "{err}");
    let (ok, out, err) = run(
        &dir,
        &[
            "client",
            "create",
            "--name",
            "cli app",
            "--auth-method",
            "client_secret_post",
            "--scope",
            "a",
            "--client-id",
            "cli-app",
        ],
    );
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["client"]["client_id"], "cli-app");
    assert_eq!(created["client_secret"].as_str().unwrap().len(), 43);
    let (ok, out, _) = run(&dir, &["client", "list"]);
    assert!(ok);
    assert!(out.contains("cli-app"));
    let (ok, out, _) = run(&dir, &["client", "suspend", "cli-app"]);
    assert!(ok);
    assert!(out.contains("\"suspended\""));
    let (ok, out, _) = run(&dir, &["client", "activate", "cli-app"]);
    assert!(ok && out.contains("\"active\""));
    let (ok, out, _) = run(&dir, &["client", "rotate-secret", "cli-app", "--expire-old-in", "60"]);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["client"]["secrets"].as_array().unwrap().len(), 2);
    let (ok, out, _) = run(&dir, &["client", "show", "cli-app"]);
    assert!(ok && out.contains("cli app"));
    let (ok, _, err) = run(&dir, &["client", "create", "--name", "x", "--auth-method", "private_key_jwt"]);
    assert!(!ok && err.contains("jwks"), "{err}");
    let (ok, out, _) = run(&dir, &["keys", "rotate", "--delay", "60"]);
    assert!(ok);
    let keys: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys.as_array().unwrap().iter().filter(|k| k["state"] == "next").count(), 5);
    let (ok, _, _) = run(&dir, &["client", "delete", "cli-app"]);
    assert!(ok);
    let (ok, _, err) = run(&dir, &["client", "show", "cli-app"]);
    assert!(!ok && err.contains("no client"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_bad_configuration_naming_the_key() {
    let dir = temp_dir();
    let cfg = dir.join("netauth.toml");
    std::fs::write(&cfg, "[server]\nlisten = \"127.0.0.1:0\"\nlisten_port = 1\n").unwrap();
    let (ok, _, err) = run(&dir, &["serve", "--config", cfg.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("listen_port"), "{err}");
    std::fs::write(&cfg, "[tokens]\naccess_token_ttl_secs = -5\n").unwrap();
    let (ok, _, err) = run(&dir, &["serve", "--config", cfg.to_str().unwrap()]);
    assert!(!ok && err.contains("tokens.access_token_ttl_secs"), "{err}");
    std::fs::write(&cfg, "[server]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let (ok, _, err) = run(&dir, &["serve", "--config", cfg.to_str().unwrap()]);
    assert!(!ok && err.contains("keys.master_key"), "{err}");
    let out = netauth()
        .current_dir(&dir)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("NETAUTH__SERVER__LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.listen"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn operator_and_subscriber_cli() {
    let dir = temp_dir();
    assert!(run(&dir, &["migrate"]).0);
    let (ok, _, err) = run(
        &dir,
        &["operator", "add", "--id", "op1", "--name", "Op One", "--country", "ES", "--range", "+34"],
    );
    assert!(ok, "{err}");
    let (ok, out, err) = run(
        &dir,
        &[
            "subscriber",
            "add",
            "--phone-number",
            "+34612345678",
            "--operator",
            "op1",
            "--address",
            "10.0.0.1,1000-1999",
            "--policy",
            "auto_approve",
        ],
    );
    assert!(ok, "{err}");
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["addresses"][0]["port_start"], 1000);
    let (ok, _, err) =
        run(&dir, &["subscriber", "add", "--phone-number", "+34612345678", "--operator", "op1"]);
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, _, err) = run(&dir, &["subscriber", "add", "--phone-number", "12345", "--operator", "op1"]);
    assert!(!ok && err.contains("E.164"), "{err}");
    let (ok, _, err) =
        run(&dir, &["subscriber", "add", "--phone-number", "+34612345679", "--operator", "nope"]);
    assert!(!ok && err.contains("no operator"), "{err}");
    let (ok, out, _) = run(&dir, &["subscriber", "list"]);
    assert!(ok && out.contains("+34612345678"));
    let (ok, _, _) = run(&dir, &["subscriber", "delete", "+34612345678"]);
    assert!(ok);
    let (ok, _, _) = run(&dir, &["subscriber", "show", "+34612345678"]);
    assert!(!ok);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #11 point 8: each mistake gets one wording, the same from the CLI
/// (`netauth: …`, exit status 1) as in the admin API's `message`, because both
/// go through the same checks.
#[tokio::test]
async fn cli_and_admin_api_word_each_mistake_alike() {
    use reqwest::Method;
    use serde_json::json;
    let app = crate::helpers::spawn_app().await;
    let dir = temp_dir();
    assert!(run(&dir, &["migrate"]).0);
    let (ok, _, err) = run(&dir, &["operator", "add", "--id", "op1", "--name", "Op One", "--country", "ES"]);
    assert!(ok, "{err}");
    let op = json!({"id": "op1", "name": "Op One", "country": "ES", "number_ranges": []});
    assert_eq!(app.admin(Method::PUT, "/operators/op1", Some(op)).await.status(), 200);
    // The same number registered on both sides, to be refused a second time.
    assert!(run(&dir, &["subscriber", "add", "--phone-number", "+34612345678", "--operator", "op1"]).0);
    let taken = json!({"phone_number": "+34612345678", "operator_id": "op1"});
    assert_eq!(app.admin(Method::POST, "/subscribers", Some(taken.clone())).await.status(), 201);

    let client = |extra: serde_json::Value| {
        let mut body = json!({"name": "x", "token_endpoint_auth_method": "client_secret_basic"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        Some(body)
    };
    let create = ["client", "create", "--name", "x"];
    type Body = Option<serde_json::Value>;
    // (the mistake, the admin API request, the same mistake on the command line)
    let cases: Vec<(&str, Method, &str, Body, Vec<&str>)> = vec![
        (
            "an unknown grant type",
            Method::POST,
            "/clients",
            client(json!({"grant_types": ["password"]})),
            [&create[..], &["--auth-method", "client_secret_basic", "--grant-type", "password"]].concat(),
        ),
        (
            "an unknown authentication method",
            Method::POST,
            "/clients",
            client(json!({"token_endpoint_auth_method": "client_secret_jwt"})),
            [&create[..], &["--auth-method", "client_secret_jwt"]].concat(),
        ),
        (
            "an unknown ID token algorithm",
            Method::POST,
            "/clients",
            client(json!({"id_token_signed_response_alg": "HS256"})),
            [&create[..], &["--auth-method", "client_secret_basic", "--id-token-alg", "HS256"]].concat(),
        ),
        (
            "private_key_jwt without keys",
            Method::POST,
            "/clients",
            client(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            [&create[..], &["--auth-method", "private_key_jwt"]].concat(),
        ),
        (
            "the code flow with nowhere to send the code",
            Method::POST,
            "/clients",
            client(json!({"grant_types": ["authorization_code"]})),
            [&create[..], &["--auth-method", "client_secret_basic", "--grant-type", "authorization_code"]]
                .concat(),
        ),
        ("an unknown client", Method::GET, "/clients/nobody", None, vec!["client", "show", "nobody"]),
        (
            "suspending an unknown client",
            Method::POST,
            "/clients/nobody/suspend",
            None,
            vec!["client", "suspend", "nobody"],
        ),
        (
            "a malformed phone number",
            Method::POST,
            "/subscribers",
            Some(json!({"phone_number": "612345678", "operator_id": "op1"})),
            vec!["subscriber", "add", "--phone-number", "612345678", "--operator", "op1"],
        ),
        (
            "an unknown operator",
            Method::POST,
            "/subscribers",
            Some(json!({"phone_number": "+34612345679", "operator_id": "nobody"})),
            vec!["subscriber", "add", "--phone-number", "+34612345679", "--operator", "nobody"],
        ),
        (
            "an unknown handset policy",
            Method::POST,
            "/subscribers",
            Some(json!({"phone_number": "+34612345679", "operator_id": "op1", "handset_policy": "maybe"})),
            vec![
                "subscriber",
                "add",
                "--phone-number",
                "+34612345679",
                "--operator",
                "op1",
                "--policy",
                "maybe",
            ],
        ),
        (
            "a number already registered",
            Method::POST,
            "/subscribers",
            Some(taken),
            vec!["subscriber", "add", "--phone-number", "+34612345678", "--operator", "op1"],
        ),
        (
            "looking up a malformed number",
            Method::GET,
            "/subscribers/612345678",
            None,
            vec!["subscriber", "show", "612345678"],
        ),
        (
            "deleting a number nobody has",
            Method::DELETE,
            "/subscribers/+34612999999",
            None,
            vec!["subscriber", "delete", "+34612999999"],
        ),
    ];
    for (what, method, path, body, args) in cases {
        let resp = app.admin(method, path, body).await;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap();
        assert!(status.is_client_error(), "{what}: the admin API answered {status} {v}");
        let message = v["message"].as_str().unwrap();
        let (ok, _, err) = run(&dir, &args);
        assert!(!ok, "{what}: the CLI accepted it");
        assert_eq!(err.trim_end(), format!("netauth: {message}"), "{what}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #11 point 7: the sandbox writes one info line per answered OAuth,
/// OIDC or CIBA request (client, endpoint, outcome, reason, the subscriber a
/// hint named), none for other requests, and never a secret or a token.
#[tokio::test]
async fn sandbox_logs_one_info_line_per_oauth_request() {
    let dir = temp_dir();
    let port = free_port();
    let log = dir.join("sandbox.log");
    let child = netauth()
        .current_dir(&dir)
        .args(["sandbox", "--log-format", "json", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("NETAUTH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _guard = Kill(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut doc: Option<Value> = None;
    for _ in 0..100 {
        if let Ok(t) = std::fs::read_to_string(dir.join("netauth-data/sandbox.json"))
            && let Ok(v) = serde_json::from_str(&t)
            && http.get(format!("{base}/healthz")).send().await.is_ok()
        {
            doc = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let doc = doc.expect("the sandbox came up");
    let secret_of = |id: &str| {
        doc["clients"].as_array().unwrap().iter().find(|c| c["client_id"] == id).unwrap()["client_secret"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (basic, ciba) = (secret_of("demo-basic"), secret_of("demo-ciba"));
    let token = |secret: String| {
        http.post(format!("{base}/token"))
            .basic_auth("demo-basic", Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let ok: Value = token(basic.clone()).await.unwrap().json().await.unwrap();
    let access = ok["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(token("wrong".into()).await.unwrap().status(), 401);
    let bc = http
        .post(format!("{base}/bc-authorize"))
        .basic_auth("demo-ciba", Some(&ciba))
        .form(&[("login_hint", "tel:+34655555555"), ("scope", "dpv:FraudPreventionAndDetection sim-swap")])
        .send()
        .await
        .unwrap();
    assert_eq!(bc.status(), 200);
    assert_eq!(http.get(format!("{base}/userinfo")).send().await.unwrap().status(), 401);
    // Not OAuth: no line.
    assert_eq!(http.get(format!("{base}/jwks")).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "netauth::sandbox::requests")
        .collect();
    let f = |i: usize, k: &str| lines[i]["fields"][k].as_str().map(str::to_owned).unwrap_or_default();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines.iter().all(|l| l["level"] == "INFO"), "{text}");
    assert_eq!(
        (f(0, "endpoint"), f(0, "client_id"), f(0, "outcome")),
        ("/token".into(), "demo-basic".into(), "ok".into())
    );
    assert_eq!(f(0, "grant_type"), "client_credentials");
    assert_eq!(
        (f(1, "outcome"), f(1, "reason")),
        ("invalid_client".into(), "client authentication failed".into())
    );
    assert_eq!(
        (f(2, "endpoint"), f(2, "client_id"), f(2, "outcome")),
        ("/bc-authorize".into(), "demo-ciba".into(), "ok".into())
    );
    assert_eq!(f(2, "subscriber"), "+34655555555");
    assert_eq!(f(3, "endpoint"), "/userinfo");
    for secret in [&basic, &ciba, &access] {
        assert!(!text.contains(secret.as_str()), "a secret or token in the log");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM: in-flight requests finish, then the process exits cleanly; logs
/// are JSON lines with `--log-format json`.
#[tokio::test]
async fn sigterm_shuts_down_gracefully_with_json_logs() {
    let dir = temp_dir();
    let port = free_port();
    let mut child = netauth()
        .current_dir(&dir)
        .args(["--log-format", "json", "sandbox", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("NETAUTH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exited = exited.expect("exited within 10 s of SIGTERM");
    assert!(exited.success(), "{exited:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    let json_lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(
        json_lines.iter().any(|l| l["fields"]["message"].as_str().unwrap_or("").contains("shutting down")),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `netauth serve` process: production mode from a configuration file in
/// a fresh directory, logging (JSON) to `log` in that directory.
pub struct Served {
    pub dir: std::path::PathBuf,
    pub base: String,
    pub log: std::path::PathBuf,
    _child: Kill,
}

pub const SERVE_ADMIN_TOKEN: &str = "serve-admin-token-7f3c9a1e5b2d4c6f8a0e1b3d5f7a9c2e";

/// The configuration `serve_with` starts from: SQLite in `<dir>/data`, a
/// master key, an admin token, JSON logs.
pub fn serve_config(dir: &std::path::Path, port: u16) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[database]\nurl = \"sqlite:{}\"\n[keys]\nmaster_key = \"{}\"\n\
         [admin]\ntoken = \"{SERVE_ADMIN_TOKEN}\"\n[log]\nformat = \"json\"\n",
        dir.join("data/netauth.db").display(),
        netauth_domain::keys::MasterKey::generate_base64()
    )
}

/// Starts `netauth serve` in `dir` on `port`, with `extra` appended to
/// [`serve_config`] and `env` set; its stderr goes to the log returned.
/// Does not wait for it to answer.
pub(crate) fn spawn_serve(
    dir: &std::path::Path,
    port: u16,
    extra: &str,
    env: &[(&str, &str)],
) -> (std::path::PathBuf, Kill) {
    let cfg = dir.join("netauth.toml");
    std::fs::write(&cfg, format!("{}{extra}", serve_config(dir, port))).unwrap();
    let log = dir.join("serve.log");
    let child = netauth()
        .current_dir(dir)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env_remove("NETAUTH_DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (log, Kill(child))
}

/// Starts `netauth serve` with `extra` appended to [`serve_config`] and
/// `env` set; waits until it answers `/healthz`.
pub async fn serve_with(extra: &str, env: &[(&str, &str)]) -> Served {
    let dir = temp_dir();
    let port = free_port();
    let (log, guard) = spawn_serve(&dir, port, extra, env);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return Served { dir, base, log, _child: guard };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("netauth serve did not come up: {}", std::fs::read_to_string(&log).unwrap_or_default());
}

/// Issue #10 point 3: `serve` never mounts the sandbox's unauthenticated
/// routes, and refuses a configuration that tries to switch them on.
#[tokio::test]
async fn serve_never_mounts_the_sandbox() {
    let dir = temp_dir();
    let cfg = dir.join("netauth.toml");
    std::fs::write(&cfg, serve_config(&dir, free_port())).unwrap();
    let out = netauth()
        .current_dir(&dir)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("NETAUTH__SANDBOX__ENABLED", "true")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("sandbox.enabled") && err.contains("netauth sandbox"), "{err}");
    std::fs::write(&cfg, format!("{}[sandbox]\nenabled = true\n", serve_config(&dir, free_port()))).unwrap();
    let (ok, _, err) = run(&dir, &["serve", "--config", cfg.to_str().unwrap()]);
    assert!(!ok && err.contains("sandbox.enabled"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);

    let s = serve_with("", &[]).await;
    let http = reqwest::Client::new();
    let sandbox_routes = [
        ("POST", "/sandbox/v1/operator-tokens"),
        ("GET", "/sandbox/v1/handsets/%2B34655555555/prompts"),
        ("PUT", "/sandbox/v1/handsets/%2B34655555555/policy"),
        ("GET", "/sandbox/echo"),
        ("GET", "/sandbox/handset/%2B34655555555"),
    ];
    for (method, path) in sandbox_routes {
        let r = http
            .request(method.parse().unwrap(), format!("{}{path}", s.base))
            .json(&serde_json::json!({"phoneNumber": "+34655555555", "policy": "auto_approve"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
        // Not "no such subscriber" from a mounted route: no route at all.
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["message"], "no such endpoint", "{method} {path}");
    }
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(log.contains("netauth serving"), "{log}");
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// Issue #10 point 7: `serve` refuses an admin token with less than 256 bits
/// of entropy, and logs wrong admin tokens with the caller's address.
#[tokio::test]
async fn serve_refuses_a_weak_admin_token_and_logs_wrong_ones() {
    let dir = temp_dir();
    let cfg = dir.join("netauth.toml");
    let base = serve_config(&dir, free_port());
    for weak in ["admin", "test-admin-token-0123456789", &"x".repeat(100)] {
        std::fs::write(&cfg, base.replace(SERVE_ADMIN_TOKEN, weak)).unwrap();
        let (ok, _, err) = run(&dir, &["serve", "--config", cfg.to_str().unwrap()]);
        assert!(!ok && err.contains("admin.token") && err.contains("256 bits"), "{weak}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    let s = serve_with("", &[]).await;
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/admin/v1/clients", s.base)).bearer_auth("guess").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r =
        http.get(format!("{}/admin/v1/clients", s.base)).bearer_auth(SERVE_ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let log = std::fs::read_to_string(&s.log).unwrap();
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "admin authentication failed: wrong token")
        .unwrap_or_else(|| panic!("no log line for the wrong admin token: {log}"));
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["fields"]["addr"], "127.0.0.1");
    assert!(!log.contains("guess"), "the presented token is not logged");
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// Issue #10 point 11: the JSON log of a CIBA flow under `serve` (at debug
/// level, so request lines are in it too) holds no subscriber number or
/// address in clear; the handset prompt names a keyed pseudonym instead.
#[tokio::test]
async fn serve_logs_carry_no_subscriber_number_or_address() {
    const NUMBER: &str = "+34612345678";
    const ADDRESS: &str = "10.20.30.40";
    let s = serve_with("", &[("NETAUTH__LOG__LEVEL", "debug")]).await;
    let http = reqwest::Client::new();
    let admin = |m: reqwest::Method, path: &str, body: Option<Value>| {
        let mut r = http.request(m, format!("{}/admin/v1{path}", s.base)).bearer_auth(SERVE_ADMIN_TOKEN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    use reqwest::Method;
    let op = serde_json::json!({"id": "op", "name": "Op", "country": "ES", "number_ranges": ["+34"]});
    assert_eq!(admin(Method::PUT, "/operators/op", Some(op)).await.unwrap().status(), 200);
    let sub = serde_json::json!({
        "phone_number": NUMBER, "operator_id": "op", "sims": [{"sim_id": "a", "activated_at": 1000}],
        "addresses": [{"ip": ADDRESS, "port_start": 0, "port_end": 65535}], "handset_policy": "ask",
    });
    assert_eq!(admin(Method::POST, "/subscribers", Some(sub)).await.unwrap().status(), 201);
    let rule = serde_json::json!({"scope": "sim-swap", "purpose": "dpv:FraudPreventionAndDetection",
                                  "basis": "consent", "capture": "handset"});
    assert_eq!(admin(Method::PUT, "/legal-bases", Some(rule)).await.unwrap().status(), 200);
    let client = serde_json::json!({
        "name": "ciba", "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["urn:openid:params:grant-type:ciba"], "scopes": ["sim-swap"],
        "purposes": ["dpv:FraudPreventionAndDetection"],
    });
    let created: Value = admin(Method::POST, "/clients", Some(client)).await.unwrap().json().await.unwrap();
    let (id, secret) =
        (created["client"]["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
    let encoded = NUMBER.replace('+', "%2B");
    assert_eq!(admin(Method::GET, &format!("/subscribers/{encoded}"), None).await.unwrap().status(), 200);
    for hint in [format!("tel:{NUMBER}"), format!("ipport:{ADDRESS}")] {
        let r = http
            .post(format!("{}/bc-authorize", s.base))
            .basic_auth(id, Some(secret))
            .form(&[("login_hint", hint.as_str()), ("scope", "dpv:FraudPreventionAndDetection sim-swap")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{hint}: {}", r.text().await.unwrap());
    }
    let log = std::fs::read_to_string(&s.log).unwrap();
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(lines.len() > 10, "{log}");
    for needle in [NUMBER, &NUMBER[1..], &encoded, ADDRESS] {
        assert!(!log.contains(needle), "`{needle}` in the log:\n{log}");
    }
    let prompts: Vec<&Value> = lines.iter().filter(|l| l["fields"]["message"] == "handset prompt").collect();
    assert_eq!(prompts.len(), 2, "{log}");
    let pseudonym = prompts[0]["fields"]["subscriber"].as_str().unwrap();
    assert!(pseudonym.starts_with("p:"), "{pseudonym}");
    assert_eq!(prompts[1]["fields"]["subscriber"], pseudonym, "the same subscriber, the same pseudonym");
    let requests = lines.iter().filter(|l| l["fields"]["message"] == "request").count();
    assert!(requests >= 6, "request lines are logged at debug: {log}");
    assert!(log.contains(&format!("/admin/v1/subscribers/{pseudonym}")), "{log}");
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// Issue #11.8: every flag and argument of the CLI has help text.
#[test]
fn every_cli_flag_and_argument_has_help() {
    // Help: every flag and argument of every subcommand says something.
    for sub in [
        &["client", "create"][..],
        &["client", "show"],
        &["client", "rotate-secret"],
        &["subscriber", "add"],
        &["subscriber", "show"],
        &["operator", "add"],
        &["keys", "rotate"],
        &["sandbox"],
    ] {
        let out = netauth().args(sub).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = help.lines().collect();
        let mut in_options = false;
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("Options:") || line.starts_with("Arguments:") {
                in_options = true;
                continue;
            }
            let l = line.trim_start();
            if in_options && (l.starts_with('-') || l.starts_with('<')) {
                // Short form `--flag <VALUE>  Help text`, or long form with
                // the help on the next, deeper-indented line.
                let same_line = l.split("  ").filter(|p| !p.trim().is_empty()).count() > 1;
                let indent = line.len() - l.len();
                let next_line = lines.get(i + 1).is_some_and(|n| {
                    let t = n.trim_start();
                    !t.is_empty() && !t.starts_with('-') && n.len() - t.len() > indent
                });
                assert!(same_line || next_line, "`netauth {}`: no help for `{l}`\n{help}", sub.join(" "));
            }
        }
    }
}
