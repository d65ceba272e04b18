//! netauth's domain: clients and their authentication, keys, access tokens,
//! revocation. Pure logic: time is passed in (`now`, Unix seconds), randomness
//! comes from the OS generator, and nothing here does IO.

pub mod authorize;
pub mod camara;
pub mod ciba;
pub mod client;
pub mod client_auth;
pub mod compat;
pub mod consent;
pub mod crypto;
pub mod enablement;
pub mod flows;
pub mod json;
pub mod keys;
pub mod revocation;
pub mod secret;
pub mod sim_swap;
pub mod subscriber;
pub mod token;

/// Seconds since the Unix epoch. Every domain function takes it as `now`.
pub type UnixTime = i64;
