//! The command line's grammar: every subcommand, flag and argument (clap).

use crate::infra::config::LogFormat;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "netauth",
    version,
    about = "Authorization server for telecom network APIs (OAuth 2.0, OIDC, CIBA, CAMARA)"
)]
pub struct Cli {
    /// Log format: text or json (overrides log.format).
    #[arg(long, global = true, value_parser = parse_log_format)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("expected text or json".into()),
    }
}

// Parsed once per process: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the sandbox: embedded SQLite, demo data, no configuration needed.
    Sandbox(SandboxArgs),
    /// Start in production mode from a configuration file.
    Serve {
        /// Configuration file (see netauth.example.toml).
        #[arg(long, env = "NETAUTH_CONFIG")]
        config: PathBuf,
    },
    /// Apply database migrations and exit.
    Migrate(Target),
    /// Signing and sealing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Registered clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Mobile operators of the network netauth serves.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// Subscribers: numbers, SIMs, addresses.
    Subscriber {
        #[command(subcommand)]
        command: SubscriberCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add or replace an operator.
    ///
    /// Example: netauth operator add --id demo-es --name "Demo Telecom España" --country ES --range +34
    Add {
        #[command(flatten)]
        target: Target,
        /// Operator id: 1 to 64 characters of A-Z a-z 0-9 - _ . (e.g. demo-es).
        #[arg(long)]
        id: String,
        /// Display name (e.g. "Demo Telecom España").
        #[arg(long)]
        name: String,
        /// ISO 3166-1 alpha-2, e.g. ES.
        #[arg(long)]
        country: String,
        /// E.164 prefix of its numbers (repeatable), e.g. +34.
        #[arg(long = "range")]
        ranges: Vec<String>,
    },
    /// List operators.
    List {
        #[command(flatten)]
        target: Target,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum SubscriberCommand {
    /// Register a subscriber.
    ///
    /// Example: netauth subscriber add --phone-number +34699000001 --operator demo-es --address 203.0.113.7,20000-20999 --policy auto_approve
    Add {
        #[command(flatten)]
        target: Target,
        /// The number in E.164 form with its + (e.g. +34699000001).
        #[arg(long)]
        phone_number: String,
        /// Id of the subscriber's operator (e.g. demo-es; see `netauth operator list`).
        #[arg(long)]
        operator: String,
        /// An address the device holds: IP, or IP,FIRST_PORT-LAST_PORT under CGNAT (repeatable).
        #[arg(long = "address")]
        addresses: Vec<String>,
        /// When the current SIM was activated, in days ago.
        #[arg(long, default_value_t = 365)]
        sim_age_days: i64,
        /// ask, auto_approve or auto_deny (sandbox handset).
        #[arg(long, default_value = "ask")]
        policy: String,
    },
    /// List subscribers by number.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Show one subscriber. Example: netauth subscriber show +34655555555
    Show {
        #[command(flatten)]
        target: Target,
        /// The number in E.164 form with its + (e.g. +34655555555).
        phone_number: String,
    },
    /// Delete a subscriber. Example: netauth subscriber delete +34699000001
    Delete {
        #[command(flatten)]
        target: Target,
        /// The number in E.164 form with its + (e.g. +34699000001).
        phone_number: String,
    },
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, env = "NETAUTH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Where the database, master key, demo keys and sandbox.json live.
    #[arg(long, env = "NETAUTH_DATA_DIR", default_value = "netauth-data")]
    pub data_dir: PathBuf,
    /// Use this database instead of the embedded SQLite file.
    #[arg(long, env = "NETAUTH_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Serve HTTPS, with a certificate from a local CA kept in <data dir>/tls/
    /// (its path is in sandbox.json and the banner).
    #[arg(long, env = "NETAUTH_SANDBOX_TLS")]
    pub tls: bool,
    /// Another name the HTTPS certificate carries, besides localhost,
    /// 127.0.0.1, ::1 and the issuer's host (repeatable), e.g. --tls-name sandbox.test.
    #[arg(long = "tls-name", requires = "tls")]
    pub tls_names: Vec<String>,
    /// With --tls, also serve plain HTTP on this address (e.g. for seed 001's
    /// plain-HTTP entry, authorize.entry_url); every advertised URL stays https.
    #[arg(long, requires = "tls")]
    pub http_listen: Option<std::net::SocketAddr>,
}

/// Which installation a management command acts on: a configuration file,
/// or by default the sandbox's data directory.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// Configuration file of a production installation.
    #[arg(long, env = "NETAUTH_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The sandbox data directory (when no --config is given).
    #[arg(long, env = "NETAUTH_DATA_DIR", default_value = "netauth-data", global = true)]
    pub data_dir: PathBuf,
    /// Database URL, overriding the configuration.
    #[arg(long, env = "NETAUTH_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Publish new keys now; sign with them after the delay.
    Rotate {
        #[command(flatten)]
        target: Target,
        /// Seconds before the new keys sign (default: keys.rotation_delay_secs), e.g. --delay 3600.
        #[arg(long)]
        delay: Option<i64>,
    },
    /// List keys and their state.
    List {
        #[command(flatten)]
        target: Target,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints it with its secret (shown once).
    ///
    /// Example: netauth client create --name "G2P disbursement" --auth-method client_secret_post --scope disburse --access-token-ttl 36000
    Create {
        #[command(flatten)]
        target: Target,
        /// Display name, shown to subscribers on consent prompts (e.g. "Fraud check").
        #[arg(long)]
        name: String,
        /// client_secret_basic, client_secret_post, private_key_jwt or app_jwt
        /// (checked as the admin API checks it, with the same message).
        #[arg(long)]
        auth_method: String,
        /// Fixed client id (default: random), e.g. my-app.
        #[arg(long)]
        client_id: Option<String>,
        /// Grant type (repeatable; default client_credentials): client_credentials,
        /// authorization_code (needs --redirect-uri), refresh_token,
        /// urn:openid:params:grant-type:ciba, urn:ietf:params:oauth:grant-type:jwt-bearer.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Allowed scope (repeatable), e.g. --scope sim-swap --scope number-verification:verify.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Allowed dpv: purpose (repeatable), e.g. dpv:FraudPreventionAndDetection.
        #[arg(long = "purpose")]
        purposes: Vec<String>,
        /// Redirect URI (repeatable), e.g. https://app.example/callback.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// File holding the client's public JWK Set (e.g. client-jwks.json).
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// HTTPS URL of the client's public JWK Set (e.g. https://app.example/jwks.json).
        #[arg(long)]
        jwks_uri: Option<String>,
        /// Access-token lifetime in seconds (e.g. 3600).
        #[arg(long)]
        access_token_ttl: Option<i64>,
        /// ES256, RS256, PS256 or EdDSA.
        #[arg(long)]
        id_token_alg: Option<String>,
        /// CORS origin (repeatable), e.g. https://app.example.
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// An operator SDK's dialect accepted beside the CAMARA profile:
        /// telefonica-sdk or vonage-sdk (docs/operator-sdks.md); strict CAMARA when absent.
        #[arg(long)]
        profile: Option<String>,
    },
    /// List registered clients.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Show one client (secrets by id only). Example: netauth client show demo-basic
    Show {
        #[command(flatten)]
        target: Target,
        /// The client's id (see `netauth client list`).
        client_id: String,
    },
    /// Suspend: its tokens stop working and it gets no new ones. Example: netauth client suspend demo-basic
    Suspend {
        #[command(flatten)]
        target: Target,
        /// The client's id (see `netauth client list`).
        client_id: String,
    },
    /// Reactivate a suspended client. Example: netauth client activate demo-basic
    Activate {
        #[command(flatten)]
        target: Target,
        /// The client's id (see `netauth client list`).
        client_id: String,
    },
    /// Add a new secret; old ones expire after --expire-old-in seconds.
    /// Example: netauth client rotate-secret demo-basic --expire-old-in 3600
    RotateSecret {
        #[command(flatten)]
        target: Target,
        /// The client's id (see `netauth client list`).
        client_id: String,
        /// Seconds until the existing secrets stop working (0: at once).
        #[arg(long, default_value_t = 86400)]
        expire_old_in: i64,
    },
    /// Set or remove a client's compatibility profile (docs/operator-sdks.md).
    /// Example: netauth client set-profile demo-ciba telefonica-sdk   (or `none`: strict CAMARA)
    SetProfile {
        #[command(flatten)]
        target: Target,
        /// The client's id (see `netauth client list`).
        client_id: String,
        /// telefonica-sdk, vonage-sdk, or none.
        profile: String,
    },
    /// Delete a client; its tokens stop working. Example: netauth client delete demo-basic
    Delete {
        #[command(flatten)]
        target: Target,
        /// The client's id (see `netauth client list`).
        client_id: String,
    },
}
