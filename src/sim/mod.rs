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
//! assert_eq!(output.tasks.iter().filter_map(|t| t.end()).max().map(|t| t.as_millis()), Some(44 * 60_000));
//! ```
//!
//! A [`Simulation`] is one pool's run; an [`Account`] runs every pool of
//! a several-pool scenario on one clock, sharing the account's core quotas.
//!
//! The engine is single-threaded and deterministic: the same scenario and
//! seed give the same output, byte for byte.
#![forbid(unsafe_code)]

mod account;
mod actions;
mod agents;
mod autoscale;
mod cost;
mod deps;
mod evaluations;
mod fetch;
mod invariants;
mod live_tasks;
mod metrics;
mod node;
mod operations;
mod pool;
mod priority;
mod queue;
mod ready;
mod real;
mod records;
mod scheduler;
mod streams;
mod tally;
mod task;
mod timeline;
mod waits;
mod workload;

// The public surface: what the reports, the real-agent driver, the tests
// and the benchmarks use. Everything else is the model's own.
pub use account::Account;
pub use agents::{NodeRef, Request, Work};
pub use evaluations::{EvaluationRecord, EvaluationRecords, EvaluationTally, KEPT_EVALUATIONS};
pub use live_tasks::{SET_ASIDE_AFTER, TaskRecords};
pub use metrics::{SAMPLE_PERIOD, Sample};
pub use node::NodeState;
pub use operations::{Operation, OperationError, RefusedOperation};
pub use pool::{AllocationState, ResizeErrorCode, ResizeErrorRecord};
pub use priority::Priority;
pub use queue::Queue;
pub use records::{Recording, Sink};
pub use tally::{SLOWEST, TaskSink, TaskTally};
pub use task::{JobTaskKind, JobTaskRun, TASK_ENDED_EXIT_CODE, Task, TaskFailure, TaskRole, TaskState};
pub use timeline::{KEPT_ROWS, TimelineRecords, TimelineRow};
pub use waits::{EXACT_WAITS, HISTOGRAM_DIGITS, WaitStats};

use std::sync::Arc;

use autoscale_runtime::Timestamp;

use crate::formula::context::EvalContext;
use crate::scenario::{Scenario, TraceError};
use crate::time::{SimDuration, SimTime};
use agents::{AnyAgents, Simulated};
use autoscale::Autoscaler;
use evaluations::Evaluations;
use metrics::{Recorder, samples_in};
use pool::Pool;
use scheduler::Scheduler;
use streams::{Concern, Streams, pool_rng};
use timeline::Timeline;
use workload::Workload;

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
    /// A task's run reached its own `max_wall_clock_time`.
    TaskTimeout { node: u32, task: u32 },
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
    /// The pool's last draining node is gone: targets set meanwhile apply.
    DrainEnded,
    /// Metrics are sampled.
    Sample,
    /// The formula is evaluated.
    Evaluate,
    /// Manual resize `n` of a fixed pool (0: the initial targets).
    Resize(u32),
    /// Job `n` reached its `max_wall_clock_time`.
    JobTimeout(u32),
    /// Job `n`, an occurrence of a schedule, is due to be created.
    JobCreated(u32),
}

/// What every component reaches besides the other components: the
/// scenario and which of its pools this run is, the clock and its event
/// queue, the agents, the shared random streams and the cores the
/// account's other pools hold. One struct, borrowed once per handler,
/// rather than arguments threaded through every call.
#[derive(Debug)]
pub(crate) struct Env {
    /// The scenario, shared with every other run of it.
    pub(crate) scenario: Arc<Scenario>,
    /// The pool this run simulates: an index into the scenario's pools.
    pub(crate) pool: usize,
    /// Dedicated and low-priority cores the account's other pools hold
    /// (their nodes of every state, as the quota counts them): set by
    /// [`Account`] before each of this pool's events, always 0 for a
    /// one-pool scenario.
    pub(crate) others_cores: [u64; 2],
    /// Jobs and job schedules active in the account's other pools, which
    /// the active-job quota counts with this pool's: set with
    /// `others_cores`.
    pub(crate) others_active_jobs: u32,
    /// The pending events; its time is the clock.
    pub(crate) q: Queue<Event>,
    /// Who does the work on the nodes.
    pub(crate) agents: AnyAgents,
    /// The random streams of node lives and task outcomes.
    pub(crate) rngs: Streams,
}

impl Env {
    /// The scenario's pool this run simulates.
    pub(crate) fn spec(&self) -> &crate::scenario::Pool {
        &self.scenario.pools[self.pool]
    }
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

/// Everything a finished run of one pool produced, for the reports.
#[derive(Debug, Clone)]
pub struct Output {
    /// The scenario's name.
    pub name: String,
    /// The id of the pool this run simulated.
    pub pool: String,
    /// The seed used.
    pub seed: u64,
    /// The wall-clock instant of time zero.
    pub start: Timestamp,
    /// The simulated span.
    pub duration: SimDuration,
    /// Hourly prices: dedicated, low-priority.
    pub prices: [f64; 2],
    /// Job ids, by job index: every job of the scenario, whichever its pool.
    pub jobs: Vec<String>,
    /// This pool's jobs and job schedules the account's active-job quota
    /// refused (`ActiveJobAndScheduleQuotaReached`): the file's jobs and
    /// the schedules refused at the start, then the jobs of schedules
    /// refused when they came, in time order. None of their tasks ran.
    pub refused_jobs: Vec<String>,
    /// One row per 30 s sample ([`TimelineRecords::Keep`], the default);
    /// none when dropped; at most [`KEPT_ROWS`], evenly spaced, and the
    /// last, when the rows went to a sink ([`Simulation::send_timeline_to`]).
    pub timeline: Vec<TimelineRow>,
    /// Every evaluation (autoscale pools) when the run kept them
    /// ([`EvaluationRecords::Keep`], the default); none when dropped; at
    /// most [`KEPT_EVALUATIONS`], evenly spaced, when they went to a sink
    /// ([`Simulation::send_records_to`]).
    pub evaluations: Vec<EvaluationRecord>,
    /// Every evaluation counted, however they were recorded: the summary's source.
    pub evaluation_tally: EvaluationTally,
    /// Every task, in number order, when the run kept them
    /// ([`TaskRecords::Keep`], the default); empty when they went to a
    /// sink as they finished ([`Simulation::send_tasks_to`]).
    pub tasks: Vec<Task>,
    /// Every task counted, however they were recorded: the summary's source.
    pub task_tally: TaskTally,
    /// The most task records in memory at once: the window from the oldest
    /// task in flight to the newest, and the tasks set aside before it.
    pub peak_live_tasks: usize,
    /// Every job preparation and release run, when the run kept them (the
    /// default); none when they were dropped or went to a sink.
    pub job_tasks: Vec<JobTaskRun>,
    /// Every resize error.
    pub resize_errors: Vec<ResizeErrorRecord>,
    /// Every operation the service refused, in order.
    pub refused_operations: Vec<RefusedOperation>,
    /// Seconds charged per priority (60 s minimum per billed period applied).
    pub charged_seconds: [u64; 2],
    /// Exact billed node time per priority.
    pub billed: [SimDuration; 2],
    /// Node time per priority, then state (`NodeState as usize`), in ms,
    /// over the whole run: the billed states add up to `billed`.
    pub time_in_state: [[u64; NodeState::COUNT]; 2],
    /// Task slots per node: a task's run uses this share of its node.
    pub slots_per_node: u32,
    /// Task time lost to requeues (shrinks, preemptions, node actions,
    /// lost machines): the part of each run cut short, on every node,
    /// by the priority of the node it ran on.
    pub requeued_work: [SimDuration; 2],
    /// Events delivered.
    pub events: u64,
    /// Why the run stopped before its end: a trace changed since the
    /// scenario was loaded. Its figures then cover only what ran; every
    /// caller reports this as an error rather than as a result.
    pub stopped: Option<TraceError>,
}

/// The ids of what the active-job quota refused in pool number `pool`:
/// the file's jobs and the schedules refused at the start, then `later`,
/// the jobs of admitted schedules refused when they came.
fn refused_jobs(scenario: &Scenario, pool: usize, later: &[u32]) -> Vec<String> {
    let listed = &scenario.jobs[scenario.admitted_jobs()..scenario.listed_jobs()];
    let jobs = listed.iter().filter(|j| j.pool == pool).map(|j| j.id.clone());
    let refused = scenario.schedules.iter().skip(scenario.admitted_schedules());
    let schedules = refused.filter(|s| s.pool == pool).map(|s| s.id.clone());
    let later = later.iter().map(|&j| scenario.jobs[j as usize].id.clone());
    jobs.chain(schedules).chain(later).collect()
}

/// Steps `run` (one pool's, or an account's) until its `step` delivers
/// nothing more, calling `progress` about a thousand times over the
/// simulated span to `end`, and once at the end; `now` and `events` say
/// where it is.
fn run_to_end<R>(
    run: &mut R,
    end: SimTime,
    step: fn(&mut R) -> bool,
    now: fn(&R) -> SimTime,
    events: fn(&R) -> u64,
    progress: &mut dyn FnMut(Progress),
) {
    let stride = (end.as_millis() / 1000).max(SAMPLE_PERIOD.as_millis());
    let mut next_report = 0;
    while step(run) {
        let now = now(run);
        if now.as_millis() >= next_report {
            next_report = now.as_millis() + stride;
            progress(Progress { now, end, events: events(run) });
        }
    }
    progress(Progress { now: end, end, events: events(run) });
}

/// What a run does with each kind of record it makes (see
/// [`Simulation::send_records_to`]): all kept by default; `run` without
/// `--out` drops them, `run --out` sends each to its file.
#[derive(Debug, Default)]
pub struct Recordings {
    /// The tasks, as they leave memory.
    pub tasks: TaskRecords,
    /// The timeline's rows, as they are closed.
    pub timeline: TimelineRecords,
    /// The evaluations.
    pub evaluations: EvaluationRecords,
    /// The job preparation and release runs.
    pub job_tasks: Recording<JobTaskRun>,
}

impl Recordings {
    /// What runs measured by their figures keep (`compare`, `sweep`,
    /// `tune`, `test`): the timeline, for their charts and bounds, and of
    /// the rest only what the summary counts.
    pub fn measured() -> Recordings {
        Recordings { timeline: TimelineRecords::Keep, ..Recordings::counted() }
    }

    /// Nothing kept but what the summary counts: for runs that write no files.
    pub fn counted() -> Recordings {
        Recordings {
            tasks: TaskRecords::Count,
            timeline: TimelineRecords::Drop,
            evaluations: EvaluationRecords::Drop,
            job_tasks: Recording::Drop,
        }
    }
}

/// Where a run's records went: the sinks to close once it is over.
#[derive(Debug)]
pub struct Records {
    /// The tasks ([`Simulation::send_tasks_to`]).
    pub tasks: TaskRecords,
    /// The timeline's sink, if the rows were sent to one.
    pub timeline: Option<Box<dyn Sink<TimelineRow>>>,
    /// The evaluations' sink, if they were sent to one.
    pub evaluations: Option<Box<dyn Sink<EvaluationRecord>>>,
    /// The job task runs' sink, if they were sent to one.
    pub job_tasks: Option<Box<dyn Sink<JobTaskRun>>>,
}

impl Output {
    /// The cost per priority: charged seconds × price.
    pub fn cost(&self) -> [f64; 2] {
        cost::cost(self.charged_seconds, self.prices)
    }

    /// The timestamp of simulated time `t`.
    pub fn timestamp(&self, t: SimTime) -> Timestamp {
        crate::time::wall_clock(self.start, t)
    }
}

/// A scenario being simulated: the components of the model, and the
/// dispatch of each event to the one it concerns.
///
/// The components own their state and their rules — the `Pool` its
/// nodes and their lives, the `Scheduler` the tasks and their
/// placement and the job-level rules, the `Workload` the
/// arrivals, the `Recorder` the samples and the timeline, the
/// `Autoscaler` the evaluations — and take the others they reach as
/// arguments, with the `Env`.
#[derive(Debug)]
pub struct Simulation {
    seed: u64,
    end: SimTime,
    env: Env,
    pool: Pool,
    sched: Scheduler,
    workload: Workload,
    recorder: Recorder,
    autoscaler: Option<Autoscaler>,
    /// Every evaluation of the autoscaler, counted, and kept or sent as
    /// the run says: a pool with fixed targets has none, and still a sink
    /// (an empty `evaluations.jsonl`).
    evaluations: Evaluations,
}

impl Simulation {
    /// Prepares `scenario` with its own seed, or `seed` when given; the
    /// formula is compiled for the scenario's engine here, so that one
    /// loaded scenario serves any number of runs on any threads.
    ///
    /// This is the run of the scenario's first pool, with its jobs: the
    /// whole scenario when it has one pool (check
    /// [`Scenario::only_pool`]); several pools run together as an
    /// [`Account`].
    pub fn new(scenario: impl Into<Arc<Scenario>>, seed: Option<u64>) -> Simulation {
        Simulation::with_agents(scenario.into(), 0, seed, AnyAgents::Simulated(Simulated))
    }

    /// Prepares `scenario` for `agents`. The order of what is queued here
    /// decides the order of same-instant events, so it is fixed: the
    /// first sample, the first evaluation or the resizes, the preemption
    /// trace, the node actions, then job by job its time limit and its
    /// sources' first arrivals.
    ///
    /// `pool` is the scenario's pool this run simulates, with its jobs.
    fn with_agents(scenario: Arc<Scenario>, pool: usize, seed: Option<u64>, agents: AnyAgents) -> Self {
        let seed = seed.unwrap_or(scenario.seed);
        let end = SimTime(scenario.duration.as_millis());
        let mut q = Queue::new();
        q.schedule(SimTime::ZERO, Event::Sample);
        let autoscaler = Autoscaler::for_pool(&scenario, pool, pool_rng(seed, pool, Concern::Formula), &mut q);
        let spec = &scenario.pools[pool];
        let pool_component = Pool::new(spec, &mut q);
        let workload = Workload::new(&scenario, pool, seed, end, &mut q);
        let priorities: Vec<i16> = scenario.jobs.iter().map(|j| j.priority).collect();
        let mut sim = Simulation {
            pool: pool_component,
            sched: Scheduler::new(spec.task_slots_per_node, spec.node_fill, &priorities),
            recorder: Recorder::new(&scenario, pool, pool_rng(seed, pool, Concern::Metrics)),
            env: Env {
                rngs: Streams::new(seed, pool, scenario.jobs.len() as u32),
                scenario,
                pool,
                others_cores: [0; 2],
                others_active_jobs: 0,
                q,
                agents,
            },
            seed,
            end,
            workload,
            evaluations: Evaluations::new(EvaluationRecords::Keep, 0),
            autoscaler,
        };
        sim.sched.jobs_fetch = fetch::jobs_fetch(&sim.env.scenario);
        sim.sched.submit_managers(&mut sim.env);
        sim
    }

    /// Runs to the end, calling `progress` about a thousand times along the
    /// way, and returns the output.
    pub fn run(self, progress: &mut dyn FnMut(Progress)) -> Output {
        self.run_with_records(progress).0
    }

    /// [`Simulation::run`], and where the tasks went (see
    /// [`Simulation::finish_with_records`]).
    pub fn run_with_records(mut self, progress: &mut dyn FnMut(Progress)) -> (Output, Records) {
        let end = self.end;
        run_to_end(&mut self, end, Simulation::step, Simulation::now, Simulation::events, progress);
        self.finish_with_records()
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.env.q.now()
    }

    /// When the next event due by the end is, if any.
    fn next_time(&mut self) -> Option<SimTime> {
        self.env.q.peek_time().filter(|&t| t <= self.end)
    }

    /// The dedicated and low-priority cores this pool's nodes hold, as the
    /// account's quota counts them: every node, whatever its state.
    fn cores_held(&self) -> [u64; 2] {
        let cores = u64::from(self.env.spec().vm.cores);
        Priority::ALL.map(|p| u64::from(self.pool.nodes.total(p)) * cores)
    }

    /// This pool's jobs and job schedules active now, as the account's
    /// active-job quota counts them.
    fn active_jobs(&self) -> u32 {
        self.workload.active_jobs(&self.sched)
    }

    /// Events delivered so far (a driver's progress reports).
    pub fn events(&self) -> u64 {
        self.env.q.delivered()
    }

    /// Sends each task, once finished and every task before it too, to
    /// `records` rather than keeping it in [`Output::tasks`]: memory then
    /// follows the tasks in flight, not the history.
    pub fn send_tasks_to(mut self, records: TaskRecords) -> Simulation {
        self.sched.tasks.send_to(records);
        self
    }

    /// Sends the timeline's rows to `records` rather than keeping them
    /// all: dropped when nothing reads them (`run` without `--out`), or
    /// written as the run goes with a bounded copy kept (`run --out`), so
    /// that memory does not grow with the simulated time.
    pub fn send_timeline_to(mut self, records: TimelineRecords) -> Simulation {
        self.recorder.timeline = Timeline::new(records, samples_in(self.env.scenario.duration));
        self
    }

    /// Sends each kind of record to where `recordings` says (see
    /// [`Simulation::send_tasks_to`] and [`Simulation::send_timeline_to`];
    /// the evaluations are counted whatever becomes of them, and a bounded
    /// copy of them is kept when they go to a sink; the job task runs, when
    /// sent, are not kept).
    pub fn send_records_to(self, recordings: Recordings) -> Simulation {
        let Recordings { tasks, timeline, evaluations, job_tasks } = recordings;
        let mut sim = self.send_tasks_to(tasks).send_timeline_to(timeline);
        sim.evaluations = match &sim.autoscaler {
            Some(autoscaler) => autoscaler.evaluations(evaluations, sim.env.scenario.duration),
            None => Evaluations::new(evaluations, 0),
        };
        sim.sched.jobs.runs = records::RecordLog::new(job_tasks, 0, None);
        sim
    }

    /// Keeps every metric sample as recorded (before the visibility delay
    /// and drop-outs), for tests; see [`Simulation::samples`].
    pub fn keep_samples(&mut self) {
        self.recorder.kept.get_or_insert_with(Vec::new);
    }

    /// The samples kept since [`Simulation::keep_samples`].
    pub fn samples(&self) -> &[Sample] {
        self.recorder.kept.as_deref().unwrap_or(&[])
    }

    /// The evaluations kept so far (none for a pool with fixed targets):
    /// every one unless the run sends them elsewhere.
    pub fn evaluations(&self) -> &[EvaluationRecord] {
        self.evaluations.kept()
    }

    /// The evaluation context as the last evaluation saw it.
    pub fn eval_context(&self) -> Option<&EvalContext> {
        self.autoscaler.as_ref().map(Autoscaler::context)
    }

    /// Why the run stopped before its end, if it did: a trace changed
    /// since the scenario was loaded (see [`Output::stopped`]).
    pub fn stopped(&self) -> Option<&TraceError> {
        self.workload.failed.as_ref()
    }

    /// Delivers the next event due by the end; false when there is none.
    /// A run whose trace changed since the scenario was loaded delivers
    /// nothing more ([`Output::stopped`] says why).
    pub fn step(&mut self) -> bool {
        if self.workload.failed.is_some() {
            return false;
        }
        let Some((_, event)) = self.env.q.pop_until(self.end) else {
            return false;
        };
        let Simulation { pool, sched, env, .. } = self;
        match event {
            Event::Arrival(s) => self.workload.on_arrival(s, sched, pool, env),
            Event::Sample => {
                self.take_due_samples();
                if self.recorder.next_sample() <= self.end {
                    self.env.q.schedule(self.recorder.next_sample(), Event::Sample);
                }
            }
            Event::Evaluate => self.on_evaluate(),
            Event::Allocated(n) => pool.on_allocated(n, env),
            Event::AllocationTimedOut(n) => pool.on_allocation_timed_out(n, sched, env),
            Event::Booted(n) | Event::Restarted(n) => pool.on_booted(n, sched, env),
            Event::StartTaskEnded(n) => pool.on_start_task_ended(n, sched, env),
            Event::NodeAction(i) => pool.on_node_action(i, sched, env),
            Event::TaskEnd { node, task } => sched.task_ended(node, task, None, pool, env),
            Event::TaskTimeout { node, task } => sched.task_timed_out(node, task, pool, env),
            Event::PrepEnded { node, job, ok } => sched.on_prep_ended(node, job, ok, pool, env),
            Event::ReleaseEnded { node, job, ok } => sched.on_release_ended(node, job, ok, pool, env),
            Event::Preempt(n) => pool.on_preempt(n, sched, env),
            Event::PreemptTrace(k) => pool.on_preempt_trace(k, sched, env),
            Event::Recovered(n) => pool.on_recovered(n, env),
            Event::RetentionExpired(n) => pool.on_retention_expired(n, sched, env),
            Event::Removed(n) => pool.on_removed(n, sched, env),
            Event::DrainEnded => {
                pool.on_drain_ended(sched, env);
                self.recorder.after_targets_set(env.q.now(), pool, sched);
            }
            Event::Resize(i) => {
                pool.on_manual_resize(i, sched, env);
                self.recorder.after_targets_set(env.q.now(), pool, sched);
            }
            Event::JobTimeout(j) => sched.end_job(j, pool, env),
            Event::JobCreated(j) => self.workload.on_job_created(j, sched, pool, env),
        }
        self.workload.after_event(&self.sched);
        self.sched.settle();
        true
    }

    /// Records the samples due by now.
    fn take_due_samples(&mut self) {
        self.recorder.take_due_samples(self.env.q.now(), &self.pool, &mut self.sched);
    }

    /// Evaluates the formula now, after the samples due, applies the
    /// targets of a successful evaluation, and shows them in this
    /// instant's timeline row.
    fn on_evaluate(&mut self) {
        self.take_due_samples();
        let Some(autoscaler) = self.autoscaler.as_mut() else { return };
        let evaluated = autoscaler.evaluate(&mut self.recorder, &self.pool, &mut self.evaluations, &mut self.env);
        if let Some((target, option)) = evaluated {
            self.pool.apply_targets(target, option, &mut self.sched, &mut self.env);
        }
        self.recorder.after_targets_set(self.env.q.now(), &self.pool, &self.sched);
    }

    /// Recounts everything from scratch and compares with the incremental
    /// counters: node counts by state sum to the pool size, every task is in
    /// exactly one place, billing equals the integral of billed nodes.
    pub fn check_invariants(&self) -> Result<(), String> {
        invariants::check(&self.pool, &self.sched, self.env.q.now())
    }

    /// Closes the books at the end of the scenario — open billed periods
    /// end there — and returns the output. [`Simulation::run`] calls it;
    /// call it after driving the run with [`Simulation::step`]. What was
    /// sent to sinks comes back from [`Simulation::finish_with_records`].
    pub fn finish(self) -> Output {
        self.finish_with_records().0
    }

    /// [`Simulation::finish`], and where the records went: sinks to close.
    pub fn finish_with_records(mut self) -> (Output, Records) {
        let end = self.end;
        let nodes = &mut self.pool.nodes;
        nodes.close_billing(end);
        let time_in_state = nodes.time_in_state(end);
        let scenario = &self.env.scenario;
        let spec = self.env.spec();
        let vm = &spec.vm;
        let meters = Priority::ALL.map(|p| nodes.billing.meter(p).clone());
        let (task_tally, peak_live_tasks, records) = std::mem::take(&mut self.sched.tasks).close();
        let (tasks, records) = match records {
            TaskRecords::Keep(kept) => (kept, TaskRecords::Keep(Vec::new())),
            sent => (Vec::new(), sent),
        };
        let (timeline, timeline_sink) = self.recorder.timeline.finish();
        let (evaluation_tally, evaluations, evaluations_sink) = self.evaluations.finish();
        let (job_tasks, job_tasks_sink) = self.sched.jobs.runs.finish();
        let output = Output {
            name: scenario.name.clone(),
            pool: spec.id.clone(),
            seed: self.seed,
            start: scenario.start,
            duration: SimDuration(end.as_millis()),
            prices: [vm.dedicated_price, vm.low_priority_price],
            jobs: scenario.jobs.iter().map(|j| j.id.clone()).collect(),
            refused_jobs: refused_jobs(scenario, self.env.pool, &self.workload.refused),
            timeline,
            evaluations,
            evaluation_tally,
            tasks,
            task_tally,
            peak_live_tasks,
            job_tasks,
            resize_errors: self.pool.control.log,
            refused_operations: self.pool.refused,
            charged_seconds: meters.clone().map(|m| m.charged_seconds),
            billed: meters.map(|m| SimDuration(m.closed_ms)),
            time_in_state,
            slots_per_node: spec.task_slots_per_node,
            requeued_work: self.sched.requeued_work,
            events: self.env.q.delivered(),
            stopped: self.workload.failed,
        };
        let records = Records {
            tasks: records,
            timeline: timeline_sink,
            evaluations: evaluations_sink,
            job_tasks: job_tasks_sink,
        };
        (output, records)
    }
}
