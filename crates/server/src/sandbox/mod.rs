//! Sandbox mode: the same server with demo data, so an app developer can
//! integrate on a laptop. Everything the banner prints is also written to
//! `<data dir>/sandbox.json` (format in docs/sandbox.md) for scripts.
//!
//! Demo secrets and the admin token are derived from the sandbox's master
//! key (HMAC-SHA256 with a label), so they are stable across restarts
//! without ever being stored in clear in the database. Demo private keys are
//! PEM files in `<data dir>/keys/`.

pub mod api;
mod demo_clients;
pub mod openapi;
pub mod pages;
pub mod tls;

use crate::admin::manage::{self, NewClient};
use crate::camara::bearer::Bearer;
use crate::infra::state::AppState;
use crate::routes;
use anyhow::Context;
use axum::Json;
use base64::Engine;
use demo_clients::DEMO_CLIENTS;
use netauth_domain::client::{AuthMethod, ClientSecret, SigningAlg};
use netauth_domain::consent::LegalBasisRule;
use netauth_domain::crypto::{b64url, hash_bearer};
use netauth_domain::json::set;
use netauth_domain::keys::{SigningKey, jwk_thumbprint};
use netauth_domain::subscriber::{
    AddressAssignment, HandsetPolicy, Operator, SimRecord, Subscriber, SubscriberStatus,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// What a resource server sees in a token: lets developers check theirs.
pub async fn echo_get(bearer: Bearer) -> Json<Value> {
    let c = bearer.0;
    Json(json!({
        "client_id": c.client_id,
        "scope": c.scope.to_string(),
        "issued_at": c.iat,
        "expires_at": c.exp,
        "three_legged": c.is_three_legged(),
        "purpose": c.purpose,
        "amr": c.amr,
    }))
}

/// The sandbox's data directory and the secrets derived from its master key.
pub struct SandboxSecrets {
    master_bytes: Vec<u8>,
}

impl SandboxSecrets {
    pub fn new(master_b64: &str) -> anyhow::Result<Self> {
        let s = master_b64.trim();
        let master_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(s))
            .context("the sandbox master key file is not base64")?;
        Ok(Self { master_bytes })
    }

    pub fn derive(&self, label: &str) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.master_bytes);
        b64url(aws_lc_rs::hmac::sign(&key, format!("netauth-sandbox:{label}").as_bytes()).as_ref())
    }

    pub fn admin_token(&self) -> String {
        self.derive("admin-token")
    }
}

/// Reads the sandbox master key, creating it (mode 0600) on first start.
pub fn load_or_create_master_key(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join("master.key");
    if path.exists() {
        return std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()));
    }
    let key = netauth_domain::keys::MasterKey::generate_base64();
    write_private(&path, &key)?;
    Ok(key)
}

/// Creates a directory readable by its owner only (0700): the sandbox's
/// data directory holds the master key, demo private keys and the database.
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
}

pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    s.push_str("-----END PRIVATE KEY-----\n");
    s
}

fn der_from_pem(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body.trim()).ok()
}

/// A demo key pair: loaded from its PEM file, or generated and saved.
fn demo_key(dir: &Path, name: &str, alg: SigningAlg) -> anyhow::Result<(PathBuf, Value, String)> {
    let path = dir.join(format!("{name}.pem"));
    let key = match std::fs::read_to_string(&path).ok().and_then(|p| der_from_pem(&p)) {
        Some(der) => SigningKey::from_pkcs8(alg, &der).context("demo key file is not a valid key")?,
        None => {
            let (key, der) = SigningKey::generate(alg)?;
            write_private(&path, &pem(&der))?;
            key
        }
    };
    let mut jwk = key.public_jwk_members();
    let kid = jwk_thumbprint(&jwk);
    set(&mut jwk, "kid", kid.clone());
    set(&mut jwk, "alg", alg.as_str());
    set(&mut jwk, "use", "sig");
    Ok((path, json!({ "keys": [jwk] }), kid))
}

#[derive(Debug, Serialize)]
pub struct DemoClient {
    pub client_id: String,
    pub name: String,
    pub token_endpoint_auth_method: AuthMethod,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<&'static str>,
    pub grant_types: Vec<&'static str>,
    pub scopes: Vec<String>,
    pub purposes: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<&'static str>,
    /// The operator SDK dialect it speaks beside the CAMARA profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compat_profile: Option<netauth_domain::compat::CompatProfile>,
    /// What the client is set up for.
    pub purpose: &'static str,
}

/// Creates the demo clients that are missing (idempotent) and describes all.
pub async fn load_demo_data(
    app: &AppState,
    data_dir: &Path,
    secrets: &SandboxSecrets,
) -> anyhow::Result<Vec<DemoClient>> {
    let key_dir = data_dir.join("keys");
    create_private_dir(&key_dir)?;
    let mut out = Vec::new();
    for spec in DEMO_CLIENTS {
        let secret = spec.method.uses_secret().then(|| secrets.derive(&format!("client-secret:{}", spec.id)));
        let key = spec.key_alg.map(|alg| demo_key(&key_dir, spec.id, alg)).transpose()?;
        if app.store.get_client(spec.id).await?.is_none() {
            let req = NewClient {
                client_id: Some(spec.id.into()),
                name: spec.name.into(),
                token_endpoint_auth_method: spec.method.as_str().into(),
                grant_types: Some(spec.grants.iter().map(|g| g.as_str().into()).collect()),
                scopes: spec.scopes.iter().map(|s| s.to_string()).collect(),
                purposes: spec.purposes.iter().map(|s| s.to_string()).collect(),
                jwks: key.as_ref().map(|(_, jwks, _)| jwks.clone()),
                redirect_uris: spec.redirect_uris.iter().map(|s| s.to_string()).collect(),
                access_token_ttl: spec.ttl,
                compat_profile: spec.compat_profile.map(|p| p.as_str().to_owned()),
                ..Default::default()
            };
            let (mut client, _) =
                manage::build_client(req, app.config.tokens.max_access_token_ttl_secs, app.now())?;
            if let Some(s) = &secret {
                client.secrets = vec![ClientSecret {
                    id: "demo".into(),
                    digest: hash_bearer(s),
                    created_at: client.created_at,
                    expires_at: None,
                }];
            }
            app.store.insert_client(&client).await?;
        }
        out.push(DemoClient {
            client_id: spec.id.into(),
            name: spec.name.into(),
            token_endpoint_auth_method: spec.method,
            client_secret: secret,
            private_key_file: key.as_ref().map(|(p, _, _)| p.clone()),
            kid: key.as_ref().map(|(_, _, k)| k.clone()),
            alg: spec.key_alg.map(|a| a.as_str()),
            grant_types: spec.grants.iter().map(|g| g.as_str()).collect(),
            scopes: spec.scopes.iter().map(|s| s.to_string()).collect(),
            purposes: spec.purposes.to_vec(),
            redirect_uris: spec.redirect_uris.to_vec(),
            compat_profile: spec.compat_profile,
            purpose: spec.purpose,
        });
    }
    Ok(out)
}

/// The document written to `sandbox.json`.
pub fn describe(
    app: &AppState,
    admin_token: &str,
    data_dir: &Path,
    clients: &[DemoClient],
    subscribers: &[Value],
) -> Value {
    let url = |e: routes::Endpoint| format!("{}{}", app.issuer, e.path);
    json!({
        "issuer": app.issuer,
        "data_dir": data_dir,
        "admin_token": admin_token,
        "endpoints": {
            "discovery": url(routes::OPENID_CONFIGURATION),
            "jwks": url(routes::JWKS),
            "authorize": url(routes::AUTHORIZE),
            "token": url(routes::TOKEN),
            "bc_authorize": url(routes::BC_AUTHORIZE),
            "g2p_token": url(routes::G2P_TOKEN),
            "introspect": url(routes::INTROSPECT),
            "revoke": url(routes::REVOKE),
            "userinfo": url(routes::USERINFO),
            "echo": url(routes::SANDBOX_ECHO),
            "number_verification_verify": url(routes::NUMBER_VERIFICATION_VERIFY),
            "number_verification_device_phone_number": url(routes::NUMBER_VERIFICATION_DEVICE_PHONE_NUMBER),
            "number_verification_openapi": url(routes::NUMBER_VERIFICATION_OPENAPI),
            "sim_swap_check": url(routes::SIM_SWAP_CHECK),
            "sim_swap_retrieve_date": url(routes::SIM_SWAP_RETRIEVE_DATE),
            "sim_swap_openapi": url(routes::SIM_SWAP_OPENAPI),
            "admin": format!("{}{}", app.issuer, routes::ADMIN_BASE),
            "admin_openapi": url(routes::ADMIN_OPENAPI),
            "metrics": url(routes::METRICS),
        },
        "openapi": routes::OPENAPI_DOCUMENTS.iter().map(|e| url(*e)).collect::<Vec<_>>(),
        "clients": clients,
        "subscribers": subscribers,
    })
}

pub fn banner(doc: &Value) -> String {
    let mut s = String::new();
    let g = |p: &str| doc.pointer(p).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    s.push_str("\n  netauth sandbox\n\n");
    s.push_str(&format!("  issuer      {}\n", g("/issuer")));
    s.push_str(&format!("  discovery   {}\n", g("/endpoints/discovery")));
    s.push_str(&format!(
        "  authorize   {}   (seed 001: /oauth/v2/authorize, seed 003: /openidconnect/fr/v1/authorize)\n",
        g("/endpoints/authorize")
    ));
    s.push_str(&format!(
        "  token       {}   (seed 004: {})\n",
        g("/endpoints/token"),
        g("/endpoints/g2p_token")
    ));
    s.push_str(&format!(
        "  admin API   {}   (Authorization: Bearer {})\n",
        g("/endpoints/admin"),
        shorten(&g("/admin_token"))
    ));
    s.push_str(&tls::banner_lines(doc));
    s.push_str("\n  demo clients\n");
    if let Some(cs) = doc.get("clients").and_then(|c| c.as_array()) {
        for c in cs {
            let id = c["client_id"].as_str().unwrap_or("");
            let method = c["token_endpoint_auth_method"].as_str().unwrap_or("");
            let cred = c["client_secret"]
                .as_str()
                .map(|s| format!("secret {}", shorten(s)))
                .or_else(|| c["private_key_file"].as_str().map(|p| format!("key {p}")))
                .unwrap_or_default();
            s.push_str(&format!("    {id:<22} {method:<20} {cred}\n"));
        }
    }
    s.push_str(&format!(
        "\n  all of this, with the secrets in full, is in {}/sandbox.json (owner-only)\n\n",
        g("/data_dir")
    ));
    s
}

/// A secret as the banner shows it: enough to tell secrets apart, not to use
/// one. Terminals are scrolled back, shared and recorded, and stderr often
/// ends up in log collectors; `sandbox.json` (mode 0600) has the full values.
fn shorten(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 16 {
        return "…".into();
    }
    let head: String = chars.iter().take(6).collect();
    let tail: String = chars.iter().skip(chars.len() - 4).collect();
    format!("{head}…{tail}")
}

/// A demo subscriber: number, where its "phone" is, SIM history, policy.
struct DemoSubscriber {
    msisdn: &'static str,
    operator: &'static str,
    addresses: &'static [(&'static str, u16, u16)],
    /// Days ago each SIM was activated (oldest first).
    sims_days_ago: &'static [i64],
    policy: HandsetPolicy,
    status: SubscriberStatus,
}

const DEMO_SUBSCRIBERS: &[DemoSubscriber] = &[
    // Seed 000's subscriber: approves, so the seed's curls work as written.
    DemoSubscriber {
        msisdn: "+34655555555",
        operator: "demo-es",
        addresses: &[],
        sims_days_ago: &[900, 2],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    // The CAMARA profile's example number: asks on the handset.
    DemoSubscriber {
        msisdn: "+34666666666",
        operator: "demo-es",
        addresses: &[],
        sims_days_ago: &[700],
        policy: HandsetPolicy::Ask,
        status: SubscriberStatus::Active,
    },
    DemoSubscriber {
        msisdn: "+34677777777",
        operator: "demo-es",
        addresses: &[],
        sims_days_ago: &[400],
        policy: HandsetPolicy::AutoDeny,
        status: SubscriberStatus::Active,
    },
    // Seed 000's IPv4 examples, `ipport:80.90.34.2:16790` and
    // `ipport:80.90.34.2`: the whole address, so both name this subscriber.
    DemoSubscriber {
        msisdn: "+34611111111",
        operator: "demo-es",
        addresses: &[("80.90.34.2", 0, 65535)],
        sims_days_ago: &[300],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    // Behind CGNAT: 80.90.34.3, two port ranges, two subscribers; without
    // a port the address names nobody.
    DemoSubscriber {
        msisdn: "+34611111112",
        operator: "demo-es",
        addresses: &[("80.90.34.3", 16000, 16999)],
        sims_days_ago: &[300],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    DemoSubscriber {
        msisdn: "+34611111113",
        operator: "demo-es",
        addresses: &[("80.90.34.3", 17000, 17999)],
        sims_days_ago: &[300],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    // Seed 000's IPv6 examples, `ipport:[2001:db8::1]:8080` and
    // `ipport:[2001:db8::1]`.
    DemoSubscriber {
        msisdn: "+34622222222",
        operator: "demo-es",
        addresses: &[("2001:db8::1", 0, 65535)],
        sims_days_ago: &[100],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    DemoSubscriber {
        msisdn: "+4790000001",
        operator: "demo-no",
        addresses: &[],
        sims_days_ago: &[50],
        policy: HandsetPolicy::Ask,
        status: SubscriberStatus::Active,
    },
    // SIM Swap's cases (docs/camara-apis.md): swapped 30 days ago (inside
    // the default 90-day monitored period, outside check's default 240 h),
    // swapped 200 days ago (outside it: null + monitoredPeriod), a number
    // that never had a SIM, and a suspended line (SERVICE_NOT_APPLICABLE).
    DemoSubscriber {
        msisdn: "+34633333333",
        operator: "demo-es",
        addresses: &[],
        sims_days_ago: &[800, 30],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    DemoSubscriber {
        msisdn: "+34644444444",
        operator: "demo-es",
        addresses: &[],
        sims_days_ago: &[1000, 200],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    DemoSubscriber {
        msisdn: "+34688888888",
        operator: "demo-es",
        addresses: &[],
        sims_days_ago: &[],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Active,
    },
    DemoSubscriber {
        msisdn: "+34699999999",
        operator: "demo-es",
        addresses: &[],
        sims_days_ago: &[500],
        policy: HandsetPolicy::AutoApprove,
        status: SubscriberStatus::Suspended,
    },
];

/// Loopback "phones": tests bind to 127.10.0.N to be subscriber N.
const LOOPBACK_PHONES: u8 = 10;

fn loopback_msisdn(n: u8) -> String {
    format!("+346000000{n:02}")
}

/// Operators, subscribers and legal bases of the simulated network, loaded
/// once: a later start leaves what the developer changed alone.
pub async fn load_demo_network(app: &AppState) -> anyhow::Result<Vec<Value>> {
    let t = app.now();
    for (id, name, country, range) in
        [("demo-es", "Demo Telecom España", "ES", "+34"), ("demo-no", "Demo Telecom Norge", "NO", "+47")]
    {
        if app.store.get_operator(id).await?.is_none() {
            app.store
                .upsert_operator(&Operator {
                    id: id.into(),
                    name: name.into(),
                    country: country.into(),
                    number_ranges: vec![range.into()],
                })
                .await?;
        }
    }
    /// One phone of the simulated network, owned.
    struct Phone {
        msisdn: String,
        operator: &'static str,
        addresses: Vec<AddressAssignment>,
        sims_days_ago: Vec<i64>,
        policy: HandsetPolicy,
        status: SubscriberStatus,
    }
    let mut all: Vec<Phone> = DEMO_SUBSCRIBERS
        .iter()
        .map(|d| Phone {
            msisdn: d.msisdn.to_owned(),
            operator: d.operator,
            addresses: d
                .addresses
                .iter()
                .map(|(ip, a, b)| AddressAssignment { ip: (*ip).into(), port_start: *a, port_end: *b })
                .collect(),
            sims_days_ago: d.sims_days_ago.to_vec(),
            policy: d.policy,
            status: d.status,
        })
        .collect();
    for n in 1..=LOOPBACK_PHONES {
        all.push(Phone {
            msisdn: loopback_msisdn(n),
            operator: "demo-es",
            addresses: vec![AddressAssignment {
                ip: format!("127.10.0.{n}"),
                port_start: 0,
                port_end: u16::MAX,
            }],
            sims_days_ago: vec![200],
            policy: HandsetPolicy::AutoApprove,
            status: SubscriberStatus::Active,
        });
    }
    let mut described = Vec::new();
    for Phone { msisdn, operator, addresses, sims_days_ago: sims, policy, status } in all {
        if app.store.subscriber_by_msisdn(&msisdn).await?.is_none() {
            let sims = sims
                .iter()
                .enumerate()
                .map(|(i, d)| SimRecord {
                    sim_id: format!("8934{}{i:02}", &msisdn[3..]),
                    activated_at: t - d * 86400,
                })
                .collect();
            app.store
                .insert_subscriber(&Subscriber {
                    id: format!("sub_{}", netauth_domain::crypto::random_token::<12>()),
                    msisdn: msisdn.clone(),
                    operator_id: operator.into(),
                    status,
                    sims,
                    addresses: addresses.clone(),
                    handset_policy: policy,
                    created_at: t,
                })
                .await?;
        }
        described.push(json!({
            "phone_number": msisdn,
            "status": status,
            "addresses": addresses,
            "handset_policy": policy,
            "handset": format!("{}{}", app.issuer, routes::sandbox::for_msisdn(routes::sandbox::HANDSET_PAGE, &msisdn)),
        }));
    }
    if app.store.list_legal_bases().await?.is_empty() {
        use netauth_domain::consent::{ConsentCapture, LegalBasis};
        let rule = |scope: &str, purpose: &str, basis, capture| LegalBasisRule {
            scope: scope.into(),
            purpose: purpose.into(),
            basis,
            capture,
        };
        let fraud = "dpv:FraudPreventionAndDetection";
        let mut rules = Vec::new();
        for s in ["sim-swap", "sim-swap:check", "sim-swap:retrieve-date"] {
            rules.push(rule(s, fraud, LegalBasis::Consent, ConsentCapture::Handset));
            rules.push(rule(s, "dpv:IdentityVerification", LegalBasis::Contract, ConsentCapture::Handset));
        }
        for s in ["number-verification:verify", "number-verification:device-phone-number:read"] {
            rules.push(rule(s, fraud, LegalBasis::LegitimateInterest, ConsentCapture::Handset));
            rules.push(rule(s, "dpv:RequestedServiceProvision", LegalBasis::Consent, ConsentCapture::Refuse));
        }
        for r in &rules {
            app.store.upsert_legal_basis(r).await?;
        }
        app.legal_bases_changed().await?;
    }
    Ok(described)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #10 point 8: the banner on stderr never carries a usable secret.
    #[test]
    fn banner_shortens_secrets() {
        let admin = "Koxmy-B-4d1a9c0e7f2b5a8c3e6d9f1b4a7c0e3d5brjUmY";
        let secret = "FLTbmegm1c4f7a0d3e6b9c2f5a8d1e4b7c0f3DAy574";
        let doc = json!({
            "issuer": "http://127.0.0.1:8080",
            "data_dir": "/tmp/d",
            "admin_token": admin,
            "clients": [
                {"client_id": "demo-basic", "token_endpoint_auth_method": "client_secret_basic", "client_secret": secret},
                {"client_id": "demo-jwt", "token_endpoint_auth_method": "private_key_jwt", "private_key_file": "/tmp/d/keys/k.pem"},
            ],
        });
        let b = banner(&doc);
        assert!(!b.contains(admin) && !b.contains(secret), "{b}");
        assert!(b.contains("Bearer Koxmy-…jUmY") && b.contains("secret FLTbme…y574"), "{b}");
        assert!(b.contains("key /tmp/d/keys/k.pem") && b.contains("/tmp/d/sandbox.json"), "{b}");
    }
}
