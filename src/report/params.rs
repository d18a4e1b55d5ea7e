//! The parameters `sweep` and `tune` vary: a dotted key of the scenario
//! file (`pool.autoscale.interval`), or `formula.NAME`, the constant the
//! scenario's formula assigns to its variable `NAME` (see
//! [`crate::formula::params`]).
//!
//! A point (one value per parameter) becomes a scenario in two steps: the
//! scenario keys are set in the file's TOML document and the document is
//! loaded and checked as any scenario is; then each formula constant is
//! replaced in the loaded formula's text (wherever it came from: inline or
//! `formula_file`), and the new formula is checked before it is used.

use std::fmt;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::formula::params::{ParamError, set_constant};
use crate::scenario::{ReplaceFormulaError, Scaling, Scenario, ScenarioError};

/// The prefix of a formula parameter. No scenario key is called `formula`
/// at the top level, so the prefix cannot hide one.
const FORMULA: &str = "formula.";

/// What a parameter sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A dotted path in the scenario file.
    Scenario(String),
    /// The constant the formula assigns to this variable.
    Formula(String),
}

impl Key {
    /// Reads `formula.NAME` or a dotted scenario path.
    pub fn parse(text: &str) -> Key {
        match text.strip_prefix(FORMULA) {
            Some(name) => Key::Formula(name.to_owned()),
            None => Key::Scenario(text.to_owned()),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Scenario(path) => f.write_str(path),
            Key::Formula(name) => write!(f, "{FORMULA}{name}"),
        }
    }
}

/// Why a point's scenario could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PointError {
    /// A parameter path crosses a value that is not a table.
    #[error("--param {path}: `{key}` is not a table in the scenario")]
    Path {
        /// The parameter path.
        path: String,
        /// The key that is not a table.
        key: String,
    },
    /// The scenario file is not TOML, or cannot be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// The reason.
        message: String,
    },
    /// The scenario, with a point's values, is invalid.
    #[error("{point}: {error}")]
    Scenario {
        /// The point, `a=1, b=2`.
        point: String,
        /// The scenario's error, naming the file and the key.
        error: ScenarioError,
    },
    /// A `formula.NAME` parameter cannot be set in this formula.
    #[error("--param {key}: {error}")]
    Formula {
        /// The parameter, `formula.NAME`.
        key: Key,
        /// Why: `NAME` is not assigned a constant exactly once, or the value is not a number.
        error: ParamError,
    },
    /// A `formula.NAME` parameter on a pool with fixed targets.
    #[error("--param {0}: the pool has fixed targets, so there is no formula; give it a [pool.autoscale] table")]
    NoFormula(Key),
    /// The formula, with a point's constants, has errors.
    #[error("{point}: the formula has errors with these constants: {message}")]
    FormulaErrors {
        /// The point.
        point: String,
        /// The first error.
        message: String,
    },
}

/// The scenario file, parsed once; each point is made from it.
#[derive(Debug, Clone)]
pub struct Base {
    doc: DocumentMut,
    shown: String,
    stem: String,
    dir: PathBuf,
}

impl Base {
    /// Reads the scenario file as a TOML document (checked per point).
    pub fn load(path: &Path) -> Result<Base, PointError> {
        let shown = path.display().to_string();
        let file = |message: String| PointError::File { path: shown.clone(), message };
        let bytes = crate::input::read_bounded(path, crate::scenario::MAX_SCENARIO_BYTES, "the scenario file")
            .map_err(|e| file(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| file(format!("not UTF-8 text: {e}")))?;
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| file(e.to_string()))?;
        Ok(Base {
            doc,
            stem: path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario").to_owned(),
            dir: path.parent().unwrap_or(Path::new("")).to_owned(),
            shown,
        })
    }

    /// The scenario with each `(key, value)` of a point set, checked.
    /// `label` names the point in errors.
    pub fn scenario(&self, point: &[(&Key, &str)], label: &str) -> Result<Scenario, PointError> {
        let mut doc = self.doc.clone();
        for (key, value) in point {
            if let Key::Scenario(path) = key {
                set(&mut doc, path, value)?;
            }
        }
        let mut scenario = Scenario::from_toml(&doc.to_string(), &self.shown, &self.stem, &self.dir)
            .and_then(|s| s.one_pool_for("sweep or tune"))
            .map_err(|error| PointError::Scenario { point: label.to_owned(), error })?;
        let constants: Vec<_> = point
            .iter()
            .filter_map(|(key, value)| match key {
                Key::Formula(name) => Some((*key, name, *value)),
                Key::Scenario(_) => None,
            })
            .collect();
        if constants.is_empty() {
            return Ok(scenario);
        }
        let first = constants[0].0.clone();
        let Scaling::Autoscale(autoscale) = &scenario.pool().scaling else {
            return Err(PointError::NoFormula(first));
        };
        let mut source = autoscale.formula.clone();
        for (key, name, value) in constants {
            source =
                set_constant(&source, name, value).map_err(|error| PointError::Formula { key: key.clone(), error })?;
        }
        let name = format!("{} with {label}", autoscale.source_name);
        scenario.replace_formula(&source, &name).map_err(|e| match e {
            ReplaceFormulaError::FixedTargets => PointError::NoFormula(first),
            ReplaceFormulaError::DoesNotCompile(message) | ReplaceFormulaError::HasErrors(message) => {
                PointError::FormulaErrors { point: label.to_owned(), message }
            }
        })?;
        Ok(scenario)
    }
}

/// Sets `path` (dotted keys) to `value` in the scenario document: a TOML
/// value when it parses as one (`3`, `0.5`, `true`), else a string (`5m`).
pub fn set(doc: &mut DocumentMut, path: &str, value: &str) -> Result<(), PointError> {
    let keys: Vec<&str> = path.split('.').collect();
    let bad = |key: &str| PointError::Path { path: path.to_owned(), key: key.to_owned() };
    let Some((last, parents)) = keys.split_last() else {
        return Err(bad(path));
    };
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for key in parents {
        table = table.entry(key).or_insert(Item::Table(Table::new())).as_table_like_mut().ok_or_else(|| bad(key))?;
    }
    let value: Value = value.parse().unwrap_or_else(|_| Value::from(value));
    table.insert(last, Item::Value(value));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_set_as_toml_values_or_strings() {
        let mut doc: DocumentMut =
            "[pool]\nvm = { cores = 2 }\n[pool.autoscale]\ninterval = \"15m\"\n".parse().unwrap();
        set(&mut doc, "pool.autoscale.interval", "5m").unwrap();
        set(&mut doc, "pool.vm.cores", "4").unwrap();
        set(&mut doc, "seed", "9").unwrap();
        let text = doc.to_string();
        assert!(text.contains("interval = \"5m\""), "{text}");
        assert!(text.contains("cores = 4"), "{text}");
        assert!(text.contains("seed = 9"), "{text}");
        assert!(matches!(set(&mut doc, "seed.x", "1"), Err(PointError::Path { .. })));
    }

    #[test]
    fn keys_are_formula_constants_or_scenario_paths() {
        assert_eq!(Key::parse("formula.maxNumberofVMs"), Key::Formula("maxNumberofVMs".to_owned()));
        assert_eq!(Key::parse("pool.autoscale.interval"), Key::Scenario("pool.autoscale.interval".to_owned()));
        assert_eq!(Key::parse("formula.cap").to_string(), "formula.cap");
    }
}
