//! The scenario file: one TOML document describing the account, the pool,
//! the metrics and the workload that `autoscale-sim run` simulates.
//!
//! Parsing is two steps: serde reads the file into raw structs (unknown
//! keys and wrong types are refused there, with toml's line and column),
//! then [`Scenario::from_toml`] checks ranges, loads referenced files and
//! checks the formula (keeping its text: each run compiles it), naming the
//! key path and the fix in every error.
//! Every key is documented in `docs/scenario.md` (a test checks it against
//! the parser); the README has an example of each.
//!
//! This module is the public face: the [`Scenario`], the limits a scenario
//! may ask for, the two small sections (account and metrics), and
//! re-exports of what its submodules hold — the file as written (`file`),
//! the pools (`pool`), jobs (`job`) and where their tasks come from
//! (`sources`), and the errors (`error`) — so that the rest of the crate
//! names everything as `scenario::X`.
#![forbid(unsafe_code)]

pub mod actions;
mod constraints;
pub mod deps;
pub mod dist;
pub mod downloads;
mod error;
mod file;
pub mod job;
mod pool;
mod read;
mod schedule;
mod sources;
pub mod swf;
pub mod task_trace;
pub mod trace;
pub mod vm;

use std::path::Path;

use autoscale_runtime::Timestamp;
use serde::Deserialize;

use crate::formula::Engine;
use crate::time::{SimDuration, SimTime};
pub use actions::{NodeAction, NodeActionKind, StartTask};
pub use constraints::TaskConstraints;
pub use deps::IdRange;
pub use dist::Dist;
pub use downloads::{Container, Package, ResourceFile, TaskFiles};
use error::Check;
pub use error::{FormulaTargetError, Refusal, ReplaceFormulaError, ScenarioError};
use file::FileRoot;
pub use job::{ExitCodes, Job, JobTask, Origin};
use pool::FormulaRefusal;
pub use pool::{Autoscale, Image, ManualResize, NodeFill, Pool, Preemption, PreemptionSchedule, Scaling};
pub use schedule::Schedule;
pub use sources::{Generator, Source, TaskEntry};
pub use task_trace::{TaskTrace, TraceError};
pub use trace::{TracePreemption, TraceTask};
pub use vm::VmSize;

/// The shortest autoscale interval the service accepts.
pub const MIN_INTERVAL: SimDuration = SimDuration::from_mins(5);
/// The longest autoscale interval the service accepts.
pub const MAX_INTERVAL: SimDuration = SimDuration::from_hours(168);
/// The shortest resize timeout the service accepts.
pub const MIN_RESIZE_TIMEOUT: SimDuration = SimDuration::from_mins(5);
/// The longest simulation: a year, so that outputs stay in memory.
pub const MAX_DURATION: SimDuration = SimDuration::from_hours(24 * 366);
/// Time zero when the scenario does not say (a Monday).
pub const DEFAULT_START: &str = "2024-01-01T00:00:00Z";
/// The most nodes of one priority a pool may be asked for; larger targets
/// are clamped, so that a formula cannot exhaust memory.
pub const MAX_TARGET: u32 = 100_000;
/// The most jobs all the schedules of a scenario may create: each
/// occurrence is a job kept for the whole run, and a seat in the ready
/// queue, whose turn-taking looks through the jobs of a priority (an hourly
/// job for a year is 8 784).
pub const MAX_OCCURRENCES: usize = 10_000;
/// The shortest period of a job schedule the service accepts.
pub const MIN_RECURRENCE: SimDuration = SimDuration::from_mins(1);
/// The most tasks one `tasks` entry may describe.
pub const MAX_COUNT: u32 = 100_000_000;
/// The most memory one running task may use, in MiB (1 TiB): the pool's
/// memory sums, over every task running at once, then stay far below
/// `u64::MAX`.
pub const MAX_TASK_MEMORY_MIB: u64 = 1 << 20;
/// The most tasks a scenario may have, as estimated before it runs: the
/// expected count of every generator over its active window, plus every
/// `tasks` entry's count and every trace row. A year of the largest
/// planned benchmark has about 120 million. A finished task leaves memory,
/// but each costs time: far beyond this, a mistyped rate would run for
/// hours before anyone saw it.
pub const MAX_TASKS: u64 = 200_000_000;
/// The longest scenario file, in bytes.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;
/// The longest trace file (task arrivals or preemptions), in bytes.
pub const MAX_TRACE_BYTES: u64 = 1 << 30;
/// The longest line of a trace file, in bytes.
pub const MAX_TRACE_LINE_BYTES: u64 = 64 << 10;

/// A checked scenario, ready to simulate: plain data (`Send + Sync`, and
/// cheap to clone), loaded and checked once and shared by every run;
/// each run compiles its own formula from the text it keeps.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// A short name for reports (default: the file's stem).
    pub name: String,
    /// The wall-clock instant the simulation starts at (what `time()` returns first).
    pub start: Timestamp,
    /// How long to simulate.
    pub duration: SimDuration,
    /// The seed of every random stream (`--seed` overrides it).
    pub seed: u64,
    /// The account's quotas, shared by its pools.
    pub account: Account,
    /// The account's pools, in file order (at least one; ids unique): one
    /// `[pool]`, or the `[[pools]]` tables. Each job names its pool
    /// ([`Job::pool`]).
    pub pools: Vec<Pool>,
    /// How metrics are recorded.
    pub metrics: Metrics,
    /// The workload: the file's jobs, then every occurrence of every
    /// schedule (schedule by schedule, in time order).
    pub jobs: Vec<Job>,
    /// The job schedules, whose occurrences are among `jobs`.
    pub schedules: Vec<Schedule>,
    /// What loading it read that the user should know (records of an SWF
    /// trace skipped, its header), for `run` to print.
    pub notes: Vec<String>,
}

// Shared by the worker threads of `compare`, `sweep` and `test`.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Scenario>();
};

/// Account quotas: cores, shared by every node of every pool of the
/// account, and how many pools and active jobs the account may have.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Account {
    /// Dedicated cores (default 100).
    pub dedicated_cores: u64,
    /// Low-priority cores (default 100).
    pub low_priority_cores: u64,
    /// Pools (default 100). The service refuses a pool past the quota
    /// (`PoolQuotaReached`), so a scenario with more pools is refused.
    pub pools: u32,
    /// Active jobs and job schedules together (default 100). The file's
    /// jobs are created at the start in file order, then its schedules;
    /// those beyond the quota are refused at once
    /// (`ActiveJobAndScheduleQuotaReached`) and none of their tasks run.
    /// A schedule's job is admitted or refused when it is due.
    pub active_jobs: u32,
}

impl Default for Account {
    fn default() -> Self {
        Account { dedicated_cores: 100, low_priority_cores: 100, pools: 100, active_jobs: 100 }
    }
}

/// How metric samples are recorded and seen.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Metrics {
    /// How long after it is recorded a sample becomes visible to formulas (default 60 s).
    pub visibility_delay: SimDuration,
    /// The fraction of samples dropped, per metric, to mimic missing data (0 to < 1).
    pub drop_out: f64,
    /// How far back formulas can see; older samples are forgotten (default 24 h).
    pub history: SimDuration,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { visibility_delay: SimDuration::from_secs(60), drop_out: 0.0, history: SimDuration::from_hours(24) }
    }
}

impl Scenario {
    /// Reads, checks and prepares the scenario at `path`; formula and trace
    /// files are found relative to it.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        if path.extension().is_some_and(|e| e == "formula") {
            return Err(ScenarioError::NotAScenario { path: shown });
        }
        let io = |message: String| ScenarioError::Io { path: shown.clone(), message };
        let bytes =
            crate::input::read_bounded(path, MAX_SCENARIO_BYTES, "the scenario file").map_err(|e| io(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| io(format!("not UTF-8 text: {e}")))?;
        let base = path.parent().unwrap_or(Path::new(""));
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
        Scenario::from_toml(&text, &shown, stem, base)
    }

    /// Parses scenario text. `shown` names it in errors, `stem` is the
    /// default name, `base` is the folder relative paths start from.
    pub fn from_toml(text: &str, shown: &str, stem: &str, base: &Path) -> Result<Scenario, ScenarioError> {
        let root: FileRoot = read::read(text, shown)?;
        Scenario::build(root, shown, stem, base).map_err(|e| read::with_line(e, text))
    }

    /// Checks the file's keys, names every refused one by its path.
    fn build(root: FileRoot, shown: &str, stem: &str, base: &Path) -> Result<Scenario, ScenarioError> {
        let check = Check::new(shown);
        let start_text = root.start.as_deref().unwrap_or(DEFAULT_START);
        let Ok(start) = Timestamp::parse(start_text) else {
            return check.fail("start", format!("`{start_text}` is not a date; write e.g. \"{DEFAULT_START}\""));
        };
        if root.duration == SimDuration::ZERO || root.duration > MAX_DURATION {
            return check.fail(
                "duration",
                format!(
                    "{} is out of range; give a duration between 1ms and {}",
                    root.duration.written(),
                    MAX_DURATION.written()
                ),
            );
        }
        check_end(&check, start, root.duration)?;
        let pools = pool::build_all(&check, root.pool, root.pools, &root.account, base, shown)?;
        let mut jobs = Vec::with_capacity(root.jobs.len());
        let mut named = Vec::with_capacity(root.jobs.len());
        let mut notes = Vec::new();
        for (i, job) in root.jobs.into_iter().enumerate() {
            named.push(job.id.is_some());
            let within = check.within(&format!("jobs[{i}]"));
            jobs.push(job::build(&within, job, job::default_id(i), base, &pools, &mut notes)?);
        }
        check_job_ids(&check, &jobs, &named)?;
        let schedules =
            schedule::build_all(&check, root.schedules, root.duration, base, &pools, &mut notes, &mut jobs)?;
        check_workload(&check, &jobs, root.duration)?;
        let m = &root.metrics;
        if !(0.0..1.0).contains(&m.drop_out) {
            return check.fail("metrics.drop_out", format!("{} is not a fraction in [0, 1)", m.drop_out));
        }
        Ok(Scenario {
            name: root.name.unwrap_or_else(|| stem.to_owned()),
            start,
            duration: root.duration,
            seed: root.seed,
            account: root.account,
            pools,
            metrics: root.metrics,
            jobs,
            schedules,
            notes,
        })
    }

    /// How many of the file's jobs the account's active-job quota lets
    /// in: the first ones, in file order; the service refuses the others
    /// when they are created, at the start.
    pub fn admitted_jobs(&self) -> usize {
        self.listed_jobs().min(self.account.active_jobs as usize)
    }

    /// How many jobs the file lists: they come first in `jobs`, before
    /// the schedules' (found by bisection, so that asking is cheap).
    pub fn listed_jobs(&self) -> usize {
        self.jobs.partition_point(|j| j.origin == Origin::File)
    }

    /// How many of the schedules the quota lets in at the start, after
    /// the file's jobs: the quota counts active jobs and job schedules
    /// together (`ActiveJobAndScheduleQuotaReached`).
    pub fn admitted_schedules(&self) -> usize {
        let left = (self.account.active_jobs as usize).saturating_sub(self.admitted_jobs());
        self.schedules.len().min(left)
    }

    /// Whether job `j` is refused when the run starts: a file job past
    /// the quota, or an occurrence of a schedule the quota refused. An
    /// occurrence of an admitted schedule is admitted or refused when it
    /// comes, by the jobs active then.
    pub fn refused_at_start(&self, j: usize) -> bool {
        match self.jobs[j].origin {
            Origin::File => j >= self.admitted_jobs(),
            Origin::Schedule { schedule, .. } => schedule as usize >= self.admitted_schedules(),
        }
    }

    /// The one pool of a one-pool scenario; `None` when it has several.
    pub fn only_pool(&self) -> Option<&Pool> {
        match self.pools.as_slice() {
            [pool] => Some(pool),
            _ => None,
        }
    }

    /// The scenario, if it has one pool; for a command that runs one pool
    /// (`command`, e.g. `compare`), an error naming its pools otherwise.
    pub fn one_pool_for(self, command: &str) -> Result<Scenario, ScenarioError> {
        if self.only_pool().is_some() {
            return Ok(self);
        }
        Err(ScenarioError::Invalid {
            path: self.name.clone(),
            line: None,
            key: "pools".to_owned(),
            message: format!(
                "{command} takes a one-pool scenario, and this one has several ({}); `autoscale-sim run` runs it",
                self.pool_ids()
            ),
        })
    }

    /// The one pool, for the code that simulates or reports one pool's
    /// run: a several-pool scenario's first pool (an account runs each
    /// of its pools as a one-pool run, see `sim::Account`).
    pub fn pool(&self) -> &Pool {
        &self.pools[0]
    }

    /// Which pool a `--formula` argument is for, and its file: `POOL=FILE`
    /// names a pool by its id; a plain `FILE` is the one-pool form, and
    /// with several pools it is refused as ambiguous. The error says why
    /// and lists the pools.
    pub fn formula_target<'a>(&self, arg: &'a str) -> Result<(usize, &'a str), FormulaTargetError> {
        let named =
            arg.split_once('=').and_then(|(id, file)| Some((self.pools.iter().position(|p| p.id == id)?, file)));
        match (named, self.pools.len()) {
            (Some(target), _) => Ok(target),
            (None, 1) => Ok((0, arg)),
            (None, _) => Err(match arg.split_once('=') {
                Some((id, _)) => FormulaTargetError::UnknownPool { id: id.to_owned(), pools: self.pool_ids() },
                None => FormulaTargetError::Ambiguous { arg: arg.to_owned(), pools: self.pool_ids() },
            }),
        }
    }

    /// The ids of the pools, for messages: `interactive, batch`.
    pub fn pool_ids(&self) -> String {
        self.pools.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Runs the same pool and workload under another formula (`name` says
    /// where it came from), evaluated by the engine the current one uses:
    /// the one-pool form of [`Scenario::replace_pool_formula`], for the
    /// first pool.
    pub fn replace_formula(&mut self, source: &str, name: &str) -> Result<(), ReplaceFormulaError> {
        self.replace_pool_formula(0, source, name)
    }

    /// Runs the same pools and workload with pool `pool` (an index)
    /// under another formula (`name` says where it came from), evaluated
    /// by the engine the current one uses. A formula with checker errors
    /// is refused: a simulation needs a valid one.
    pub fn replace_pool_formula(&mut self, pool: usize, source: &str, name: &str) -> Result<(), ReplaceFormulaError> {
        let Some(Scaling::Autoscale(autoscale)) = self.pools.get_mut(pool).map(|p| &mut p.scaling) else {
            return Err(ReplaceFormulaError::FixedTargets);
        };
        pool::check_formula(source).map_err(|refusal| match refusal {
            FormulaRefusal::DoesNotCompile(d) => ReplaceFormulaError::DoesNotCompile(d.message),
            FormulaRefusal::HasErrors(errors) => {
                ReplaceFormulaError::HasErrors(errors.into_iter().next().map(|d| d.message).unwrap_or_default())
            }
        })?;
        autoscale.formula = source.to_owned();
        autoscale.source_name = name.to_owned();
        Ok(())
    }

    /// The same scenario with its formula evaluated by `engine` (the
    /// default engine unless changed here).
    pub fn with_engine(mut self, engine: Engine) -> Scenario {
        for pool in &mut self.pools {
            if let Scaling::Autoscale(a) = &mut pool.scaling {
                a.engine = engine;
            }
        }
        self
    }

    /// The simulated instant at `t`.
    pub fn timestamp(&self, t: SimTime) -> Timestamp {
        crate::time::wall_clock(self.start, t)
    }
}

/// The last instant a scenario may reach: what [`Timestamp`] can hold and
/// the output files can print.
const LAST_INSTANT: &str = "9999-12-31T23:59:59Z";

/// `start` plus `duration` must not pass [`LAST_INSTANT`]: every simulated
/// instant is printed as a date (evaluations, timeline) and seen by the
/// formula as `time()`.
fn check_end(check: &Check<'_>, start: Timestamp, duration: SimDuration) -> Result<(), ScenarioError> {
    // Ticks of 100 ns; `duration` is at most MAX_DURATION, far from overflowing.
    let ticks = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).saturating_mul(10_000);
    match start.checked_add(autoscale_runtime::Interval(ticks)) {
        Ok(end) if end <= Timestamp::parse(LAST_INSTANT).unwrap_or(end) => Ok(()),
        _ => check.fail(
            "start",
            format!(
                "{start} plus the duration {duration} ends after {LAST_INSTANT}, the last instant a timestamp can \
                 hold; start earlier"
            ),
        ),
    }
}

/// Every job's id is its own: reports, `tasks.csv` and the service key
/// tasks by job id.
fn check_job_ids(check: &Check<'_>, jobs: &[Job], named: &[bool]) -> Result<(), ScenarioError> {
    let mut seen = std::collections::HashMap::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        if let Some(first) = seen.insert(job.id.as_str(), i) {
            let how = if named[i] { "" } else { " (the default id of this job)" };
            return check.fail(
                format!("jobs[{i}].id"),
                format!("`{}`{how} is already the id of jobs[{first}]; give each job its own id", job.id),
            );
        }
    }
    Ok(())
}

/// Refuses a workload whose expected task count passes [`MAX_TASKS`],
/// before anything runs, naming the source that passes it.
fn check_workload(check: &Check<'_>, jobs: &[Job], duration: SimDuration) -> Result<(), ScenarioError> {
    let mut total = 0.0;
    for (i, job) in jobs.iter().enumerate() {
        let mut generators = 0;
        // A scheduled job's tasks come from its creation on.
        let (table, left) = match job.origin {
            Origin::File => (format!("jobs[{i}]"), duration),
            Origin::Schedule { schedule, at } => {
                (format!("schedules[{schedule}].job"), SimDuration(duration.as_millis() - at.as_millis()))
            }
        };
        for source in &job.sources {
            let (expected, key) = source.expected_tasks(left);
            let key = match source {
                Source::Generate(_) => {
                    generators += 1;
                    format!("{table}.generate[{}].{key}", generators - 1)
                }
                _ => format!("{table}.{key}"),
            };
            let before = total;
            total += expected;
            if total > MAX_TASKS as f64 {
                let what = if before > 0.0 {
                    format!("{} tasks expected, {} with the ones before", about(expected), about(total))
                } else {
                    format!("{} tasks expected", about(expected))
                };
                return check.fail(
                    key,
                    format!(
                        "{what} over {}; a scenario may have at most {MAX_TASKS} (each task takes time \
                         to simulate): lower the rate or counts, or shorten the duration",
                        duration.written()
                    ),
                );
            }
        }
    }
    Ok(())
}

/// An expected count for a message: `about 96000000000`, `about 8.6e300`.
fn about(n: f64) -> String {
    if !n.is_finite() {
        "an unbounded number of".to_owned()
    } else if n < 1e15 {
        format!("about {n:.0}")
    } else {
        format!("about {n:.1e}")
    }
}

#[cfg(test)]
mod tests;
