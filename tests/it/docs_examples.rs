//! Every example formula of the spec and of the service's "automatic
//! scaling" article parses, checks without errors and evaluates; where the
//! result follows by hand from the context, it is asserted.

use autoscale_sim::formula::Formula;

use crate::support::{context, evaluate};

/// A context with rich samples: every metric the examples read has a full
/// hour of samples every 30 s (ages 15 s, 45 s, …, 3585 s).
fn busy_context() -> autoscale_sim::formula::context::EvalContext {
    let series = |value: f64| -> String {
        let samples: Vec<String> = (0..120).map(|i| format!("[{}, {value}]", 15 + 30 * i)).collect();
        format!("{{\"samples\": [{}]}}", samples.join(","))
    };
    context(&format!(
        r#"{{"pool": {{"target_dedicated": 4, "current_dedicated": 4, "task_slots_per_node": 4}},
            "metrics": {{"PendingTasks": {pending}, "ActiveTasks": {active}, "RunningTasks": {running},
                         "CPUPercent": {cpu}, "PreemptedNodeCount": {preempted}}}}}"#,
        pending = series(12.0),
        active = series(8.0),
        running = series(4.0),
        cpu = series(85.0),
        preempted = series(2.0),
    ))
}

/// (name, formula, expected results string or None when only success is checked)
const EXAMPLES: &[(&str, &str, Option<&str>)] = &[
    (
        "pending tasks",
        "startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 *   TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;",
        Some("$TargetDedicatedNodes=12;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;maxNumberofVMs=25;pendingTaskSamplePercent=100;pendingTaskSamples=12;startingNumberOfVMs=1"),
    ),
    (
        "preempted nodes",
        "maxNumberofVMs = 25;
$TargetDedicatedNodes = min(maxNumberofVMs, $PreemptedNodeCount.GetSample(180 * TimeInterval_Second));
$TargetLowPriorityNodes = min(maxNumberofVMs , maxNumberofVMs - $TargetDedicatedNodes);
$NodeDeallocationOption = taskcompletion;",
        Some("$TargetDedicatedNodes=2;$TargetLowPriorityNodes=23;$NodeDeallocationOption=taskcompletion;maxNumberofVMs=25"),
    ),
    (
        "cpu usage",
        "$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes);
$NodeDeallocationOption = taskcompletion;",
        Some("$TargetDedicatedNodes=4.4;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;$totalDedicatedNodes=4.4"),
    ),
    (
        "parallel tasks",
        "// Determine whether 70 percent of the samples have been recorded in the past
// 15 minutes; if not, use last sample
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1),avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// Set the number of nodes to add to one-fourth the number of active tasks
// (the TaskSlotsPerNode property on this pool is set to 4, adjust
// this number for your use case)
$cores = $TargetDedicatedNodes * 4;
$extraVMs = (($tasks - $cores) + 3) / 4;
$targetVMs = ($TargetDedicatedNodes + $extraVMs);
// Attempt to grow the number of compute nodes to match the number of active
// tasks, with a maximum of 3
$TargetDedicatedNodes = max(0,min($targetVMs,3));
// Keep the nodes active until the tasks finish
$NodeDeallocationOption = taskcompletion;",
        // tasks = max(8, 8) = 8; cores = 16; extra = (8 - 16 + 3) / 4 = -1.25; target = 2.75
        Some("$TargetDedicatedNodes=2.75;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;$cores=16;$extraVMs=-1.25;$samples=100;$targetVMs=2.75;$tasks=8"),
    ),
    (
        "time of day",
        "$curTime = time();
$workHours = $curTime.hour >= 8 && $curTime.hour < 18;
$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
$isWorkingWeekdayHour = $workHours && $isWeekday;
$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
$NodeDeallocationOption = taskcompletion;",
        Some("$TargetDedicatedNodes=10;$TargetLowPriorityNodes=0;$NodeDeallocationOption=taskcompletion;$curTime=2016-10-13T19:18:47.805Z;$isWeekday=1;$isWorkingWeekdayHour=0;$workHours=0"),
    ),
    (
        "initial pool size",
        "lifespan         = time() - time(\"Mon, 06 Oct 2014 10:20:00 GMT\");
span             = TimeInterval_Minute * 60;
startup          = TimeInterval_Minute * 10;
ratio            = 50;

$TargetDedicatedNodes = (lifespan > startup ? (max($RunningTasks.GetSample(span, ratio), $ActiveTasks.GetSample(span, ratio)) == 0 ? 0 : $TargetDedicatedNodes) : 4);",
        None,
    ),
    (
        "average active tasks",
        "$averageActiveTaskCount = avg($ActiveTasks.GetSample(TimeInterval_Minute * 15));
$TargetDedicatedNodes = max(0, min($TargetDedicatedNodes-1, $averageActiveTaskCount));",
        Some("$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$averageActiveTaskCount=8"),
    ),
    (
        "sample window forms",
        "$a = $RunningTasks.GetSample(1 * TimeInterval_Minute, 6 * TimeInterval_Minute);
$b = $RunningTasks.GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second, 75);
$c = $CPUPercent.GetSample(10 * TimeInterval_Second, 0 * TimeInterval_Second);
$d = $CPUPercent.GetSample(TimeInterval_Minute * 0, TimeInterval_Minute * 10);
$e = $CPUPercent.GetSample(1);
$runningTasksSample = $RunningTasks.GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second);",
        None,
    ),
    ("evaluate autoscale", "$TargetDedicatedNodes = min(3, $ActiveTasks.GetSample(1));", None),
    ("set target", "$TargetDedicatedNodes=1", None),
    ("alias", "$TargetDedicated = 1;", None),
];

#[test]
fn docs_examples_check_and_evaluate() {
    let ctx = busy_context();
    for (name, formula, expected) in EXAMPLES {
        let compiled = Formula::compile(formula).unwrap_or_else(|d| panic!("{name}: does not parse: {}", d.message));
        assert!(compiled.diagnostics().is_empty(), "{name}: checker errors {:?}", compiled.diagnostics());
        let outcome = evaluate(formula, &ctx).unwrap_or_else(|e| panic!("{name}: evaluation failed: {e}"));
        if let Some(expected) = expected {
            assert_eq!(outcome.results.to_string(), *expected, "{name}");
        }
    }
}

#[test]
fn initial_pool_size_follows_the_tasks() {
    let formula = EXAMPLES.iter().find(|(n, _, _)| *n == "initial pool size").map(|(_, f, _)| *f).unwrap();
    // Long after 2014, with tasks in the queue: keep the current target.
    let outcome = evaluate(formula, &busy_context()).unwrap();
    assert_eq!(outcome.results.target_dedicated, 4.0);
    // With a 50 % requirement and no samples at all, the evaluation fails at
    // the `(` of the first GetSample (column 75 of line 6).
    let empty = context("{}");
    let error = evaluate(formula, &empty).unwrap_err();
    assert_eq!(error.code.as_str(), "InsufficientSampleData");
    assert_eq!(
        error.values()[0].1,
        "Line 6, Col 75: Insufficient data from data set: $RunningTasks wanted 50%, received 0%"
    );
}

#[test]
fn bundled_formulas_check_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/formulas");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The folder also holds each formula's test suite (`*.autoscale-test.toml`).
        if path.extension().is_none_or(|e| e != "formula") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let formula = Formula::compile(&text).unwrap_or_else(|d| panic!("{}: {}", path.display(), d.message));
        assert!(formula.diagnostics().is_empty(), "{}: {:?}", path.display(), formula.diagnostics());
        evaluate(&text, &busy_context()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(seen >= 3, "the bundled formulas are there");
}
