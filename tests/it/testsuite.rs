//! `autoscale-sim test` driven through the binary: passing, failing and
//! malformed suites, exit codes, the failure diff, `--filter`, JUnit XML and
//! `--bless`.

use std::path::Path;

use crate::support::{cli, scratch_dir};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `autoscale-sim test ARGS…` and returns (exit code, stdout, stderr)
/// with the scratch folder's absolute path replaced by `[DIR]`.
fn test_cmd(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    let out = cli(&all, None);
    let shown = dir.display().to_string();
    (out.status.code(), text(&out.stdout).replace(&shown, "[DIR]"), text(&out.stderr).replace(&shown, "[DIR]"))
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write the suite");
    path.display().to_string()
}

const PASSING: &str = r#"
formula = """
$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5)));
$NodeDeallocationOption = taskcompletion;
"""
now = "2024-03-05T10:30:00Z"

[cases.follows-queue]
metrics.PendingTasks = { constant = 4, for = "10m" }
expect = { target_dedicated = 4, deallocation = "taskcompletion" }

[cases.capped]
metrics.PendingTasks = { ramp = [20, 40], for = "10m" }
expect = { target_dedicated = 10, target_low_priority = 0 }

[cases.no-samples-fails]
expect = { error = "AutoScalingFormulaEvaluationError" }
"#;

const FAILING: &str = r#"formula = """
limit = 10;
$TargetDedicatedNodes = min(limit, max($PendingTasks.GetSample(1)));
"""
now = "2024-03-05T10:30:00Z"

[cases.right]
metrics.PendingTasks = { samples = [[15, 3]] }
expect = { target_dedicated = 3 }

[cases.wrong-target]
metrics.PendingTasks = { samples = [[15, 3]] }

[cases.wrong-target.expect]
target_dedicated = 4
deallocation = "requeue"

[cases.wrong-results]
metrics.PendingTasks = { samples = [[15, 30]] }

[cases.wrong-results.expect]
results = "$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;limit=12"

[cases.unexpected-error]
expect = { variables = { limit = 10 } }
"#;

#[test]
fn passing_suite_exits_zero_with_a_line_per_case() {
    let dir = scratch_dir("testsuite-passing");
    write(&dir, "ok.autoscale-test.toml", PASSING);
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        out,
        "running 3 tests\n\
         test [DIR]/ok::capped ... ok\n\
         test [DIR]/ok::follows-queue ... ok\n\
         test [DIR]/ok::no-samples-fails ... ok\n\
         \n3 passed, 0 failed\n"
    );
}

#[test]
fn failing_suite_exits_two_and_shows_each_difference_with_its_line() {
    let dir = scratch_dir("testsuite-failing");
    write(&dir, "bad.autoscale-test.toml", FAILING);
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string()]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.ends_with("\n1 passed, 3 failed\n"), "{out}");
    insta::assert_snapshot!("testsuite_failing_diff", out);
}

#[test]
fn malformed_suite_names_file_and_key_path_and_runs_nothing() {
    let dir = scratch_dir("testsuite-malformed");
    write(&dir, "good.autoscale-test.toml", PASSING);
    write(
        &dir,
        "broken.autoscale-test.toml",
        "formula = \"$TargetDedicatedNodes = 1;\"\n\n[cases.a]\npool = { current = 3 }\n",
    );
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string()]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("error: [DIR]/broken.autoscale-test.toml:4: cases.a.pool.current: unknown field `current`"),
        "{err}"
    );
    assert!(err.contains("1 malformed test suite; no case was run"), "{err}");

    // A value out of range is named the same way.
    write(
        &dir,
        "broken.autoscale-test.toml",
        "formula = \"$TargetDedicatedNodes = 1;\"\n[cases.b]\nmetrics.PendingTasks = { constant = 1, for = \"3m\", every = \"0s\" }\n",
    );
    let (code, _, err) = test_cmd(&dir, &[&dir.display().to_string()]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("broken.autoscale-test.toml:3: cases.b.metrics.PendingTasks.every: must be above 0s"),
        "{err}"
    );
}

#[test]
fn filter_runs_only_matching_cases() {
    let dir = scratch_dir("testsuite-filter");
    write(&dir, "bad.autoscale-test.toml", FAILING);
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string(), "--filter", "::right"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, "running 1 test (3 filtered out)\ntest [DIR]/bad::right ... ok\n\n1 passed, 0 failed\n");
}

/// Every start or empty element of `xml`: (name, attributes).
fn elements(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let attributes =
                    e.attributes().filter_map(Result::ok).map(|a| (text(a.key.as_ref()), text(&a.value))).collect();
                found.push((text(e.name().as_ref()), attributes));
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("the report is not well-formed XML: {e}\n{xml}"),
        }
    }
    found
}

fn attr<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn junit_report_has_the_schema_required_elements() {
    let dir = scratch_dir("testsuite-junit");
    write(&dir, "bad.autoscale-test.toml", FAILING);
    write(&dir, "ok.autoscale-test.toml", PASSING);
    let report = dir.join("junit.xml");
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string(), "--junit", &report.display().to_string()]);
    assert_eq!(code, Some(2), "{out}{err}");
    let xml = std::fs::read_to_string(&report).expect("the report is written");
    let elements = elements(&xml);
    let root = &elements[0];
    assert_eq!(root.0, "testsuites");
    assert_eq!(attr(&root.1, "tests"), Some("7"));
    assert_eq!(attr(&root.1, "failures"), Some("3"));

    let suites: Vec<_> = elements.iter().filter(|(n, _)| n == "testsuite").collect();
    assert_eq!(suites.len(), 2);
    for (_, a) in &suites {
        for required in ["name", "tests", "failures", "errors"] {
            assert!(attr(a, required).is_some(), "testsuite lacks {required}: {a:?}");
        }
    }
    let bad = suites.iter().find(|(_, a)| attr(a, "name").is_some_and(|n| n.ends_with("/bad"))).expect("bad suite");
    assert_eq!((attr(&bad.1, "tests"), attr(&bad.1, "failures")), (Some("4"), Some("3")));

    let cases: Vec<_> = elements.iter().filter(|(n, _)| n == "testcase").collect();
    assert_eq!(cases.len(), 7);
    for (_, a) in &cases {
        assert!(attr(a, "name").is_some() && attr(a, "classname").is_some(), "{a:?}");
    }
    let failures: Vec<_> = elements.iter().filter(|(n, _)| n == "failure").collect();
    assert_eq!(failures.len(), 3);
    assert!(failures.iter().all(|(_, a)| attr(a, "message").is_some()));
    // The failure's text carries the diff, escaped (`$` and `;` pass; `<` would not).
    assert!(xml.contains("cases.wrong-target.expect.target_dedicated"), "{xml}");
}

#[test]
fn bless_fills_in_expectations_keeps_comments_and_is_idempotent() {
    let dir = scratch_dir("testsuite-bless");
    let path = write(
        &dir,
        "b.autoscale-test.toml",
        r#"# Suite comment stays.
formula = "limit = 10; $NodeDeallocationOption = taskcompletion; $TargetDedicatedNodes = min(limit, max($PendingTasks.GetSample(1)));"
now = "2024-03-05T10:30:00Z"

[cases.new]
metrics.PendingTasks = { samples = [[15, 7]] }

[cases.stale]   # a case comment
metrics.PendingTasks = { samples = [[15, 30]] }

[cases.stale.expect]
target_dedicated = 3   # kept too
variables = { limit = 1 }

[cases.now-fails]
expect = { target_dedicated = 3 }

[cases.already-right]
metrics.PendingTasks = { samples = [[15, 2]] }
expect = { target_dedicated = 2 }
"#,
    );
    let dir_arg = dir.display().to_string();
    let (code, _, _) = test_cmd(&dir, &[&dir_arg]);
    assert_eq!(code, Some(2), "the unblessed suite fails");

    let (code, out, err) = test_cmd(&dir, &[&dir_arg, "--bless"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("test [DIR]/b::new ... blessed"), "{out}");
    assert!(out.contains("test [DIR]/b::already-right ... ok"), "{out}");
    assert!(err.contains("blessed 3 cases in [DIR]/b.autoscale-test.toml"), "{err}");
    let blessed = std::fs::read_to_string(&path).expect("read back");
    insta::assert_snapshot!("testsuite_blessed_file", blessed);
    assert!(!dir.read_dir().expect("list").any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().contains("tmp"))));

    let (code, out, err) = test_cmd(&dir, &[&dir_arg]);
    assert_eq!(code, Some(0), "the blessed suite passes: {out}{err}");
    assert!(out.ends_with("\n4 passed, 0 failed\n"), "{out}");

    let (code, _, err) = test_cmd(&dir, &[&dir_arg, "--bless"]);
    assert_eq!(code, Some(0));
    assert!(!err.contains("blessed"), "nothing left to bless: {err}");
    assert_eq!(std::fs::read_to_string(&path).expect("read again"), blessed, "bless is idempotent");
}

#[test]
fn no_suites_is_an_error_not_a_pass() {
    let dir = scratch_dir("testsuite-empty");
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(err.contains("no *.autoscale-test.toml files under [DIR]"), "{err}");
}

#[test]
fn readme_example_suite_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let section = readme.find("### The suite file").expect("the README documents the suite file");
    let start = section + readme[section..].find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + readme[start..].find("```").expect("the block ends");
    let dir = scratch_dir("testsuite-readme");
    std::fs::create_dir_all(dir.join("formulas")).expect("mkdir");
    for file in ["bursty-day.toml", "formulas/pending-tasks.formula"] {
        std::fs::copy(root.join("simulations").join(file), dir.join(file)).expect("copy");
    }
    write(&dir, "formulas/readme.autoscale-test.toml", &readme[start..end]);
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.ends_with("\n3 passed, 0 failed\n"), "{out}");
}

/// `params` sets a constant of the case's formula, as `sweep --param
/// formula.NAME` does: capped at 2 nodes, the pool never has more; as
/// written (25), it does. A key that is not a formula constant, or one
/// the formula does not assign, is an error naming it.
#[test]
fn scenario_cases_set_formula_constants() {
    let dir = scratch_dir("testsuite-params");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compare/small.toml");
    let case = |name: &str, params: &str| {
        format!(
            "[scenarios.{name}]\nscenario = '{}'\n{params}\n[scenarios.{name}.expect]\nmax_nodes = 2\n",
            scenario.display()
        )
    };
    let suite = case("capped", "params = { \"formula.maxNumberofVMs\" = 2 }") + &case("as-written", "");
    write(&dir, "params.autoscale-test.toml", &suite);
    let (code, out, err) = test_cmd(&dir, &[&dir.display().to_string()]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.contains("test [DIR]/params::capped ... ok\n"), "{out}");
    assert!(out.contains("test [DIR]/params::as-written ... FAILED\n"), "{out}");
    for (params, message) in [
        (
            "params = { \"pool.autoscale.interval\" = \"5m\" }",
            "scenarios.bad.params.pool.autoscale.interval: a case's parameters are formula constants, \
             `formula.NAME`; set scenario keys in the scenario",
        ),
        ("params = { \"formula.cap\" = 3 }", "scenarios.bad: `params.formula.cap`: the formula does not assign `cap`"),
        ("params = { \"formula.maxNumberofVMs\" = \"x\" }", "`\"x\"` is not a number"),
    ] {
        write(&dir, "params.autoscale-test.toml", &case("bad", params));
        let (code, _, err) = test_cmd(&dir, &[&dir.display().to_string()]);
        assert_eq!(code, Some(1), "{params}");
        assert!(err.contains(message), "{params}: {err}");
    }
}
