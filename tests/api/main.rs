//! netauth's integration tests: one binary (link once), talking HTTP to a
//! real server on a random port, on SQLite or, with
//! `NETAUTH_TEST_DATABASE_URL`, on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]

mod admin;
mod authorize;
mod authorize_attacks;
mod bounds;
mod camara;
mod ciba;
mod cli;
mod client_auth;
mod client_credentials;
mod compat;
mod connections;
mod contracts;
mod cors;
mod discovery;
mod everywhere;
mod flows;
mod helpers;
mod jwt_bearer;
mod negatives;
mod network;
mod network_enablement;
mod ops;
mod portal;
mod tls;
mod tokens;
mod userinfo;
