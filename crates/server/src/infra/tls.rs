//! TLS termination in netauth itself (issue #13 point 4): the `[tls]`
//! section of the configuration, and the rustls server configuration built
//! from its PEM files. TLS 1.3 (RFC 8446) and 1.2 (RFC 5246) on aws-lc-rs;
//! ALPN (RFC 7301) offers `http/1.1` only, because the connection layer
//! (`infra::conn`) serves HTTP/1.1 only: offering `h2` would have clients
//! speak a protocol nobody answers.
//!
//! The files are read at start-up, where any problem stops the server with
//! a message naming the key, and again on SIGHUP (`app::serve`): a reload
//! that fails is logged and the certificate in use stays, so a rotation
//! botched on disk never takes a running node down. New connections get
//! the new certificate; open ones keep theirs.

use anyhow::Context;
use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// `[tls]`: serve HTTPS from these files instead of plain HTTP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM file with the server certificate first, then any intermediates
    /// (not the root). Empty (with `key_file`): plain HTTP, for a proxy that
    /// terminates TLS in front of netauth.
    pub cert_file: String,
    /// PEM file with the certificate's private key (PKCS#8, SEC1 or PKCS#1).
    pub key_file: String,
    /// A connection's TLS handshake must complete within this time of its
    /// being accepted, or the connection is closed (it holds a connection
    /// slot until then).
    pub handshake_timeout_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self { cert_file: String::new(), key_file: String::new(), handshake_timeout_secs: 10 }
    }
}

impl TlsConfig {
    /// Whether netauth terminates TLS itself.
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }

    /// The key and the reason, for the first value out of range.
    pub(crate) fn check(&self) -> Result<(), (&'static str, &'static str)> {
        match (self.cert_file.is_empty(), self.key_file.is_empty()) {
            (false, true) => return Err(("tls.key_file", "is required when tls.cert_file is set")),
            (true, false) => return Err(("tls.cert_file", "is required when tls.key_file is set")),
            _ => {}
        }
        if self.handshake_timeout_secs == 0 {
            return Err(("tls.handshake_timeout_secs", "must be positive"));
        }
        Ok(())
    }
}

/// The certificate netauth presents, reloadable while it runs.
pub struct Tls {
    current: ArcSwap<rustls::ServerConfig>,
    cert_file: PathBuf,
    key_file: PathBuf,
    pub handshake_timeout: Duration,
}

impl Tls {
    /// Reads the configured files; the error says which key and what is wrong.
    pub fn load(c: &TlsConfig) -> anyhow::Result<Self> {
        let (cert_file, key_file) = (PathBuf::from(&c.cert_file), PathBuf::from(&c.key_file));
        let config = server_config(&cert_file, &key_file)?;
        Ok(Self {
            current: ArcSwap::from_pointee(config),
            cert_file,
            key_file,
            handshake_timeout: Duration::from_secs(c.handshake_timeout_secs),
        })
    }

    /// Reads the files again; on any error the certificate in use stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = server_config(&self.cert_file, &self.key_file)?;
        self.current.store(Arc::new(config));
        Ok(())
    }

    /// An acceptor with the certificate current now.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.current.load_full())
    }
}

/// A rustls server configuration from a PEM chain and its private key.
pub fn server_config(cert_file: &Path, key_file: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let read = |key: &str, p: &Path| {
        std::fs::read(p).with_context(|| format!("configuration key `{key}`: cannot read {}", p.display()))
    };
    let cert_pem = read("tls.cert_file", cert_file)?;
    let key_pem = read("tls.key_file", key_file)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("configuration key `tls.cert_file`: {}: {e}", cert_file.display()))?;
    if chain.is_empty() {
        anyhow::bail!(
            "configuration key `tls.cert_file`: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        anyhow::anyhow!(
            "configuration key `tls.key_file`: {} holds no usable PEM private key (PKCS#8, SEC1 or PKCS#1): {e}",
            key_file.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => anyhow::anyhow!(
                "configuration key `tls.key_file`: the private key in {} does not match the certificate in {} \
                 (the first certificate in tls.cert_file must be the server's own)",
                key_file.display(),
                cert_file.display()
            ),
            e => anyhow::anyhow!(
                "configuration keys `tls.cert_file`/`tls.key_file` ({}, {}): {e}",
                cert_file.display(),
                key_file.display()
            ),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
