//! The list of lints with the explanation `autoscale-sim explain LINT`
//! prints: why the pattern is a problem and what to write instead.

use crate::formula::diag::Severity;

/// A lint's name, severity, one-line summary and explanation.
#[derive(Debug, Clone, Copy)]
pub struct LintInfo {
    /// The stable name.
    pub name: &'static str,
    /// How it is reported.
    pub severity: Severity,
    /// One line for tables.
    pub summary: &'static str,
    /// Several lines, with a bad and a good example.
    pub explanation: &'static str,
}

/// The explanation of lint `name`.
pub fn explain(name: &str) -> Option<&'static LintInfo> {
    LINTS.iter().find(|l| l.name == name)
}

const fn warning(name: &'static str, summary: &'static str, explanation: &'static str) -> LintInfo {
    LintInfo { name, severity: Severity::Warning, summary, explanation }
}

/// Every lint, in the README's order.
pub const LINTS: [LintInfo; 11] = [
    warning(
        "percent-compared-with-fraction",
        "`$CPUPercent` (0–100) compared with a number between 0 and 1",
        "$CPUPercent runs from 0 to 100. Comparing it with 0.7 tests for 0.7 %, not 70 %,\n\
         so the condition is almost always true. The service's own documentation has this\n\
         mistake.\n\n    bad:  min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7\n    \
         good: min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 70\n",
    ),
    warning(
        "single-sample-target",
        "a target computed from `GetSample(1)` alone",
        "GetSample(1) returns the newest visible sample, whatever its age: after a gap in\n\
         the metrics it can be minutes old, and one sample is noisy. A target that rests on\n\
         it alone jumps with every blip.\n\n    bad:  $TargetDedicatedNodes = min(10, $PendingTasks.GetSample(1));\n    \
         good: $TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)));\n",
    ),
    warning(
        "short-sample-window",
        "a look-back window under 60 s, or one inside the visibility delay",
        "The service takes a sample every 30 s and makes it visible about a minute later.\n\
         A window that ends less than 60 s ago, or is shorter than 60 s, usually holds no\n\
         visible sample: GetSample returns nothing (or fails with a percentage).\n\n    \
         bad:  $PendingTasks.GetSample(TimeInterval_Second * 30)\n    \
         good: $PendingTasks.GetSample(TimeInterval_Minute * 5, 70)\n",
    ),
    warning(
        "unguarded-sample-window",
        "`GetSample` over a window with no percentage and no `GetSamplePercent` check",
        "Samples go missing. Without a required percentage, GetSample over a window returns\n\
         whatever is there, even one sample of ten, and the formula acts on it. Give a\n\
         percentage (the evaluation then fails rather than act on too little data), or test\n\
         GetSamplePercent first.\n\n    bad:  avg($PendingTasks.GetSample(TimeInterval_Minute * 5))\n    \
         good: avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70))\n",
    ),
    warning(
        "unbounded-target",
        "a target with no upper bound (`min(…, cap)` missing)",
        "A target computed from the workload has no limit: a burst of tasks, or a bad\n\
         sample, asks for thousands of nodes, and the pool grows until a quota stops it.\n\
         Cap it with min.\n\n    bad:  $TargetDedicatedNodes = avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70));\n    \
         good: $TargetDedicatedNodes = min(avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)), 25);\n",
    ),
    warning(
        "negative-target",
        "a target that can be negative",
        "A subtraction (or a negative constant) can make a target negative, and a negative\n\
         target fails the evaluation: the pool is then not changed at all. Floor it at 0.\n\n    \
         bad:  $TargetLowPriorityNodes = 10 - $CurrentDedicatedNodes;\n    \
         good: $TargetLowPriorityNodes = max(0, 10 - $CurrentDedicatedNodes);\n",
    ),
    warning(
        "unused-variable",
        "a user variable assigned but never read",
        "A variable that is assigned and never read does nothing (except appear in the\n\
         results string). It is often a typo of the name that is read later.\n\n    \
         bad:  maxNodes = 10; $TargetDedicatedNodes = 5;\n    \
         good: maxNodes = 10; $TargetDedicatedNodes = min(5, maxNodes);\n",
    ),
    warning(
        "service-variable-case",
        "a variable that differs from a service variable only by case",
        "Names are case-sensitive. `$targetDedicatedNodes` is a user variable: assigning it\n\
         changes nothing in the pool, and the service does not complain.\n\n    \
         bad:  $targetDedicatedNodes = 5;\n    good: $TargetDedicatedNodes = 5;\n",
    ),
    warning(
        "alias-and-full-name",
        "an alias and its full name both assigned",
        "$TargetDedicated and $TargetDedicatedNodes (and $TargetLowPriority and\n\
         $TargetLowPriorityNodes) are two variables. When both are assigned the service uses\n\
         the full name and silently ignores the alias.\n\n    \
         bad:  $TargetDedicated = 5; $TargetDedicatedNodes = 2;\n    good: $TargetDedicatedNodes = 5;\n",
    ),
    warning(
        "unreachable-after-stop",
        "statements after an unconditional `stop()`",
        "stop() ends the evaluation. Statements after a bare `stop();` never run.\n\n    \
         bad:  $TargetDedicatedNodes = 2; stop(); $TargetLowPriorityNodes = 3;\n    \
         good: $TargetDedicatedNodes = 2; $TargetLowPriorityNodes = 3; stop();\n",
    ),
    LintInfo {
        name: "requeue-deallocation",
        severity: Severity::Info,
        summary: "`$NodeDeallocationOption = requeue` (information)",
        explanation: "requeue stops the tasks of a node being removed and puts them back in the queue:\n\
         a long task loses all its progress each time the pool shrinks. With long tasks\n\
         prefer taskcompletion (the node is removed when its tasks finish).\n\n    \
         bad:  $NodeDeallocationOption = requeue;\n    good: $NodeDeallocationOption = taskcompletion;\n",
    },
];
