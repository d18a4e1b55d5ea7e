//! The JSON API the page calls: run a scenario with a formula and knobs,
//! look at what one evaluation saw, compare formulas over seeds.
//!
//! Every request names a scenario of the catalog (or gives TOML of its
//! own), optionally a formula replacing the scenario's, and the knobs; the
//! scenario is then checked as `run` checks a file. A formula that does
//! not check is no error of the request: the answer carries its
//! diagnostics, as the language server renders them, and no run.

use std::time::{Duration, Instant};

use lsp_types::Diagnostic;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::catalog::{Catalog, multiline};
use crate::formula::builtins::Metric;
use crate::formula::context::PoolState;
use crate::formula::results::ServiceError;
use crate::report::Summary;
use crate::report::compare::SeedRun;
use crate::scenario::{ReplaceFormulaError, Scenario};
use crate::sim::{NodeState, Output, Simulation};

/// The longest a request may simulate, on the wall clock: a bundled day
/// takes tens of milliseconds; a month about three seconds.
pub const RUN_TIME_LIMIT: Duration = Duration::from_secs(10);
/// The most points a chart series has: longer runs keep every n-th sample.
pub const MAX_POINTS: usize = 2000;
/// The most seeds a comparison runs per formula.
pub const MAX_SEEDS: u64 = 50;
/// The most formulas a comparison runs.
pub const MAX_FORMULAS: usize = 4;
/// The most recent samples of each metric shown for an evaluation.
pub const SHOWN_SAMPLES: usize = 20;
/// The largest load factor.
pub const MAX_LOAD: f64 = 100.0;

/// A request that cannot be served as asked: answered 400 with the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// What to run: the body of `POST /api/run`, and part of the others.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// A scenario of the catalog, by name.
    pub scenario: String,
    /// Scenario TOML of the page's own (an upload, an edit) instead of the
    /// named one's text; it may not name files (formula files, traces).
    #[serde(default)]
    pub toml: Option<String>,
    /// The formula, instead of the scenario's.
    #[serde(default)]
    pub formula: Option<String>,
    /// The main settings, changed.
    #[serde(default)]
    pub knobs: Knobs,
    /// The seed, instead of the scenario's.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// The settings the page edits beside the formula; each one left out
/// keeps the scenario's value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knobs {
    /// `pool.autoscale.interval`, e.g. `"15m"`.
    pub interval: Option<String>,
    /// `pool.vm.cores`.
    pub cores: Option<u32>,
    /// `pool.vm.dedicated_price`, per node-hour.
    pub dedicated_price: Option<f64>,
    /// `pool.vm.low_priority_price`, per node-hour.
    pub low_priority_price: Option<f64>,
    /// Multiplies every generator's tasks: a Poisson `rate_per_hour`, a
    /// periodic `count` and a bursty `size` (these two rounded, at least
    /// 1). Listed tasks and traces stay as written.
    pub load: Option<f64>,
}

/// `POST /api/evaluation`: what evaluation `index` of the run saw.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRequest {
    /// What to run (the body of `POST /api/run`).
    pub run: Setup,
    /// The evaluation, counted from 0.
    pub index: usize,
}

/// `POST /api/assist`: what the language server says at the cursor.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistRequest {
    /// The formula as edited.
    pub formula: String,
    /// The cursor: zero-based line and UTF-16 character.
    pub line: u32,
    /// See `line`.
    pub character: u32,
}

/// The language server's hover and completions at the cursor.
#[derive(Debug, Serialize)]
pub struct Assist {
    /// The name's type and documentation (Markdown), if the cursor is on one.
    pub hover: Option<String>,
    /// The names that can be written there, with what each is.
    pub completions: Vec<Completion>,
}

/// One name to complete.
#[derive(Debug, Serialize)]
pub struct Completion {
    /// The name.
    pub label: String,
    /// Its signature or documentation.
    pub detail: Option<String>,
}

/// `POST /api/assist`: the language server's answers for the formula at
/// the cursor; a formula over the service's size limit gets none.
pub fn assist(request: AssistRequest) -> Result<Assist, BadRequest> {
    if request.formula.len() > crate::formula::MAX_BYTES {
        return Err(BadRequest(format!("formula: more than {} bytes", crate::formula::MAX_BYTES)));
    }
    let position = lsp_types::Position { line: request.line, character: request.character };
    let (hover, completions) = crate::lsp::at_cursor(&request.formula, position);
    let completions = completions.into_iter().map(|c| Completion { label: c.label, detail: c.detail }).collect();
    Ok(Assist { hover, completions })
}

/// `POST /api/compare`: formulas × seeds, in cost and queue wait.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareRequest {
    /// What to run (the body of `POST /api/run`); its formula is ignored:
    /// `formulas` are compared.
    pub run: Setup,
    /// The formulas, at least one.
    pub formulas: Vec<String>,
    /// Seeds per formula: the seed and the ones after it.
    pub seeds: u64,
}

/// The answer to a run: the formula's diagnostics, and the run when it checks.
#[derive(Debug, Serialize)]
pub struct RunAnswer {
    /// The formula's errors and warnings, as the language server sends them.
    pub diagnostics: Vec<Diagnostic>,
    /// The run; none when the formula does not check.
    pub run: Option<RunResult>,
}

/// One run, for the page.
#[derive(Debug, Serialize)]
pub struct RunResult {
    /// The scenario as run, formula and knobs included, for download.
    pub scenario_toml: String,
    /// The run in numbers.
    pub summary: Summary,
    /// The summary as `autoscale-sim run` prints it.
    pub summary_text: String,
    /// The charts' series.
    pub series: Series,
    /// Every evaluation.
    pub evaluations: Vec<Evaluation>,
    /// Wall-clock milliseconds the simulation took.
    pub simulated_in_ms: f64,
}

/// The timeline's series, one point per kept sample.
#[derive(Debug, Serialize)]
pub struct Series {
    /// Hours since the start.
    pub hours: Vec<f64>,
    /// Nodes in each state, both priorities, by state name.
    pub nodes: Vec<(&'static str, Vec<u32>)>,
    /// Target nodes: dedicated, low-priority.
    pub target: [Vec<u32>; 2],
    /// Tasks waiting (`$ActiveTasks`).
    pub waiting: Vec<u32>,
    /// Tasks running.
    pub running: Vec<u32>,
    /// Cost so far.
    pub cost: Vec<f64>,
}

/// One evaluation, for the list.
#[derive(Debug, Serialize)]
pub struct Evaluation {
    /// Hours since the start.
    pub hours: f64,
    /// The wall-clock instant.
    pub timestamp: String,
    /// The results string.
    pub results: String,
    /// The service's error, when it failed.
    pub error: Option<ServiceError>,
}

/// What one evaluation saw.
#[derive(Debug, Serialize)]
pub struct Seen {
    /// The instant (`time()`).
    pub timestamp: String,
    /// The pool's counts and targets.
    pub pool: PoolState,
    /// Each metric's samples.
    pub metrics: Vec<SeenMetric>,
}

/// One metric's visible samples at an evaluation.
#[derive(Debug, Serialize)]
pub struct SeenMetric {
    /// `$Name`.
    pub name: String,
    /// How many samples the history holds (`Count()`).
    pub count: usize,
    /// The most recent ones, oldest first (at most [`SHOWN_SAMPLES`]).
    pub last: Vec<f64>,
}

/// One formula's comparison figures.
#[derive(Debug, Serialize)]
pub struct Compared {
    /// Its diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// Per seed: cost and queue waits; empty when the formula does not check.
    pub runs: Vec<SeedRun>,
}

/// `POST /api/run`.
pub fn run(catalog: &Catalog, setup: Setup) -> Result<RunAnswer, BadRequest> {
    let deadline = Instant::now() + RUN_TIME_LIMIT;
    let Prepared { diagnostics, ready } = prepare(catalog, &setup)?;
    let Some(Ready { scenario, toml: scenario_toml }) = ready else { return Ok(RunAnswer { diagnostics, run: None }) };
    let started = Instant::now();
    let output = simulate(Simulation::new(scenario, setup.seed), deadline, |_| false)?.finish();
    let simulated_in_ms = started.elapsed().as_secs_f64() * 1000.0;
    let summary = Summary::of(&output);
    let run = RunResult {
        scenario_toml,
        summary_text: summary.to_text(output.duration),
        summary,
        series: series(&output),
        evaluations: evaluations(&output),
        simulated_in_ms,
    };
    Ok(RunAnswer { diagnostics, run: Some(run) })
}

/// `POST /api/evaluation`: runs until evaluation `index` and reads its
/// context (the samples it saw stay in it until the next evaluation).
pub fn evaluation(catalog: &Catalog, request: EvaluationRequest) -> Result<Seen, BadRequest> {
    let deadline = Instant::now() + RUN_TIME_LIMIT;
    let Some(Ready { scenario, .. }) = prepare(catalog, &request.run)?.ready else {
        return Err(BadRequest("the formula does not check: there is no evaluation to show".to_owned()));
    };
    let (index, start) = (request.index, scenario.start);
    let sim = simulate(Simulation::new(scenario, request.run.seed), deadline, |sim| sim.evaluations().len() > index)?;
    let (Some(record), Some(ctx)) = (sim.evaluations().get(index), sim.eval_context()) else {
        let n = sim.evaluations().len();
        return Err(BadRequest(format!("the run has {n} evaluations; there is no evaluation {index}")));
    };
    let metrics = Metric::ALL
        .iter()
        .map(|&(metric, name, _)| {
            let values = ctx.history(metric).values();
            SeenMetric {
                name: format!("${name}"),
                count: values.len(),
                last: values[values.len().saturating_sub(SHOWN_SAMPLES)..].to_vec(),
            }
        })
        .collect();
    Ok(Seen { timestamp: crate::time::wall_clock(start, record.time).to_string(), pool: ctx.pool.clone(), metrics })
}

/// `POST /api/compare`: every formula on the same seeds, in parallel.
pub fn compare(catalog: &Catalog, request: CompareRequest) -> Result<Vec<Compared>, BadRequest> {
    let deadline = Instant::now() + RUN_TIME_LIMIT;
    if request.formulas.is_empty() || request.formulas.len() > MAX_FORMULAS {
        return Err(BadRequest(format!("formulas: give 1 to {MAX_FORMULAS} formulas")));
    }
    if !(1..=MAX_SEEDS).contains(&request.seeds) {
        return Err(BadRequest(format!("seeds: give 1 to {MAX_SEEDS}")));
    }
    let mut compared = Vec::with_capacity(request.formulas.len());
    let mut jobs = Vec::new();
    for (i, formula) in request.formulas.into_iter().enumerate() {
        let setup = Setup { formula: Some(formula), ..request.run.clone() };
        let Prepared { diagnostics, ready } = prepare(catalog, &setup)?;
        if let Some(Ready { scenario, .. }) = ready {
            let first = request.run.seed.unwrap_or(scenario.seed);
            let scenario = std::sync::Arc::new(scenario);
            jobs.extend((0..request.seeds).map(|k| (i, std::sync::Arc::clone(&scenario), first.wrapping_add(k))));
        }
        compared.push(Compared { diagnostics, runs: Vec::new() });
    }
    let runs = jobs
        .into_par_iter()
        .map(|(i, scenario, seed)| {
            let output = simulate(Simulation::new(scenario, Some(seed)), deadline, |_| false)?.finish();
            Ok((i, SeedRun::of(&output, false)))
        })
        .collect::<Result<Vec<_>, BadRequest>>()?;
    for (i, run) in runs {
        compared[i].runs.push(run);
    }
    Ok(compared)
}

/// A request made ready: the formula's diagnostics, and the scenario to
/// run when the formula checks.
struct Prepared {
    diagnostics: Vec<Diagnostic>,
    ready: Option<Ready>,
}

/// A scenario ready to run, and its text as run (for download).
struct Ready {
    scenario: Scenario,
    toml: String,
}

/// The formula's diagnostics and, when it checks, the scenario to run
/// with the text to download. A scenario that cannot run is a bad request.
fn prepare(catalog: &Catalog, setup: &Setup) -> Result<Prepared, BadRequest> {
    let entry = catalog.get(&setup.scenario).ok_or_else(|| {
        BadRequest(format!("scenario: no scenario named `{}`; GET /api/scenarios lists them", setup.scenario))
    })?;
    let (text, base) = match &setup.toml {
        Some(text) => (text.as_str(), None),
        None => (entry.text.as_str(), entry.base.as_deref()),
    };
    let shown = format!("{}.toml", entry.name);
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| BadRequest(format!("{shown}: {e}")))?;
    if setup.toml.is_some() {
        refuse_files(doc.as_table(), "")?;
    }
    setup.knobs.apply(&mut doc)?;
    // Only the given scenario may name traces (in its folder): the bundled
    // ones name none, and the page's own were refused above.
    let base = base.unwrap_or(std::path::Path::new("."));
    let mut scenario = Scenario::from_toml(&doc.to_string(), &shown, &entry.name, base)
        .and_then(|s| s.one_pool_for("the playground"))
        .map_err(|e| BadRequest(e.to_string()))?;
    let Some(formula) = &setup.formula else {
        let diagnostics = scenario_formula(&scenario).map(crate::lsp::diagnostics).unwrap_or_default();
        return Ok(Prepared { diagnostics, ready: Some(Ready { scenario, toml: doc.to_string() }) });
    };
    let diagnostics = crate::lsp::diagnostics(formula);
    match scenario.replace_formula(formula, "the page's formula") {
        Ok(()) => {}
        Err(ReplaceFormulaError::FixedTargets) => {
            return Err(BadRequest(format!(
                "{shown}: the pool has fixed targets, so there is no formula to replace; pick a scenario with \
                 [pool.autoscale]"
            )));
        }
        Err(_) => return Ok(Prepared { diagnostics, ready: None }),
    }
    if let Some(autoscale) = doc.get_mut("pool").and_then(|p| p.get_mut("autoscale")).and_then(Item::as_table_like_mut)
    {
        autoscale.insert("formula", Item::Value(multiline(formula)));
    }
    Ok(Prepared { diagnostics, ready: Some(Ready { scenario, toml: doc.to_string() }) })
}

/// The scenario's own formula, if its pool autoscales.
fn scenario_formula(scenario: &Scenario) -> Option<&str> {
    match &scenario.pool().scaling {
        crate::scenario::Scaling::Autoscale(a) => Some(&a.formula),
        _ => None,
    }
}

/// Refuses TOML that names a file: the page's own scenario reads nothing
/// from the server's disk.
fn refuse_files(table: &dyn TableLike, path: &str) -> Result<(), BadRequest> {
    for (key, item) in table.iter() {
        let here = if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
        if matches!(key, "formula_file" | "trace") {
            return Err(BadRequest(format!(
                "{here}: a scenario sent from the page cannot name files; put the formula inline (`formula = '''…'''`) \
                 and leave traces to `autoscale-sim serve SCENARIO`"
            )));
        }
        for (i, child) in children(item).into_iter().enumerate() {
            refuse_files(child, &if matches!(item, Item::Table(_)) { here.clone() } else { format!("{here}[{i}]") })?;
        }
    }
    Ok(())
}

/// The tables inside `item`: itself, or the elements of an array of tables.
fn children(item: &Item) -> Vec<&dyn TableLike> {
    match item {
        Item::Table(t) => vec![t as &dyn TableLike],
        Item::ArrayOfTables(a) => a.iter().map(|t| t as &dyn TableLike).collect(),
        Item::Value(Value::InlineTable(t)) => vec![t as &dyn TableLike],
        Item::Value(Value::Array(a)) => {
            a.iter().filter_map(Value::as_inline_table).map(|t| t as &dyn TableLike).collect()
        }
        _ => Vec::new(),
    }
}

impl Knobs {
    /// Writes the knobs given into the scenario document.
    fn apply(&self, doc: &mut DocumentMut) -> Result<(), BadRequest> {
        let set = |doc: &mut DocumentMut, path: &str, value: Value| {
            crate::report::params::set(doc, path, &value.to_string())
                .map_err(|e| BadRequest(format!("knobs: cannot set {path}: {e}")))
        };
        if let Some(interval) = &self.interval {
            set(doc, "pool.autoscale.interval", Value::from(interval.as_str()))?;
        }
        if let Some(cores) = self.cores {
            set(doc, "pool.vm.cores", Value::from(i64::from(cores)))?;
        }
        for (key, price) in [("dedicated_price", self.dedicated_price), ("low_priority_price", self.low_priority_price)]
        {
            if let Some(price) = price {
                set(doc, &format!("pool.vm.{key}"), Value::from(price))?;
            }
        }
        match self.load {
            None => Ok(()),
            Some(load) if load > 0.0 && load <= MAX_LOAD => {
                scale_load(doc, load);
                Ok(())
            }
            Some(load) => {
                Err(BadRequest(format!("knobs.load: {load} is out of range; give more than 0, up to {MAX_LOAD}")))
            }
        }
    }
}

/// Multiplies every generator's tasks by `load` (see [`Knobs::load`]).
fn scale_load(doc: &mut DocumentMut, load: f64) {
    let Some(jobs) = doc.get_mut("jobs").and_then(Item::as_array_of_tables_mut) else { return };
    for job in jobs.iter_mut() {
        let generators: Vec<&mut dyn TableLike> = match job.get_mut("generate") {
            Some(Item::ArrayOfTables(a)) => a.iter_mut().map(|t| t as &mut dyn TableLike).collect(),
            Some(Item::Value(Value::Array(a))) => {
                a.iter_mut().filter_map(Value::as_inline_table_mut).map(|t| t as &mut dyn TableLike).collect()
            }
            _ => Vec::new(),
        };
        for generator in generators {
            let (key, whole) = match generator.get("kind").and_then(Item::as_str) {
                Some("poisson") => ("rate_per_hour", false),
                Some("periodic") => ("count", true),
                Some("bursty") => ("size", true),
                _ => continue,
            };
            let current = generator.get(key).and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)));
            // A periodic count left out is 1; a rate or size left out is
            // refused by the scenario's own check, so left alone here.
            let Some(current) = current.or((key == "count").then_some(1.0)) else { continue };
            let scaled = current * load;
            let value = if whole { Value::from((scaled.round() as i64).max(1)) } else { Value::from(scaled) };
            generator.insert(key, Item::Value(value));
        }
    }
}

/// Runs `sim` until `stop` says so or the run ends; a run past `deadline`
/// is refused, saying how far it got.
fn simulate(
    mut sim: Simulation,
    deadline: Instant,
    mut stop: impl FnMut(&Simulation) -> bool,
) -> Result<Simulation, BadRequest> {
    // Checking the clock every event would cost more than most events.
    const BATCH: u32 = 1024;
    loop {
        for _ in 0..BATCH {
            if stop(&sim) || !sim.step() {
                return match sim.stopped() {
                    Some(stopped) => Err(BadRequest(stopped.to_string())),
                    None => Ok(sim),
                };
            }
        }
        if Instant::now() > deadline {
            return Err(BadRequest(format!(
                "the simulation passed the {}-second limit at {} of the scenario: shorten its duration or lighten its \
                 load",
                RUN_TIME_LIMIT.as_secs(),
                sim.now()
            )));
        }
    }
}

/// The charts' series, every n-th sample so that there are at most
/// [`MAX_POINTS`].
fn series(output: &Output) -> Series {
    let step = output.timeline.len().div_ceil(MAX_POINTS).max(1);
    let rows: Vec<_> = output.timeline.iter().step_by(step).collect();
    let nodes = NodeState::ALL
        .iter()
        .enumerate()
        .map(|(s, state)| (state.name(), rows.iter().map(|r| r.nodes[0][s] + r.nodes[1][s]).collect()))
        .collect();
    Series {
        hours: rows.iter().map(|r| r.time.as_millis() as f64 / 3_600_000.0).collect(),
        nodes,
        target: [0, 1].map(|p| rows.iter().map(|r| r.target[p]).collect()),
        waiting: rows.iter().map(|r| r.active_tasks).collect(),
        running: rows.iter().map(|r| r.running_tasks).collect(),
        cost: rows.iter().map(|r| r.cost).collect(),
    }
}

/// Every evaluation, with its error as the service words it.
fn evaluations(output: &Output) -> Vec<Evaluation> {
    output
        .evaluations
        .iter()
        .map(|e| Evaluation {
            hours: e.time.as_millis() as f64 / 3_600_000.0,
            timestamp: output.timestamp(e.time).to_string(),
            results: e.results.clone(),
            error: e.error.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that passes its deadline stops after the batch it is in and
    /// says how far it got; one within it runs to the end.
    #[test]
    fn a_run_past_its_deadline_is_refused_saying_how_far_it_got() {
        let catalog = Catalog::new(None).unwrap();
        let setup =
            Setup { scenario: "bursty-day".to_owned(), toml: None, formula: None, knobs: Knobs::default(), seed: None };
        let Some(Ready { scenario, .. }) = prepare(&catalog, &setup).unwrap().ready else { panic!("it checks") };
        let late = simulate(Simulation::new(scenario.clone(), None), Instant::now(), |_| false).unwrap_err();
        // It stops after one batch of events: where the same 1024 steps take it.
        let mut batch = Simulation::new(scenario.clone(), None);
        for _ in 0..1024 {
            assert!(batch.step());
        }
        assert_eq!(
            late.0,
            format!(
                "the simulation passed the 10-second limit at {} of the scenario: shorten its duration or \
                 lighten its load",
                batch.now()
            )
        );
        let sim = simulate(Simulation::new(scenario, None), Instant::now() + RUN_TIME_LIMIT, |_| false).unwrap();
        assert_eq!(sim.now().as_millis(), 24 * 3_600_000);
    }
}
