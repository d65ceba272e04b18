//! TLS (issue #13 point 4): `netauth sandbox --tls` serves HTTPS trusted
//! through its own local CA only, reuses that CA on restart and reissues the
//! server certificate when its names change, advertises https everywhere,
//! and still recognises a subscriber's line by the client's address (also
//! at seed 001's plain-HTTP entry on `--http-listen`, handed over to https);
//! `netauth serve` terminates TLS from configured files, refuses a key that
//! does not match its certificate, reloads the files on SIGHUP, and closes a
//! connection whose handshake does not complete in time (freeing its slot).

use crate::cli::{Kill, free_port, netauth, serve_config, spawn_serve, temp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTPS client that trusts `ca_file` and nothing else, from `from`.
fn trusting(ca_file: &Path, from: &str) -> reqwest::Client {
    let pem = std::fs::read(ca_file).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        // A new connection (and handshake) for every request.
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn wait_https(ca_file: &Path, base: &str, log: &Path) {
    for _ in 0..150 {
        if trusting(ca_file, "127.0.0.1").get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no HTTPS at {base}: {}", std::fs::read_to_string(log).unwrap_or_default());
}

/// `netauth sandbox --tls` in `dir`, waited for through `sandbox.json`.
async fn sandbox(dir: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> (Kill, Value) {
    let file = dir.join("netauth-data/sandbox.json");
    let _ = std::fs::remove_file(&file);
    let log = dir.join(format!("sandbox-{}.log", crate::helpers::random_name()));
    let child = netauth()
        .current_dir(dir)
        .args(["sandbox", "--tls", "--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .envs(env.iter().copied())
        .env_remove("NETAUTH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let guard = Kill(child);
    for _ in 0..150 {
        if let Ok(t) = std::fs::read_to_string(&file)
            && let Ok(doc) = serde_json::from_str::<Value>(&t)
        {
            let ca = PathBuf::from(doc["tls"]["ca_file"].as_str().expect("tls.ca_file in sandbox.json"));
            wait_https(&ca, doc["issuer"].as_str().unwrap(), &log).await;
            let banner = std::fs::read_to_string(&log).unwrap();
            assert!(
                banner.contains(&format!("REQUESTS_CA_BUNDLE={}", ca.display()))
                    && banner.contains(&format!("NODE_EXTRA_CA_CERTS={}", ca.display())),
                "{banner}"
            );
            return (guard, doc);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sandbox.json not written: {}", std::fs::read_to_string(&log).unwrap_or_default());
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[tokio::test]
async fn sandbox_tls_serves_https_from_its_own_ca_and_reuses_it() {
    let dir = temp_dir();
    let (port, plain) = (free_port(), free_port());
    let plain_arg = format!("127.0.0.1:{plain}");
    let entry = format!("http://{plain_arg}");
    let env = [("NETAUTH__AUTHORIZE__ENTRY_URL", entry.as_str())];
    let (guard, doc) = sandbox(&dir, port, &["--http-listen", &plain_arg], &env).await;
    let issuer = format!("https://127.0.0.1:{port}");
    assert_eq!(doc["issuer"], issuer);
    let tls = &doc["tls"];
    let ca = PathBuf::from(tls["ca_file"].as_str().unwrap());
    let names: Vec<&str> = tls["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert_eq!(names, ["localhost", "127.0.0.1", "::1"]);
    assert_eq!(tls["plain_http"], format!("http://{plain_arg}"));
    // Every URL the sandbox advertises is https.
    for (name, url) in doc["endpoints"].as_object().unwrap() {
        assert!(url.as_str().unwrap().starts_with(&format!("{issuer}/")), "{name}: {url}");
    }
    for s in doc["subscribers"].as_array().unwrap() {
        assert!(s["handset"].as_str().unwrap().starts_with(&format!("{issuer}/")), "{s}");
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let tls_dir = ca.parent().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(tls_dir), 0o700);
        for f in ["ca.pem", "ca.key", "server.pem", "server.key"] {
            assert_eq!(mode(&tls_dir.join(f)), 0o600, "{f}");
        }
    }

    // Discovery over HTTPS, trusted through the sandbox's CA alone.
    let https = trusting(&ca, "127.0.0.1");
    let disc: Value = https
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disc["issuer"], issuer);
    for k in ["authorization_endpoint", "token_endpoint", "jwks_uri", "backchannel_authentication_endpoint"] {
        assert!(disc[k].as_str().unwrap().starts_with("https://"), "{k}: {disc}");
    }
    // localhost is in the certificate too.
    let r = https.get(format!("https://localhost:{port}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Without the CA the certificate is not trusted, and plain HTTP gets no
    // answer on the HTTPS port.
    let untrusted = reqwest::Client::new().get(format!("{issuer}/healthz")).send().await;
    assert!(untrusted.is_err(), "{untrusted:?}");
    assert!(reqwest::Client::new().get(format!("http://127.0.0.1:{port}/healthz")).send().await.is_err());
    // --http-listen: plain HTTP beside it, advertising the https issuer.
    let d: Value = reqwest::get(format!("http://{plain_arg}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], issuer);

    // The subscriber's line, recognised by the source address over TLS:
    // subscriber 3's phone (127.10.0.3) is signed in by the network and
    // asked to consent; the same request from elsewhere (127.0.0.1, no
    // line) gets the handset sign-in page that asks for a number.
    let authorize = format!(
        "{issuer}/authorize?response_type=code&client_id=demo-orange&redirect_uri=http%3A%2F%2F127.0.0.1%3A9003%2Fcallback\
         &scope=openid%20phone&state=s1&nonce=n1"
    );
    let phone = trusting(&ca, "127.10.0.3").get(&authorize).send().await.unwrap();
    assert_eq!(phone.status(), 200);
    let body = phone.text().await.unwrap();
    assert!(body.contains("<title>Allow access?") && !body.contains("name=\"msisdn\""), "{body}");
    let wifi = trusting(&ca, "127.0.0.1").get(&authorize).send().await.unwrap();
    assert_eq!(wifi.status(), 200);
    let body = wifi.text().await.unwrap();
    assert!(body.contains("name=\"msisdn\"") && !body.contains("<title>Allow access?"), "{body}");

    // Seed 001's plain-HTTP entry on --http-listen: the line is recognised
    // there by the address, and the browser handed over to the https issuer,
    // where the request ends with a code.
    let phone = trusting(&ca, "127.10.0.3");
    let r = phone
        .get(format!(
            "{entry}/oauth/v2/authorize?response_type=code&client_id=demo-telenor\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A9001%2Fcallback&scope=openid&state=s2"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(r.headers().get("set-cookie").is_none());
    let handover = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(handover.starts_with(&format!("{issuer}/authorize/resume?request=")), "{handover}");
    let r = phone.get(&handover).send().await.unwrap();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
    let location = location.unwrap();
    assert!(location.starts_with("http://127.0.0.1:9001/callback?code="), "{location}");

    // Restarted: the same CA and, for the same names, the same certificate.
    let before: Vec<String> = ["ca.pem", "ca.key", "server.pem"]
        .iter()
        .map(|f| read(ca.parent().unwrap().join(f).to_str().unwrap()))
        .collect();
    drop(guard);
    let (guard, doc2) = sandbox(&dir, port, &[], &[]).await;
    assert_eq!(doc2["tls"]["ca_file"], tls["ca_file"]);
    assert!(doc2["tls"].get("plain_http").is_none());
    let after: Vec<String> = ["ca.pem", "ca.key", "server.pem"]
        .iter()
        .map(|f| read(ca.parent().unwrap().join(f).to_str().unwrap()))
        .collect();
    assert_eq!(before, after, "CA and certificate reused");
    let r = trusting(&ca, "127.0.0.1").get(format!("{issuer}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Another name: the same CA issues a new certificate.
    drop(guard);
    let (_guard, doc3) = sandbox(&dir, port, &["--tls-name", "sandbox.test"], &[]).await;
    assert!(doc3["tls"]["names"].as_array().unwrap().iter().any(|n| n == "sandbox.test"), "{doc3}");
    let tls_dir = ca.parent().unwrap();
    assert_eq!(read(tls_dir.join("ca.pem").to_str().unwrap()), before[0]);
    assert_ne!(read(tls_dir.join("server.pem").to_str().unwrap()), before[2]);
    let r = trusting(&ca, "127.0.0.1").get(format!("{issuer}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CA and a server certificate for loopback, made the way the sandbox
/// makes its own, in `<dir>/tls`.
fn pki(dir: &Path) -> netauth_server::sandbox::tls::SandboxTls {
    let names = netauth_server::sandbox::tls::names(&[]);
    netauth_server::sandbox::tls::prepare(dir, names, netauth_server::infra::clock::system_now()).unwrap()
}

/// `netauth serve` over TLS from `cert`/`key`, with `env` set.
struct TlsServed {
    dir: PathBuf,
    base: String,
    log: PathBuf,
    child: Kill,
}

async fn serve_tls(dir: PathBuf, cert: &Path, key: &Path, ca: &Path, env: &[(&str, &str)]) -> TlsServed {
    let port = free_port();
    let tls = format!("[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n", cert.display(), key.display());
    let (log, child) = spawn_serve(&dir, port, &tls, env);
    let base = format!("https://127.0.0.1:{port}");
    wait_https(ca, &base, &log).await;
    TlsServed { dir, base, log, child }
}

#[tokio::test]
async fn serve_terminates_tls_from_files_and_reloads_them_on_sighup() {
    let dir = temp_dir();
    let (one, two) = (pki(&dir.join("one")), pki(&dir.join("two")));
    let live = dir.join("live");
    std::fs::create_dir_all(&live).unwrap();
    let (cert, key) = (live.join("chain.pem"), live.join("key.pem"));
    std::fs::copy(&one.cert_file, &cert).unwrap();
    std::fs::copy(&one.key_file, &key).unwrap();
    let s = serve_tls(dir.clone(), &cert, &key, &one.ca_file, &[]).await;
    let disc: Value = trusting(&one.ca_file, "127.0.0.1")
        .get(format!("{}/.well-known/openid-configuration", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // No issuer configured: derived from the listen address, https.
    assert_eq!(disc["issuer"], s.base);
    assert!(disc["token_endpoint"].as_str().unwrap().starts_with(&format!("{}/", s.base)));

    // Rotation: new files, SIGHUP; new connections get the new certificate.
    std::fs::copy(&two.cert_file, &cert).unwrap();
    std::fs::copy(&two.key_file, &key).unwrap();
    let hup = |pid: u32| {
        let st = std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().unwrap();
        assert!(st.success());
    };
    hup(s.child.0.id());
    let mut rotated = false;
    for _ in 0..50 {
        if trusting(&two.ca_file, "127.0.0.1").get(format!("{}/healthz", s.base)).send().await.is_ok() {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rotated, "{}", std::fs::read_to_string(&s.log).unwrap());
    assert!(trusting(&one.ca_file, "127.0.0.1").get(format!("{}/healthz", s.base)).send().await.is_err());
    // A broken rotation is refused and the certificate in use stays.
    std::fs::copy(&one.key_file, &key).unwrap();
    hup(s.child.0.id());
    let mut logged = false;
    for _ in 0..50 {
        if std::fs::read_to_string(&s.log).unwrap().contains("TLS reload failed") {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(logged, "{}", std::fs::read_to_string(&s.log).unwrap());
    let r = trusting(&two.ca_file, "127.0.0.1").get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    drop(s.child);
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn serve_refuses_unusable_tls_files_naming_the_key() {
    let dir = temp_dir();
    let (one, two) = (pki(&dir.join("one")), pki(&dir.join("two")));
    let missing = dir.join("nope.pem");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let cases: [(String, &[&str]); 5] = [
        // The key of another certificate.
        (
            format!(
                "cert_file = \"{}\"\nkey_file = \"{}\"\n",
                one.cert_file.display(),
                two.key_file.display()
            ),
            &["tls.key_file", "does not match the certificate"],
        ),
        (
            format!("cert_file = \"{}\"\nkey_file = \"{}\"\n", missing.display(), one.key_file.display()),
            &["tls.cert_file", "cannot read", "nope.pem"],
        ),
        (
            format!("cert_file = \"{}\"\nkey_file = \"{}\"\n", one.cert_file.display(), missing.display()),
            &["tls.key_file", "cannot read"],
        ),
        (
            format!("cert_file = \"{}\"\nkey_file = \"{}\"\n", empty.display(), one.key_file.display()),
            &["tls.cert_file", "no PEM certificate"],
        ),
        (format!("cert_file = \"{}\"\n", one.cert_file.display()), &["tls.key_file", "is required"]),
    ];
    for (tls, expected) in cases {
        let cfg = dir.join("netauth.toml");
        std::fs::write(&cfg, format!("{}[tls]\n{tls}", serve_config(&dir, free_port()))).unwrap();
        let out = netauth()
            .current_dir(&dir)
            .args(["serve", "--config", cfg.to_str().unwrap()])
            .env_remove("NETAUTH_DATABASE_URL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{tls}");
        for e in expected {
            assert!(err.contains(e), "{tls}: expected {e:?} in {err}");
        }
        // Stopped before opening the database.
        assert!(!dir.join("data/netauth.db").exists(), "{err}");
    }
    // An http issuer with TLS on is a contradiction.
    let cfg = dir.join("netauth.toml");
    let tls = format!(
        "[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        one.cert_file.display(),
        one.key_file.display()
    );
    std::fs::write(&cfg, format!("{}{tls}", serve_config(&dir, free_port()))).unwrap();
    let out = netauth()
        .current_dir(&dir)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("NETAUTH__SERVER__ISSUER", "http://auth.example")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("server.issuer") && err.contains("https"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Connects from `ip` to `port` without doing anything else.
async fn silent_from(ip: &str, port: u16) -> tokio::net::TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    sock.connect(format!("127.0.0.1:{port}").parse().unwrap()).await.unwrap()
}

/// How long until the server closes `s` (EOF or reset), if within `within`.
async fn closed_within(s: &mut tokio::net::TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout_at((start + within).into(), s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            // An alert from the server: keep reading until it closes.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_handshake_that_never_completes_is_cut_off_and_frees_its_slot() {
    let dir = temp_dir();
    let p = pki(&dir.join("pki"));
    // Handshakes get 1 s; a request head would get 30 s, so a close near
    // 1 s is the handshake timeout's doing.
    let env = [
        ("NETAUTH__TLS__HANDSHAKE_TIMEOUT_SECS", "1"),
        ("NETAUTH__SERVER__HEADER_READ_TIMEOUT_SECS", "30"),
        ("NETAUTH__SERVER__MAX_CONNECTIONS_PER_ADDRESS", "2"),
    ];
    let s = serve_tls(dir.clone(), &p.cert_file, &p.key_file, &p.ca_file, &env).await;
    let port: u16 = s.base.rsplit(':').next().unwrap().parse().unwrap();
    // Two connections from one address: one says nothing, one starts a
    // ClientHello record (512 bytes announced) and stalls.
    let mut silent = silent_from("127.0.0.9", port).await;
    let mut partial = silent_from("127.0.0.9", port).await;
    partial.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await.unwrap();
    // They hold the address's two slots: a third is closed at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = silent_from("127.0.0.9", port).await;
    let refused = closed_within(&mut third, Duration::from_millis(500)).await;
    assert!(refused.is_some(), "the per-address cap counts connections in their handshake");
    for (name, conn) in [("silent", &mut silent), ("partial", &mut partial)] {
        let t = closed_within(conn, Duration::from_secs(5)).await;
        let t = t.unwrap_or_else(|| panic!("{name}: still open after 5 s"));
        assert!(t < Duration::from_secs(3), "{name}: closed after {t:?}");
    }
    // Their slots are free again: a real client from that address is served.
    let r = trusting(&p.ca_file, "127.0.0.9").get(format!("{}/healthz", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Both counted; a client that does not trust the certificate too.
    assert!(reqwest::Client::new().get(format!("{}/healthz", s.base)).send().await.is_err());
    let m = trusting(&p.ca_file, "127.0.0.1").get(format!("{}/metrics", s.base)).send().await.unwrap();
    let m = m.text().await.unwrap();
    let value = |name: &str| -> u64 {
        let line =
            m.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}: {m}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value("netauth_tls_handshake_timeouts_total"), 2, "{m}");
    assert!(value("netauth_tls_handshake_failures_total") >= 1, "{m}");
    drop(s.child);
    let _ = std::fs::remove_dir_all(&s.dir);
}
