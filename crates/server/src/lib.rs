//! The netauth HTTP server: configuration, routes, handlers, CLI.
//!
//! Folders by area (see docs/architecture.md for the path of a request):
//!
//! ```text
//!  client ──► app.rs (router, middleware) + routes.rs (every path)
//!               │
//!               ├─ oauth/    token, CIBA, introspection, revocation, discovery, client auth, consent
//!               ├─ camara/   the resource APIs and their bearer-token extractor
//!               ├─ pages/    the page layer (layout, sessions, CSRF) and the pages built on it
//!               ├─ admin/    the admin API (clients, keys, operators, subscribers, legal bases)
//!               ├─ sandbox/  sandbox mode only: demo data, handset JSON API, echo
//!               └─ cli/      the `netauth` command line
//!                    │
//!  infra/ (state, config, clock, metrics, limiter, caches) · network.rs (the Network trait)
//!                    ▼
//!  domain (netauth-domain) ──► Store (netauth-store)
//! ```
//!
//! Imports flow down this picture: nothing in `infra/` imports a feature
//! area, production areas never import `sandbox/`.

pub mod admin;
pub mod app;
pub mod camara;
pub mod cli;
pub mod errors;
pub mod infra;
pub mod network;
pub mod oauth;
pub mod pages;
pub mod routes;
pub mod sandbox;
