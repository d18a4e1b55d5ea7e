//! The autoscale loop: when autoscale is enabled and then every interval,
//! the visible samples and the pool's counts go into one long-lived
//! evaluation context, the formula runs through [`Formula::evaluate`], and
//! a successful run sets the targets. Every run is recorded.
//!
//! [`Formula::evaluate`]: crate::formula::Formula::evaluate

use autoscale_runtime::DeallocationOption;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::priority::Priority;
use super::{Event, Simulation};
use crate::formula::context::{EvalContext, PoolState};
use crate::formula::diag::Diagnostic;
use crate::formula::results::ServiceError;
use crate::formula::{Formula, compile_error};
use crate::scenario::Scaling;
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
    interval: SimDuration,
    /// Kept across evaluations: samples are appended as they become visible.
    ctx: EvalContext,
    rng: ChaCha8Rng,
    /// Every evaluation so far.
    pub evaluations: Vec<EvaluationRecord>,
}

impl Autoscaler {
    /// An autoscaler evaluating every `interval`; `rng` seeds `rand()`.
    pub fn new(
        formula: Result<Formula, Diagnostic>,
        interval: SimDuration,
        ctx: EvalContext,
        rng: ChaCha8Rng,
    ) -> Autoscaler {
        Autoscaler { formula, interval, ctx, rng, evaluations: Vec::new() }
    }

    /// The context as the last evaluation saw it.
    pub fn context(&self) -> &EvalContext {
        &self.ctx
    }
}

impl Simulation {
    /// Evaluates the formula now and schedules the next evaluation.
    pub(crate) fn on_evaluate(&mut self) {
        self.take_due_samples();
        let now = self.q.now();
        let Some(auto) = self.autoscale.as_mut() else { return };
        let scenario = &self.scenario;
        self.metrics.deliver(&mut auto.ctx, now, |t| scenario.timestamp(t));
        let current = |p| f64::from(self.nodes.total(p));
        auto.ctx.now = self.scenario.timestamp(now);
        auto.ctx.seed = auto.rng.random();
        auto.ctx.pool = PoolState {
            target_dedicated: f64::from(self.pool.target[0]),
            target_low_priority: f64::from(self.pool.target[1]),
            current_dedicated: current(Priority::Dedicated),
            current_low_priority: current(Priority::LowPriority),
            task_slots_per_node: f64::from(self.scenario.pool.task_slots_per_node),
        };
        let outcome = match &auto.formula {
            Ok(formula) => formula.evaluate(&auto.ctx),
            Err(d) => match &self.scenario.pool.scaling {
                Scaling::Autoscale(a) => Err(compile_error(&a.formula, d, &auto.ctx)),
                Scaling::Fixed { .. } => return,
            },
        };
        self.q.schedule_in(auto.interval, Event::Evaluate);
        let apply: Option<([u32; 2], DeallocationOption)> = match outcome {
            Ok(outcome) => {
                auto.evaluations.push(EvaluationRecord {
                    time: now,
                    results: outcome.results.to_string(),
                    error: None,
                });
                let (d, l) = outcome.applied_targets();
                let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
                Some(([clamp(d), clamp(l)], outcome.results.deallocation))
            }
            Err(e) => {
                auto.evaluations.push(EvaluationRecord {
                    time: now,
                    results: e.results.to_string(),
                    error: Some(e.service_error()),
                });
                None
            }
        };
        if let Some((target, option)) = apply {
            self.apply_targets(target, option);
        }
    }
}
