//! The tasks in flight, by number: a window from the oldest task still in
//! the service to the newest. Tasks finished at the front leave it — to
//! the tally and to where the run sends its records — as soon as every
//! task before them has, so records go out in number order (as
//! `tasks.csv` lists them) with no sort, and memory follows the work in
//! flight rather than the history — but for the tasks set aside below.
//!
//! A task that stays long at the front (a job manager, a task no node can
//! fit) would keep every finished one behind it until it ends. Once
//! [`SET_ASIDE_AFTER`] tasks have been submitted since it reached the
//! front, it is set aside instead — still in flight, found by its number —
//! and the finished tasks behind it leave; its record goes out once it has
//! finished (within [`ASIDE_CHECK_EVERY`] events), after those of tasks
//! numbered after it, so a reader of such a run's `tasks.csv` sorts it.
//! Runs that keep their records in memory (`TaskRecords::Keep`) keep them
//! in number order, and set nothing aside.

use std::collections::{BTreeMap, VecDeque};
use std::ops::{Index, IndexMut, Range};

use super::tally::{TaskSink, TaskTally};
use super::task::Task;

/// Where finished tasks go.
#[derive(Debug)]
pub enum TaskRecords {
    /// Kept in memory for [`Output::tasks`](super::Output::tasks): tests
    /// and small runs that read them back.
    Keep(Vec<Task>),
    /// Counted, then dropped: only the tally stays (`compare`, `sweep`).
    Count,
    /// Handed to a sink, a file written as the run goes.
    Send(Box<dyn TaskSink>),
}

impl Default for TaskRecords {
    fn default() -> Self {
        TaskRecords::Keep(Vec::new())
    }
}

/// How many tasks are submitted, while one task stays unfinished at the
/// front of the window, before it is set aside: the most finished tasks it
/// holds in memory behind it (about 6 MiB of records). A queue that long
/// sets aside at most one task per this many submitted.
pub const SET_ASIDE_AFTER: u32 = 1 << 16;

/// How often, in settles, the tasks set aside are looked at for those that
/// finished: their records leave that much later, at a cost per event of
/// the tasks set aside over this.
const ASIDE_CHECK_EVERY: u32 = 1 << 12;

/// The window of tasks in flight, numbered from `first`, and the tasks in
/// flight set aside from its front.
#[derive(Debug)]
pub(crate) struct LiveTasks {
    /// The number of the window's first task.
    first: u32,
    tasks: VecDeque<Task>,
    /// Unfinished tasks numbered before `first`, by number.
    aside: BTreeMap<u32, Task>,
    /// The task at the front (by number), and the count submitted when it
    /// got there.
    front: (u32, u32),
    /// Settles since the tasks set aside were last looked at.
    settles: u32,
    /// Submissions with an unfinished task at the front before it is set aside.
    set_aside_after: u32,
    /// The most tasks in memory at once.
    peak: usize,
    tally: TaskTally,
    records: TaskRecords,
}

impl Default for LiveTasks {
    fn default() -> Self {
        LiveTasks::setting_aside_after(SET_ASIDE_AFTER)
    }
}

impl LiveTasks {
    /// An empty window whose front is set aside after `submitted` tasks
    /// (tests use a small one).
    fn setting_aside_after(submitted: u32) -> LiveTasks {
        LiveTasks {
            first: 0,
            tasks: VecDeque::new(),
            aside: BTreeMap::new(),
            front: (0, 0),
            settles: 0,
            set_aside_after: submitted,
            peak: 0,
            tally: TaskTally::default(),
            records: TaskRecords::default(),
        }
    }

    /// Sends finished tasks to `records` from now on.
    pub(crate) fn send_to(&mut self, records: TaskRecords) {
        self.records = records;
    }

    /// Adds a task; it gets the next number.
    #[inline]
    pub(crate) fn push(&mut self, task: Task) {
        self.tasks.push_back(task);
        self.peak = self.peak.max(self.tasks.len() + self.aside.len());
    }

    /// The number the next task will get: the count of tasks submitted.
    #[inline]
    pub(crate) fn next_number(&self) -> u32 {
        self.first + self.tasks.len() as u32
    }

    /// The numbers of the tasks in the window (not those set aside).
    pub(crate) fn numbers(&self) -> Range<u32> {
        self.first..self.next_number()
    }

    /// The numbers of the tasks set aside, in order: all before the window.
    pub(crate) fn aside_numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.aside.keys().copied()
    }

    /// Whether task `n` is in flight: in the window or set aside.
    pub(crate) fn contains(&self, n: u32) -> bool {
        self.numbers().contains(&n) || self.aside.contains_key(&n)
    }

    /// Task `n`, if it is still in the window or was kept when it left
    /// (a driver of real agents names the tasks it kills, which may have
    /// left the window in the event that stopped them).
    pub(crate) fn get(&self, n: u32) -> Option<&Task> {
        match (n.checked_sub(self.first), &self.records) {
            (Some(i), _) => self.tasks.get(i as usize),
            (None, TaskRecords::Keep(kept)) => kept.get(n as usize),
            (None, _) => self.aside.get(&n),
        }
    }

    /// The tasks in flight with their numbers, in number order: those set
    /// aside, then the window.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Task)> {
        self.aside.iter().map(|(&n, t)| (n, t)).chain(self.numbers().zip(&self.tasks))
    }

    /// What left the window so far.
    pub(crate) fn tally(&self) -> &TaskTally {
        &self.tally
    }

    /// Lets the finished tasks at the front leave, sets aside a front task
    /// that stayed there too long, and (every [`ASIDE_CHECK_EVERY`]
    /// settles) lets the finished tasks set aside leave; `left` is told
    /// each number that left. Called between events, never while a handler
    /// may still hold a task's number.
    #[inline]
    pub(crate) fn settle(&mut self, mut left: impl FnMut(u32)) {
        loop {
            while self.tasks.front().is_some_and(|t| t.state.is_final()) {
                left(self.first);
                self.leave_front();
            }
            if self.tasks.is_empty() || matches!(self.records, TaskRecords::Keep(_)) {
                break;
            }
            if self.front.0 != self.first {
                self.front = (self.first, self.next_number());
            }
            if self.next_number() - self.front.1 < self.set_aside_after {
                break;
            }
            if let Some(task) = self.tasks.pop_front() {
                self.aside.insert(self.first, task);
                self.first += 1;
            }
        }
        if !self.aside.is_empty() {
            self.settles += 1;
            if self.settles >= ASIDE_CHECK_EVERY {
                self.settles = 0;
                self.leave_aside(&mut left);
            }
        }
    }

    /// The finished tasks set aside leave, in number order.
    #[cold]
    fn leave_aside(&mut self, left: &mut impl FnMut(u32)) {
        let done: Vec<u32> = self.aside.iter().filter(|(_, t)| t.state.is_final()).map(|(&n, _)| n).collect();
        for n in done {
            if let Some(task) = self.aside.remove(&n) {
                left(n);
                self.leave(n, task);
            }
        }
    }

    /// Every task leaves, finished or not, at the end of the run: the
    /// tally, the peak, and the records (those set aside first, in number
    /// order, then the window).
    pub(crate) fn close(mut self) -> (TaskTally, usize, TaskRecords) {
        for (n, task) in std::mem::take(&mut self.aside) {
            self.leave(n, task);
        }
        while !self.tasks.is_empty() {
            self.leave_front();
        }
        (self.tally, self.peak, self.records)
    }

    fn leave_front(&mut self) {
        let Some(task) = self.tasks.pop_front() else { return };
        let number = self.first;
        self.first += 1;
        self.leave(number, task);
    }

    /// Task `number` leaves memory: counted, and recorded.
    fn leave(&mut self, number: u32, task: Task) {
        self.tally.add(number, &task);
        match &mut self.records {
            TaskRecords::Keep(kept) => kept.push(task),
            TaskRecords::Count => {}
            TaskRecords::Send(sink) => sink.task(number, &task),
        }
    }
}

impl Index<u32> for LiveTasks {
    type Output = Task;

    /// Task `n`: only the tasks in flight are asked for.
    #[inline(always)]
    fn index(&self, n: u32) -> &Task {
        match n.checked_sub(self.first) {
            Some(i) => &self.tasks[i as usize],
            None => aside(&self.aside, n),
        }
    }
}

impl IndexMut<u32> for LiveTasks {
    #[inline(always)]
    fn index_mut(&mut self, n: u32) -> &mut Task {
        match n.checked_sub(self.first) {
            Some(i) => &mut self.tasks[i as usize],
            None => aside_mut(&mut self.aside, n),
        }
    }
}

/// Task `n`, set aside: asked for only while it is in flight, as a task in
/// the window is.
#[cold]
fn aside(aside: &BTreeMap<u32, Task>, n: u32) -> &Task {
    &aside[&n]
}

/// [`aside`], to change.
#[cold]
fn aside_mut(aside: &mut BTreeMap<u32, Task>, n: u32) -> &mut Task {
    aside.get_mut(&n).unwrap_or_else(|| panic!("task {n} is not in flight"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::task::{TaskRole, TaskState};
    use crate::time::{SimDuration, SimTime};

    fn window(n: u32, records: TaskRecords) -> LiveTasks {
        let mut live = LiveTasks::default();
        live.send_to(records);
        for _ in 0..n {
            live.push(Task::new(0, SimTime::ZERO, SimDuration(1000), [1, 1], TaskRole::Task));
        }
        live
    }

    #[test]
    fn finished_tasks_leave_in_number_order_once_every_earlier_one_has() {
        let mut live = window(3, TaskRecords::Keep(Vec::new()));
        live[1].state = TaskState::Succeeded;
        live.settle(|_| {});
        assert_eq!((live.numbers(), live.tally().submitted()), (0..3, 0), "task 0 still runs: nothing leaves");
        live[0].state = TaskState::Blocked;
        live.settle(|_| {});
        assert_eq!((live.numbers(), live.tally().submitted()), (2..3, 2));
        assert_eq!(live.get(1).map(|t| t.state), Some(TaskState::Succeeded), "kept, so still found");
        assert_eq!(live.next_number(), 3);
        let (tally, peak, records) = live.close();
        assert_eq!((tally.count(TaskState::Active), tally.count(TaskState::Blocked), peak), (1, 1, 3));
        let TaskRecords::Keep(kept) = records else { panic!("kept") };
        assert_eq!(
            kept.iter().map(|t| t.state).collect::<Vec<_>>(),
            [TaskState::Blocked, TaskState::Succeeded, TaskState::Active]
        );
    }

    /// A sink that keeps the numbers of the tasks it is sent, in order.
    #[derive(Debug, Default)]
    struct Numbers(std::sync::Arc<std::sync::Mutex<Vec<u32>>>);

    impl TaskSink for Numbers {
        fn task(&mut self, number: u32, _: &Task) {
            self.0.lock().unwrap().push(number);
        }

        fn close(self: Box<Self>) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_task_long_at_the_front_is_set_aside_and_the_finished_ones_behind_it_leave() {
        let sent = Numbers::default();
        let numbers = std::sync::Arc::clone(&sent.0);
        let mut live = LiveTasks::setting_aside_after(4);
        live.send_to(TaskRecords::Send(Box::new(sent)));
        let task = || Task::new(0, SimTime::ZERO, SimDuration(1000), [1, 1], TaskRole::Task);
        live.push(task());
        let mut left = Vec::new();
        for n in 1..=6 {
            live.push(task());
            live[n].state = TaskState::Succeeded;
            live.settle(|n| left.push(n));
        }
        // Set aside once 4 tasks were submitted with it at the front; 1 to 6 then left.
        assert_eq!((live.numbers(), live.aside_numbers().collect::<Vec<_>>()), (7..7, vec![0]));
        assert_eq!(left, [1, 2, 3, 4, 5, 6]);
        assert!(live.contains(0) && !live.contains(1));
        assert_eq!(live.iter().map(|(n, t)| (n, t.state)).collect::<Vec<_>>(), [(0, TaskState::Active)]);
        live[0].state = TaskState::Running;
        assert_eq!(live.get(0).map(|t| t.state), Some(TaskState::Running), "found by its number");
        live[0].state = TaskState::Failed;
        let mut settles = 0;
        while live.contains(0) {
            live.settle(|n| left.push(n));
            settles += 1;
        }
        // Set aside by the settle after task 3 (4 submitted since it was at
        // the front), then looked at every ASIDE_CHECK_EVERY settles: 4 done.
        assert_eq!(settles, ASIDE_CHECK_EVERY - 4);
        assert_eq!(left, [1, 2, 3, 4, 5, 6, 0]);
        let (tally, peak, _) = live.close();
        assert_eq!((tally.count(TaskState::Succeeded), tally.count(TaskState::Failed), peak), (6, 1, 4));
        assert_eq!(*numbers.lock().unwrap(), [1, 2, 3, 4, 5, 6, 0], "its record after the later ones");
    }

    #[test]
    fn records_kept_in_memory_stay_in_number_order_and_nothing_is_set_aside() {
        let mut live = LiveTasks::setting_aside_after(2);
        for n in 0..6 {
            live.push(Task::new(0, SimTime::ZERO, SimDuration(1000), [1, 1], TaskRole::Task));
            if n > 0 {
                live[n].state = TaskState::Succeeded;
            }
            live.settle(|_| {});
        }
        assert_eq!((live.numbers(), live.aside_numbers().count()), (0..6, 0));
    }

    #[test]
    fn a_task_counted_only_is_gone_once_it_leaves() {
        let mut live = window(2, TaskRecords::Count);
        live[0].state = TaskState::Failed;
        live.settle(|_| {});
        assert!(live.get(0).is_none());
        assert_eq!(live.get(1).map(|t| t.state), Some(TaskState::Active));
        assert!(live.get(2).is_none());
    }
}
