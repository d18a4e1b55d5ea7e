//! What the reports need of the tasks once they have left memory: counts
//! by state, the queue waits, the latest end, and the slowest few — all
//! in a size that does not grow with the run.

use super::task::{Task, TaskState};
use super::waits::WaitStats;
use crate::time::SimTime;

/// How many of the slowest tasks are kept (the run report lists them).
pub const SLOWEST: usize = 10;

/// Where a finished task goes as soon as it leaves the scheduler, in task
/// number order but for the tasks set aside (see `live_tasks`), which come
/// after the later ones that left before them (`tasks.csv` is written
/// through one as the run goes).
/// Infallible for the engine: a writer keeps its first error and reports it
/// when it is closed.
pub trait TaskSink: std::fmt::Debug + Send {
    /// Task number `number`, in its last state.
    fn task(&mut self, number: u32, task: &Task);

    /// The run is over: finish the records (a file is flushed and takes
    /// its name), or report the first error met on the way.
    fn close(self: Box<Self>) -> std::io::Result<()>;
}

/// The tasks of a run, counted as they leave memory.
#[derive(Debug, Clone, Default)]
pub struct TaskTally {
    by_state: [u64; TaskState::COUNT],
    waits: WaitStats,
    latest_end: Option<SimTime>,
    /// The slowest tasks that ended: (submission to end in ms, number,
    /// task), the slowest first, ties in number order.
    slowest_ended: Vec<(u64, u32, Task)>,
    /// The earliest-submitted tasks that never ended (blocked, or still
    /// in the service at the end): they count to the run's end, which a
    /// driver may move, so their time is taken only when asked.
    slowest_open: Vec<(SimTime, u32, Task)>,
}

impl TaskTally {
    /// Counts task `number`, in its last state.
    pub(crate) fn add(&mut self, number: u32, task: &Task) {
        self.by_state[task.state as usize] += 1;
        if let Some(start) = task.first_start() {
            self.waits.record(start.since(task.submit).as_millis());
        }
        match task.end() {
            Some(end) => {
                self.latest_end = self.latest_end.max(Some(end));
                let took = end.since(task.submit).as_millis();
                keep_top(&mut self.slowest_ended, (took, number, task), |t, n| (std::cmp::Reverse(t), n));
            }
            None => keep_top(&mut self.slowest_open, (task.submit, number, task), |s, n| (s, n)),
        }
    }

    /// Tasks submitted.
    pub fn submitted(&self) -> u64 {
        self.by_state.iter().sum()
    }

    /// Tasks in `state` at the end.
    pub fn count(&self, state: TaskState) -> u64 {
        self.by_state[state as usize]
    }

    /// The queue waits of the tasks that started.
    pub fn waits(&self) -> &WaitStats {
        &self.waits
    }

    /// The latest end of a task, if any ended.
    pub fn latest_end(&self) -> Option<SimTime> {
        self.latest_end
    }

    /// The [`SLOWEST`] tasks longest from submission to their end (or to
    /// `run_end`, for those that never ended), the longest first, ties in
    /// number order: (number, task, ms).
    pub fn slowest(&self, run_end: SimTime) -> Vec<(u32, &Task, u64)> {
        let ended = self.slowest_ended.iter().map(|(took, n, t)| (*n, t, *took));
        let open = self.slowest_open.iter().map(|(submit, n, t)| (*n, t, run_end.since(*submit).as_millis()));
        let mut all: Vec<_> = ended.chain(open).collect();
        all.sort_by_key(|&(n, _, took)| (std::cmp::Reverse(took), n));
        all.truncate(SLOWEST);
        all
    }
}

/// Adds task `n` to `top` (sorted by `key` of its (measure, number), at
/// most [`SLOWEST`] long) if it ranks among the first; it is cloned only then.
fn keep_top<K: Ord, X: Copy>(top: &mut Vec<(X, u32, Task)>, (x, n, task): (X, u32, &Task), key: impl Fn(X, u32) -> K) {
    let k = key(x, n);
    if top.len() == SLOWEST && top.last().is_some_and(|&(lx, ln, _)| key(lx, ln) <= k) {
        return;
    }
    let at = top.partition_point(|&(ex, en, _)| key(ex, en) <= k);
    top.insert(at, (x, n, task.clone()));
    top.truncate(SLOWEST);
}
