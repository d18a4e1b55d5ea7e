//! Tasks and their placement: the ready queue (job priority, jobs of a
//! priority in turn, then FIFO within a job — see `ready.rs`), free-slot
//! buckets for `spread` and `pack`, task starts and ends, retries, and
//! stopping tasks when their node goes.
//!
//! Tasks need `slots` slots of one node; a task needing more slots than a
//! node has is never placed and stays active, as in the service. A job
//! whose next task does not fit waits for the rest of a scheduling pass,
//! and with it the tasks behind it in its job and the lower priorities,
//! which keeps priorities strict; the other jobs of its priority go on.

mod jobs;
mod multi;

use std::cmp::Reverse;
use std::collections::HashMap;

use super::agents::{Agents, Completion, Work};
use super::deps::{Admission, Dependencies};
use super::live_tasks::LiveTasks;
use super::node::{NodeState, Nodes, Placement};
use super::ready::{Head, ReadyQueue};
use super::task::{JobTaskKind, MultiRun, TASK_ENDED_EXIT_CODE, Task, TaskFailure, TaskRole, TaskState};
use super::{Env, Event, fetch};
use crate::scenario::{IdRange, NodeFill, TaskConstraints, TaskFiles};
use crate::time::{SimDuration, SimTime};
pub(crate) use jobs::forget_jobs;
use jobs::{Jobs, Preparation};
use multi::InstanceEnd;

/// What the scheduler needs of the pool, whose rules sit above it: the
/// nodes, and what a node does when its last task ends (it goes idle, or
/// on leaving, or into the action waiting for it). A trait the pool
/// implements, so that the scheduler does not depend on the pool, which
/// depends on it.
pub(crate) trait NodeSide {
    /// Every node.
    fn nodes(&self) -> &Nodes;

    /// Every node, to change.
    fn nodes_mut(&mut self) -> &mut Nodes;

    /// The last task of node `index` ended.
    fn node_emptied(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env);
}

/// The scheduler as a component: every task, where the active ones wait,
/// the nodes that can take them, the job rules' memory, and the counters
/// behind the task metrics.
#[derive(Debug, Default)]
pub struct Scheduler {
    /// The tasks in flight, by number; finished ones leave as they can.
    pub(crate) tasks: LiveTasks,
    pub(crate) ready: ReadyQueue,
    /// Nodes that can take tasks, by free slots: `buckets[k]` holds the
    /// node indices with exactly `k` free slots.
    pub(crate) buckets: Vec<Vec<u32>>,
    fill: NodeFill,
    /// Tasks needing more slots than a node has: active forever.
    pub unplaceable: u32,
    /// Tasks running.
    pub running: u32,
    /// Tasks succeeded so far.
    pub succeeded: u64,
    /// Tasks failed so far.
    pub failed: u64,
    /// Tasks blocked by a failed dependency.
    pub blocked: u64,
    /// Tasks ended with their job while not running.
    pub terminated: u64,
    /// Σ (instances − 1) over the tasks waiting in the queue or aside:
    /// `$ActiveTasks` counts instances.
    pub(crate) extra_queued: u32,
    /// Multi-instance tasks running: their nodes and instances left.
    pub(crate) multi: HashMap<u32, MultiRun>,
    /// The constraints tasks set for themselves, by task number: most
    /// tasks set none, and then nothing is stored or looked up.
    constraints: HashMap<u32, TaskConstraints>,
    /// The packages and resource files tasks fetch besides their job's
    /// packages, by task number: most fetch none, and then nothing is
    /// stored or looked up.
    files: HashMap<u32, TaskFiles>,
    /// Whether any job has packages or a manager with resource files:
    /// until a task fetches something, starting one looks at nothing.
    pub(crate) jobs_fetch: bool,
    /// How every run of a task ends, by task number, for the tasks whose
    /// trace logged it (an SWF record that failed); the others draw from
    /// their job's exit codes.
    logged_exit_codes: HashMap<u32, i32>,
    /// Who waits for whom.
    pub(crate) deps: Dependencies,
    /// Whether a job preparation task has failed anywhere yet: until then
    /// every node is eligible for every job, and placement skips the check.
    pub(crate) prep_failures_seen: bool,
    /// Active tasks set aside because every node with room for them failed
    /// their job's preparation: they would block the queue for good. They
    /// try again at each scheduling pass.
    pub(crate) parked: Vec<u32>,
    /// The jobs passed over in the current scheduling pass (see
    /// [`Scheduler::place_waiting`]), kept between passes so that a pass
    /// allocates nothing.
    passed: Vec<u32>,
    /// Task time lost to requeues: runs cut short and queued again, by
    /// the priority of the nodes they ran on.
    pub(crate) requeued_work: [SimDuration; 2],
    /// What the metrics of the current sampling interval count.
    pub(crate) counts: IntervalCounts,
    /// The job rules' memory.
    pub(crate) jobs: Jobs,
}

/// The task counters behind the metrics of one sampling interval:
/// `$SucceededTasks`, `$FailedTasks`, and ∫ running tasks dt behind
/// `$WallClockSeconds`, advanced at every change of the running count.
#[derive(Debug, Clone, Default)]
pub(crate) struct IntervalCounts {
    /// Tasks succeeded since the last sample.
    succeeded: u32,
    /// Tasks failed since the last sample.
    failed: u32,
    running: u32,
    integral_ms: u128,
    since_sample_ms: u128,
    last_change: SimTime,
}

/// What one sampling interval counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    /// Task-milliseconds run.
    pub(crate) wall_ms: u128,
    /// Tasks succeeded.
    pub(crate) succeeded: u32,
    /// Tasks failed.
    pub(crate) failed: u32,
}

impl IntervalCounts {
    /// The number of running tasks changed at `now`.
    #[inline]
    fn running_changed(&mut self, now: SimTime, running: u32) {
        self.integral_ms += u128::from(self.running) * u128::from(now.since(self.last_change).as_millis());
        self.running = running;
        self.last_change = now;
    }

    /// What the interval ending at `now` counted, with `running` tasks
    /// running now; the next interval starts from zero.
    pub(crate) fn take(&mut self, now: SimTime, running: u32) -> Interval {
        self.running_changed(now, running);
        let wall_ms = self.integral_ms - self.since_sample_ms;
        self.since_sample_ms = self.integral_ms;
        let interval = Interval { wall_ms, succeeded: self.succeeded, failed: self.failed };
        (self.succeeded, self.failed) = (0, 0);
        interval
    }
}

impl Scheduler {
    /// A scheduler for nodes of `slots` slots and jobs of `priorities`.
    pub(crate) fn new(slots: u32, fill: NodeFill, priorities: &[i16]) -> Scheduler {
        Scheduler {
            buckets: vec![Vec::new(); slots as usize + 1],
            fill,
            ready: ReadyQueue::new(priorities),
            ..Scheduler::default()
        }
    }

    /// A new task of job `job`, submitted at `now`, joins the queue, or
    /// waits for `deps` (ids within the job), or is blocked by them.
    /// Inlined: every arrival submits, most often a task with no id.
    #[inline]
    pub(crate) fn submit(
        &mut self,
        job: u32,
        now: SimTime,
        duration: SimDuration,
        size: [u32; 2],
        id: Option<u32>,
        deps: &[IdRange],
    ) {
        let number = self.tasks.next_number();
        self.tasks.push(Task::new(job, now, duration, size, TaskRole::Task));
        if id.is_none() && deps.is_empty() {
            return self.enqueue(number);
        }
        match self.deps.submit(number, job, id, deps) {
            Admission::Ready => self.enqueue(number),
            Admission::Waiting => self.tasks[number].state = TaskState::Waiting,
            Admission::Blocked => {
                self.tasks[number].state = TaskState::Blocked;
                self.blocked += 1;
                // Dependents submitted before it are blocked in turn.
                self.resolve(number, false);
            }
        }
    }

    /// The task submitted last sets `constraints` for itself.
    #[inline]
    pub(crate) fn constrain(&mut self, constraints: TaskConstraints) {
        if !constraints.is_empty() {
            self.constraints.insert(self.tasks.next_number() - 1, constraints);
        }
    }

    /// The task submitted last fetches `files` before each run.
    pub(crate) fn attach_files(&mut self, files: TaskFiles) {
        self.files.insert(self.tasks.next_number() - 1, files);
    }

    /// Every run of the task submitted last ends with `code`, as its trace logged.
    pub(crate) fn log_exit_code(&mut self, code: i32) {
        self.logged_exit_codes.insert(self.tasks.next_number() - 1, code);
    }

    /// Lets the finished tasks at the front of the window leave (see
    /// `LiveTasks::settle`), and with them what is kept by their number:
    /// their own constraints, files and logged exit codes, which nothing
    /// looks up once a task has left.
    #[inline]
    pub(crate) fn settle(&mut self) {
        let Scheduler { tasks, constraints, files, logged_exit_codes, .. } = self;
        if constraints.is_empty() && files.is_empty() && logged_exit_codes.is_empty() {
            tasks.settle(|_| {});
            return;
        }
        tasks.settle(|n| {
            constraints.remove(&n);
            files.remove(&n);
            logged_exit_codes.remove(&n);
        });
    }

    /// A task no longer in flight whose number a map still keeps, if any
    /// (an invariant: none).
    pub(crate) fn kept_for_a_left_task(&self) -> Option<u32> {
        let keys = self.constraints.keys().chain(self.files.keys()).chain(self.logged_exit_codes.keys());
        keys.copied().find(|&t| !self.tasks.contains(t))
    }

    /// The constraints task `task` set for itself.
    #[inline(always)]
    fn own_constraints(&self, task: u32) -> TaskConstraints {
        if self.constraints.is_empty() {
            return TaskConstraints::EMPTY;
        }
        self.constraints.get(&task).copied().unwrap_or(TaskConstraints::EMPTY)
    }

    /// Task `task` finished for good, or was blocked: its dependents join
    /// the queue or are blocked.
    #[inline(always)]
    fn resolve(&mut self, task: u32, succeeded: bool) {
        // Most workloads number no task: then a finished task has no
        // dependents, and costs one inlined check instead of a call and
        // two lists.
        if self.deps.tracks_any() {
            self.release_dependents(task, succeeded);
        }
    }

    /// [`Scheduler::resolve`] when tasks are numbered.
    #[inline(never)]
    fn release_dependents(&mut self, task: u32, succeeded: bool) {
        let (mut ready, mut blocked) = (Vec::new(), Vec::new());
        self.deps.finished(task, succeeded, &mut ready, &mut blocked);
        for t in ready {
            self.tasks[t].state = TaskState::Active;
            self.enqueue(t);
        }
        for t in blocked {
            self.tasks[t].state = TaskState::Blocked;
            self.blocked += 1;
        }
    }

    /// Puts an active task in the ready queue, or aside if no node can
    /// ever fit it. Inlined: every task submitted comes here.
    #[inline]
    fn enqueue(&mut self, task: u32) {
        let t = &self.tasks[task];
        self.extra_queued += t.instances - 1;
        if t.slots as usize >= self.buckets.len() {
            self.unplaceable += 1;
        } else {
            self.ready.push(task, t.job);
        }
    }

    /// Queues a task again after a failed run: a job manager restarts
    /// above every job's tasks, any other task goes back to its place.
    fn retry(&mut self, task: u32) {
        match self.tasks[task].role {
            // One slot, one instance: it always fits a node.
            TaskRole::JobManager => self.ready.push_restart(task),
            TaskRole::Task => self.enqueue(task),
        }
    }

    /// Tasks waiting in the queue, placeable or not.
    pub(crate) fn active_tasks(&self) -> u32 {
        self.ready.len() as u32 + self.unplaceable + self.parked.len() as u32
    }

    /// Puts the parked tasks back in the queue.
    fn unpark(&mut self) {
        for task in std::mem::take(&mut self.parked) {
            self.enqueue(task);
        }
    }

    /// `$ActiveTasks`: waiting tasks, placeable or not, counting each
    /// instance of a multi-instance task.
    pub(crate) fn active(&self) -> u32 {
        self.active_tasks() + self.extra_queued
    }

    /// Tasks running, a multi-instance task counting once.
    pub(crate) fn running_tasks(&self) -> u32 {
        self.running - self.multi.values().map(|r| r.left.saturating_sub(1)).sum::<u32>()
    }

    /// The schedulable nodes with every slot free: the idle nodes, and
    /// any running only tasks of no slot.
    pub(crate) fn all_free(&self) -> &[u32] {
        self.buckets.last().map_or(&[], Vec::as_slice)
    }

    /// Puts `node` in the bucket of its free slots; it can take tasks.
    pub(crate) fn make_schedulable(&mut self, nodes: &mut Nodes, index: u32) {
        let Some(node) = nodes.get_mut(index) else { return };
        debug_assert!(node.bucket_pos.is_none());
        let bucket = &mut self.buckets[node.free_slots as usize];
        node.bucket_pos = Some(bucket.len() as u32);
        bucket.push(index);
    }

    /// Takes `node` out of its bucket; it takes no more tasks.
    pub(crate) fn make_unschedulable(&mut self, nodes: &mut Nodes, index: u32) {
        let Some(node) = nodes.get_mut(index) else { return };
        let Some(pos) = node.bucket_pos.take() else { return };
        let bucket = &mut self.buckets[node.free_slots as usize];
        bucket.swap_remove(pos as usize);
        if let Some(&moved) = bucket.get(pos as usize)
            && let Some(m) = nodes.get_mut(moved)
        {
            m.bucket_pos = Some(pos);
        }
    }

    /// Sets node `index`'s free slots, moving it to that bucket if it is
    /// schedulable. Always inlined: every task start and end calls it, and
    /// a call costs a large part of the work.
    #[inline(always)]
    fn set_free_slots(&mut self, nodes: &mut Nodes, index: u32, free: u32) {
        let schedulable = nodes.get(index).is_some_and(|n| n.bucket_pos.is_some());
        if schedulable {
            self.make_unschedulable(nodes, index);
        }
        if let Some(node) = nodes.get_mut(index) {
            node.free_slots = free;
        }
        if schedulable {
            self.make_schedulable(nodes, index);
        }
    }

    /// A node with at least `slots` free slots for a task of `job`: the
    /// emptiest for `spread`, the fullest for `pack`, skipping nodes where
    /// the job's preparation task failed.
    /// With no job, any node with room will do.
    #[inline(always)]
    fn pick(&self, nodes: &Nodes, slots: u32, job: Option<u32>) -> Option<u32> {
        // Bucket numbers rather than `skip` over the buckets: reversing a
        // `Skip` counts its length, and every task start picks.
        let fits = slots as usize..self.buckets.len();
        match self.fill {
            NodeFill::Pack => self.first_eligible(fits, nodes, job),
            NodeFill::Spread => self.first_eligible(fits.rev(), nodes, job),
        }
    }

    /// The last node of the first of `buckets` holding a node eligible for
    /// `job`. Always inlined, up to the eligibility checks: every pass of
    /// [`Scheduler::schedule`] picks, most often with every node eligible,
    /// and the call cost more than taking the last node of a bucket or two.
    #[inline(always)]
    fn first_eligible(&self, mut buckets: impl Iterator<Item = usize>, nodes: &Nodes, job: Option<u32>) -> Option<u32> {
        match job.filter(|_| self.prep_failures_seen) {
            None => buckets.find_map(|k| self.buckets[k].last().copied()),
            Some(job) => self.first_eligible_for(buckets, nodes, job),
        }
    }

    /// [`Scheduler::first_eligible`] once a preparation task has failed:
    /// the nodes where `job`'s failed are skipped.
    #[inline(never)]
    fn first_eligible_for(&self, mut buckets: impl Iterator<Item = usize>, nodes: &Nodes, job: u32) -> Option<u32> {
        let eligible = |&i: &u32| nodes.get(i).is_some_and(|n| !n.prep_failed.contains(&job));
        buckets.find_map(|k| self.buckets[k].iter().rev().copied().find(eligible))
    }
}

impl Scheduler {
    /// Job `job` ended: its tasks not on a node are terminated — queued
    /// ones leave the queue, waiting ones stop waiting for dependencies,
    /// and both leave the dependency tracker, with the job's ids.
    fn terminate_queued(&mut self, job: u32, now: SimTime) {
        let tasks = &self.tasks;
        let before = self.ready.len() + self.parked.len();
        self.ready.retain(|t| tasks[t].job != job);
        self.parked.retain(|&t| tasks[t].job != job);
        let mut from_queue = (before - self.ready.len() - self.parked.len()) as u32;
        let aside: Vec<u32> = self.tasks.aside_numbers().collect();
        for t in aside.into_iter().chain(self.tasks.numbers()) {
            let task = &self.tasks[t];
            if task.job != job {
                continue;
            }
            match task.state {
                TaskState::Active if from_queue > 0 => {
                    from_queue -= 1;
                    self.extra_queued -= task.instances - 1;
                }
                TaskState::Active => {
                    self.unplaceable -= 1;
                    self.extra_queued -= task.instances - 1;
                }
                TaskState::Waiting => {}
                _ => continue,
            }
            // The dependents it blocks are this job's: terminated here.
            self.deps.abandon(t, &mut Vec::new());
            let task = &mut self.tasks[t];
            task.state = TaskState::Terminated;
            task.ends_at(now);
            self.terminated += 1;
        }
        self.deps.forget_job(job);
    }

    /// Places tasks from the head of the queue while a node fits them.
    /// Inlined up to the check for waiting tasks: every arrival and task
    /// end schedules, and on a pool keeping up with its load nothing
    /// waits.
    #[inline(always)]
    pub(crate) fn schedule<P: NodeSide>(&mut self, pool: &mut P, env: &mut Env) {
        if !self.ready.is_empty() || !self.parked.is_empty() {
            self.place_waiting(pool, env);
        }
    }

    /// [`Scheduler::schedule`] when tasks wait: the queue's head is placed
    /// while one fits. A job whose head finds no node is passed over for
    /// the rest of the pass (nodes only fill up during it); a restarting
    /// job manager that finds none makes room (see
    /// [`Scheduler::make_room`]).
    #[inline(never)]
    fn place_waiting<P: NodeSide>(&mut self, pool: &mut P, env: &mut Env) {
        // Parked tasks try again whenever anything changed: slots freed on
        // an eligible node, or a node (re)started; those still without an
        // eligible node are parked again below.
        if !self.parked.is_empty() {
            self.unpark();
        }
        let mut passed = std::mem::take(&mut self.passed);
        passed.clear();
        while let Some(head) = self.ready.head(&passed) {
            let task = head.task;
            let t = &self.tasks[task];
            let (job, slots) = (t.job, t.slots);
            // Whether the pass goes on.
            let go_on = if t.instances > 1 {
                match self.multi_nodes(task, pool) {
                    Some(nodes) => {
                        self.ready.take(head, true);
                        self.start_multi(task, &nodes, pool, env);
                        true
                    }
                    None => self.pass_over(head, job, &mut passed),
                }
            } else if let Some(node) = self.pick(pool.nodes(), slots, Some(job)) {
                self.ready.take(head, true);
                self.start(task, node, true, pool, env);
                true
            } else if self.prep_failures_seen && self.pick(pool.nodes(), slots, None).is_some() {
                self.ready.take(head, false);
                self.parked.push(task);
                true
            } else if head.is_restart() {
                self.make_room(job, pool, env)
            } else {
                self.pass_over(head, job, &mut passed)
            };
            if !go_on {
                break;
            }
        }
        self.passed = passed;
    }

    /// `head`, of job `job`, finds no room: its job is passed over for the
    /// rest of the pass. Whether the pass goes on: not when nothing else
    /// waits at its level.
    #[inline(always)]
    fn pass_over(&self, head: Head, job: u32, passed: &mut Vec<u32>) -> bool {
        if self.ready.alone(head) {
            return false;
        }
        passed.push(job);
        true
    }

    /// A job manager of job `job` must restart and no node has room: the
    /// service may stop a running task to make room. Stops the task most
    /// recently started among those of the lowest job priority, on a node
    /// that may run `job`'s tasks (never another job manager), and queues
    /// it again without using a retry. False when there is none.
    fn make_room<P: NodeSide>(&mut self, job: u32, pool: &mut P, env: &mut Env) -> bool {
        let priority = |t: u32| env.scenario.jobs.get(self.tasks[t].job as usize).map_or(0, |j| j.priority);
        let victim = pool
            .nodes()
            .iter()
            .filter(|(_, n)| n.bucket_pos.is_some() && !n.prep_failed.contains(&job))
            .flat_map(|(i, n)| n.running.iter().map(move |p| (i, p)))
            .filter(|(_, p)| self.tasks[p.task].role == TaskRole::Task)
            .min_by_key(|(_, p)| (priority(p.task), Reverse(p.since), Reverse(p.task)))
            .map(|(i, p)| (i, p.task));
        let Some((index, victim)) = victim else { return false };
        let now = env.q.now();
        let lost = self.time_on_nodes(victim, index, now, pool.nodes());
        self.add_requeued_work(lost);
        let nodes = pool.nodes_mut();
        let mut emptied = self.stop_run(victim, index, now, nodes, env);
        if nodes.get(index).is_some_and(|n| n.running.is_empty()) {
            emptied.push(index);
        }
        self.tasks[victim].state = TaskState::Active;
        self.enqueue(victim);
        for n in emptied {
            pool.node_emptied(n, self, env);
        }
        true
    }

    /// Starts `task` (or one instance of it) on node `index`, with its
    /// job's preparation task first if the node needs it; `first` counts an
    /// attempt (once per run of a multi-instance task).
    fn start<P: NodeSide>(&mut self, task: u32, index: u32, first: bool, pool: &mut P, env: &mut Env) {
        let now = env.q.now();
        let prep = jobs::preparation(self.tasks[task].job, index, pool.nodes(), env);
        let t = &mut self.tasks[task];
        let (job, slots) = (t.job as usize, t.slots);
        let preparing = prep != Preparation::Done;
        // An instance of a multi-instance task may already run elsewhere.
        if preparing && t.state != TaskState::Running {
            t.state = TaskState::Preparing;
        }
        if first {
            t.attempts = t.attempts.saturating_add(1);
        }
        let nodes = pool.nodes_mut();
        let Some(node) = nodes.get_mut(index) else { return };
        t.starts_on(node.id, now);
        node.running.push(Placement { task, end: None, preparing, since: now });
        let free = node.free_slots - slots;
        if node.state() == NodeState::Idle {
            node.busy_since = now;
            nodes.set_state(index, NodeState::Running, now);
        }
        self.set_free_slots(nodes, index, free);
        let j = &env.scenario.jobs[job];
        env.agents.task_usage(nodes, index, i64::from(j.cpu_percent), j.memory_mib as i64);
        self.running += 1;
        self.counts.running_changed(now, self.running);
        match prep {
            Preparation::Done => self.begin_run(index, task, nodes, env),
            Preparation::Start(took, ok) => {
                jobs::start_job_task(index, job as u32, JobTaskKind::Preparation, (took, ok), nodes, env);
            }
            Preparation::Join => {}
        }
    }

    /// Starts the run of `task`, already placed on node `index`:
    /// simulated, its end is an event after the task's duration; on a real
    /// agent, it is requested and the agent reports its end.
    fn begin_run(&mut self, index: u32, task: u32, nodes: &mut Nodes, env: &mut Env) {
        let now = env.q.now();
        let t = &self.tasks[task];
        let mut fetch = SimDuration::ZERO;
        if self.jobs_fetch || !self.files.is_empty() {
            let (own, manager) = (self.files.get(&task), t.role == TaskRole::JobManager);
            if let Some(n) = nodes.get_mut(index) {
                fetch = fetch::before_task(n, t.job, manager, own, env);
            }
        }
        let Some(node) = nodes.node_ref(index) else {
            debug_assert!(false, "task {task} started on node {index}, which is not in the pool");
            return;
        };
        let limit = self.own_constraints(task).max_wall_clock_time;
        let t = &mut self.tasks[task];
        t.state = TaskState::Running;
        let timeout = Event::TaskTimeout { node: index, task };
        // A run past its task's wall-clock limit ends at the limit; a real
        // agent's run is stopped there unless it reported its end first.
        let mut took = t.duration;
        took += fetch;
        let end = match env.agents.run(node, Work::Task { task }, took) {
            Completion::After(took) => match limit {
                Some(limit) if limit < took => Some(env.q.schedule_in(limit, timeout)),
                _ => Some(env.q.schedule_in(took, Event::TaskEnd { node: index, task })),
            },
            Completion::Reported => limit.map(|limit| env.q.schedule_in(limit, timeout)),
        };
        if let Some(p) = nodes.get_mut(index).and_then(|n| n.running.iter_mut().find(|p| p.task == task)) {
            *p = Placement { task, end, preparing: false, since: now };
        }
    }

    /// Takes a task off its node, freeing its slots and usage; returns
    /// whether the node is now empty.
    fn unplace(&mut self, task: u32, index: u32, now: SimTime, nodes: &mut Nodes, env: &mut Env) -> bool {
        let (job, slots) = {
            let t = &self.tasks[task];
            (t.job as usize, t.slots)
        };
        let j = &env.scenario.jobs[job];
        let retention = now + self.own_constraints(task).retention.unwrap_or(j.retention);
        env.agents.task_usage(nodes, index, -i64::from(j.cpu_percent), -(j.memory_mib as i64));
        self.running -= 1;
        self.counts.running_changed(now, self.running);
        let Some(node) = nodes.get_mut(index) else { return true };
        node.running.retain(|p| p.task != task);
        node.retain_until = node.retain_until.max(retention);
        let (free, empty) = (node.free_slots + slots, node.running.is_empty());
        self.set_free_slots(nodes, index, free);
        empty
    }

    /// A task's run (or one instance's) ended on its own, with the exit
    /// code a real agent `reported` or else one drawn once the last
    /// instance ends: success or failure, then retry.
    pub(crate) fn task_ended<P: NodeSide>(
        &mut self,
        index: u32,
        task: u32,
        reported: Option<i32>,
        pool: &mut P,
        env: &mut Env,
    ) {
        let now = env.q.now();
        if reported.is_some()
            && let Some(timeout) = pool.nodes().get(index).and_then(|n| n.running.iter().find(|p| p.task == task)?.end)
        {
            // A real agent's report came before the task's wall-clock limit.
            env.q.cancel(timeout);
        }
        let empty = self.unplace(task, index, now, pool.nodes_mut(), env);
        let InstanceEnd::Last { failure } = self.instance_ended(task, reported) else {
            if empty {
                pool.node_emptied(index, self, env);
            }
            return self.schedule(pool, env);
        };
        let (job, role) = (self.tasks[task].job as usize, self.tasks[task].role);
        let j = &env.scenario.jobs[job];
        let code = match (failure.or(reported), role, &j.manager) {
            (Some(code), ..) => code,
            (None, TaskRole::JobManager, Some(m)) => i32::from(!m.succeeds(&mut env.rngs.job_tasks)),
            (None, ..) => match self.logged_exit_codes.get(&task) {
                Some(&code) => code,
                None => j.exit_codes.draw(&mut env.rngs.failures[job]),
            },
        };
        let failed = code != 0;
        let retries = self.own_constraints(task).max_task_retry_count.unwrap_or(j.max_task_retry_count);
        let t = &mut self.tasks[task];
        t.exit_code = Some(code);
        let retry = failed && (retries < 0 || i32::from(t.failures) < retries);
        if failed {
            t.failures = t.failures.saturating_add(1);
        }
        if retry {
            t.state = TaskState::Active;
            self.retry(task);
        } else {
            self.finish_task(task, failed.then_some(TaskFailure::FailureExitCode), now, pool, env);
        }
        if empty {
            pool.node_emptied(index, self, env);
        }
        self.schedule(pool, env);
    }

    /// Task `task`'s run on node `index` reached the task's own wall-clock
    /// limit: the service ends it (on every node, for a multi-instance
    /// task), and it completes as failed, without a retry.
    pub(crate) fn task_timed_out<P: NodeSide>(&mut self, index: u32, task: u32, pool: &mut P, env: &mut Env) {
        let now = env.q.now();
        let nodes = pool.nodes_mut();
        // This event is the run's end: nothing left to cancel for it.
        if let Some(p) = nodes.get_mut(index).and_then(|n| n.running.iter_mut().find(|p| p.task == task)) {
            p.end = None;
        }
        let mut emptied = self.stop_run(task, index, now, nodes, env);
        if nodes.get(index).is_some_and(|n| n.running.is_empty()) {
            emptied.push(index);
        }
        self.finish_task(task, Some(TaskFailure::TaskEnded), now, pool, env);
        for n in emptied {
            pool.node_emptied(n, self, env);
        }
        self.schedule(pool, env);
    }

    /// `task` completed for good at `now`, successfully unless `failure`
    /// says why not; a job manager's end ends its job.
    fn finish_task<P: NodeSide>(
        &mut self,
        task: u32,
        failure: Option<TaskFailure>,
        now: SimTime,
        pool: &mut P,
        env: &mut Env,
    ) {
        let t = &mut self.tasks[task];
        t.ends_at(now);
        t.failure = failure;
        if failure == Some(TaskFailure::TaskEnded) {
            t.exit_code = Some(TASK_ENDED_EXIT_CODE);
        }
        let succeeded = failure.is_none();
        if succeeded {
            t.state = TaskState::Succeeded;
            self.succeeded += 1;
            self.counts.succeeded += 1;
        } else {
            t.state = TaskState::Failed;
            self.failed += 1;
            self.counts.failed += 1;
        }
        let (role, job) = (t.role, t.job);
        self.resolve(task, succeeded);
        if role == TaskRole::JobManager {
            self.end_job(job, pool, env);
        }
    }

    /// Stops every task on a node now: back to the queue (`requeue`, and
    /// preemption — neither uses up a retry) or completed as failed
    /// (`terminate`).
    pub(crate) fn stop_tasks<P: NodeSide>(&mut self, index: u32, requeue: bool, pool: &mut P, env: &mut Env) {
        let now = env.q.now();
        let placements = match pool.nodes().get(index) {
            Some(node) => node.running.clone(),
            None => return,
        };
        for p in placements {
            // Stopped meanwhile: ending a job manager ends its job's tasks.
            let still_here = pool.nodes().get(index).is_some_and(|n| n.running.iter().any(|q| q.task == p.task));
            if !still_here || !self.tasks[p.task].on_node() {
                continue;
            }
            if requeue {
                let lost = self.time_on_nodes(p.task, index, now, pool.nodes());
                self.add_requeued_work(lost);
            }
            // A multi-instance task stops on every node it runs on.
            for other in self.stop_run(p.task, index, now, pool.nodes_mut(), env) {
                pool.node_emptied(other, self, env);
            }
            if requeue {
                self.tasks[p.task].state = TaskState::Active;
                self.enqueue(p.task);
            } else {
                self.finish_task(p.task, Some(TaskFailure::TaskEnded), now, pool, env);
            }
        }
    }

    /// The node time `task`'s current step has used so far, on node
    /// `index` and, for a multi-instance task, on its other instances'
    /// nodes, by the nodes' priority (which prices it).
    /// Task time lost to a run cut short, by the priority of its nodes.
    fn add_requeued_work(&mut self, lost: [SimDuration; 2]) {
        for (work, time) in self.requeued_work.iter_mut().zip(lost) {
            *work += time;
        }
    }

    fn time_on_nodes(&self, task: u32, index: u32, now: SimTime, nodes: &Nodes) -> [SimDuration; 2] {
        let on_nodes = self.multi.get(&task).map_or(std::slice::from_ref(&index), |run| &run.nodes);
        let mut time = [SimDuration::ZERO; 2];
        for node in on_nodes.iter().filter_map(|&n| nodes.get(n)) {
            if let Some(p) = node.running.iter().find(|p| p.task == task) {
                time[node.priority as usize] += now.since(p.since);
            }
        }
        time
    }
}
