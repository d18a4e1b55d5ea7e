//! Where a job's tasks come from — entries listed in the scenario, a CSV
//! trace, random generators — and the checks that build them from a
//! `[[jobs]]` table's `tasks`, `trace` and `generate` keys.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::downloads::{Package, ResourceFile};
use super::error::Check;
use super::file::FileTrace;
use super::file::one;
use super::task_trace::{TaskTrace, TraceFormat};
use super::{Dist, IdRange, MAX_COUNT, MAX_TARGET, ScenarioError, TaskConstraints, deps, swf};
use crate::time::SimDuration;

/// Where a job's tasks come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Listed in the scenario, sorted by time; shared by every run.
    List(Arc<[TaskEntry]>),
    /// A CSV trace or an SWF log, checked at load and read again by
    /// each run as it goes.
    Trace(TaskTrace),
    /// A generator.
    Generate(Generator),
}

impl Source {
    /// How many tasks this source is expected to submit in a run of
    /// `duration`, for the workload's bound, and the key (within the
    /// source's table, or the job's for a list or a trace) that most
    /// decides it. Expected, not drawn: a generator's rate times its
    /// active window, not the 1 ms floor under the gaps between arrivals.
    pub fn expected_tasks(&self, duration: SimDuration) -> (f64, String) {
        let end = duration.as_millis();
        match self {
            Source::List(entries) => {
                let due = entries.iter().filter(|e| e.at.as_millis() <= end);
                (due.map(|e| f64::from(e.count)).sum(), "tasks".to_owned())
            }
            Source::Trace(trace) => (trace.len() as f64, "trace".to_owned()),
            Source::Generate(g) => {
                let (from, until) = g.window();
                let until = until.map_or(end, |u| u.as_millis().min(end));
                let Some(span) = until.checked_sub(from.as_millis()) else {
                    return (0.0, "from".to_owned());
                };
                let span = span as f64;
                match g {
                    Generator::Poisson { rate_per_hour, .. } => {
                        (rate_per_hour * span / 3_600_000.0, "rate_per_hour".to_owned())
                    }
                    Generator::Periodic { every, count, .. } => {
                        let occurrences = (span / every.as_millis() as f64).floor() + 1.0;
                        (f64::from(*count) * occurrences, "every".to_owned())
                    }
                    Generator::Bursty { mean_gap, size, .. } => {
                        (f64::from(*size) * span / mean_gap.as_millis() as f64, "mean_gap".to_owned())
                    }
                }
            }
        }
    }
}

impl Generator {
    /// The constraints its tasks set for themselves.
    pub fn constraints(&self) -> TaskConstraints {
        let (Generator::Poisson { max_wall_clock_time, max_task_retry_count, retention, .. }
        | Generator::Periodic { max_wall_clock_time, max_task_retry_count, retention, .. }
        | Generator::Bursty { max_wall_clock_time, max_task_retry_count, retention, .. }) = self;
        let (max_wall_clock_time, max_task_retry_count, retention) =
            (*max_wall_clock_time, *max_task_retry_count, *retention);
        TaskConstraints { max_wall_clock_time, max_task_retry_count, retention }
    }

    /// `from` and `until`.
    fn window(&self) -> (SimDuration, Option<SimDuration>) {
        match self {
            Generator::Poisson { from, until, .. }
            | Generator::Periodic { from, until, .. }
            | Generator::Bursty { from, until, .. } => (*from, *until),
        }
    }
}

/// `count` tasks submitted at `at`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskEntry {
    /// When, from the start (default 0s).
    #[serde(default)]
    pub at: SimDuration,
    /// How long each runs.
    pub duration: Dist,
    /// How many (default 1).
    #[serde(default = "one")]
    pub count: u32,
    /// Slots each needs (default 1).
    #[serde(default = "one")]
    pub slots: u32,
    /// The first task's id within the job (the next ones count up), so
    /// that other tasks can depend on them; none by default.
    #[serde(default)]
    pub id: Option<u32>,
    /// Ids of the job's tasks that must succeed before these run.
    #[serde(default)]
    pub depends_on: Vec<IdRange>,
    /// Nodes each task runs on at once (multi-instance; default 1).
    #[serde(default = "one")]
    pub instances: u32,
    /// Each task's wall-clock limit per run (default: none of its own).
    #[serde(default)]
    pub max_wall_clock_time: Option<SimDuration>,
    /// Each task's retries, instead of the job's.
    #[serde(default)]
    pub max_task_retry_count: Option<i32>,
    /// How long each task's data is retained, instead of the job's.
    #[serde(default)]
    pub retention: Option<SimDuration>,
    /// Application packages each task needs, besides its job's.
    #[serde(default)]
    pub application_packages: Vec<Package>,
    /// Files each run of each task downloads first.
    #[serde(default)]
    pub resource_files: Vec<ResourceFile>,
}

impl TaskEntry {
    /// The constraints its tasks set for themselves.
    pub fn constraints(&self) -> TaskConstraints {
        let (max_wall_clock_time, max_task_retry_count, retention) =
            (self.max_wall_clock_time, self.max_task_retry_count, self.retention);
        TaskConstraints { max_wall_clock_time, max_task_retry_count, retention }
    }
}

/// A random arrival process, active from `from` until `until`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Generator {
    /// One task at a time, exponential gaps.
    Poisson {
        /// Mean arrivals per hour.
        rate_per_hour: f64,
        /// Task durations.
        duration: Dist,
        /// Slots per task.
        #[serde(default = "one")]
        slots: u32,
        /// Start of the arrivals.
        #[serde(default)]
        from: SimDuration,
        /// End of the arrivals (default: the end of the simulation).
        until: Option<SimDuration>,
        /// Each task's wall-clock limit per run.
        max_wall_clock_time: Option<SimDuration>,
        /// Each task's retries, instead of the job's.
        max_task_retry_count: Option<i32>,
        /// How long each task's data is retained, instead of the job's.
        retention: Option<SimDuration>,
    },
    /// `count` tasks every `every`, the first at `from`.
    Periodic {
        /// The period.
        every: SimDuration,
        /// Tasks per period.
        #[serde(default = "one")]
        count: u32,
        /// Task durations.
        duration: Dist,
        /// Slots per task.
        #[serde(default = "one")]
        slots: u32,
        /// First submission.
        #[serde(default)]
        from: SimDuration,
        /// End of the arrivals.
        until: Option<SimDuration>,
        /// Each task's wall-clock limit per run.
        max_wall_clock_time: Option<SimDuration>,
        /// Each task's retries, instead of the job's.
        max_task_retry_count: Option<i32>,
        /// How long each task's data is retained, instead of the job's.
        retention: Option<SimDuration>,
    },
    /// Bursts of `size` tasks submitted at once, exponential gaps of mean `mean_gap`.
    Bursty {
        /// Mean time between bursts.
        mean_gap: SimDuration,
        /// Tasks per burst.
        size: u32,
        /// Task durations.
        duration: Dist,
        /// Slots per task.
        #[serde(default = "one")]
        slots: u32,
        /// Start of the arrivals.
        #[serde(default)]
        from: SimDuration,
        /// End of the arrivals.
        until: Option<SimDuration>,
        /// Each task's wall-clock limit per run.
        max_wall_clock_time: Option<SimDuration>,
        /// Each task's retries, instead of the job's.
        max_task_retry_count: Option<i32>,
        /// How long each task's data is retained, instead of the job's.
        retention: Option<SimDuration>,
    },
}

/// A job's task sources, in this order: its `tasks` list (checked against
/// the pool's task slots per node), its trace (read from `base`: CSV, or
/// SWF by its extension), then its generators. `check` names keys within
/// the job; what an SWF trace's reading says goes to `notes`.
pub(super) fn build(
    check: &Check<'_>,
    tasks: Vec<TaskEntry>,
    trace_spec: Option<FileTrace>,
    generate: Vec<Generator>,
    base: &Path,
    pool: &super::Pool,
    notes: &mut Vec<String>,
) -> Result<Vec<Source>, ScenarioError> {
    let mut sources = Vec::new();
    if !tasks.is_empty() {
        sources.push(task_list(check, tasks, pool.task_slots_per_node)?);
    }
    if let Some(spec) = trace_spec {
        sources.push(Source::Trace(trace_tasks(check, spec, base, pool, notes)?));
    }
    for (n, g) in generate.into_iter().enumerate() {
        check_generator(&check.within(&format!("generate[{n}]")), &g)?;
        sources.push(Source::Generate(g));
    }
    Ok(sources)
}

/// A job's trace, checked: read as runs go, or sorted in memory when its
/// rows are out of submit order (said in a note).
fn trace_tasks(
    check: &Check<'_>,
    spec: FileTrace,
    base: &Path,
    pool: &super::Pool,
    notes: &mut Vec<String>,
) -> Result<TaskTrace, ScenarioError> {
    let path = base.join(&spec.file);
    let shown = spec.file.display();
    let format = if swf::is_swf(&path) {
        let per_node = spec.processors_per_node.unwrap_or(pool.vm.cores);
        if per_node == 0 {
            return check.fail("trace.processors_per_node", "a node has at least 1 processor");
        }
        TraceFormat::Swf { per_node, multi_instance: pool.task_slots_per_node == 1 }
    } else {
        if spec.processors_per_node.is_some() {
            return check.fail("trace.processors_per_node", "only an SWF trace (`.swf`, `.swf.gz`) has processors");
        }
        TraceFormat::Csv
    };
    let loaded = TaskTrace::load(&path, format).or_else(|e| check.file_error("trace", e))?;
    let count = |n: u64, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
    if let (Some(log), TraceFormat::Swf { per_node, .. }) = (&loaded.swf, format) {
        let header = match (log.unix_start_time, log.max_procs) {
            (None, None) => String::new(),
            (start, procs) => format!(
                " (header: {}{})",
                start.map_or(String::new(), |s| format!("UnixStartTime {s}")),
                procs.map_or(String::new(), |p| format!("{}MaxProcs {p}", if start.is_some() { ", " } else { "" }))
            ),
        };
        notes.push(format!(
            "{shown}: {} as tasks on nodes of {}{header}",
            count(log.jobs, "record"),
            count(u64::from(per_node), "processor")
        ));
        if log.skipped > 0 {
            notes.push(format!("{shown}: {} with no run time skipped", count(log.skipped, "record")));
        }
        if log.assumed_one_processor > 0 {
            notes.push(format!(
                "{shown}: {} with no processor count taken as 1",
                count(log.assumed_one_processor, "record")
            ));
        }
    }
    if loaded.trace.is_sorted_in_memory() {
        notes.push(format!(
            "{shown}: rows out of submit order, so its {} are held in memory, sorted, rather than read as the run \
             goes; sort the file by submit time to spare the memory",
            count(loaded.trace.len(), "task")
        ));
    }
    Ok(loaded.trace)
}

/// The `tasks` list: counts, slots and instances in range, ids and
/// dependencies consistent; then sorted by time, stably, so that entries
/// due together keep their file order.
fn task_list(check: &Check<'_>, mut entries: Vec<TaskEntry>, slots: u32) -> Result<Source, ScenarioError> {
    for (n, e) in entries.iter().enumerate() {
        if e.count > MAX_COUNT {
            return check.fail(format!("tasks[{n}].count"), format!("{} is above {MAX_COUNT}", e.count));
        }
        if e.slots == 0 {
            return check.fail(format!("tasks[{n}].slots"), "a task needs at least 1 slot");
        }
        let instances = format!("tasks[{n}].instances");
        if e.instances == 0 || e.instances > MAX_TARGET {
            return check.fail(instances, format!("{} is out of range; give 1 to {}", e.instances, MAX_TARGET));
        }
        if e.instances > 1 && slots != 1 {
            return check.fail(
                instances,
                format!("a multi-instance task needs pool.task_slots_per_node = 1 (the pool has {slots})"),
            );
        }
        if let Err((key, message)) = e.constraints().check() {
            return check.fail(format!("tasks[{n}].{key}"), message);
        }
    }
    if let Err((k, message)) = deps::check(&entries) {
        return check.fail(k, message);
    }
    entries.sort_by_key(|e| e.at);
    Ok(Source::List(entries.into()))
}

/// The time between a generator's arrivals (its key, what it is, its
/// value) is above zero, and the tasks of one arrival (key, value) are at
/// most [`MAX_COUNT`].
fn check_spacing(
    check: &Check<'_>,
    (gap_key, gap_name, gap): (&str, &str, SimDuration),
    (count_key, count): (&str, u32),
) -> Result<(), ScenarioError> {
    if gap == SimDuration::ZERO {
        return check.fail(gap_key, format!("{gap_name} must be above 0s"));
    }
    if count > MAX_COUNT {
        return check.fail(count_key, format!("{count} is above {MAX_COUNT}"));
    }
    Ok(())
}

/// One generator: a rate, period or gap above zero, counts in range, and
/// an active window that does not end before it starts.
fn check_generator(check: &Check<'_>, g: &Generator) -> Result<(), ScenarioError> {
    let (from, until, slots) = match g {
        Generator::Poisson { rate_per_hour, from, until, slots, .. } => {
            if !(rate_per_hour.is_finite() && *rate_per_hour > 0.0) {
                return check.fail("rate_per_hour", format!("{rate_per_hour} is not a rate above 0"));
            }
            (*from, *until, *slots)
        }
        Generator::Periodic { every, count, from, until, slots, .. } => {
            check_spacing(check, ("every", "the period", *every), ("count", *count))?;
            (*from, *until, *slots)
        }
        Generator::Bursty { mean_gap, size, from, until, slots, .. } => {
            check_spacing(check, ("mean_gap", "the mean gap", *mean_gap), ("size", *size))?;
            (*from, *until, *slots)
        }
    };
    if slots == 0 {
        return check.fail("slots", "a task needs at least 1 slot");
    }
    if until.is_some_and(|u| u < from) {
        return check.fail("until", "`until` is before `from`");
    }
    g.constraints().check().or_else(|(key, message)| check.fail(key, message))
}
