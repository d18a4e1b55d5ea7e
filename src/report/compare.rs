//! `compare`: several formulas on the same workload and the same seeds
//! (common random numbers), run in parallel, summarised per formula with
//! confidence intervals and paired significance tests on cost.
//!
//! Common random numbers are what make a comparison over few seeds
//! meaningful: every formula sees exactly the same arrivals, durations and
//! preemptions for a given seed, so the per-seed cost differences carry
//! only the formulas' effect, and a paired t-test on them is far more
//! sensitive than comparing two independent means.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::summary::Summary;
use crate::formula::Engine;
use crate::scenario::{ReplaceFormulaError, Scenario, TraceError};
use crate::sim::{Account, NodeState, Output, Priority, Recordings, Simulation, TaskState, WaitStats};
use crate::time::SimDuration;

/// Why a comparison could not run.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The scenario is invalid or unreadable: `scenario.toml: duration: …`.
    #[error("{0}")]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A run stopped before its end: a trace changed since the
    /// scenario was loaded.
    #[error("{0}")]
    Stopped(#[from] crate::scenario::TraceError),
    /// The scenario's pool has fixed targets, so there is no formula to swap.
    #[error("{0}: the pool has fixed targets; a comparison needs a [pool.autoscale] table")]
    NotAutoscale(String),
    /// A formula file could not be read: `cannot read a.formula: No such file`.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
    /// A formula does not compile or has checker errors (run `check` on it).
    #[error("{path}: the formula has errors ({message}); run `autoscale-sim check {path}`")]
    Formula {
        /// The file.
        path: String,
        /// The first error.
        message: String,
    },
    /// A `--formula` that names no pool of a several-pool scenario, or
    /// names none when it must: the message lists the pools.
    #[error("{scenario}: --formula {error}")]
    Pool {
        /// The scenario file.
        scenario: String,
        /// What is wrong, and the pools.
        error: crate::scenario::FormulaTargetError,
    },
    /// No formula, or no seed, was given.
    #[error("nothing to compare: {0}")]
    Empty(&'static str),
    /// The worker threads could not be started.
    #[error("cannot start {threads} worker threads: {message}")]
    Threads {
        /// How many were asked for.
        threads: usize,
        /// The reason.
        message: String,
    },
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareSpec {
    /// The scenario file; its workload, pool and interval are kept.
    pub scenario: PathBuf,
    /// The formula files, the first being the baseline of the tests;
    /// `POOL=FILE` for a pool of a several-pool scenario (the others keep
    /// their own formulas).
    pub formulas: Vec<PathBuf>,
    /// How many seeds: the scenario's seed and the ones after it.
    pub seeds: u64,
    /// The formula engine.
    pub engine: Engine,
    /// Worker threads; `None` lets rayon choose (one per core).
    pub threads: Option<usize>,
}

/// The series a chart draws for one run, sampled every 30 s. Plain numbers
/// so that they can cross threads (the run's `Output` cannot).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Hours since the start.
    pub hours: Vec<f64>,
    /// Target nodes: dedicated, low-priority.
    pub target: [Vec<f64>; 2],
    /// Nodes in the pool (every state): dedicated, low-priority.
    pub current: [Vec<f64>; 2],
    /// Tasks waiting (`$ActiveTasks`).
    pub queue: Vec<f64>,
    /// Cost accrued so far.
    pub cost: Vec<f64>,
}

impl Series {
    /// The account's series: each pool's added up, sample by sample
    /// (every pool samples at the same instants).
    fn sum<'a>(pools: impl Iterator<Item = &'a Series>) -> Option<Series> {
        let add = |a: &mut Vec<f64>, b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        let mut pools = pools;
        let mut total = pools.next()?.clone();
        for s in pools {
            for p in 0..2 {
                add(&mut total.target[p], &s.target[p]);
                add(&mut total.current[p], &s.current[p]);
            }
            add(&mut total.queue, &s.queue);
            add(&mut total.cost, &s.cost);
        }
        Some(total)
    }

    /// Extracts the chart series from a run's timeline.
    pub fn of(output: &Output) -> Series {
        let rows = &output.timeline;
        let col = |f: &dyn Fn(&crate::sim::TimelineRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
        let nodes = |p: Priority| col(&|r| r.nodes[p as usize].iter().sum::<u32>() as f64);
        Series {
            hours: col(&|r| r.time.as_millis() as f64 / 3_600_000.0),
            target: [col(&|r| r.target[0] as f64), col(&|r| r.target[1] as f64)],
            current: [nodes(Priority::Dedicated), nodes(Priority::LowPriority)],
            queue: col(&|r| r.active_tasks as f64),
            cost: col(&|r| r.cost),
        }
    }
}

/// One formula on one seed, in numbers: the figures of a run, for
/// `compare` and, as the last columns of `runs.csv`, for `sweep` (in
/// shortest round-trip form, so that `merge` reads back the same `f64`s).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Total cost.
    pub cost: f64,
    /// Billed node-hours, both priorities.
    pub node_hours: f64,
    /// Mean queue wait in seconds (`None`: no task started).
    pub mean_wait_s: Option<f64>,
    /// 95th-percentile queue wait in seconds.
    pub p95_wait_s: Option<f64>,
    /// Seconds from the start to the last task's end, when every task ended.
    pub makespan_s: Option<f64>,
    /// Tasks that had not ended when the simulation stopped.
    pub unfinished: u64,
    /// Evaluations that failed.
    pub failed_evaluations: u64,
    /// Task-hours lost to runs cut short (shrink, preemption, node action)
    /// and queued again.
    pub requeued_hours: f64,
    /// The share of the billed node time that ran tasks (`None`: no node
    /// was billed); see [`super::breakdown::Breakdown`].
    pub utilisation: Option<f64>,
    /// What the idle nodes cost.
    pub idle_cost: f64,
    /// The timeline, kept for the first seed only (the charts draw one run);
    /// not a figure, so not in `runs.csv`.
    #[serde(skip)]
    pub series: Option<Series>,
}

impl SeedRun {
    /// Measures a finished run.
    pub fn of(output: &Output, keep_series: bool) -> SeedRun {
        let summary = Summary::of(output);
        // Running or queued at the end: the work was not done within the scenario.
        let tally = &output.task_tally;
        let unfinished = tally.count(TaskState::Running) + tally.count(TaskState::Active);
        let makespan_s = (unfinished == 0).then(|| tally.latest_end().map_or(0, |e| e.as_millis()) as f64 / 1000.0);
        SeedRun {
            seed: output.seed,
            cost: summary.cost.total,
            node_hours: summary.node_hours.total,
            mean_wait_s: summary.queue_wait_seconds.map(|w| w.mean),
            p95_wait_s: summary.queue_wait_seconds.map(|w| w.p95),
            makespan_s,
            unfinished,
            failed_evaluations: summary.evaluations.failed,
            requeued_hours: summary.where_the_money_went.lost_work.task_hours.total,
            utilisation: summary.where_the_money_went.utilisation,
            idle_cost: summary.where_the_money_went.line(NodeState::Idle.name()).map_or(0.0, |l| l.cost.total),
            series: keep_series.then(|| Series::of(output)),
        }
    }
}

impl SeedRun {
    /// Runs `scenario` on `seed` and measures it: a one-pool scenario as a
    /// [`Simulation`], several pools as an [`Account`] (see
    /// [`SeedRun::of_account`]). `compare`, `sweep` and `tune` all run this.
    /// A run that stopped early (a trace changed) is an error, not a figure.
    pub fn measure(scenario: Arc<Scenario>, seed: u64, keep_series: bool) -> Result<SeedRun, TraceError> {
        let outputs = match scenario.only_pool() {
            Some(_) => {
                let sim = Simulation::new(scenario, Some(seed)).send_records_to(Recordings::measured());
                vec![sim.run(&mut |_| {})]
            }
            None => Account::new(scenario, Some(seed)).measured().run(&mut |_| {}),
        };
        if let Some(stopped) = outputs.iter().find_map(|o| o.stopped.clone()) {
            return Err(stopped);
        }
        Ok(match outputs.as_slice() {
            [one] => SeedRun::of(one, keep_series),
            all => SeedRun::of_account(all, keep_series),
        })
    }

    /// Measures a finished run of several pools, for the account: costs,
    /// hours and counts added up, the waits over every pool's tasks, the
    /// share of all the billed node time that ran tasks, the makespan of
    /// the last pool to finish, and the series added up.
    pub fn of_account(outputs: &[Output], keep_series: bool) -> SeedRun {
        let pools: Vec<SeedRun> = outputs.iter().map(|o| SeedRun::of(o, keep_series)).collect();
        let mut waits = WaitStats::default();
        outputs.iter().for_each(|o| waits.merge(o.task_tally.waits()));
        let waits = super::summary::Waits::of(&waits);
        let sum = |f: fn(&SeedRun) -> f64| pools.iter().map(f).sum::<f64>();
        let node_hours = sum(|r| r.node_hours);
        let ran: f64 = pools.iter().filter_map(|r| Some(r.utilisation? * r.node_hours)).sum();
        let makespans: Option<Vec<f64>> = pools.iter().map(|r| r.makespan_s).collect();
        SeedRun {
            seed: outputs.first().map_or(0, |o| o.seed),
            cost: sum(|r| r.cost),
            node_hours,
            mean_wait_s: waits.map(|w| w.mean),
            p95_wait_s: waits.map(|w| w.p95),
            makespan_s: makespans.map(|m| m.into_iter().fold(0.0, f64::max)),
            unfinished: pools.iter().map(|r| r.unfinished).sum(),
            failed_evaluations: pools.iter().map(|r| r.failed_evaluations).sum(),
            requeued_hours: sum(|r| r.requeued_hours),
            utilisation: (node_hours > 0.0).then(|| ran / node_hours),
            idle_cost: sum(|r| r.idle_cost),
            series: Series::sum(pools.iter().filter_map(|r| r.series.as_ref())),
        }
    }
}

/// Every formula's runs, seed by seed in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// What the rows are: `formula`, or `grid point` for a sweep.
    pub what: &'static str,
    /// The scenario's name.
    pub scenario: String,
    /// The formulas' display names (their file names).
    pub formulas: Vec<String>,
    /// The seeds, in order.
    pub seeds: Vec<u64>,
    /// `runs[f][s]`: formula `f` on seed `seeds[s]`.
    pub runs: Vec<Vec<SeedRun>>,
}

/// The loaded scenario with pool `pool`'s formula `source` (from `name`)
/// swapped in, checked.
fn prepare(base: &Scenario, pool: usize, name: &str, source: &str) -> Result<Arc<Scenario>, CompareError> {
    let mut scenario = base.clone();
    scenario.replace_pool_formula(pool, source, name).map_err(|e| match e {
        ReplaceFormulaError::FixedTargets => CompareError::NotAutoscale(scenario.name.clone()),
        ReplaceFormulaError::DoesNotCompile(message) | ReplaceFormulaError::HasErrors(message) => {
            CompareError::Formula { path: name.to_owned(), message }
        }
    })?;
    Ok(Arc::new(scenario))
}

/// Runs every formula on every seed, calling `progress` after each run
/// (from worker threads). Checks the scenario and every formula first, so
/// that a typo fails before minutes of simulation.
pub fn compare(spec: &CompareSpec, progress: &(dyn Fn() + Sync)) -> Result<Comparison, CompareError> {
    if spec.formulas.is_empty() {
        return Err(CompareError::Empty("give at least one --formula"));
    }
    if spec.seeds == 0 {
        return Err(CompareError::Empty("--seeds must be at least 1"));
    }
    // Loaded and checked once, with each formula, before any run starts.
    let base = Scenario::load(&spec.scenario)?.with_engine(spec.engine);
    let mut sources = Vec::with_capacity(spec.formulas.len());
    let mut formulas = Vec::with_capacity(spec.formulas.len());
    for arg in &spec.formulas {
        let arg = arg.to_string_lossy();
        let (pool, file) = base
            .formula_target(&arg)
            .map_err(|error| CompareError::Pool { scenario: spec.scenario.display().to_string(), error })?;
        let path = Path::new(file);
        // At most the service's limit, a byte-order mark dropped.
        let text = crate::input::read_formula(path, crate::formula::MAX_BYTES)
            .map_err(|e| CompareError::Io { path: file.to_owned(), message: e.to_string() })?;
        formulas.push(match base.only_pool() {
            Some(_) => short_name(path),
            None => format!("{}={}", base.pools[pool].id, short_name(path)),
        });
        sources.push((pool, file.to_owned(), text));
    }
    let (base_seed, scenario_name) = (base.seed, base.name.clone());
    let scenarios =
        sources.iter().map(|(pool, name, text)| prepare(&base, *pool, name, text)).collect::<Result<Vec<_>, _>>()?;
    let seeds: Vec<u64> = (0..spec.seeds).map(|i| base_seed.wrapping_add(i)).collect();
    let jobs: Vec<(usize, usize)> = (0..sources.len()).flat_map(|f| (0..seeds.len()).map(move |s| (f, s))).collect();
    let work = || -> Result<Vec<SeedRun>, CompareError> {
        jobs.par_iter()
            .map(|&(f, s)| {
                let run = SeedRun::measure(Arc::clone(&scenarios[f]), seeds[s], s == 0)?;
                progress();
                Ok(run)
            })
            .collect()
    };
    let flat = match spec.threads {
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| CompareError::Threads { threads, message: e.to_string() })?
            .install(work)?,
        None => work()?,
    };
    let mut runs: Vec<Vec<SeedRun>> = vec![Vec::with_capacity(seeds.len()); sources.len()];
    for ((f, _), run) in jobs.iter().zip(flat) {
        runs[*f].push(run);
    }
    Ok(Comparison { what: "formula", scenario: scenario_name, formulas, seeds, runs })
}

/// Mean and half-width of the 95 % confidence interval (Student's t);
/// the half-width is `None` with fewer than two values.
pub fn mean_ci(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, None);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok().map(|t| t.inverse_cdf(0.975) * (var / n as f64).sqrt());
    (mean, half)
}

/// A paired t-test of one formula's costs against the baseline's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Paired {
    /// Mean per-seed difference (formula − baseline).
    pub mean_diff: f64,
    /// Half-width of its 95 % confidence interval.
    pub half_width: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// The paired t-test of `b − a`, seed by seed; `None` with fewer than two pairs.
pub fn paired_t(a: &[f64], b: &[f64]) -> Option<Paired> {
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let n = diffs.len();
    if n < 2 {
        return None;
    }
    let (mean_diff, half) = mean_ci(&diffs);
    let half_width = half?;
    let var = diffs.iter().map(|d| (d - mean_diff).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    // Identical differences on every seed: no spread, so the sign alone decides.
    let p = if se == 0.0 {
        if mean_diff == 0.0 { 1.0 } else { 0.0 }
    } else {
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
        2.0 * (1.0 - t.cdf((mean_diff / se).abs()))
    };
    Some(Paired { mean_diff, half_width, p })
}

/// A p-value for people: `= 0.0123`, or `< 0.0001` rather than a row of zeros.
pub fn p_value(p: f64) -> String {
    if p < 0.0001 { "< 0.0001".to_owned() } else { format!("= {p:.4}") }
}

/// Seconds as `1h 2m 3s`, rounded to the second; `—` for none.
fn duration(secs: Option<f64>) -> String {
    match secs {
        Some(s) if s.is_finite() && s >= 0.0 => SimDuration::from_secs(s.round() as u64).to_string(),
        _ => "—".to_owned(),
    }
}

/// The mean of the values that exist, if any do.
fn mean_of(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

impl Comparison {
    /// The costs of formula `f`, seed by seed.
    pub fn costs(&self, f: usize) -> Vec<f64> {
        self.runs[f].iter().map(|r| r.cost).collect()
    }

    /// The rows of the table: one per formula, cells already formatted.
    pub fn rows(&self) -> Vec<[String; 11]> {
        self.formulas
            .iter()
            .zip(&self.runs)
            .map(|(name, runs)| {
                let costs: Vec<f64> = runs.iter().map(|r| r.cost).collect();
                let (mean, half) = mean_ci(&costs);
                let n = runs.len() as f64;
                let unfinished = runs.iter().filter(|r| r.makespan_s.is_none()).count();
                let makespan = match unfinished {
                    0 => duration(mean_of(runs.iter().map(|r| r.makespan_s))),
                    k => format!("unfinished in {k}"),
                };
                [
                    name.clone(),
                    format!("{mean:.2}"),
                    half.map_or_else(|| "—".to_owned(), |h| format!("±{h:.2}")),
                    format!("{:.2}", runs.iter().map(|r| r.node_hours).sum::<f64>() / n),
                    mean_of(runs.iter().map(|r| r.utilisation))
                        .map_or_else(|| "—".to_owned(), |u| format!("{:.1}%", u * 100.0)),
                    format!("{:.2}", runs.iter().map(|r| r.idle_cost).sum::<f64>() / n),
                    duration(mean_of(runs.iter().map(|r| r.mean_wait_s))),
                    duration(mean_of(runs.iter().map(|r| r.p95_wait_s))),
                    makespan,
                    format!("{:.1}", runs.iter().map(|r| r.failed_evaluations).sum::<u64>() as f64 / n),
                    format!("{:.2}", runs.iter().map(|r| r.requeued_hours).sum::<f64>() / n),
                ]
            })
            .collect()
    }

    /// The table's column headings.
    pub fn headings(&self) -> [&'static str; 11] {
        let mut h = Self::HEADINGS;
        h[0] = self.what;
        h
    }

    /// The table's column headings after the first.
    const HEADINGS: [&'static str; 11] = [
        "formula",
        "cost",
        "95% CI",
        "node-hours",
        "utilisation",
        "idle cost",
        "mean wait",
        "p95 wait",
        "makespan",
        "failed evals",
        "requeued h",
    ];

    /// One line per formula against the first: the mean cost difference,
    /// its 95 % interval, the p-value, and whether it is significant at 5 %.
    pub fn significance(&self) -> Vec<(String, Option<Paired>)> {
        let base = self.costs(0);
        (1..self.formulas.len()).map(|f| (self.formulas[f].clone(), paired_t(&base, &self.costs(f)))).collect()
    }

    /// The whole comparison for people, as `autoscale-sim compare` prints it.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let seeds = seeds_label(&self.seeds);
        let _ = writeln!(
            s,
            "{}: {} {}{} x {} seed{} ({seeds}), the same workload for each {}",
            self.scenario,
            self.formulas.len(),
            self.what,
            if self.formulas.len() == 1 { "" } else { "s" },
            self.seeds.len(),
            if self.seeds.len() == 1 { "" } else { "s" },
            self.what,
        );
        let _ = writeln!(s, "means over the seeds; cost with its 95% confidence interval (Student's t)");
        let mut table = vec![self.headings().map(str::to_owned)];
        table.extend(self.rows());
        let widths: Vec<usize> =
            (0..table[0].len()).map(|c| table.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
        for row in &table {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, w))| if c == 0 { format!("{cell:<w$}") } else { format!("{cell:>w$}") })
                .collect();
            let _ = writeln!(s, "{}", cells.join("  ").trim_end());
        }
        let tests = self.significance();
        if !tests.is_empty() {
            let _ = writeln!(s, "\ncost against {} (paired t-test, seed by seed):", self.formulas[0]);
            for (name, test) in tests {
                match test {
                    Some(t) => {
                        let verdict = if t.p < 0.05 { "significant" } else { "not significant" };
                        let _ = writeln!(
                            s,
                            "  {name}: {:+.2} ±{:.2}, p {}, {verdict} at 5%",
                            t.mean_diff,
                            t.half_width,
                            p_value(t.p)
                        );
                    }
                    None => {
                        let _ = writeln!(s, "  {name}: needs at least 2 seeds");
                    }
                }
            }
        }
        let _ = writeln!(
            s,
            "\nutilisation: share of the billed node time that ran tasks; idle cost: what idle nodes cost; \
             requeued h: task-hours of runs cut short by a shrink, a preemption or a node action and \
             queued again (wasted work); means per seed"
        );
        s
    }
}

/// The display name of a path: its file name.
pub fn short_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The seeds of a comparison for people: `seeds 1..=20`, `seed 7`.
pub fn seeds_label(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if a != b => format!("seeds {a}..={b}"),
        (Some(a), _) => format!("seed {a}"),
        _ => "no seed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_interval_uses_students_t() {
        let (mean, half) = mean_ci(&[1.0, 2.0, 3.0]);
        assert_eq!(mean, 2.0);
        // t(0.975, 2) = 4.3027, s = 1, n = 3.
        let half = half.unwrap();
        assert!((half - 4.302_652_7 / 3f64.sqrt()).abs() < 1e-6, "{half}");
        assert_eq!(mean_ci(&[5.0]), (5.0, None));
    }

    #[test]
    fn paired_test_sees_a_constant_shift_and_no_shift() {
        let a = [10.0, 20.0, 30.0, 40.0];
        let shifted = [11.0, 21.0, 31.0, 41.0];
        let t = paired_t(&a, &shifted).unwrap();
        assert_eq!((t.mean_diff, t.p), (1.0, 0.0));
        assert_eq!(paired_t(&a, &a).unwrap().p, 1.0);
        let noisy = [10.5, 19.0, 30.5, 40.0];
        assert!(paired_t(&a, &noisy).unwrap().p > 0.5);
        assert_eq!(paired_t(&a[..1], &a[..1]), None);
    }
}
