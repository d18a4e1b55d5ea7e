//! autoscale-sim: compile, test and simulate batch-pool autoscale formulas
//! offline.
//!
//! The pipeline, from formula text to the service's results string:
//!
//! ```
//! use autoscale_sim::formula::{Formula, context::EvalContext};
//! use autoscale_runtime::Timestamp;
//!
//! let formula = Formula::compile("$TargetDedicatedNodes = min(25, 2 * 3);").unwrap();
//! assert!(formula.diagnostics().is_empty());
//! let ctx = EvalContext::new(Timestamp::parse("2024-01-01T00:00:00Z").unwrap());
//! let outcome = formula.evaluate(&ctx).unwrap();
//! assert_eq!(
//!     outcome.results.to_string(),
//!     "$TargetDedicatedNodes=6;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
//! );
//! ```
// Unsafe code is allowed only in `formula::jit`, where each block says why it holds.
#![deny(unsafe_code)]

pub mod agent;
pub mod atomic_write;
pub mod formula;
pub mod import;
pub mod input;
pub mod lsp;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod sim;
pub mod testsuite;
pub mod time;
pub mod tune;
