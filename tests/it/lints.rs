//! The linter: each lint fires on a minimal bad formula and stays silent on
//! its fixed version; the rendering of each is snapshotted
//! (`snapshots/it__lints__<name>.snap`). Also: every lint has an
//! explanation, a suggested fix applies cleanly, and `check` exits as
//! documented with warnings.

use autoscale_sim::formula::Formula;
use autoscale_sim::formula::diag::Severity;
use autoscale_sim::formula::lint::{self, LINTS, Lint};

/// The lints of `source` named `name`, after asserting that `source` has
/// no errors (a lint is about valid formulas).
fn lints_named(source: &str, name: &str) -> Vec<Lint> {
    let formula = Formula::compile(source).unwrap_or_else(|d| panic!("{source:?}: {}", d.message));
    assert!(formula.diagnostics().is_empty(), "{source:?}: {:?}", formula.diagnostics());
    lint::lint(source).into_iter().filter(|l| l.name == name).collect()
}

/// `name` fires on `bad` (exactly once, snapshotted) and not on `good`.
fn case(name: &str, bad: &str, good: &str) {
    assert!(lint::explain(name).is_some(), "{name} has an explanation");
    let found = lints_named(bad, name);
    assert_eq!(found.len(), 1, "{name} on {bad:?}: {found:?}");
    assert!(lints_named(good, name).is_empty(), "{name} fires on the fixed {good:?}");
    let text = lint::render_to_string("case.formula", bad, &found);
    insta::with_settings!({ description => bad, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn percent_compared_with_fraction() {
    case(
        "percent-compared-with-fraction",
        "$TargetDedicatedNodes = min(10, (min($CPUPercent.GetSample(TimeInterval_Minute * 10, 70)) > 0.7) ? 5 : 1);",
        "$TargetDedicatedNodes = min(10, (min($CPUPercent.GetSample(TimeInterval_Minute * 10, 70)) > 70) ? 5 : 1);",
    );
}

#[test]
fn percent_through_a_variable() {
    let src = "cpu = avg($CPUPercent.GetSample(TimeInterval_Minute * 5, 70));\n\
               $TargetDedicatedNodes = cpu < 0.2 ? 1 : 2;";
    assert_eq!(lints_named(src, "percent-compared-with-fraction").len(), 1);
}

#[test]
fn single_sample_target() {
    case(
        "single-sample-target",
        "$TargetDedicatedNodes = min(10, $PendingTasks.GetSample(1));",
        "$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)));",
    );
}

#[test]
fn short_sample_window() {
    case(
        "short-sample-window",
        "$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Second * 30, 70)));",
        "$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)));",
    );
}

#[test]
fn short_window_between_two_points() {
    let src = "$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(2 * TimeInterval_Minute, 90 * TimeInterval_Second, 70)));";
    let found = lints_named(src, "short-sample-window");
    assert_eq!(found.len(), 1);
    assert!(found[0].message.contains("30 s long"), "{}", found[0].message);
}

#[test]
fn unguarded_sample_window() {
    case(
        "unguarded-sample-window",
        "$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5)));",
        "$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)));",
    );
    // A GetSamplePercent check of the same metric is a guard too.
    let guarded = "p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);\n\
                   $TargetDedicatedNodes = p < 70 ? 1 : min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5)));";
    assert!(lints_named(guarded, "unguarded-sample-window").is_empty());
}

#[test]
fn unbounded_target() {
    case(
        "unbounded-target",
        "$TargetDedicatedNodes = avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70));",
        "$TargetDedicatedNodes = min(avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)), 25);",
    );
}

#[test]
fn negative_target() {
    case(
        "negative-target",
        "$TargetLowPriorityNodes = 10 - $CurrentDedicatedNodes;",
        "$TargetLowPriorityNodes = max(0, 10 - $CurrentDedicatedNodes);",
    );
}

#[test]
fn unused_variable() {
    case(
        "unused-variable",
        "maxNodes = 10;\n$TargetDedicatedNodes = 5;",
        "maxNodes = 10;\n$TargetDedicatedNodes = min(5, maxNodes);",
    );
}

#[test]
fn service_variable_case() {
    case("service-variable-case", "$targetDedicatedNodes = 5;", "$TargetDedicatedNodes = 5;");
}

#[test]
fn case_of_a_read_only_name_has_no_fix() {
    let found = lints_named("$cpuPercent = 3;\nx = $cpuPercent;", "service-variable-case");
    assert_eq!(found.len(), 1);
    assert!(found[0].fix.is_none(), "renaming to a metric would not compile");
}

#[test]
fn alias_and_full_name() {
    case("alias-and-full-name", "$TargetDedicated = 5;\n$TargetDedicatedNodes = 2;", "$TargetDedicatedNodes = 2;");
}

#[test]
fn unreachable_after_stop() {
    case(
        "unreachable-after-stop",
        "$TargetDedicatedNodes = 2;\nstop();\n$TargetLowPriorityNodes = 3;",
        "$TargetDedicatedNodes = 2;\n$TargetLowPriorityNodes = 3;\nstop();",
    );
}

#[test]
fn requeue_deallocation_is_information() {
    case(
        "requeue-deallocation",
        "$TargetDedicatedNodes = 2;\n$NodeDeallocationOption = requeue;",
        "$TargetDedicatedNodes = 2;\n$NodeDeallocationOption = taskcompletion;",
    );
    let found = lints_named("$NodeDeallocationOption = ReQueue;", "requeue-deallocation");
    assert_eq!(found[0].severity, Severity::Info);
}

#[test]
fn every_lint_is_tested_and_explained() {
    let source = include_str!("lints.rs");
    for info in LINTS {
        assert!(source.contains(&format!("\"{}\"", info.name)), "{} has a test", info.name);
        assert!(info.explanation.contains("bad:") && info.explanation.contains("good:"), "{}", info.name);
    }
}

#[test]
fn fixes_apply_and_silence_their_lint() {
    let cases = [
        "$TargetDedicatedNodes = min(10, (min($CPUPercent.GetSample(TimeInterval_Minute * 10, 70)) > 0.7) ? 5 : 1);",
        "$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5)));",
        "$targetDedicatedNodes = 5;",
        "$TargetDedicatedNodes = 2;\n$NodeDeallocationOption = requeue;",
    ];
    for bad in cases {
        let lints = lint::lint(bad);
        let with_fix: Vec<&Lint> = lints.iter().filter(|l| l.fix.is_some()).collect();
        assert_eq!(with_fix.len(), 1, "{bad}: {lints:?}");
        let (l, fix) = (with_fix[0], with_fix[0].fix.as_ref().expect("filtered"));
        let fixed = format!("{}{}{}", &bad[..fix.span.start], fix.replacement, &bad[fix.span.end..]);
        let formula = Formula::compile(&fixed).unwrap_or_else(|d| panic!("{fixed}: {}", d.message));
        assert!(formula.diagnostics().is_empty(), "{fixed}");
        assert!(lint::lint(&fixed).iter().all(|x| x.name != l.name), "{fixed} still has {}", l.name);
    }
}

#[test]
fn clean_formula_has_no_lints() {
    let src = "// a comment\np = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);\n\
               $TargetDedicatedNodes = p < 70 ? 1 : max(0, min(25, avg($PendingTasks.GetSample(TimeInterval_Minute * 5))));\n\
               $NodeDeallocationOption = taskcompletion;";
    assert_eq!(lint::lint(src), Vec::new());
}

#[test]
fn check_prints_warnings_and_deny_turns_them_into_errors() {
    let bin = env!("CARGO_BIN_EXE_autoscale-sim");
    let formula = "$targetDedicatedNodes = 5;";
    let out = std::process::Command::new(bin).args(["check", "-e", formula]).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning[service-variable-case]"), "{err}");
    assert!(err.contains("--> <expr>:1:1"), "{err}");
    let out =
        std::process::Command::new(bin).args(["check", "--deny", "warnings", "-e", formula]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    // Errors come before warnings.
    let out = std::process::Command::new(bin).args(["check", "-e", "$x = 1; $y = $nope;"]).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    let (e, w) = (err.find("error[E0100]"), err.find("warning[unused-variable]"));
    assert!(e.is_some() && w.is_some() && e < w, "{err}");
}

#[test]
fn explain_prints_the_explanation() {
    let bin = env!("CARGO_BIN_EXE_autoscale-sim");
    let out = std::process::Command::new(bin).args(["explain", "unbounded-target"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("min("));
    let out = std::process::Command::new(bin).args(["explain"]).output().expect("runs");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(LINTS.iter().all(|l| list.contains(l.name)), "{list}");
    let out = std::process::Command::new(bin).args(["explain", "no-such-lint"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn bundled_cpu_formula_warns_about_the_docs_mistake() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/formulas/cpu.formula");
    let text = std::fs::read_to_string(path).expect("bundled");
    let names: Vec<&str> = lint::lint(&text).iter().map(|l| l.name).collect();
    assert_eq!(names.iter().filter(|n| **n == "percent-compared-with-fraction").count(), 2, "{names:?}");
}

#[test]
fn linter_and_formatter_never_panic_on_token_soup() {
    use proptest::test_runner::{Config, TestRunner};
    const PIECES: [&str; 24] = [
        "$TargetDedicatedNodes",
        "$CPUPercent",
        "x",
        "=",
        ";",
        "(",
        ")",
        ",",
        ".",
        "GetSample",
        "stop",
        "min",
        "1",
        "0.5",
        "-",
        "+",
        "*",
        "?",
        ":",
        "// c\n",
        "\n",
        " ",
        "\"s\"",
        "TimeInterval_Second",
    ];
    // FMT_CASES raises the count, as for the formatter's own tests.
    let cases = std::env::var("FMT_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    runner
        .run(&proptest::collection::vec(proptest::sample::select(&PIECES[..]), 0..40), |pieces| {
            let source = pieces.concat();
            let _ = lint::lint(&source);
            if let Ok(out) = autoscale_sim::formula::fmt::format(&source) {
                assert_eq!(autoscale_sim::formula::fmt::format(&out).as_deref(), Ok(out.as_str()), "{source:?}");
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}
