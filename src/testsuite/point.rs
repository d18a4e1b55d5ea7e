//! Point cases: one evaluation of a formula against a described context,
//! compared with the expected targets, option, variables, results string or
//! error.

use autoscale_runtime::Value;

use super::outcome::{Mismatch, Outcome};
use super::suite::{Case, PointCase, PointExpect, Suite};
use crate::formula::{Formula, compile_error};

/// What an evaluation gave, in a form that crosses threads (the formula's
/// own values share their strings with `Rc`).
#[derive(Debug, Clone, PartialEq)]
pub struct PointActual {
    /// `$TargetDedicatedNodes` as computed.
    pub target_dedicated: f64,
    /// `$TargetLowPriorityNodes` as computed.
    pub target_low_priority: f64,
    /// `$NodeDeallocationOption`'s keyword.
    pub deallocation: String,
    /// The whole results string.
    pub results: String,
    /// Each user variable: its number, or its results-string text.
    pub variables: Vec<(String, ActualValue)>,
    /// The service's error code and `Message` value, when it failed.
    pub error: Option<(String, String)>,
}

/// A variable's value as a test compares it.
#[derive(Debug, Clone, PartialEq)]
pub enum ActualValue {
    /// A double.
    Number(f64),
    /// Anything else, in the results-string format.
    Text(String),
}

impl ActualValue {
    fn shown(&self) -> String {
        match self {
            ActualValue::Number(x) => number(*x),
            ActualValue::Text(s) => format!("{s:?}"),
        }
    }
}

/// Evaluates the case and compares.
pub(crate) fn run(suite: &Suite, case: &Case, p: &PointCase) -> (Outcome, PointActual) {
    let outcome = match Formula::compile(&p.formula.text) {
        Ok(formula) => formula.evaluate(&p.context),
        Err(d) => Err(compile_error(&p.formula.text, &d, &p.context)),
    };
    let (results, error) = match &outcome {
        Ok(o) => (&o.results, None),
        Err(e) => {
            let message = e.values().into_iter().next().map(|(_, v)| v).unwrap_or_default();
            (&e.results, Some((e.code.as_str().to_owned(), message)))
        }
    };
    let actual = PointActual {
        target_dedicated: results.target_dedicated,
        target_low_priority: results.target_low_priority,
        deallocation: results.deallocation.keyword().to_owned(),
        results: results.to_string(),
        variables: results
            .variables
            .iter()
            .map(|(name, value)| {
                let v = match value {
                    Value::Double(x) => ActualValue::Number(*x),
                    other => ActualValue::Text(other.to_string()),
                };
                (name.to_string(), v)
            })
            .collect(),
        error,
    };
    let mismatches = compare(suite, &case.name, &p.expect, &actual);
    let outcome = if mismatches.is_empty() { Outcome::Passed } else { Outcome::Failed(mismatches) };
    (outcome, actual)
}

/// Numbers match when equal to nine significant digits: a value a person
/// copies from the results string (`11.3333`) is not meant to, but one
/// `--bless` writes (shortest round-trip form) always does.
fn same_number(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// A number as TOML and people write it: `12`, not `12.0`.
pub(crate) fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

fn compare(suite: &Suite, case: &str, e: &PointExpect, a: &PointActual) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut miss = |key: &str, expected: String, actual: String| {
        let path: Vec<&str> =
            ["cases", case, "expect"].into_iter().chain(key.split('.').filter(|k| !k.is_empty())).collect();
        out.push(Mismatch { key: path.join("."), line: suite.line(&path), expected, actual });
    };
    if e.is_empty() {
        let what = match &a.error {
            Some((code, _)) => format!("the evaluation failed with {code}"),
            None => format!("results {}", a.results),
        };
        miss("", "some expectation (run `autoscale-sim test --bless` to fill them in)".to_owned(), what);
        return out;
    }
    match (&e.error, &a.error) {
        (Some(want), Some((code, _))) if want != code => miss("error", want.clone(), code.clone()),
        (Some(want), None) => miss("error", want.clone(), "the evaluation succeeded".to_owned()),
        (None, Some((code, message))) => miss("error", "no error".to_owned(), format!("{code}: {message}")),
        _ => {}
    }
    if let Some(want) = &e.message {
        let got = a.error.as_ref().map(|(_, m)| m.clone()).unwrap_or_else(|| "no error".to_owned());
        if *want != got {
            miss("message", format!("{want:?}"), format!("{got:?}"));
        }
    }
    if let Some(want) = e.target_dedicated
        && !same_number(want, a.target_dedicated)
    {
        miss("target_dedicated", number(want), number(a.target_dedicated));
    }
    if let Some(want) = e.target_low_priority
        && !same_number(want, a.target_low_priority)
    {
        miss("target_low_priority", number(want), number(a.target_low_priority));
    }
    if let Some(want) = &e.deallocation
        && *want != a.deallocation
    {
        miss("deallocation", want.clone(), a.deallocation.clone());
    }
    if let Some(want) = &e.results
        && *want != a.results
    {
        miss("results", want.clone(), a.results.clone());
    }
    for (name, want) in &e.variables {
        let got = a.variables.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let key = format!("variables.{name}");
        let matches = match (want, got) {
            (toml::Value::Integer(i), Some(ActualValue::Number(x))) => same_number(*i as f64, *x),
            (toml::Value::Float(f), Some(ActualValue::Number(x))) => same_number(*f, *x),
            (toml::Value::String(s), Some(ActualValue::Text(t))) => s == t,
            _ => false,
        };
        if !matches {
            let expected = match want {
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => number(*f),
                toml::Value::String(s) => format!("{s:?}"),
                other => format!("{other} (expected values are numbers or strings)"),
            };
            let actual = got.map(ActualValue::shown).unwrap_or_else(|| "not assigned".to_owned());
            miss(&key, expected, actual);
        }
    }
    out
}
