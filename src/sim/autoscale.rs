//! The autoscale loop: when autoscale is enabled and then every interval,
//! the visible samples and the pool's counts go into one long-lived
//! evaluation context, the formula runs through [`Formula::evaluate`], and
//! a successful run sets the targets. Every run is recorded.
//!
//! [`Formula::evaluate`]: crate::formula::Formula::evaluate

use autoscale_runtime::DeallocationOption;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::metrics::Recorder;
use super::pool::Pool;
use super::priority::Priority;
use super::{Env, Event};
use crate::formula::context::{EvalContext, PoolState};
use crate::formula::diag::Diagnostic;
use crate::formula::results::ServiceError;
use crate::formula::{Engine, Formula, compile_error};
use crate::time::{SimDuration, SimTime};

/// One evaluation, as the service keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRecord {
    /// When.
    pub time: SimTime,
    /// The results string (what was assigned, even when the run failed).
    pub results: String,
    /// The service's error, when the run failed.
    pub error: Option<ServiceError>,
}

/// The context the formula sees, kept between evaluations.
#[derive(Debug, Clone)]
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
    /// Every evaluation so far.
    pub evaluations: Vec<EvaluationRecord>,
}

impl Autoscaler {
    /// An autoscaler evaluating `source`, compiled for `engine`, every
    /// `interval`; `rng` seeds `rand()`.
    pub fn new(source: &str, engine: Engine, interval: SimDuration, ctx: EvalContext, rng: ChaCha8Rng) -> Autoscaler {
        let formula = Formula::compile_with(source, engine);
        Autoscaler { formula, source: source.to_owned(), interval, ctx, rng, evaluations: Vec::new() }
    }

    /// The context as the last evaluation saw it.
    pub fn context(&self) -> &EvalContext {
        &self.ctx
    }
}

impl Autoscaler {
    /// Evaluates the formula at `now` on the samples `recorder` has made
    /// visible and the pool's state, and schedules the next evaluation.
    /// Returns the targets and deallocation option to apply, when the
    /// evaluation succeeded.
    pub(crate) fn evaluate(
        &mut self,
        recorder: &mut Recorder,
        pool: &Pool,
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
            task_slots_per_node: f64::from(scenario.pool.task_slots_per_node),
        };
        let outcome = match &self.formula {
            Ok(formula) => formula.evaluate(&self.ctx),
            Err(d) => Err(compile_error(&self.source, d, &self.ctx)),
        };
        env.q.schedule_in(self.interval, Event::Evaluate);
        match outcome {
            Ok(outcome) => {
                self.evaluations.push(EvaluationRecord {
                    time: now,
                    results: outcome.results.to_string(),
                    error: None,
                });
                let (d, l) = outcome.applied_targets();
                let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
                Some(([clamp(d), clamp(l)], outcome.results.deallocation))
            }
            Err(e) => {
                self.evaluations.push(EvaluationRecord {
                    time: now,
                    results: e.results.to_string(),
                    error: Some(e.service_error()),
                });
                None
            }
        }
    }
}
