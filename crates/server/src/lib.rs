//! The netauth HTTP server: configuration, routes, handlers, CLI.
//!
//! ```text
//!  client ──► router (app.rs, routes.rs) ──► handlers (oauth/, admin.rs, sandbox.rs)
//!                                              │ client_auth.rs, resource.rs
//!                                              ▼
//!                          domain (netauth-domain) ──► Store (netauth-store)
//! ```

pub mod admin;
pub mod admin_network;
pub mod app;
pub mod cli;
pub mod client_auth;
pub mod client_ip;
pub mod config;
pub mod consent;
pub mod errors;
pub mod jti_writer;
pub mod jwks_cache;
pub mod keys;
pub mod limiter;
pub mod manage;
pub mod metrics;
pub mod network;
pub mod oauth;
pub mod ops;
pub mod pages;
pub mod resource;
pub mod routes;
pub mod sandbox;
pub mod sandbox_api;
pub mod state;
