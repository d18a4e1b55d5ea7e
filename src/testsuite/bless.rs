//! `test --bless`: writes what failed point cases actually gave into their
//! `expect` tables, editing the TOML in place (comments, order and layout
//! kept) so the change is a reviewable diff, and writing each file under a
//! temporary name first so that no file is ever left half-written.

use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::atomic_write::write_atomically;

use super::error::SuiteError;
use super::outcome::Outcome;
use super::point::{ActualValue, PointActual};
use super::report::Run;
use super::suite::Suite;

/// The keys of a point case's `expect` table.
const KEYS: [&str; 7] =
    ["target_dedicated", "target_low_priority", "deallocation", "results", "variables", "error", "message"];

/// Rewrites the expectations of every failed point case of `run` to what
/// it gave, marks those cases [`Outcome::Blessed`], and returns each file
/// changed with the number of cases blessed in it. Scenario cases are left
/// alone: their bounds are a budget someone chose, not a recorded value.
pub fn bless(suites: &[Suite], run: &mut Run) -> Result<Vec<(String, usize)>, SuiteError> {
    let mut changed = Vec::new();
    for (i, suite) in suites.iter().enumerate() {
        let targets: Vec<usize> = run
            .cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.suite == i && c.actual.is_some() && matches!(c.outcome, Outcome::Failed(_)))
            .map(|(n, _)| n)
            .collect();
        if targets.is_empty() {
            continue;
        }
        let mut doc: DocumentMut = suite.text.parse().map_err(|e: toml_edit::TomlError| SuiteError::Invalid {
            path: suite.shown.clone(),
            line: None,
            key: "(syntax)".to_owned(),
            message: e.message().to_owned(),
        })?;
        let mut blessed = Vec::new();
        for &n in &targets {
            let report = &run.cases[n];
            let Some(actual) = &report.actual else { continue };
            if bless_case(&mut doc, &report.case, actual) {
                blessed.push(n);
            }
        }
        let text = doc.to_string();
        if text != suite.text {
            write_atomically(&suite.path, text.as_bytes())
                .map_err(|e| SuiteError::Write { path: suite.path.display().to_string(), message: e.to_string() })?;
        }
        for &n in &blessed {
            run.cases[n].outcome = Outcome::Blessed;
        }
        changed.push((suite.shown.clone(), blessed.len()));
    }
    Ok(changed)
}

/// Updates one case's `expect` table; false when the case is not found.
fn bless_case(doc: &mut DocumentMut, case: &str, a: &PointActual) -> bool {
    let Some(case_item) =
        doc.as_table_mut().get_mut("cases").and_then(Item::as_table_like_mut).and_then(|cases| cases.get_mut(case))
    else {
        return false;
    };
    let inline = case_item.as_inline_table().is_some();
    let Some(case_table) = case_item.as_table_like_mut() else {
        return false;
    };
    if !case_table.contains_key("expect") {
        let item = if inline {
            Item::Value(Value::InlineTable(toml_edit::InlineTable::new()))
        } else {
            Item::Table(toml_edit::Table::new())
        };
        case_table.insert("expect", item);
    }
    let Some(expect_item) = case_table.get_mut("expect") else {
        return false;
    };
    let keys = |item: &Item, sub: Option<&str>| -> Vec<String> {
        let table = match sub {
            Some(k) => item.as_table_like().and_then(|t| t.get(k)).and_then(Item::as_table_like),
            None => item.as_table_like(),
        };
        table.map(|t| t.iter().map(|(k, _)| k.to_owned()).collect()).unwrap_or_default()
    };
    let before = (keys(expect_item, None), keys(expect_item, Some("variables")));
    let Some(expect) = expect_item.as_table_like_mut() else {
        return false;
    };
    update(expect, a);
    // An inline table whose keys changed is laid out afresh: the spacing
    // toml_edit keeps belongs to the old last key (`{ a = 1 , b = 2 }`).
    if keys(expect_item, None) != before.0
        && let Some(t) = expect_item.as_inline_table_mut()
    {
        t.fmt();
    }
    if keys(expect_item, Some("variables")) != before.1
        && let Some(t) = expect_item.get_mut("variables").and_then(Item::as_inline_table_mut)
    {
        t.fmt();
    }
    true
}

/// Writes the actual values into an `expect` table (see [`bless`]).
fn update(expect: &mut dyn TableLike, a: &PointActual) {
    let present = |t: &dyn TableLike, k: &str| t.contains_key(k);
    let fresh = !KEYS.iter().any(|k| present(expect, k));
    if fresh {
        match &a.error {
            Some((code, message)) => {
                set(expect, "error", Value::from(code.as_str()));
                set(expect, "message", Value::from(message.as_str()));
            }
            None => {
                set(expect, "target_dedicated", number(a.target_dedicated));
                set(expect, "target_low_priority", number(a.target_low_priority));
                set(expect, "deallocation", Value::from(a.deallocation.as_str()));
            }
        }
        set(expect, "results", Value::from(a.results.as_str()));
        return;
    }
    for (key, value) in [
        ("target_dedicated", number(a.target_dedicated)),
        ("target_low_priority", number(a.target_low_priority)),
        ("deallocation", Value::from(a.deallocation.as_str())),
        ("results", Value::from(a.results.as_str())),
    ] {
        if present(expect, key) {
            set(expect, key, value);
        }
    }
    match &a.error {
        Some((code, message)) => {
            set(expect, "error", Value::from(code.as_str()));
            if present(expect, "message") {
                set(expect, "message", Value::from(message.as_str()));
            }
        }
        None => {
            expect.remove("error");
            expect.remove("message");
        }
    }
    if let Some(vars) = expect.get_mut("variables").and_then(Item::as_table_like_mut) {
        let names: Vec<String> = vars.iter().map(|(k, _)| k.to_owned()).collect();
        for name in names {
            match a.variables.iter().find(|(n, _)| *n == name) {
                Some((_, ActualValue::Number(x))) => set(vars, &name, number(*x)),
                Some((_, ActualValue::Text(s))) => set(vars, &name, Value::from(s.as_str())),
                None => {
                    vars.remove(&name);
                }
            }
        }
    }
    if !KEYS.iter().any(|k| present(expect, k)) {
        set(expect, "results", Value::from(a.results.as_str()));
    }
}

/// Sets `key` to `value`, keeping the old value's comments and spacing.
fn set(table: &mut dyn TableLike, key: &str, mut value: Value) {
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        Some(other) => *other = Item::Value(value),
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// `12` rather than `12.0` when the number is whole; the shortest form
/// that reads back to the same double otherwise.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 { Value::from(x as i64) } else { Value::from(x) }
}
