//! Tasks and their placement: the ready queue (job priority, then FIFO),
//! free-slot buckets for `spread` and `pack`, task starts and ends,
//! retries, and stopping tasks when their node goes.
//!
//! Tasks need `slots` slots of one node; a task needing more slots than a
//! node has is never placed and stays active, as in the service. Only the
//! head of the queue is placed: a task that does not fit blocks the ones
//! behind it, which keeps priorities strict.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use super::agents::{Agents, Completion, Work};
use super::deps::{Admission, Dependencies};
use super::jobs::{JobTaskKind, Preparation};
use super::multi::InstanceEnd;
use super::node::{NodeState, Nodes, Placement};
use super::task::{MultiRun, Task, TaskRole, TaskState};
use super::{Event, Simulation};
use crate::scenario::{IdRange, NodeFill};
use crate::time::{SimDuration, SimTime};

/// Queue order: higher job priority first, then lower task number (FIFO
/// within a job, and a requeued task goes back to its original place).
type ReadyKey = (i16, Reverse<u32>);

/// The active tasks waiting for a node, greatest [`ReadyKey`] first.
///
/// Keys mostly arrive in queue order: a job's new tasks have ever larger
/// numbers. Those wait in a FIFO, in order, whose head comes off in a few
/// instructions; the others (a requeued task, a released dependent, a
/// task of a higher priority than the last one queued) wait in a binary
/// heap, whose every pop walks its depth. The head is the greater of the
/// two heads. Keys are unique (a task waits once), so the order is that
/// of one heap holding them all.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadyQueue {
    /// Keys in decreasing order.
    fifo: VecDeque<ReadyKey>,
    /// Keys that came out of order.
    heap: BinaryHeap<ReadyKey>,
}

impl ReadyQueue {
    /// Queues `key`.
    pub(crate) fn push(&mut self, key: ReadyKey) {
        if self.fifo.back().is_none_or(|&last| key < last) {
            self.fifo.push_back(key);
        } else {
            self.heap.push(key);
        }
    }

    /// The greatest key, if any.
    pub(crate) fn peek(&self) -> Option<ReadyKey> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(&f), Some(&h)) => Some(f.max(h)),
            (f, h) => f.or(h).copied(),
        }
    }

    /// Takes the greatest key.
    pub(crate) fn pop(&mut self) -> Option<ReadyKey> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(h)) if h > f => self.heap.pop(),
            (Some(_), _) => self.fifo.pop_front(),
            (None, _) => self.heap.pop(),
        }
    }

    /// Keys waiting.
    pub(crate) fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    /// Whether none waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &ReadyKey> {
        self.fifo.iter().chain(self.heap.iter())
    }

    /// Keeps only the keys for which `keep` holds.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&ReadyKey) -> bool) {
        self.fifo.retain(&mut keep);
        self.heap.retain(keep);
    }
}

/// Every task, and where the active ones wait.
#[derive(Debug, Clone, Default)]
pub struct Scheduler {
    /// Every task submitted, by number.
    pub tasks: Vec<Task>,
    pub(crate) ready: ReadyQueue,
    /// Nodes that can take tasks, by free slots: `buckets[k]` holds the
    /// node indices with exactly `k` free slots.
    buckets: Vec<Vec<u32>>,
    fill: NodeFill,
    /// Priority of each job.
    priorities: Vec<i16>,
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
    /// Who waits for whom.
    pub(crate) deps: Dependencies,
    /// Whether a job preparation task has failed anywhere yet: until then
    /// every node is eligible for every job, and placement skips the check.
    pub(crate) prep_failures_seen: bool,
    /// Active tasks set aside because every node with room for them failed
    /// their job's preparation: they would block the queue for good. They
    /// try again at each scheduling pass.
    pub(crate) parked: Vec<u32>,
}

impl Scheduler {
    /// A scheduler for nodes of `slots` slots and jobs of `priorities`.
    pub fn new(slots: u32, fill: NodeFill, priorities: Vec<i16>) -> Scheduler {
        Scheduler { buckets: vec![Vec::new(); slots as usize + 1], fill, priorities, ..Scheduler::default() }
    }

    /// A new task of job `job`, submitted at `now`, joins the queue, or
    /// waits for `deps` (ids within the job), or is blocked by them.
    /// Inlined: every arrival submits, most often a task with no id.
    #[inline]
    pub fn submit(
        &mut self,
        job: u32,
        now: SimTime,
        duration: SimDuration,
        size: [u32; 2],
        id: Option<u32>,
        deps: &[IdRange],
    ) {
        let number = self.tasks.len() as u32;
        self.tasks.push(Task::new(job, now, duration, size, TaskRole::Task));
        if id.is_none() && deps.is_empty() {
            return self.enqueue(number);
        }
        match self.deps.submit(number, job, id, deps) {
            Admission::Ready => self.enqueue(number),
            Admission::Waiting => self.tasks[number as usize].state = TaskState::Waiting,
            Admission::Blocked => {
                self.tasks[number as usize].state = TaskState::Blocked;
                self.blocked += 1;
                // Dependents submitted before it are blocked in turn.
                self.resolve(number, false);
            }
        }
    }

    /// Task `task` finished for good, or was blocked: its dependents join
    /// the queue or are blocked.
    #[inline(always)]
    pub(crate) fn resolve(&mut self, task: u32, succeeded: bool) {
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
            self.tasks[t as usize].state = TaskState::Active;
            self.enqueue(t);
        }
        for t in blocked {
            self.tasks[t as usize].state = TaskState::Blocked;
            self.blocked += 1;
        }
    }

    /// Puts an active task in the ready queue, or aside if no node can
    /// ever fit it. Inlined: every task submitted comes here.
    #[inline]
    pub(crate) fn enqueue(&mut self, task: u32) {
        let t = &self.tasks[task as usize];
        self.extra_queued += t.instances - 1;
        if t.slots as usize >= self.buckets.len() {
            self.unplaceable += 1;
        } else {
            let priority = match t.role {
                // Above any job's priority (at most 1000).
                TaskRole::JobManager => i16::MAX,
                TaskRole::Task => self.priorities.get(t.job as usize).copied().unwrap_or(0),
            };
            self.ready.push((priority, Reverse(task)));
        }
    }

    /// Tasks waiting in the queue, placeable or not.
    pub fn active_tasks(&self) -> u32 {
        self.ready.len() as u32 + self.unplaceable + self.parked.len() as u32
    }

    /// Puts the parked tasks back in the queue.
    pub(crate) fn unpark(&mut self) {
        for task in std::mem::take(&mut self.parked) {
            self.enqueue(task);
        }
    }

    /// `$ActiveTasks`: waiting tasks, placeable or not, counting each
    /// instance of a multi-instance task.
    pub fn active(&self) -> u32 {
        self.active_tasks() + self.extra_queued
    }

    /// Tasks running, a multi-instance task counting once.
    pub fn running_tasks(&self) -> u32 {
        self.running - self.multi.values().map(|r| r.left.saturating_sub(1)).sum::<u32>()
    }

    /// The schedulable nodes with every slot free: the idle nodes, and
    /// any running only tasks of no slot.
    pub(crate) fn all_free(&self) -> &[u32] {
        self.buckets.last().map_or(&[], Vec::as_slice)
    }

    /// Puts `node` in the bucket of its free slots; it can take tasks.
    pub fn make_schedulable(&mut self, nodes: &mut Nodes, index: u32) {
        let Some(node) = nodes.get_mut(index) else { return };
        debug_assert!(node.bucket_pos.is_none());
        let bucket = &mut self.buckets[node.free_slots as usize];
        node.bucket_pos = Some(bucket.len() as u32);
        bucket.push(index);
    }

    /// Takes `node` out of its bucket; it takes no more tasks.
    pub fn make_unschedulable(&mut self, nodes: &mut Nodes, index: u32) {
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
    pub(crate) fn pick(&self, nodes: &Nodes, slots: u32, job: Option<u32>) -> Option<u32> {
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
    /// [`Simulation::schedule`] picks, most often with every node eligible,
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

    /// Checks that every task is in exactly one place and that the
    /// buckets match the nodes.
    pub fn check(&self, nodes: &Nodes) -> Result<(), String> {
        let mut seen = vec![false; self.tasks.len()];
        let multi = &self.multi;
        let mut mark = |t: u32, place: &str| -> Result<(), String> {
            let slot = seen.get_mut(t as usize).ok_or(format!("task {t} ({place}) does not exist"))?;
            if std::mem::replace(slot, true) && !(place == "a node" && multi.contains_key(&t)) {
                return Err(format!("task {t} is in two places (second: {place})"));
            }
            Ok(())
        };
        for &t in &self.parked {
            mark(t, "parked")?;
            if self.tasks[t as usize].state != TaskState::Active {
                return Err(format!("task {t} is parked but {:?}", self.tasks[t as usize].state));
            }
        }
        for &(_, Reverse(t)) in self.ready.iter() {
            mark(t, "ready queue")?;
            if self.tasks[t as usize].state != TaskState::Active {
                return Err(format!("task {t} is queued but {:?}", self.tasks[t as usize].state));
            }
        }
        let mut running = 0;
        for (i, node) in nodes.iter() {
            let used: u32 = node.running.iter().map(|p| self.tasks[p.task as usize].slots).sum();
            if node.free_slots + used != self.buckets.len() as u32 - 1 {
                return Err(format!("node {i}: {} free + {used} used slots", node.free_slots));
            }
            if let Some(pos) = node.bucket_pos
                && self.buckets[node.free_slots as usize].get(pos as usize) != Some(&i)
            {
                return Err(format!("node {i} is not where its bucket position says"));
            }
            let schedulable = matches!(node.state(), NodeState::Idle | NodeState::Running);
            if node.bucket_pos.is_some() != schedulable {
                return Err(format!("node {i} is {} but schedulable = {}", node.state().name(), !schedulable));
            }
            for p in &node.running {
                mark(p.task, "a node")?;
                running += 1;
                let job = self.tasks[p.task as usize].job;
                if p.preparing && !node.preparations.iter().any(|s| s.job == job) {
                    return Err(format!("task {} waits on node {i} for a preparation that is not running", p.task));
                }
                if !self.tasks[p.task as usize].on_node() {
                    return Err(format!("task {} is on a node but {:?}", p.task, self.tasks[p.task as usize].state));
                }
            }
        }
        if running != self.running {
            return Err(format!("{running} tasks on nodes, counter says {}", self.running));
        }
        let extra: u32 = self.tasks.iter().filter(|t| t.state == TaskState::Active).map(|t| t.instances - 1).sum();
        if extra != self.extra_queued {
            return Err(format!("queued extra instances: counter {} != recount {extra}", self.extra_queued));
        }
        for (t, run) in &self.multi {
            let on =
                run.nodes.iter().filter(|&&i| nodes.get(i).is_some_and(|n| n.running.iter().any(|p| p.task == *t)));
            if on.count() != run.left as usize || !self.tasks[*t as usize].on_node() {
                return Err(format!("multi-instance task {t}: {} instances left, not on as many nodes", run.left));
            }
        }
        let (mut unplaceable, mut done, mut waiting, mut blocked, mut terminated) = (0, [0u64; 2], 0, 0, 0);
        for (t, task) in self.tasks.iter().enumerate() {
            if (task.state == TaskState::Waiting) != self.deps.is_waiting(t as u32) {
                return Err(format!("task {t} is {:?}, dependencies disagree", task.state));
            }
            match task.state {
                TaskState::Active if !seen[t] => unplaceable += 1,
                TaskState::Succeeded => done[0] += 1,
                TaskState::Failed => done[1] += 1,
                TaskState::Waiting => waiting += 1,
                TaskState::Blocked => blocked += 1,
                TaskState::Terminated => terminated += 1,
                TaskState::Active | TaskState::Preparing | TaskState::Running if !seen[t] => {
                    return Err(format!("task {t} is lost"));
                }
                _ => {}
            }
        }
        if (waiting, blocked, terminated) != (self.deps.waiting(), self.blocked, self.terminated) {
            return Err(format!(
                "counters (waiting {}, blocked {}, terminated {}) != recount ({waiting}, {blocked}, {terminated})",
                self.deps.waiting(),
                self.blocked,
                self.terminated
            ));
        }
        if unplaceable != self.unplaceable || done != [self.succeeded, self.failed] {
            return Err(format!(
                "counters (unplaceable {}, succeeded {}, failed {}) != recount ({unplaceable}, {}, {})",
                self.unplaceable, self.succeeded, self.failed, done[0], done[1]
            ));
        }
        Ok(())
    }
}

impl Simulation {
    /// Places tasks from the head of the queue while a node fits them.
    /// Inlined up to the check for waiting tasks: every arrival and task
    /// end schedules, and on a pool keeping up with its load nothing
    /// waits.
    #[inline(always)]
    pub(crate) fn schedule(&mut self) {
        if !self.sched.ready.is_empty() || !self.sched.parked.is_empty() {
            self.place_waiting();
        }
    }

    /// [`Simulation::schedule`] when tasks wait.
    #[inline(never)]
    fn place_waiting(&mut self) {
        // Parked tasks try again whenever anything changed: slots freed on
        // an eligible node, or a node (re)started; those still without an
        // eligible node are parked again below.
        if !self.sched.parked.is_empty() {
            self.sched.unpark();
        }
        while let Some((_, Reverse(task))) = self.sched.ready.peek() {
            let t = &self.sched.tasks[task as usize];
            if t.instances > 1 {
                if !self.start_multi(task) {
                    break;
                }
                continue;
            }
            let Some(node) = self.sched.pick(&self.nodes, t.slots, Some(t.job)) else {
                if self.sched.prep_failures_seen && self.sched.pick(&self.nodes, t.slots, None).is_some() {
                    self.sched.ready.pop();
                    self.sched.parked.push(task);
                    continue;
                }
                break;
            };
            self.sched.ready.pop();
            self.start(task, node, true);
        }
    }

    /// Starts `task` (or one instance of it) on node `index`, with its
    /// job's preparation task first if the node needs it; `first` counts an
    /// attempt (once per run of a multi-instance task).
    pub(crate) fn start(&mut self, task: u32, index: u32, first: bool) {
        let now = self.q.now();
        let prep = self.preparation(task, index);
        let t = &mut self.sched.tasks[task as usize];
        let (job, slots) = (t.job as usize, t.slots);
        let preparing = prep != Preparation::Done;
        // An instance of a multi-instance task may already run elsewhere.
        if preparing && t.state != TaskState::Running {
            t.state = TaskState::Preparing;
        }
        if first {
            t.attempts = t.attempts.saturating_add(1);
        }
        t.first_start.get_or_insert(now);
        let Some(node) = self.nodes.get_mut(index) else { return };
        t.node = Some(node.id);
        node.running.push(Placement { task, end: None, preparing, since: now });
        let free = node.free_slots - slots;
        if node.state() == NodeState::Idle {
            node.busy_since = now;
            self.nodes.set_state(index, NodeState::Running, now);
        }
        self.sched.set_free_slots(&mut self.nodes, index, free);
        let j = &self.scenario.jobs[job];
        self.agents.task_usage(&mut self.nodes, index, i64::from(j.cpu_percent), j.memory_mib as i64);
        self.sched.running += 1;
        self.metrics.running_changed(now, self.sched.running);
        match prep {
            Preparation::Done => self.begin_run(index, task),
            Preparation::Start(took, ok) => {
                self.start_job_task(index, job as u32, JobTaskKind::Preparation, (took, ok));
            }
            Preparation::Join => {}
        }
    }

    /// Starts the run of `task`, already placed on node `index`:
    /// simulated, its end is an event after the task's duration; on a real
    /// agent, it is requested and the agent reports its end.
    pub(crate) fn begin_run(&mut self, index: u32, task: u32) {
        let now = self.q.now();
        let Some(node) = self.node_ref(index) else { return };
        let t = &mut self.sched.tasks[task as usize];
        t.state = TaskState::Running;
        let end = match self.agents.run(node, Work::Task { task }, t.duration) {
            Completion::After(took) => Some(self.q.schedule_in(took, Event::TaskEnd { node: index, task })),
            Completion::Reported => None,
        };
        if let Some(p) = self.nodes.get_mut(index).and_then(|n| n.running.iter_mut().find(|p| p.task == task)) {
            *p = Placement { task, end, preparing: false, since: now };
        }
    }

    /// Takes a task off its node, freeing its slots and usage; returns
    /// whether the node is now empty.
    pub(crate) fn unplace(&mut self, task: u32, index: u32, now: SimTime) -> bool {
        let (job, slots) = {
            let t = &self.sched.tasks[task as usize];
            (t.job as usize, t.slots)
        };
        let j = &self.scenario.jobs[job];
        let retention = now + j.retention;
        self.agents.task_usage(&mut self.nodes, index, -i64::from(j.cpu_percent), -(j.memory_mib as i64));
        self.sched.running -= 1;
        self.metrics.running_changed(now, self.sched.running);
        let Some(node) = self.nodes.get_mut(index) else { return true };
        node.running.retain(|p| p.task != task);
        node.retain_until = node.retain_until.max(retention);
        let (free, empty) = (node.free_slots + slots, node.running.is_empty());
        self.sched.set_free_slots(&mut self.nodes, index, free);
        empty
    }

    /// A simulated task's run ended: its exit code is drawn.
    pub(crate) fn on_task_end(&mut self, index: u32, task: u32) {
        self.task_ended(index, task, None);
    }

    /// A task's run (or one instance's) ended on its own, with the exit
    /// code a real agent `reported` or else one drawn once the last
    /// instance ends: success or failure, then retry.
    pub(crate) fn task_ended(&mut self, index: u32, task: u32, reported: Option<i32>) {
        let now = self.q.now();
        let empty = self.unplace(task, index, now);
        let InstanceEnd::Last { failure } = self.instance_ended(task, reported) else {
            if empty {
                self.node_emptied(index);
            }
            return self.schedule();
        };
        let (job, role) = (self.sched.tasks[task as usize].job as usize, self.sched.tasks[task as usize].role);
        let j = &self.scenario.jobs[job];
        let code = match (failure.or(reported), role, &j.manager) {
            (Some(code), ..) => code,
            (None, TaskRole::JobManager, Some(m)) => i32::from(!m.succeeds(&mut self.rngs.job_tasks)),
            (None, ..) => j.exit_codes.draw(&mut self.rngs.failures[job]),
        };
        let failed = code != 0;
        let t = &mut self.sched.tasks[task as usize];
        t.exit_code = Some(code);
        let retry = failed && (j.max_task_retry_count < 0 || i32::from(t.failures) < j.max_task_retry_count);
        if failed {
            t.failures = t.failures.saturating_add(1);
        }
        if retry {
            t.state = TaskState::Active;
            self.sched.enqueue(task);
        } else {
            self.finish_task(task, !failed, now);
        }
        if empty {
            self.node_emptied(index);
        }
        self.schedule();
    }

    pub(crate) fn finish_task(&mut self, task: u32, succeeded: bool, now: SimTime) {
        let t = &mut self.sched.tasks[task as usize];
        t.end = Some(now);
        if succeeded {
            t.state = TaskState::Succeeded;
            self.sched.succeeded += 1;
            self.metrics.succeeded_in_interval += 1;
        } else {
            t.state = TaskState::Failed;
            self.sched.failed += 1;
            self.metrics.failed_in_interval += 1;
        }
        let (role, job) = (t.role, t.job);
        self.sched.resolve(task, succeeded);
        if role == TaskRole::JobManager {
            self.end_job(job);
        }
    }

    /// Stops every task on a node now: back to the queue (`requeue`, and
    /// preemption — neither uses up a retry) or completed as failed
    /// (`terminate`).
    pub(crate) fn stop_tasks(&mut self, index: u32, requeue: bool) {
        let now = self.q.now();
        let placements = match self.nodes.get(index) {
            Some(node) => node.running.clone(),
            None => return,
        };
        for p in placements {
            // Stopped meanwhile: ending a job manager ends its job's tasks.
            let still_here = self.nodes.get(index).is_some_and(|n| n.running.iter().any(|q| q.task == p.task));
            if !still_here || !self.sched.tasks[p.task as usize].on_node() {
                continue;
            }
            if requeue {
                self.requeued_work += self.time_on_nodes(p.task, index, now);
            }
            // A multi-instance task stops on every node it runs on.
            for other in self.stop_run(p.task, index, now) {
                self.node_emptied(other);
            }
            if requeue {
                self.sched.tasks[p.task as usize].state = TaskState::Active;
                self.sched.enqueue(p.task);
            } else {
                self.finish_task(p.task, false, now);
            }
        }
    }

    /// The node time `task`'s current step has used so far, on node
    /// `index` and, for a multi-instance task, on its other instances' nodes.
    fn time_on_nodes(&self, task: u32, index: u32, now: SimTime) -> SimDuration {
        let nodes = self.sched.multi.get(&task).map_or(std::slice::from_ref(&index), |run| &run.nodes);
        let on = |&n: &u32| self.nodes.get(n)?.running.iter().find(|p| p.task == task).map(|p| now.since(p.since));
        SimDuration(nodes.iter().filter_map(on).map(SimDuration::as_millis).sum())
    }

    /// The last task of a node ended: it goes idle, or on with leaving.
    pub(crate) fn node_emptied(&mut self, index: u32) {
        let Some(node) = self.nodes.get(index) else { return };
        match node.state() {
            NodeState::Running => self.nodes.set_state(index, NodeState::Idle, self.q.now()),
            NodeState::LeavingPool => self.continue_leaving(index),
            NodeState::Offline => self.pending_action_due(index),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_queue_pops_as_one_heap_would() {
        // New tasks in order, requeued ones behind them, a higher priority
        // later, and pops in between.
        let mut ready = ReadyQueue::default();
        let mut heap = BinaryHeap::new();
        let keys = [(0, 1), (0, 2), (0, 5), (0, 3), (5, 9), (0, 10), (0, 4), (5, 7), (0, 11)];
        for (i, (priority, task)) in keys.into_iter().enumerate() {
            ready.push((priority, Reverse(task)));
            heap.push((priority, Reverse(task)));
            if i % 3 == 2 {
                assert_eq!(ready.pop(), heap.pop());
            }
            assert_eq!(ready.peek(), heap.peek().copied());
            assert_eq!(ready.len(), heap.len());
        }
        ready.retain(|&(_, Reverse(t))| t != 10);
        heap.retain(|&(_, Reverse(t))| t != 10);
        assert_eq!(
            std::iter::from_fn(|| ready.pop()).collect::<Vec<_>>(),
            heap.into_sorted_vec().into_iter().rev().collect::<Vec<_>>()
        );
        assert!(ready.is_empty());
    }
}
