//! The `[authorize]` section of the configuration (see `config`): the
//! authorization-code flow, its pages and the code grant.

use serde::{Deserialize, Serialize};

/// The authorization-code flow (`/authorize`, its pages, the code grant).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizeConfig {
    /// Lifetime of an authorization code; at most 600 (seed 003's "about
    /// 10 minutes"), and short because a code is a bearer credential.
    pub code_ttl_secs: i64,
    /// How long a browser stays signed in (its login session).
    pub session_ttl_secs: i64,
    /// How long a person has to get through the login and consent pages.
    pub request_ttl_secs: i64,
    /// Lifetime of a handset login prompt or one-time code.
    pub handset_ttl_secs: i64,
    /// Wrong one-time codes allowed before the login starts again.
    pub otp_max_attempts: u32,
    /// The purpose consents are recorded under when a request declares no
    /// `dpv:` purpose (seeds 001 and 003 never do).
    pub default_purpose: String,
    /// A header carrying the subscriber's number (operator header
    /// enrichment), believed only from `server.trusted_proxies`; empty: off.
    pub msisdn_header: String,
    /// Seed 001's plain-HTTP entry (`http://host[:port]`, empty: none): the
    /// address, reached through the operator's header-enriching proxy, that
    /// an application's plain-HTTP page sends the browser to. A request
    /// whose `Host` is this entry's is never shown a page there: the line is
    /// recognised, and the browser is handed over to the `https` issuer
    /// with a one-time secret.
    pub entry_url: String,
}

impl Default for AuthorizeConfig {
    fn default() -> Self {
        Self {
            code_ttl_secs: 60,
            session_ttl_secs: 8 * 3600,
            request_ttl_secs: 600,
            handset_ttl_secs: 300,
            otp_max_attempts: 3,
            default_purpose: "dpv:RequestedServiceProvision".into(),
            msisdn_header: String::new(),
            entry_url: String::new(),
        }
    }
}

impl AuthorizeConfig {
    /// The key and the reason, for the first value out of range.
    pub(crate) fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if !(1..=netauth_domain::authorize::MAX_CODE_TTL).contains(&self.code_ttl_secs) {
            return Err(("authorize.code_ttl_secs", "must be between 1 and 600"));
        }
        if self.session_ttl_secs <= 0 || self.request_ttl_secs <= 0 || self.handset_ttl_secs <= 0 {
            return Err((
                "authorize",
                "session_ttl_secs, request_ttl_secs and handset_ttl_secs must be positive",
            ));
        }
        if self.otp_max_attempts == 0 || self.otp_max_attempts > 10 {
            return Err(("authorize.otp_max_attempts", "must be between 1 and 10"));
        }
        if netauth_proto::Purpose::parse(&self.default_purpose).is_err() {
            return Err(("authorize.default_purpose", "must be dpv:<Purpose>"));
        }
        if !self.msisdn_header.is_empty()
            && axum::http::HeaderName::try_from(self.msisdn_header.as_str()).is_err()
        {
            return Err(("authorize.msisdn_header", "must be a valid header name"));
        }
        if !self.entry_url.is_empty() && self.entry_host().is_none() {
            return Err(("authorize.entry_url", "must be http://host or http://host:port, without a path"));
        }
        Ok(())
    }

    /// The `Host` value of `entry_url`, when it is a well-formed
    /// `http://host[:port]`.
    pub fn entry_host(&self) -> Option<&str> {
        let host = self.entry_url.strip_prefix("http://")?;
        let ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        ok.then_some(host)
    }
}
