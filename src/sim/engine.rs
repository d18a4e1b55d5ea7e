//! The deterministic discrete-event core: integer virtual time, an event
//! queue that is FIFO at equal times, cancellable timers and one seeded
//! random stream per concern.
//!
//! Nothing here knows about pools or tasks; the service model in the
//! sibling modules pushes its own event type through [`Queue`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fmt;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// An instant of simulated time, in milliseconds since the scenario's start.
///
/// Integer time keeps runs exact and reproducible: adding 30 s a hundred
/// thousand times lands exactly on the same instant on every machine,
/// which floating-point seconds would not. Milliseconds are finer than
/// anything the service reports (its timestamps print milliseconds) and a
/// `u64` of them spans 584 million years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

/// A length of simulated time, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The scenario's first instant.
    pub const ZERO: SimTime = SimTime(0);

    /// Milliseconds since the start.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<SimDuration> for SimTime {
    type Output = SimTime;

    /// Saturates rather than wraps: a time past the end of `u64` is simply
    /// never reached.
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl std::ops::AddAssign for SimDuration {
    /// Saturates, as time does.
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// `s` whole seconds.
    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s.saturating_mul(1000))
    }

    /// `m` whole minutes.
    pub const fn from_mins(m: u64) -> SimDuration {
        SimDuration::from_secs(m.saturating_mul(60))
    }

    /// `h` whole hours.
    pub const fn from_hours(h: u64) -> SimDuration {
        SimDuration::from_mins(h.saturating_mul(60))
    }

    /// Milliseconds.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// Seconds, for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Whole seconds, rounded up: the unit the service bills in.
    pub fn ceil_secs(self) -> u64 {
        self.0.div_ceil(1000)
    }

    /// From a std duration, truncated to the millisecond.
    pub fn from_std(d: std::time::Duration) -> SimDuration {
        SimDuration(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// As a std duration, for `humantime` rendering.
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

/// `1h 30m`, `15m`, `250ms`: humantime's rendering.
impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.to_std()))
    }
}

/// Elapsed time since the start, as a duration.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", SimDuration(self.0))
    }
}

/// The wall-clock instant of simulated time `t` when time zero is `start`
/// (saturating at the year 9999).
pub fn wall_clock(start: autoscale_runtime::Timestamp, t: SimTime) -> autoscale_runtime::Timestamp {
    const TICKS_PER_MS: i64 = 10_000;
    let ticks = i64::try_from(t.0).unwrap_or(i64::MAX).saturating_mul(TICKS_PER_MS);
    start.checked_add(autoscale_runtime::Interval(ticks)).unwrap_or(start)
}

/// A handle on a scheduled event, to cancel it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(u64);

/// One queued event. Ordered by `(time, seq)` only; the payload never takes
/// part in the order, so it needs no `Ord`.
#[derive(Debug)]
struct Entry<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// The pending events, earliest first.
///
/// A binary min-heap keyed by `(time, sequence number)`. The sequence
/// number, taken from a counter at insertion, makes events due at the same
/// instant come out in the order they were scheduled (FIFO). Without it the
/// heap would order equal times arbitrarily — by its internal layout, which
/// depends on everything pushed before — and a task that arrives at the
/// same millisecond as a node becomes idle could start on one run and wait
/// on the next. With it, a run is a pure function of the scenario and the
/// seed.
///
/// Cancelling marks the event's id in a set; the entry stays in the heap
/// and is discarded when it reaches the front. Cancellation is rare next
/// to scheduling (a requeued task, a node removed before its timer), so a
/// lazy delete is cheaper than a heap that supports removal.
#[derive(Debug)]
pub struct Queue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    cancelled: HashSet<u64>,
    next_seq: u64,
    now: SimTime,
    popped: u64,
}

impl<E> Default for Queue<E> {
    fn default() -> Self {
        Queue { heap: BinaryHeap::new(), cancelled: HashSet::new(), next_seq: 0, now: SimTime::ZERO, popped: 0 }
    }
}

impl<E> Queue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Queue<E> {
        Queue::default()
    }

    /// The current virtual time: that of the last event popped.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events delivered so far (cancelled ones not included).
    pub fn delivered(&self) -> u64 {
        self.popped
    }

    /// Events waiting, cancelled ones included until they surface.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.len() == self.cancelled.len()
    }

    /// Schedules `event` at `time`. A time in the past is moved to now: the
    /// clock never runs backwards.
    pub fn schedule(&mut self, time: SimTime, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry { time: time.max(self.now), seq, event }));
        EventId(seq)
    }

    /// Schedules `event` `delay` from now.
    pub fn schedule_in(&mut self, delay: SimDuration, event: E) -> EventId {
        self.schedule(self.now + delay, event)
    }

    /// Cancels a scheduled event. Cancelling an event that already ran or
    /// was already cancelled is a logic error of the caller; it is caught
    /// in debug builds.
    pub fn cancel(&mut self, id: EventId) {
        debug_assert!(id.0 < self.next_seq, "cancelling an event never scheduled");
        let fresh = self.cancelled.insert(id.0);
        debug_assert!(fresh, "event cancelled twice");
    }

    /// The time of the next live event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.skip_cancelled();
        self.heap.peek().map(|Reverse(e)| e.time)
    }

    /// Removes the next live event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.skip_cancelled();
        let Reverse(entry) = self.heap.pop()?;
        self.now = entry.time;
        self.popped += 1;
        Some((entry.time, entry.event))
    }

    /// Moves the clock to `t` with no event (real agents report between
    /// events); the clock never runs backwards.
    pub fn advance_to(&mut self, t: SimTime) {
        self.now = self.now.max(t);
    }

    /// Removes the next live event if it is due at or before `limit`.
    pub fn pop_until(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        match self.peek_time() {
            Some(t) if t <= limit => self.pop(),
            _ => None,
        }
    }

    fn skip_cancelled(&mut self) {
        if self.cancelled.is_empty() {
            return;
        }
        while let Some(Reverse(front)) = self.heap.peek() {
            if !self.cancelled.remove(&front.seq) {
                break;
            }
            self.heap.pop();
        }
    }
}

/// What a random stream is used for. Each concern draws from its own
/// stream, so a scenario change that consumes more numbers in one concern
/// (say, turning preemption on) leaves every other concern's numbers —
/// arrivals, durations, allocation times — exactly as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    /// Node allocation times.
    Allocation,
    /// Node boot times.
    Boot,
    /// Node removal times.
    Removal,
    /// Low-priority preemptions: when, and which nodes for a trace.
    Preemption,
    /// How long a preempted node stays away.
    Recovery,
    /// Which metric samples are dropped.
    Metrics,
    /// The seed each evaluation gives the formula's `rand()`.
    Formula,
    /// Task arrivals of workload source `n`.
    Arrivals(u32),
    /// Task durations of workload source `n`.
    Durations(u32),
    /// Task failures of job `n`.
    Failures(u32),
    /// Start task durations and failures.
    StartTask,
    /// Reboot and reimage durations.
    NodeActions,
    /// Job preparation task durations.
    Preparation,
    /// Job manager and job release task runs.
    JobTasks,
}

impl Concern {
    /// The stream number: fixed forever per concern, since changing one
    /// would change every run's output.
    fn stream(self) -> u64 {
        const SOURCES: u64 = 1 << 32;
        match self {
            Concern::Allocation => 1,
            Concern::Boot => 2,
            Concern::Removal => 3,
            Concern::Preemption => 4,
            Concern::Recovery => 5,
            Concern::Metrics => 6,
            Concern::Formula => 7,
            Concern::StartTask => 8,
            Concern::NodeActions => 9,
            Concern::Preparation => 10,
            Concern::JobTasks => 11,
            Concern::Arrivals(n) => SOURCES + u64::from(n),
            Concern::Durations(n) => 2 * SOURCES + u64::from(n),
            Concern::Failures(n) => 3 * SOURCES + u64::from(n),
        }
    }
}

/// The random stream for `concern` under the scenario seed `seed`: the
/// same ChaCha8 key for every concern, and the concern as ChaCha's stream
/// number, which gives independent sequences by construction.
pub fn rng(seed: u64, concern: Concern) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(concern.stream());
    rng
}

#[cfg(test)]
mod tests {
    use rand::RngExt;

    use super::*;

    #[test]
    fn events_come_out_by_time_then_insertion_order() {
        let mut q = Queue::new();
        q.schedule(SimTime(20), "c");
        q.schedule(SimTime(10), "a");
        q.schedule(SimTime(20), "d");
        q.schedule(SimTime(10), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, [(SimTime(10), "a"), (SimTime(10), "b"), (SimTime(20), "c"), (SimTime(20), "d")]);
        assert_eq!(q.now(), SimTime(20));
        assert_eq!(q.delivered(), 4);
    }

    #[test]
    fn cancelled_events_never_surface() {
        let mut q = Queue::new();
        let a = q.schedule(SimTime(5), 'a');
        q.schedule(SimTime(6), 'b');
        let c = q.schedule(SimTime(7), 'c');
        q.cancel(a);
        q.cancel(c);
        assert!(!q.is_empty());
        assert_eq!(q.peek_time(), Some(SimTime(6)));
        assert_eq!(q.pop(), Some((SimTime(6), 'b')));
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
        assert_eq!(q.delivered(), 1);
    }

    #[test]
    fn the_clock_never_runs_backwards() {
        let mut q = Queue::new();
        q.schedule(SimTime(100), 1);
        assert_eq!(q.pop(), Some((SimTime(100), 1)));
        q.schedule(SimTime(50), 2);
        q.schedule_in(SimDuration(5), 3);
        assert_eq!(q.pop_until(SimTime(99)), None);
        assert_eq!(q.pop_until(SimTime(100)), Some((SimTime(100), 2)));
        assert_eq!(q.pop_until(SimTime(200)), Some((SimTime(105), 3)));
    }

    #[test]
    fn streams_are_reproducible_and_independent() {
        let draw = |seed, c| -> Vec<u64> {
            let mut r = rng(seed, c);
            (0..4).map(|_| r.random()).collect()
        };
        assert_eq!(draw(7, Concern::Arrivals(0)), draw(7, Concern::Arrivals(0)));
        assert_ne!(draw(7, Concern::Arrivals(0)), draw(7, Concern::Arrivals(1)));
        assert_ne!(draw(7, Concern::Arrivals(0)), draw(8, Concern::Arrivals(0)));
        assert_ne!(draw(7, Concern::Allocation), draw(7, Concern::Boot));
    }

    #[test]
    fn durations_convert_and_round_up_to_billing_seconds() {
        assert_eq!(SimDuration::from_hours(1), SimDuration(3_600_000));
        assert_eq!(SimDuration(1_001).ceil_secs(), 2);
        assert_eq!(SimDuration(1_000).ceil_secs(), 1);
        assert_eq!(SimTime(5).since(SimTime(9)), SimDuration::ZERO);
        assert_eq!(SimTime(u64::MAX) + SimDuration(1), SimTime(u64::MAX));
        assert_eq!(SimDuration::from_mins(90).to_string(), "1h 30m");
    }
}
