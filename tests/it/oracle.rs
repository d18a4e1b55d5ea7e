//! Every case the real service answered (tests/oracle/cases.json) must
//! give the identical results string and error,
//! through the library and through `autoscale-sim eval --format json`.

use serde::Deserialize;

use crate::support::{cli, evaluate, scratch_dir};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    formula: String,
    context: serde_json::Value,
    results: String,
    error: Option<ServiceError>,
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
struct ServiceError {
    code: String,
    message: String,
    values: Vec<NameValue>,
}

#[derive(Debug, Deserialize, serde::Serialize, PartialEq)]
struct NameValue {
    name: String,
    value: String,
}

fn cases() -> Vec<Case> {
    let text = include_str!("../oracle/cases.json");
    serde_json::from_str(text).expect("cases.json parses")
}

#[test]
fn oracle_cases_through_the_library() {
    let cases = cases();
    assert!(cases.len() >= 7, "the oracle has at least the 7 recorded cases");
    for case in cases {
        let ctx = autoscale_sim::formula::context::EvalContext::from_json(&case.context.to_string())
            .unwrap_or_else(|e| panic!("{}: context: {e}", case.name));
        let (results, error) = match evaluate(&case.formula, &ctx) {
            Ok(o) => (o.results.to_string(), None),
            Err(e) => {
                let error = ServiceError {
                    code: e.code.as_str().to_owned(),
                    message: e.message().to_owned(),
                    values: e.values().into_iter().map(|(name, value)| NameValue { name, value }).collect(),
                };
                (e.results.to_string(), Some(error))
            }
        };
        assert_eq!(results, case.results, "case {}: results string", case.name);
        assert_eq!(error, case.error, "case {}: error", case.name);
    }
}

#[test]
fn oracle_cases_through_the_cli() {
    let dir = scratch_dir("oracle-cli");
    for case in cases() {
        let formula = dir.join(format!("{}.formula", case.name));
        let context = dir.join(format!("{}.json", case.name));
        std::fs::write(&formula, &case.formula).unwrap();
        std::fs::write(&context, case.context.to_string()).unwrap();
        let out =
            cli(&["eval", formula.to_str().unwrap(), "--context", context.to_str().unwrap(), "--format", "json"], None);
        let expected_status = if case.error.is_some() { 2 } else { 0 };
        assert_eq!(out.status.code(), Some(expected_status), "case {}: exit status", case.name);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
        assert_eq!(json["results"], case.results.as_str(), "case {}", case.name);
        let error: Option<ServiceError> = json.get("error").map(|e| serde_json::from_value(e.clone()).unwrap());
        assert_eq!(error, case.error, "case {}", case.name);
    }
}
