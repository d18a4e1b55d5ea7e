//! Tasks as records: where each is in its life, what it needs, how its
//! runs went, and the runs of job preparation and release tasks — the
//! data the scheduler, its job rules and the reports share.

use nonmax::{NonMaxU32, NonMaxU64};

use crate::time::{SimDuration, SimTime};

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a node.
    Active,
    /// On a node, where its job's preparation task runs first.
    Preparing,
    /// On a node.
    Running,
    /// Finished with exit code 0.
    Succeeded,
    /// Finished failed: retries used up, or terminated by a shrink.
    Failed,
    /// Waiting for dependencies to succeed; not in `$ActiveTasks`.
    Waiting,
    /// A dependency failed: never runs.
    Blocked,
    /// Its job ended (`max_wall_clock_time`) before it ran to the end,
    /// while it was not running.
    Terminated,
}

impl TaskState {
    /// How many states there are (the states as indices: `state as usize`).
    pub const COUNT: usize = 8;

    /// Whether a task in this state is done with for good: nothing
    /// changes it any more.
    pub fn is_final(self) -> bool {
        matches!(self, TaskState::Succeeded | TaskState::Failed | TaskState::Blocked | TaskState::Terminated)
    }

    /// As in `tasks.csv`.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Active => "active",
            TaskState::Preparing => "preparing",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Waiting => "waiting",
            TaskState::Blocked => "blocked",
            TaskState::Terminated => "terminated",
        }
    }
}

/// One task.
///
/// Every task in flight is one of these, and a long run keeps hundreds of
/// thousands in flight at once, so its size is the engine's memory per
/// live task: the optional instants and node id are kept in their
/// values' niches (`Option<NonMaxU64>` takes 8 bytes where
/// `Option<SimTime>` takes 16), read through [`Task::first_start`],
/// [`Task::end`] and [`Task::node`]. 64 bytes in all, 88 before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Index of its job in the scenario.
    pub job: u32,
    /// Submission time.
    pub submit: SimTime,
    /// Run time of each attempt.
    pub duration: SimDuration,
    /// First start, for the queue wait (see [`Task::first_start`]).
    first_start: Option<NonMaxU64>,
    /// Completion (see [`Task::end`]).
    end: Option<NonMaxU64>,
    /// Id of the last node it ran on (see [`Task::node`]).
    node: Option<NonMaxU32>,
    /// Starts, requeues included.
    pub attempts: u16,
    /// Failed runs (requeues by shrink or preemption are not failures).
    pub failures: u16,
    /// Slots it needs.
    pub slots: u32,
    /// Nodes it runs on at once (multi-instance when above 1).
    pub instances: u32,
    /// Where it is.
    pub state: TaskState,
    /// The exit code of its last run that ended on its own, or
    /// [`TASK_ENDED_EXIT_CODE`] when the service ended it.
    pub exit_code: Option<i32>,
    /// Why it completed as failed.
    pub failure: Option<TaskFailure>,
    /// A job's ordinary task, or its job manager.
    pub role: TaskRole,
}

/// The exit code of a task the service ends: `0xC000013A` as a signed
/// 32-bit value.
pub const TASK_ENDED_EXIT_CODE: i32 = 0xC000_013A_u32 as i32;

/// Why a task completed as failed: the code of the service's task failure
/// information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFailure {
    /// Its last run exited with a non-zero code, and no retry was left
    /// (category `UserError`).
    FailureExitCode,
    /// The service ended it while it ran — a wall-clock limit (its own or
    /// its job's), its job's end, or the `terminate` deallocation option
    /// (category `ServerError`); its exit code is [`TASK_ENDED_EXIT_CODE`].
    TaskEnded,
}

impl TaskFailure {
    /// As in `tasks.csv`: the service's code.
    pub fn name(self) -> &'static str {
        match self {
            TaskFailure::FailureExitCode => "FailureExitCode",
            TaskFailure::TaskEnded => "TaskEnded",
        }
    }
}

/// What a task is to its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRole {
    /// One of the job's tasks.
    Task,
    /// The job manager: its job's first task (ahead of its own job's
    /// tasks only), restarting after a failure above every job's tasks;
    /// its node is removed last, and the job ends when it completes.
    JobManager,
}

impl TaskRole {
    /// As in `tasks.csv`.
    pub fn name(self) -> &'static str {
        match self {
            TaskRole::Task => "task",
            TaskRole::JobManager => "job_manager",
        }
    }
}

impl Task {
    /// A task of job `job` submitted at `now`, before it is queued.
    pub fn new(job: u32, now: SimTime, duration: SimDuration, [slots, instances]: [u32; 2], role: TaskRole) -> Task {
        Task {
            job,
            submit: now,
            duration,
            first_start: None,
            end: None,
            node: None,
            attempts: 0,
            failures: 0,
            slots,
            instances,
            state: TaskState::Active,
            exit_code: None,
            failure: None,
            role,
        }
    }

    /// Whether it is on a node.
    pub fn on_node(&self) -> bool {
        matches!(self.state, TaskState::Preparing | TaskState::Running)
    }

    /// Its first start, for the queue wait: none until it has started.
    #[inline]
    pub fn first_start(&self) -> Option<SimTime> {
        self.first_start.map(|t| SimTime(t.get()))
    }

    /// When it completed: none while it may still run.
    #[inline]
    pub fn end(&self) -> Option<SimTime> {
        self.end.map(|t| SimTime(t.get()))
    }

    /// The id of the last node it ran on: none until it has started.
    #[inline]
    pub fn node(&self) -> Option<u32> {
        self.node.map(|n| n.get())
    }

    /// It starts a run at `now` on the node with id `node`.
    #[inline]
    pub(crate) fn starts_on(&mut self, node: u32, now: SimTime) {
        self.first_start.get_or_insert(instant(now));
        // Ids number the nodes a run creates from 0 (`Nodes::next_id`, a
        // `u32`): only its 4 294 967 296th node would have the one id a
        // `NonMaxU32` leaves out, and show no node.
        self.node = NonMaxU32::new(node);
    }

    /// It completed at `now`.
    #[inline]
    pub(crate) fn ends_at(&mut self, now: SimTime) {
        self.end = Some(instant(now));
    }
}

/// `now` in a niche-keeping 8 bytes. A run's clock stops at its end,
/// within [`MAX_DURATION`](crate::scenario::MAX_DURATION) of its start:
/// never at `u64::MAX`, the one value left out (it would saturate to the
/// one below, as time does).
#[inline]
fn instant(now: SimTime) -> NonMaxU64 {
    NonMaxU64::new(now.as_millis()).unwrap_or(NonMaxU64::MAX)
}

/// A multi-instance task's run: one instance per node, all started
/// together; the task ends when the last instance does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiRun {
    /// Node indices, one per instance.
    pub nodes: Vec<u32>,
    /// Instances still running.
    pub left: u32,
    /// The first non-zero exit code a real agent reported for an
    /// instance: any instance's failure fails the task.
    pub failure: Option<i32>,
}

/// Which job task ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobTaskKind {
    /// A job preparation task.
    Preparation,
    /// A job release task.
    Release,
}

impl JobTaskKind {
    /// As in `job_tasks.csv`.
    pub fn name(self) -> &'static str {
        match self {
            JobTaskKind::Preparation => "preparation",
            JobTaskKind::Release => "release",
        }
    }
}

/// One run of a job preparation or release task on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTaskRun {
    /// Preparation or release.
    pub kind: JobTaskKind,
    /// Index of the job.
    pub job: u32,
    /// Id of the node.
    pub node: u32,
    /// When it started.
    pub start: SimTime,
    /// When it ended.
    pub end: SimTime,
    /// Whether it succeeded.
    pub succeeded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_record_takes_64_bytes() {
        // The engine holds one per task in flight — hundreds of thousands
        // in a long run's window — so a byte more here is a byte more per
        // task of the window: keep the optional fields in their niches.
        assert_eq!(size_of::<Task>(), 64);
    }

    #[test]
    fn its_optional_instants_and_node_read_back_as_set() {
        let mut task = Task::new(0, SimTime(5), SimDuration(1000), [1, 1], TaskRole::Task);
        assert_eq!((task.first_start(), task.end(), task.node()), (None, None, None));
        task.starts_on(0, SimTime(0));
        task.starts_on(7, SimTime(9));
        task.ends_at(SimTime(u64::MAX));
        let read = (task.first_start(), task.end(), task.node());
        assert_eq!(read, (Some(SimTime(0)), Some(SimTime(u64::MAX - 1)), Some(7)), "the first start stays");
    }
}
