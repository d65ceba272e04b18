//! The CAMARA resource APIs (Number Verification v2, SIM Swap v2, and the
//! older versions the operators' SDKs call: `versions`) as
//! features and scenarios in the style of CAMARA's own test definitions
//! (`code/Test_definitions/*.feature`): each scenario keeps its CAMARA tag,
//! says its Given/When/Then, and mints the tokens it needs through real
//! flows against the running sandbox (`runner`).

mod coverage;
mod number_verification;
mod openapi;
pub mod runner;
mod sim_swap;
mod versions;
