//! Nodes: their lifecycle states, and the pool-level counters that every
//! state change updates — counts by priority and state, the time spent in
//! each state, billing, and the resource sums behind `$CPUPercent` — so
//! that metrics never scan nodes.

use autoscale_runtime::DeallocationOption;

use super::cost::Billing;
use super::priority::Priority;
use super::queue::EventId;
use crate::scenario::Package;
use crate::time::SimTime;

/// A node's state, as the service reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeState {
    /// The VM is being allocated; not billed yet.
    Creating = 0,
    /// Allocated and booting.
    Starting = 1,
    /// Ready, no task.
    Idle = 2,
    /// Running at least one task.
    Running = 3,
    /// Chosen by a shrink: takes no new task; goes when its tasks (and,
    /// with `retaineddata`, their data) are gone.
    LeavingPool = 4,
    /// Reclaimed by the provider (low-priority only); still in the pool,
    /// not billed, back after a delay.
    Preempted = 5,
    /// Booted; the pool's start task runs and must succeed first.
    WaitingForStartTask = 6,
    /// The start task failed: billed, but gets no tasks and is not usable.
    StartTaskFailed = 7,
    /// Restarting after a reboot action.
    Rebooting = 8,
    /// Being reinstalled after a reimage action.
    Reimaging = 9,
    /// Scheduling disabled: takes no new task; its running tasks go on.
    Offline = 10,
    /// Broken (a `fail` node action, or a real agent that stopped
    /// answering): billed, gets no tasks; its tasks were requeued. A reboot
    /// or reimage brings it back.
    Unusable = 11,
}

impl NodeState {
    /// Every state, in index order.
    pub const ALL: [NodeState; 12] = [
        NodeState::Creating,
        NodeState::Starting,
        NodeState::Idle,
        NodeState::Running,
        NodeState::LeavingPool,
        NodeState::Preempted,
        NodeState::WaitingForStartTask,
        NodeState::StartTaskFailed,
        NodeState::Rebooting,
        NodeState::Reimaging,
        NodeState::Offline,
        NodeState::Unusable,
    ];
    /// Number of states.
    pub const COUNT: usize = NodeState::ALL.len();
    /// The states `timeline.csv` had before start tasks: their columns
    /// come first, the later states' at the end of the row, so that
    /// readers of the older files find every column where it was.
    pub const FIRST_COLUMNS: usize = 6;

    /// The service's name.
    pub fn name(self) -> &'static str {
        match self {
            NodeState::Creating => "creating",
            NodeState::Starting => "starting",
            NodeState::Idle => "idle",
            NodeState::Running => "running",
            NodeState::LeavingPool => "leavingpool",
            NodeState::Preempted => "preempted",
            NodeState::WaitingForStartTask => "waitingforstarttask",
            NodeState::StartTaskFailed => "starttaskfailed",
            NodeState::Rebooting => "rebooting",
            NodeState::Reimaging => "reimaging",
            NodeState::Offline => "offline",
            NodeState::Unusable => "unusable",
        }
    }

    /// Whether the VM is billed in this state.
    pub fn billed(self) -> bool {
        matches!(
            self,
            NodeState::Starting
                | NodeState::Idle
                | NodeState::Running
                | NodeState::LeavingPool
                | NodeState::WaitingForStartTask
                | NodeState::StartTaskFailed
                | NodeState::Rebooting
                | NodeState::Reimaging
                | NodeState::Offline
                | NodeState::Unusable
        )
    }

    /// Whether the node is in the pool but can take no task until its
    /// allocation, boot, restart or recovery ends, or for good (a failed
    /// start task, a broken node): the nodes a shrink takes before idle ones.
    pub fn unready(self) -> bool {
        matches!(
            self,
            NodeState::Creating
                | NodeState::Starting
                | NodeState::Preempted
                | NodeState::WaitingForStartTask
                | NodeState::StartTaskFailed
                | NodeState::Rebooting
                | NodeState::Reimaging
                | NodeState::Unusable
        )
    }

    /// Whether the node reports usage samples (counted by `$SampleNodeCount`).
    pub fn sampled(self) -> bool {
        matches!(self, NodeState::Idle | NodeState::Running | NodeState::LeavingPool | NodeState::Offline)
    }
}

/// A task on a node, and the event that ends its current step (its job
/// preparation, or its run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The task.
    pub task: u32,
    /// The end of its current step, to cancel when the task is stopped
    /// early; none when a real agent runs it and reports its end.
    pub end: Option<EventId>,
    /// Whether it waits for its job's preparation task on the node.
    pub preparing: bool,
    /// When its current step started.
    pub since: SimTime,
}

/// A job preparation or release task running on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobStep {
    /// The job.
    pub job: u32,
    /// Its end, to cancel if the node goes first; none when a real agent
    /// runs it.
    pub end: Option<EventId>,
    /// When it started.
    pub since: SimTime,
}

/// A node, as requests and reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// Its index in the engine (reused after it leaves).
    pub index: u32,
    /// Its id (unique over the run, as in `tasks.csv`).
    pub id: u32,
}

/// One node of the pool.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its number in reports: unique over the run, never reused.
    pub id: u32,
    /// Dedicated or low-priority.
    pub priority: Priority,
    /// Change only through [`Nodes::set_state`], which keeps the counters.
    state: NodeState,
    /// The deallocation option of the shrink that chose it.
    pub leaving: Option<DeallocationOption>,
    /// The scenario's node action (a reboot or reimage) waiting for the
    /// node's running tasks to end, by index.
    pub pending: Option<u32>,
    /// Jobs whose preparation task has run on it since it last (re)started.
    pub prepared: Vec<u32>,
    /// Jobs whose preparation task failed on it since it last (re)started:
    /// their tasks are not placed on it.
    pub prep_failed: Vec<u32>,
    /// Its real agent is gone: it stays `unusable` until it leaves, since
    /// no restart can bring back a machine that does not answer.
    pub machine_lost: bool,
    /// Job preparation tasks running on it; the job's tasks placed there
    /// meanwhile wait for them.
    pub preparations: Vec<JobStep>,
    /// Job release tasks running on it; a leaving node waits for them.
    pub releases: Vec<JobStep>,
    /// The pending lifecycle event (allocation, boot, recovery, removal).
    pub timer: Option<EventId>,
    /// The pending preemption, for a low-priority node.
    pub preempt_timer: Option<EventId>,
    /// Whether it has pulled the pool's container image and downloaded
    /// the pool's packages since it got its disk.
    pub fetched: bool,
    /// Job and task packages on its disk, downloaded once each.
    pub packages: Vec<Package>,
    /// Tasks running on it.
    pub running: Vec<Placement>,
    /// Free task slots.
    pub free_slots: u32,
    /// Index in the scheduler's free-slot bucket, when schedulable.
    pub bucket_pos: Option<u32>,
    /// Index in [`Nodes::unready`], when its state is unready.
    unready_pos: Option<u32>,
    /// When the data of its finished tasks expires (`retaineddata`).
    pub retain_until: SimTime,
    /// When it last went from idle to running: a later time means less
    /// work done, which the shrink order uses.
    pub busy_since: SimTime,
    /// Start of the open billed period.
    billed_since: SimTime,
    /// When it entered its current state.
    state_since: SimTime,
    /// Σ CPU percent of its running tasks.
    cpu_load: u32,
    /// Σ memory of its running tasks, MiB.
    memory_mib: u64,
}

impl Node {
    /// Its state.
    pub fn state(&self) -> NodeState {
        self.state
    }

    /// Whether it is leaving with `taskcompletion` or `retaineddata`: a
    /// drain, which blocks the pool's resizes until the node has gone.
    pub fn drains(&self) -> bool {
        self.state == NodeState::LeavingPool
            && matches!(self.leaving, Some(DeallocationOption::TaskCompletion | DeallocationOption::RetainedData))
    }
}

/// Node time by priority and state: what the bill is attributed to.
///
/// Kept like the billing meter, without visiting nodes: the time of the
/// spans already ended, and for the spans still open the sum of their
/// start times, so that with the count of nodes in a state the time so
/// far is one multiplication at any instant.
#[derive(Debug, Clone, Default)]
struct StateTime {
    /// Milliseconds of the ended spans.
    ended_ms: [[u64; NodeState::COUNT]; 2],
    /// Σ start times (ms) of the nodes in each state now.
    open_since_sum: [[u128; NodeState::COUNT]; 2],
}

impl StateTime {
    /// A node of `p` enters `state` at `now`.
    fn enter(&mut self, p: Priority, state: NodeState, now: SimTime) {
        self.open_since_sum[p as usize][state as usize] += u128::from(now.as_millis());
    }

    /// A node of `p` that entered `state` at `since` leaves it at `now`.
    fn leave(&mut self, p: Priority, state: NodeState, since: SimTime, now: SimTime) {
        self.open_since_sum[p as usize][state as usize] -= u128::from(since.as_millis());
        self.ended_ms[p as usize][state as usize] += now.since(since).as_millis();
    }

    /// Milliseconds spent in each state so far at `now`, with `counts`
    /// nodes in each state now.
    fn at(&self, counts: &[[u32; NodeState::COUNT]; 2], now: SimTime) -> [[u64; NodeState::COUNT]; 2] {
        let mut ms = self.ended_ms;
        for (p, row) in ms.iter_mut().enumerate() {
            for (s, cell) in row.iter_mut().enumerate() {
                let open = u128::from(counts[p][s]) * u128::from(now.as_millis()) - self.open_since_sum[p][s];
                *cell += open as u64;
            }
        }
        ms
    }
}

/// Every node of the pool, and the counters their states add up to.
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    slab: Vec<Option<Node>>,
    free: Vec<u32>,
    next_id: u32,
    counts: [[u32; NodeState::COUNT]; 2],
    /// The indices of the nodes in an unready state, in no order: a
    /// shrink that idle and unready nodes can satisfy looks at these and
    /// at the idle ones, not at the thousands running tasks. Only node
    /// lifecycle changes update it, not the idle–running flips of every
    /// task start and end.
    unready: Vec<u32>,
    /// Billing, updated on every state change.
    pub billing: Billing,
    /// Node time by priority and state, updated on every state change.
    time: StateTime,
    /// Σ over nodes of min(load, 100 × slots): the CPU in percent-slots.
    cpu_sum: u64,
    memory_sum: u64,
    slots_per_node: u32,
}

impl Nodes {
    /// An empty pool whose nodes have `slots_per_node` task slots.
    pub fn new(slots_per_node: u32) -> Nodes {
        Nodes { slots_per_node, ..Nodes::default() }
    }

    /// Adds a node in `creating` at `now`; returns its index.
    pub fn create(&mut self, priority: Priority, now: SimTime) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let node = Node {
            id,
            priority,
            state: NodeState::Creating,
            leaving: None,
            pending: None,
            prepared: Vec::new(),
            prep_failed: Vec::new(),
            machine_lost: false,
            preparations: Vec::new(),
            releases: Vec::new(),
            timer: None,
            preempt_timer: None,
            fetched: false,
            packages: Vec::new(),
            running: Vec::new(),
            free_slots: self.slots_per_node,
            bucket_pos: None,
            unready_pos: None,
            retain_until: SimTime::ZERO,
            busy_since: SimTime::ZERO,
            billed_since: SimTime::ZERO,
            state_since: now,
            cpu_load: 0,
            memory_mib: 0,
        };
        self.counts[priority as usize][NodeState::Creating as usize] += 1;
        self.time.enter(priority, NodeState::Creating, now);
        let index = match self.free.pop() {
            Some(index) => {
                self.slab[index as usize] = Some(node);
                index
            }
            None => {
                self.slab.push(Some(node));
                (self.slab.len() - 1) as u32
            }
        };
        self.join_unready(index);
        index
    }

    /// The indices of the nodes in an unready state, in no order.
    pub fn unready(&self) -> &[u32] {
        &self.unready
    }

    /// Adds node `index`, just moved to an unready state, to the list.
    fn join_unready(&mut self, index: u32) {
        if let Some(node) = self.slab.get_mut(index as usize).and_then(Option::as_mut) {
            node.unready_pos = Some(self.unready.len() as u32);
            self.unready.push(index);
        }
    }

    /// Takes node `index` off the list of unready nodes, if it is on it.
    fn leave_unready(&mut self, index: u32) {
        let Some(pos) = self.slab.get_mut(index as usize).and_then(Option::as_mut).and_then(|n| n.unready_pos.take())
        else {
            return;
        };
        self.unready.swap_remove(pos as usize);
        if let Some(&moved) = self.unready.get(pos as usize)
            && let Some(m) = self.slab.get_mut(moved as usize).and_then(Option::as_mut)
        {
            m.unready_pos = Some(pos);
        }
    }

    /// The node at `index`, if it is still in the pool.
    pub fn get(&self, index: u32) -> Option<&Node> {
        self.slab.get(index as usize).and_then(Option::as_ref)
    }

    /// The node at `index` as requests and reports name it.
    pub fn node_ref(&self, index: u32) -> Option<NodeRef> {
        self.get(index).map(|n| NodeRef { index, id: n.id })
    }

    /// Gives node `index` its pending lifecycle event.
    pub(crate) fn set_timer(&mut self, index: u32, timer: EventId) {
        if let Some(node) = self.get_mut(index) {
            debug_assert!(node.timer.is_none(), "node {index} already has a pending event");
            node.timer = Some(timer);
        }
    }

    /// Node `index`'s pending lifecycle event happened.
    pub(crate) fn clear_timer(&mut self, index: u32) {
        if let Some(node) = self.get_mut(index) {
            node.timer = None;
        }
    }

    /// The node at `index`, to change anything but its state.
    pub fn get_mut(&mut self, index: u32) -> Option<&mut Node> {
        self.slab.get_mut(index as usize).and_then(Option::as_mut)
    }

    /// Every node in the pool with its index, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Node)> {
        self.slab.iter().enumerate().filter_map(|(i, n)| Some((i as u32, n.as_ref()?)))
    }

    /// Moves a node to `state`, keeping counts and billing.
    pub fn set_state(&mut self, index: u32, state: NodeState, now: SimTime) {
        let Some(node) = self.slab.get_mut(index as usize).and_then(Option::as_mut) else {
            return;
        };
        let (old, p) = (node.state, node.priority);
        if old == state {
            return;
        }
        self.counts[p as usize][old as usize] -= 1;
        self.counts[p as usize][state as usize] += 1;
        self.time.leave(p, old, node.state_since, now);
        self.time.enter(p, state, now);
        node.state_since = now;
        match (old.billed(), state.billed()) {
            (false, true) => {
                node.billed_since = now;
                self.billing.open(p, now);
            }
            (true, false) => self.billing.close(p, node.billed_since, now),
            _ => {}
        }
        node.state = state;
        match (old.unready(), state.unready()) {
            (false, true) => self.join_unready(index),
            (true, false) => self.leave_unready(index),
            _ => {}
        }
    }

    /// Takes a node out of the pool, closing its billed period. Its timers
    /// must have been cancelled and its tasks moved off first.
    pub fn remove(&mut self, index: u32, now: SimTime) -> Option<Node> {
        self.leave_unready(index);
        let node = self.slab.get_mut(index as usize)?.take()?;
        debug_assert!(node.running.is_empty() && node.timer.is_none() && node.preempt_timer.is_none());
        self.counts[node.priority as usize][node.state as usize] -= 1;
        self.time.leave(node.priority, node.state, node.state_since, now);
        if node.state.billed() {
            self.billing.close(node.priority, node.billed_since, now);
        }
        self.free.push(index);
        Some(node)
    }

    /// Ends every open billed period at `now`: the books close at the end
    /// of a run, with the nodes still in the pool.
    pub fn close_billing(&mut self, now: SimTime) {
        for node in self.slab.iter_mut().flatten() {
            if node.state.billed() {
                self.billing.close(node.priority, node.billed_since, now);
                node.billed_since = now;
            }
        }
    }

    /// Adds or removes a running task's usage on a node.
    pub fn add_usage(&mut self, index: u32, cpu: i64, memory_mib: i64) {
        let cap = u64::from(100 * self.slots_per_node);
        let Some(node) = self.slab.get_mut(index as usize).and_then(Option::as_mut) else {
            return;
        };
        let before = u64::from(node.cpu_load).min(cap);
        node.cpu_load = node.cpu_load.saturating_add_signed(cpu as i32);
        let after = u64::from(node.cpu_load).min(cap);
        self.cpu_sum = self.cpu_sum + after - before;
        // Jobs declare no memory by default: adding none is skipped, on
        // every task start and end.
        if memory_mib != 0 {
            node.memory_mib = node.memory_mib.saturating_add_signed(memory_mib);
            self.memory_sum = self.memory_sum.saturating_add_signed(memory_mib);
        }
    }

    /// Sets a node's usage as a real agent measured it: CPU in percent of
    /// the node, memory in MiB.
    pub fn set_usage(&mut self, index: u32, cpu_percent: f64, memory_mib: f64) {
        let Some(node) = self.get(index) else { return };
        let cpu = (cpu_percent.clamp(0.0, 100.0) * f64::from(self.slots_per_node)).round() as i64;
        let memory = memory_mib.max(0.0).round() as i64;
        let (cpu_was, memory_was) = (i64::from(node.cpu_load), node.memory_mib as i64);
        self.add_usage(index, cpu - cpu_was, memory - memory_was);
    }

    /// Node time spent so far at `now` by priority, then state
    /// (`NodeState as usize`), in milliseconds: every node, since it was
    /// created, in the pool or gone. The billed states add up to the
    /// exact billed time of [`Billing`].
    pub fn time_in_state(&self, now: SimTime) -> [[u64; NodeState::COUNT]; 2] {
        self.time.at(&self.counts, now)
    }

    /// Nodes of `priority` in `state`.
    pub fn count(&self, priority: Priority, state: NodeState) -> u32 {
        self.counts[priority as usize][state as usize]
    }

    /// Nodes of `priority` in the pool, every state included.
    pub fn total(&self, priority: Priority) -> u32 {
        self.counts[priority as usize].iter().sum()
    }

    /// Nodes of either priority in any of `states`.
    pub fn count_in(&self, states: &[NodeState]) -> u32 {
        Priority::ALL.iter().flat_map(|&p| states.iter().map(move |&s| self.count(p, s))).sum()
    }

    /// Nodes in the pool.
    pub fn len(&self) -> u32 {
        Priority::ALL.iter().map(|&p| self.total(p)).sum()
    }

    /// The average CPU of sampled nodes in percent, and the average memory in MiB.
    pub fn usage(&self) -> (f64, f64) {
        let nodes = self.count_in(&[NodeState::Idle, NodeState::Running, NodeState::LeavingPool, NodeState::Offline]);
        if nodes == 0 {
            return (0.0, 0.0);
        }
        let n = f64::from(nodes);
        (self.cpu_sum as f64 / f64::from(self.slots_per_node) / n, self.memory_sum as f64 / n)
    }

    /// Recounts everything from the nodes themselves and compares.
    pub fn check(&self, now: SimTime) -> Result<(), String> {
        let mut counts = [[0u32; NodeState::COUNT]; 2];
        let (mut cpu, mut memory, mut billed) = (0u64, 0u64, [0u64; 2]);
        let cap = u64::from(100 * self.slots_per_node);
        for (i, node) in self.iter() {
            counts[node.priority as usize][node.state as usize] += 1;
            cpu += u64::from(node.cpu_load).min(cap);
            memory += node.memory_mib;
            if node.state.billed() {
                billed[node.priority as usize] += 1;
            }
            if !node.state.sampled() && (node.cpu_load > 0 || !node.running.is_empty()) {
                return Err(format!("node {i} is {} with tasks on it", node.state.name()));
            }
            let listed = node.unready_pos.is_some_and(|pos| self.unready.get(pos as usize) == Some(&i));
            if listed != node.state.unready() || node.unready_pos.is_some() != listed {
                return Err(format!("node {i} is {}, listed as unready: {listed}", node.state.name()));
            }
        }
        let unready = NodeState::ALL.iter().filter(|s| s.unready()).map(|&s| self.count_in(&[s])).sum::<u32>();
        if unready as usize != self.unready.len() {
            return Err(format!("{} nodes listed as unready, {unready} counted", self.unready.len()));
        }
        if counts != self.counts {
            return Err(format!("node counts {:?} != recount {counts:?}", self.counts));
        }
        if (cpu, memory) != (self.cpu_sum, self.memory_sum) {
            return Err(format!("usage sums ({}, {}) != recount ({cpu}, {memory})", self.cpu_sum, self.memory_sum));
        }
        for p in Priority::ALL {
            if self.billing.meter(p).open != billed[p as usize] {
                return Err(format!(
                    "{} billed nodes: meter {} != recount {}",
                    p.name(),
                    self.billing.meter(p).open,
                    billed[p as usize]
                ));
            }
        }
        let time = self.time_in_state(now);
        for p in Priority::ALL {
            let m = self.billing.meter(p);
            let billed: u64 = NodeState::ALL.iter().filter(|s| s.billed()).map(|&s| time[p as usize][s as usize]).sum();
            if u128::from(billed) != m.billed_ms(now) {
                return Err(format!(
                    "{} billed time: {billed} ms by state != {} ms billed",
                    p.name(),
                    m.billed_ms(now)
                ));
            }
        }
        let live = self.slab.iter().filter(|n| n.is_some()).count();
        if live != self.len() as usize {
            return Err(format!("{live} nodes in the slab, counts sum to {}", self.len()));
        }
        self.billing.check(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_billing_follow_state_changes() {
        let mut nodes = Nodes::new(2);
        let a = nodes.create(Priority::LowPriority, SimTime::ZERO);
        let b = nodes.create(Priority::Dedicated, SimTime::ZERO);
        assert_eq!(nodes.count(Priority::LowPriority, NodeState::Creating), 1);
        nodes.set_state(a, NodeState::Starting, SimTime(1_000));
        nodes.set_state(a, NodeState::Idle, SimTime(2_000));
        nodes.add_usage(a, 150, 10);
        nodes.add_usage(a, 100, 10);
        // Load 250 % on a two-slot node counts as 200 percent-slots: 100 %.
        assert_eq!(nodes.usage(), (100.0, 20.0));
        nodes.add_usage(a, -250, -20);
        nodes.set_state(a, NodeState::Preempted, SimTime(61_000));
        assert_eq!(nodes.billing.meter(Priority::LowPriority).charged_seconds, 60);
        nodes.check(SimTime(70_000)).unwrap();
        assert_eq!(nodes.total(Priority::LowPriority), 1);
        assert_eq!(nodes.len(), 2);
        nodes.remove(b, SimTime(80_000));
        let c = nodes.create(Priority::Dedicated, SimTime::ZERO);
        assert_eq!((c, nodes.get(c).map(|n| n.id)), (b, Some(2)), "slots are reused, ids are not");
        nodes.check(SimTime(90_000)).unwrap();
    }
}
