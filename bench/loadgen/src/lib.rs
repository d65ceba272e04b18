//! netauth's load generator and bench fixtures: see docs/benchmarks.md.
//! The binary (`loadgen`) is driven by bench/run and bench/smoke.

// A measuring tool run by hand or by bench/run, never a server: indexing its
// own sample vectors and fixture tables is checked by construction, and a
// panic ends one benchmark run, not anyone's request.
#![allow(clippy::indexing_slicing, reason = "bench tool; see above")]

pub mod engine;
pub mod fixtures;
pub mod jwt;
pub mod procstat;
pub mod scenarios;
pub mod target;
