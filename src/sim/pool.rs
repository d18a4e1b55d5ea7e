//! The pool: its nodes, its targets and resizes (allocation with quota
//! clamping and the resize timeout, shrinking with the four deallocation
//! options), and each node's life in it (boot, start task, preemption,
//! recovery, removal). Node actions are in `actions.rs`.
//!
//! A `taskcompletion` or `retaineddata` shrink blocks the pool's resizes
//! until its nodes have gone: targets set meanwhile are recorded, and the
//! latest is applied when the last draining node goes; a manual resize or
//! a node removal asked meanwhile (or during any resize) is refused with
//! `PoolNotSteady`.

use std::collections::BinaryHeap;

use autoscale_runtime::DeallocationOption;
use rand::RngExt;

use super::agents::{Agents, Completion};
use super::fetch;

use super::node::{Node, NodeState, Nodes};
use super::operations::{Operation, OperationError, RefusedOperation};
use super::priority::Priority;
use super::queue::Queue;
use super::scheduler::{NodeSide, Scheduler, forget_jobs};
use super::task::TaskRole;
use super::{Env, Event};
use crate::scenario::downloads::total_mib;
use crate::scenario::{ManualResize, PreemptionSchedule, Scaling};
use crate::time::{SimDuration, SimTime};

/// `steady` or `resizing`, as the service reports a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationState {
    /// No allocation or removal in progress.
    Steady,
    /// Nodes are being allocated or are leaving.
    Resizing,
}

impl AllocationState {
    /// The service's name.
    pub fn name(self) -> &'static str {
        match self {
            AllocationState::Steady => "steady",
            AllocationState::Resizing => "resizing",
        }
    }
}

/// A resize error the service records on a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResizeErrorCode {
    /// A grow needed more dedicated cores than the quota has left.
    AccountCoreQuotaReached,
    /// A grow needed more low-priority cores than the quota has left.
    AccountLowPriorityCoreQuotaReached,
    /// Nodes were not allocated within the resize timeout.
    AllocationTimedout,
}

impl ResizeErrorCode {
    /// The service's code.
    pub fn as_str(self) -> &'static str {
        match self {
            ResizeErrorCode::AccountCoreQuotaReached => "AccountCoreQuotaReached",
            ResizeErrorCode::AccountLowPriorityCoreQuotaReached => "AccountLowPriorityCoreQuotaReached",
            ResizeErrorCode::AllocationTimedout => "AllocationTimedout",
        }
    }
}

/// One resize error, when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct ResizeErrorRecord {
    /// When.
    pub time: SimTime,
    /// Which.
    pub code: ResizeErrorCode,
    /// The details.
    pub message: String,
}

/// The pool's targets and resize errors.
#[derive(Debug, Clone, Default)]
pub struct PoolControl {
    /// Dedicated and low-priority targets: the latest set, even while a
    /// drain holds back the resize to them.
    pub target: [u32; 2],
    /// Targets were set while a drain blocked resizes: the resize to
    /// them, with this deallocation option, starts when the drain ends.
    pub waiting: Option<DeallocationOption>,
    /// The errors of the last resize; they stay until the next one.
    pub errors: Vec<ResizeErrorCode>,
    /// Every resize error, in order.
    pub log: Vec<ResizeErrorRecord>,
}

/// The order nodes leave in on a shrink: by class (creating, preempted,
/// start task failed, starting or waiting for the start task, idle,
/// running), then least work done, then newest.
type ShrinkOrder = (u8, std::cmp::Reverse<SimTime>, std::cmp::Reverse<u32>);

/// The pool as a component: its nodes, its targets and the rules of a
/// node's life. Its handlers take the scheduler they reach (a node that
/// goes takes its tasks with it) and the [`Env`].
#[derive(Debug)]
pub struct Pool {
    /// Every node, and the counters their states add up to.
    pub(crate) nodes: Nodes,
    /// Targets and resize errors.
    pub(crate) control: PoolControl,
    /// A fixed pool's resizes, its initial targets first.
    resizes: Vec<ManualResize>,
    /// Nodes of each priority leaving with `taskcompletion` or
    /// `retaineddata` (see [`Node::drains`]): while any drains, no
    /// resize starts.
    pub(crate) draining: [u32; 2],
    /// The operations refused, in order.
    pub(crate) refused: Vec<RefusedOperation>,
}

impl Pool {
    /// The empty pool `spec`, with what it has planned queued now:
    /// a fixed pool's resizes (its initial targets first), the preemption
    /// trace, the node actions.
    pub(crate) fn new(spec: &crate::scenario::Pool, q: &mut Queue<Event>) -> Pool {
        let mut resizes = Vec::new();
        if let Scaling::Fixed { target_dedicated, target_low_priority, resizes: later } = &spec.scaling {
            resizes.push(ManualResize {
                at: SimDuration::ZERO,
                target_dedicated: *target_dedicated,
                target_low_priority: *target_low_priority,
                deallocation: DeallocationOption::Requeue,
            });
            resizes.extend(later.iter().cloned());
            for (i, r) in resizes.iter().enumerate() {
                q.schedule(SimTime(r.at.as_millis()), Event::Resize(i as u32));
            }
        }
        if let Some(p) = &spec.preemption
            && let PreemptionSchedule::Trace(rows) = &p.schedule
        {
            for row in rows.iter() {
                q.schedule(row.at, Event::PreemptTrace(row.nodes));
            }
        }
        for (i, a) in spec.node_actions.iter().enumerate() {
            q.schedule(SimTime(a.at.as_millis()), Event::NodeAction(i as u32));
        }
        Pool {
            nodes: Nodes::new(spec.task_slots_per_node),
            control: PoolControl::default(),
            resizes,
            draining: [0; 2],
            refused: Vec::new(),
        }
    }

    /// The pool's allocation state, derived from the node counts: resizing
    /// while a node is being allocated or is leaving.
    pub fn allocation_state(&self) -> AllocationState {
        if self.nodes.count_in(&[NodeState::Creating, NodeState::LeavingPool]) > 0 {
            AllocationState::Resizing
        } else {
            AllocationState::Steady
        }
    }

    fn record_error(&mut self, now: SimTime, code: ResizeErrorCode, message: String) {
        if !self.control.errors.contains(&code) {
            self.control.errors.push(code);
        }
        self.control.log.push(ResizeErrorRecord { time: now, code, message });
    }

    /// Nodes of `p` that count toward its target: all but those leaving.
    fn staying(&self, p: Priority) -> u32 {
        self.nodes.total(p) - self.nodes.count(p, NodeState::LeavingPool)
    }

    /// Whether a `taskcompletion` or `retaineddata` shrink is draining.
    pub(crate) fn drains(&self) -> bool {
        self.draining != [0; 2]
    }

    /// Sets new targets. Targets equal to the current ones start nothing
    /// (so a pool held short by a quota does not record the error again);
    /// while a drain blocks resizes they are recorded and wait for it to
    /// end; otherwise a resize starts now.
    pub(crate) fn apply_targets(
        &mut self,
        target: [u32; 2],
        option: DeallocationOption,
        sched: &mut Scheduler,
        env: &mut Env,
    ) {
        let target = target.map(|t| t.min(crate::scenario::MAX_TARGET));
        if target == self.control.target {
            return;
        }
        self.control.target = target;
        if self.drains() {
            self.control.waiting = Some(option);
        } else {
            self.resize(option, sched, env);
        }
    }

    /// The last draining node has gone: the latest targets set meanwhile
    /// apply now.
    pub(crate) fn on_drain_ended(&mut self, sched: &mut Scheduler, env: &mut Env) {
        if !self.drains()
            && let Some(option) = self.control.waiting
        {
            self.resize(option, sched, env);
        }
    }

    /// A resize to the current targets: nodes are added or removed until
    /// the nodes staying in the pool match them. It clears the previous
    /// resize's errors.
    fn resize(&mut self, option: DeallocationOption, sched: &mut Scheduler, env: &mut Env) {
        self.control.errors.clear();
        self.control.waiting = None;
        let target = self.control.target;
        for p in Priority::ALL {
            let (have, want) = (self.staying(p), target[p as usize]);
            if want > have {
                self.grow(p, want - have, env);
            } else if want < have {
                self.shrink(p, have - want, option, sched, env);
            }
        }
        sched.schedule(self, env);
    }

    /// A manual resize of a fixed pool: refused unless the pool is steady.
    pub(crate) fn on_manual_resize(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        let Some(r) = self.resizes.get(index as usize).cloned() else { return };
        let target = [r.target_dedicated, r.target_low_priority];
        // The initial targets are the pool's creation, not a call.
        if index > 0 && !self.steady_for(Operation::Resize { target }, env.q.now()) {
            return;
        }
        self.apply_targets(target, r.deallocation, sched, env);
    }

    /// Whether the pool is steady, as `operation` needs; if not, the
    /// operation is refused with `PoolNotSteady`.
    pub(crate) fn steady_for(&mut self, operation: Operation, now: SimTime) -> bool {
        let steady = self.allocation_state() == AllocationState::Steady;
        if !steady {
            self.refused.push(RefusedOperation { time: now, operation, error: OperationError::PoolNotSteady });
        }
        steady
    }

    fn grow(&mut self, p: Priority, wanted: u32, env: &mut Env) {
        let cores = u64::from(env.scenario.pools[env.pool].vm.cores);
        let (quota, code, kind) = match p {
            Priority::Dedicated => {
                (env.scenario.account.dedicated_cores, ResizeErrorCode::AccountCoreQuotaReached, "dedicated")
            }
            Priority::LowPriority => (
                env.scenario.account.low_priority_cores,
                ResizeErrorCode::AccountLowPriorityCoreQuotaReached,
                "low-priority",
            ),
        };
        // The quota is the account's: the cores of the other pools count.
        let others = env.others_cores[p as usize];
        let used = u64::from(self.nodes.total(p)) * cores + others;
        let fits = u32::try_from(quota.saturating_sub(used) / cores).unwrap_or(u32::MAX);
        let n = wanted.min(fits);
        if n < wanted {
            let by_others =
                if others > 0 { format!(" ({others} by the account's other pools)") } else { String::new() };
            let message = format!(
                "{kind} core quota of {quota} reached: {used} cores in use{by_others}, {cores} per node; \
                 {n} of {wanted} more nodes allocated"
            );
            self.record_error(env.q.now(), code, message);
        }
        let timeout = env.scenario.pools[env.pool].resize_timeout;
        for _ in 0..n {
            let index = self.nodes.create(p, env.q.now());
            let Some(node) = self.nodes.node_ref(index) else { continue };
            // Abandoned if not allocated within the resize timeout.
            let timer = match env.agents.allocate(node, &env.scenario.pools[env.pool], &mut env.rngs) {
                Completion::After(took) if took <= timeout => env.q.schedule_in(took, Event::Allocated(index)),
                Completion::After(_) | Completion::Reported => {
                    env.q.schedule_in(timeout, Event::AllocationTimedOut(index))
                }
            };
            self.nodes.set_timer(index, timer);
        }
    }

    /// The VM is allocated: the node starts booting (and can be preempted).
    pub(crate) fn on_allocated(&mut self, index: u32, env: &mut Env) {
        self.nodes.clear_timer(index);
        self.start_booting(index, env);
    }

    fn start_booting(&mut self, index: u32, env: &mut Env) {
        let now = env.q.now();
        self.nodes.set_state(index, NodeState::Starting, now);
        let Some(node) = self.nodes.node_ref(index) else { return };
        let mut boot = env.agents.boot(node, &env.scenario.pools[env.pool], &mut env.rngs);
        if let Some(node) = self.nodes.get_mut(index) {
            boot += fetch::node_setup(node, env);
        }
        let timer = env.q.schedule_in(boot, Event::Booted(index));
        self.nodes.set_timer(index, timer);
        let rate = match &env.scenario.pools[env.pool].preemption {
            Some(pre) => match pre.schedule {
                PreemptionSchedule::Rate(rate) if rate > 0.0 => rate,
                _ => return,
            },
            None => return,
        };
        let Some(node) = self.nodes.get(index) else { return };
        if node.priority != Priority::LowPriority || node.preempt_timer.is_some() {
            return;
        }
        // Exponential time to preemption with `rate` per node-hour, by inversion.
        let u: f64 = env.rngs.preemption.random();
        let hours = -(1.0 - u).ln() / rate;
        let after = SimDuration((hours * 3_600_000.0).min(u64::MAX as f64) as u64);
        let timer = env.q.schedule_in(after, Event::Preempt(index));
        if let Some(node) = self.nodes.get_mut(index) {
            node.preempt_timer = Some(timer);
        }
    }

    /// Nodes not had within the resize timeout are abandoned.
    pub(crate) fn on_allocation_timed_out(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        self.nodes.clear_timer(index);
        self.drop_node(index, sched, env);
        let message = "desired nodes could not be allocated within the resize timeout".to_owned();
        self.record_error(env.q.now(), ResizeErrorCode::AllocationTimedout, message);
    }

    /// Booted: the node takes tasks, or first runs its start task when
    /// the pool waits for its success.
    pub(crate) fn on_booted(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        self.nodes.clear_timer(index);
        let (Some(st), Some(node)) = (&env.scenario.pools[env.pool].start_task, self.nodes.node_ref(index)) else {
            return self.make_ready(index, sched, env);
        };
        let wait = st.wait_for_success;
        // Its end is awaited only with waitForSuccess.
        let files = total_mib(&st.resource_files);
        if let Some(Completion::After(mut took)) = env.agents.start_task(node, st, &mut env.rngs) {
            took += fetch::resource_files(files, env);
            let timer = env.q.schedule_in(took, Event::StartTaskEnded(index));
            self.nodes.set_timer(index, timer);
        }
        if wait {
            self.nodes.set_state(index, NodeState::WaitingForStartTask, env.q.now());
        } else {
            self.make_ready(index, sched, env);
        }
    }

    /// A simulated start task ended: success is drawn.
    pub(crate) fn on_start_task_ended(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        self.nodes.clear_timer(index);
        let p = env.scenario.pools[env.pool].start_task.as_ref().map_or(0.0, |st| st.failure_probability);
        let failed = p > 0.0 && env.rngs.start_task.random_bool(p);
        self.start_task_ended(index, !failed, sched, env);
    }

    /// The start task ended: the node takes tasks, or on failure stays
    /// `starttaskfailed` — billed, unusable, never given a task.
    pub(crate) fn start_task_ended(&mut self, index: u32, ok: bool, sched: &mut Scheduler, env: &mut Env) {
        if ok {
            self.make_ready(index, sched, env);
        } else {
            self.nodes.set_state(index, NodeState::StartTaskFailed, env.q.now());
        }
    }

    fn make_ready(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        self.nodes.set_state(index, NodeState::Idle, env.q.now());
        sched.make_schedulable(&mut self.nodes, index);
        sched.schedule(self, env);
    }

    /// The provider reclaims a low-priority node: its tasks are requeued;
    /// it stays in the pool, unbilled, until it recovers. A node already
    /// leaving simply goes.
    pub(crate) fn on_preempt(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        let Some(node) = self.nodes.get_mut(index) else { return };
        node.preempt_timer = None;
        node.pending = None;
        let state = node.state();
        if !state.billed() || node.machine_lost {
            return;
        }
        forget_jobs(&mut self.nodes, index, env);
        if let Some(node) = self.nodes.node_ref(index) {
            env.agents.reset(node);
        }
        let Some(node) = self.nodes.get_mut(index) else { return };
        // It comes back on a new VM.
        fetch::wipe(node);
        if let Some(timer) = node.timer.take() {
            env.q.cancel(timer);
        }
        sched.make_unschedulable(&mut self.nodes, index);
        sched.stop_tasks(index, true, self, env);
        if state == NodeState::LeavingPool {
            self.drop_node(index, sched, env);
        } else {
            self.nodes.set_state(index, NodeState::Preempted, env.q.now());
            let pre =
                env.scenario.pools[env.pool].preemption.as_ref().map(|p| p.recovery.sample(&mut env.rngs.recovery));
            let timer = env.q.schedule_in(pre.unwrap_or_default(), Event::Recovered(index));
            self.nodes.set_timer(index, timer);
        }
        sched.schedule(self, env);
    }

    /// A line of the preemption trace: that many allocated low-priority
    /// nodes, chosen at random, are preempted.
    pub(crate) fn on_preempt_trace(&mut self, nodes: u32, sched: &mut Scheduler, env: &mut Env) {
        let mut candidates: Vec<u32> = self
            .nodes
            .iter()
            .filter(|(_, n)| {
                n.priority == Priority::LowPriority
                    && !n.machine_lost
                    && matches!(
                        n.state(),
                        NodeState::Starting
                            | NodeState::Idle
                            | NodeState::Running
                            | NodeState::WaitingForStartTask
                            | NodeState::StartTaskFailed
                            | NodeState::Unusable
                    )
            })
            .map(|(i, _)| i)
            .collect();
        let k = (nodes as usize).min(candidates.len());
        for i in 0..k {
            let j = env.rngs.preemption.random_range(i..candidates.len());
            candidates.swap(i, j);
        }
        for &index in &candidates[..k] {
            self.on_preempt(index, sched, env);
        }
    }

    /// A preempted node comes back and boots again.
    pub(crate) fn on_recovered(&mut self, index: u32, env: &mut Env) {
        self.nodes.clear_timer(index);
        self.start_booting(index, env);
    }

    /// Removes `count` nodes of `p`, in the service's order: nodes still
    /// being allocated, preempted ones, unusable ones, booting ones, idle
    /// ones, then running ones with the least work done, and a job
    /// manager's node last; newest first among equals.
    fn shrink(&mut self, p: Priority, count: u32, option: DeallocationOption, sched: &mut Scheduler, env: &mut Env) {
        // Only a job manager's node ranks last: without managers, no
        // running node's tasks need looking up (thousands when the shrink
        // must take running nodes).
        let managers = env.scenario.jobs.iter().any(|j| j.pool == env.pool && j.manager.is_some());
        for index in self.shrink_order(p, count, sched, managers) {
            self.remove_node(index, option, sched, env);
        }
    }

    /// The `count` nodes of `p` a shrink takes, in the order they go.
    fn shrink_order(&self, p: Priority, count: u32, sched: &Scheduler, managers: bool) -> Vec<u32> {
        // Nodes running tasks (and offline ones) come last in that order:
        // when the others are enough, none of them can be chosen. Those
        // others are the unready nodes, listed, and the idle ones, which
        // are schedulable with every slot free: a shrink of a busy pool
        // looks at these few rather than scan the thousands running tasks.
        let busy_nodes = self.nodes.count(p, NodeState::Running) + self.nodes.count(p, NodeState::Offline);
        let nodes = &self.nodes;
        let candidates: Box<dyn Iterator<Item = (u32, &Node)>> = if self.staying(p) - busy_nodes >= count {
            let listed = nodes.unready().iter().chain(sched.all_free());
            Box::new(
                listed
                    .filter_map(|&i| Some((i, nodes.get(i)?)))
                    .filter(|(_, n)| n.priority == p && (n.state().unready() || n.state() == NodeState::Idle)),
            )
        } else {
            Box::new(nodes.iter().filter(|(_, n)| n.priority == p && n.state() != NodeState::LeavingPool))
        };
        let tasks = &sched.tasks;
        let candidates = candidates.map(|(i, n)| {
            let class = match n.state() {
                NodeState::Creating => 0,
                NodeState::Preempted => 1,
                NodeState::StartTaskFailed | NodeState::Unusable => 2,
                NodeState::Starting | NodeState::WaitingForStartTask | NodeState::Rebooting | NodeState::Reimaging => 3,
                NodeState::Idle => 4,
                _ if managers && n.running.iter().any(|p| tasks[p.task].role == TaskRole::JobManager) => 6,
                _ => 5,
            };
            let busy = if class >= 5 { n.busy_since } else { SimTime::ZERO };
            ((class, std::cmp::Reverse(busy), std::cmp::Reverse(n.id)), i)
        });
        // The `count` first in shrink order, kept in a max-heap as the
        // nodes go by: a shrink usually takes a few nodes of thousands, and
        // this neither collects nor partitions them all.
        let mut chosen: BinaryHeap<(ShrinkOrder, u32)> = BinaryHeap::with_capacity(count as usize);
        for candidate in candidates {
            if chosen.len() < count as usize {
                chosen.push(candidate);
            } else if let Some(mut last) = chosen.peek_mut()
                && candidate < *last
            {
                *last = candidate;
            }
        }
        chosen.into_sorted_vec().into_iter().map(|(_, index)| index).collect()
    }

    /// Node `index` leaves the pool with deallocation option `option`.
    pub(crate) fn remove_node(&mut self, index: u32, option: DeallocationOption, sched: &mut Scheduler, env: &mut Env) {
        let Some(node) = self.nodes.get_mut(index) else { return };
        node.pending = None;
        let (state, drained) = (node.state(), node.drains());
        if let Some(timer) = node.timer.take() {
            env.q.cancel(timer);
        }
        match state {
            NodeState::Creating | NodeState::Preempted => return self.drop_node(index, sched, env),
            NodeState::Idle | NodeState::Running | NodeState::Offline => {
                sched.make_unschedulable(&mut self.nodes, index);
                match option {
                    DeallocationOption::Requeue => sched.stop_tasks(index, true, self, env),
                    DeallocationOption::Terminate => sched.stop_tasks(index, false, self, env),
                    DeallocationOption::TaskCompletion | DeallocationOption::RetainedData => {}
                }
            }
            NodeState::Starting
            | NodeState::LeavingPool
            | NodeState::WaitingForStartTask
            | NodeState::StartTaskFailed
            | NodeState::Unusable
            | NodeState::Rebooting
            | NodeState::Reimaging => {}
        }
        self.nodes.set_state(index, NodeState::LeavingPool, env.q.now());
        if let Some(node) = self.nodes.get_mut(index) {
            node.leaving = Some(option);
            match (drained, node.drains()) {
                (false, true) => self.draining[node.priority as usize] += 1,
                (true, false) => self.draining[node.priority as usize] -= 1,
                _ => {}
            }
        }
        self.continue_leaving(index, sched, env);
    }

    /// A leaving node goes once its tasks and job release tasks have ended
    /// and, with `retaineddata`, their retention time has run out.
    pub(crate) fn continue_leaving(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        let now = env.q.now();
        let Some(node) = self.nodes.get(index) else { return };
        if !node.running.is_empty() || !node.releases.is_empty() || node.timer.is_some() {
            return;
        }
        let timer = if node.leaving == Some(DeallocationOption::RetainedData) && node.retain_until > now {
            env.q.schedule(node.retain_until, Event::RetentionExpired(index))
        } else {
            let removal = env.scenario.pools[env.pool].removal_time.sample(&mut env.rngs.removal);
            if removal == SimDuration::ZERO {
                // Gone at once: a sample at this instant sees no trace of it.
                return self.drop_node(index, sched, env);
            }
            env.q.schedule_in(removal, Event::Removed(index))
        };
        self.nodes.set_timer(index, timer);
    }

    /// The data retained on a leaving node has expired.
    pub(crate) fn on_retention_expired(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        self.nodes.clear_timer(index);
        self.continue_leaving(index, sched, env);
    }

    /// A leaving node is gone.
    pub(crate) fn on_removed(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        self.nodes.clear_timer(index);
        self.drop_node(index, sched, env);
    }

    /// Takes a node out of the pool now, cancelling what it had pending.
    fn drop_node(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        forget_jobs(&mut self.nodes, index, env);
        if let Some(node) = self.nodes.node_ref(index) {
            env.agents.free(node);
        }
        let Some(node) = self.nodes.get_mut(index) else { return };
        let timers = [node.timer.take(), node.preempt_timer.take()];
        for timer in timers.into_iter().flatten() {
            env.q.cancel(timer);
        }
        sched.make_unschedulable(&mut self.nodes, index);
        let Some(node) = self.nodes.remove(index, env.q.now()) else { return };
        if node.drains() {
            self.draining[node.priority as usize] -= 1;
            if !self.drains() && self.control.waiting.is_some() {
                // Applied by an event of its own at this instant, not from
                // here: a drain ends deep inside a task's end or a node's
                // stop, where a resize could stop the tasks being visited.
                env.q.schedule_in(SimDuration::ZERO, Event::DrainEnded);
            }
        }
    }
}

impl NodeSide for Pool {
    fn nodes(&self) -> &Nodes {
        &self.nodes
    }

    fn nodes_mut(&mut self) -> &mut Nodes {
        &mut self.nodes
    }

    /// The last task of a node ended: it goes idle, or on with leaving,
    /// or with the node action waiting for it.
    fn node_emptied(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        let Some(node) = self.nodes.get(index) else { return };
        match node.state() {
            NodeState::Running => self.nodes.set_state(index, NodeState::Idle, env.q.now()),
            NodeState::LeavingPool => self.continue_leaving(index, sched, env),
            NodeState::Offline => self.pending_action_due(index, env),
            _ => {}
        }
    }
}
