//! What every area shares: the application state and configuration, and
//! the node-local machinery behind them (metrics, limits, caches, the `jti`
//! group commit, keys on disk, the operational endpoints).

pub mod api_limits;
pub mod authorize_config;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod conn;
pub mod cors;
pub mod cors_layer;
pub mod jti_writer;
pub mod jwks_cache;
pub mod keys;
pub mod legal_bases;
pub mod limiter;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod pseudonym;
pub mod request_log;
pub mod secret_strength;
pub mod state;
pub mod tls;
