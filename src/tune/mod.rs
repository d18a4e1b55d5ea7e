//! `tune`: the cheapest parameters (formula constants, scenario keys) that
//! meet service-level objectives on the seed means of the per-run figures
//! `compare` prints.
//!
//! Each point of the search is the scenario with the point's values
//! ([`crate::report::params`]) run on the same seeds as every other point
//! (common random numbers, as in `compare`): the differences between
//! points are then the parameters' effect, not the workload's luck. The
//! points of a batch and their seeds run in parallel; the optimiser
//! ([`search`]) chooses the batches.
#![forbid(unsafe_code)]

pub mod gp;
mod output;
pub mod search;
pub mod shard;
pub mod slo;
pub mod space;

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use crate::report::compare::{SeedRun, mean_ci};
use crate::report::params::{Base, Key, PointError};
use crate::scenario::{Scaling, Scenario, TraceError};
pub use output::OutputError;
use search::{Method, Observation, Settings};
use slo::{Metric, Slo, SloError};
use space::{Point, Space, SpaceError};

/// What to tune.
#[derive(Debug, Clone)]
pub struct TuneSpec {
    /// The scenario file.
    pub scenario: PathBuf,
    /// `--param` arguments: `KEY=LO..HI` or `KEY=A,B,C`.
    pub params: Vec<String>,
    /// `--slo` arguments: `p95_wait<=30m`.
    pub slos: Vec<String>,
    /// What to minimise: cost or node-hours.
    pub objective: Metric,
    /// Seeds per point: the scenario's seed and the ones after it.
    pub seeds: u64,
    /// Points to evaluate.
    pub budget: usize,
    /// Points chosen and run together.
    pub batch: usize,
    /// The search method.
    pub method: Method,
    /// The search's own seed (initial design, candidate subset).
    pub search_seed: u64,
}

impl TuneSpec {
    /// The simulations `tune` will run: the budget (at most the lattice's
    /// size) plus the scenario as written, on every seed (no point when
    /// the parameters are malformed: then `tune` fails before any run).
    pub fn planned_runs(&self) -> u64 {
        let points = Space::parse(&self.params).map_or(0, |s| s.size().min(self.budget as u64));
        points.saturating_add(1).saturating_mul(self.seeds)
    }
}

/// Why `tune` could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// A `--param` is malformed.
    #[error(transparent)]
    Space(#[from] SpaceError),
    /// A `--slo` is malformed.
    #[error(transparent)]
    Slo(#[from] SloError),
    /// A point's scenario could not be made (names the key or the point).
    #[error(transparent)]
    Point(#[from] PointError),
    /// Formula parameters of a several-pool scenario that name more than
    /// one pool: the tuned formula is one pool's.
    #[error("--param: the formula parameters name the pools {0}; tune one pool's formula at a time")]
    Pools(String),
    /// A run stopped before its end: a trace changed since the
    /// scenario was loaded.
    #[error("{0}")]
    Stopped(#[from] crate::scenario::TraceError),
    /// Nothing to search, or no seed, or no budget.
    #[error("nothing to tune: {0}")]
    Empty(&'static str),
}

/// One evaluated point: its values and its runs, seed by seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// The lattice point (empty for the scenario as written).
    pub point: Point,
    /// Its values as a label.
    pub label: String,
    /// The batch it ran in (0: the first).
    pub batch: usize,
    /// One run per seed, in seed order.
    pub runs: Vec<SeedRun>,
}

impl Trial {
    /// The seed mean of `metric` and the half-width of its 95 % interval.
    pub fn mean(&self, metric: Metric) -> (f64, Option<f64>) {
        let values: Vec<f64> = self.runs.iter().map(|r| metric.of(r)).collect();
        mean_ci(&values)
    }

    /// The observation the optimiser sees.
    fn observation(&self, objective: Metric, slos: &[Slo]) -> Observation {
        Observation {
            objective: self.mean(objective).0,
            excess: slos.iter().map(|s| s.excess(self.mean(s.metric).0)).collect(),
        }
    }
}

/// The outcome: every point evaluated, and the scenario as written.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// The scenario's name.
    pub scenario: String,
    /// The search space.
    pub space: Space,
    /// What is minimised.
    pub objective: Metric,
    /// The constraints.
    pub slos: Vec<Slo>,
    /// The seeds every point ran on.
    pub seeds: Vec<u64>,
    /// The scenario as written, on the same seeds (outside the budget).
    pub as_written: Trial,
    /// The points, in the order they were evaluated.
    pub trials: Vec<Trial>,
    /// The formula tuned, as written (none for fixed targets): the one
    /// pool's, or with several pools the one every `formula.ID.NAME`
    /// parameter names.
    pub formula: Option<String>,
    /// With several pools, the id of the pool whose formula is tuned: its
    /// parameters are `formula.ID.NAME`.
    pub pool: Option<String>,
}

/// Runs the search, calling `progress` after each simulation (from worker
/// threads). Checks every parameter value before the first run.
pub fn tune(spec: &TuneSpec, progress: &(dyn Fn() + Sync)) -> Result<Tuning, TuneError> {
    let space = Space::parse(&spec.params)?;
    let slos = spec.slos.iter().map(|s| Slo::parse(s)).collect::<Result<Vec<_>, _>>()?;
    if space.dims.is_empty() {
        return Err(TuneError::Empty("give at least one --param"));
    }
    if spec.seeds == 0 || spec.budget == 0 {
        return Err(TuneError::Empty("--seeds and --budget must be at least 1"));
    }
    let base = Base::load(&spec.scenario)?;
    let written = base.scenario(&[], "the scenario as written")?;
    check_values(&base, &space)?;
    let seeds: Vec<u64> = (0..spec.seeds).map(|i| written.seed.wrapping_add(i)).collect();
    let pool = tuned_pool(&written, &space)?;
    let tuned = match &pool {
        Some(id) => written.pools.iter().find(|p| &p.id == id),
        None => written.only_pool(),
    };
    let formula = match tuned.map(|p| &p.scaling) {
        Some(Scaling::Autoscale(a)) => Some(a.formula.clone()),
        _ => None,
    };
    let name = written.name.clone();
    let as_written = run_points(vec![(Vec::new(), "as written".to_owned(), written)], &seeds, 0, progress)?.remove(0);
    let settings =
        Settings { method: spec.method, budget: spec.budget, batch: spec.batch.max(1), seed: spec.search_seed };
    let mut trials: Vec<Trial> = Vec::new();
    search::search(&space, settings, |points: &[Point]| {
        let batch = trials.last().map_or(0, |t| t.batch + 1);
        let mut scenarios = Vec::with_capacity(points.len());
        for p in points {
            let label = space.label(p);
            scenarios.push((p.clone(), label.clone(), base.scenario(&space.values(p), &label)?));
        }
        let done = run_points(scenarios, &seeds, batch, progress)?;
        let observed = done.iter().map(|t| t.observation(spec.objective, &slos)).collect();
        trials.extend(done);
        Ok::<_, TuneError>(observed)
    })?;
    Ok(Tuning { scenario: name, space, objective: spec.objective, slos, seeds, as_written, trials, formula, pool })
}

/// With several pools, the id of the one pool every formula parameter
/// (`formula.ID.NAME`, checked by now) names; none with one pool, or with
/// no formula parameter.
fn tuned_pool(scenario: &Scenario, space: &Space) -> Result<Option<String>, TuneError> {
    if scenario.only_pool().is_some() {
        return Ok(None);
    }
    let mut ids: Vec<&str> = space
        .dims
        .iter()
        .filter_map(|d| match &d.key {
            Key::Formula(name) => name.split_once('.').map(|(id, _)| id),
            Key::Scenario(_) => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some((*id).to_owned())),
        _ => Err(TuneError::Pools(ids.join(", "))),
    }
}

/// Makes the scenario of every value of every dimension (the others at
/// their first value), so that a bad value fails before minutes of runs.
fn check_values(base: &Base, space: &Space) -> Result<(), PointError> {
    for (k, dim) in space.dims.iter().enumerate() {
        for i in 0..dim.values.len() {
            let mut point = vec![0; space.dims.len()];
            point[k] = i;
            base.scenario(&space.values(&point), &space.label(&point))?;
        }
    }
    Ok(())
}

/// Runs every point on every seed in parallel; a run that stopped early
/// (a trace changed) stops the tuning.
fn run_points(
    points: Vec<(Point, String, Scenario)>,
    seeds: &[u64],
    batch: usize,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<Trial>, TraceError> {
    let (places, scenarios): (Vec<(Point, String)>, Vec<Arc<Scenario>>) =
        points.into_iter().map(|(point, label, scenario)| ((point, label), Arc::new(scenario))).unzip();
    let jobs: Vec<(usize, u64)> = (0..places.len()).flat_map(|p| seeds.iter().map(move |&s| (p, s))).collect();
    let runs: Vec<SeedRun> = jobs
        .par_iter()
        .map(|&(p, seed)| {
            let run = SeedRun::measure(Arc::clone(&scenarios[p]), seed, false);
            progress();
            run
        })
        .collect::<Result<_, _>>()?;
    let mut runs = runs.into_iter();
    Ok(places
        .into_iter()
        .map(|(point, label)| Trial { point, label, batch, runs: runs.by_ref().take(seeds.len()).collect() })
        .collect())
}

impl Tuning {
    /// The feasible points, cheapest first (ties: evaluation order).
    pub fn ranked(&self) -> Vec<&Trial> {
        let mut feasible: Vec<&Trial> = self.trials.iter().filter(|t| self.feasible(t)).collect();
        feasible.sort_by(|a, b| self.mean(a).total_cmp(&self.mean(b)));
        feasible
    }

    /// The best feasible point.
    pub fn best(&self) -> Option<&Trial> {
        self.ranked().first().copied()
    }

    /// The point closest to feasible (least total excess), for when none is.
    pub fn closest(&self) -> Option<&Trial> {
        self.trials.iter().min_by(|a, b| {
            let v = |t: &Trial| t.observation(self.objective, &self.slos).violation();
            v(a).total_cmp(&v(b))
        })
    }

    /// Whether a trial meets every constraint.
    pub fn feasible(&self, trial: &Trial) -> bool {
        trial.observation(self.objective, &self.slos).feasible()
    }

    /// The constraints a trial fails.
    pub fn failing(&self, trial: &Trial) -> Vec<Slo> {
        self.slos.iter().filter(|s| s.excess(trial.mean(s.metric).0) > 0.0).copied().collect()
    }

    fn mean(&self, trial: &Trial) -> f64 {
        trial.mean(self.objective).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_planned_runs_are_the_budget_within_the_lattice_and_the_scenario_as_written() {
        let spec = |params: &[&str], budget| TuneSpec {
            scenario: PathBuf::from("s.toml"),
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            slos: Vec::new(),
            objective: Metric::Cost,
            seeds: 3,
            budget,
            batch: 2,
            method: Method::Bayes,
            search_seed: 0,
        };
        assert_eq!(spec(&["formula.cap=1..4"], 10).planned_runs(), 15);
        assert_eq!(spec(&["formula.cap=1..4"], 2).planned_runs(), 9);
        assert_eq!(spec(&["formula.cap"], 2).planned_runs(), 3);
    }
}
