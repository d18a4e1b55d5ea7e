//! `test --junit FILE`: the run as JUnit XML, the format CI systems read
//! test results from. One `<testsuite>` per suite file, one `<testcase>`
//! per case; quick-junit does the XML (and its escaping).

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::atomic_write::write_atomically;

use super::error::SuiteError;
use super::outcome::Outcome;
use super::report::Run;
use super::suite::Suite;

/// The report as XML text.
pub fn to_xml(suites: &[Suite], run: &Run) -> Result<String, SuiteError> {
    let mut report = Report::new("autoscale-sim test");
    for (i, suite) in suites.iter().enumerate() {
        let cases: Vec<_> = run.cases.iter().filter(|c| c.suite == i).collect();
        if cases.is_empty() {
            continue;
        }
        let mut ts = TestSuite::new(suite.name.as_str());
        let mut total = std::time::Duration::ZERO;
        for c in cases {
            let status = match &c.outcome {
                Outcome::Passed | Outcome::Blessed => TestCaseStatus::success(),
                Outcome::Failed(mismatches) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let n = mismatches.len();
                    s.set_message(format!("{n} expectation{} not met", if n == 1 { "" } else { "s" }));
                    s.set_type("expectation");
                    s.set_description(c.details(suite));
                    s
                }
                Outcome::Error(message) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(message.as_str());
                    s.set_type("error");
                    s
                }
            };
            let mut tc = TestCase::new(c.case.as_str(), status);
            tc.set_classname(suite.name.as_str());
            tc.set_time(c.elapsed);
            total += c.elapsed;
            ts.add_test_case(tc);
        }
        ts.set_time(total);
        report.add_test_suite(ts);
    }
    report.to_string().map_err(|e| SuiteError::Write { path: "<junit report>".to_owned(), message: e.to_string() })
}

/// Writes the report to `path`, complete or not at all (see
/// [`write_atomically`]).
pub fn write(suites: &[Suite], run: &Run, path: &Path) -> Result<(), SuiteError> {
    let xml = to_xml(suites, run)?;
    write_atomically(path, xml.as_bytes())
        .map_err(|e| SuiteError::Write { path: path.display().to_string(), message: e.to_string() })
}
