//! Configuration: a TOML file (`netauth serve --config FILE`), overridden by
//! environment variables `NETAUTH__<SECTION>__<KEY>` (for example
//! `NETAUTH__SERVER__LISTEN=0.0.0.0:8080`). Unknown keys and invalid values stop
//! start-up with a message naming the key. `netauth.example.toml` at the
//! repository root lists every key with its default; a test keeps the two in
//! step.

pub use super::authorize_config::AuthorizeConfig;
pub use super::secret_strength::{ADMIN_TOKEN_MIN_BITS, estimated_entropy_bits};
pub use super::tls::TlsConfig;
use netauth_domain::secret::Secret;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub keys: KeysConfig,
    pub tokens: TokensConfig,
    pub client_auth: ClientAuthConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
    /// Not read from the file or the environment (see [`SandboxConfig`]).
    #[serde(skip)]
    pub sandbox: SandboxConfig,
    pub sync: SyncConfig,
    pub ciba: CibaConfig,
    pub camara: CamaraConfig,
    pub authorize: AuthorizeConfig,
    pub tls: TlsConfig,
}

/// The CAMARA resource APIs: what the operator discloses, and how much one
/// client may call them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CamaraConfig {
    /// How many days back SIM changes may be disclosed (SIM Swap's monitored
    /// period, set by local regulation); 0 for no limit. Older dates are
    /// answered `null` with `monitoredPeriod`, a longer `maxAge` is `OUT_OF_RANGE`.
    pub sim_swap_monitored_days: u32,
    /// Resource-API calls one client may make per second, per node; 0 for no
    /// limit. Past it: 429 `TOO_MANY_REQUESTS` with `Retry-After`.
    pub rate_limit_per_sec: u32,
    /// Calls a client may make at once above its rate.
    pub rate_limit_burst: u32,
    /// Resource-API calls one client may make per `quota_window_secs`, per
    /// node (a business quota); 0 for none. Past it: 429 `QUOTA_EXCEEDED`
    /// with `Retry-After` until the window ends.
    pub quota_per_client: u64,
    pub quota_window_secs: u64,
}

impl Default for CamaraConfig {
    fn default() -> Self {
        Self {
            sim_swap_monitored_days: 90,
            rate_limit_per_sec: 0,
            rate_limit_burst: 0,
            quota_per_client: 0,
            quota_window_secs: 86400,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CibaConfig {
    /// Lifetime of an `auth_req_id` (the `expires_in` of `/bc-authorize`).
    pub auth_req_ttl_secs: i64,
    /// Minimum polling interval given to clients (`interval`).
    pub interval_secs: i64,
    /// Pending handset prompts one subscriber may have at once; past that,
    /// new requests for them are refused.
    pub max_pending_prompts: u32,
    /// Of those, how many one client may have for one subscriber, so that
    /// one client cannot take the whole quota from the others.
    pub max_pending_prompts_per_client: u32,
    /// Ping/push notification attempts before giving up (with backoff).
    pub notification_attempts: u32,
    pub notification_timeout_secs: u64,
}

impl CibaConfig {
    pub fn prompt_bounds(&self) -> netauth_domain::ciba::PromptBounds {
        netauth_domain::ciba::PromptBounds {
            per_subscriber: self.max_pending_prompts,
            per_client: self.max_pending_prompts_per_client,
        }
    }
}

impl Default for CibaConfig {
    fn default() -> Self {
        Self {
            auth_req_ttl_secs: 120,
            interval_secs: 2,
            max_pending_prompts: 5,
            max_pending_prompts_per_client: 2,
            notification_attempts: 4,
            notification_timeout_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Public base URL; derived from `listen` (`http://<listen>`, or
    /// `https://<listen>` with `[tls]`) when empty.
    pub issuer: String,
    /// Proxies whose `X-Forwarded-For` is believed (exact addresses).
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest request body accepted, in bytes.
    pub request_body_limit: usize,
    /// A request taking longer is answered 408 and abandoned.
    pub request_timeout_secs: u64,
    /// How long in-flight requests get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// A request head must arrive complete within this time of the server
    /// waiting for it (on a new connection or after a response, so it is
    /// also the keep-alive idle limit).
    pub header_read_timeout_secs: u64,
    /// A connection on which nothing moves either way for this long is
    /// closed (stalled bodies, clients that stop reading).
    pub idle_timeout_secs: u64,
    /// Open connections at most; at the cap new ones wait to be accepted.
    /// Keep it under the process's file-descriptor limit.
    pub max_connections: usize,
    /// Open connections at most from one address (an IPv6 /64); past that
    /// new ones are closed at once. Trusted proxies are exempt.
    pub max_connections_per_address: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: String::new(),
            trusted_proxies: Vec::new(),
            request_body_limit: 64 * 1024,
            request_timeout_secs: 15,
            shutdown_grace_secs: 10,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: 1024,
            max_connections_per_address: 128,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite:PATH` (embedded) or `postgres://user:pass@host/db`.
    pub url: String,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: "sqlite:netauth-data/netauth.db".into(), max_connections: 16 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// 32 bytes, base64: encrypts every private key in the database.
    /// Required by `serve`; the sandbox keeps one in its data directory.
    pub master_key: Secret,
    /// Alternatively, a file holding the master key.
    pub master_key_file: String,
    /// After `keys rotate`, how long new keys are published before they sign.
    /// Must exceed `reload_interval_secs` so every node knows a key before any
    /// node uses it.
    pub rotation_delay_secs: i64,
    /// How often each node re-reads the key table.
    pub reload_interval_secs: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            master_key: Secret::default(),
            master_key_file: String::new(),
            rotation_delay_secs: 3600,
            reload_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// Access-token lifetime when the client sets none.
    pub access_token_ttl_secs: i64,
    /// Upper bound for any client's access-token lifetime.
    pub max_access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    /// Refresh-token lifetime when the client sets none.
    pub refresh_token_ttl_secs: i64,
    /// A rotated refresh token used again within this many seconds (parallel
    /// refreshes) still works; later reuse revokes the whole family.
    pub refresh_reuse_grace_secs: i64,
    /// How many of its access tokens one client may have revoked (RFC 7009)
    /// and not yet expired. Each is held in memory on every node until the
    /// token's expiry (about 0.5 KiB); past the bound `/revoke` answers 503
    /// with `Retry-After`, and the token stays valid until it expires.
    pub max_live_revocations_per_client: u32,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            max_access_token_ttl_secs: 86400,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 86400,
            refresh_reuse_grace_secs: 0,
            max_live_revocations_per_client: 10_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientAuthConfig {
    /// Clock difference tolerated on client assertions.
    pub clock_skew_secs: i64,
    /// Failed authentications allowed per minute (per node) for one client
    /// id from one source address. Never per client id alone: that budget
    /// could be spent by anyone who knows the id, locking the client out.
    pub max_failures_per_client_address: u32,
    /// Failed authentications allowed per source address (an IPv6 /64)
    /// per minute (per node), whatever client ids they name.
    pub max_failures_per_address: u32,
    /// A client's `jwks_uri` is re-fetched on an unknown `kid` at most this often.
    pub jwks_refresh_min_secs: u64,
    /// A fetched `jwks_uri` is trusted for this long.
    pub jwks_cache_secs: u64,
    pub jwks_fetch_timeout_secs: u64,
    /// How long a node trusts its cached copy of a client's registration.
    /// Suspensions and deletions reach every node through the revocation log
    /// at once; other edits within this time.
    pub client_cache_secs: u64,
}

impl Default for ClientAuthConfig {
    fn default() -> Self {
        Self {
            clock_skew_secs: 30,
            max_failures_per_client_address: 20,
            max_failures_per_address: 60,
            jwks_refresh_min_secs: 60,
            jwks_cache_secs: 3600,
            jwks_fetch_timeout_secs: 5,
            client_cache_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Bearer token for `/admin/v1`; the admin API is off when empty. At
    /// least 256 bits of entropy (`openssl rand -base64 32`).
    pub token: Secret,
    /// Wrong admin tokens allowed per source address (an IPv6 /64) per
    /// minute (per node); past that, 429 whatever the address presents.
    pub max_failures_per_address: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { token: Secret::default(), max_failures_per_address: 10 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter: `info`, `netauth=debug,sqlx=warn`, …
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, level: "info".into() }
    }
}

/// Sandbox mode: the simulated network, demo data and the `/sandbox/…`
/// routes, which hand out operator tokens for any number and approve
/// prompts without authentication. It is a mode of the binary, set only by
/// `netauth sandbox`, never a setting: `netauth serve` refuses a
/// configuration that tries to switch it on (see [`refuse_sandbox_setting`]).
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// How often a node reads new revocations from the database.
    pub revocation_interval_ms: u64,
    /// How often expired rows are deleted.
    pub janitor_interval_secs: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self { revocation_interval_ms: 1000, janitor_interval_secs: 60 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

const ENV_PREFIX: &str = "NETAUTH__";

impl Config {
    /// Reads `path` (if any), applies `NETAUTH__…` variables from `env`, and
    /// validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (mut table, origin) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|source| ConfigError::Read { path: p.display().to_string(), source })?;
                let t: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
                (t, p.display().to_string())
            }
            None => (toml::Table::new(), "defaults".to_owned()),
        };
        apply_env(&mut table, env)?;
        refuse_sandbox_setting(&mut table)?;
        let cfg: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Invalid { key, message: format!("{} (from {origin} or the environment)", e.inner()) }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad =
            |key: &str, message: &str| Err(ConfigError::Invalid { key: key.into(), message: message.into() });
        if !self.server.issuer.is_empty() {
            let i = &self.server.issuer;
            if !(i.starts_with("https://") || i.starts_with("http://"))
                || i.ends_with('/')
                || i.contains(['?', '#'])
            {
                return bad(
                    "server.issuer",
                    "must be an http(s) URL without query, fragment or trailing slash",
                );
            }
        }
        if self.server.request_body_limit < 1024 {
            return bad("server.request_body_limit", "must be at least 1024 bytes");
        }
        if self.server.request_timeout_secs == 0 {
            return bad("server.request_timeout_secs", "must be positive");
        }
        if self.server.header_read_timeout_secs == 0 {
            return bad("server.header_read_timeout_secs", "must be positive");
        }
        if self.server.idle_timeout_secs <= self.server.request_timeout_secs {
            return bad("server.idle_timeout_secs", "must exceed server.request_timeout_secs");
        }
        if self.ciba.max_pending_prompts_per_client > self.ciba.max_pending_prompts {
            return bad("ciba.max_pending_prompts_per_client", "must not exceed ciba.max_pending_prompts");
        }
        if self.tokens.max_live_revocations_per_client == 0 {
            return bad("tokens.max_live_revocations_per_client", "must be positive");
        }
        if self.server.max_connections == 0 || self.server.max_connections_per_address == 0 {
            return bad(
                "server.max_connections",
                "max_connections and max_connections_per_address must be positive",
            );
        }
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return bad("database.url", "must start with sqlite: or postgres://");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be positive");
        }
        if self.keys.rotation_delay_secs < 0 {
            return bad("keys.rotation_delay_secs", "must not be negative");
        }
        if self.keys.reload_interval_secs == 0 {
            return bad("keys.reload_interval_secs", "must be positive");
        }
        // Every node must have read a new key before any node uses it.
        if (self.keys.rotation_delay_secs as u64) < self.keys.reload_interval_secs {
            return bad("keys.rotation_delay_secs", "must be at least keys.reload_interval_secs");
        }
        for (k, v) in [
            ("tokens.access_token_ttl_secs", self.tokens.access_token_ttl_secs),
            ("tokens.max_access_token_ttl_secs", self.tokens.max_access_token_ttl_secs),
            ("tokens.id_token_ttl_secs", self.tokens.id_token_ttl_secs),
        ] {
            if v <= 0 {
                return bad(k, "must be positive");
            }
        }
        if self.tokens.access_token_ttl_secs > self.tokens.max_access_token_ttl_secs {
            return bad("tokens.access_token_ttl_secs", "exceeds tokens.max_access_token_ttl_secs");
        }
        if self.client_auth.clock_skew_secs < 0 || self.client_auth.clock_skew_secs > 300 {
            return bad("client_auth.clock_skew_secs", "must be between 0 and 300");
        }
        if self.ciba.auth_req_ttl_secs <= 0 || self.ciba.interval_secs <= 0 {
            return bad("ciba", "auth_req_ttl_secs and interval_secs must be positive");
        }
        if self.tokens.refresh_token_ttl_secs <= 0 || self.tokens.refresh_reuse_grace_secs < 0 {
            return bad("tokens.refresh_token_ttl_secs", "must be positive (and the grace not negative)");
        }
        if let Err((key, message)) = self.authorize.check() {
            return bad(key, message);
        }
        if let Err((key, message)) = self.tls.check() {
            return bad(key, message);
        }
        if self.tls.enabled() && self.server.issuer.starts_with("http://") {
            return bad("server.issuer", "must be https:// when netauth terminates TLS ([tls] cert_file)");
        }
        if self.sync.revocation_interval_ms == 0 || self.sync.janitor_interval_secs == 0 {
            return bad("sync", "intervals must be positive");
        }
        if !self.admin.token.is_empty()
            && estimated_entropy_bits(self.admin.token.expose()) < ADMIN_TOKEN_MIN_BITS
        {
            return bad(
                "admin.token",
                "must carry at least 256 bits of entropy (for example `openssl rand -base64 32`), \
                 or be empty to turn the admin API off",
            );
        }
        if self.admin.max_failures_per_address == 0 {
            return bad("admin.max_failures_per_address", "must be positive");
        }
        if self.camara.quota_window_secs == 0 {
            return bad("camara.quota_window_secs", "must be positive");
        }
        if self.log.level.trim().is_empty() {
            return bad("log.level", "must not be empty");
        }
        Ok(())
    }

    /// The issuer URL: configured, or `http://<listen>` (`https://` when
    /// netauth terminates TLS).
    pub fn issuer(&self) -> String {
        if self.server.issuer.is_empty() {
            let scheme = if self.tls.enabled() { "https" } else { "http" };
            format!("{scheme}://{}", self.server.listen)
        } else {
            self.server.issuer.clone()
        }
    }
}

/// Only `netauth sandbox` mounts the sandbox's unauthenticated routes,
/// whatever a file or the environment says (issue #10): `sandbox.enabled =
/// false`, which older configuration files carry, is accepted and ignored;
/// anything else under `[sandbox]` stops start-up.
fn refuse_sandbox_setting(table: &mut toml::Table) -> Result<(), ConfigError> {
    let Some(section) = table.remove("sandbox") else { return Ok(()) };
    let off = section
        .as_table()
        .is_some_and(|t| t.iter().all(|(k, v)| k == "enabled" && v.as_bool() == Some(false)));
    if off {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        key: "sandbox.enabled".into(),
        message: "the sandbox cannot be switched on by configuration: its routes (operator tokens for any \
                  number, prompt approval, handset policies) are unauthenticated, so only `netauth sandbox` \
                  mounts them and `netauth serve` never does"
            .into(),
    })
}

/// Overlays `NETAUTH__SECTION__KEY=value` on the table. A value that parses
/// as a TOML value (number, boolean, array, quoted string) is taken as that;
/// anything else is a plain string.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else { continue };
        let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        let [section_name, key] = parts.as_slice() else {
            return Err(ConfigError::Invalid {
                key: name.clone(),
                message: "environment overrides are NETAUTH__<SECTION>__<KEY>".into(),
            });
        };
        if section_name.is_empty() || key.is_empty() {
            return Err(ConfigError::Invalid {
                key: name.clone(),
                message: "environment overrides are NETAUTH__<SECTION>__<KEY>".into(),
            });
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        let section =
            table.entry(section_name.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section) = section else {
            return Err(ConfigError::Invalid {
                key: section_name.clone(),
                message: "must be a table".into(),
            });
        };
        section.insert(key.clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
