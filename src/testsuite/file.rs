//! The `*.autoscale-test.toml` schema (serde, unknown keys refused) and its
//! checks, [`Suite::load`] and [`Suite::parse`]: everything a suite says is
//! validated here, before any case runs, into the types of `suite.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use autoscale_runtime::Timestamp;
use serde::Deserialize;

use super::error::SuiteError;
use super::suite::{
    Case, CaseKind, FormulaText, PointCase, PointExpect, SUFFIX, ScenarioCase, ScenarioExpect, ScenarioSource, Suite,
    line_of,
};
use crate::formula::context::{ContextFile, EvalContext, MetricFile};
use crate::time::SimDuration;

/// The instant point cases evaluate at when neither the case nor the suite
/// says: fixed, so that a suite gives the same answer on every day it runs.
pub const DEFAULT_NOW: &str = "2024-01-01T00:00:00Z";

/// Samples further apart than this many are a typo, not a test.
const MAX_GENERATED_SAMPLES: u64 = 100_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoot {
    formula: Option<String>,
    formula_file: Option<String>,
    now: Option<String>,
    #[serde(default)]
    cases: BTreeMap<String, FileCase>,
    #[serde(default)]
    scenarios: BTreeMap<String, FileScenario>,
}

/// A point case: the evaluation context, in the schema of a context file
/// (each metric given as samples or generated, see [`FileMetric`]), beside
/// the formula and the expectations.
#[derive(Debug)]
struct FileCase {
    formula: Option<String>,
    formula_file: Option<String>,
    context: ContextFile<FileMetric>,
    expect: PointExpect,
}

impl<'de> Deserialize<'de> for FileCase {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The case's keys, in the order serde's messages list them.
        const KEYS: &[&str] = &["formula", "formula_file", "now", "seed", "pool", "metrics", "expect"];
        struct Table;
        impl<'de> serde::de::Visitor<'de> for Table {
            type Value = FileCase;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("struct FileCase")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<FileCase, A::Error> {
                let (mut formula, mut formula_file, mut expect) = (None, None, None);
                // The keys that are not the context's: `formula`, `formula_file`, `expect`.
                let context = ContextFile::read_table(map, KEYS, |key, map| {
                    match key {
                        "formula" => formula = map.next_value()?,
                        "formula_file" => formula_file = map.next_value()?,
                        _ => expect = Some(map.next_value()?),
                    }
                    Ok(())
                })?;
                Ok(FileCase { formula, formula_file, context, expect: expect.unwrap_or_default() })
            }
        }
        deserializer.deserialize_struct("FileCase", KEYS, Table)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMetric {
    samples: Option<Vec<(f64, f64)>>,
    constant: Option<f64>,
    ramp: Option<(f64, f64)>,
    #[serde(rename = "for")]
    span: Option<SimDuration>,
    every: Option<SimDuration>,
    newest: Option<SimDuration>,
    #[serde(default)]
    gaps: Vec<(SimDuration, SimDuration)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileScenario {
    scenario: Option<String>,
    inline: Option<toml::Table>,
    #[serde(default)]
    use_suite_formula: bool,
    /// `"formula.NAME" = number`: the constants set in the case's formula.
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    seeds: Option<Seeds>,
    #[serde(default)]
    expect: ScenarioExpect,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Seeds {
    Count(u64),
    List(Vec<u64>),
}

/// Collects the errors of one file: its name, and the document for lines.
struct Checker<'a> {
    shown: &'a str,
    doc: &'a toml_edit::Document<String>,
}

impl Checker<'_> {
    fn fail<T>(&self, key: &[&str], message: impl Into<String>) -> Result<T, SuiteError> {
        Err(self.error(key, message))
    }

    fn error(&self, key: &[&str], message: impl Into<String>) -> SuiteError {
        SuiteError::Invalid {
            path: self.shown.to_owned(),
            line: line_of(self.doc, key),
            key: key.join("."),
            message: message.into(),
        }
    }
}

impl Suite {
    /// Reads and checks the suite at `path`: formulas and scenario files it
    /// names are read now (relative to it), so a missing one is a load error.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = crate::input::read_settings(path, "the suite file")
            .map_err(|e| SuiteError::Io { path: path.display().to_string(), message: e.to_string() })?;
        Suite::parse(path, text)
    }

    /// Checks the text of the suite at `path` (which names it in messages
    /// and whose folder its relative paths start from).
    pub fn parse(path: &Path, text: String) -> Result<Suite, SuiteError> {
        let shown = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new("")).to_owned();
        let doc = toml_edit::Document::parse(text.clone()).map_err(|e| SuiteError::Invalid {
            path: shown.clone(),
            line: e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            key: "(syntax)".to_owned(),
            message: e.message().trim().to_owned(),
        })?;
        let root: FileRoot = {
            let de = toml::Deserializer::parse(&text).map_err(|e| toml_error(&shown, &text, "(syntax)", &e))?;
            serde_path_to_error::deserialize(de).map_err(|e| {
                let key = e.path().to_string();
                toml_error(&shown, &text, if key == "." { "(top level)" } else { &key }, e.inner())
            })?
        };
        let check = Checker { shown: &shown, doc: &doc };
        let suite_formula = load_formula(&check, &[], &dir, root.formula, root.formula_file)?;
        let suite_now = root.now.unwrap_or_else(|| DEFAULT_NOW.to_owned());
        let mut cases = Vec::new();
        for (name, mut case) in root.cases {
            let key = ["cases", name.as_str()];
            let own = load_formula(&check, &key, &dir, case.formula.clone(), case.formula_file.clone())?;
            let Some(formula) = own.or_else(|| suite_formula.clone()) else {
                return check
                    .fail(&key, "no formula: give `formula` or `formula_file` at the top of the file or in the case");
            };
            let expect = std::mem::take(&mut case.expect);
            let context = build_context(&check, &name, &suite_now, &case)?;
            cases.push(Case { name, kind: CaseKind::Point(PointCase { formula, context, expect }) });
        }
        for (name, s) in root.scenarios {
            if cases.iter().any(|c| c.name == name) {
                return check
                    .fail(&["scenarios", &name], "a case of this name is under `cases` too; names must be unique");
            }
            let key = ["scenarios", name.as_str()];
            let source = match (s.scenario, s.inline) {
                (Some(file), None) => ScenarioSource::File(dir.join(file)),
                (None, Some(table)) => match toml::to_string(&table) {
                    Ok(text) => ScenarioSource::Inline(text),
                    Err(e) => return check.fail(&[&key[..], &["inline"]].concat(), e.to_string()),
                },
                _ => return check.fail(&key, "give exactly one of `scenario` (a file) and `inline` (a table)"),
            };
            if s.use_suite_formula && suite_formula.is_none() {
                return check.fail(&[&key[..], &["use_suite_formula"]].concat(), "the suite has no top-level formula");
            }
            let seeds = match s.seeds {
                None => vec![None],
                Some(Seeds::Count(0)) => {
                    return check.fail(&[&key[..], &["seeds"]].concat(), "at least 1 seed");
                }
                Some(Seeds::Count(n)) => (0..n).map(Some).collect(),
                Some(Seeds::List(list)) if list.is_empty() => {
                    return check.fail(&[&key[..], &["seeds"]].concat(), "at least 1 seed");
                }
                Some(Seeds::List(list)) => list.into_iter().map(Some).collect(),
            };
            let mut constants = Vec::with_capacity(s.params.len());
            for (param, value) in s.params {
                let at = [&key[..], &["params", param.as_str()]].concat();
                let Some(variable) = param.strip_prefix("formula.") else {
                    return check.fail(
                        &at,
                        "a case's parameters are formula constants, `formula.NAME`; set scenario keys in the scenario",
                    );
                };
                let number = match value {
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    other => return check.fail(&at, format!("`{other}` is not a number")),
                };
                constants.push((variable.to_owned(), number));
            }
            let case =
                ScenarioCase { source, use_suite_formula: s.use_suite_formula, constants, seeds, expect: s.expect };
            // Load the scenario once now so that a bad one is a load error;
            // the run loads it again on its worker thread.
            if let Err(message) = super::scenario::prepare(&shown, &dir, &name, &case, suite_formula.as_ref()) {
                return check.fail(&key, message);
            }
            cases.push(Case { name, kind: CaseKind::Scenario(case) });
        }
        if cases.is_empty() {
            return check.fail(&["cases"], "the suite has no cases: add a `[cases.NAME]` or `[scenarios.NAME]` table");
        }
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        let name = shown.strip_suffix(SUFFIX).unwrap_or(&shown).to_owned();
        Ok(Suite { path: path.to_owned(), shown, name, dir, text, cases, formula: suite_formula, doc })
    }
}

fn toml_error(shown: &str, text: &str, key: &str, e: &toml::de::Error) -> SuiteError {
    let message = e.message().trim();
    // serde's own words for `Seeds` name a Rust type; say what to write.
    let message = if message.contains("untagged enum Seeds") {
        "give a number of seeds (runs seeds 0 to N-1) or a list of seeds, e.g. [1, 7]"
    } else {
        message
    };
    SuiteError::Invalid {
        path: shown.to_owned(),
        line: e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
        key: key.to_owned(),
        message: message.to_owned(),
    }
}

fn load_formula(
    check: &Checker<'_>,
    key: &[&str],
    dir: &Path,
    inline: Option<String>,
    file: Option<String>,
) -> Result<Option<FormulaText>, SuiteError> {
    match (inline, file) {
        (None, None) => Ok(None),
        (Some(text), None) => Ok(Some(FormulaText { name: format!("{}{}formula", check.shown, dot(key)), text })),
        (None, Some(file)) => {
            let path = dir.join(&file);
            // Bounded: at most the service's limit, a byte-order mark dropped.
            match crate::input::read_formula(&path, crate::formula::MAX_BYTES) {
                Ok(text) => Ok(Some(FormulaText { name: path.display().to_string(), text })),
                Err(e) => {
                    check.fail(&[key, &["formula_file"]].concat(), format!("cannot read {}: {e}", path.display()))
                }
            }
        }
        (Some(_), Some(_)) => check.fail(&[key, &["formula"]].concat(), "give `formula` or `formula_file`, not both"),
    }
}

fn dot(key: &[&str]) -> String {
    if key.is_empty() { ": ".to_owned() } else { format!(": {}.", key.join(".")) }
}

/// The case's evaluation context: its metrics' samples generated, then
/// checked and built as any context file's ([`ContextFile::into_context`]).
fn build_context(check: &Checker<'_>, name: &str, suite_now: &str, case: &FileCase) -> Result<EvalContext, SuiteError> {
    let fail = |rest: &[&str], message: String| -> SuiteError {
        let key: Vec<&str> = ["cases", name].iter().chain(rest).copied().collect();
        check.error(&key, message)
    };
    let given = &case.context;
    let now_text = given.now.as_deref().unwrap_or(suite_now);
    if let Err(e) = Timestamp::parse(now_text) {
        let at: &[&str] = if given.now.is_some() { &["now"] } else { &[] };
        return Err(fail(at, format!("`{now_text}` is not a date ({e}); write e.g. \"{DEFAULT_NOW}\"")));
    }
    given.pool.validate().map_err(|(key, message)| fail(&["pool", key], message))?;
    let mut metrics = BTreeMap::new();
    for (metric, m) in &given.metrics {
        let samples = metric_samples(m).map_err(|(k, message)| {
            let mut at = vec!["metrics", metric.as_str()];
            at.extend(k);
            fail(&at, message)
        })?;
        metrics.insert(metric.clone(), MetricFile { samples });
    }
    let file = ContextFile { now: Some(now_text.to_owned()), seed: given.seed, pool: given.pool.clone(), metrics };
    file.into_context().map_err(|(key, message)| fail(&key.split('.').collect::<Vec<_>>(), message))
}

/// A metric table's problem: the key under the metric, and the message.
type SampleError = (Vec<&'static str>, String);

/// The `[age_s, value]` samples a metric table describes: given as is, or
/// generated from `constant`/`ramp` with `for`, `every`, `newest`, minus
/// the `gaps`. Errors are (key under the metric, message).
fn metric_samples(m: &FileMetric) -> Result<Vec<(f64, f64)>, SampleError> {
    let given = [m.samples.is_some(), m.constant.is_some(), m.ramp.is_some()].iter().filter(|b| **b).count();
    if given != 1 {
        return Err((vec![], "give exactly one of `samples`, `constant` and `ramp`".to_owned()));
    }
    let mut samples = match &m.samples {
        Some(list) => {
            for (key, present) in
                [("for", m.span.is_some()), ("every", m.every.is_some()), ("newest", m.newest.is_some())]
            {
                if present {
                    return Err((
                        vec![key],
                        "only with `constant` or `ramp`; `samples` gives each age itself".to_owned(),
                    ));
                }
            }
            list.clone()
        }
        None => {
            let Some(span) = m.span else {
                return Err((
                    vec![],
                    "`constant` and `ramp` need `for`, how far back the samples go, e.g. \"30m\"".to_owned(),
                ));
            };
            let every = m.every.unwrap_or(SimDuration::from_secs(30));
            if every == SimDuration::ZERO {
                return Err((vec!["every"], "must be above 0s".to_owned()));
            }
            let n = span.as_millis().div_ceil(every.as_millis());
            if n > MAX_GENERATED_SAMPLES {
                return Err((vec!["for"], format!("{n} samples; at most {MAX_GENERATED_SAMPLES}")));
            }
            let newest = m.newest.unwrap_or(SimDuration::ZERO).as_secs_f64();
            let step = every.as_secs_f64();
            (0..n)
                .map(|k| {
                    let value = match (m.constant, m.ramp) {
                        (Some(c), _) => c,
                        (None, Some((from, to))) if n > 1 => to + (from - to) * k as f64 / (n - 1) as f64,
                        (None, Some((_, to))) => to,
                        (None, None) => 0.0,
                    };
                    (newest + k as f64 * step, value)
                })
                .collect()
        }
    };
    for (from, to) in &m.gaps {
        if from >= to {
            return Err((vec!["gaps"], format!("the gap [{from}, {to}) is empty; write [newer age, older age]")));
        }
        let (a, b) = (from.as_secs_f64(), to.as_secs_f64());
        samples.retain(|(age, _)| !(a <= *age && *age < b));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(toml_text: &str) -> FileMetric {
        toml::from_str(toml_text).expect("metric table")
    }

    #[test]
    fn constant_covers_the_span_every_period_from_newest() {
        let s = metric_samples(&metric("constant = 12\nfor = \"2m\"\nnewest = \"15s\"")).expect("valid");
        assert_eq!(s, vec![(15.0, 12.0), (45.0, 12.0), (75.0, 12.0), (105.0, 12.0)]);
    }

    #[test]
    fn ramp_goes_from_oldest_to_newest_and_gaps_drop_ages() {
        let s = metric_samples(&metric("ramp = [0, 30]\nfor = \"3m\"\ngaps = [[\"30s\", \"1m\"]]")).expect("valid");
        assert_eq!(s, vec![(0.0, 30.0), (60.0, 18.0), (90.0, 12.0), (120.0, 6.0), (150.0, 0.0)]);
    }

    #[test]
    fn conflicting_or_incomplete_forms_are_named() {
        assert_eq!(
            metric_samples(&metric("constant = 1\nramp = [0, 1]\nfor = \"1m\"")).unwrap_err().0,
            Vec::<&str>::new()
        );
        assert!(metric_samples(&metric("constant = 1")).unwrap_err().1.contains("need `for`"));
        assert_eq!(metric_samples(&metric("samples = [[1, 2]]\nevery = \"1m\"")).unwrap_err().0, vec!["every"]);
        assert_eq!(
            metric_samples(&metric("constant = 1\nfor = \"1m\"\ngaps = [[\"2m\", \"1m\"]]")).unwrap_err().0,
            vec!["gaps"]
        );
    }
}
