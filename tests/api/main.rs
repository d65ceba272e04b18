//! netauth's integration tests: one binary (link once), talking HTTP to a
//! real server on a random port, on SQLite or, with
//! `NETAUTH_TEST_DATABASE_URL`, on PostgreSQL.

// In tests a failed unwrap is a failed test with a backtrace: what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod ciba;
mod cli;
mod client_auth;
mod client_credentials;
mod discovery;
mod helpers;
mod network;
mod ops;
mod tokens;
