//! The scenarios the playground offers: the bundled ones, embedded in the
//! binary, and the one given on the command line.
//!
//! Each is kept as self-contained TOML: a `formula_file` is replaced by
//! the formula's text (`formula = '''…'''`), so that the page can show
//! the formula, a download runs anywhere as it is, and a bundled scenario
//! needs no file on disk. Traces (`trace = "…"`) stay files, read from the
//! folder of the scenario that names them: only the scenario given on the
//! command line can have one.

use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Value};

use crate::input;
use crate::scenario::MAX_SCENARIO_BYTES;

/// The bundled scenarios, by file name.
const BUNDLED: [(&str, &str); 7] = [
    ("bursty-day.toml", include_str!("../../simulations/bursty-day.toml")),
    ("low-priority-preemption.toml", include_str!("../../simulations/low-priority-preemption.toml")),
    ("quota-bound.toml", include_str!("../../simulations/quota-bound.toml")),
    ("real-agents.toml", include_str!("../../simulations/real-agents.toml")),
    ("shrink-requeue.toml", include_str!("../../simulations/shrink-requeue.toml")),
    ("shrink-taskcompletion.toml", include_str!("../../simulations/shrink-taskcompletion.toml")),
    ("working-week.toml", include_str!("../../simulations/working-week.toml")),
];

/// The formula files the bundled scenarios name, by their path there.
const BUNDLED_FORMULAS: [(&str, &str); 4] = [
    ("formulas/cpu.formula", include_str!("../../simulations/formulas/cpu.formula")),
    ("formulas/pending-tasks.formula", include_str!("../../simulations/formulas/pending-tasks.formula")),
    ("formulas/preempted-nodes.formula", include_str!("../../simulations/formulas/preempted-nodes.formula")),
    ("formulas/working-hours.formula", include_str!("../../simulations/formulas/working-hours.formula")),
];

/// Why the catalog could not be made: the scenario given on the command
/// line (or, in a broken build, a bundled one) cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CatalogError {
    /// The scenario file.
    path: String,
    /// What is wrong with it.
    message: String,
}

/// One scenario the page can pick.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name: the file's stem.
    pub name: String,
    /// Its TOML, with the formula inline.
    pub text: String,
    /// Where its traces are found, if it may have any (the given scenario's folder).
    pub base: Option<PathBuf>,
}

/// The scenarios on offer: the given one first, then the bundled ones.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// The bundled scenarios, and `given` first when there is one (in
    /// place of the bundled one of the same name).
    pub fn new(given: Option<&Path>) -> Result<Catalog, CatalogError> {
        let mut entries = Vec::with_capacity(BUNDLED.len() + 1);
        if let Some(path) = given {
            entries.push(given_entry(path)?);
        }
        for (file, text) in BUNDLED {
            let name = file.trim_end_matches(".toml");
            // A given scenario of the same name stands for the bundled one.
            if entries.iter().any(|e: &Entry| e.name == name) {
                continue;
            }
            let fail = |message: String| CatalogError { path: format!("simulations/{file}"), message };
            let text = inline_formula(text, |formula| {
                BUNDLED_FORMULAS
                    .iter()
                    .find(|(path, _)| Path::new(path) == formula)
                    .map(|(_, text)| (*text).to_owned())
                    .ok_or_else(|| format!("`{}` is not bundled", formula.display()))
            })
            .map_err(fail)?;
            entries.push(Entry { name: name.to_owned(), text, base: None });
        }
        Ok(Catalog { entries })
    }

    /// Every scenario, the given one first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The scenario named `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// The scenario at `path`, its formula file read (bounded, as the CLI
/// reads one) and put inline.
fn given_entry(path: &Path) -> Result<Entry, CatalogError> {
    let fail = |message: String| CatalogError { path: path.display().to_string(), message };
    let bytes = input::read_bounded(path, MAX_SCENARIO_BYTES, "the scenario file").map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8 text: {e}")))?;
    let base = path.parent().unwrap_or(Path::new("")).to_owned();
    let text = inline_formula(&text, |formula| {
        let file = base.join(formula);
        let bytes = input::read_bounded(&file, input::MAX_CLI_FORMULA_BYTES, "the formula file")
            .map_err(|e| format!("cannot read formula file `{}`: {e}", file.display()))?;
        let text = String::from_utf8(bytes).map_err(|e| format!("`{}` is not UTF-8 text: {e}", file.display()))?;
        Ok(input::strip_bom(&text).to_owned())
    })
    .map_err(fail)?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario").to_owned();
    Ok(Entry { name, text, base: Some(base) })
}

/// `text` with `pool.autoscale.formula_file` replaced by the formula that
/// `read` finds for it; unchanged when there is none.
fn inline_formula(text: &str, read: impl FnOnce(&Path) -> Result<String, String>) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    let Some(autoscale) = doc.get_mut("pool").and_then(|p| p.get_mut("autoscale")).and_then(Item::as_table_like_mut)
    else {
        return Ok(text.to_owned());
    };
    let Some(file) = autoscale.remove("formula_file") else {
        return Ok(text.to_owned());
    };
    let file = file.as_str().ok_or("pool.autoscale.formula_file: give the formula file's path as a string")?;
    let formula = read(Path::new(file))?;
    autoscale.insert("formula", Item::Value(multiline(&formula)));
    Ok(doc.to_string())
}

/// `text` as a TOML string, written over several lines when it can be (a
/// literal string: no escapes, as the formula file reads).
pub fn multiline(text: &str) -> Value {
    let literal = format!("v = '''\n{text}'''");
    match literal.parse::<DocumentMut>() {
        Ok(doc) if doc.get("v").and_then(Item::as_str) == Some(text) => {
            doc.get("v").and_then(Item::as_value).cloned().unwrap_or_else(|| Value::from(text))
        }
        _ => Value::from(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_scenarios_have_their_formula_inline() {
        let catalog = Catalog::new(None).unwrap();
        let names: Vec<&str> = catalog.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bursty-day",
                "low-priority-preemption",
                "quota-bound",
                "real-agents",
                "shrink-requeue",
                "shrink-taskcompletion",
                "working-week"
            ]
        );
        let bursty = catalog.get("bursty-day").unwrap();
        assert!(!bursty.text.contains("formula_file"));
        let doc: DocumentMut = bursty.text.parse().unwrap();
        let formula = doc["pool"]["autoscale"]["formula"].as_str().unwrap();
        assert_eq!(formula, include_str!("../../simulations/formulas/pending-tasks.formula"));
        // The rest of the file is as written, comments included.
        assert!(bursty.text.starts_with("# The docs' pending-tasks formula on a bursty day"));
    }

    #[test]
    fn the_given_scenario_comes_first_with_its_formula_file_read() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/working-week.toml");
        let catalog = Catalog::new(Some(&path)).unwrap();
        let given = &catalog.entries()[0];
        assert_eq!(given.name, "working-week");
        assert_eq!(given.base.as_deref(), path.parent());
        // It stands for the bundled copy, which reads the same.
        assert_eq!(catalog.entries().len(), 7);
        assert_eq!(catalog.get("working-week").map(|e| e.base.is_some()), Some(true));
        assert_eq!(given.text, Catalog::new(None).unwrap().get("working-week").unwrap().text);
        let missing = Path::new("no/such/scenario.toml");
        let message = Catalog::new(Some(missing)).unwrap_err().to_string();
        assert!(message.starts_with("no/such/scenario.toml: "), "{message}");
    }

    #[test]
    fn formulas_that_a_literal_cannot_hold_are_escaped() {
        for text in ["a = 1;\n", "s = \"'''\";\n", "no newline at the end", "\nstarts with one\n"] {
            let value = multiline(text);
            let doc: DocumentMut = format!("v = {value}").parse().unwrap();
            assert_eq!(doc["v"].as_str(), Some(text));
        }
        assert_eq!(multiline("a = 1;\n").to_string(), " '''\na = 1;\n'''");
    }
}
