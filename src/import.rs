//! `autoscale-sim import`: a scenario from the service's own exports — a
//! pool as `az batch pool show` prints it and task lists as `az batch task
//! list` (or the REST API) prints them — that `autoscale-sim run` runs
//! unchanged.
//!
//! What maps, and how:
//!
//! - The pool: its id, VM size (cores from the catalog of sizes, prices
//!   from the options), task slots, fill type, resize timeout, image kind,
//!   start task, and its formula and evaluation interval (written to
//!   `formula.formula`) or its fixed targets.
//! - Each job's tasks that completed: submitted at their creation time
//!   (the scenario starts at the first one), running for their last run's
//!   `endTime − startTime` to the millisecond, with their slots, instances
//!   and dependencies. Tasks still running or never started are left out
//!   and counted. Jobs whose tasks are all plain go to a CSV trace
//!   (`JOB.csv`); others to a task list in the scenario.
//! - Failures: every run that failed (`retryCount`, and the last run when
//!   its result is `failure`) counts towards the job's
//!   `failure_probability`, the share of failed runs.
//! - Constraints: the job's retry count is its tasks' most common
//!   `maxTaskRetryCount`; a task with another count, a `maxWallClockTime`
//!   or a `retentionTime` other than 7 days keeps its own (the service's
//!   "unlimited" is none).
//!
//! Everything not mapped is said in the notes the command prints.

mod service;
mod write;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::input::read_settings;
use crate::time::SimDuration;

pub use write::Written;

/// What to import, and where to.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The pool's JSON.
    pub pool: PathBuf,
    /// Task lists: JSON arrays or REST pages, one job's or several.
    pub tasks: Vec<PathBuf>,
    /// The job of tasks whose `url` names none.
    pub job: Option<String>,
    /// The VM's cores, for a size the catalog does not know.
    pub cores: Option<u32>,
    /// Price per hour of a dedicated node.
    pub dedicated_price: Option<f64>,
    /// Price per hour of a low-priority node.
    pub low_priority_price: Option<f64>,
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read, or is not the JSON expected.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The exports hold nothing a scenario can be made of.
    #[error("{0}")]
    Unusable(String),
}

/// One completed task, as the scenario needs it.
#[derive(Debug, Clone)]
struct Done {
    /// Ticks (100 ns) since 1970 of its creation.
    created: i64,
    /// Its last run's length.
    run: SimDuration,
    slots: u32,
    instances: u32,
    /// The service's id, for dependencies.
    id: String,
    depends_on: Option<service::DependsOn>,
    /// Runs that failed, and runs in all.
    failed_runs: u32,
    runs: u32,
    max_task_retry_count: Option<i32>,
    /// Its own limits; `None` when unlimited.
    max_wall_clock_time: Option<SimDuration>,
    retention: Option<SimDuration>,
}

/// One job's tasks, and what was left out.
#[derive(Debug, Default)]
struct Job {
    done: Vec<Done>,
    running: u32,
    never_started: u32,
}

/// Reads the exports and writes the scenario into `out`.
pub fn import(options: &Options, out: &Path) -> Result<Written, ImportError> {
    let pool: service::Pool = read_json(&options.pool)?;
    let mut jobs: BTreeMap<String, Job> = BTreeMap::new();
    let mut notes = Vec::new();
    for path in &options.tasks {
        let (tasks, next) = match read_json::<service::TaskList>(path)? {
            service::TaskList::Array(tasks) => (tasks, None),
            service::TaskList::Page { value, next_link } => (value, next_link),
        };
        if next.is_some() {
            notes.push(format!(
                "{}: a page with an `odata.nextLink`: more pages follow; give each page with --tasks",
                path.display()
            ));
        }
        for task in tasks {
            let job = match (task.job_id(), &options.job) {
                (Some(id), _) => id.to_owned(),
                (None, Some(id)) => id.clone(),
                (None, None) => "imported".to_owned(),
            };
            let job = jobs.entry(job).or_default();
            let shown = |e: String| ImportError::Input {
                path: path.display().to_string(),
                message: format!("task {}: {e}", task.id),
            };
            match completed(&task).map_err(shown)? {
                Some(done) => job.done.push(done),
                None if task.state.as_deref() == Some("running") => job.running += 1,
                None => job.never_started += 1,
            }
        }
    }
    let first =
        jobs.values().flat_map(|j| j.done.iter().map(|d| d.created)).min().ok_or_else(|| {
            ImportError::Unusable("no completed task in the task lists: nothing to replay".to_owned())
        })?;
    for (id, job) in &jobs {
        if job.running > 0 {
            notes
                .push(format!("job {id}: {} still running: left out", write::tasks(job.running as usize, "is", "are")));
        }
        if job.never_started > 0 {
            notes.push(format!(
                "job {id}: {} never started: left out",
                write::tasks(job.never_started as usize, "has", "have")
            ));
        }
    }
    write::scenario(&pool, &jobs, first, options, notes, out)
}

/// A task that ran to its end, or `None` (running, never started).
fn completed(task: &service::Task) -> Result<Option<Done>, String> {
    let Some(info) = &task.execution_info else { return Ok(None) };
    let (Some(start), Some(end)) = (&info.start_time, &info.end_time) else { return Ok(None) };
    if task.state.as_deref().is_some_and(|s| s != "completed") {
        return Ok(None);
    }
    let created = task.creation_time.as_deref().ok_or("no creationTime")?;
    let created = service::timestamp(created)?.unix_ticks();
    let (start, end) = (service::timestamp(start)?.unix_ticks(), service::timestamp(end)?.unix_ticks());
    if end < start {
        return Err("its endTime is before its startTime".to_owned());
    }
    let run = service::ticks_to_millis(end - start);
    let retries = info.retry_count.unwrap_or(0);
    let constraints = task.constraints.as_ref();
    let failed_last = info.result.as_deref() == Some("failure") || info.exit_code.is_some_and(|c| c != 0);
    Ok(Some(Done {
        created,
        run,
        slots: task.required_slots.unwrap_or(1).max(1),
        instances: task.multi_instance_settings.as_ref().and_then(|m| m.number_of_instances).unwrap_or(1).max(1),
        id: task.id.clone(),
        depends_on: task.depends_on.clone(),
        failed_runs: retries + u32::from(failed_last),
        runs: retries + 1,
        max_task_retry_count: constraints.and_then(|c| c.max_task_retry_count),
        max_wall_clock_time: service::field_duration(
            constraints.and_then(|c| c.max_wall_clock_time.as_deref()),
            "constraints.maxWallClockTime",
        )?,
        retention: service::field_duration(
            constraints.and_then(|c| c.retention_time.as_deref()),
            "constraints.retentionTime",
        )?,
    }))
}

/// Reads `path` as JSON of type `T`, within the settings bound.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ImportError> {
    let input = |message: String| ImportError::Input { path: path.display().to_string(), message };
    let text = read_settings(path, "the export").map_err(|e| input(e.to_string()))?;
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| input(e.to_string()))
}

/// The most common value of an iterator, the smallest of ties.
fn most_common<T: Ord + Copy + std::hash::Hash>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: HashMap<T, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map(|(v, _)| v)
}
