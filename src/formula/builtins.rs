//! The names the service defines: variables, metrics, functions and sample
//! methods, each with the one-line documentation that diagnostics (and the
//! language server) show.

pub use autoscale_runtime::aggregate::ListFunction;
use autoscale_runtime::aggregate::{Log, Rounding};

/// A metric: a sample history read only through its methods (spec §6–§7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Metric {
    CPUPercent,
    WallClockSeconds,
    MemoryBytes,
    DiskBytes,
    DiskReadBytes,
    DiskWriteBytes,
    DiskReadOps,
    DiskWriteOps,
    NetworkInBytes,
    NetworkOutBytes,
    SampleNodeCount,
    ActiveTasks,
    RunningTasks,
    PendingTasks,
    SucceededTasks,
    FailedTasks,
    PreemptedNodeCount,
    UsableNodeCount,
}

impl Metric {
    /// Every metric with its name (without `$`) and meaning.
    pub const ALL: [(Metric, &'static str, &'static str); 18] = [
        (Metric::CPUPercent, "CPUPercent", "average CPU usage of the pool's nodes, 0 to 100"),
        (Metric::WallClockSeconds, "WallClockSeconds", "wall-clock seconds consumed by tasks"),
        (Metric::MemoryBytes, "MemoryBytes", "average memory used, in bytes"),
        (Metric::DiskBytes, "DiskBytes", "average local disk used, in bytes"),
        (Metric::DiskReadBytes, "DiskReadBytes", "bytes read from disk"),
        (Metric::DiskWriteBytes, "DiskWriteBytes", "bytes written to disk"),
        (Metric::DiskReadOps, "DiskReadOps", "disk read operations"),
        (Metric::DiskWriteOps, "DiskWriteOps", "disk write operations"),
        (Metric::NetworkInBytes, "NetworkInBytes", "inbound network bytes"),
        (Metric::NetworkOutBytes, "NetworkOutBytes", "outbound network bytes"),
        (Metric::SampleNodeCount, "SampleNodeCount", "number of nodes the sample was taken from"),
        (
            Metric::ActiveTasks,
            "ActiveTasks",
            "tasks ready to run (dependencies met); a multi-instance task counts its instances",
        ),
        (Metric::RunningTasks, "RunningTasks", "tasks running"),
        (Metric::PendingTasks, "PendingTasks", "active + running tasks"),
        (Metric::SucceededTasks, "SucceededTasks", "tasks that finished successfully"),
        (Metric::FailedTasks, "FailedTasks", "tasks that failed"),
        (Metric::PreemptedNodeCount, "PreemptedNodeCount", "low-priority nodes in the preempted state"),
        (Metric::UsableNodeCount, "UsableNodeCount", "nodes able to run tasks"),
    ];

    /// Number of metrics.
    pub const COUNT: usize = Metric::ALL.len();

    /// The metric called `name` (without `$`, case-sensitive).
    pub fn named(name: &str) -> Option<Metric> {
        Self::ALL.iter().find(|(_, n, _)| *n == name).map(|&(m, _, _)| m)
    }

    /// The name without `$`.
    pub fn name(self) -> &'static str {
        Self::ALL[self as usize].1
    }
}

/// A service-defined scalar variable (spec §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceVar {
    /// `$TargetDedicatedNodes`.
    TargetDedicated,
    /// `$TargetDedicated`, the alias: a separate variable reported under the full name.
    TargetDedicatedAlias,
    /// `$TargetLowPriorityNodes`.
    TargetLowPriority,
    /// `$TargetLowPriority`, the alias.
    TargetLowPriorityAlias,
    /// `$NodeDeallocationOption`.
    DeallocationOption,
    /// `$CurrentDedicatedNodes` or `$CurrentDedicated` (read-only).
    CurrentDedicated,
    /// `$CurrentLowPriorityNodes` or `$CurrentLowPriority` (read-only; includes preempted nodes).
    CurrentLowPriority,
    /// `$TaskSlotsPerNode` (read-only).
    TaskSlotsPerNode,
}

impl ServiceVar {
    /// Every name (with `$`), the variable it denotes, and its meaning.
    pub const ALL: [(&'static str, ServiceVar, &'static str); 10] = [
        ("$TargetDedicatedNodes", ServiceVar::TargetDedicated, "target number of dedicated nodes"),
        ("$TargetDedicated", ServiceVar::TargetDedicatedAlias, "alias of $TargetDedicatedNodes"),
        ("$TargetLowPriorityNodes", ServiceVar::TargetLowPriority, "target number of low-priority (spot) nodes"),
        ("$TargetLowPriority", ServiceVar::TargetLowPriorityAlias, "alias of $TargetLowPriorityNodes"),
        (
            "$NodeDeallocationOption",
            ServiceVar::DeallocationOption,
            "what happens to the tasks of removed nodes: requeue, terminate, taskcompletion or retaineddata",
        ),
        ("$CurrentDedicatedNodes", ServiceVar::CurrentDedicated, "current number of dedicated nodes (read-only)"),
        ("$CurrentDedicated", ServiceVar::CurrentDedicated, "alias of $CurrentDedicatedNodes (read-only)"),
        (
            "$CurrentLowPriorityNodes",
            ServiceVar::CurrentLowPriority,
            "current number of low-priority nodes, preempted ones included (read-only)",
        ),
        ("$CurrentLowPriority", ServiceVar::CurrentLowPriority, "alias of $CurrentLowPriorityNodes (read-only)"),
        ("$TaskSlotsPerNode", ServiceVar::TaskSlotsPerNode, "task slots on each node of the pool (read-only)"),
    ];

    /// The variable called `name` (with `$`, case-sensitive).
    pub fn named(name: &str) -> Option<ServiceVar> {
        Self::ALL.iter().find(|(n, _, _)| *n == name).map(|&(_, v, _)| v)
    }

    /// Whether a formula may assign it.
    pub fn is_writable(self) -> bool {
        matches!(
            self,
            ServiceVar::TargetDedicated
                | ServiceVar::TargetDedicatedAlias
                | ServiceVar::TargetLowPriority
                | ServiceVar::TargetLowPriorityAlias
                | ServiceVar::DeallocationOption
        )
    }
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `avg`, `len`, `max`, `min`, `norm`, `range`, `std`, `sum`.
    List(ListFunction),
    /// `percentile(v, p)`.
    Percentile,
    /// `val(v, i)`.
    Val,
    /// `lg`, `ln`, `log`.
    Log(Log),
    /// `ceil`, `floor`, `round`.
    Round(Rounding),
    /// `rand()`.
    Rand,
    /// `stop()`.
    Stop,
    /// `time()` or `time(string)`.
    Time,
}

impl Function {
    /// Every function with its name and signature as the docs write it.
    pub const ALL: [(&'static str, Function, &'static str); 19] = [
        ("avg", Function::List(ListFunction::Avg), "avg(doubleVecList) → double: the mean"),
        ("ceil", Function::Round(Rounding::Ceil), "ceil(double) → double: the smallest integer not below"),
        ("floor", Function::Round(Rounding::Floor), "floor(double) → double: the largest integer not above"),
        ("len", Function::List(ListFunction::Len), "len(doubleVecList) → double: the element count"),
        ("lg", Function::Log(Log::Binary), "lg(double | doubleVec) → same: log base 2"),
        ("ln", Function::Log(Log::Natural), "ln(double | doubleVec) → same: natural log"),
        ("log", Function::Log(Log::Decimal), "log(double | doubleVec) → same: log base 10"),
        ("max", Function::List(ListFunction::Max), "max(doubleVecList) → double: the largest value"),
        ("min", Function::List(ListFunction::Min), "min(doubleVecList) → double: the smallest value"),
        ("norm", Function::List(ListFunction::Norm), "norm(doubleVecList) → double: the Euclidean norm"),
        (
            "percentile",
            Function::Percentile,
            "percentile(doubleVec v, double p) → double: nearest-rank p-th percentile, p in [0, 100]",
        ),
        ("rand", Function::Rand, "rand() → double: uniform in [0, 1)"),
        ("range", Function::List(ListFunction::Range), "range(doubleVecList) → double: max − min"),
        ("round", Function::Round(Rounding::Round), "round(double) → double: nearest integer, halves away from zero"),
        ("std", Function::List(ListFunction::Std), "std(doubleVecList) → double: sample standard deviation"),
        ("stop", Function::Stop, "stop(): end the evaluation here; earlier assignments stand"),
        ("sum", Function::List(ListFunction::Sum), "sum(doubleVecList) → double: the sum"),
        ("time", Function::Time, "time([string]) → timestamp: now, or the W3C-DTF / RFC 1123 time given"),
        ("val", Function::Val, "val(doubleVec v, double i) → double: element i, from 0"),
    ];

    /// The function called `name` (case-sensitive).
    pub fn named(name: &str) -> Option<Function> {
        Self::ALL.iter().find(|(n, _, _)| *n == name).map(|&(_, f, _)| f)
    }

    /// The function's name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, f, _)| *f == self).map_or("?", |(n, _, _)| n)
    }

    /// Its signature line.
    pub fn signature(self) -> &'static str {
        Self::ALL.iter().find(|(_, f, _)| *f == self).map_or("", |(_, _, s)| s)
    }
}

/// A method of a metric (spec §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleMethod {
    /// `GetSample(...)`.
    GetSample,
    /// `GetSamplePercent(a [, b])`.
    GetSamplePercent,
    /// `GetSamplePeriod()`.
    GetSamplePeriod,
    /// `Count()`.
    Count,
    /// `HistoryBeginTime()`.
    HistoryBeginTime,
}

impl SampleMethod {
    /// Every method with its name and signature.
    pub const ALL: [(&'static str, SampleMethod, &'static str); 5] = [
        (
            "GetSample",
            SampleMethod::GetSample,
            "GetSample(count | from [, to] [, percent]) → doubleVec: samples, oldest first",
        ),
        (
            "GetSamplePercent",
            SampleMethod::GetSamplePercent,
            "GetSamplePercent(from [, to]) → double: percent of the window's samples available",
        ),
        ("GetSamplePeriod", SampleMethod::GetSamplePeriod, "GetSamplePeriod() → timeinterval: the sampling period"),
        ("Count", SampleMethod::Count, "Count() → double: samples in the history"),
        (
            "HistoryBeginTime",
            SampleMethod::HistoryBeginTime,
            "HistoryBeginTime() → timestamp: time of the oldest sample",
        ),
    ];

    /// The method called `name` (case-sensitive).
    pub fn named(name: &str) -> Option<SampleMethod> {
        Self::ALL.iter().find(|(n, _, _)| *n == name).map(|&(_, m, _)| m)
    }

    /// Its signature line.
    pub fn signature(self) -> &'static str {
        Self::ALL.iter().find(|(_, m, _)| *m == self).map_or("", |(_, _, s)| s)
    }
}
