//! netauth's load generator and bench fixtures: see docs/benchmarks.md.
//! The binary (`loadgen`) is driven by bench/run and bench/smoke.

pub mod engine;
pub mod fixtures;
pub mod jwt;
pub mod procstat;
pub mod scenarios;
pub mod target;
