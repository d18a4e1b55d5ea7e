//! The report of a run: a [`CaseReport`] per case, gathered in a [`Run`],
//! for people ([`Run::to_text`]) and for JUnit (`junit.rs`).

use std::time::Duration;

use super::outcome::Outcome;
use super::point::PointActual;
use super::suite::Suite;

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// Index of the suite in the slice given to `testsuite::run`.
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
