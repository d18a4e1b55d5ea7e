//! Values and built-in functions of the autoscale formula language.
//!
//! This crate is the single implementation of every built-in: the reference
//! interpreter calls these functions directly, and JIT-compiled formulas call
//! them through thin `extern "C"` wrappers. Keeping them here means the two
//! engines cannot disagree about what `percentile`, `GetSample` or the
//! results-string number format do.
//!
//! ```
//! use autoscale_runtime::{aggregate, format::format_double};
//! let mean = aggregate::avg(&[1.0, 2.0, 4.0]).unwrap();
//! assert_eq!(format_double(mean), "2.33333");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod abi;
pub mod aggregate;
pub mod error;
pub mod format;
pub mod random;
pub mod samples;
pub mod time;
pub mod value;
pub mod vector;

pub use error::RuntimeError;
pub use time::{Interval, Timestamp};
pub use value::{DeallocationOption, Value};
