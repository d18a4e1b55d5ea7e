//! The tasks in flight, by number: a window from the oldest task still in
//! the service to the newest. Tasks finished at the front leave it — to
//! the tally and to where the run sends its records — as soon as every
//! task before them has, so records go out in number order (as
//! `tasks.csv` lists them) with no sort, and memory follows the work in
//! flight rather than the history.
//!
//! The window holds from the oldest unfinished task on: a task that stays
//! long (a job manager, a task no node can fit) keeps the finished ones
//! behind it until it ends.

use std::collections::VecDeque;
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

/// The window of tasks in flight, numbered from `first`.
#[derive(Debug, Default)]
pub(crate) struct LiveTasks {
    /// The number of the window's first task.
    first: u32,
    tasks: VecDeque<Task>,
    /// The longest the window has been.
    peak: usize,
    tally: TaskTally,
    records: TaskRecords,
}

impl LiveTasks {
    /// Sends finished tasks to `records` from now on.
    pub(crate) fn send_to(&mut self, records: TaskRecords) {
        self.records = records;
    }

    /// Adds a task; it gets the next number.
    #[inline]
    pub(crate) fn push(&mut self, task: Task) {
        self.tasks.push_back(task);
        self.peak = self.peak.max(self.tasks.len());
    }

    /// The number the next task will get: the count of tasks submitted.
    #[inline]
    pub(crate) fn next_number(&self) -> u32 {
        self.first + self.tasks.len() as u32
    }

    /// The numbers of the tasks in the window.
    pub(crate) fn numbers(&self) -> Range<u32> {
        self.first..self.next_number()
    }

    /// Task `n`, if it is still in the window or was kept when it left
    /// (a driver of real agents names the tasks it kills, which may have
    /// left the window in the event that stopped them).
    pub(crate) fn get(&self, n: u32) -> Option<&Task> {
        match (n.checked_sub(self.first), &self.records) {
            (Some(i), _) => self.tasks.get(i as usize),
            (None, TaskRecords::Keep(kept)) => kept.get(n as usize),
            (None, _) => None,
        }
    }

    /// The tasks in the window with their numbers.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Task)> {
        self.numbers().zip(&self.tasks)
    }

    /// What left the window so far.
    pub(crate) fn tally(&self) -> &TaskTally {
        &self.tally
    }

    /// Lets the finished tasks at the front leave. Called between events,
    /// never while a handler may still hold a task's number.
    #[inline]
    pub(crate) fn settle(&mut self) {
        while self.tasks.front().is_some_and(|t| t.state.is_final()) {
            self.leave_front();
        }
    }

    /// Every task leaves, finished or not, at the end of the run: the
    /// tally, the peak, and the records.
    pub(crate) fn close(mut self) -> (TaskTally, usize, TaskRecords) {
        while !self.tasks.is_empty() {
            self.leave_front();
        }
        (self.tally, self.peak, self.records)
    }

    fn leave_front(&mut self) {
        let Some(task) = self.tasks.pop_front() else { return };
        let number = self.first;
        self.first += 1;
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
        &self.tasks[(n - self.first) as usize]
    }
}

impl IndexMut<u32> for LiveTasks {
    #[inline(always)]
    fn index_mut(&mut self, n: u32) -> &mut Task {
        &mut self.tasks[(n - self.first) as usize]
    }
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
        live.settle();
        assert_eq!((live.numbers(), live.tally().submitted()), (0..3, 0), "task 0 still runs: nothing leaves");
        live[0].state = TaskState::Blocked;
        live.settle();
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

    #[test]
    fn a_task_counted_only_is_gone_once_it_leaves() {
        let mut live = window(2, TaskRecords::Count);
        live[0].state = TaskState::Failed;
        live.settle();
        assert!(live.get(0).is_none());
        assert_eq!(live.get(1).map(|t| t.state), Some(TaskState::Active));
        assert!(live.get(2).is_none());
    }
}
