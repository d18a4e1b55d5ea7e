//! Spec §5 (functions), the timestamp members of §3 and the sample methods
//! of §7 as tables. Every expected value is worked out by hand from the
//! spec, at the tests' default instant 2016-10-13T19:18:47.805Z (a Thursday).

use autoscale_sim::formula::diag::Code;

use crate::support::{context, empty_context, evaluate, failure, value, value_in};
use crate::tables::{assert_rejected, assert_runtime_errors, assert_values, diagnostics};

const INSUFFICIENT: &str = "InsufficientSampleData";

/// Sample histories, `[age_seconds, value]`:
/// - `$CPUPercent` = [1,2,3], `$MemoryBytes` = [1,2,4,8], `$DiskBytes` = [10,20,30];
/// - `$RunningTasks`: a full 3 minutes, one sample every 30 s, valued 1 (oldest,
///   165 s ago) to 6 (newest, 15 s ago);
/// - `$ActiveTasks`: only the last 90 s: 7 (75 s ago), 8 (45 s), 9 (15 s);
/// - every other metric, e.g. `$FailedTasks`: no samples.
const SAMPLES: &str = r#"{"seed": 7, "metrics": {
    "CPUPercent": {"samples": [[75, 1], [45, 2], [15, 3]]},
    "MemoryBytes": {"samples": [[105, 1], [75, 2], [45, 4], [15, 8]]},
    "DiskBytes": {"samples": [[15, 30], [45, 20], [75, 10]]},
    "RunningTasks": {"samples": [[165, 1], [135, 2], [105, 3], [75, 4], [45, 5], [15, 6]]},
    "ActiveTasks": {"samples": [[75, 7], [45, 8], [15, 9]]}
}}"#;

/// Line 1 of the function rows, which are on line 2: `$v = [1,2,3]`,
/// `$m = [1,2,4,8]`, `$w = [10,20,30]`, `$e = []`.
const PRELUDE: &str = "$v = $CPUPercent.GetSample(3); $m = $MemoryBytes.GetSample(4); $w = $DiskBytes.GetSample(3); $e = $FailedTasks.GetSample(5);\n";

// ------------------------------------------------------------ functions

#[test]
fn list_functions_flatten_their_arguments() {
    let rows = [
        // avg
        ("$r = avg(1, 2, 3, 7)", "3.25"),
        ("$r = avg($v, 7)", "3.25"),
        ("$r = avg(7, $v)", "3.25"),
        ("$r = avg($v)", "2"),
        ("$r = avg($m)", "3.75"),
        ("$r = avg($v, $m)", "3"),
        ("$r = avg(5)", "5"),
        ("$r = avg($e, 5)", "5"),
        // len
        ("$r = len($v)", "3"),
        ("$r = len($v, 7)", "4"),
        ("$r = len($v, $m)", "7"),
        ("$r = len(1)", "1"),
        ("$r = len($e)", "0"),
        ("$r = len($e, $e, 0)", "1"),
        // max, min
        ("$r = max($v, 7)", "7"),
        ("$r = max($m)", "8"),
        ("$r = max(1, 5, 3)", "5"),
        ("$r = max(-5)", "-5"),
        ("$r = min($v, 0.5)", "0.5"),
        ("$r = min(3, -1, 2)", "-1"),
        ("$r = min($w, $m)", "1"),
        // norm: the Euclidean norm
        ("$r = norm(3, 4)", "5"),
        ("$r = norm(-2)", "2"),
        ("$r = norm($v)", "3.74166"),
        ("$r = norm($m)", "9.21954"),
        // range = max − min
        ("$r = range($v, 10)", "9"),
        ("$r = range($m)", "7"),
        ("$r = range($w, -10)", "40"),
        ("$r = range(5)", "0"),
        // std: sample standard deviation (n − 1); (decision) 0 for one element
        ("$r = std(2, 4, 4, 4, 5, 5, 7, 9)", "2.13809"),
        ("$r = std($v)", "1"),
        ("$r = std($w)", "10"),
        ("$r = std($v, 2)", "0.816497"),
        ("$r = std(5)", "0"),
        // sum
        ("$r = sum($v, 7)", "13"),
        ("$r = sum($m)", "15"),
        ("$r = sum($v, $w)", "66"),
        ("$r = sum(1, 2.5)", "3.5"),
        ("$r = sum($e)", "0"),
        // nested
        ("$r = max(avg($v), min($m, 10))", "2"),
        ("$r = sum($v * 2, len($w))", "15"),
    ];
    assert_values(&context(SAMPLES), PRELUDE, &rows);
}

#[test]
fn logarithms() {
    let rows = [
        ("$r = lg(8)", "3"),
        ("$r = lg(1)", "0"),
        ("$r = lg(0.5)", "-1"),
        ("$r = lg(0)", "-inf"),
        ("$r = lg(-1)", "nan"),
        ("$r = ln(1)", "0"),
        ("$r = ln(2.718281828459045)", "1"),
        ("$r = ln(0)", "-inf"),
        ("$r = log(1000)", "3"),
        ("$r = log(0.001)", "-3"),
        ("$r = log(2)", "0.30103"),
        // element-wise on a doubleVec
        ("$r = lg($m)", "[0,1,2,3]"),
        ("$r = ln($v)", "[0,0.693147,1.09861]"),
        ("$r = log($w)", "[1,1.30103,1.47712]"),
        ("$r = log($e)", "[]"),
        ("$r = lg($m) * 2", "[0,2,4,6]"),
    ];
    assert_values(&context(SAMPLES), PRELUDE, &rows);
}

#[test]
fn percentile_is_nearest_rank() {
    // $m = [1,2,4,8]: rank = ceil(p / 100 × 4), at least 1.
    // 10 - $v = [9,8,7] is unsorted: percentile sorts first.
    let rows = [
        ("$r = percentile($m, 0)", "1"),
        ("$r = percentile($m, 25)", "1"),
        ("$r = percentile($m, 26)", "2"),
        ("$r = percentile($m, 50)", "2"),
        ("$r = percentile($m, 75)", "4"),
        ("$r = percentile($m, 76)", "8"),
        ("$r = percentile($m, 100)", "8"),
        ("$r = percentile(10 - $v, 0)", "7"),
        ("$r = percentile(10 - $v, 50)", "8"),
        ("$r = percentile(10 - $v, 100)", "9"),
        ("$r = percentile($w, 33.4)", "20"),
    ];
    assert_values(&context(SAMPLES), PRELUDE, &rows);
}

#[test]
fn val_ceil_floor_round() {
    let rows = [
        // val(v, i): element i, from 0
        ("$r = val($v, 0)", "1"),
        ("$r = val($v, 2)", "3"),
        ("$r = val($m, 3)", "8"),
        ("$r = val($w * 2, 1)", "40"),
        ("$r = val($v, len($v) - 1)", "3"),
        // ceil, floor, round
        ("$r = ceil(1.2)", "2"),
        ("$r = ceil(-1.2)", "-1"),
        ("$r = ceil(3)", "3"),
        ("$r = floor(1.8)", "1"),
        ("$r = floor(-1.2)", "-2"),
        ("$r = floor(4)", "4"),
        ("$r = round(1.4)", "1"),
        ("$r = round(1.5)", "2"),
        ("$r = round(-1.6)", "-2"),
        // (decision, spec silent) halves round away from zero
        ("$r = round(2.5)", "3"),
        ("$r = round(-2.5)", "-3"),
        ("$r = ceil(avg($v, 7))", "4"),
        ("$r = round(1 / 0)", "inf"),
    ];
    assert_values(&context(SAMPLES), PRELUDE, &rows);
}

#[test]
fn empty_aggregates_and_bad_arguments_fail_at_run_time() {
    let rows = [
        // an aggregate of an empty list
        ("$r = avg($e)", 6),
        ("$r = max($e)", 6),
        ("$r = min($e)", 6),
        ("$r = norm($e)", 6),
        ("$r = range($e)", 6),
        ("$r = std($e)", 6),
        ("$r = percentile($e, 50)", 6),
        ("$r = val($e, 0)", 6),
        ("$r = avg($e, $e)", 6),
        ("$r = 1 + avg($e)", 10),
        // val out of range
        ("$r = val($v, 3)", 6),
        ("$r = val($v, -1)", 6),
        ("$r = val($v, 100)", 6),
        ("$r = val($v, 0 / 0)", 6),
        // percentile's p outside [0, 100]
        ("$r = percentile($v, 101)", 6),
        ("$r = percentile($v, -1)", 6),
        ("$r = percentile($v, 100.5)", 6),
        ("$r = percentile($v, 0 / 0)", 6),
        // the error is at the call that failed
        ("$r = avg($v);  $s = max($v) + percentile($v, 200)", 31),
    ];
    assert_runtime_errors(&context(SAMPLES), PRELUDE, &rows);
}

#[test]
fn wrong_arguments() {
    use Code::ArgumentType;
    let rows = [
        // list functions take doubles and doubleVecs
        ("$r = avg(time())", ArgumentType, 6),
        ("$r = avg(\"a\")", ArgumentType, 6),
        ("$r = max(TimeInterval_Second)", ArgumentType, 6),
        ("$r = sum(1, \"2\")", ArgumentType, 6),
        ("$r = len($v, time())", ArgumentType, 6),
        // val and percentile take (list, double)
        ("$r = val($v)", ArgumentType, 6),
        ("$r = val($v, 1, 2)", ArgumentType, 6),
        ("$r = val($v, \"1\")", ArgumentType, 6),
        ("$r = val($v, $v)", ArgumentType, 6),
        ("$r = val(time(), 0)", ArgumentType, 6),
        ("$r = percentile($v)", ArgumentType, 6),
        ("$r = percentile($v, time())", ArgumentType, 6),
        ("$r = percentile(TimeInterval_Hour, 50)", ArgumentType, 6),
        // logarithms take one double or doubleVec
        ("$r = lg()", ArgumentType, 6),
        ("$r = lg(1, 2)", ArgumentType, 6),
        ("$r = lg(\"a\")", ArgumentType, 6),
        ("$r = ln(time())", ArgumentType, 6),
        ("$r = log(TimeInterval_Second)", ArgumentType, 6),
        // roundings take one double
        ("$r = ceil($v)", ArgumentType, 6),
        ("$r = round()", ArgumentType, 6),
        ("$r = floor(1, 2)", ArgumentType, 6),
        ("$r = round(\"1\")", ArgumentType, 6),
        // rand, stop: nothing; time: nothing or one string
        ("$r = rand(1)", ArgumentType, 6),
        ("stop(1)", ArgumentType, 1),
        ("$r = time(1)", ArgumentType, 6),
        ("$r = time(\"a\", \"b\")", ArgumentType, 6),
        ("$r = time(time())", ArgumentType, 6),
        // nested: the call itself
        ("$r = 1 + avg(time())", ArgumentType, 10),
    ];
    assert_rejected(&context(SAMPLES), PRELUDE, &rows);
}

#[test]
fn unknown_functions() {
    use Code::UnknownFunction;
    let rows = [
        ("$r = average(1, 2)", UnknownFunction, 6),
        // (decision) function names are case-sensitive
        ("$r = Avg(1)", UnknownFunction, 6),
        ("$r = MAX(1, 2)", UnknownFunction, 6),
        ("$r = Time()", UnknownFunction, 6),
        ("$r = foo()", UnknownFunction, 6),
        ("$r = 1 + sqrt(4)", UnknownFunction, 10),
        ("$r = abs(-1)", UnknownFunction, 6),
        ("$r = pow(2, 3)", UnknownFunction, 6),
    ];
    assert_rejected(&empty_context(), "", &rows);
}

#[test]
fn rand_is_seeded_and_in_unit_interval() {
    for seed in 0..20 {
        let ctx = context(&format!(r#"{{"seed": {seed}}}"#));
        let src = "$a = rand(); $b = rand(); $r = $a >= 0 && $a < 1 && $b >= 0 && $b < 1 && $a != $b";
        assert_eq!(value_in(src, &ctx, "$r"), "1", "seed {seed}");
        // Same seed, same values.
        let first = value_in("$r = rand()", &ctx, "$r");
        assert_eq!(value_in("$r = rand()", &ctx, "$r"), first, "seed {seed}");
        let x: f64 = first.parse().unwrap_or_else(|_| panic!("seed {seed}: {first:?} is a number"));
        assert!((0.0..1.0).contains(&x), "seed {seed}: {x}");
    }
    let draw = |seed: u64| value_in("$r = rand()", &context(&format!(r#"{{"seed": {seed}}}"#)), "$r");
    assert_ne!(draw(7), draw(8), "different seeds, different values");
    // The default seed is 0.
    assert_eq!(value("$r = rand()"), draw(0));
    assert!(diagnostics("$r = rand() * 10").is_empty());
}

#[test]
fn stop_ends_the_evaluation() {
    let rows = [
        (
            "$a = 1; stop(); $b = 2",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=1",
        ),
        (
            "$TargetDedicatedNodes = 3; stop(); $TargetDedicatedNodes = 5",
            "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue",
        ),
        (
            "$NodeDeallocationOption = terminate; $x = 1; $x = stop(); $NodeDeallocationOption = requeue",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=terminate;$x=1",
        ),
        // later statements do not run, so their errors do not happen
        (
            "$a = 1; stop(); $b = val($a, 7)",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=1",
        ),
        // inside an expression
        (
            "$a = 1; $b = $a > 0 ? stop() : 2; $c = 3",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=1",
        ),
        // a stop() that is not reached does nothing
        (
            "$a = 1; $b = $a < 0 ? stop() : 2; $c = 3",
            "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=1;$b=2;$c=3",
        ),
    ];
    for (src, want) in rows {
        assert!(diagnostics(src).is_empty(), "row {src:?}: {:?}", diagnostics(src));
        let outcome = evaluate(src, &empty_context()).unwrap_or_else(|e| panic!("row {src:?} failed: {e}"));
        assert_eq!(outcome.results.to_string(), want, "row {src:?}");
        let stopped = !src.contains("$a < 0");
        assert_eq!(outcome.stopped, stopped, "row {src:?}");
    }
}

// ----------------------------------------------------------------- time

#[test]
fn time_now_and_parsed() {
    let rows = [
        ("$r = time()", "2016-10-13T19:18:47.805Z"),
        // W3C-DTF
        ("$r = time(\"2016-10-13T19:18:47.805Z\")", "2016-10-13T19:18:47.805Z"),
        ("$r = time(\"2016-10-13T19:18:47Z\")", "2016-10-13T19:18:47.000Z"),
        ("$r = time(\"2016-10-13T19:18:47.8Z\")", "2016-10-13T19:18:47.800Z"),
        ("$r = time(\"2016-10-13T21:18:47.805+02:00\")", "2016-10-13T19:18:47.805Z"),
        ("$r = time(\"2016-10-13T17:18:47-02:00\")", "2016-10-13T19:18:47.000Z"),
        ("$r = time(\"2016-10-13T19:18Z\")", "2016-10-13T19:18:00.000Z"),
        ("$r = time(\"2016-10-13\")", "2016-10-13T00:00:00.000Z"),
        ("$r = time(\"2016-10\")", "2016-10-01T00:00:00.000Z"),
        ("$r = time(\"2016\")", "2016-01-01T00:00:00.000Z"),
        // up to 7 fractional digits
        ("$r = time(\"2016-10-13T19:18:47.1234567Z\")", "2016-10-13T19:18:47.123Z"),
        ("$r = time(\"2016-10-13T19:18:47.1234567Z\") - time(\"2016-10-13T19:18:47Z\")", "00:00:00.1234567"),
        // RFC 1123
        ("$r = time(\"Thu, 13 Oct 2016 19:18:47 GMT\")", "2016-10-13T19:18:47.000Z"),
        ("$r = time(\"Mon, 06 Oct 2014 10:20:00 GMT\")", "2014-10-06T10:20:00.000Z"),
        // the forms agree
        ("$r = time(\"Thu, 13 Oct 2016 19:18:47 GMT\") == time(\"2016-10-13T19:18:47Z\")", "1"),
        ("$r = time(\"2016-10-13T19:18:47.805Z\") == time()", "1"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn unparsable_times_fail_at_run_time() {
    let rows = [
        ("$r = time(\"yesterday\")", 6),
        ("$r = time(\"\")", 6),
        ("$r = time(\"2016-13-01\")", 6),
        ("$r = time(\"2016-10-32\")", 6),
        ("$r = time(\"2016-10-13T25:00:00Z\")", 6),
        // more than 7 fractional-second digits: 8 and 9 fail
        ("$r = time(\"2016-10-13T19:18:47.12345678Z\")", 6),
        ("$r = time(\"2016-10-13T19:18:47.123456789Z\")", 6),
        ("$r = 1; $s = time(\"13/10/2016\")", 14),
    ];
    assert_runtime_errors(&empty_context(), "", &rows);
}

#[test]
fn timestamp_members() {
    let rows = [
        // now: Thursday 2016-10-13 19:18:47.805 UTC
        ("$r = time().year", "2016"),
        ("$r = time().month", "10"),
        ("$r = time().day", "13"),
        ("$r = time().weekday", "4"),
        ("$r = time().hour", "19"),
        ("$r = time().minute", "18"),
        ("$r = time().second", "47"),
        ("$t = time(); $r = $t.weekday", "4"),
        // weekday: 1 = Monday ... 7 = Sunday
        ("$r = time(\"2016-10-10T00:00:00Z\").weekday", "1"),
        ("$r = time(\"2016-10-11\").weekday", "2"),
        ("$r = time(\"2016-10-12\").weekday", "3"),
        ("$r = time(\"2016-10-14\").weekday", "5"),
        ("$r = time(\"2016-10-15\").weekday", "6"),
        ("$r = time(\"2016-10-16T12:00:00Z\").weekday", "7"),
        ("$r = (time() + 3 * TimeInterval_Day).weekday", "7"),
        // ranges: month 1–12, day 1–31, hour 0–23
        ("$r = time(\"2016-02-29T23:59:59Z\").day", "29"),
        ("$r = time(\"2016-02-29T23:59:59Z\").month", "2"),
        ("$r = time(\"2016-02-29T23:59:59Z\").hour", "23"),
        ("$r = time(\"2016-02-29T23:59:59Z\").minute", "59"),
        ("$r = time(\"2016-02-29T23:59:59Z\").second", "59"),
        ("$r = time(\"2017-01-31T00:00:00Z\").month", "1"),
        ("$r = time(\"2017-01-31T00:00:00Z\").day", "31"),
        ("$r = time(\"2017-01-31T00:00:00Z\").hour", "0"),
        ("$r = time(\"2016-12-31T23:59:59.9999999Z\").year", "2016"),
        // members are of the UTC instant
        ("$r = time(\"2016-10-13T01:30:00+02:00\").hour", "23"),
        ("$r = time(\"2016-10-13T01:30:00+02:00\").day", "12"),
        ("$r = time(\"2016-10-13T01:30:00+02:00\").weekday", "3"),
        ("$r = time(\"Thu, 13 Oct 2016 19:18:47 GMT\").hour", "19"),
        // a member is a double
        ("$r = time().hour >= 8 && time().hour < 18", "0"),
        ("$r = time().minute * 60 + time().second", "1127"),
    ];
    assert_values(&empty_context(), "", &rows);
}

#[test]
fn unknown_members() {
    use Code::UnknownMember;
    let rows = [
        ("$r = time().hours", UnknownMember, 13),
        ("$r = time().Hour", UnknownMember, 13),
        ("$r = time().millisecond", UnknownMember, 13),
        ("$r = time().dayofweek", UnknownMember, 13),
        // members exist only on timestamps
        ("$x = 1; $r = $x.hour", UnknownMember, 17),
        ("$r = TimeInterval_Hour.hour", UnknownMember, 24),
        // methods exist only on metrics
        ("$x = 1; $r = $x.GetSample(1)", UnknownMember, 17),
        ("$r = time().GetSample(1)", UnknownMember, 13),
    ];
    assert_rejected(&empty_context(), "", &rows);
}

// ------------------------------------------------------- sample methods

#[test]
fn get_sample() {
    let rows = [
        // GetSample(n): the n most recent, oldest first; fewer if fewer exist
        ("$r = $RunningTasks.GetSample(3)", "[4,5,6]"),
        ("$r = $RunningTasks.GetSample(1)", "[6]"),
        ("$r = $RunningTasks.GetSample(6)", "[1,2,3,4,5,6]"),
        ("$r = $RunningTasks.GetSample(10)", "[1,2,3,4,5,6]"),
        ("$r = $RunningTasks.GetSample(0)", "[]"),
        ("$r = $ActiveTasks.GetSample(10)", "[7,8,9]"),
        ("$r = $FailedTasks.GetSample(3)", "[]"),
        // GetSample(interval): the samples at most that old
        ("$r = $RunningTasks.GetSample(TimeInterval_Minute)", "[5,6]"),
        ("$r = $RunningTasks.GetSample(45 * TimeInterval_Second)", "[5,6]"),
        ("$r = $RunningTasks.GetSample(44 * TimeInterval_Second)", "[6]"),
        ("$r = $RunningTasks.GetSample(2 * TimeInterval_Minute)", "[3,4,5,6]"),
        ("$r = $RunningTasks.GetSample(TimeInterval_Hour)", "[1,2,3,4,5,6]"),
        ("$r = $RunningTasks.GetSample(10 * TimeInterval_Second)", "[]"),
        // GetSample(timestamp): the samples since then
        ("$r = $RunningTasks.GetSample(time(\"2016-10-13T19:16:47.805Z\"))", "[3,4,5,6]"),
        ("$r = $RunningTasks.GetSample(time() + -2 * TimeInterval_Minute)", "[3,4,5,6]"),
        // GetSample(a, b): between two look-back points, in either order
        ("$r = $RunningTasks.GetSample(TimeInterval_Minute, 2 * TimeInterval_Minute)", "[3,4]"),
        ("$r = $RunningTasks.GetSample(2 * TimeInterval_Minute, TimeInterval_Minute)", "[3,4]"),
        ("$r = $RunningTasks.GetSample(10 * TimeInterval_Second, 0 * TimeInterval_Second)", "[]"),
        ("$r = $RunningTasks.GetSample(20 * TimeInterval_Second, 0 * TimeInterval_Second)", "[6]"),
        ("$r = $RunningTasks.GetSample(0 * TimeInterval_Second, 20 * TimeInterval_Second)", "[6]"),
        (
            "$r = $RunningTasks.GetSample(time(\"2016-10-13T19:16:47.805Z\"), time(\"2016-10-13T19:17:47.805Z\"))",
            "[3,4]",
        ),
        ("$r = $RunningTasks.GetSample(time(\"2016-10-13T19:16:47.805Z\"), TimeInterval_Minute)", "[3,4]"),
        // with a percentage that is met
        ("$r = $RunningTasks.GetSample(180 * TimeInterval_Second, 70)", "[1,2,3,4,5,6]"),
        ("$r = $RunningTasks.GetSample(TimeInterval_Minute, 2 * TimeInterval_Minute, 100)", "[3,4]"),
        ("$r = $RunningTasks.GetSample(2 * TimeInterval_Minute, TimeInterval_Minute, 100)", "[3,4]"),
        ("$r = $ActiveTasks.GetSample(180 * TimeInterval_Second, 50)", "[7,8,9]"),
        ("$r = $ActiveTasks.GetSample(time(\"2016-10-13T19:15:47.805Z\"), 50)", "[7,8,9]"),
        ("$r = $ActiveTasks.GetSample(TimeInterval_Minute, 2 * TimeInterval_Minute, 50)", "[7]"),
        ("$r = $FailedTasks.GetSample(TimeInterval_Minute, 0)", "[]"),
        // feeding the aggregates
        ("$r = avg($RunningTasks.GetSample(3))", "5"),
        ("$r = max($RunningTasks.GetSample(TimeInterval_Minute * 5), $ActiveTasks.GetSample(1))", "9"),
    ];
    assert_values(&context(SAMPLES), "", &rows);
}

#[test]
fn get_sample_with_too_few_samples() {
    let ctx = context(SAMPLES);
    let rows = [
        // $ActiveTasks has 3 of the 6 samples of the last 180 s: 50 %
        (
            "$r = $ActiveTasks.GetSample(180 * TimeInterval_Second, 70)",
            "Line 1, Col 28: Insufficient data from data set: $ActiveTasks wanted 70%, received 50%",
        ),
        (
            "$r = $ActiveTasks.GetSample(time(\"2016-10-13T19:15:47.805Z\"), 51)",
            "Line 1, Col 28: Insufficient data from data set: $ActiveTasks wanted 51%, received 50%",
        ),
        // between 60 s and 120 s ago: 1 of 2 samples, in either order
        (
            "$r = $ActiveTasks.GetSample(TimeInterval_Minute, 2 * TimeInterval_Minute, 60)",
            "Line 1, Col 28: Insufficient data from data set: $ActiveTasks wanted 60%, received 50%",
        ),
        (
            "$r = $ActiveTasks.GetSample(2 * TimeInterval_Minute, TimeInterval_Minute, 60)",
            "Line 1, Col 28: Insufficient data from data set: $ActiveTasks wanted 60%, received 50%",
        ),
        // 3 of 7 samples is 42.857 %: (decision) truncated
        (
            "$r = $ActiveTasks.GetSample(210 * TimeInterval_Second, 50)",
            "Line 1, Col 28: Insufficient data from data set: $ActiveTasks wanted 50%, received 42%",
        ),
        // no samples
        (
            "$r = $FailedTasks.GetSample(TimeInterval_Minute, 1)",
            "Line 1, Col 28: Insufficient data from data set: $FailedTasks wanted 1%, received 0%",
        ),
        (
            "$RunningTasks.GetSample(10 * TimeInterval_Second, 0 * TimeInterval_Second, 100);",
            "Line 1, Col 24: Insufficient data from data set: $RunningTasks wanted 100%, received 0%",
        ),
        // on a later line, inside a call
        (
            "$a = 1;\n  $r = avg($RunningTasks.GetSample(10 * TimeInterval_Second, 0 * TimeInterval_Second, 100))",
            "Line 2, Col 35: Insufficient data from data set: $RunningTasks wanted 100%, received 0%",
        ),
    ];
    for (src, want) in rows {
        assert!(diagnostics(src).is_empty(), "row {src:?}");
        assert_eq!(failure(src, &ctx), (INSUFFICIENT.to_owned(), want.to_owned()), "row {src:?}");
    }
    // The statements before stand in the results string; nothing after runs.
    let e = evaluate("$a = 1; $r = $ActiveTasks.GetSample(180 * TimeInterval_Second, 70); $b = 2", &ctx)
        .expect_err("too few samples");
    assert_eq!(
        e.results.to_string(),
        "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=1"
    );
}

#[test]
fn get_sample_bad_arguments_fail_at_run_time() {
    // (decision, spec silent) a negative count, or a percentage outside
    // [0, 100], is an evaluation error at the call.
    let rows = [
        ("$r = $RunningTasks.GetSample(-1)", 6),
        ("$r = $RunningTasks.GetSample(0 / 0)", 6),
        ("$r = $RunningTasks.GetSample(TimeInterval_Minute, 150)", 6),
        ("$r = $RunningTasks.GetSample(TimeInterval_Minute, -1)", 6),
    ];
    assert_runtime_errors(&context(SAMPLES), "", &rows);
}

#[test]
fn other_sample_methods() {
    let rows = [
        // GetSamplePercent: 100 × samples in the window ÷ (window ÷ 30 s, at least 1)
        ("$r = $RunningTasks.GetSamplePercent(180 * TimeInterval_Second)", "100"),
        ("$r = $ActiveTasks.GetSamplePercent(180 * TimeInterval_Second)", "50"),
        ("$r = $ActiveTasks.GetSamplePercent(2 * TimeInterval_Minute)", "75"),
        ("$r = $ActiveTasks.GetSamplePercent(210 * TimeInterval_Second)", "42.8571"),
        ("$r = $ActiveTasks.GetSamplePercent(time(\"2016-10-13T19:15:47.805Z\"))", "50"),
        ("$r = $ActiveTasks.GetSamplePercent(TimeInterval_Minute, 2 * TimeInterval_Minute)", "50"),
        ("$r = $ActiveTasks.GetSamplePercent(2 * TimeInterval_Minute, TimeInterval_Minute)", "50"),
        ("$r = $RunningTasks.GetSamplePercent(TimeInterval_Minute, 2 * TimeInterval_Minute)", "100"),
        ("$r = $ActiveTasks.GetSamplePercent(10 * TimeInterval_Second)", "0"),
        ("$r = $ActiveTasks.GetSamplePercent(20 * TimeInterval_Second)", "100"),
        ("$r = $FailedTasks.GetSamplePercent(TimeInterval_Hour)", "0"),
        ("$r = $RunningTasks.GetSamplePercent(180 * TimeInterval_Second) < 70 ? 1 : 2", "2"),
        // GetSamplePeriod
        ("$r = $CPUPercent.GetSamplePeriod()", "00:00:30"),
        ("$r = $FailedTasks.GetSamplePeriod()", "00:00:30"),
        ("$r = $CPUPercent.GetSamplePeriod() * 2", "00:01:00"),
        // Count
        ("$r = $RunningTasks.Count()", "6"),
        ("$r = $ActiveTasks.Count()", "3"),
        ("$r = $FailedTasks.Count()", "0"),
        // HistoryBeginTime: the oldest sample, 165 s and 75 s before now
        ("$r = $RunningTasks.HistoryBeginTime()", "2016-10-13T19:16:02.805Z"),
        ("$r = $ActiveTasks.HistoryBeginTime()", "2016-10-13T19:17:32.805Z"),
        ("$r = time() - $RunningTasks.HistoryBeginTime()", "00:02:45"),
        // (decision) an empty history began now
        ("$r = $FailedTasks.HistoryBeginTime()", "2016-10-13T19:18:47.805Z"),
    ];
    assert_values(&context(SAMPLES), "", &rows);
}

#[test]
fn unknown_methods_and_bad_method_arguments() {
    use Code::{ArgumentType, UnknownMethod};
    let rows = [
        // unknown methods (case-sensitive): the method's name
        ("$r = $CPUPercent.GetSamples(1)", UnknownMethod, 18),
        ("$r = $CPUPercent.getSample(1)", UnknownMethod, 18),
        ("$r = $CPUPercent.Average()", UnknownMethod, 18),
        ("$r = $PendingTasks.count()", UnknownMethod, 20),
        // wrong arguments: the whole call
        ("$r = $CPUPercent.GetSample()", ArgumentType, 6),
        ("$r = $CPUPercent.GetSample(\"1\")", ArgumentType, 6),
        ("$r = $CPUPercent.GetSample(1, 2)", ArgumentType, 6),
        ("$r = $CPUPercent.GetSample(TimeInterval_Minute, 1, 2)", ArgumentType, 6),
        ("$r = $CPUPercent.GetSample(TimeInterval_Minute, TimeInterval_Second, 50, 1)", ArgumentType, 6),
        ("$r = $CPUPercent.GetSample(TimeInterval_Minute, \"50\")", ArgumentType, 6),
        ("$r = $CPUPercent.GetSamplePercent()", ArgumentType, 6),
        ("$r = $CPUPercent.GetSamplePercent(1)", ArgumentType, 6),
        ("$r = $CPUPercent.GetSamplePercent(TimeInterval_Minute, 50)", ArgumentType, 6),
        ("$r = $CPUPercent.GetSamplePeriod(1)", ArgumentType, 6),
        ("$r = $CPUPercent.Count(TimeInterval_Minute)", ArgumentType, 6),
        ("$r = $CPUPercent.HistoryBeginTime(1)", ArgumentType, 6),
        ("$r = 1 + $CPUPercent.Count(1)", ArgumentType, 10),
    ];
    assert_rejected(&context(SAMPLES), "", &rows);
}
