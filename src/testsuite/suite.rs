//! A loaded test suite: its cases, each checked and ready to run, and the
//! document they came from, for the lines of keys in messages. Built by
//! `file.rs` ([`Suite::load`]), run by `point.rs` and `scenario.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::formula::context::EvalContext;
use crate::time::SimDuration;

/// The suffix that marks a test-suite file.
pub const SUFFIX: &str = ".autoscale-test.toml";

/// A loaded and checked suite file.
#[derive(Debug)]
pub struct Suite {
    /// The file as given.
    pub path: PathBuf,
    /// The file as given, for messages.
    pub shown: String,
    /// The file shown without its suffix: the prefix of every case name.
    pub name: String,
    /// The file's folder: relative paths in the suite start here.
    pub dir: PathBuf,
    /// The file's text, kept for `--bless`.
    pub text: String,
    /// Its cases, point cases then scenario cases, each by name.
    pub(crate) cases: Vec<Case>,
    /// The suite-level formula, if any (scenario cases may use it).
    pub(crate) formula: Option<FormulaText>,
    /// The parsed document, for the lines of keys.
    pub(super) doc: toml_edit::Document<String>,
}

/// A formula's text and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct FormulaText {
    pub name: String,
    pub text: String,
}

#[derive(Debug)]
pub(crate) struct Case {
    pub name: String,
    pub kind: CaseKind,
}

#[derive(Debug)]
pub(crate) enum CaseKind {
    Point(PointCase),
    Scenario(ScenarioCase),
}

#[derive(Debug)]
pub(crate) struct PointCase {
    pub formula: FormulaText,
    pub context: EvalContext,
    pub expect: PointExpect,
}

#[derive(Debug)]
pub(crate) struct ScenarioCase {
    pub source: ScenarioSource,
    pub use_suite_formula: bool,
    /// `params`: each formula variable and the number it is set to, after
    /// the suite's formula is swapped in.
    pub constants: Vec<(String, String)>,
    /// `None` runs the scenario's own seed.
    pub seeds: Vec<Option<u64>>,
    pub expect: ScenarioExpect,
}

#[derive(Debug)]
pub(crate) enum ScenarioSource {
    File(PathBuf),
    /// The inline table, as TOML text for `Scenario::from_toml`.
    Inline(String),
}

/// The point-case expectations, as the file gives them.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PointExpect {
    pub target_dedicated: Option<f64>,
    pub target_low_priority: Option<f64>,
    pub deallocation: Option<String>,
    pub results: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, toml::Value>,
    pub error: Option<String>,
    pub message: Option<String>,
}

impl PointExpect {
    /// No expectation at all.
    pub fn is_empty(&self) -> bool {
        *self == PointExpect::default()
    }
}

/// The scenario-case bounds; each must hold for every seed.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioExpect {
    pub max_cost: Option<f64>,
    pub max_p95_wait: Option<SimDuration>,
    pub max_nodes: Option<u32>,
    pub all_done_by: Option<SimDuration>,
    pub no_failed_evaluations: Option<bool>,
}

impl ScenarioExpect {
    /// No bound at all.
    pub fn is_empty(&self) -> bool {
        *self == ScenarioExpect::default()
    }
}

impl Suite {
    /// `name::case`.
    pub fn full_name(&self, case: &str) -> String {
        format!("{}::{case}", self.name)
    }

    /// The line of a key path in the file, from 1.
    pub(crate) fn line(&self, path: &[&str]) -> Option<usize> {
        line_of(&self.doc, path)
    }
}

/// The line (from 1) of the deepest key of `path` present in the document.
pub(super) fn line_of(doc: &toml_edit::Document<String>, path: &[&str]) -> Option<usize> {
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut offset = None;
    for part in path {
        let Some((key, item)) = table.get_key_value(part) else { break };
        offset = key.span().or_else(|| item.span()).map(|s| s.start).or(offset);
        match item.as_table_like() {
            Some(t) => table = t,
            None => break,
        }
    }
    offset.map(|o| doc.raw()[..o.min(doc.raw().len())].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_of_finds_the_deepest_key_present() {
        let doc =
            toml_edit::Document::parse("a = 1\n\n[cases.x]\nnow = 2\n\n[cases.x.expect]\nresults = \"\"\n".to_owned())
                .expect("toml");
        assert_eq!(line_of(&doc, &["cases", "x", "now"]), Some(4));
        assert_eq!(line_of(&doc, &["cases", "x", "expect", "results"]), Some(7));
        assert_eq!(line_of(&doc, &["cases", "x", "expect", "missing"]), Some(6));
        assert_eq!(line_of(&doc, &["nothing"]), None);
    }
}
