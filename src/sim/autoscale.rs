//! The autoscale loop: when autoscale is enabled and then every interval,
//! the visible samples and the pool's counts go into one long-lived
//! evaluation context, the formula runs through [`Formula::evaluate`], and
//! a successful run sets the targets. Every run is recorded.
//!
//! [`Formula::evaluate`]: crate::formula::Formula::evaluate

use autoscale_runtime::DeallocationOption;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::evaluations::{EvaluationRecord, EvaluationRecords, Evaluations};
use super::metrics::{Recorder, samples_in};
use super::pool::Pool;
use super::priority::Priority;
use super::queue::Queue;
use super::{Env, Event};
use crate::formula::context::{EvalContext, PoolState};
use crate::formula::diag::Diagnostic;
use crate::formula::{Formula, compile_error};
use crate::scenario::{Scaling, Scenario};
use crate::time::{SimDuration, SimTime};

/// The autoscaler as a component: the formula compiled for this run and
/// the context it sees (kept between evaluations).
#[derive(Debug)]
pub struct Autoscaler {
    /// The scenario's formula, compiled for its engine; a formula that
    /// does not compile (never one from a loaded scenario, which was
    /// checked) fails every evaluation as the service fails it.
    formula: Result<Formula, Diagnostic>,
    /// The formula's text, for the error of one that does not compile.
    source: String,
    interval: SimDuration,
    /// Kept across evaluations: samples are appended as they become visible.
    ctx: EvalContext,
    rng: ChaCha8Rng,
}

impl Autoscaler {
    /// The autoscaler of `scenario`'s pool number `pool`, its first
    /// evaluation queued now; none for a pool with fixed targets. The
    /// formula is compiled here, for the scenario's engine; `rng` seeds
    /// `rand()`.
    pub(crate) fn for_pool(
        scenario: &Scenario,
        pool: usize,
        rng: ChaCha8Rng,
        q: &mut Queue<Event>,
    ) -> Option<Autoscaler> {
        let Scaling::Autoscale(a) = &scenario.pools[pool].scaling else { return None };
        q.schedule(SimTime::ZERO, Event::Evaluate);
        let mut ctx = EvalContext::new(scenario.start);
        // Each evaluation appends an interval's samples before it forgets
        // those older than the history.
        let most = SimDuration(scenario.metrics.history.as_millis().saturating_add(a.interval.as_millis()));
        ctx.reserve_samples(samples_in(most.min(scenario.duration)));
        Some(Autoscaler {
            formula: Formula::compile_with(&a.formula, a.engine),
            source: a.formula.clone(),
            interval: a.interval,
            ctx,
            rng,
        })
    }

    /// Where the evaluations of a run of `duration` go: to `records`, with
    /// room for those kept.
    pub(crate) fn evaluations(&self, records: EvaluationRecords, duration: SimDuration) -> Evaluations {
        Evaluations::new(records, evaluations_in(duration, self.interval))
    }

    /// The context as the last evaluation saw it.
    pub fn context(&self) -> &EvalContext {
        &self.ctx
    }
}

/// How many evaluations every `interval` from 0 a run of `duration` makes.
fn evaluations_in(duration: SimDuration, interval: SimDuration) -> usize {
    (duration.as_millis() / interval.as_millis().max(1)) as usize + 1
}

impl Autoscaler {
    /// Evaluates the formula at `now` on the samples `recorder` has made
    /// visible and the pool's state, records it in `evaluations`, and
    /// schedules the next evaluation. Returns the targets and deallocation
    /// option to apply, when the evaluation succeeded.
    pub(crate) fn evaluate(
        &mut self,
        recorder: &mut Recorder,
        pool: &Pool,
        evaluations: &mut Evaluations,
        env: &mut Env,
    ) -> Option<([u32; 2], DeallocationOption)> {
        let now = env.q.now();
        let scenario = &*env.scenario;
        recorder.deliver(&mut self.ctx, now, |t| scenario.timestamp(t));
        let current = |p| f64::from(pool.nodes.total(p));
        self.ctx.now = scenario.timestamp(now);
        self.ctx.seed = self.rng.random();
        self.ctx.pool = PoolState {
            target_dedicated: f64::from(pool.control.target[0]),
            target_low_priority: f64::from(pool.control.target[1]),
            current_dedicated: current(Priority::Dedicated),
            current_low_priority: current(Priority::LowPriority),
            task_slots_per_node: f64::from(env.spec().task_slots_per_node),
        };
        let outcome = match &self.formula {
            Ok(formula) => formula.evaluate(&self.ctx),
            Err(d) => Err(compile_error(&self.source, d, &self.ctx)),
        };
        env.q.schedule_in(self.interval, Event::Evaluate);
        match outcome {
            Ok(outcome) => {
                evaluations.push(EvaluationRecord { time: now, results: outcome.results.to_string(), error: None });
                let (d, l) = outcome.applied_targets();
                let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
                Some(([clamp(d), clamp(l)], outcome.results.deallocation))
            }
            Err(e) => {
                evaluations.push(EvaluationRecord {
                    time: now,
                    results: e.results.to_string(),
                    error: Some(e.service_error()),
                });
                None
            }
        }
    }
}
