//! The parameters `sweep` and `tune` vary: a dotted key of the scenario
//! file (`pool.autoscale.interval`; `pools.ID.autoscale.interval` for the
//! `[[pools]]` table with that id), or `formula.NAME`, the constant the
//! scenario's formula assigns to its variable `NAME` (see
//! [`crate::formula::params`]; `formula.ID.NAME` in pool `ID`'s formula
//! when there are several pools).
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
    /// A `formula.NAME` parameter on a scenario of several pools, or
    /// `formula.ID.NAME` naming none of them.
    #[error("--param {key}: write formula.POOL.NAME, POOL one of the scenario's pools ({pools})")]
    NoPool {
        /// The parameter.
        key: Key,
        /// The scenario's pool ids.
        pools: String,
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
            .map_err(|error| PointError::Scenario { point: label.to_owned(), error })?;
        // Each formula constant, with its pool (an index) and its variable.
        let mut constants = Vec::new();
        for (key, value) in point {
            let Key::Formula(name) = key else { continue };
            let (pool, name) = match scenario.only_pool() {
                Some(_) => (0, name.as_str()),
                None => name
                    .split_once('.')
                    .and_then(|(id, name)| Some((scenario.pools.iter().position(|p| p.id == id)?, name)))
                    .ok_or_else(|| PointError::NoPool { key: (*key).clone(), pools: scenario.pool_ids() })?,
            };
            constants.push((*key, pool, name, *value));
        }
        for pool in 0..scenario.pools.len() {
            let mine: Vec<_> = constants.iter().filter(|c| c.1 == pool).collect();
            let Some(first) = mine.first().map(|c| c.0.clone()) else { continue };
            let Scaling::Autoscale(autoscale) = &scenario.pools[pool].scaling else {
                return Err(PointError::NoFormula(first));
            };
            let mut source = autoscale.formula.clone();
            for (key, _, name, value) in mine {
                source = set_constant(&source, name, value)
                    .map_err(|error| PointError::Formula { key: (*key).clone(), error })?;
            }
            let name = format!("{} with {label}", autoscale.source_name);
            scenario.replace_pool_formula(pool, &source, &name).map_err(|e| match e {
                ReplaceFormulaError::FixedTargets => PointError::NoFormula(first),
                ReplaceFormulaError::DoesNotCompile(message) | ReplaceFormulaError::HasErrors(message) => {
                    PointError::FormulaErrors { point: label.to_owned(), message }
                }
            })?;
        }
        Ok(scenario)
    }
}

/// Sets `path` (dotted keys) to `value` in the scenario document: a TOML
/// value when it parses as one (`3`, `0.5`, `true`), else a string (`5m`).
/// A list of tables is entered by the `id` the next key gives
/// (`pools.batch.autoscale.interval`).
pub fn set(doc: &mut DocumentMut, path: &str, value: &str) -> Result<(), PointError> {
    let keys: Vec<&str> = path.split('.').collect();
    let bad = |key: &str| PointError::Path { path: path.to_owned(), key: key.to_owned() };
    let Some((last, parents)) = keys.split_last() else {
        return Err(bad(path));
    };
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    let mut parents = parents.iter();
    while let Some(key) = parents.next() {
        if table.get(key).is_some_and(Item::is_array_of_tables) {
            let id = parents.next().ok_or_else(|| bad(key))?;
            let list = table.get_mut(key).and_then(Item::as_array_of_tables_mut).ok_or_else(|| bad(key))?;
            let by_id = list.iter_mut().find(|t| t.get("id").and_then(Item::as_str) == Some(*id));
            table = by_id.ok_or_else(|| bad(id))?;
            continue;
        }
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
    fn a_list_of_tables_is_entered_by_id() {
        let mut doc: DocumentMut =
            "[[pools]]\nid = \"web\"\n[[pools]]\nid = \"etl\"\n[pools.autoscale]\ninterval = \"15m\"\n"
                .parse()
                .unwrap();
        set(&mut doc, "pools.etl.autoscale.interval", "5m").unwrap();
        set(&mut doc, "pools.web.task_slots_per_node", "2").unwrap();
        let text = doc.to_string();
        assert_eq!(
            text,
            "[[pools]]\nid = \"web\"\ntask_slots_per_node = 2\n[[pools]]\nid = \"etl\"\n[pools.autoscale]\ninterval = \"5m\"\n"
        );
        let e = set(&mut doc, "pools.gpu.vm.cores", "4").unwrap_err().to_string();
        assert_eq!(e, "--param pools.gpu.vm.cores: `gpu` is not a table in the scenario");
    }

    #[test]
    fn keys_are_formula_constants_or_scenario_paths() {
        assert_eq!(Key::parse("formula.maxNumberofVMs"), Key::Formula("maxNumberofVMs".to_owned()));
        assert_eq!(Key::parse("pool.autoscale.interval"), Key::Scenario("pool.autoscale.interval".to_owned()));
        assert_eq!(Key::parse("formula.cap").to_string(), "formula.cap");
    }
}
