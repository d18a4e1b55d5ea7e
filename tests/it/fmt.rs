//! The formatter: idempotent (`fmt` twice = once) and meaning-preserving
//! (same results, error code and message before and after, on random
//! contexts) over every formula in the repository and over generated ones:
//! the differential tests' well-typed formulas, re-spaced at random with
//! comments, line breaks and empty statements thrown in.
//!
//! `FMT_CASES=10000 cargo test --test it fmt::` raises the generated count.

use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::fmt::{FmtError, format};
use autoscale_sim::formula::lexer::Lexer;
use autoscale_sim::formula::{Engine, Formula, compile_error};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::differential::{PRELUDE, random_context, statement};
use crate::support::empty_context;

/// What an evaluation shows the user, without positions (which move when
/// the text is re-spaced): results, stop, error code and message.
fn meaning(source: &str, ctx: &EvalContext) -> String {
    let outcome = match Formula::compile_with(source, Engine::Interp) {
        Ok(formula) => formula.evaluate(ctx),
        Err(d) => Err(compile_error(source, &d, ctx)),
    };
    match outcome {
        Ok(o) => format!("ok {} stopped={}", o.results, o.stopped),
        Err(e) => format!("error {} {} | {}", e.code.as_str(), e.detail, e.results),
    }
}

/// Formats `source`, checks idempotence and meaning on `contexts`; returns
/// the formatted text.
fn assert_formats_well(source: &str, contexts: &[EvalContext]) -> String {
    let once = format(source).unwrap_or_else(|e| panic!("{e} for {source:?}"));
    let twice = format(&once).unwrap_or_else(|e| panic!("{e} for formatted {once:?}"));
    assert_eq!(once, twice, "not idempotent for {source:?}");
    for ctx in contexts {
        assert_eq!(meaning(source, ctx), meaning(&once, ctx), "meaning changed:\n{source}\n---\n{once}");
    }
    once
}

/// Every formula stored in the repository: `.formula` files, formulas inside
/// TOML files (scenarios, test suites) and the oracle's cases.
fn repository_formulas() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut pending = vec![root.join("simulations"), root.join("tests")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.display().to_string();
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".formula") {
                out.push((name, std::fs::read_to_string(&path).expect("readable")));
            } else if name.ends_with(".toml") {
                let text = std::fs::read_to_string(&path).expect("readable");
                if let Ok(value) = text.parse::<toml::Table>() {
                    collect_toml(&name, &toml::Value::Table(value), &mut out);
                }
            }
        }
    }
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../oracle/cases.json")).expect("oracle cases are JSON");
    for case in cases {
        if let Some(formula) = case["formula"].as_str() {
            out.push((format!("oracle {}", case["name"]), formula.to_owned()));
        }
    }
    out
}

fn collect_toml(name: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                match v {
                    toml::Value::String(s) if k == "formula" => out.push((format!("{name} [{k}]"), s.clone())),
                    _ => collect_toml(name, v, out),
                }
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| collect_toml(name, v, out)),
        _ => {}
    }
}

/// `fmt --check` is clean on every formula file of the repository (CI
/// runs it too): the examples a user copies are formatted as `fmt` would.
#[test]
fn every_formula_file_of_the_repository_is_formatted() {
    let files: Vec<(String, String)> =
        repository_formulas().into_iter().filter(|(name, _)| name.ends_with(".formula")).collect();
    assert!(files.len() >= 6, "the walk found the bundled formulas: {}", files.len());
    for (name, source) in files {
        assert_eq!(format(&source).as_deref(), Ok(source.as_str()), "{name} is not formatted: run autoscale-sim fmt");
    }
}

#[test]
fn repository_formulas_format_idempotently_and_keep_their_meaning() {
    let busy =
        EvalContext::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/contexts/busy.toml"))
            .expect("busy context");
    let contexts = [empty_context(), busy];
    let formulas = repository_formulas();
    let mut formatted = 0;
    for (name, source) in &formulas {
        match format(source) {
            Ok(_) => {
                assert_formats_well(source, &contexts);
                formatted += 1;
            }
            // The oracle holds formulas the service rejects: they stay as they are.
            Err(FmtError::Syntax { .. }) => {
                assert!(Formula::compile(source).is_err(), "{name}: refused a formula that compiles")
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
    assert!(formatted >= 4 && formulas.len() >= 10, "{formatted} of {} formatted", formulas.len());
}

#[test]
fn bundled_cpu_formula_keeps_its_line_breaks() {
    let source = include_str!("../../simulations/formulas/cpu.formula");
    let joined = "$totalDedicatedNodes = (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ? \
                  ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;\n";
    let out = format(source).expect("formats");
    assert_eq!(out, source);
    assert!(out.lines().all(|l| l.len() <= 80), "{out}");
    // The author's breaks are kept, not invented: a one-line statement stays one line.
    assert_eq!(format(joined).as_deref(), Ok(joined));
}

#[test]
fn tricky_spacing() {
    for (source, expected) in [
        ("a=-1;b=a- -a;c=!!a", "a = -1;\nb = a - -a;\nc = !!a;\n"),
        ("t=time( ) ; h = t . hour", "t = time();\nh = t.hour;\n"),
        ("x = 1 // one\n;; y = x", "x = 1 // one\n;\ny = x;\n"),
        ("$x=(1).hour", "$x = (1).hour;\n"),
        ("x = 2 ;\n\n\n// about y\ny = x;", "x = 2;\n\n// about y\ny = x;\n"),
        ("", ""),
        ("// only a comment", "// only a comment\n"),
    ] {
        assert_eq!(format(source).as_deref(), Ok(expected), "{source:?}");
        assert_eq!(format(expected).as_deref(), Ok(expected), "{expected:?}");
    }
}

/// Re-spaces `source` token by token with the separators chosen by `picks`
/// (none, spaces, line breaks, comments, extra `;`), never gluing two
/// tokens into one.
fn mangle(source: &str, picks: &[u8]) -> String {
    const SEPARATORS: [&str; 8] = ["", "", " ", "  ", "\n", "\n\n  ", " // note\n", "\t"];
    let tokens: Vec<(usize, usize)> = Lexer::new(source).flatten().map(|(s, _, e)| (s, e)).collect();
    let mut out = String::new();
    let mut previous = "";
    for (k, (s, e)) in tokens.iter().enumerate() {
        let text = &source[*s..*e];
        let pick = picks.get(k % picks.len().max(1)).copied().unwrap_or(2) as usize;
        let mut sep = SEPARATORS[pick % SEPARATORS.len()];
        if sep.is_empty() && !previous.is_empty() {
            let joined = format!("{previous}{text}");
            let lexed: Vec<_> = Lexer::new(&joined).collect();
            if !matches!(lexed.as_slice(), [Ok((_, _, mid)), Ok(_)] if *mid == previous.len()) {
                sep = " ";
            }
        }
        out.push_str(sep);
        if text == ";" && pick.is_multiple_of(5) {
            out.push(';');
        }
        out.push_str(text);
        previous = text;
    }
    out
}

#[test]
fn generated_formulas_format_idempotently_and_keep_their_meaning() {
    let cases = std::env::var("FMT_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy =
        (proptest::collection::vec(statement(), 1..6), proptest::collection::vec(any::<u8>(), 1..64), random_context());
    let done = std::cell::Cell::new(0u32);
    runner
        .run(&strategy, |(statements, picks, ctx)| {
            let source = mangle(&format!("{PRELUDE}\n{}", statements.join(";\n")), &picks);
            let out = assert_formats_well(&source, std::slice::from_ref(&ctx));
            // Formatted means one statement per line: no `;` before the end of a line.
            for line in out.lines().filter(|l| !l.contains("//")) {
                let semi = line.find(';');
                assert!(semi.is_none_or(|i| i == line.len() - 1), "{line:?} in\n{out}");
            }
            done.set(done.get() + 1);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.get(), cases);
    eprintln!("formatted {cases} generated formulas");
}

#[test]
fn fmt_command_rewrites_and_checks() {
    let bin = env!("CARGO_BIN_EXE_autoscale-sim");
    let dir = std::env::temp_dir().join(format!("autoscale-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let messy = dir.join("messy.formula");
    let clean = dir.join("clean.formula");
    let broken = dir.join("broken.formula");
    std::fs::write(&messy, "a=1;b=a*2").expect("write");
    std::fs::write(&clean, "a = 1;\n").expect("write");
    std::fs::write(&broken, "a = (1").expect("write");
    let run = |args: &[&std::path::Path]| std::process::Command::new(bin).arg("fmt").args(args).output().expect("runs");
    let out = std::process::Command::new(bin).args(["fmt", "--check"]).args([&messy, &clean]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let named = String::from_utf8_lossy(&out.stdout);
    assert!(named.contains("messy.formula") && !named.contains("clean.formula"), "{named}");
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), "a=1;b=a*2", "--check changes nothing");
    let out = run(&[&messy, &clean]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), "a = 1;\nb = a * 2;\n");
    let out = std::process::Command::new(bin).args(["fmt", "--check"]).arg(&messy).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let out = run(&[&broken]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&broken).expect("read"), "a = (1", "a broken file is left alone");
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `autoscale-sim fmt FILE…`: exit code and stderr.
fn fmt_command(files: &[&std::path::Path]) -> (Option<i32>, String) {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_autoscale-sim")).arg("fmt").args(files).output().expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[cfg(unix)]
#[test]
fn fmt_formats_a_symbolic_links_target_and_keeps_the_link() {
    let dir = crate::support::scratch_dir("fmt-symlink");
    std::fs::create_dir(dir.join("real")).expect("dir");
    let target = dir.join("real/pool.formula");
    std::fs::write(&target, "a=1;b=a*2").expect("write");
    let link = dir.join("pool.formula");
    std::os::unix::fs::symlink("real/pool.formula", &link).expect("symlink");
    let (code, err) = fmt_command(&[&link]);
    assert_eq!(code, Some(0), "{err}");
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "still a link");
    assert_eq!(std::fs::read_link(&link).expect("link"), std::path::Path::new("real/pool.formula"));
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "a = 1;\nb = a * 2;\n");
    // Nothing left beside the link or the target.
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 2);
    assert_eq!(std::fs::read_dir(dir.join("real")).expect("dir").count(), 1);
}

#[cfg(unix)]
#[test]
fn fmt_writes_a_hard_linked_file_in_place() {
    use std::os::unix::fs::MetadataExt;
    let dir = crate::support::scratch_dir("fmt-hardlink");
    let first = dir.join("first.formula");
    let second = dir.join("second.formula");
    std::fs::write(&first, "a=1;b=a*2 // a comment long enough to make the file shrink     ").expect("write");
    std::fs::hard_link(&first, &second).expect("hard link");
    let inode = std::fs::metadata(&first).expect("meta").ino();
    let (code, err) = fmt_command(&[&first]);
    assert_eq!(code, Some(0), "{err}");
    let expected = "a = 1;\nb = a * 2 // a comment long enough to make the file shrink\n;\n";
    assert_eq!(std::fs::read_to_string(&second).expect("read"), expected, "the other name sees the change");
    assert_eq!(std::fs::read_to_string(&first).expect("read"), expected);
    let meta = std::fs::metadata(&first).expect("meta");
    assert_eq!((meta.ino(), meta.nlink()), (inode, 2), "still one file with two names");
    // Growing in place as well.
    std::fs::write(&second, "x=1").expect("write");
    let (code, err) = fmt_command(&[&second]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(std::fs::read_to_string(&first).expect("read"), "x = 1;\n");
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 2, "no temporary file left");
}

#[test]
fn fmt_accepts_and_keeps_a_byte_order_mark() {
    let dir = crate::support::scratch_dir("fmt-bom");
    let messy = dir.join("messy.formula");
    std::fs::write(&messy, "\u{feff}a=1;b=a*2").expect("write");
    let (code, err) = fmt_command(&[&messy]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), "\u{feff}a = 1;\nb = a * 2;\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_autoscale-sim"))
        .args(["fmt", "--check"])
        .arg(&messy)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "formatted with its mark: {}", String::from_utf8_lossy(&out.stdout));
}
