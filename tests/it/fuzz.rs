//! Property tests: no input makes the front end, the checker, either
//! engine or the diagnostics renderer panic; evaluation is deterministic,
//! the JIT agrees with the interpreter, and the results string is well formed.
//!
//! Each property runs 2000 cases by default (the module takes a few seconds
//! in debug); `PROPTEST_CASES` overrides that, e.g. for a long run:
//! `PROPTEST_CASES=400000 cargo test --release --test it fuzz -- --test-threads=2`.
//! Any panic found becomes a plain regression test at the end of this file.

use std::sync::LazyLock;

use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::diag::{LineIndex, render_to_string};
use autoscale_sim::formula::results::{ErrorCode, EvalError, Outcome};
use autoscale_sim::formula::{Engine, Formula, MAX_BYTES, MAX_DEPTH};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support;

/// `PROPTEST_CASES`, or 2000. (The `proptest!` macro applies the
/// `PROPTEST_*` variables over any config it is given, too.)
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    // A panic found is turned into a regression test by hand, so proptest
    // keeps no files of its own.
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// A pool with targets and counts; `$PendingTasks` sampled every 30 s for
/// two hours, `$CPUPercent` with gaps, two more metrics barely sampled and
/// the rest empty.
static CONTEXT: LazyLock<EvalContext> = LazyLock::new(|| {
    let every_30s: Vec<String> = (0..240).map(|i| format!("[{}, {}]", 15 + 30 * i, (i * 7) % 23)).collect();
    let gappy: Vec<String> =
        (0..60).filter(|i| i % 3 != 0).map(|i| format!("[{}, {}.5]", 10 + 30 * i, i % 90)).collect();
    support::context(&format!(
        r#"{{
            "seed": 7,
            "pool": {{"target_dedicated": 2, "target_low_priority": 1, "current_dedicated": 2, "task_slots_per_node": 4}},
            "metrics": {{
                "PendingTasks": {{"samples": [{}]}},
                "CPUPercent": {{"samples": [{}]}},
                "ActiveTasks": {{"samples": [[20, 1], [50, 0]]}},
                "RunningTasks": {{"samples": [[30, 2]]}}
            }}
        }}"#,
        every_30s.join(", "),
        gappy.join(", ")
    ))
});

/// Runs everything a formula can go through and checks the invariants that
/// hold for any input: spans inside the text on character boundaries, a
/// well-formed results string, a non-empty message on failure, the same
/// answer twice.
fn exercise(source: &str) {
    let ctx = &*CONTEXT;
    let lines = LineIndex::new(source);
    match Formula::compile(source) {
        Err(d) => {
            check_span(source, d.span.start, d.span.end);
            let _ = lines.line_col(source, d.span.start);
            let _ = render_to_string("fuzz.formula", source, std::slice::from_ref(&d));
            let e = autoscale_sim::formula::evaluate(source, ctx).expect_err("a formula that does not compile fails");
            assert!(matches!(e.code, ErrorCode::SyntaxError | ErrorCode::TooLong), "{source:?}: {e}");
            check_results(source, &e.results.to_string());
            assert!(!e.values()[0].1.is_empty(), "{source:?}: empty message");
        }
        Ok(formula) => {
            for d in formula.diagnostics() {
                check_span(source, d.span.start, d.span.end);
                let _ = lines.line_col(source, d.span.start);
            }
            let _ = render_to_string("fuzz.formula", source, formula.diagnostics());
            let first = formula.evaluate(ctx);
            let second = formula.evaluate(ctx);
            assert_eq!(shown(&first), shown(&second), "{source:?}: evaluation is not deterministic");
            let again = autoscale_sim::formula::evaluate(source, ctx);
            assert_eq!(shown(&first), shown(&again), "{source:?}: compiling again changes the outcome");
            // Every checked program compiles to native code, and both
            // engines agree on it.
            assert_eq!(formula.engine(), Engine::Jit, "{source:?}: the JIT did not compile it");
            let interpreted = Formula::compile_with(source, Engine::Interp).expect("compiled once").evaluate(ctx);
            assert_eq!(shown(&first), shown(&interpreted), "{source:?}: the JIT and the interpreter differ");
            match first {
                Ok(outcome) => check_results(source, &outcome.results.to_string()),
                Err(e) => {
                    check_results(source, &e.results.to_string());
                    let message = &e.values()[0].1;
                    assert!(!message.is_empty(), "{source:?}: empty message");
                    assert!(!e.detail.contains("internal error"), "{source:?}: the checker let through {e}");
                    if let Some(l) = e.location {
                        check_span(source, l.span.start, l.span.end);
                        assert!(message.starts_with(&format!("Line {}, Col {}: ", l.line, l.column)), "{message}");
                    }
                }
            }
        }
    }
}

/// Everything an evaluation returns, as text (`==` on the values would
/// make a NaN differ from itself).
fn shown(outcome: &Result<Outcome, EvalError>) -> String {
    match outcome {
        Ok(o) => format!("ok stopped={} {}", o.stopped, o.results),
        Err(e) => format!("{e}\n{:?}\n{}", e.location, e.results),
    }
}

fn check_span(source: &str, start: usize, end: usize) {
    assert!(start <= end && end <= source.len(), "{source:?}: span {start}..{end} outside the text");
    assert!(
        source.is_char_boundary(start) && source.is_char_boundary(end),
        "{source:?}: span {start}..{end} splits a character"
    );
}

fn check_results(source: &str, results: &str) {
    assert!(results.starts_with("$TargetDedicatedNodes="), "{source:?}: {results}");
    assert!(results.contains(";$TargetLowPriorityNodes="), "{source:?}: {results}");
    assert!(results.contains(";$NodeDeallocationOption="), "{source:?}: {results}");
}

// ---------------------------------------------------------------------------
// Generators.

/// One of `options`.
fn pick(options: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(options).prop_map(str::to_owned).boxed()
}

/// Bytes, mostly printable ASCII (so that some of them lex), sometimes
/// anything, occasionally long enough to pass the size limit.
fn byte_soup() -> BoxedStrategy<String> {
    let byte = prop_oneof![3 => 0x20u8..0x7f, 1 => any::<u8>(), 1 => Just(b'\n')];
    prop_oneof![
        20 => prop::collection::vec(byte.clone(), 0..200),
        1 => prop::collection::vec(byte, MAX_BYTES - 8..MAX_BYTES + 8),
    ]
    .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    .boxed()
}

const SERVICE_NAMES: &[&str] = &[
    "$TargetDedicatedNodes",
    "$TargetDedicated",
    "$TargetLowPriorityNodes",
    "$TargetLowPriority",
    "$NodeDeallocationOption",
    "$CurrentDedicatedNodes",
    "$CurrentLowPriorityNodes",
    "$TaskSlotsPerNode",
    "$PendingTasks",
    "$ActiveTasks",
    "$RunningTasks",
    "$CPUPercent",
    "$SucceededTasks",
    "$targetDedicatedNodes",
];

const BARE_NAMES: &[&str] = &[
    "avg",
    "len",
    "lg",
    "ln",
    "log",
    "max",
    "min",
    "norm",
    "percentile",
    "rand",
    "range",
    "std",
    "stop",
    "sum",
    "time",
    "val",
    "ceil",
    "floor",
    "round",
    "Avg",
    "GetSample",
    "GetSamplePercent",
    "GetSamplePeriod",
    "Count",
    "HistoryBeginTime",
    "hour",
    "weekday",
    "year",
    "TimeInterval_Minute",
    "TimeInterval_Second",
    "TimeInterval_Zero",
    "TimeInterval_Year",
    "requeue",
    "terminate",
    "taskcompletion",
    "retaineddata",
    "x",
    "y",
];

const PUNCTUATION: &[&str] =
    &[";", "=", "?", ":", "(", ")", ",", ".", "+", "-", "*", "/", "!", "<", "<=", ">", ">=", "==", "!=", "&&", "||"];

const STRINGS: &[&str] = &[
    "\"\"",
    "\"2016-10-13T19:18:47Z\"",
    "\"2016-10-13T19:18:47.1234567Z\"",
    "\"Thu, 13 Oct 2016 19:18:47 GMT\"",
    "\"9999-12-31T23:59:59Z\"",
    "\"0001-01-01\"",
    "\"soon\"",
    "\"a\\\"b\"",
];

const NUMBERS: &[&str] = &["0", "1", "2.5", ".5", "1e3", "2.5E-2", "100", "101", "-1", "1e308", "1e309", "0.0001", "7"];

/// One token of the language, as text.
fn token() -> BoxedStrategy<String> {
    prop_oneof![
        2 => pick(NUMBERS),
        1 => (0u32..100_000).prop_map(|n| n.to_string()),
        1 => pick(STRINGS),
        2 => pick(SERVICE_NAMES),
        1 => pick(&["$a", "$b", "$x"]),
        3 => pick(BARE_NAMES),
        5 => pick(PUNCTUATION),
    ]
    .boxed()
}

/// Random sequences of tokens, separated by spaces.
fn token_stream() -> BoxedStrategy<String> {
    prop::collection::vec(token(), 0..40).prop_map(|tokens| tokens.join(" ")).boxed()
}

/// A look-back argument of `GetSample`: an interval or a timestamp, mostly
/// reaching into the sampled past.
fn look_back() -> BoxedStrategy<String> {
    prop_oneof![
        3 => pick(&["TimeInterval_Minute * 5", "TimeInterval_Minute * 10", "TimeInterval_Hour", "TimeInterval_Second * 90"]),
        1 => pick(&[
            "0 * TimeInterval_Second",
            "TimeInterval_Second * 10",
            "-TimeInterval_Minute",
            "time() + -TimeInterval_Minute",
            "time(\"2016-10-13T19:00:00Z\")",
            "TimeInterval_Year",
        ]),
    ].boxed()
}

/// A metric, mostly one with samples.
fn metric() -> BoxedStrategy<String> {
    prop_oneof![6 => pick(&["$PendingTasks", "$CPUPercent"]), 1 => pick(&["$ActiveTasks", "$RunningTasks", "$DiskBytes"])].boxed()
}

/// `$Metric.GetSample(...)`: a doubleVec.
fn sample_vector() -> BoxedStrategy<String> {
    let percent = prop_oneof![4 => pick(&["0", "10", "50", "70"]), 1 => (0u32..101).prop_map(|p| p.to_string())];
    let call = prop_oneof![
        (0u32..6).prop_map(|n| format!("GetSample({n})")),
        look_back().prop_map(|a| format!("GetSample({a})")),
        (look_back(), percent.clone()).prop_map(|(a, p)| format!("GetSample({a}, {p})")),
        (look_back(), look_back()).prop_map(|(a, b)| format!("GetSample({a}, {b})")),
        (look_back(), look_back(), percent).prop_map(|(a, b, p)| format!("GetSample({a}, {b}, {p})")),
    ];
    (metric(), call).prop_map(|(m, c)| format!("{m}.{c}")).boxed()
}

/// The other methods: doubles, an interval, a timestamp.
fn sample_other() -> BoxedStrategy<String> {
    let call = prop_oneof![
        look_back().prop_map(|a| format!("GetSamplePercent({a})")),
        (look_back(), look_back()).prop_map(|(a, b)| format!("GetSamplePercent({a}, {b})")),
        pick(&["GetSamplePeriod()", "Count()", "HistoryBeginTime()"]),
    ];
    (metric(), call).prop_map(|(m, c)| format!("{m}.{c}")).boxed()
}

/// A well-typed double: what real formulas compute.
fn double_expression() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => pick(NUMBERS),
        1 => any::<f64>().prop_map(|x| format!("{:e}", x.abs())),
        3 => pick(&["$a", "$b", "$TargetDedicatedNodes", "$TargetLowPriority", "$CurrentDedicatedNodes", "$TaskSlotsPerNode"]),
        1 => sample_other().prop_filter("a double", |c| c.contains("Percent") || c.contains("Count")),
        1 => pick(&["rand()", "time().hour", "time().weekday", "time(\"2016-10-13T19:18:47Z\").minute", "len($PendingTasks.GetSample(10))"]),
    ];
    leaf.prop_recursive(4, 32, 3, |double| {
        let vector = prop_oneof![
            3 => sample_vector(),
            1 => (sample_vector(), pick(&["+", "-", "*", "/"]), double.clone()).prop_map(|(v, op, d)| format!("{v} {op} {d}")),
            1 => (pick(&["lg", "ln", "log"]), sample_vector()).prop_map(|(f, v)| format!("{f}({v})")),
        ]
        .boxed();
        let item = prop_oneof![double.clone(), vector.clone()].boxed();
        let binary = pick(&["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "&&", "||"]);
        prop_oneof![
            5 => (double.clone(), binary, double.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            1 => double.clone().prop_map(|a| format!("({a})")),
            1 => double.clone().prop_map(|a| format!("-{a}")),
            1 => double.clone().prop_map(|a| format!("!{a}")),
            1 => (double.clone(), double.clone(), double.clone()).prop_map(|(c, a, b)| format!("{c} ? {a} : {b}")),
            3 => (pick(&["avg", "len", "max", "min", "norm", "range", "std", "sum"]), prop::collection::vec(item, 1..4))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            1 => (pick(&["lg", "ln", "log", "ceil", "floor", "round"]), double.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            1 => (vector.clone(), 0u32..101).prop_map(|(v, p)| format!("percentile({v}, {p})")),
            1 => (vector, 0u32..5).prop_map(|(v, i)| format!("val({v}, {i})")),
        ]
    }).boxed()
}

/// Anything the grammar allows, typed or not, a few levels deep.
fn any_expression() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => pick(NUMBERS),
        2 => pick(&["$a", "$b", "$c", "$TargetDedicatedNodes", "$NodeDeallocationOption", "$PendingTasks"]),
        2 => sample_vector(),
        1 => sample_other(),
        1 => pick(&["TimeInterval_Minute", "TimeInterval_Day", "TimeInterval_100ns", "TimeInterval_Year"]),
        1 => pick(&["time()", "time(\"2016-10-13T19:18:47Z\")", "time(\"soon\")", "rand()", "\"text\"", "requeue", "stop()"]),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        let binary = pick(&["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "&&", "||"]);
        let function = pick(&[
            "avg", "len", "max", "min", "norm", "range", "std", "sum", "lg", "ln", "log", "ceil", "floor", "round",
            "percentile", "val", "time", "rand", "stop",
        ]);
        prop_oneof![
            4 => (inner.clone(), binary, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            1 => inner.clone().prop_map(|a| format!("({a})")),
            1 => inner.clone().prop_map(|a| format!("-{a}")),
            1 => inner.clone().prop_map(|a| format!("!{a}")),
            1 => (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| format!("{c} ? {a} : {b}")),
            3 => (function, prop::collection::vec(inner.clone(), 0..4)).prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
            1 => (inner, pick(&["hour", "weekday", "year", "month", "second", "hours"])).prop_map(|(t, m)| format!("({t}).{m}")),
        ]
    }).boxed()
}

/// A few statements assigning user variables and the service's targets;
/// `$a` and `$b` are assigned first, so most reads of them are defined.
pub(crate) fn formula() -> BoxedStrategy<String> {
    let target = pick(&[
        "$a",
        "$b",
        "$c",
        "$TargetDedicatedNodes",
        "$TargetDedicated",
        "$TargetLowPriorityNodes",
        "$TargetLowPriority",
    ]);
    let statement = prop_oneof![
        12 => (target.clone(), double_expression()).prop_map(|(t, e)| format!("{t} = {e}")),
        3 => (target, any_expression()).prop_map(|(t, e)| format!("{t} = {e}")),
        1 => any_expression(),
        1 => pick(&["$NodeDeallocationOption = taskcompletion", "$NodeDeallocationOption = Terminate", "stop()"]),
    ];
    (0u32..4, 0u32..4, prop::collection::vec(statement, 1..6), any::<bool>())
        .prop_map(|(a, b, statements, newlines)| {
            let mut all = vec![format!("$a = {a}"), format!("$b = {b}")];
            all.extend(statements);
            all.join(if newlines { ";\n" } else { "; " })
        })
        .boxed()
}

// ---------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(config())]

    /// (a) Arbitrary bytes.
    #[test]
    fn fuzz_random_bytes(source in byte_soup()) {
        exercise(&source);
    }

    /// (b) Arbitrary sequences of the language's tokens.
    #[test]
    fn fuzz_token_streams(source in token_stream()) {
        exercise(&source);
    }

    /// (c) Mostly well-formed formulas.
    #[test]
    fn fuzz_formulas(source in formula()) {
        exercise(&source);
    }
}

/// The command line exits 0, 1 or 2 on any formula: never a crash. Each
/// case starts the binary twice, so this runs a dozen cases whatever
/// `PROPTEST_CASES` says (the `proptest!` macro would apply it).
#[test]
fn fuzz_cli_exit_codes() {
    let mut runner = TestRunner::new(Config { cases: 12, failure_persistence: None, ..Config::default() });
    let inputs = prop_oneof![token_stream(), formula()];
    let result = runner.run(&inputs, |source| {
        // `-e -1` would read `-1` as an option; a leading space keeps it a value.
        let arg = if source.starts_with('-') { format!(" {source}") } else { source };
        for command in ["check", "eval"] {
            let output = support::cli(&[command, "-e", &arg], None);
            prop_assert!(
                matches!(output.status.code(), Some(0..=2)),
                "{command} -e {arg:?} exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------
// Regressions: inputs that once crashed the program.

/// Each shape of nesting, at the limit (accepted and evaluated) and as deep
/// as 8 KB allows (rejected; before the limit existed these overflowed the
/// stack and aborted the process, in `check` as in `eval`).
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let shapes: [(&str, &str, &str); 9] = [
        ("-", "", "$x = {open}1{close}"),
        ("!", "", "$x = {open}1{close}"),
        ("(1+", ")", "$x = {open}1{close}"),
        ("avg(", ")", "$x = {open}1{close}"),
        ("ln(", ")", "$x = {open}1{close}"),
        ("1?1:", "", "$x = {open}1{close}"),
        ("(", "?1:1)", "$x = {open}1{close}"),
        ("len($CPUPercent.GetSample(", "))", "$x = {open}1{close}"),
        ("-$CPUPercent.Foo(", ")", "$x = {open}1{close}"),
    ];
    for (open, close, template) in shapes {
        let build = |n: usize| template.replace("{open}", &open.repeat(n)).replace("{close}", &close.repeat(n));
        // The deepest formula of this shape under the size limit.
        let mut n = 1;
        while build(n * 2).len() <= MAX_BYTES {
            n *= 2;
        }
        while build(n + 1).len() <= MAX_BYTES {
            n += 1;
        }
        let deepest = build(n);
        let d = Formula::compile(&deepest).expect_err("too deep");
        assert_eq!(d.code.id(), "E0004", "{open}: {d:?}");
        exercise(&deepest);
        // The deepest accepted nesting of this shape evaluates; one level
        // more is refused.
        let levels_per_repeat = if open.contains('$') { 2 } else { 1 };
        let n = (MAX_DEPTH - 1) / levels_per_repeat;
        let at_limit = build(n);
        let formula = Formula::compile(&at_limit).unwrap_or_else(|d| panic!("{open}: {d:?}"));
        let _ = formula.evaluate(&CONTEXT);
        exercise(&at_limit);
        assert_eq!(Formula::compile(&build(n + 1)).expect_err("too deep").code.id(), "E0004", "{open}");
    }
    // A long left-leaning sum, the likeliest deep tree in a real formula.
    let sum = format!("$x = 1{}", " + 1".repeat(MAX_DEPTH - 1));
    assert_eq!(support::value_in(&sum, &CONTEXT, "$x"), MAX_DEPTH.to_string());
    let sum = format!("$x = 1{}", " + 1".repeat(MAX_DEPTH));
    assert_eq!(Formula::compile(&sum).expect_err("too deep").code.id(), "E0004");
}

/// The size limit falls inside a multi-byte character: the span must start
/// at that character, not in its middle.
#[test]
fn too_long_with_a_character_across_the_limit() {
    let source = format!("{}é + 1", "x".repeat(MAX_BYTES - 1));
    let d = Formula::compile(&source).expect_err("too long");
    assert_eq!(d.span.start, MAX_BYTES - 1);
    exercise(&source);
    let text = render_to_string("long.formula", &source, &[d]);
    assert!(text.contains("long.formula:1:8192"), "{text}");
}

/// Found by `fuzz_formulas`: an operand that always fails next to one of a
/// type the operator refuses. The checker reported only the failing operand
/// and let the operator through; the interpreter then type-checked the left
/// operand of `||` before running the right one and failed with
/// "internal error: unexpected value [3]" instead of the right operand's error.
#[test]
fn failing_operand_beside_a_wrong_type() {
    let ctx = &*CONTEXT;
    let source = "$a = $PendingTasks.GetSample(1) || avg(norm(1e-267), TimeInterval_Minute, 3e257)";
    let (code, message) = support::failure(source, ctx);
    assert_eq!(code, "AutoScalingFormulaEvaluationError");
    assert_eq!(message, "Line 1, Col 36: Invalid arguments to avg(double, timeinterval, double)");
    exercise(source);
    for (source, message) in [
        ("$v = $PendingTasks.GetSample(3);\n$x = $v || $nowhere;", "Line 2, Col 12: Undefined symbol: $nowhere"),
        ("$x = time() && $nowhere;", "Line 1, Col 16: Undefined symbol: $nowhere"),
        ("$x = $nowhere && time();", "Line 1, Col 6: Undefined symbol: $nowhere"),
        ("$x = \"a\" < $nowhere;", "Line 1, Col 12: Undefined symbol: $nowhere"),
        ("$x = requeue + $nowhere;", "Line 1, Col 16: Undefined symbol: $nowhere"),
    ] {
        assert_eq!(support::failure(source, ctx).1, message, "{source:?}");
        exercise(source);
    }
    // `stop()` has no value either: the statement stops, nothing fails.
    let outcome =
        support::evaluate("$TargetDedicatedNodes = 4; $x = $PendingTasks.GetSample(1) || stop(); $y = 1", ctx)
            .expect("stops");
    assert!(outcome.stopped);
    assert_eq!(
        outcome.results.to_string(),
        "$TargetDedicatedNodes=4;$TargetLowPriorityNodes=1;$NodeDeallocationOption=requeue"
    );
}
