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
mod file;
pub mod junit;
mod point;
mod scenario;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rayon::prelude::*;

pub use bless::bless;
pub use file::Suite;
use file::{Case, CaseKind};
pub use point::PointActual;

/// The suffix that marks a test-suite file.
pub const SUFFIX: &str = ".autoscale-test.toml";

/// Why a suite could not be found, read or understood. Every variant names
/// the file; none of them is a failed test.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SuiteError {
    /// A path given on the command line does not exist, or a folder could
    /// not be listed: `cannot read tests/: No such file or directory`.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file or folder.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// Not TOML, an unknown key, or a value of the wrong type:
    /// `x.autoscale-test.toml:7: cases.busy.expect: unknown field `target`, ...`.
    /// Also a key that is well-typed but out of range or in conflict:
    /// `x.autoscale-test.toml:9: cases.busy.metrics.PendingTasks.every: must be above 0s`.
    #[error("{path}{}: {key}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        /// The suite file.
        path: String,
        /// The line the key is on, from 1, when known.
        line: Option<usize>,
        /// The key path, e.g. `cases.busy.metrics.PendingTasks.for`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No suite file under the given paths: most likely a wrong path in CI.
    #[error("no *{SUFFIX} files under {paths}")]
    NoSuites {
        /// The paths searched, comma-separated.
        paths: String,
    },
    /// The JUnit report or a blessed suite could not be written.
    #[error("cannot write {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// The reason.
        message: String,
    },
}

/// Finds every `*.autoscale-test.toml` under `paths` (files are taken as
/// given), sorted, so that runs list cases in a stable order. Hidden
/// folders and `target/` are skipped: they hold copies, not sources.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SuiteError> {
    let mut found = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
        if meta.is_file() {
            found.push(path.clone());
        } else {
            walk(path, &mut found)?;
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(SuiteError::NoSuites { paths: shown.join(", ") });
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), SuiteError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(|e| io_error(&path, &e))?;
        if kind.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, found)?;
            }
        } else if name.ends_with(SUFFIX) {
            found.push(path);
        }
    }
    Ok(())
}

fn io_error(path: &Path, e: &std::io::Error) -> SuiteError {
    SuiteError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The expectation's key path, e.g. `cases.busy.expect.target_dedicated`.
    pub key: String,
    /// Its line in the suite file, from 1.
    pub line: Option<usize>,
    /// What the suite expects, as written for people.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

/// How one case ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every expectation held.
    Passed,
    /// Some expectations did not hold.
    Failed(Vec<Mismatch>),
    /// The case could not run at all (e.g. its scenario became invalid
    /// after loading); counts as a failure.
    Error(String),
    /// Failed, then `--bless` rewrote its expectations; counts as passed.
    Blessed,
}

impl Outcome {
    /// Whether the case counts as passed.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed | Outcome::Blessed)
    }
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// Index of the suite in the slice given to [`run`].
    pub suite: usize,
    /// The case's name in the file.
    pub case: String,
    /// `suite-name::case`, what `--filter` matches and the output shows.
    pub full_name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time spent on it.
    pub elapsed: Duration,
    /// For point cases, what the evaluation gave (what `--bless` writes).
    pub actual: Option<PointActual>,
}

/// Every case run, in suite then name order.
#[derive(Debug, Clone)]
pub struct Run {
    /// One report per case run.
    pub cases: Vec<CaseReport>,
    /// Cases not run because they did not match the filter.
    pub filtered_out: usize,
}

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

impl Run {
    /// How many cases passed and failed.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self.cases.iter().filter(|c| c.outcome.passed()).count();
        (passed, self.cases.len() - passed)
    }

    /// The report for people, in the style of `cargo test`: a line per
    /// case, the details of each failure, and a last line
    /// `N passed, M failed` (the form CI systems recognise).
    pub fn to_text(&self, suites: &[Suite]) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let n = self.cases.len();
        let _ = write!(s, "running {n} test{}", if n == 1 { "" } else { "s" });
        if self.filtered_out > 0 {
            let _ = write!(s, " ({} filtered out)", self.filtered_out);
        }
        s.push('\n');
        for c in &self.cases {
            let status = match c.outcome {
                Outcome::Passed => "ok",
                Outcome::Blessed => "blessed",
                Outcome::Failed(_) | Outcome::Error(_) => "FAILED",
            };
            let _ = writeln!(s, "test {} ... {status}", c.full_name);
        }
        let failed: Vec<&CaseReport> = self.cases.iter().filter(|c| !c.outcome.passed()).collect();
        if !failed.is_empty() {
            s.push_str("\nfailures:\n");
            for c in &failed {
                let _ = writeln!(s, "\n---- {} ----", c.full_name);
                s.push_str(&c.details(&suites[c.suite]));
            }
            s.push_str("\nfailures:\n");
            for c in &failed {
                let _ = writeln!(s, "    {}", c.full_name);
            }
        }
        let (passed, failed) = self.counts();
        let _ = writeln!(s, "\n{passed} passed, {failed} failed");
        s
    }
}

impl CaseReport {
    /// What went wrong, with the file and line of each expectation and a
    /// diff of expected against actual; empty for a passed case.
    pub fn details(&self, suite: &Suite) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        match &self.outcome {
            Outcome::Passed | Outcome::Blessed => {}
            Outcome::Error(message) => {
                let _ = writeln!(s, "{}: case `{}`: {message}", suite.shown, self.case);
            }
            Outcome::Failed(mismatches) => {
                for m in mismatches {
                    let at = m.line.map(|l| format!(":{l}")).unwrap_or_default();
                    let _ = writeln!(s, "{}{at}: case `{}`: {}", suite.shown, self.case, m.key);
                    s.push_str(&diff(&m.expected, &m.actual));
                }
            }
        }
        s
    }
}

/// Expected against actual: one line each, or for results strings (many
/// `name=value` parts joined by `;`) a diff of the parts that differ.
fn diff(expected: &str, actual: &str) -> String {
    if expected.contains(';') && actual.contains(';') {
        let old: Vec<&str> = expected.split(';').collect();
        let new: Vec<&str> = actual.split(';').collect();
        let mut s = String::from("  results string (- expected, + actual):\n");
        for change in similar::TextDiff::from_slices(&old, &new).iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            s.push_str(&format!("  {sign} {}\n", change.value()));
        }
        s
    } else {
        format!("  expected: {expected}\n    actual: {actual}\n")
    }
}
