//! `netauth sandbox --tls` (issue #13 point 4): HTTPS on loopback, so an
//! SDK that hard-codes `https://` works against the sandbox. A local
//! certificate authority is generated into `<data dir>/tls/` on first start
//! and reused afterwards, so a developer trusts it once
//! (`REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS`); it issues the server
//! certificate (RFC 5280 profile: `subjectAltName` for `localhost`,
//! `127.0.0.1`, `::1` and the configured names, `serverAuth`), which is
//! issued again whenever it is missing, near expiry, issued by another CA,
//! or for other names. The sandbox then serves it through `[tls]` like
//! `netauth serve` would (`infra::tls`).
//!
//! The CA is a development CA: its key sits in the data directory (0600,
//! the directory 0700). It is meant to be trusted per process, never added
//! to a system trust store, and it may sign only end-entity certificates
//! (path length 0).

use super::write_private;
use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How long the CA is valid: long, since renewing it means trusting anew.
const CA_DAYS: i64 = 3650;
/// How long a server certificate is valid (it is reissued freely).
const SERVER_DAYS: i64 = 365;
/// A server certificate this close to expiry is issued again.
const RENEW_DAYS: i64 = 30;

/// Where the sandbox's TLS files are, and what the certificate names.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxTls {
    /// The CA certificate to trust (PEM).
    pub ca_file: PathBuf,
    /// The server certificate (PEM) and its key, served through `[tls]`.
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The certificate's subject alternative names.
    pub names: Vec<String>,
    /// Whether this start created the CA (it was not trusted before).
    #[serde(skip)]
    pub new_ca: bool,
}

/// What was issued, beside the certificates (so that no X.509 parser is
/// needed to decide whether to reissue).
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    ca_not_after: i64,
    server_names: Vec<String>,
    server_not_after: i64,
    /// SHA-256 of the `ca.pem` that issued the server certificate.
    server_ca: String,
}

/// The names the server certificate carries: loopback, then `extra` (the
/// issuer's host, `--tls-name`), without duplicates, in a stable order.
pub fn names(extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    for n in extra {
        let n = n.trim().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// The host of an issuer URL (`https://host[:port]`), when it has one.
pub fn issuer_host(issuer: &str) -> Option<String> {
    let u = url::Url::parse(issuer).ok()?;
    Some(match u.host()? {
        url::Host::Domain(d) => d.to_owned(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    })
}

/// Loads or creates the CA and the server certificate for `names` under
/// `<data_dir>/tls/`; `now` in Unix seconds.
pub fn prepare(data_dir: &Path, names: Vec<String>, now: i64) -> anyhow::Result<SandboxTls> {
    let dir = data_dir.join("tls");
    super::create_private_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (ca_file, ca_key_file) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert_file, key_file, state_file) =
        (dir.join("server.pem"), dir.join("server.key"), dir.join("state.json"));
    let mut state: State = std::fs::read_to_string(&state_file)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();

    // The CA: reused while both files are there, its key parses and it has
    // not expired (an unknown expiry, from an older state file, is trusted:
    // replacing a CA the developer already trusts costs more).
    let existing = match (std::fs::read_to_string(&ca_file), std::fs::read_to_string(&ca_key_file)) {
        (Ok(pem), Ok(key)) if state.ca_not_after == 0 || state.ca_not_after > now + 86400 => {
            KeyPair::from_pem(&key).ok().map(|k| (pem, k))
        }
        _ => None,
    };
    let new_ca = existing.is_none();
    let (ca_pem, ca_key) = match existing {
        Some(ca) => ca,
        None => {
            let key = KeyPair::generate().context("generating the sandbox CA key")?;
            let mut params = ca_params(&key);
            params.not_before = at(now - 86400)?;
            params.not_after = at(now + CA_DAYS * 86400)?;
            params.serial_number = Some(random_serial()?);
            let cert = params.self_signed(&key).context("signing the sandbox CA certificate")?;
            write_private(&ca_key_file, &key.serialize_pem())?;
            write_private(&ca_file, &cert.pem())?;
            state.ca_not_after = now + CA_DAYS * 86400;
            (cert.pem(), key)
        }
    };
    let ca_digest = netauth_domain::crypto::b64url(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, ca_pem.as_bytes()).as_ref(),
    );

    let current = !new_ca
        && cert_file.exists()
        && key_file.exists()
        && state.server_names == names
        && state.server_ca == ca_digest
        && state.server_not_after > now + RENEW_DAYS * 86400;
    if !current {
        let issuer = Issuer::new(ca_params(&ca_key), &ca_key);
        let key = KeyPair::generate().context("generating the sandbox server key")?;
        let mut params = CertificateParams::new(names.clone()).context("the certificate's names")?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "netauth sandbox");
        params.distinguished_name = dn;
        params.not_before = at(now - 3600)?;
        params.not_after = at(now + SERVER_DAYS * 86400)?;
        params.serial_number = Some(random_serial()?);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &issuer).context("signing the sandbox server certificate")?;
        write_private(&key_file, &key.serialize_pem())?;
        write_private(&cert_file, &cert.pem())?;
        state.server_names = names.clone();
        state.server_not_after = now + SERVER_DAYS * 86400;
        state.server_ca = ca_digest;
    }
    write_private(&state_file, &serde_json::to_string_pretty(&state)?)?;
    Ok(SandboxTls { ca_file, cert_file, key_file, names, new_ca })
}

/// The CA's parameters, derived from its key alone, so that the issuer of a
/// later start (subject name, key identifier) matches the stored `ca.pem`.
fn ca_params(key: &KeyPair) -> CertificateParams {
    let mut params = CertificateParams::default();
    let id = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.public_key_raw());
    let short: String = id.as_ref().iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "netauth sandbox (local development only)");
    dn.push(DnType::CommonName, format!("netauth sandbox CA {short}"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn at(unix: i64) -> anyhow::Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(unix).context("certificate validity out of range")
}

/// 16 random bytes, positive (RFC 5280 §4.1.2.2: unique per issuer).
fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| anyhow::anyhow!("no randomness for a serial number"))?;
    b[0] &= 0x7f;
    b[0] |= 0x01;
    Ok(SerialNumber::from_slice(&b))
}

/// The banner's TLS lines: what a developer exports to trust the sandbox.
pub fn banner_lines(doc: &serde_json::Value) -> String {
    let Some(ca) = doc.pointer("/tls/ca_file").and_then(|v| v.as_str()) else { return String::new() };
    let mut s = format!("  TLS CA      {ca}   (trust it per process, not system-wide)\n");
    s.push_str(&format!("              export REQUESTS_CA_BUNDLE={ca}\n"));
    s.push_str(&format!("              export NODE_EXTRA_CA_CERTS={ca}\n"));
    s.push_str(&format!("              curl --cacert {ca} …\n"));
    if let Some(plain) = doc.pointer("/tls/plain_http").and_then(|v| v.as_str()) {
        s.push_str(&format!("  plain HTTP  {plain}   (also served, for authorize.entry_url)\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("netauth-tls-{}", netauth_domain::crypto::random_token::<8>()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    #[test]
    fn names_start_with_loopback_and_drop_duplicates() {
        let extra = ["127.0.0.1", "[::1]", "Sandbox.Test", "sandbox.test", " "].map(String::from);
        assert_eq!(names(&extra), ["localhost", "127.0.0.1", "::1", "sandbox.test"]);
        assert_eq!(issuer_host("https://auth.example:8443").as_deref(), Some("auth.example"));
        assert_eq!(issuer_host("https://[::1]:8443").as_deref(), Some("::1"));
        assert_eq!(issuer_host(""), None);
    }

    /// The server certificate is reissued near its expiry by the same CA;
    /// an expired CA is replaced (and says so).
    #[test]
    fn reissued_near_expiry_and_a_new_ca_once_it_expires() {
        let d = dir();
        let now = 1_800_000_000;
        let first = prepare(&d, names(&[]), now).unwrap();
        assert!(first.new_ca);
        let (ca, cert) = (read(&first.ca_file), read(&first.cert_file));
        let again = prepare(&d, names(&[]), now + 86400).unwrap();
        assert!(!again.new_ca);
        assert_eq!((read(&again.ca_file), read(&again.cert_file)), (ca.clone(), cert.clone()));
        let renewal = now + (SERVER_DAYS - RENEW_DAYS + 1) * 86400;
        let renewed = prepare(&d, names(&[]), renewal).unwrap();
        assert!(!renewed.new_ca);
        assert_eq!(read(&renewed.ca_file), ca);
        let renewed_cert = read(&renewed.cert_file);
        assert_ne!(renewed_cert, cert);
        let expired = prepare(&d, names(&[]), now + CA_DAYS * 86400).unwrap();
        assert!(expired.new_ca);
        assert_ne!(read(&expired.ca_file), ca);
        // A certificate from the new CA, not the old one's.
        assert_ne!(read(&expired.cert_file), renewed_cert);
        let _ = std::fs::remove_dir_all(&d);
    }
}
