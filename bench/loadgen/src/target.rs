//! What the load generator needs to know about a server under test, in one
//! JSON file per server. `bench/reference/server.mjs` writes the reference
//! server's; `loadgen target-from-sandbox` derives netauth's from the
//! sandbox's `sandbox.json`.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    /// `netauth` or `oidc-provider`: only a label.
    pub server: String,
    /// `http://127.0.0.1:PORT` (plain HTTP on loopback).
    pub base_url: String,
    /// The issuer identifier: the `aud` of client assertions.
    pub issuer: String,
    pub token_path: String,
    pub introspect_path: String,
    /// The server's cheapest endpoint, answered 2xx (the `floor` scenario).
    pub floor_path: String,
    /// The scope every token request asks for.
    pub scope: String,
    /// A client_secret_basic client.
    pub basic: SecretClient,
    /// A private_key_jwt client with an ES256 key.
    pub jwt: KeyClient,
    /// A CIBA (poll mode) client_secret_basic client, for the `ciba` scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciba: Option<CibaClient>,
    /// A confidential authorization-code client and subscribers' lines, for
    /// the `code-flow` scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<CodeClient>,
    /// netauth's CAMARA resource APIs (absent for the reference, which has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camara: Option<CamaraTarget>,
    /// netauth's admin API, for fixtures (absent for the reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<Admin>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretClient {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CibaClient {
    pub client_id: String,
    pub client_secret: String,
    /// The backchannel authentication endpoint.
    pub bc_authorize_path: String,
    /// A subscriber whose handset approves at once.
    pub login_hint: String,
    pub scope: String,
}

/// What the `code-flow` scenario needs: a client_secret_basic client allowed
/// the authorization code grant, and the addresses of subscribers' lines
/// (a request from one of them is that subscriber, authenticated by the
/// network; each worker connects from one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeClient {
    pub client_id: String,
    pub client_secret: String,
    pub authorize_path: String,
    /// Registered; nothing listens there (the load generator reads the
    /// `code` off the redirect and does not follow it).
    pub redirect_uri: String,
    pub scope: String,
    pub lines: Vec<IpAddr>,
}

/// What the `sim-swap` and `number-verification` scenarios need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CamaraTarget {
    /// A client_credentials client with `sim-swap:check` (two-legged).
    pub sim_swap_client: SecretClient,
    /// A CIBA client allowed `number-verification:verify` under `purpose`.
    pub nv_client: SecretClient,
    pub purpose: String,
    /// A subscriber of the simulated network.
    pub phone_number: String,
    /// The sandbox's TS.43-style issuer of operator tokens.
    pub operator_token_path: String,
    pub bc_authorize_path: String,
    pub sim_swap_check_path: String,
    pub nv_verify_path: String,
    /// A JWT bearer client (ES256) allowed `number-verification:verify`
    /// under `purpose`, for `number-verification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_bearer_client: Option<KeyClient>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyClient {
    pub client_id: String,
    /// PKCS#8 PEM.
    pub private_key_file: PathBuf,
    pub kid: String,
    pub alg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Admin {
    /// `ISSUER/admin/v1`.
    pub base_url: String,
    pub token: String,
}

impl Target {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let t: Self = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        t.addr()?;
        Ok(t)
    }

    /// The socket address of `base_url` (loopback only: see docs/benchmarks.md).
    pub fn addr(&self) -> anyhow::Result<SocketAddr> {
        host_port(&self.base_url)
    }

    /// `host:port`, for the Host header.
    pub fn authority(&self) -> &str {
        authority(&self.base_url)
    }
}

pub fn authority(url: &str) -> &str {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}

/// Split `http://host:port[/path]` into a socket address; refuses anything
/// that is not a loopback address, so a typo cannot aim a load test elsewhere.
pub fn host_port(url: &str) -> anyhow::Result<SocketAddr> {
    let Some(_) = url.strip_prefix("http://") else {
        bail!("{url}: only http:// URLs on loopback are load-tested");
    };
    let auth = authority(url);
    let addr: SocketAddr = auth
        .replace("localhost", "127.0.0.1")
        .parse()
        .with_context(|| format!("{url}: expected http://IP:PORT"))?;
    if !addr.ip().is_loopback() {
        bail!("{url}: refusing to load-test a non-loopback address");
    }
    Ok(addr)
}

/// netauth's `sandbox.json` → a Target (demo-basic and demo-private-key-jwt).
pub fn from_sandbox(sandbox: &Path) -> anyhow::Result<Target> {
    let text = std::fs::read_to_string(sandbox).with_context(|| format!("reading {}", sandbox.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)?;
    let s = |v: &serde_json::Value, what: &str| -> anyhow::Result<String> {
        v.as_str().map(str::to_owned).with_context(|| format!("sandbox.json: `{what}` missing"))
    };
    let issuer = s(&doc["issuer"], "issuer")?;
    let clients = doc["clients"].as_array().context("sandbox.json: `clients` missing")?;
    let find = |id: &str| {
        clients
            .iter()
            .find(|c| c["client_id"] == id)
            .with_context(|| format!("sandbox.json: no demo client `{id}`"))
    };
    let basic = find("demo-basic")?;
    let jwt = find("demo-private-key-jwt")?;
    let ciba = find("demo-ciba").ok().and_then(|c| {
        Some(CibaClient {
            client_id: c["client_id"].as_str()?.to_owned(),
            client_secret: c["client_secret"].as_str()?.to_owned(),
            bc_authorize_path: "/bc-authorize".into(),
            // The sandbox subscriber that approves at once (seed 000).
            login_hint: "tel:+34655555555".into(),
            scope: "dpv:FraudPreventionAndDetection sim-swap".into(),
        })
    });
    let secret = |id: &str| -> Option<SecretClient> {
        let c = find(id).ok()?;
        Some(SecretClient {
            client_id: c["client_id"].as_str()?.to_owned(),
            client_secret: c["client_secret"].as_str()?.to_owned(),
        })
    };
    let camara = match (secret("demo-sim-swap"), secret("demo-ciba")) {
        (Some(sim_swap_client), Some(nv_client)) => Some(CamaraTarget {
            sim_swap_client,
            nv_client,
            purpose: "dpv:FraudPreventionAndDetection".into(),
            // Swapped 2 days ago; approves at once.
            phone_number: "+34655555555".into(),
            operator_token_path: "/sandbox/v1/operator-tokens".into(),
            bc_authorize_path: "/bc-authorize".into(),
            sim_swap_check_path: "/sim-swap/v2/check".into(),
            nv_verify_path: "/number-verification/v2/verify".into(),
            jwt_bearer_client: find("demo-jwt-bearer").ok().and_then(|c| {
                Some(KeyClient {
                    client_id: c["client_id"].as_str()?.to_owned(),
                    private_key_file: PathBuf::from(c["private_key_file"].as_str()?),
                    kid: c["kid"].as_str()?.to_owned(),
                    alg: c["alg"].as_str()?.to_owned(),
                })
            }),
        }),
        _ => None,
    };
    // Seed 001's client, on the loopback "phones" 127.10.0.N.
    let lines: Vec<IpAddr> = doc["subscribers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["addresses"].as_array().into_iter().flatten())
        .filter_map(|a| a["ip"].as_str()?.parse::<IpAddr>().ok())
        .filter(|ip| ip.is_loopback())
        .collect();
    let code = find("demo-telenor").ok().and_then(|c| {
        Some(CodeClient {
            client_id: c["client_id"].as_str()?.to_owned(),
            client_secret: c["client_secret"].as_str()?.to_owned(),
            authorize_path: "/authorize".into(),
            redirect_uri: c["redirect_uris"].as_array()?.first()?.as_str()?.to_owned(),
            scope: "openid phone".into(),
            lines: lines.clone(),
        })
    });
    let scope = basic["scopes"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(|v| v.as_str())
        .unwrap_or("disburse")
        .to_owned();
    Ok(Target {
        server: "netauth".into(),
        base_url: issuer.trim_end_matches('/').to_owned(),
        issuer: issuer.clone(),
        token_path: "/token".into(),
        introspect_path: "/introspect".into(),
        floor_path: "/healthz".into(),
        scope,
        basic: SecretClient {
            client_id: s(&basic["client_id"], "client_id")?,
            client_secret: s(&basic["client_secret"], "demo-basic client_secret")?,
        },
        jwt: KeyClient {
            client_id: s(&jwt["client_id"], "client_id")?,
            private_key_file: PathBuf::from(s(&jwt["private_key_file"], "private_key_file")?),
            kid: s(&jwt["kid"], "kid")?,
            alg: s(&jwt["alg"], "alg")?,
        },
        ciba,
        code,
        camara,
        admin: Some(Admin {
            base_url: format!("{}/admin/v1", issuer.trim_end_matches('/')),
            token: s(&doc["admin_token"], "admin_token")?,
        }),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_only() {
        assert!(super::host_port("http://127.0.0.1:8080").is_ok());
        assert!(super::host_port("http://localhost:8080/x").is_ok());
        assert!(super::host_port("http://10.0.0.1:8080").is_err());
        assert!(super::host_port("https://127.0.0.1:8080").is_err());
        assert_eq!(super::authority("http://127.0.0.1:9/a/b"), "127.0.0.1:9");
    }
}
