//! The JIT and the interpreter must agree bit for bit: same results (every
//! double compared by its exact value), same error code, message and
//! position — on the oracle, the docs' examples and random well-typed
//! formulas over the whole grammar against random contexts with gaps in
//! their samples.

use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::{Engine, Formula};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::context;

/// Evaluates `source` with both engines and asserts they agree; returns
/// the common outcome as text for further checks.
pub fn assert_engines_agree(source: &str, ctx: &EvalContext) -> String {
    let interp = Formula::compile_with(source, Engine::Interp);
    let jit = Formula::compile_with(source, Engine::Jit);
    let (interp, jit) = match (interp, jit) {
        (Ok(i), Ok(j)) => (i, j),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "compile errors differ for {source:?}");
            return format!("compile error {a:?}");
        }
        (a, b) => panic!("one engine compiled {source:?}: {:?} / {:?}", a.is_ok(), b.is_ok()),
    };
    assert_eq!(jit.engine(), Engine::Jit, "JIT compilation fell back for {source:?}");
    let a = format!("{:?}", interp.evaluate(ctx));
    let b = format!("{:?}", jit.evaluate(ctx));
    assert_eq!(a, b, "engines differ on {source:?}");
    a
}

#[test]
fn oracle_cases_agree() {
    let cases: Vec<serde_json::Value> = serde_json::from_str(include_str!("../oracle/cases.json")).unwrap();
    for case in cases {
        let ctx = EvalContext::from_json(&case["context"].to_string()).unwrap();
        assert_engines_agree(case["formula"].as_str().unwrap(), &ctx);
    }
}

#[test]
fn bundled_formulas_agree() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/formulas");
    let ctx =
        EvalContext::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/contexts/busy.toml"))
            .unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The folder also holds each formula's test suite (`*.autoscale-test.toml`).
        if path.extension().is_none_or(|e| e != "formula") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        assert_engines_agree(&text, &ctx);
    }
}

#[test]
fn hand_picked_edge_cases_agree() {
    let ctx = context(
        r#"{"pool": {"target_dedicated": 3, "current_dedicated": 2},
            "metrics": {"CPUPercent": {"samples": [[15, 50], [45, 70], [105, 90]]},
                        "PendingTasks": {"samples": [[20, 3]]}}}"#,
    );
    for source in [
        "$TargetDedicatedNodes = -1",
        "$TargetLowPriorityNodes = 1/0",
        "$TargetDedicated = 2; $TargetDedicatedNodes = $TargetDedicated + 1",
        "$x = 1; stop(); $y = 2",
        "$x = 1 ? stop() : 2; $y = 3",
        "$x = avg(); $y = 1",
        "$x = val($CPUPercent.GetSample(10), 3)",
        "$x = $CPUPercent.GetSample(1) + $CPUPercent.GetSample(2)",
        "$x = $CPUPercent.GetSample(TimeInterval_Minute * 3, 90)",
        "$x = $CPUPercent.GetSample(time() - TimeInterval_Minute * 1)",
        "$x = time(\"not a time\")",
        "$x = TimeInterval_Year * 1e300",
        "$NodeDeallocationOption = TaskCompletion; $o = 1",
        "$x = $undefined + 1",
        "$x = percentile($CPUPercent.GetSample(5), 50) + norm(1, $CPUPercent.GetSample(5), 2)",
        "$s = \"b\"; $t = $s > \"a\" ? time() : time(\"2020-01-01\"); $h = $t.weekday",
        "$x = lg($CPUPercent.GetSample(3)); $y = ln(0); $z = log(-1)",
        "$x = round(2.5) + ceil(-0.5) + floor(-0.5) + rand()",
        "$x = $PendingTasks.HistoryBeginTime(); $p = $PendingTasks.GetSamplePeriod(); $c = $CPUPercent.Count()",
    ] {
        assert_engines_agree(source, &ctx);
    }
}

// ---------------------------------------------------------------------------
// Random well-typed formulas.

const METRICS: &[&str] = &["$CPUPercent", "$PendingTasks", "$ActiveTasks", "$RunningTasks", "$PreemptedNodeCount"];
const INTERVALS: &[&str] = &["TimeInterval_Second", "TimeInterval_Minute", "TimeInterval_Hour", "TimeInterval_Zero"];

fn metric() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(METRICS)
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..200).prop_map(|n| n.to_string()),
        (-1000.0f64..1000.0).prop_map(|x| format!("{x:.3}")),
        Just("0".to_owned()),
        Just("1e300".to_owned()),
        Just(".5".to_owned()),
    ]
}

fn double(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        number(),
        Just("d0".to_owned()),
        Just("$CurrentDedicatedNodes".to_owned()),
        Just("$TargetDedicatedNodes".to_owned()),
        Just("$TaskSlotsPerNode".to_owned()),
        Just("rand()".to_owned()),
        metric().prop_map(|m| format!("{m}.Count()")),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let d = || double(depth - 1);
    let v = || vector(depth - 1);
    let i = || interval(depth - 1);
    let t = || timestamp(depth - 1);
    prop_oneof![
        3 => leaf,
        2 => (d(), proptest::sample::select(&["+", "-", "*", "/"][..]), d()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => (d(), proptest::sample::select(&["<", "<=", ">", ">=", "==", "!=", "&&", "||"][..]), d())
            .prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => (i(), proptest::sample::select(&["<", ">=", "=="][..]), i()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => (t(), proptest::sample::select(&["<", "!="][..]), t()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => proptest::sample::select(&["(s0 < \"m\")", "(s0 == \"abc\")"][..]).prop_map(str::to_owned),
        1 => d().prop_map(|a| format!("-{a}")),
        1 => d().prop_map(|a| format!("!{a}")),
        1 => (d(), d(), d()).prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
        2 => (
            proptest::sample::select(&["avg", "len", "max", "min", "norm", "range", "std", "sum"][..]),
            proptest::collection::vec(prop_oneof![d(), v()], 0..4)
        )
            .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
        1 => (v(), d()).prop_map(|(v, p)| format!("percentile({v}, {p})")),
        1 => (v(), d()).prop_map(|(v, i)| format!("val({v}, {i})")),
        1 => (proptest::sample::select(&["lg", "ln", "log", "ceil", "floor", "round"][..]), d())
            .prop_map(|(f, a)| format!("{f}({a})")),
        1 => (t(), proptest::sample::select(&["year", "month", "day", "weekday", "hour", "minute", "second"][..]))
            .prop_map(|(t, m)| format!("{t}.{m}")),
        1 => (metric(), i()).prop_map(|(m, i)| format!("{m}.GetSamplePercent({i})")),
        1 => (metric(), i(), i()).prop_map(|(m, a, b)| format!("{m}.GetSamplePercent({a}, {b})")),
    ]
    .boxed()
}

fn vector(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        (metric(), 0u32..8).prop_map(|(m, n)| format!("{m}.GetSample({n})")),
        (metric(), 1u32..200).prop_map(|(m, s)| format!("{m}.GetSample({s} * TimeInterval_Second)")),
        Just("v0".to_owned()),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let d = || double(depth - 1);
    let v = || vector(depth - 1);
    let i = || interval(depth - 1);
    let t = || timestamp(depth - 1);
    let op = || proptest::sample::select(&["+", "-", "*", "/"][..]);
    prop_oneof![
        3 => leaf,
        1 => (v(), op(), d()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => (d(), op(), v()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => (v(), op(), v()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => (proptest::sample::select(&["lg", "ln", "log"][..]), v()).prop_map(|(f, a)| format!("{f}({a})")),
        1 => (d(), v(), v()).prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
        1 => (metric(), i(), i()).prop_map(|(m, a, b)| format!("{m}.GetSample({a}, {b})")),
        1 => (metric(), i(), 0u32..=100).prop_map(|(m, a, p)| format!("{m}.GetSample({a}, {p})")),
        1 => (metric(), i(), i(), 0u32..=100).prop_map(|(m, a, b, p)| format!("{m}.GetSample({a}, {b}, {p})")),
        1 => (metric(), t()).prop_map(|(m, t)| format!("{m}.GetSample({t})")),
    ]
    .boxed()
}

fn interval(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        (number(), proptest::sample::select(INTERVALS)).prop_map(|(n, i)| format!("({n} * {i})")),
        proptest::sample::select(INTERVALS).prop_map(str::to_owned),
        Just("i0".to_owned()),
        metric().prop_map(|m| format!("{m}.GetSamplePeriod()")),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let d = || double(depth - 1);
    let i = || interval(depth - 1);
    let t = || timestamp(depth - 1);
    prop_oneof![
        3 => leaf,
        1 => (i(), proptest::sample::select(&["+", "-"][..]), i()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
        1 => (i(), d()).prop_map(|(a, b)| format!("({a} * {b})")),
        1 => (i(), d()).prop_map(|(a, b)| format!("({a} / {b})")),
        1 => i().prop_map(|a| format!("-{a}")),
        1 => (t(), t()).prop_map(|(a, b)| format!("({a} - {b})")),
        1 => (d(), i(), i()).prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
    ]
    .boxed()
}

fn timestamp(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("time()".to_owned()),
        Just("t0".to_owned()),
        proptest::sample::select(
            &["\"2016-10-13T19:18:47.805Z\"", "\"Mon, 06 Oct 2014 10:20:00 GMT\"", "\"2020-02-29\"", "\"bad\""][..]
        )
        .prop_map(|s| format!("time({s})")),
        metric().prop_map(|m| format!("{m}.HistoryBeginTime()")),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let t = || timestamp(depth - 1);
    let i = || interval(depth - 1);
    prop_oneof![
        3 => leaf,
        1 => (t(), i()).prop_map(|(a, b)| format!("({a} + {b})")),
        1 => (i(), t()).prop_map(|(a, b)| format!("({a} + {b})")),
    ]
    .boxed()
}

pub(crate) fn statement() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (proptest::sample::select(&["a", "$b", "c_1", "$Z"][..]), double(3)).prop_map(|(n, e)| format!("{n} = {e}")),
        2 => vector(3).prop_map(|e| format!("vec = {e}")),
        1 => interval(2).prop_map(|e| format!("span = {e}")),
        1 => timestamp(2).prop_map(|e| format!("$when = {e}")),
        2 => double(3).prop_map(|e| format!("$TargetDedicatedNodes = {e}")),
        1 => double(2).prop_map(|e| format!("$TargetLowPriority = {e}")),
        1 => proptest::sample::select(&["requeue", "terminate", "taskcompletion", "RetainedData"][..])
            .prop_map(|o| format!("$NodeDeallocationOption = {o}")),
        1 => double(2).prop_map(|e| format!("{e} > 50 ? stop() : 0")),
        1 => double(2),
    ]
}

/// Every statement's prelude: variables of each type the generators read.
pub(crate) const PRELUDE: &str = "d0 = 2.5; v0 = $CPUPercent.GetSample(TimeInterval_Hour); i0 = 90 * TimeInterval_Second; \
                       t0 = time(\"2016-10-13T19:18:47Z\"); s0 = \"hello\";";

/// A context with some metrics, each with samples at 30 s steps and gaps.
pub(crate) fn random_context() -> impl Strategy<Value = EvalContext> {
    let samples = proptest::collection::vec((any::<bool>(), -5.0f64..120.0), 0..40);
    (proptest::collection::vec(samples, METRICS.len()), 0u64..1000, 0u32..6, 0u32..6).prop_map(
        |(series, seed, target, current)| {
            let metrics: Vec<String> = METRICS
                .iter()
                .zip(series)
                .map(|(m, s)| {
                    let kept: Vec<String> = s
                        .iter()
                        .enumerate()
                        .filter(|(_, (keep, _))| *keep)
                        .map(|(k, (_, v))| format!("[{}, {v}]", 15 + 30 * k))
                        .collect();
                    format!("\"{}\": {{\"samples\": [{}]}}", &m[1..], kept.join(","))
                })
                .collect();
            context(&format!(
                r#"{{"seed": {seed}, "pool": {{"target_dedicated": {target}, "current_dedicated": {current}}},
                    "metrics": {{{}}}}}"#,
                metrics.join(",")
            ))
        },
    )
}

#[test]
fn random_formulas_agree() {
    let cases = std::env::var("DIFFERENTIAL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (proptest::collection::vec(statement(), 1..8), random_context());
    let (ok, failed) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner
        .run(&strategy, |(statements, ctx)| {
            let source = format!("{PRELUDE}\n{}", statements.join(";\n"));
            let diagnostics = Formula::compile(&source).map(|f| f.diagnostics().to_vec());
            assert_eq!(diagnostics, Ok(vec![]), "the generator makes well-typed formulas: {source}");
            let outcome = assert_engines_agree(&source, &ctx);
            let counter = if outcome.starts_with("Ok(") { &ok } else { &failed };
            counter.set(counter.get() + 1);
            Ok(())
        })
        .unwrap();
    // Both paths must be exercised: successes and run-time failures.
    let (ok, failed) = (ok.get(), failed.get());
    assert!(ok * 10 >= cases && failed * 20 >= cases, "{ok} succeeded, {failed} failed out of {cases}");
}
