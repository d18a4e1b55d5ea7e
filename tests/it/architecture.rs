//! The layering rules of `docs/architecture.md`, checked on the source:
//! no chain of imports between modules leads back to where it started
//! (a parent and its own children excepted: the parent declares them,
//! they use the few shared types it defines).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`sim::pool`) → its file's text, test modules cut off.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).expect("below src/").with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
            found.insert(parts.join("::"), code);
        }
    }
    found
}

/// The module a path such as `crate::sim::pool::Pool` or `super::node`
/// names, seen from `from`: its longest prefix that is a module.
fn resolve(from: &str, path: &str, modules: &BTreeMap<String, String>) -> Option<String> {
    let mut parts: Vec<&str> = path.split("::").collect();
    let mut base: Vec<&str> = if from.is_empty() { Vec::new() } else { from.split("::").collect() };
    match parts.first() {
        Some(&"crate") => {
            base.clear();
            parts.remove(0);
        }
        Some(&"super") => {
            while parts.first() == Some(&"super") {
                base.pop();
                parts.remove(0);
            }
        }
        _ => return None,
    }
    (0..=parts.len()).rev().map(|n| [&base[..], &parts[..n]].concat().join("::")).find(|m| modules.contains_key(m))
}

/// Who imports whom: an edge for every `crate::…` or `super::…` path that
/// names another module, except a parent naming its own descendants.
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in modules {
        let targets = edges.entry(name.clone()).or_default();
        let bytes = code.as_bytes();
        for start in code.match_indices("crate::").chain(code.match_indices("super::")).map(|(i, _)| i) {
            if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
                continue;
            }
            let path: String =
                code[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
            let Some(target) = resolve(name, path.trim_end_matches(':'), modules) else { continue };
            let descendant = name.is_empty() || target.starts_with(&format!("{name}::"));
            if target != *name && !descendant {
                targets.insert(target);
            }
        }
    }
    edges
}

/// A cycle through `start`, if any, as the modules along it.
fn cycle_through(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in edges.get(&at).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_lead_back_to_where_they_started() {
    let modules = modules(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(modules.contains_key("sim::pool") && modules.contains_key("time"), "the walk found the modules");
    let edges = imports(&modules);
    assert!(edges["sim::pool"].contains("sim::scheduler"), "the walk found the imports");
    let cycles: Vec<String> = modules.keys().filter_map(|m| cycle_through(m, &edges)).map(|c| c.join(" -> ")).collect();
    assert!(cycles.is_empty(), "import circles:\n{}", cycles.join("\n"));
}

#[test]
fn the_check_finds_a_circle_when_there_is_one() {
    let code = |s: &str| s.to_owned();
    let modules = BTreeMap::from([
        ("a".to_owned(), code("use crate::b::B;")),
        ("b".to_owned(), code("use crate::c::C;")),
        ("c".to_owned(), code("fn f() -> crate::a::A { todo!() }")),
        ("d".to_owned(), code("use crate::d::e::E;")),
        ("d::e".to_owned(), code("use super::D;")),
    ]);
    let edges = imports(&modules);
    assert_eq!(cycle_through("a", &edges), Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]));
    assert_eq!(cycle_through("d", &edges), None, "a parent and its child may name each other");
}
