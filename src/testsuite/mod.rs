//! Formula test suites: `*.autoscale-test.toml` files holding point cases
//! (one evaluation against a described context) and scenario cases (a whole
//! simulation with bounds on its outcome), run by `autoscale-sim test`.
//!
//! The pipeline is [`discover`] → [`Suite::load`] → [`run`] → (optionally
//! [`bless`]) → [`Run::to_text`] and [`junit::write`]. Loading checks the
//! whole file before anything runs, so a malformed suite is an error with a
//! file and key path, never a failed test.
#![forbid(unsafe_code)]

mod bless;
mod discover;
mod error;
mod file;
pub mod junit;
mod outcome;
mod point;
mod report;
mod scenario;
mod suite;

use rayon::prelude::*;

pub use bless::bless;
pub use discover::discover;
pub use error::SuiteError;
pub use outcome::{Mismatch, Outcome};
pub use point::PointActual;
pub use report::{CaseReport, Run};
use suite::{Case, CaseKind};
pub use suite::{SUFFIX, Suite};

/// Runs every case of `suites` whose full name contains `filter`, in
/// parallel (each case compiles its own formula: compiled code is not
/// shared across threads). The reports come back in a stable order.
pub fn run(suites: &[Suite], filter: Option<&str>) -> Run {
    let mut jobs: Vec<(usize, &Case)> = Vec::new();
    let mut filtered_out = 0;
    for (i, suite) in suites.iter().enumerate() {
        for case in &suite.cases {
            if filter.is_none_or(|f| suite.full_name(&case.name).contains(f)) {
                jobs.push((i, case));
            } else {
                filtered_out += 1;
            }
        }
    }
    let cases = jobs
        .par_iter()
        .map(|&(i, case)| {
            let suite = &suites[i];
            let started = std::time::Instant::now();
            let (outcome, actual) = match &case.kind {
                CaseKind::Point(p) => {
                    let (outcome, actual) = point::run(suite, case, p);
                    (outcome, Some(actual))
                }
                CaseKind::Scenario(s) => (scenario::run(suite, case, s), None),
            };
            CaseReport {
                suite: i,
                case: case.name.clone(),
                full_name: suite.full_name(&case.name),
                outcome,
                elapsed: started.elapsed(),
                actual,
            }
        })
        .collect();
    Run { cases, filtered_out }
}
