//! Scenario cases: a whole simulation per seed, and bounds on its outcome
//! (cost, p95 queue wait, pool size, when the work is done, failed
//! evaluations) that must hold for every seed.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::outcome::{Mismatch, Outcome};
use super::point::number;
use super::suite::{Case, FormulaText, ScenarioCase, ScenarioExpect, ScenarioSource, Suite};
use crate::formula::params::set_constant;
use crate::report::Summary;
use crate::scenario::{ReplaceFormulaError, Scaling, Scenario};
use crate::sim::{Output, Recordings, Simulation, TaskState};
use crate::time::SimDuration;

/// Loads the case's scenario, with the suite's formula swapped in when the
/// case asks, then its `params` constants set. The error is a message for people.
pub(crate) fn prepare(
    shown: &str,
    dir: &Path,
    name: &str,
    case: &ScenarioCase,
    suite_formula: Option<&FormulaText>,
) -> Result<Scenario, String> {
    let mut scenario = match &case.source {
        ScenarioSource::File(path) => Scenario::load(path),
        ScenarioSource::Inline(text) => {
            Scenario::from_toml(text, &format!("{shown}: scenarios.{name}.inline"), name, dir)
        }
    }
    .and_then(|s| s.one_pool_for("a scenario case"))
    .map_err(|e| e.to_string())?;
    if case.use_suite_formula {
        let Some(suite_formula) = suite_formula else {
            return Err("`use_suite_formula`: the suite has no top-level formula".to_owned());
        };
        scenario.replace_formula(&suite_formula.text, &suite_formula.name).map_err(|e| match e {
            ReplaceFormulaError::FixedTargets => {
                "`use_suite_formula`: the scenario's pool has fixed targets; give it a [pool.autoscale] table"
                    .to_owned()
            }
            ReplaceFormulaError::DoesNotCompile(m) => format!("the suite's formula does not compile: {m}"),
            ReplaceFormulaError::HasErrors(m) => {
                format!("the suite's formula has errors ({m}); a simulation needs a valid one")
            }
        })?;
    }
    set_constants(&mut scenario, &case.constants)?;
    Ok(scenario)
}

/// Sets each `(variable, number)` in the scenario's formula, through the
/// syntax tree as `sweep` does, and checks the formula again.
fn set_constants(scenario: &mut Scenario, constants: &[(String, String)]) -> Result<(), String> {
    let Some((first, _)) = constants.first() else { return Ok(()) };
    let Scaling::Autoscale(autoscale) = &scenario.pool().scaling else {
        return Err(format!("`params.formula.{first}`: the scenario's pool has fixed targets, so there is no formula"));
    };
    let mut source = autoscale.formula.clone();
    let mut set = Vec::with_capacity(constants.len());
    for (name, value) in constants {
        source = set_constant(&source, name, value).map_err(|e| format!("`params.formula.{name}`: {e}"))?;
        set.push(format!("formula.{name}={value}"));
    }
    let shown = format!("{} with {}", autoscale.source_name, set.join(", "));
    scenario.replace_formula(&source, &shown).map_err(|e| match e {
        ReplaceFormulaError::FixedTargets => "the scenario's pool has fixed targets".to_owned(),
        ReplaceFormulaError::DoesNotCompile(m) | ReplaceFormulaError::HasErrors(m) => {
            format!("the formula has errors with {}: {m}", set.join(", "))
        }
    })
}

/// One seed's numbers that the bounds look at.
struct SeedResult {
    seed: u64,
    cost: f64,
    p95_wait_s: Option<f64>,
    max_nodes: u32,
    /// `Ok(latest end)` when every task finished, else how many did not.
    done: Result<SimDuration, usize>,
    failed_evaluations: u64,
}

fn measure(output: &Output) -> SeedResult {
    let summary = Summary::of(output);
    let max_nodes = output
        .timeline
        .iter()
        .map(|row| row.nodes.iter().flat_map(|by_state| by_state.iter()).sum::<u32>())
        .max()
        .unwrap_or(0);
    let tally = &output.task_tally;
    let unfinished = tally.submitted() - tally.count(TaskState::Succeeded) - tally.count(TaskState::Failed);
    let done = if unfinished > 0 {
        Err(unfinished as usize)
    } else {
        let latest = tally.latest_end().map_or(0, |e| e.0);
        Ok(SimDuration::from_std(std::time::Duration::from_millis(latest)))
    };
    SeedResult {
        seed: output.seed,
        cost: summary.cost.total,
        p95_wait_s: summary.queue_wait_seconds.map(|w| w.p95),
        max_nodes,
        done,
        failed_evaluations: summary.evaluations.failed,
    }
}

/// Simulates every seed (in parallel) and checks each bound against the
/// worst seed.
pub(crate) fn run(suite: &Suite, case: &Case, s: &ScenarioCase) -> Outcome {
    let formula = suite.formula.as_ref();
    let scenario = match prepare(&suite.shown, &suite.dir, &case.name, s, formula) {
        Ok(scenario) => Arc::new(scenario),
        Err(message) => return Outcome::Error(message),
    };
    let runs = s
        .seeds
        .par_iter()
        .map(|seed| {
            let output =
                Simulation::new(Arc::clone(&scenario), *seed).send_records_to(Recordings::measured()).run(&mut |_| {});
            match &output.stopped {
                Some(stopped) => Err(stopped.to_string()),
                None => Ok(measure(&output)),
            }
        })
        .collect::<Result<Vec<SeedResult>, String>>();
    let runs = match runs {
        Ok(runs) => runs,
        Err(message) => return Outcome::Error(message),
    };
    let mut out = Vec::new();
    let mut miss = |key: &str, expected: String, actual: String| {
        let path: Vec<&str> =
            ["scenarios", case.name.as_str(), "expect", key].into_iter().filter(|k| !k.is_empty()).collect();
        out.push(Mismatch { key: path.join("."), line: suite.line(&path), expected, actual });
    };
    check_bounds(&s.expect, &runs, &mut miss);
    if out.is_empty() { Outcome::Passed } else { Outcome::Failed(out) }
}

/// What `miss` is told for each bound a case breaks: the key under
/// `expect` (`""`: the case has no bound), what was expected, what happened.
type Miss<'a> = dyn FnMut(&str, String, String) + 'a;

/// Checks each bound of `e` against the worst of `runs`.
fn check_bounds(e: &ScenarioExpect, runs: &[SeedResult], miss: &mut Miss<'_>) {
    if e.is_empty() {
        miss(
            "",
            "some bound under `expect` (max_cost, max_p95_wait, max_nodes, all_done_by, no_failed_evaluations)"
                .to_owned(),
            "none given".to_owned(),
        );
    }
    let worst =
        |f: &dyn Fn(&SeedResult) -> f64| -> Option<&SeedResult> { runs.iter().max_by(|a, b| f(a).total_cmp(&f(b))) };
    if let Some(bound) = e.max_cost
        && let Some(w) = worst(&|r| r.cost)
        && w.cost > bound
    {
        miss("max_cost", format!("at most {}", number(bound)), format!("{:.2} with seed {}", w.cost, w.seed));
    }
    if let Some(bound) = e.max_p95_wait
        && let Some(w) = worst(&|r| r.p95_wait_s.unwrap_or(0.0))
        && w.p95_wait_s.unwrap_or(0.0) > bound.as_secs_f64()
    {
        let p95 = SimDuration::from_std(std::time::Duration::from_secs(w.p95_wait_s.unwrap_or(0.0) as u64));
        miss("max_p95_wait", format!("at most {bound}"), format!("{p95} with seed {}", w.seed));
    }
    if let Some(bound) = e.max_nodes
        && let Some(w) = worst(&|r| f64::from(r.max_nodes))
        && w.max_nodes > bound
    {
        miss("max_nodes", format!("at most {bound}"), format!("{} nodes with seed {}", w.max_nodes, w.seed));
    }
    if let Some(bound) = e.all_done_by {
        check_done_by(bound, runs, miss);
    }
    if e.no_failed_evaluations == Some(true)
        && let Some(w) = worst(&|r| r.failed_evaluations as f64)
        && w.failed_evaluations > 0
    {
        miss(
            "no_failed_evaluations",
            "no failed evaluation".to_owned(),
            format!("{} failed with seed {}", w.failed_evaluations, w.seed),
        );
    }
}

/// `all_done_by`: the first seed whose tasks did not all end by `bound`.
fn check_done_by(bound: SimDuration, runs: &[SeedResult], miss: &mut Miss<'_>) {
    for r in runs {
        match r.done {
            Err(n) => {
                miss(
                    "all_done_by",
                    format!("every task done by {bound}"),
                    format!("{n} tasks unfinished at the end with seed {}", r.seed),
                );
                break;
            }
            Ok(latest) if latest > bound => {
                miss(
                    "all_done_by",
                    format!("every task done by {bound}"),
                    format!("the last one ended at {latest} with seed {}", r.seed),
                );
                break;
            }
            Ok(_) => {}
        }
    }
}
