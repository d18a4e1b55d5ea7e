//! Metric samples: every 30 s one value per metric, read from the pool's
//! counters (never by scanning nodes or tasks), held back for the
//! visibility delay, optionally dropped, then appended to the formula's
//! histories. The same instant's counters make one timeline row.

use std::collections::VecDeque;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::cost::cost;
use super::node::NodeState;
use super::pool::Pool;
use super::priority::Priority;
use super::scheduler::{Interval, Scheduler};
use super::timeline::{Timeline, TimelineRecords, TimelineRow};
use crate::formula::builtins::Metric;
use crate::formula::context::EvalContext;
use crate::scenario::{Scaling, Scenario};
use crate::time::{SimDuration, SimTime};

/// The service records metrics this often.
pub const SAMPLE_PERIOD: SimDuration = SimDuration::from_secs(30);

/// How many samples a span holds, both ends included. Vectors of samples
/// are allocated at this size up front: grown by doubling instead, they
/// copy themselves and fault in fresh pages several times per run, and
/// the page faults of `compare`'s threads wait on each other in the kernel
/// (measured in `docs/performance.md`).
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

/// The recorder as a component: samples waiting to become visible, and
/// the timeline.
#[derive(Debug)]
pub struct Recorder {
    next_sample: SimTime,
    pending: VecDeque<Sample>,
    delay: SimDuration,
    history: SimDuration,
    drop_out: f64,
    rng: ChaCha8Rng,
    /// Whether a formula reads the samples: without one, none is kept.
    autoscale: bool,
    /// Hourly prices, dedicated and low-priority, for the cost so far.
    prices: [f64; 2],
    /// One row per sample, kept or sent as the run asks.
    pub(crate) timeline: Timeline,
    /// Every sample as recorded, kept only when asked (tests).
    pub kept: Option<Vec<Sample>>,
}

impl Recorder {
    /// The recorder of the metrics of `scenario`'s pool number `pool`
    /// (their delay, history length and drop-out, drawn from `rng`), with
    /// room for the timeline of the whole run, every row kept.
    pub(crate) fn new(scenario: &Scenario, pool: usize, rng: ChaCha8Rng) -> Recorder {
        let spec = &scenario.pools[pool];
        let (m, vm) = (&scenario.metrics, &spec.vm);
        Recorder {
            next_sample: SimTime::ZERO,
            pending: VecDeque::new(),
            delay: m.visibility_delay,
            history: m.history,
            drop_out: m.drop_out,
            rng,
            autoscale: matches!(spec.scaling, Scaling::Autoscale(_)),
            prices: [vm.dedicated_price, vm.low_priority_price],
            timeline: Timeline::new(TimelineRecords::Keep, samples_in(scenario.duration)),
            kept: None,
        }
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

impl Recorder {
    /// Records the samples due by `now` (at most one when called at each
    /// sampling instant), so that an evaluation at the same instant as a
    /// sample always comes after it, whichever event the queue delivers
    /// first.
    pub(crate) fn take_due_samples(&mut self, now: SimTime, pool: &Pool, sched: &mut Scheduler) {
        while self.next_sample <= now {
            let time = self.next_sample;
            self.next_sample = time + SAMPLE_PERIOD;
            let counted = sched.counts.take(now, sched.running);
            let (cpu, memory_mib) = pool.nodes.usage();
            let values = self.values(pool, sched, counted, cpu, memory_mib);
            let sample = Sample { time, values, dropped: self.drop_outs() };
            if let Some(kept) = &mut self.kept {
                kept.push(sample.clone());
            }
            // Without autoscale nothing reads the samples: keep none.
            if self.autoscale {
                self.pending.push_back(sample);
            }
            self.timeline.push(self.row(time, pool, sched));
        }
    }

    /// The timeline row of `now`, read again after an evaluation, a manual
    /// resize or the end of a drain at the same instant: the row shows the
    /// targets just set and the resize they started, while the sample the
    /// formula saw was taken before.
    pub(crate) fn after_targets_set(&mut self, now: SimTime, pool: &Pool, sched: &Scheduler) {
        if self.timeline.last().is_some_and(|row| row.time == now) {
            let row = self.row(now, pool, sched);
            if let Some(last) = self.timeline.last_mut() {
                *last = row;
            }
        }
    }

    /// Ends the timeline of a run stopped before its scenario's end (real
    /// agents stop when the work is done) with a row at `now`, unless a
    /// sample was taken there: without it a run shorter than a sampling
    /// period would leave a single row, and the last row would not hold
    /// the run's cost.
    pub(crate) fn close(&mut self, now: SimTime, pool: &Pool, sched: &Scheduler) {
        if self.timeline.last().is_none_or(|row| row.time < now) {
            self.timeline.push(self.row(now, pool, sched));
        }
    }

    /// The pool at sampling instant `time` (a whole second), from the counters.
    fn row(&self, time: SimTime, pool: &Pool, sched: &Scheduler) -> TimelineRow {
        let mut nodes = [[0; NodeState::COUNT]; 2];
        for (p, row) in nodes.iter_mut().enumerate() {
            for s in NodeState::ALL {
                row[s as usize] = pool.nodes.count(Priority::ALL[p], s);
            }
        }
        let charged_seconds = pool.nodes.billing.charged_at(time.as_millis() / 1000);
        let [dedicated, low_priority] = cost(charged_seconds, self.prices);
        TimelineRow {
            time,
            allocation_state: pool.allocation_state(),
            target: pool.control.target,
            nodes,
            active_tasks: sched.active(),
            running_tasks: sched.running,
            succeeded: sched.succeeded,
            failed: sched.failed,
            cpu_percent: pool.nodes.usage().0,
            cost: dedicated + low_priority,
            charged_seconds,
            time_in_state: pool.nodes.time_in_state(time),
            errors: pool.control.errors.clone(),
        }
    }

    /// Every metric's value now, read from the counters.
    fn values(
        &self,
        pool: &Pool,
        sched: &Scheduler,
        counted: Interval,
        cpu: f64,
        memory_mib: f64,
    ) -> [f64; Metric::COUNT] {
        let n = |states: &[NodeState]| f64::from(pool.nodes.count_in(states));
        let active = f64::from(sched.active());
        let running = f64::from(sched.running);
        let mut values = [0.0; Metric::COUNT];
        values[Metric::CPUPercent as usize] = cpu;
        values[Metric::WallClockSeconds as usize] = counted.wall_ms as f64 / 1000.0;
        values[Metric::MemoryBytes as usize] = memory_mib * 1024.0 * 1024.0;
        values[Metric::SampleNodeCount as usize] =
            n(&[NodeState::Idle, NodeState::Running, NodeState::LeavingPool, NodeState::Offline]);
        values[Metric::ActiveTasks as usize] = active;
        values[Metric::RunningTasks as usize] = running;
        values[Metric::PendingTasks as usize] = active + running;
        values[Metric::SucceededTasks as usize] = f64::from(counted.succeeded);
        values[Metric::FailedTasks as usize] = f64::from(counted.failed);
        values[Metric::PreemptedNodeCount as usize] = n(&[NodeState::Preempted]);
        values[Metric::UsableNodeCount as usize] = n(&[NodeState::Idle, NodeState::Running]);
        values
    }

    /// The metrics whose sample is dropped this time, as bits.
    fn drop_outs(&mut self) -> u32 {
        let mut dropped = 0;
        if self.drop_out > 0.0 {
            for (m, _, _) in Metric::ALL {
                if self.rng.random_bool(self.drop_out) {
                    dropped |= 1 << m as u32;
                }
            }
        }
        dropped
    }
}
