//! Metric samples: every 30 s one value per metric, read from the pool's
//! counters (never by scanning nodes or tasks), held back for the
//! visibility delay, optionally dropped, then appended to the formula's
//! histories. The same instant's counters make one timeline row.

use std::collections::VecDeque;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::Simulation;
use super::node::NodeState;
use super::pool::{AllocationState, ResizeErrorCode};
use crate::formula::builtins::Metric;
use crate::formula::context::EvalContext;
use crate::time::{SimDuration, SimTime};

/// The service records metrics this often.
pub const SAMPLE_PERIOD: SimDuration = SimDuration::from_secs(30);

/// How many samples a span holds, both ends included. Vectors of samples
/// are allocated at this size up front: grown by doubling instead, they
/// copy themselves and fault in fresh pages several times per run, which
/// is a fifth of a short run's time and what keeps `compare`'s threads
/// waiting on each other in the kernel.
pub fn samples_in(span: SimDuration) -> usize {
    (span.as_millis() / SAMPLE_PERIOD.as_millis()) as usize + 1
}

/// One sample of every metric, with the ones dropped marked.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When it was recorded.
    pub time: SimTime,
    /// Values indexed by `Metric as usize`.
    pub values: [f64; Metric::COUNT],
    /// Bit `m` set: metric `m`'s value was dropped.
    pub dropped: u32,
}

/// The pool at one sampling instant: a row of `timeline.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// When.
    pub time: SimTime,
    /// `steady` or `resizing`.
    pub allocation_state: AllocationState,
    /// Dedicated and low-priority targets.
    pub target: [u32; 2],
    /// Nodes by priority, then state (`NodeState as usize`).
    pub nodes: [[u32; NodeState::COUNT]; 2],
    /// `$ActiveTasks`.
    pub active_tasks: u32,
    /// `$RunningTasks`.
    pub running_tasks: u32,
    /// Tasks succeeded so far.
    pub succeeded: u64,
    /// Tasks failed so far.
    pub failed: u64,
    /// `$CPUPercent`.
    pub cpu_percent: f64,
    /// Cost accrued so far.
    pub cost: f64,
    /// Resize errors on the pool.
    pub errors: Vec<ResizeErrorCode>,
}

/// Samples waiting to become visible, the per-interval counters, and the
/// timeline.
#[derive(Debug, Clone)]
pub struct Recorder {
    next_sample: SimTime,
    pending: VecDeque<Sample>,
    delay: SimDuration,
    history: SimDuration,
    drop_out: f64,
    rng: ChaCha8Rng,
    /// Tasks succeeded since the last sample.
    pub succeeded_in_interval: u32,
    /// Tasks failed since the last sample.
    pub failed_in_interval: u32,
    running: u32,
    running_integral_ms: u128,
    running_since_sample_ms: u128,
    last_change: SimTime,
    /// One row per sample.
    pub timeline: Vec<TimelineRow>,
    /// Every sample as recorded, kept only when asked (tests).
    pub kept: Option<Vec<Sample>>,
}

impl Recorder {
    /// A recorder with the scenario's delay, history length and drop-out,
    /// with room for the timeline of a run of `duration`.
    pub fn new(
        delay: SimDuration,
        history: SimDuration,
        drop_out: f64,
        rng: ChaCha8Rng,
        duration: SimDuration,
    ) -> Recorder {
        Recorder {
            next_sample: SimTime::ZERO,
            pending: VecDeque::new(),
            delay,
            history,
            drop_out,
            rng,
            succeeded_in_interval: 0,
            failed_in_interval: 0,
            running: 0,
            running_integral_ms: 0,
            running_since_sample_ms: 0,
            last_change: SimTime::ZERO,
            timeline: Vec::with_capacity(samples_in(duration)),
            kept: None,
        }
    }

    /// The number of running tasks changed at `now`: advances ∫ running dt,
    /// behind `$WallClockSeconds`.
    pub fn running_changed(&mut self, now: SimTime, running: u32) {
        self.running_integral_ms += u128::from(self.running) * u128::from(now.since(self.last_change).as_millis());
        self.running = running;
        self.last_change = now;
    }

    /// When the next sample is due.
    pub fn next_sample(&self) -> SimTime {
        self.next_sample
    }

    /// Appends to `ctx` every sample visible at `now` (recorded at least
    /// the delay ago, not dropped), and forgets what is older than the
    /// history length.
    pub fn deliver(
        &mut self,
        ctx: &mut EvalContext,
        now: SimTime,
        at: impl Fn(SimTime) -> autoscale_runtime::Timestamp,
    ) {
        while let Some(sample) = self.pending.front() {
            if sample.time + self.delay > now {
                break;
            }
            let stamp = at(sample.time);
            for (m, _, _) in Metric::ALL {
                if sample.dropped & (1 << m as u32) == 0 {
                    ctx.history_mut(m).push(stamp, sample.values[m as usize]);
                }
            }
            self.pending.pop_front();
        }
        if let Some(cutoff) = now.as_millis().checked_sub(self.history.as_millis()) {
            let cutoff = at(SimTime(cutoff));
            for (m, _, _) in Metric::ALL {
                ctx.history_mut(m).drop_before(cutoff);
            }
        }
    }
}

impl Simulation {
    /// Records the samples due by now (at most one when called at each
    /// sampling instant), so that an evaluation at the same instant as a
    /// sample always comes after it, whichever event the queue delivers
    /// first.
    pub(crate) fn take_due_samples(&mut self) {
        let now = self.q.now();
        while self.metrics.next_sample <= now {
            let time = self.metrics.next_sample;
            self.metrics.next_sample = time + SAMPLE_PERIOD;
            self.metrics.running_changed(now, self.sched.running);
            let wall_ms = self.metrics.running_integral_ms - self.metrics.running_since_sample_ms;
            self.metrics.running_since_sample_ms = self.metrics.running_integral_ms;
            let n = |states: &[NodeState]| f64::from(self.nodes.count_in(states));
            let (cpu, memory_mib) = self.nodes.usage();
            let active = f64::from(self.sched.active());
            let running = f64::from(self.sched.running);
            let mut values = [0.0; Metric::COUNT];
            values[Metric::CPUPercent as usize] = cpu;
            values[Metric::WallClockSeconds as usize] = wall_ms as f64 / 1000.0;
            values[Metric::MemoryBytes as usize] = memory_mib * 1024.0 * 1024.0;
            values[Metric::SampleNodeCount as usize] =
                n(&[NodeState::Idle, NodeState::Running, NodeState::LeavingPool, NodeState::Offline]);
            values[Metric::ActiveTasks as usize] = active;
            values[Metric::RunningTasks as usize] = running;
            values[Metric::PendingTasks as usize] = active + running;
            values[Metric::SucceededTasks as usize] = f64::from(self.metrics.succeeded_in_interval);
            values[Metric::FailedTasks as usize] = f64::from(self.metrics.failed_in_interval);
            values[Metric::PreemptedNodeCount as usize] = n(&[NodeState::Preempted]);
            values[Metric::UsableNodeCount as usize] = n(&[NodeState::Idle, NodeState::Running]);
            self.metrics.succeeded_in_interval = 0;
            self.metrics.failed_in_interval = 0;
            let mut dropped = 0;
            if self.metrics.drop_out > 0.0 {
                for (m, _, _) in Metric::ALL {
                    if self.metrics.rng.random_bool(self.metrics.drop_out) {
                        dropped |= 1 << m as u32;
                    }
                }
            }
            let sample = Sample { time, values, dropped };
            if let Some(kept) = &mut self.metrics.kept {
                kept.push(sample.clone());
            }
            // Without autoscale nothing reads the samples: keep none.
            if self.autoscale.is_some() {
                self.metrics.pending.push_back(sample);
            }
            let mut nodes = [[0; NodeState::COUNT]; 2];
            for (p, row) in nodes.iter_mut().enumerate() {
                for s in NodeState::ALL {
                    row[s as usize] = self.nodes.count(super::priority::Priority::ALL[p], s);
                }
            }
            let vm = &self.scenario.pool.vm;
            self.metrics.timeline.push(TimelineRow {
                time,
                allocation_state: self.allocation_state(),
                target: self.pool.target,
                nodes,
                active_tasks: self.sched.active(),
                running_tasks: self.sched.running,
                succeeded: self.sched.succeeded,
                failed: self.sched.failed,
                cpu_percent: cpu,
                cost: self.nodes.billing.accrued(now, [vm.dedicated_price, vm.low_priority_price]),
                errors: self.pool.errors.clone(),
            });
        }
    }
}
