//! The simulator: a discrete-event model of the batch service running one
//! scenario — pool, nodes, tasks, metrics, autoscale and cost.
//!
//! ```
//! use autoscale_sim::scenario::Scenario;
//! use autoscale_sim::sim::Simulation;
//!
//! let text = r#"
//!     duration = "1h"
//!     [pool]
//!     vm = { cores = 2, dedicated_price = 0.10 }
//!     target_dedicated = 2
//!     [[jobs]]
//!     tasks = [{ duration = "20m", count = 4 }]
//! "#;
//! let scenario = Scenario::from_toml(text, "example.toml", "example", ".".as_ref()).unwrap();
//! let output = Simulation::new(scenario, None).run(&mut |_| {});
//! // Two nodes ready at 4 min run four 20-minute tasks two at a time.
//! assert_eq!(output.tasks.iter().filter_map(|t| t.end).max().map(|t| t.as_millis()), Some(44 * 60_000));
//! ```
//!
//! The engine is single-threaded and deterministic: the same scenario and
//! seed give the same output, byte for byte.
#![forbid(unsafe_code)]

pub mod actions;
pub mod agents;
pub mod autoscale;
pub mod cost;
pub mod deps;
pub mod jobs;
pub mod metrics;
pub mod multi;
pub mod node;
pub mod pool;
pub mod priority;
pub mod queue;
pub mod scheduler;
pub mod streams;
pub mod task;
pub mod workload;

use std::sync::Arc;

use autoscale_runtime::{DeallocationOption, Timestamp};

use crate::formula::Formula;
use crate::formula::context::EvalContext;
use crate::scenario::{ManualResize, PreemptionSchedule, Scaling, Scenario};
use crate::time::{SimDuration, SimTime};
use agents::{AnyAgents, Simulated};
use autoscale::{Autoscaler, EvaluationRecord};
use jobs::JobTaskRun;
use metrics::{Recorder, SAMPLE_PERIOD, TimelineRow};
use node::Nodes;
use pool::{PoolControl, ResizeErrorRecord};
use priority::Priority;
use queue::Queue;
use scheduler::Scheduler;
use streams::{Concern, Streams, rng};
use task::Task;
use workload::Source;

/// What happens next. Node events carry the node's index; a node's
/// pending events are cancelled when it leaves, so an index never
/// reaches a node it was not meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// Tasks of source `n` arrive.
    Arrival(u32),
    /// A node's VM is allocated.
    Allocated(u32),
    /// A node was not allocated within the resize timeout.
    AllocationTimedOut(u32),
    /// A node finished booting.
    Booted(u32),
    /// A node's start task ended.
    StartTaskEnded(u32),
    /// Node action `n` of the scenario is due.
    NodeAction(u32),
    /// A node finished rebooting or reimaging.
    Restarted(u32),
    /// A task's run ended.
    TaskEnd { node: u32, task: u32 },
    /// A job preparation task ended on a node, successfully or not.
    PrepEnded { node: u32, job: u32, ok: bool },
    /// A job release task ended on a node.
    ReleaseEnded { node: u32, job: u32, ok: bool },
    /// A low-priority node is preempted.
    Preempt(u32),
    /// A preemption-trace line: that many nodes are preempted.
    PreemptTrace(u32),
    /// A preempted node comes back.
    Recovered(u32),
    /// A leaving node's retained data expired.
    RetentionExpired(u32),
    /// A leaving node is gone.
    Removed(u32),
    /// Metrics are sampled.
    Sample,
    /// The formula is evaluated.
    Evaluate,
    /// Manual resize `n` of a fixed pool (0: the initial targets).
    Resize(u32),
    /// Job `n` reached its `max_wall_clock_time`.
    JobTimeout(u32),
}

/// Where a run is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Simulated time reached.
    pub now: SimTime,
    /// Simulated time the run ends at.
    pub end: SimTime,
    /// Events delivered so far.
    pub events: u64,
}

/// Everything a finished run produced, for the reports.
#[derive(Debug, Clone)]
pub struct Output {
    /// The scenario's name.
    pub name: String,
    /// The seed used.
    pub seed: u64,
    /// The wall-clock instant of time zero.
    pub start: Timestamp,
    /// The simulated span.
    pub duration: SimDuration,
    /// Hourly prices: dedicated, low-priority.
    pub prices: [f64; 2],
    /// Job ids, by job index.
    pub jobs: Vec<String>,
    /// Jobs the account's active-job quota refused at the start
    /// (`ActiveJobAndScheduleQuotaReached`): none of their tasks ran.
    pub refused_jobs: Vec<String>,
    /// One row per 30 s sample.
    pub timeline: Vec<TimelineRow>,
    /// Every evaluation (autoscale pools).
    pub evaluations: Vec<EvaluationRecord>,
    /// Every task.
    pub tasks: Vec<Task>,
    /// Every job preparation and release run.
    pub job_tasks: Vec<JobTaskRun>,
    /// Every resize error.
    pub resize_errors: Vec<ResizeErrorRecord>,
    /// Seconds charged per priority (60 s minimum per billed period applied).
    pub charged_seconds: [u64; 2],
    /// Exact billed node time per priority.
    pub billed: [SimDuration; 2],
    /// Task time lost to requeues (shrinks, preemptions, node actions,
    /// lost machines): the part of each run cut short, on every node.
    pub requeued_work: SimDuration,
    /// Events delivered.
    pub events: u64,
}

impl Output {
    /// The cost per priority: charged seconds × price.
    pub fn cost(&self) -> [f64; 2] {
        [0, 1].map(|p| self.charged_seconds[p] as f64 * self.prices[p] / 3600.0)
    }

    /// The timestamp of simulated time `t`.
    pub fn timestamp(&self, t: SimTime) -> Timestamp {
        crate::time::wall_clock(self.start, t)
    }
}

/// A scenario being simulated.
#[derive(Debug)]
pub struct Simulation {
    scenario: Arc<Scenario>,
    seed: u64,
    end: SimTime,
    q: Queue<Event>,
    nodes: Nodes,
    sched: Scheduler,
    pool: PoolControl,
    resizes: Vec<ManualResize>,
    sources: Vec<Source>,
    metrics: Recorder,
    autoscale: Option<Autoscaler>,
    rngs: Streams,
    /// Jobs ended (by their `max_wall_clock_time` or their job manager),
    /// by job index.
    ended_jobs: Vec<bool>,
    /// Job preparation and release runs so far.
    job_tasks: Vec<JobTaskRun>,
    /// Who does the work on the nodes.
    agents: AnyAgents,
    /// Sources with arrivals still to come.
    sources_live: u32,
    /// Task time lost to requeues: runs cut short and queued again.
    requeued_work: SimDuration,
}

impl Simulation {
    /// Prepares `scenario` with its own seed, or `seed` when given; the
    /// formula is compiled for the scenario's engine here, so that one
    /// loaded scenario serves any number of runs on any threads.
    pub fn new(scenario: impl Into<Arc<Scenario>>, seed: Option<u64>) -> Simulation {
        Simulation::with_agents(scenario.into(), seed, AnyAgents::Simulated(Simulated))
    }

    /// Runs to the end, calling `progress` about a thousand times along the
    /// way, and returns the output.
    pub fn run(mut self, progress: &mut dyn FnMut(Progress)) -> Output {
        let stride = (self.end.as_millis() / 1000).max(SAMPLE_PERIOD.as_millis());
        let mut next_report = 0;
        while self.step() {
            if self.q.now().as_millis() >= next_report {
                next_report = self.q.now().as_millis() + stride;
                progress(Progress { now: self.q.now(), end: self.end, events: self.q.delivered() });
            }
        }
        progress(Progress { now: self.end, end: self.end, events: self.q.delivered() });
        self.finish()
    }
}

impl Simulation {
    /// Prepares `scenario` for `agents`.
    fn with_agents(scenario: Arc<Scenario>, seed: Option<u64>, agents: AnyAgents) -> Self {
        let seed = seed.unwrap_or(scenario.seed);
        let end = SimTime(scenario.duration.as_millis());
        let pool = &scenario.pool;
        let mut q = Queue::new();
        q.schedule(SimTime::ZERO, Event::Sample);
        let mut resizes = Vec::new();
        let autoscale = match &pool.scaling {
            Scaling::Autoscale(a) => {
                q.schedule(SimTime::ZERO, Event::Evaluate);
                let mut ctx = EvalContext::new(scenario.start);
                // Each evaluation appends an interval's samples before it
                // forgets those older than the history.
                let most = SimDuration(scenario.metrics.history.as_millis().saturating_add(a.interval.as_millis()));
                ctx.reserve_samples(metrics::samples_in(most.min(scenario.duration)));
                let formula = Formula::compile_with(&a.formula, a.engine);
                Some(Autoscaler::new(formula, a.interval, ctx, rng(seed, Concern::Formula)))
            }
            Scaling::Fixed { target_dedicated, target_low_priority, resizes: later } => {
                resizes.push(ManualResize {
                    at: SimDuration::ZERO,
                    target_dedicated: *target_dedicated,
                    target_low_priority: *target_low_priority,
                    deallocation: DeallocationOption::Requeue,
                });
                resizes.extend(later.iter().cloned());
                for (i, r) in resizes.iter().enumerate() {
                    q.schedule(SimTime(r.at.as_millis()), Event::Resize(i as u32));
                }
                None
            }
        };
        if let Some(p) = &pool.preemption
            && let PreemptionSchedule::Trace(rows) = &p.schedule
        {
            for row in rows {
                q.schedule(row.at, Event::PreemptTrace(row.nodes));
            }
        }
        for (i, a) in pool.node_actions.iter().enumerate() {
            q.schedule(SimTime(a.at.as_millis()), Event::NodeAction(i as u32));
        }
        let mut sources = Vec::new();
        let mut sources_live = 0;
        // Jobs past the active-job quota are refused when created, at the
        // start: no arrivals, no manager, no time limit.
        let admitted = scenario.admitted_jobs();
        for (j, job) in scenario.jobs.iter().enumerate().take(admitted) {
            if let Some(limit) = job.max_wall_clock_time {
                q.schedule(SimTime(limit.as_millis()), Event::JobTimeout(j as u32));
            }
            for spec in &job.sources {
                let number = sources.len() as u32;
                let mut source = Source::new(number, j as u32, spec, seed, end);
                if let Some(t) = source.first() {
                    q.schedule(t, Event::Arrival(number));
                    sources_live += 1;
                }
                sources.push(source);
            }
        }
        let m = &scenario.metrics;
        let metrics =
            Recorder::new(m.visibility_delay, m.history, m.drop_out, rng(seed, Concern::Metrics), scenario.duration);
        let priorities = scenario.jobs.iter().map(|j| j.priority).collect();
        let rngs = Streams::new(seed, scenario.jobs.len() as u32);
        let mut sim = Simulation {
            nodes: Nodes::new(pool.task_slots_per_node),
            sched: Scheduler::new(pool.task_slots_per_node, pool.node_fill, priorities),
            pool: PoolControl::default(),
            scenario,
            seed,
            end,
            q,
            resizes,
            sources,
            metrics,
            autoscale,
            rngs,
            ended_jobs: Vec::new(),
            job_tasks: Vec::new(),
            agents,
            sources_live,
            requeued_work: SimDuration::ZERO,
        };
        sim.submit_managers();
        sim
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.q.now()
    }

    /// Events delivered so far (a driver's progress reports).
    pub fn events(&self) -> u64 {
        self.q.delivered()
    }

    /// Keeps every metric sample as recorded (before the visibility delay
    /// and drop-outs), for tests; see [`Simulation::samples`].
    pub fn keep_samples(&mut self) {
        self.metrics.kept.get_or_insert_with(Vec::new);
    }

    /// The samples kept since [`Simulation::keep_samples`].
    pub fn samples(&self) -> &[metrics::Sample] {
        self.metrics.kept.as_deref().unwrap_or(&[])
    }

    /// The evaluation context as the last evaluation saw it.
    pub fn eval_context(&self) -> Option<&EvalContext> {
        self.autoscale.as_ref().map(Autoscaler::context)
    }

    /// Delivers the next event due by the end; false when there is none.
    pub fn step(&mut self) -> bool {
        let Some((_, event)) = self.q.pop_until(self.end) else {
            return false;
        };
        match event {
            Event::Arrival(s) => self.on_arrival(s),
            Event::Allocated(n) => self.on_allocated(n),
            Event::AllocationTimedOut(n) => self.on_allocation_timed_out(n),
            Event::Booted(n) => self.on_booted(n),
            Event::StartTaskEnded(n) => self.on_start_task_ended(n),
            Event::NodeAction(i) => self.on_node_action(i),
            Event::Restarted(n) => self.on_booted(n),
            Event::TaskEnd { node, task } => self.on_task_end(node, task),
            Event::PrepEnded { node, job, ok } => self.on_prep_ended(node, job, ok),
            Event::ReleaseEnded { node, job, ok } => self.on_release_ended(node, job, ok),
            Event::Preempt(n) => self.on_preempt(n),
            Event::PreemptTrace(k) => self.on_preempt_trace(k),
            Event::Recovered(n) => self.on_recovered(n),
            Event::RetentionExpired(n) => self.on_retention_expired(n),
            Event::Removed(n) => self.on_removed(n),
            Event::Sample => {
                self.take_due_samples();
                if self.metrics.next_sample() <= self.end {
                    self.q.schedule(self.metrics.next_sample(), Event::Sample);
                }
            }
            Event::Evaluate => self.on_evaluate(),
            Event::Resize(i) => self.on_manual_resize(i),
            Event::JobTimeout(j) => self.on_job_timeout(j),
        }
        true
    }

    /// Recounts everything from scratch and compares with the incremental
    /// counters: node counts by state sum to the pool size, every task is in
    /// exactly one place, billing equals the integral of billed nodes.
    pub fn check_invariants(&self) -> Result<(), String> {
        let now = self.q.now();
        self.nodes.check(now)?;
        self.sched.check(&self.nodes)?;
        let s = &self.sched;
        let placed = u64::from(s.active_tasks())
            + u64::from(s.running_tasks())
            + u64::from(s.deps.waiting())
            + s.succeeded
            + s.failed
            + s.blocked
            + s.terminated;
        if placed != s.tasks.len() as u64 {
            return Err(format!("{} tasks submitted, {placed} accounted for", s.tasks.len()));
        }
        Ok(())
    }

    fn on_arrival(&mut self, s: u32) {
        let now = self.q.now();
        let Some(job) = self.sources.get(s as usize).map(|source| source.job) else { return };
        // An ended job takes no more tasks, and its sources stop.
        if self.job_ended(job) {
            self.sources_live -= 1;
            return;
        }
        let Some(source) = self.sources.get_mut(s as usize) else { return };
        let (mut batch, next) = source.fire(now);
        for k in 0..batch.count {
            let duration = batch.duration.draw();
            let id = batch.id.map(|first| first + k);
            self.sched.submit(job, now, duration, [batch.slots, batch.instances], id, batch.depends_on);
        }
        match next {
            Some(t) => _ = self.q.schedule(t, Event::Arrival(s)),
            None => self.sources_live -= 1,
        }
        self.schedule();
    }

    /// Closes the books at the end of the scenario — open billed periods
    /// end there — and returns the output. [`Simulation::run`] calls it;
    /// call it after driving the run with [`Simulation::step`].
    pub fn finish(mut self) -> Output {
        let end = self.end;
        self.nodes.close_billing(end);
        let vm = &self.scenario.pool.vm;
        let meters = Priority::ALL.map(|p| self.nodes.billing.meter(p).clone());
        Output {
            name: self.scenario.name.clone(),
            seed: self.seed,
            start: self.scenario.start,
            duration: SimDuration(end.as_millis()),
            prices: [vm.dedicated_price, vm.low_priority_price],
            jobs: self.scenario.jobs.iter().map(|j| j.id.clone()).collect(),
            refused_jobs: self.scenario.jobs.iter().skip(self.scenario.admitted_jobs()).map(|j| j.id.clone()).collect(),
            timeline: self.metrics.timeline,
            evaluations: self.autoscale.map(|a| a.evaluations).unwrap_or_default(),
            tasks: self.sched.tasks,
            job_tasks: self.job_tasks,
            resize_errors: self.pool.log,
            charged_seconds: meters.clone().map(|m| m.charged_seconds),
            billed: meters.map(|m| SimDuration(m.closed_ms)),
            requeued_work: self.requeued_work,
            events: self.q.delivered(),
        }
    }
}

#[cfg(test)]
mod tests;
