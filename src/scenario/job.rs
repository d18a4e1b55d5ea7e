//! A job: its priority, limits and resources, the service's special job
//! tasks (job manager, job preparation, job release), how a task's run
//! ends (its exit code), and the checks that build it from a `[[jobs]]`
//! table; where its tasks come from ([`Source`]) is in `sources.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use rand::RngExt;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::error::Check;
use super::file::FileJob;
use super::{Dist, Package, ResourceFile, ScenarioError, Source, sources};
use crate::time::SimDuration;

/// A job: a priority and where its tasks come from.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its id, for reports.
    pub id: String,
    /// The pool it runs on, an index into [`Scenario::pools`](super::Scenario::pools):
    /// its tasks run only on that pool's nodes, and its priority orders
    /// it only among that pool's jobs.
    pub pool: usize,
    /// −1000 to 1000; higher runs first.
    pub priority: i16,
    /// Retries of a failed task; −1 = unlimited.
    pub max_task_retry_count: i32,
    /// How long the job may run from its creation (the start); then it
    /// ends and so do its tasks.
    pub max_wall_clock_time: Option<SimDuration>,
    /// What a real agent runs for each task (program and arguments, no
    /// shell); simulated agents only wait for the task's duration.
    pub command_line: Option<String>,
    /// The job manager task: queued when the job is created, as its
    /// first task; the job ends when it completes.
    pub manager: Option<JobTask>,
    /// The job preparation task, run on each node before the job's first
    /// task there.
    pub preparation: Option<JobTask>,
    /// The job release task, run on each node that prepared the job when
    /// the job ends.
    pub release: Option<JobTask>,
    /// How a task's runs end.
    pub exit_codes: ExitCodes,
    /// How long a finished task's data stays on its node (`retaineddata`).
    pub retention: SimDuration,
    /// CPU a running task uses on its node, in percent of the node (0–100).
    pub cpu_percent: u32,
    /// Memory a running task uses, in MiB.
    pub memory_mib: u64,
    /// Application packages each of its tasks (and its manager) needs on
    /// its node: fetched once per node.
    pub application_packages: Vec<Package>,
    /// The task sources.
    pub sources: Vec<Source>,
    /// Whether the file lists it or a schedule creates it.
    pub origin: Origin,
}

/// Where a job comes from, and so when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `[[jobs]]` table: created at the start, in file order.
    File,
    /// An occurrence of schedule `schedule` (its index in
    /// `Scenario::schedules`), created at `at` if the active-job quota
    /// lets it in then.
    Schedule {
        /// The schedule's index.
        schedule: u32,
        /// When the occurrence creates the job, from the start.
        at: SimDuration,
    },
}

impl Job {
    /// When the job is created, from the start: the origin of its time
    /// limit and of its tasks' submission times.
    pub fn created(&self) -> SimDuration {
        match self.origin {
            Origin::File => SimDuration::ZERO,
            Origin::Schedule { at, .. } => at,
        }
    }
}

/// A job manager, preparation or release task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobTask {
    /// How long one run takes.
    pub duration: Dist,
    /// Probability that a run fails (0 to 1, default 0).
    #[serde(default)]
    pub failure_probability: f64,
    /// What a real agent runs (program and arguments, no shell); a
    /// simulated agent only waits `duration`.
    #[serde(default)]
    pub command_line: Option<String>,
    /// Files each run downloads first.
    #[serde(default)]
    pub resource_files: Vec<ResourceFile>,
}

impl JobTask {
    /// Draws one run: how long it takes and whether it succeeds.
    pub fn run(&self, rng: &mut ChaCha8Rng) -> (SimDuration, bool) {
        let took = self.duration.sample(rng);
        (took, self.succeeds(rng))
    }

    /// Draws whether one run succeeds.
    pub fn succeeds(&self, rng: &mut ChaCha8Rng) -> bool {
        !(self.failure_probability > 0.0 && rng.random_bool(self.failure_probability))
    }
}

/// How the runs of a job's tasks end: exit code 0 is success, anything
/// else a failure, as in the service.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitCodes {
    /// A run fails (exit code 1) with this probability.
    FailureProbability(f64),
    /// A run ends with `codes[i]` with probability proportional to its weight.
    Weighted {
        /// The codes.
        codes: Vec<i32>,
        /// Their weights, for drawing an index into `codes`.
        index: WeightedIndex<f64>,
    },
}

impl Default for ExitCodes {
    fn default() -> Self {
        ExitCodes::FailureProbability(0.0)
    }
}

impl ExitCodes {
    /// Reads the scenario's `exit_codes` table (`{ 0 = 95, 3 = 5 }`: code
    /// = relative weight), or an error message for its key.
    pub fn from_weights(table: BTreeMap<String, f64>) -> Result<ExitCodes, String> {
        let mut codes = Vec::with_capacity(table.len());
        let mut weights = Vec::with_capacity(table.len());
        for (code, weight) in table {
            let Ok(code) = code.parse::<i32>() else {
                return Err(format!("`{code}` is not an exit code; keys are integers such as 0 or 3"));
            };
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(format!("the weight of exit code {code} is {weight}; give a number at least 0"));
            }
            codes.push(code);
            weights.push(weight);
        }
        let index = WeightedIndex::new(&weights)
            .map_err(|_| "give at least one exit code with a weight above 0, e.g. { 0 = 95, 3 = 5 }".to_owned())?;
        Ok(ExitCodes::Weighted { codes, index })
    }

    /// Draws the exit code of one run. With a failure probability of 0
    /// nothing is drawn, so that a job without failures leaves its random
    /// stream untouched. Inlined: every task end draws, most often that
    /// nothing.
    #[inline]
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> i32 {
        match self {
            ExitCodes::FailureProbability(p) => i32::from(*p > 0.0 && rng.random_bool(*p)),
            ExitCodes::Weighted { codes, index } => codes[index.sample(rng)],
        }
    }
}

/// Builds the job of the table `check` is within (`jobs[0]`,
/// `schedules[1].job`) for the pool it names (`pool`, required when there
/// are several), with the id `default_id` unless it names its own; trace
/// files are found under `base`, and what reading them says goes to
/// `notes`. The checks run in a fixed order, so that of two mistakes the
/// same one is always reported.
pub(super) fn build(
    check: &Check<'_>,
    j: FileJob,
    default_id: String,
    base: &Path,
    pools: &[super::Pool],
    notes: &mut Vec<String>,
) -> Result<Job, ScenarioError> {
    let id = j.id.unwrap_or(default_id);
    let pool_index = pool_of(check, &id, j.pool.as_deref(), pools)?;
    let pool = &pools[pool_index];
    if !(-1000..=1000).contains(&j.priority) {
        return check.fail("priority", format!("{} is out of range; give -1000 to 1000", j.priority));
    }
    if j.max_task_retry_count < -1 {
        return check.fail("max_task_retry_count", "give -1 (unlimited) or a count at least 0");
    }
    let exit_codes = exit_codes(check, j.failure_probability, j.exit_codes)?;
    check_job_tasks(check, j.manager.as_ref(), j.preparation.as_ref(), j.release.as_ref())?;
    if j.memory_mib > super::MAX_TASK_MEMORY_MIB {
        let limit = super::MAX_TASK_MEMORY_MIB;
        return check.fail("memory_mib", format!("{} is above the limit, {limit} MiB (1 TiB) per task", j.memory_mib));
    }
    if j.cpu_percent > 100 {
        return check.fail("cpu_percent", format!("{} is above 100", j.cpu_percent));
    }
    let sources = sources::build(check, j.tasks, j.trace, j.generate, base, pool, notes)?;
    Ok(Job {
        id,
        pool: pool_index,
        priority: j.priority,
        max_task_retry_count: j.max_task_retry_count,
        max_wall_clock_time: j.max_wall_clock_time,
        command_line: j.command_line,
        manager: j.manager,
        preparation: j.preparation,
        release: j.release,
        exit_codes,
        retention: j.retention.unwrap_or(SimDuration::from_hours(24 * 7)),
        cpu_percent: j.cpu_percent,
        memory_mib: j.memory_mib,
        application_packages: j.application_packages,
        sources,
        origin: Origin::File,
    })
}

/// The id of job `i` (from 0) when the file gives none.
pub(super) fn default_id(i: usize) -> String {
    format!("job-{}", i + 1)
}

/// The index of the pool job `id` names: the one pool when it names
/// none; with several pools the name is required and must be one of
/// their ids.
fn pool_of(check: &Check<'_>, id: &str, named: Option<&str>, pools: &[super::Pool]) -> Result<usize, ScenarioError> {
    let ids = || pools.iter().map(|p| format!("`{}`", p.id)).collect::<Vec<_>>().join(", ");
    match named {
        None if pools.len() == 1 => Ok(0),
        None => check.fail("pool", format!("job `{id}` names no pool; with several pools, give one of {}", ids())),
        Some(name) => pools.iter().position(|p| p.id == name).map_or_else(
            || check.fail("pool", format!("job `{id}` names the pool `{name}`, which is not one of {}", ids())),
            Ok,
        ),
    }
}

/// How the job's runs end: a failure probability or a table of exit
/// codes, never both; every run succeeds when neither is given.
fn exit_codes(
    check: &Check<'_>,
    failure_probability: Option<f64>,
    table: Option<BTreeMap<String, f64>>,
) -> Result<ExitCodes, ScenarioError> {
    match (failure_probability, table) {
        (None, None) => Ok(ExitCodes::default()),
        (Some(p), None) if (0.0..=1.0).contains(&p) => Ok(ExitCodes::FailureProbability(p)),
        (Some(p), None) => check.fail("failure_probability", format!("{p} is not a probability in [0, 1]")),
        (None, Some(table)) => ExitCodes::from_weights(table).or_else(|message| check.fail("exit_codes", message)),
        (Some(_), Some(_)) => check
            .fail("exit_codes", "give either failure_probability or exit_codes (a table of code = weight), not both"),
    }
}

/// The job manager, preparation and release tasks: failure probabilities
/// in range, and no release without a preparation.
fn check_job_tasks(
    check: &Check<'_>,
    manager: Option<&JobTask>,
    preparation: Option<&JobTask>,
    release: Option<&JobTask>,
) -> Result<(), ScenarioError> {
    for (name, task) in [("manager", manager), ("preparation", preparation), ("release", release)] {
        if let Some(t) = task
            && !(0.0..=1.0).contains(&t.failure_probability)
        {
            return check.fail(
                format!("{name}.failure_probability"),
                format!("{} is not a probability in [0, 1]", t.failure_probability),
            );
        }
    }
    if release.is_some() && preparation.is_none() {
        return check.fail(
            "release",
            "a job release task runs where the job preparation task ran; add [jobs.preparation] too, as the \
             service requires",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn weights(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, w)| (k.to_string(), *w)).collect()
    }

    #[test]
    fn weighted_exit_codes_follow_their_weights() {
        let codes = ExitCodes::from_weights(weights(&[("0", 3.0), ("3", 1.0), ("-1", 0.0)])).unwrap();
        let mut r = ChaCha8Rng::seed_from_u64(7);
        let mut counts = BTreeMap::new();
        for _ in 0..40_000 {
            *counts.entry(codes.draw(&mut r)).or_insert(0u32) += 1;
        }
        assert_eq!(counts.get(&-1), None, "a code of weight 0 never comes out");
        let share = f64::from(counts[&3]) / 40_000.0;
        assert!((share - 0.25).abs() < 0.01, "code 3 came out {share} of the time, expected 0.25");
    }

    #[test]
    fn bad_exit_code_tables_are_refused_with_the_fix() {
        let e = ExitCodes::from_weights(weights(&[("ok", 1.0)])).unwrap_err();
        assert!(e.contains("`ok` is not an exit code"), "{e}");
        let e = ExitCodes::from_weights(weights(&[("0", -1.0)])).unwrap_err();
        assert!(e.contains("weight of exit code 0 is -1"), "{e}");
        let e = ExitCodes::from_weights(weights(&[("0", 0.0)])).unwrap_err();
        assert!(e.contains("at least one exit code with a weight above 0"), "{e}");
    }

    #[test]
    fn a_failure_probability_gives_exit_codes_0_and_1() {
        let mut r = ChaCha8Rng::seed_from_u64(1);
        assert!((0..100).all(|_| ExitCodes::FailureProbability(0.0).draw(&mut r) == 0));
        assert!((0..100).all(|_| ExitCodes::FailureProbability(1.0).draw(&mut r) == 1));
    }
}
