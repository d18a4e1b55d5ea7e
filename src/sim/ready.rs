//! The ready queue: active tasks waiting for a node, and the order in
//! which the scheduler offers them free slots.
//!
//! 1. Job managers restarting after a failure, first of all: the service
//!    gives a job manager that must restart the highest priority.
//! 2. Then the highest job priority level with a task waiting. Within a
//!    level the jobs take turns (round robin): a free slot goes to the
//!    first job after the last one served, in job order, wrapping around,
//!    so that jobs of the same priority have an equal chance and none can
//!    starve another.
//! 3. Within a job, task number order: first in, first out, and a requeued
//!    task goes back to its original place. A job manager, submitted when
//!    its job is created, is its job's first task — it goes ahead of its
//!    own job's tasks only.
//!
//! A job whose next task finds no room is passed over for the rest of a
//! scheduling pass (see [`ReadyQueue::head`]), so it does not block the
//! other jobs of its level; lower levels wait, which keeps priorities
//! strict.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// One job's waiting tasks, lowest task number first.
///
/// Numbers mostly arrive in order: a job's new tasks have ever larger
/// numbers. Those wait in a FIFO whose head comes off in a few
/// instructions; the others (a requeued task, a released dependent) wait
/// in a binary heap. The head is the smaller of the two heads. A task
/// waits once, so the order is that of one heap holding them all.
#[derive(Debug, Clone, Default)]
struct TaskQueue {
    /// Task numbers in increasing order.
    fifo: VecDeque<u32>,
    /// Task numbers that came out of order.
    heap: BinaryHeap<Reverse<u32>>,
}

impl TaskQueue {
    fn push(&mut self, task: u32) {
        if self.fifo.back().is_none_or(|&last| task > last) {
            self.fifo.push_back(task);
        } else {
            self.heap.push(Reverse(task));
        }
    }

    fn peek(&self) -> Option<u32> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&f), Some(&Reverse(h))) => Some(f.min(h)),
            (f, h) => f.copied().or(h.map(|r| r.0)),
        }
    }

    fn pop(&mut self) -> Option<u32> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&f), Some(&Reverse(h))) if h < f => self.heap.pop().map(|r| r.0),
            (Some(_), _) => self.fifo.pop_front(),
            (None, _) => self.heap.pop().map(|r| r.0),
        }
    }

    fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.fifo.iter().copied().chain(self.heap.iter().map(|r| r.0))
    }

    fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        self.fifo.retain(|&t| keep(t));
        self.heap.retain(|&Reverse(t)| keep(t));
    }
}

/// The jobs of one priority, and whose turn is next.
#[derive(Debug, Clone)]
struct Level {
    /// Its jobs, in job order.
    jobs: Vec<u32>,
    /// Their waiting tasks, by position in `jobs`.
    queues: Vec<TaskQueue>,
    /// Tasks waiting in the level.
    waiting: usize,
    /// Position of the job served last: the next turn is the one after.
    last: usize,
}

/// Where a job's tasks wait: its level and its position in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seat {
    level: u32,
    pos: u32,
}

/// The task whose turn it is, and where it waits: its job's seat, or
/// none for a restarting job manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// The task.
    pub(crate) task: u32,
    seat: Option<Seat>,
}

impl Head {
    /// Whether it is a restarting job manager's turn, above every level.
    pub(crate) fn is_restart(self) -> bool {
        self.seat.is_none()
    }
}

/// The active tasks waiting for a node, in the order described above.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadyQueue {
    /// Job managers restarting after a failure.
    restarts: TaskQueue,
    /// The priority levels, highest first.
    levels: Vec<Level>,
    /// Each job's seat, by job index.
    seats: Vec<Seat>,
    /// Tasks waiting, in all.
    len: usize,
}

impl ReadyQueue {
    /// An empty queue for jobs of `priorities` (by job index).
    pub(crate) fn new(priorities: &[i16]) -> ReadyQueue {
        let mut distinct: Vec<i16> = priorities.to_vec();
        distinct.sort_unstable_by_key(|&p| Reverse(p));
        distinct.dedup();
        let mut levels: Vec<Level> = distinct
            .iter()
            .map(|_| Level { jobs: Vec::new(), queues: Vec::new(), waiting: 0, last: usize::MAX })
            .collect();
        let mut seats = Vec::with_capacity(priorities.len());
        for (job, p) in priorities.iter().enumerate() {
            let level = distinct.iter().position(|d| d == p).unwrap_or_default();
            let l = &mut levels[level];
            seats.push(Seat { level: level as u32, pos: l.jobs.len() as u32 });
            l.jobs.push(job as u32);
            l.queues.push(TaskQueue::default());
        }
        // The first turn of each level goes to its first job.
        for l in &mut levels {
            l.last = l.jobs.len() - 1;
        }
        ReadyQueue { levels, seats, ..ReadyQueue::default() }
    }

    /// Queues task `task` of job `job` in its job's place.
    #[inline]
    pub(crate) fn push(&mut self, task: u32, job: u32) {
        let Some(&Seat { level, pos }) = self.seats.get(job as usize) else {
            debug_assert!(false, "task {task} of job {job}, which has no place in the queue");
            return;
        };
        let l = &mut self.levels[level as usize];
        l.queues[pos as usize].push(task);
        l.waiting += 1;
        self.len += 1;
    }

    /// Queues job manager `task`, restarting after a failure, above
    /// every level.
    pub(crate) fn push_restart(&mut self, task: u32) {
        self.restarts.push(task);
        self.len += 1;
    }

    /// The task whose turn it is, passing over the jobs in `passed` (whose
    /// next task found no room in this pass): a restarting job manager,
    /// else the next turn of the highest level with tasks waiting. None
    /// when nothing waits, or every job of that level is passed over —
    /// lower levels wait for it.
    #[inline]
    pub(crate) fn head(&self, passed: &[u32]) -> Option<Head> {
        if let Some(task) = self.restarts.peek() {
            return Some(Head { task, seat: None });
        }
        let level = self.levels.iter().position(|l| l.waiting > 0)?;
        let l = &self.levels[level];
        let mut pos = l.last;
        for _ in 0..l.jobs.len() {
            pos = if pos + 1 == l.jobs.len() { 0 } else { pos + 1 };
            if let Some(task) = l.queues[pos].peek()
                && !passed.contains(&l.jobs[pos])
            {
                return Some(Head { task, seat: Some(Seat { level: level as u32, pos: pos as u32 }) });
            }
        }
        None
    }

    /// Whether `head`'s job is the only one of its level with tasks
    /// waiting: passing it over leaves nothing else to try.
    #[inline]
    pub(crate) fn alone(&self, head: Head) -> bool {
        head.seat.is_none_or(|Seat { level, pos }| {
            let l = &self.levels[level as usize];
            l.waiting == l.queues[pos as usize].len()
        })
    }

    /// Takes `head` (from [`ReadyQueue::head`], nothing pushed or taken
    /// since) off the queue; `served` gives its job its turn, so the next
    /// turn of its level goes to the job after it. A task set aside is
    /// taken without being served.
    #[inline]
    pub(crate) fn take(&mut self, head: Head, served: bool) {
        let taken = match head.seat {
            None => self.restarts.pop(),
            Some(Seat { level, pos }) => {
                let l = &mut self.levels[level as usize];
                l.waiting -= 1;
                if served {
                    l.last = pos as usize;
                }
                l.queues[pos as usize].pop()
            }
        };
        debug_assert_eq!(taken, Some(head.task));
        self.len -= 1;
    }

    /// Tasks waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether none waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every waiting task with its job (none for a restarting job
    /// manager), in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, Option<u32>)> + '_ {
        let jobs = self
            .levels
            .iter()
            .flat_map(|l| l.jobs.iter().zip(&l.queues).flat_map(|(&job, q)| q.iter().map(move |t| (t, Some(job)))));
        self.restarts.iter().map(|t| (t, None)).chain(jobs)
    }

    /// Keeps only the tasks for which `keep` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        self.restarts.retain(&mut keep);
        let mut len = self.restarts.len();
        for l in &mut self.levels {
            for q in &mut l.queues {
                q.retain(&mut keep);
            }
            l.waiting = l.queues.iter().map(TaskQueue::len).sum();
            len += l.waiting;
        }
        self.len = len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes every task in turn, none passed over.
    fn drain(ready: &mut ReadyQueue) -> Vec<u32> {
        std::iter::from_fn(|| {
            let head = ready.head(&[])?;
            ready.take(head, true);
            Some(head.task)
        })
        .collect()
    }

    #[test]
    fn a_jobs_tasks_come_out_in_number_order_whatever_their_arrival() {
        let mut q = TaskQueue::default();
        let mut heap = BinaryHeap::new();
        for (i, task) in [1, 2, 5, 3, 9, 10, 4, 7, 11].into_iter().enumerate() {
            q.push(task);
            heap.push(Reverse(task));
            if i % 3 == 2 {
                assert_eq!(q.pop(), heap.pop().map(|r| r.0));
            }
            assert_eq!(q.peek(), heap.peek().map(|r| r.0));
        }
        q.retain(|t| t != 10);
        heap.retain(|&Reverse(t)| t != 10);
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(rest, heap.into_sorted_vec().into_iter().rev().map(|r| r.0).collect::<Vec<_>>());
    }

    #[test]
    fn jobs_of_one_level_take_turns_and_higher_levels_go_first() {
        // Jobs 0 and 2 at priority 0, job 1 at 5; job 3 at 0 with nothing.
        let mut ready = ReadyQueue::new(&[0, 5, 0, 0]);
        for task in 0..4 {
            ready.push(task, 0);
        }
        ready.push(4, 2);
        ready.push(5, 2);
        ready.push(6, 1);
        ready.push_restart(7);
        assert_eq!(ready.len(), 8);
        assert_eq!(drain(&mut ready), [7, 6, 0, 4, 1, 5, 2, 3]);
        assert!(ready.is_empty());
    }

    #[test]
    fn a_job_passed_over_lets_the_others_of_its_level_go_but_not_lower_levels() {
        let mut ready = ReadyQueue::new(&[0, 0, -1]);
        ready.push(0, 0);
        ready.push(1, 1);
        ready.push(2, 2);
        let head = ready.head(&[0]).unwrap();
        assert_eq!(head.task, 1);
        assert!(!ready.alone(head), "job 0 waits in the same level");
        ready.take(head, true);
        assert!(ready.alone(ready.head(&[]).unwrap()), "only job 0 waits at its level now");
        assert_eq!(ready.head(&[0]), None, "the lower level waits");
        // Job 1 was served last: job 0's turn comes next.
        assert_eq!(ready.head(&[]).map(|h| h.task), Some(0));
    }

    #[test]
    fn a_task_set_aside_takes_no_turn() {
        let mut ready = ReadyQueue::new(&[0, 0]);
        for (task, job) in [(0, 0), (1, 0), (2, 1), (3, 1)] {
            ready.push(task, job);
        }
        let head = ready.head(&[]).unwrap();
        ready.take(head, false);
        assert_eq!(drain(&mut ready), [1, 2, 3]);
    }

    #[test]
    fn retain_and_iter_see_every_task() {
        let mut ready = ReadyQueue::new(&[0, 0]);
        for (task, job) in [(0, 0), (1, 1), (2, 0)] {
            ready.push(task, job);
        }
        ready.push_restart(3);
        let mut all: Vec<_> = ready.iter().collect();
        all.sort_unstable();
        assert_eq!(all, [(0, Some(0)), (1, Some(1)), (2, Some(0)), (3, None)]);
        ready.retain(|t| t % 2 == 1);
        assert_eq!(ready.len(), 2);
        assert_eq!(drain(&mut ready), [3, 1]);
    }
}
