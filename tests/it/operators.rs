//! Spec §3–§4, §6 and §8–§9 as tables: every operator row, precedence,
//! the type errors (statically as a checker diagnostic, at run time as the
//! service's error), variables, the results string and the size limits.
//!
//! Every expected value is worked out by hand from the spec; the context is
//! the tests' default instant, 2016-10-13T19:18:47.805Z (a Thursday).

use autoscale_sim::formula::Formula;
use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::diag::Code;

use crate::support::{context, empty_context, evaluate, failure, results, value, value_in};
use crate::tables::{EVAL_ERROR, assert_rejected, assert_runtime_errors, assert_values, diagnostics};

const TOO_LONG: &str = "AutoScalingFormulaTooLong";

/// Samples that make `$v = [1,2,3]`, `$w = [10,20,30]`, `$u = [5,6]` (oldest first).
const VECTORS: &str = r#"{"metrics": {
    "CPUPercent": {"samples": [[75, 1], [45, 2], [15, 3]]},
    "DiskBytes": {"samples": [[15, 30], [45, 20], [75, 10]]},
    "NetworkInBytes": {"samples": [[45, 5], [15, 6]]}
}}"#;

/// Line 1 of every vector row; the row itself is line 2.
const VECTOR_PRELUDE: &str = "$v = $CPUPercent.GetSample(3); $w = $DiskBytes.GetSample(3); $u = $NetworkInBytes.GetSample(2); $e = $FailedTasks.GetSample(1);\n";

/// The pool the variable tests run against.
const POOL: &str = r#"{"pool": {"target_dedicated": 2, "target_low_priority": 1, "current_dedicated": 3,
    "current_low_priority": 4, "task_slots_per_node": 5}}"#;

/// The results string's fixed head for an empty pool.
const HEAD: &str = "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue";
/// The head after `$TargetDedicatedNodes`, for an empty pool.
const REST: &str = "$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue";

/// Rows `(formula, results string)` of successful evaluations in `ctx`.
fn assert_results(ctx: &EvalContext, rows: &[(&str, &str)]) {
    for &(src, want) in rows {
        let found = diagnostics(src);
        assert!(found.is_empty(), "row {src:?}: unexpected diagnostics {found:?}");
        match evaluate(src, ctx) {
            Ok(outcome) => assert_eq!(outcome.results.to_string(), want, "row {src:?}"),
            Err(e) => panic!("row {src:?} failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------- §4 rows

#[test]
fn double_arithmetic() {
    let rows = [
        ("$r = 1 + 2", "3"),
        ("$r = 5 - 8", "-3"),
        ("$r = 2.5 * 4", "10"),
        ("$r = 1 / 2", "0.5"),
        ("$r = 7 / 2 * 2", "7"),
        ("$r = 29 / 30 * 100", "96.6667"),
        ("$r = 0.1 + 0.2", "0.3"),
        ("$r = 1e3 - 1", "999"),
        // IEEE division by zero.
        ("$r = 1 / 0", "inf"),
        ("$r = -1 / 0", "-inf"),
        ("$r = 1 / -0.0 < 0", "1"),
        ("$r = 0 / 0", "nan"),
        ("$r = (1 / 0) - (1 / 0)", "nan"),
        ("$r = (1 / 0) * 0", "nan"),
        ("$r = 1 / (1 / 0)", "0"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn interval_arithmetic() {
    let rows = [
        // double * interval, interval * double, interval / double
        ("$r = 90 * TimeInterval_Second", "00:01:30"),
        ("$r = TimeInterval_Minute * 1.5", "00:01:30"),
        ("$r = TimeInterval_Hour / 4", "00:15:00"),
        ("$r = TimeInterval_Day / 2", "12:00:00"),
        ("$r = 0 * TimeInterval_Week", "00:00:00"),
        ("$r = -2 * TimeInterval_Minute", "-00:02:00"),
        ("$r = TimeInterval_Millisecond * 1500", "00:00:01.5000000"),
        // interval ± interval
        ("$r = TimeInterval_Minute + TimeInterval_Second", "00:01:01"),
        ("$r = TimeInterval_Minute - TimeInterval_Hour", "-00:59:00"),
        ("$r = TimeInterval_Day + TimeInterval_Hour", "1.01:00:00"),
        ("$r = TimeInterval_Second - TimeInterval_Millisecond", "00:00:00.9990000"),
        // the named constants (§3)
        ("$r = TimeInterval_Zero", "00:00:00"),
        ("$r = TimeInterval_100ns", "00:00:00.0000001"),
        ("$r = TimeInterval_Microsecond", "00:00:00.0000010"),
        ("$r = TimeInterval_Millisecond", "00:00:00.0010000"),
        ("$r = TimeInterval_Second", "00:00:01"),
        ("$r = TimeInterval_Minute", "00:01:00"),
        ("$r = TimeInterval_Hour", "01:00:00"),
        ("$r = TimeInterval_Day", "1.00:00:00"),
        ("$r = TimeInterval_Week", "7.00:00:00"),
        ("$r = TimeInterval_Year", "365.00:00:00"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn interval_division_by_zero_is_an_evaluation_error() {
    // (decision, spec silent) an interval cannot hold ±inf: dividing one by
    // zero, or scaling it by inf, fails at the operator.
    let rows = [("$r = TimeInterval_Hour / 0", 6), ("$r = 1 + 1; $s = TimeInterval_Second * (1 / 0)", 18)];
    assert_runtime_errors(&empty_context(), "", &rows);
}

#[test]
fn timestamp_arithmetic() {
    let rows = [
        // timestamp + interval, interval + timestamp
        ("$r = time() + TimeInterval_Hour", "2016-10-13T20:18:47.805Z"),
        ("$r = TimeInterval_Day + time()", "2016-10-14T19:18:47.805Z"),
        ("$r = time() + -TimeInterval_Minute", "2016-10-13T19:17:47.805Z"),
        ("$r = time() + 5 * TimeInterval_Hour", "2016-10-14T00:18:47.805Z"),
        ("$r = time(\"2016-02-28T12:00:00Z\") + TimeInterval_Day", "2016-02-29T12:00:00.000Z"),
        // timestamp - timestamp
        ("$r = time() - time(\"2016-10-13T00:00:00Z\")", "19:18:47.8050000"),
        ("$r = time(\"2016-10-14T00:00:00Z\") - time(\"2016-10-13T00:00:00Z\")", "1.00:00:00"),
        ("$r = time(\"2016-10-13T00:00:00Z\") - time(\"2016-10-14T00:00:00Z\")", "-1.00:00:00"),
        ("$r = time() - time()", "00:00:00"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn vector_arithmetic() {
    // $v = [1,2,3], $w = [10,20,30]
    let rows = [
        // doubleVec ∘ double
        ("$r = $v + 1", "[2,3,4]"),
        ("$r = $v - 1", "[0,1,2]"),
        ("$r = $v * 2", "[2,4,6]"),
        ("$r = $v / 2", "[0.5,1,1.5]"),
        ("$r = $v / 0", "[inf,inf,inf]"),
        ("$r = ($v - 2) / 0", "[-inf,nan,inf]"),
        // double ∘ doubleVec (decision: accepted like doubleVec ∘ double)
        ("$r = 1 + $v", "[2,3,4]"),
        ("$r = 10 - $v", "[9,8,7]"),
        ("$r = 2 * $v", "[2,4,6]"),
        ("$r = 6 / $v", "[6,3,2]"),
        // doubleVec ∘ doubleVec, element-wise
        ("$r = $v + $w", "[11,22,33]"),
        ("$r = $w - $v", "[9,18,27]"),
        ("$r = $v * $w", "[10,40,90]"),
        ("$r = $w / $v", "[10,10,10]"),
        ("$r = $e + $e", "[]"),
        ("$r = ($v + $w) * 2 - $v", "[21,42,63]"),
    ];
    assert_values(&context(VECTORS), VECTOR_PRELUDE, &rows);
}

#[test]
fn vector_length_mismatch_is_an_evaluation_error() {
    // $v and $w have 3 elements, $u 2, $e none: the error points at the operation.
    let rows =
        [("$r = $v + $u", 6), ("$r = $u * $v", 6), ("$r = 1 + ($w / $e)", 11), ("$r = $v - $w; $s = $v - $u", 20)];
    assert_runtime_errors(&context(VECTORS), VECTOR_PRELUDE, &rows);
}

#[test]
fn unary_operators() {
    let rows = [
        ("$r = -3", "-3"),
        ("$r = --3", "3"),
        ("$r = -(1 - 4)", "3"),
        ("$r = -TimeInterval_Minute", "-00:01:00"),
        ("$r = --TimeInterval_Minute", "00:01:00"),
        ("$r = -(TimeInterval_Second - TimeInterval_Minute)", "00:00:59"),
        ("$r = !0", "1"),
        ("$r = !1", "0"),
        ("$r = !5", "0"),
        ("$r = !-0.5", "0"),
        ("$r = !!7", "1"),
        ("$r = !(0 / 0)", "0"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn comparisons() {
    let rows = [
        // double
        ("$r = 1 < 2", "1"),
        ("$r = 2 < 1", "0"),
        ("$r = 2 <= 2", "1"),
        ("$r = 3 <= 2", "0"),
        ("$r = 3 > 4", "0"),
        ("$r = 4 > 3", "1"),
        ("$r = 4 >= 5", "0"),
        ("$r = 5 >= 5", "1"),
        ("$r = 1 == 1", "1"),
        ("$r = 1 == 2", "0"),
        ("$r = 1 != 1", "0"),
        ("$r = 1 != 2", "1"),
        ("$r = 0 / 0 == 0 / 0", "0"),
        ("$r = 0 / 0 != 0 / 0", "1"),
        ("$r = 1 / 0 > 1e308", "1"),
        // string (ordinal)
        ("$r = \"abc\" == \"abc\"", "1"),
        ("$r = \"abc\" != \"abc\"", "0"),
        ("$r = \"abc\" < \"abd\"", "1"),
        ("$r = \"ab\" < \"abc\"", "1"),
        ("$r = \"B\" < \"a\"", "1"),
        ("$r = \"b\" >= \"a\"", "1"),
        ("$r = \"a\" > \"a\"", "0"),
        ("$r = \"a\" <= \"a\"", "1"),
        // timestamp
        ("$r = time() > time(\"2016-10-13T19:18:47Z\")", "1"),
        ("$r = time() < time(\"2016-10-13T19:18:47Z\")", "0"),
        ("$r = time(\"2016-10-13T21:18:47.805+02:00\") == time()", "1"),
        ("$r = time() <= time()", "1"),
        ("$r = time() >= time() + TimeInterval_100ns", "0"),
        ("$r = time() != time(\"2016-10-13\")", "1"),
        // timeinterval
        ("$r = TimeInterval_Minute == 60 * TimeInterval_Second", "1"),
        ("$r = TimeInterval_Hour < TimeInterval_Minute", "0"),
        ("$r = -TimeInterval_Second < TimeInterval_Zero", "1"),
        ("$r = TimeInterval_Week >= 7 * TimeInterval_Day", "1"),
        ("$r = TimeInterval_Year > 52 * TimeInterval_Week", "1"),
        ("$r = TimeInterval_Millisecond != 1000 * TimeInterval_Microsecond", "0"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn logical_operators_return_one_or_zero() {
    let rows = [
        ("$r = 1 && 1", "1"),
        ("$r = 2 && 3", "1"),
        ("$r = 1 && 0", "0"),
        ("$r = 0 && 0", "0"),
        ("$r = 0.5 && -0.5", "1"),
        ("$r = 0 || 0", "0"),
        ("$r = 0 || -2", "1"),
        ("$r = 5 || 0", "1"),
        ("$r = 7 || 9", "1"),
        ("$r = (0 / 0) && 1", "1"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn logical_operators_evaluate_both_sides() {
    // The right side runs even when the left decides: its error surfaces.
    let ctx = context(VECTORS);
    assert_runtime_errors(&ctx, VECTOR_PRELUDE, &[("$r = 0 && val($v, 5)", 11), ("$r = 1 || val($v, 3)", 11)]);
    let (code, message) = failure("$r = 0 && $nope", &empty_context());
    assert_eq!((code.as_str(), message.as_str()), (EVAL_ERROR, "Line 1, Col 11: Undefined symbol: $nope"));

    // ... and draws its random number: the next rand() is the second draw.
    let seeded = context(r#"{"seed": 11}"#);
    let second = value_in("$a = rand(); $r = rand()", &seeded, "$r");
    let first = value_in("$r = rand()", &seeded, "$r");
    assert_ne!(first, second, "two draws differ");
    for src in ["$a = 0 && rand(); $r = rand()", "$a = 1 || rand(); $r = rand()"] {
        assert_eq!(value_in(src, &seeded, "$r"), second, "row {src:?}");
    }
}

#[test]
fn ternary() {
    let ctx = context(VECTORS);
    let rows = [
        ("$r = 1 ? 10 : 20", "10"),
        ("$r = 0 ? 10 : 20", "20"),
        // nonzero is true
        ("$r = -0.5 ? 10 : 20", "10"),
        ("$r = 42 ? 10 : 20", "10"),
        ("$r = (0 / 0) ? 10 : 20", "10"),
        ("$r = 2 > 3 ? 10 : 20", "20"),
        // right-associative: 1 ? 2 : (0 ? 3 : 4); left would give 3
        ("$r = 1 ? 2 : 0 ? 3 : 4", "2"),
        ("$r = 0 ? 2 : 0 ? 3 : 4", "4"),
        ("$r = 1 ? 0 ? 5 : 6 : 7", "6"),
        // any type on both branches, when they agree
        ("$r = 1 ? TimeInterval_Minute : TimeInterval_Hour", "00:01:00"),
        ("$r = 0 ? \"a\" : \"b\"", "b"),
        ("$r = 1 ? time() : time() + TimeInterval_Day", "2016-10-13T19:18:47.805Z"),
        ("$r = 0 ? $v : $w", "[10,20,30]"),
        // (decision, spec silent) only the chosen branch is evaluated
        ("$r = 1 ? 2 : val($v, 5)", "2"),
        ("$r = 0 ? val($v, 5) : 3", "3"),
    ];
    assert_values(&ctx, VECTOR_PRELUDE, &rows);
}

#[test]
fn c_precedence() {
    let rows = [
        ("$r = 1 + 2 * 3", "7"),
        ("$r = (1 + 2) * 3", "9"),
        ("$r = 10 - 4 - 3", "3"),
        ("$r = 16 / 4 / 2", "2"),
        ("$r = 2 * 3 / 4", "1.5"),
        ("$r = -2 * 3", "-6"),
        ("$r = -2 - 3", "-5"),
        ("$r = -2 * -3", "6"),
        // unary binds tighter than * and +
        ("$r = !0 * 3", "3"),
        ("$r = !0 + 1", "2"),
        // postfix binds tighter than unary: -(time().hour)
        ("$r = -time().hour", "-19"),
        // arithmetic before comparison: (1 + 2) < 4, not 1 + (2 < 4)
        ("$r = 1 + 2 < 4", "1"),
        ("$r = 2 * 3 > 5", "1"),
        // relational before equality: (1 < 2) == 1
        ("$r = 1 < 2 == 1", "1"),
        ("$r = 0 == 1 > 2", "1"),
        // comparisons chain left to right
        ("$r = 1 < 2 < 3", "1"),
        ("$r = 3 > 2 > 1", "0"),
        // equality before &&: (2 == 2) && 3
        ("$r = 2 == 2 && 3", "1"),
        ("$r = 3 && 2 == 2", "1"),
        // && before ||
        ("$r = 1 || 0 && 0", "1"),
        ("$r = 0 && 0 || 1", "1"),
        // || before ?:
        ("$r = 1 || 0 ? 5 : 6", "5"),
        ("$r = 0 && 1 ? 5 : 6", "6"),
        ("$r = 1 + 1 ? 5 : 6", "5"),
        // the ternary's branches take whole expressions
        ("$r = 1 ? 2 + 3 : 4 * 5", "5"),
        ("$r = 0 ? 2 + 3 : 4 * 5", "20"),
    ];
    assert_values(&empty_context(), "", &rows);
}

// ---------------------------------------------------------- type errors

#[test]
fn operator_type_errors() {
    use Code::{MetricAsValue, OperatorType};
    let rows = [
        // timestamp with a double
        ("$r = time() + 1", OperatorType, 6),
        ("$r = 1 + time()", OperatorType, 6),
        ("$r = time() * 2", OperatorType, 6),
        ("$r = 2 * time()", OperatorType, 6),
        ("$r = time() / 2", OperatorType, 6),
        // timestamp − interval, timestamp + timestamp, interval − timestamp
        ("$r = time() - TimeInterval_Hour", OperatorType, 6),
        ("$r = time() + time()", OperatorType, 6),
        ("$r = TimeInterval_Hour - time()", OperatorType, 6),
        // intervals: no interval / interval, interval * interval, double / interval, interval ± double
        ("$r = TimeInterval_Hour / TimeInterval_Minute", OperatorType, 6),
        ("$r = TimeInterval_Hour * TimeInterval_Minute", OperatorType, 6),
        ("$r = 2 / TimeInterval_Hour", OperatorType, 6),
        ("$r = TimeInterval_Hour + 1", OperatorType, 6),
        ("$r = 1 - TimeInterval_Hour", OperatorType, 6),
        // strings take no arithmetic
        ("$r = \"a\" + 1", OperatorType, 6),
        ("$r = \"a\" + \"b\"", OperatorType, 6),
        ("$r = \"a\" * 2", OperatorType, 6),
        ("$r = -\"a\"", OperatorType, 6),
        ("$r = !\"a\"", OperatorType, 6),
        // unary on timestamp, ! on interval
        ("$r = -time()", OperatorType, 6),
        ("$r = !time()", OperatorType, 6),
        ("$r = !TimeInterval_Second", OperatorType, 6),
        // comparisons across types
        ("$r = 1 == \"1\"", OperatorType, 6),
        ("$r = \"a\" < 1", OperatorType, 6),
        ("$r = time() < TimeInterval_Hour", OperatorType, 6),
        ("$r = TimeInterval_Second == 1", OperatorType, 6),
        ("$r = time() != 0", OperatorType, 6),
        // && and || take doubles only
        ("$r = 1 && \"a\"", OperatorType, 6),
        ("$r = TimeInterval_Second || 0", OperatorType, 6),
        ("$r = time() && 1", OperatorType, 6),
        // deallocation options are no values
        ("$r = requeue + 1", OperatorType, 6),
        ("$r = terminate == terminate", OperatorType, 6),
        // the error points at the offending subexpression
        ("$r = 1 + (time() + 1)", OperatorType, 11),
        ("$r = 1 + 2 * (TimeInterval_Hour / TimeInterval_Minute)", OperatorType, 15),
        ("$a = 1; $r = time() + 1", OperatorType, 14),
        // a metric is not a number (§6)
        ("$r = $PendingTasks + 1", MetricAsValue, 6),
        ("$r = 1 + $PendingTasks", MetricAsValue, 10),
        ("$r = $CPUPercent", MetricAsValue, 6),
        ("$r = -$RunningTasks", MetricAsValue, 7),
        ("$r = $ActiveTasks > 0 ? 1 : 0", MetricAsValue, 6),
        ("$r = avg($CPUPercent)", MetricAsValue, 10),
    ];
    assert_rejected(&empty_context(), "", &rows);
}

#[test]
fn ternary_type_errors() {
    use Code::TernaryType;
    let rows = [
        // branches of different types: the whole ternary
        ("$r = 1 ? 1 : TimeInterval_Second", TernaryType, 6),
        ("$r = 1 ? time() : \"a\"", TernaryType, 6),
        ("$r = 0 ? 1 : \"1\"", TernaryType, 6),
        ("$r = 1 ? TimeInterval_Second : time()", TernaryType, 6),
        // a condition that is not a double: the condition
        ("$r = time() ? 1 : 2", TernaryType, 6),
        ("$r = \"a\" ? 1 : 2", TernaryType, 6),
        ("$r = 2 + (TimeInterval_Zero ? 1 : 2)", TernaryType, 11),
    ];
    assert_rejected(&empty_context(), "", &rows);
}

#[test]
fn vector_type_errors() {
    use Code::{OperatorType, TernaryType};
    let rows = [
        ("$r = -$v", OperatorType, 6),
        ("$r = !$v", OperatorType, 6),
        ("$r = $v < 1", OperatorType, 6),
        ("$r = 1 > $v", OperatorType, 6),
        ("$r = $v == $w", OperatorType, 6),
        ("$r = $v != $v", OperatorType, 6),
        ("$r = $v && 1", OperatorType, 6),
        ("$r = 0 || $v", OperatorType, 6),
        ("$r = $v + TimeInterval_Second", OperatorType, 6),
        ("$r = TimeInterval_Second * $v", OperatorType, 6),
        ("$r = $v + time()", OperatorType, 6),
        ("$r = $v + \"a\"", OperatorType, 6),
        ("$r = $v ? 1 : 2", TernaryType, 6),
        ("$r = 1 ? $v : 2", TernaryType, 6),
    ];
    assert_rejected(&context(VECTORS), VECTOR_PRELUDE, &rows);
}

#[test]
fn type_error_on_a_later_line() {
    let src = "$a = 1;\n  $r = time() + 1;\n$b = 2";
    let found = diagnostics(src);
    assert_eq!(found.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::OperatorType]);
    let (code, message) = failure(src, &empty_context());
    assert_eq!(code, EVAL_ERROR);
    assert_eq!(message, format!("Line 2, Col 8: {}", found[0].message));
}

// ------------------------------------------------------------ variables

#[test]
fn undefined_symbols() {
    let rows = [
        ("$something_useless", "Line 1, Col 1: Undefined symbol: $something_useless"),
        ("$r = $nope + 1", "Line 1, Col 6: Undefined symbol: $nope"),
        ("$r = nope", "Line 1, Col 6: Undefined symbol: nope"),
        // read before its first assignment
        ("$r = $x; $x = 1", "Line 1, Col 6: Undefined symbol: $x"),
        ("$x = $x + 1", "Line 1, Col 6: Undefined symbol: $x"),
        // names are case-sensitive
        ("$a = 1;\n$b = $a + $A", "Line 2, Col 11: Undefined symbol: $A"),
        ("$r = $targetDedicatedNodes", "Line 1, Col 6: Undefined symbol: $targetDedicatedNodes"),
        ("$r = TimeInterval_second", "Line 1, Col 6: Undefined symbol: TimeInterval_second"),
        ("$r = avg(1, $nope)", "Line 1, Col 13: Undefined symbol: $nope"),
        ("$NodeDeallocationOption = drain", "Line 1, Col 27: Undefined symbol: drain"),
    ];
    for (src, want) in rows {
        let found = diagnostics(src);
        assert_eq!(found.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::UndefinedSymbol], "row {src:?}");
        assert_eq!(failure(src, &empty_context()), (EVAL_ERROR.to_owned(), want.to_owned()), "row {src:?}");
    }
}

#[test]
fn read_only_variables_cannot_be_assigned() {
    use Code::ReadOnly;
    let rows = [
        ("$CurrentDedicatedNodes = 3", ReadOnly, 1),
        ("$CurrentDedicated = 3", ReadOnly, 1),
        ("$CurrentLowPriorityNodes = 1", ReadOnly, 1),
        ("$CurrentLowPriority = 1", ReadOnly, 1),
        ("$TaskSlotsPerNode = 4", ReadOnly, 1),
        ("$PendingTasks = 1", ReadOnly, 1),
        ("$CPUPercent = 50", ReadOnly, 1),
        ("TimeInterval_Second = 1", ReadOnly, 1),
        ("$a = 1; TimeInterval_Minute = 2", ReadOnly, 9),
        ("requeue = 1", ReadOnly, 1),
    ];
    assert_rejected(&context(POOL), "", &rows);
}

#[test]
fn service_variables_read_the_pool() {
    let rows = [
        ("$r = $CurrentDedicatedNodes", "3"),
        ("$r = $CurrentDedicated", "3"),
        ("$r = $CurrentLowPriorityNodes", "4"),
        ("$r = $CurrentLowPriority", "4"),
        ("$r = $TaskSlotsPerNode", "5"),
        ("$r = $TargetDedicatedNodes", "2"),
        ("$r = $TargetDedicated", "2"),
        ("$r = $TargetLowPriorityNodes", "1"),
        ("$r = $TargetLowPriority", "1"),
        ("$r = $CurrentDedicatedNodes * $TaskSlotsPerNode", "15"),
    ];
    assert_values(&context(POOL), "", &rows);
    // $TaskSlotsPerNode defaults to 1, everything else to 0.
    assert_values(&empty_context(), "", &[("$r = $TaskSlotsPerNode", "1"), ("$r = $CurrentDedicatedNodes", "0")]);
}

#[test]
fn targets_and_their_aliases() {
    let head = |d: &str, l: &str| {
        format!("$TargetDedicatedNodes={d};$TargetLowPriorityNodes={l};$NodeDeallocationOption=requeue")
    };
    let rows = [
        // unassigned targets print the pool's targets; read-only variables never print
        ("", head("2", "1")),
        ("$r = $CurrentDedicatedNodes", head("2", "1") + ";$r=3"),
        ("$TargetDedicatedNodes = 7", head("7", "1")),
        ("$TargetLowPriorityNodes = 6", head("2", "6")),
        // an alias reports under the full name
        ("$TargetDedicated = 4", head("4", "1")),
        ("$TargetLowPriority = 6", head("2", "6")),
        // when both are assigned the full name wins, whatever the order
        ("$TargetDedicatedNodes = 1; $TargetDedicated = 5", head("1", "1")),
        ("$TargetDedicated = 5; $TargetDedicatedNodes = 1", head("1", "1")),
        ("$TargetLowPriorityNodes = 0; $TargetLowPriority = 3", head("2", "0")),
        // the alias and the full name are two variables, both starting at the pool's target
        ("$TargetDedicated = 5; $r = $TargetDedicatedNodes", head("5", "1") + ";$r=2"),
        ("$TargetDedicatedNodes = 7; $r = $TargetDedicated", head("7", "1") + ";$r=2"),
        ("$TargetDedicatedNodes = $TargetDedicatedNodes + 1", head("3", "1")),
        ("$TargetLowPriority = $TargetLowPriority * 4", head("2", "4")),
        // a wrong-case name is a user variable, printed as one
        ("$targetDedicatedNodes = 5", head("2", "1") + ";$targetDedicatedNodes=5"),
        // targets print as the raw doubles computed
        ("$TargetDedicatedNodes = 0.5", head("0.5", "1")),
        ("$TargetDedicatedNodes = 2.9", head("2.9", "1")),
    ];
    let ctx = context(POOL);
    let rows: Vec<(&str, &str)> = rows.iter().map(|(src, want)| (*src, want.as_str())).collect();
    assert_results(&ctx, &rows);
    // The service applies targets truncated toward zero.
    let outcome = evaluate("$TargetDedicatedNodes = 2.9; $TargetLowPriorityNodes = 0.5", &ctx).expect("evaluates");
    assert_eq!(outcome.applied_targets(), (2, 0));
    // The oracle's real example.
    assert_eq!(results("$TargetDedicated = 1;"), format!("$TargetDedicatedNodes=1;{}", REST));
}

#[test]
fn target_type_errors() {
    use Code::AssignType;
    let rows = [
        ("$TargetDedicatedNodes = time()", AssignType, 25),
        ("$TargetLowPriorityNodes = TimeInterval_Hour", AssignType, 27),
        ("$TargetDedicated = \"3\"", AssignType, 20),
    ];
    assert_rejected(&empty_context(), "", &rows);
}

#[test]
fn deallocation_option_keywords() {
    let with =
        |option: &str| format!("$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption={option}");
    let rows = [
        ("", with("requeue")),
        ("$NodeDeallocationOption = terminate", with("terminate")),
        ("$NodeDeallocationOption = taskcompletion", with("taskcompletion")),
        ("$NodeDeallocationOption = retaineddata", with("retaineddata")),
        ("$NodeDeallocationOption = requeue", with("requeue")),
        // (decision) keywords are case-insensitive; they print lowercase
        ("$NodeDeallocationOption = TaskCompletion", with("taskcompletion")),
        ("$NodeDeallocationOption = RETAINEDDATA", with("retaineddata")),
        ("$NodeDeallocationOption = Terminate", with("terminate")),
        ("$NodeDeallocationOption = reQueue", with("requeue")),
        // the last assignment wins
        ("$NodeDeallocationOption = terminate; $NodeDeallocationOption = requeue", with("requeue")),
    ];
    let rows: Vec<(&str, &str)> = rows.iter().map(|(src, want)| (*src, want.as_str())).collect();
    assert_results(&empty_context(), &rows);
}

#[test]
fn deallocation_option_errors() {
    use Code::DeallocationValue;
    let rows = [
        ("$NodeDeallocationOption = 5", DeallocationValue, 27),
        ("$NodeDeallocationOption = \"terminate\"", DeallocationValue, 27),
        ("$NodeDeallocationOption = 1 + 1", DeallocationValue, 27),
        ("$NodeDeallocationOption = time()", DeallocationValue, 27),
        // an option anywhere but $NodeDeallocationOption
        ("$x = terminate", DeallocationValue, 6),
        ("$a = 1;  x = Requeue", DeallocationValue, 14),
    ];
    assert_rejected(&empty_context(), "", &rows);
}

#[test]
fn results_list_user_variables_in_byte_order() {
    let rows = [
        // `$` (0x24) < uppercase < `_` (0x5F) < lowercase; bare names print without `$`
        (
            "b = 1; $B = 2; c = 3; $a = 4; A = 5; _x = 6; $_y = 7; Z = 8",
            format!("{HEAD};$B=2;$_y=7;$a=4;A=5;Z=8;_x=6;b=1;c=3"),
        ),
        // a prefix sorts first; digits before letters
        ("$ab = 1; $a = 2; $a1 = 3; $aB = 4", format!("{HEAD};$a=2;$a1=3;$aB=4;$ab=1")),
        // each variable once, with its last value
        ("$x = 1; $y = $x; $x = 2; $x = $x * 10", format!("{HEAD};$x=20;$y=1")),
        // values of every type print in the results format
        (
            "s = \"text\"; t = time(); i = 90 * TimeInterval_Second; d = 29 / 30 * 100",
            format!("{HEAD};d=96.6667;i=00:01:30;s=text;t=2016-10-13T19:18:47.805Z"),
        ),
        // a bare expression assigns nothing
        ("1 + 2; $x = 3; $x * 2", format!("{HEAD};$x=3")),
    ];
    let rows: Vec<(&str, &str)> = rows.iter().map(|(src, want)| (*src, want.as_str())).collect();
    assert_results(&empty_context(), &rows);
    assert_eq!(
        results_in("$v = $CPUPercent.GetSample(3); $TargetDedicatedNodes = 1", &context(VECTORS)),
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$v=[1,2,3]"
    );
}

fn results_in(src: &str, ctx: &EvalContext) -> String {
    match evaluate(src, ctx) {
        Ok(outcome) => outcome.results.to_string(),
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

#[test]
fn printing() {
    let rows = [
        // doubles as C's %g
        ("$r = 5", "5"),
        ("$r = 0", "0"),
        ("$r = -3", "-3"),
        ("$r = 0.5", "0.5"),
        ("$r = .5", "0.5"),
        ("$r = 2.5E-2", "0.025"),
        ("$r = 29 / 30 * 100", "96.6667"),
        ("$r = 1 / 3", "0.333333"),
        ("$r = 2 / 3", "0.666667"),
        ("$r = 1e7", "1e+07"),
        ("$r = 10000000", "1e+07"),
        ("$r = 123456", "123456"),
        ("$r = 1234567", "1.23457e+06"),
        ("$r = 999999.5", "1e+06"),
        ("$r = 0.0001", "0.0001"),
        ("$r = 0.00001234", "1.234e-05"),
        ("$r = -1.5e-300", "-1.5e-300"),
        // booleans are doubles
        ("$r = 3 > 2", "1"),
        // timestamps: ISO 8601 UTC, exactly 3 fractional digits
        ("$r = time()", "2016-10-13T19:18:47.805Z"),
        ("$r = time(\"2016-10-13T19:18:47Z\")", "2016-10-13T19:18:47.000Z"),
        ("$r = time(\"2016-10-13T19:18:47.5Z\")", "2016-10-13T19:18:47.500Z"),
        ("$r = time(\"2016-10-13T19:18:47.1234567Z\")", "2016-10-13T19:18:47.123Z"),
        // intervals: [-][d.]hh:mm:ss[.fffffff]
        ("$r = 90 * TimeInterval_Second", "00:01:30"),
        ("$r = -(36 * TimeInterval_Hour + TimeInterval_Millisecond)", "-1.12:00:00.0010000"),
        // strings as their text
        ("$r = \"hello world\"", "hello world"),
    ];
    assert_values(&empty_context(), "", &rows);
    let vectors = [
        ("$r = $v", "[1,2,3]"),
        ("$r = $v / 4", "[0.25,0.5,0.75]"),
        ("$r = $v * 1e7", "[1e+07,2e+07,3e+07]"),
        ("$r = $v / 3", "[0.333333,0.666667,1]"),
        ("$r = $e", "[]"),
    ];
    assert_values(&context(VECTORS), VECTOR_PRELUDE, &vectors);
}

// ------------------------------------------------------ failed evaluations

#[test]
fn failed_evaluation_keeps_earlier_assignments() {
    let rows = [
        (
            "$TargetDedicatedNodes = 4; $a = 1; $r = $nope; $b = 2",
            "$TargetDedicatedNodes=4;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=1",
        ),
        (
            "$NodeDeallocationOption = terminate; z = 1; $TaskSlotsPerNode = 2; y = 3",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=terminate;z=1",
        ),
        (
            "$a = 1; $a = 2; $b = time() + 1",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=2",
        ),
        (
            "$x = 1; $x = $x + time()",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$x=1",
        ),
    ];
    for (src, want) in rows {
        match evaluate(src, &empty_context()) {
            Ok(o) => panic!("row {src:?} succeeded with {}", o.results),
            Err(e) => {
                assert_eq!(e.code.as_str(), EVAL_ERROR, "row {src:?}");
                assert_eq!(e.results.to_string(), want, "row {src:?}");
            }
        }
    }
}

#[test]
fn negative_or_non_finite_targets_fail() {
    // (decision §8) reported at the assignment that left the bad value.
    let rows = [
        ("$TargetDedicatedNodes = -1", 1),
        ("$TargetLowPriorityNodes = 1 / 0", 1),
        ("$TargetDedicatedNodes = 0 / 0", 1),
        ("$TargetDedicatedNodes = -1 / 0", 1),
        ("$TargetDedicated = -2", 1),
        ("$TargetLowPriority = 0 / 0", 1),
        ("$a = 1; $TargetDedicatedNodes = -1", 9),
        ("$TargetDedicatedNodes = 5;\n$TargetLowPriorityNodes = -0.5", 1),
    ];
    for (src, column) in rows {
        assert!(diagnostics(src).is_empty(), "row {src:?}");
        let (code, message) = failure(src, &empty_context());
        assert_eq!(code, EVAL_ERROR, "row {src:?}");
        let line = src.matches('\n').count() + 1;
        let prefix = format!("Line {line}, Col {column}: ");
        assert!(message.starts_with(&prefix), "row {src:?}: {message:?} does not start with {prefix:?}");
    }
    // The failure still reports what was assigned.
    let e = evaluate("$TargetDedicatedNodes = -1; $r = 2", &empty_context()).expect_err("fails");
    assert_eq!(e.results.to_string(), format!("$TargetDedicatedNodes=-1;{};$r=2", REST));
    // A bad value that is replaced, or a bad alias under an assigned full name, is fine.
    let fine = [
        ("$TargetDedicatedNodes = -1; $TargetDedicatedNodes = 1", "1"),
        ("$TargetDedicated = -2; $TargetDedicatedNodes = 1", "1"),
        ("$TargetDedicatedNodes = 0", "0"),
    ];
    for (src, dedicated) in fine {
        assert_eq!(results(src), format!("$TargetDedicatedNodes={dedicated};{}", REST), "row {src:?}");
    }
}

// ---------------------------------------------------------------- limits

#[test]
fn formula_size_limit() {
    // Exactly 8192 bytes is accepted, 8193 is not.
    let formula_of = |bytes: usize| {
        let head = "$r = 1; //";
        format!("{head}{}", "x".repeat(bytes - head.len()))
    };
    let at_limit = formula_of(8192);
    assert_eq!(at_limit.len(), 8192);
    assert_eq!(value(&at_limit), "1");
    let over = formula_of(8193);
    let d = Formula::compile(&over).expect_err("too long");
    assert_eq!(d.code, Code::TooLong);
    let e = evaluate(&over, &empty_context()).expect_err("too long");
    assert_eq!(e.code.as_str(), TOO_LONG);
    assert_eq!(e.results.to_string(), HEAD, "nothing is assigned");
    // Bytes, not characters: 4092 two-byte characters after 10 bytes make 8194 bytes.
    let multibyte = format!("$r = 1; //{}", "é".repeat(4092));
    assert_eq!(multibyte.len(), 8194);
    assert_eq!(Formula::compile(&multibyte).expect_err("too long").code, Code::TooLong);
}

#[test]
fn statement_count_limit() {
    let statements = |n: usize| (0..n).map(|i| format!("$v{i} = {i}")).collect::<Vec<_>>();
    let hundred = statements(100).join(";");
    let outcome = evaluate(&hundred, &empty_context()).expect("100 statements are fine");
    assert_eq!(outcome.results.variables.len(), 100);
    // Empty statements and a trailing `;` do not count.
    let sparse = format!(";;{};;", statements(100).join(";;"));
    assert!(evaluate(&sparse, &empty_context()).is_ok(), "empty statements count");
    // Bare expressions count.
    let mut with_bare = statements(100);
    with_bare.push("1 + 1".to_owned());
    for src in [statements(101).join(";"), statements(101).join(";") + ";", with_bare.join(";")] {
        let d = Formula::compile(&src).expect_err("too many statements");
        assert_eq!(d.code, Code::TooManyStatements);
        let (code, _) = failure(&src, &empty_context());
        assert_eq!(code, TOO_LONG);
    }
}
