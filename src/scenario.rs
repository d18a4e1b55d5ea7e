//! The scenario file: one TOML document describing the account, the pool,
//! the metrics and the workload that `autoscale-sim run` simulates.
//!
//! Parsing is two steps: serde reads the file into raw structs (unknown
//! keys and wrong types are refused there, with toml's line and column),
//! then [`Scenario::from_toml`] checks ranges, loads referenced files and
//! compiles the formula, naming the key path and the fix in every error.
//! The full schema, with an example, is in the README.
#![forbid(unsafe_code)]

pub mod actions;
pub mod deps;
pub mod dist;
pub mod job;
pub mod trace;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use autoscale_runtime::{DeallocationOption, Timestamp};
use serde::Deserialize;

use crate::formula::diag::render_to_string;
use crate::formula::{Engine, Formula};
use crate::time::{SimDuration, SimTime};
pub use actions::{NodeAction, NodeActionKind, StartTask};
pub use deps::IdRange;
pub use dist::Dist;
pub use job::{ExitCodes, JobTask};
pub use trace::{TracePreemption, TraceTask};

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
/// The most tasks one `tasks` entry may describe.
pub const MAX_COUNT: u32 = 100_000_000;

/// Why [`Scenario::replace_formula`] refused a formula; each caller words
/// the message for its own command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplaceFormulaError {
    /// The pool has fixed targets: there is no formula to replace.
    #[error("the pool has fixed targets; give it a [pool.autoscale] table")]
    FixedTargets,
    /// The formula does not parse (the syntax error's message).
    #[error("the formula does not compile: {0}")]
    DoesNotCompile(String),
    /// The formula has checker errors (the first one's message).
    #[error("the formula has errors ({0}); a simulation needs a valid one")]
    HasErrors(String),
}

/// Why a scenario cannot be run. Every variant names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario, a formula file or a trace could not be read: `cannot read x.toml: No such file`.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// Not TOML, an unknown key, or a value of the wrong type: toml's
    /// message with line, column and the offending text.
    #[error("{path}: {message}")]
    Toml {
        /// The scenario file.
        path: String,
        /// toml's message.
        message: String,
    },
    /// Well-formed, but a value is out of range or keys conflict:
    /// `scenario.toml: pool.autoscale.interval: 2m is below the minimum 5m`.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The scenario file.
        path: String,
        /// The key path, e.g. `jobs[1].generate[0].rate_per_hour`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The formula does not compile or has errors the checker found; the
    /// diagnostics rendered as `autoscale-sim check` shows them.
    #[error("{path}: the autoscale formula has errors:\n{rendered}")]
    Formula {
        /// Where the formula is: its file, or the scenario's key.
        path: String,
        /// The rendered diagnostics.
        rendered: String,
    },
    /// A row of a CSV trace is invalid: `tasks.csv: line 3: duration: ...`.
    #[error("{path}: line {line}: {message}")]
    Trace {
        /// The trace file.
        path: String,
        /// Its line, from 1.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

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
    /// The account's quotas.
    pub account: Account,
    /// The one pool.
    pub pool: Pool,
    /// How metrics are recorded.
    pub metrics: Metrics,
    /// The workload.
    pub jobs: Vec<Job>,
}

// Shared by the worker threads of `compare`, `sweep` and `test`.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Scenario>();
};

/// Account quotas: cores, shared by every node of the pool, and how many
/// pools and active jobs the account may have.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Account {
    /// Dedicated cores (default 100).
    pub dedicated_cores: u64,
    /// Low-priority cores (default 100).
    pub low_priority_cores: u64,
    /// Pools (default 100). The scenario has one pool, so only 0 matters:
    /// the service refuses the pool, and the scenario is refused.
    pub pools: u32,
    /// Active jobs (default 100). The jobs are created at the start in
    /// file order; those beyond the quota are refused at once
    /// (`ActiveJobAndScheduleQuotaReached`) and none of their tasks run.
    pub active_jobs: u32,
}

impl Default for Account {
    fn default() -> Self {
        Account { dedicated_cores: 100, low_priority_cores: 100, pools: 100, active_jobs: 100 }
    }
}

/// A VM size: cores and hourly prices.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSize {
    /// For reports, e.g. `Standard_D2s_v3`.
    #[serde(default)]
    pub name: String,
    /// Cores per node: what quotas count.
    pub cores: u32,
    /// Price of a dedicated node per hour.
    pub dedicated_price: f64,
    /// Price of a low-priority (spot) node per hour.
    #[serde(default)]
    pub low_priority_price: f64,
}

/// How nodes are filled with tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NodeFill {
    /// Across nodes: the node with the most free slots first.
    #[default]
    Spread,
    /// One node's slots before the next: the fullest node that fits first.
    Pack,
}

/// Where the nodes' OS image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Image {
    /// A marketplace image.
    #[default]
    Marketplace,
    /// A shared-gallery image: nodes reach `idle` up to 25 % faster.
    Gallery,
}

impl Image {
    /// The factor a node's allocation and boot times are multiplied by,
    /// drawn per node: 1 for marketplace images, between 0.75 and 1 for
    /// gallery images ("up to 25 % faster").
    pub fn speed_up(self, rng: &mut rand_chacha::ChaCha8Rng) -> f64 {
        use rand::RngExt;
        match self {
            Image::Marketplace => 1.0,
            Image::Gallery => rng.random_range(0.75..=1.0),
        }
    }
}

/// The pool's size: fixed targets (with optional manual resizes) or a formula.
#[derive(Debug, Clone)]
pub enum Scaling {
    /// Fixed targets, applied at the start, then changed by manual resizes.
    Fixed {
        /// Dedicated nodes wanted at the start.
        target_dedicated: u32,
        /// Low-priority nodes wanted at the start.
        target_low_priority: u32,
        /// Later resizes, by time.
        resizes: Vec<ManualResize>,
    },
    /// Autoscale.
    Autoscale(Autoscale),
}

/// A manual resize of a fixed pool; refused when the pool is not steady.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualResize {
    /// When, from the start.
    pub at: SimDuration,
    /// The new dedicated target.
    #[serde(default)]
    pub target_dedicated: u32,
    /// The new low-priority target.
    #[serde(default)]
    pub target_low_priority: u32,
    /// What happens to the tasks of removed nodes (default `requeue`).
    #[serde(default, deserialize_with = "deallocation")]
    pub deallocation: DeallocationOption,
}

/// An autoscale formula and how often it runs.
#[derive(Debug, Clone)]
pub struct Autoscale {
    /// The formula's text, checked when the scenario was loaded: it
    /// compiles with no diagnostics. Text, not compiled code, so that the
    /// scenario stays plain data; each run compiles it for `engine`.
    pub formula: String,
    /// The engine that evaluates it.
    pub engine: Engine,
    /// Where it came from, for messages: a file or `<scenario>: pool.autoscale.formula`.
    pub source_name: String,
    /// Time between evaluations (5 min to 168 h, default 15 min).
    pub interval: SimDuration,
}

/// Low-priority preemption.
#[derive(Debug, Clone)]
pub struct Preemption {
    /// When nodes are reclaimed.
    pub schedule: PreemptionSchedule,
    /// How long a preempted node stays away before it starts again.
    pub recovery: Dist,
}

/// When low-priority nodes are reclaimed.
#[derive(Debug, Clone, PartialEq)]
pub enum PreemptionSchedule {
    /// Each allocated low-priority node is preempted at this rate per
    /// node-hour (exponential times between preemptions).
    Rate(f64),
    /// At the listed times, that many nodes, chosen at random.
    Trace(Vec<TracePreemption>),
}

/// The pool.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The pool's id, for reports.
    pub id: String,
    /// Its VM size.
    pub vm: VmSize,
    /// Task slots per node (1 to min(4 × cores, 256)).
    pub task_slots_per_node: u32,
    /// How tasks are spread over nodes.
    pub node_fill: NodeFill,
    /// The nodes' OS image.
    pub image: Image,
    /// How long allocations may take before they are abandoned (≥ 5 min).
    pub resize_timeout: SimDuration,
    /// Fixed targets or autoscale.
    pub scaling: Scaling,
    /// `creating` → `starting`.
    pub allocation_time: Dist,
    /// `starting` → `idle`.
    pub boot_time: Dist,
    /// `leavingpool` → gone.
    pub removal_time: Dist,
    /// Low-priority preemption, if any.
    pub preemption: Option<Preemption>,
    /// The start task every node runs after booting, if any.
    pub start_task: Option<StartTask>,
    /// Node actions, by time.
    pub node_actions: Vec<NodeAction>,
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

/// A job: a priority and where its tasks come from.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its id, for reports.
    pub id: String,
    /// −1000 to 1000; higher runs first.
    pub priority: i16,
    /// Retries of a failed task; −1 = unlimited.
    pub max_task_retry_count: i32,
    /// How long the job may run from the start; then it ends and so do
    /// its tasks.
    pub max_wall_clock_time: Option<SimDuration>,
    /// What a real agent runs for each task (program and arguments, no
    /// shell); simulated agents only wait for the task's duration.
    pub command_line: Option<String>,
    /// The job manager task: queued first when the job is created, ahead
    /// of every other task; the job ends when it completes.
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
    /// The task sources.
    pub sources: Vec<Source>,
}

/// Where a job's tasks come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Listed in the scenario, sorted by time; shared by every run.
    List(Arc<[TaskEntry]>),
    /// A CSV trace, sorted by time; shared by every run.
    Trace(Arc<[TraceTask]>),
    /// A generator.
    Generate(Generator),
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
    },
}

fn one() -> u32 {
    1
}

fn deallocation<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DeallocationOption, D::Error> {
    let word = String::deserialize(d)?;
    DeallocationOption::from_keyword(&word).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown deallocation option `{word}`; use requeue, terminate, taskcompletion or retaineddata"
        ))
    })
}

// ---- the file as written ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoot {
    name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    start: Option<String>,
    duration: SimDuration,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    account: Account,
    pool: FilePool,
    #[serde(default)]
    metrics: Metrics,
    #[serde(default)]
    jobs: Vec<FileJob>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePool {
    #[serde(default = "default_pool_id")]
    id: String,
    vm: VmSize,
    #[serde(default = "one")]
    task_slots_per_node: u32,
    #[serde(default)]
    node_fill: NodeFill,
    #[serde(default)]
    image: Image,
    resize_timeout: Option<SimDuration>,
    target_dedicated: Option<u32>,
    target_low_priority: Option<u32>,
    #[serde(default)]
    resizes: Vec<ManualResize>,
    autoscale: Option<FileAutoscale>,
    allocation_time: Option<Dist>,
    boot_time: Option<Dist>,
    removal_time: Option<Dist>,
    preemption: Option<FilePreemption>,
    start_task: Option<StartTask>,
    #[serde(default)]
    node_actions: Vec<NodeAction>,
}

fn default_pool_id() -> String {
    "pool".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAutoscale {
    formula: Option<String>,
    formula_file: Option<PathBuf>,
    interval: Option<SimDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePreemption {
    rate_per_node_hour: Option<f64>,
    trace: Option<PathBuf>,
    recovery: Option<Dist>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJob {
    id: Option<String>,
    #[serde(default)]
    priority: i16,
    #[serde(default)]
    max_task_retry_count: i32,
    max_wall_clock_time: Option<SimDuration>,
    command_line: Option<String>,
    manager: Option<JobTask>,
    preparation: Option<JobTask>,
    release: Option<JobTask>,
    failure_probability: Option<f64>,
    exit_codes: Option<std::collections::BTreeMap<String, f64>>,
    retention: Option<SimDuration>,
    #[serde(default = "full_cpu")]
    cpu_percent: u32,
    #[serde(default)]
    memory_mib: u64,
    #[serde(default)]
    tasks: Vec<TaskEntry>,
    trace: Option<PathBuf>,
    #[serde(default)]
    generate: Vec<Generator>,
}

fn full_cpu() -> u32 {
    100
}

/// Builds validation errors for one file.
struct Check<'a> {
    path: &'a str,
}

impl Check<'_> {
    fn fail<T>(&self, key: impl Into<String>, message: impl Into<String>) -> Result<T, ScenarioError> {
        Err(ScenarioError::Invalid { path: self.path.to_owned(), key: key.into(), message: message.into() })
    }
}

impl Scenario {
    /// Reads, checks and prepares the scenario at `path`; formula and trace
    /// files are found relative to it.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError::Io { path: shown.clone(), message: e.to_string() })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
        Scenario::from_toml(&text, &shown, stem, base)
    }

    /// Parses scenario text. `shown` names it in errors, `stem` is the
    /// default name, `base` is the folder relative paths start from.
    pub fn from_toml(text: &str, shown: &str, stem: &str, base: &Path) -> Result<Scenario, ScenarioError> {
        let root: FileRoot =
            toml::from_str(text).map_err(|e| ScenarioError::Toml { path: shown.to_owned(), message: e.to_string() })?;
        let check = Check { path: shown };
        let start_text = root.start.as_deref().unwrap_or(DEFAULT_START);
        let Ok(start) = Timestamp::parse(start_text) else {
            return check.fail("start", format!("`{start_text}` is not a date; write e.g. \"{DEFAULT_START}\""));
        };
        if root.duration == SimDuration::ZERO || root.duration > MAX_DURATION {
            return check.fail("duration", format!("{} is out of range; give 1s to {MAX_DURATION}", root.duration));
        }
        if root.account.pools == 0 {
            return check.fail(
                "account.pools",
                "a pool quota of 0 makes the service refuse the pool (PoolQuotaReached); give at least 1",
            );
        }
        let pool = build_pool(&check, root.pool, base, shown)?;
        let mut jobs = Vec::with_capacity(root.jobs.len());
        for (i, job) in root.jobs.into_iter().enumerate() {
            jobs.push(build_job(&check, i, job, base, pool.task_slots_per_node)?);
        }
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
            pool,
            metrics: root.metrics,
            jobs,
        })
    }

    /// How many of the jobs the account's active-job quota lets in: the
    /// first ones, in file order; the service refuses the others when
    /// they are created, at the start.
    pub fn admitted_jobs(&self) -> usize {
        self.jobs.len().min(self.account.active_jobs as usize)
    }

    /// Runs the same pool and workload under another formula (`name` says
    /// where it came from), evaluated by the engine the current one uses.
    /// A formula with checker errors is refused: a simulation needs a valid one.
    pub fn replace_formula(&mut self, source: &str, name: &str) -> Result<(), ReplaceFormulaError> {
        let Scaling::Autoscale(autoscale) = &mut self.pool.scaling else {
            return Err(ReplaceFormulaError::FixedTargets);
        };
        let formula = Formula::compile_with(source, Engine::Interp)
            .map_err(|d| ReplaceFormulaError::DoesNotCompile(d.message))?;
        if let Some(d) = formula.diagnostics().first() {
            return Err(ReplaceFormulaError::HasErrors(d.message.clone()));
        }
        autoscale.formula = source.to_owned();
        autoscale.source_name = name.to_owned();
        Ok(())
    }

    /// The same scenario with its formula evaluated by `engine` (the
    /// default engine unless changed here).
    pub fn with_engine(mut self, engine: Engine) -> Scenario {
        if let Scaling::Autoscale(a) = &mut self.pool.scaling {
            a.engine = engine;
        }
        self
    }

    /// The simulated instant at `t`.
    pub fn timestamp(&self, t: SimTime) -> Timestamp {
        crate::time::wall_clock(self.start, t)
    }
}

fn build_pool(check: &Check<'_>, p: FilePool, base: &Path, shown: &str) -> Result<Pool, ScenarioError> {
    if p.vm.cores == 0 {
        return check.fail("pool.vm.cores", "a VM has at least 1 core");
    }
    for (key, price) in
        [("pool.vm.dedicated_price", p.vm.dedicated_price), ("pool.vm.low_priority_price", p.vm.low_priority_price)]
    {
        if !(price.is_finite() && price >= 0.0) {
            return check.fail(key, format!("{price} is not a price per hour at least 0"));
        }
    }
    let max_slots = (4 * p.vm.cores).min(256);
    if p.task_slots_per_node == 0 || p.task_slots_per_node > max_slots {
        return check.fail(
            "pool.task_slots_per_node",
            format!("{} is out of range; a {}-core VM allows 1 to {max_slots}", p.task_slots_per_node, p.vm.cores),
        );
    }
    if let Some(st) = &p.start_task
        && !(0.0..=1.0).contains(&st.failure_probability)
    {
        return check.fail(
            "pool.start_task.failure_probability",
            format!("{} is not a probability in [0, 1]", st.failure_probability),
        );
    }
    let resize_timeout = p.resize_timeout.unwrap_or(SimDuration::from_mins(15));
    if resize_timeout < MIN_RESIZE_TIMEOUT {
        return check
            .fail("pool.resize_timeout", format!("{resize_timeout} is below the minimum {MIN_RESIZE_TIMEOUT}"));
    }
    let scaling = match p.autoscale {
        Some(a) => {
            if p.target_dedicated.is_some() || p.target_low_priority.is_some() || !p.resizes.is_empty() {
                return check.fail(
                    "pool.autoscale",
                    "an autoscale pool takes its targets from the formula; remove target_dedicated, \
                     target_low_priority and resizes, or remove [pool.autoscale]",
                );
            }
            Scaling::Autoscale(build_autoscale(check, a, base, shown)?)
        }
        None => {
            let mut resizes = p.resizes;
            resizes.sort_by_key(|r| r.at);
            Scaling::Fixed {
                target_dedicated: p.target_dedicated.unwrap_or(0),
                target_low_priority: p.target_low_priority.unwrap_or(0),
                resizes,
            }
        }
    };
    let preemption = match p.preemption {
        None => None,
        Some(f) => {
            let schedule = match (f.rate_per_node_hour, f.trace) {
                (Some(rate), None) if rate.is_finite() && rate >= 0.0 => PreemptionSchedule::Rate(rate),
                (Some(rate), None) => {
                    return check
                        .fail("pool.preemption.rate_per_node_hour", format!("{rate} is not a rate at least 0"));
                }
                (None, Some(path)) => PreemptionSchedule::Trace(trace::read_preemptions(&base.join(path))?),
                _ => return check.fail("pool.preemption", "give exactly one of rate_per_node_hour or trace"),
            };
            Some(Preemption { schedule, recovery: f.recovery.unwrap_or(Dist::Fixed(SimDuration::from_mins(10))) })
        }
    };
    Ok(Pool {
        id: p.id,
        vm: p.vm,
        task_slots_per_node: p.task_slots_per_node,
        node_fill: p.node_fill,
        image: p.image,
        resize_timeout,
        scaling,
        allocation_time: p.allocation_time.unwrap_or(Dist::Fixed(SimDuration::from_mins(3))),
        boot_time: p.boot_time.unwrap_or(Dist::Fixed(SimDuration::from_mins(1))),
        removal_time: p.removal_time.unwrap_or(Dist::Fixed(SimDuration::ZERO)),
        preemption,
        start_task: p.start_task,
        node_actions: {
            let mut actions = p.node_actions;
            actions.sort_by_key(|a| a.at);
            actions
        },
    })
}

fn build_autoscale(check: &Check<'_>, a: FileAutoscale, base: &Path, shown: &str) -> Result<Autoscale, ScenarioError> {
    let interval = a.interval.unwrap_or(SimDuration::from_mins(15));
    if interval < MIN_INTERVAL {
        return check.fail("pool.autoscale.interval", format!("{interval} is below the minimum {MIN_INTERVAL}"));
    }
    if interval > MAX_INTERVAL {
        return check.fail("pool.autoscale.interval", format!("{interval} is above the maximum {MAX_INTERVAL}"));
    }
    let (source_name, source) = match (a.formula, a.formula_file) {
        (Some(text), None) => (format!("{shown}: pool.autoscale.formula"), text),
        (None, Some(file)) => {
            let path = base.join(&file);
            let name = path.display().to_string();
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ScenarioError::Io { path: name.clone(), message: e.to_string() })?;
            (name, text)
        }
        _ => return check.fail("pool.autoscale", "give exactly one of formula (the text) or formula_file (a path)"),
    };
    // Checked here, once; the interpreter needs no code generated.
    let diagnostics = match Formula::compile_with(&source, Engine::Interp) {
        Ok(formula) if formula.diagnostics().is_empty() => {
            return Ok(Autoscale { formula: source, engine: Engine::default(), source_name, interval });
        }
        Ok(formula) => formula.diagnostics().to_vec(),
        Err(d) => vec![d],
    };
    Err(ScenarioError::Formula { rendered: render_to_string(&source_name, &source, &diagnostics), path: source_name })
}

fn build_job(check: &Check<'_>, i: usize, j: FileJob, base: &Path, slots: u32) -> Result<Job, ScenarioError> {
    let key = |k: &str| format!("jobs[{i}].{k}");
    if !(-1000..=1000).contains(&j.priority) {
        return check.fail(key("priority"), format!("{} is out of range; give -1000 to 1000", j.priority));
    }
    if j.max_task_retry_count < -1 {
        return check.fail(key("max_task_retry_count"), "give -1 (unlimited) or a count at least 0");
    }
    let exit_codes = match (j.failure_probability, j.exit_codes) {
        (None, None) => ExitCodes::default(),
        (Some(p), None) if (0.0..=1.0).contains(&p) => ExitCodes::FailureProbability(p),
        (Some(p), None) => {
            return check.fail(key("failure_probability"), format!("{p} is not a probability in [0, 1]"));
        }
        (None, Some(table)) => match ExitCodes::from_weights(table) {
            Ok(codes) => codes,
            Err(message) => return check.fail(key("exit_codes"), message),
        },
        (Some(_), Some(_)) => {
            return check.fail(
                key("exit_codes"),
                "give either failure_probability or exit_codes (a table of code = weight), not both",
            );
        }
    };
    for (name, task) in [("manager", &j.manager), ("preparation", &j.preparation), ("release", &j.release)] {
        if let Some(t) = task
            && !(0.0..=1.0).contains(&t.failure_probability)
        {
            return check.fail(
                key(&format!("{name}.failure_probability")),
                format!("{} is not a probability in [0, 1]", t.failure_probability),
            );
        }
    }
    if j.release.is_some() && j.preparation.is_none() {
        return check.fail(
            key("release"),
            "a job release task runs where the job preparation task ran; add [jobs.preparation] too, as the \
             service requires",
        );
    }
    if j.cpu_percent > 100 {
        return check.fail(key("cpu_percent"), format!("{} is above 100", j.cpu_percent));
    }
    let mut sources = Vec::new();
    if !j.tasks.is_empty() {
        let mut entries = j.tasks;
        for (n, e) in entries.iter().enumerate() {
            if e.count > MAX_COUNT {
                return check.fail(key(&format!("tasks[{n}].count")), format!("{} is above {MAX_COUNT}", e.count));
            }
            if e.slots == 0 {
                return check.fail(key(&format!("tasks[{n}].slots")), "a task needs at least 1 slot");
            }
            let instances = key(&format!("tasks[{n}].instances"));
            if e.instances == 0 || e.instances > MAX_TARGET {
                return check.fail(instances, format!("{} is out of range; give 1 to {}", e.instances, MAX_TARGET));
            }
            if e.instances > 1 && slots != 1 {
                return check.fail(
                    instances,
                    format!("a multi-instance task needs pool.task_slots_per_node = 1 (the pool has {slots})"),
                );
            }
        }
        if let Err((k, message)) = deps::check(&entries) {
            return check.fail(key(&k), message);
        }
        entries.sort_by_key(|e| e.at);
        sources.push(Source::List(entries.into()));
    }
    if let Some(path) = j.trace {
        sources.push(Source::Trace(trace::read_tasks(&base.join(path))?.into()));
    }
    for (n, g) in j.generate.into_iter().enumerate() {
        let gkey = |k: &str| key(&format!("generate[{n}].{k}"));
        let (from, until, slots) = match &g {
            Generator::Poisson { rate_per_hour, from, until, slots, .. } => {
                if !(rate_per_hour.is_finite() && *rate_per_hour > 0.0) {
                    return check.fail(gkey("rate_per_hour"), format!("{rate_per_hour} is not a rate above 0"));
                }
                (*from, *until, *slots)
            }
            Generator::Periodic { every, count, from, until, slots, .. } => {
                if *every == SimDuration::ZERO {
                    return check.fail(gkey("every"), "the period must be above 0s");
                }
                if *count > MAX_COUNT {
                    return check.fail(gkey("count"), format!("{count} is above {MAX_COUNT}"));
                }
                (*from, *until, *slots)
            }
            Generator::Bursty { mean_gap, size, from, until, slots, .. } => {
                if *mean_gap == SimDuration::ZERO {
                    return check.fail(gkey("mean_gap"), "the mean gap must be above 0s");
                }
                if *size > MAX_COUNT {
                    return check.fail(gkey("size"), format!("{size} is above {MAX_COUNT}"));
                }
                (*from, *until, *slots)
            }
        };
        if slots == 0 {
            return check.fail(gkey("slots"), "a task needs at least 1 slot");
        }
        if until.is_some_and(|u| u < from) {
            return check.fail(gkey("until"), "`until` is before `from`");
        }
        sources.push(Source::Generate(g));
    }
    Ok(Job {
        id: j.id.unwrap_or_else(|| format!("job-{}", i + 1)),
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
        sources,
    })
}

#[cfg(test)]
mod tests;
