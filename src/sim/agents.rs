//! Who does the work on the nodes: simulated agents or real ones, behind
//! one trait, so that the model never asks which it has.
//!
//! The model tells the [`Agents`] when a node is allocated, boots or runs
//! a piece of work, and learns from the answer how the end will come: a
//! simulated agent draws or knows how long the work takes, and the model
//! schedules its end on the virtual clock ([`Completion::After`]); a real
//! agent is sent a [`Request`] that the driver carries out on a machine,
//! and reports the end itself ([`Completion::Reported`]) through
//! [`Simulation::work_exited`] and its siblings. The driver moves the
//! clock with [`Simulation::advance_to`]: real agents are just another
//! clock. Everything else — queue, scheduling, autoscale, metrics, cost —
//! is the same model either way.
//!
//! Requests and reports name a node by [`NodeRef`]: its slab index, which
//! is reused after the node leaves, and its id, which is not, so that a
//! late report about a node that is gone is recognised and ignored.

use super::Simulation;
use super::node::{NodeState, Nodes};
use super::streams::Streams;
use super::task::{Task, TaskState};
use crate::scenario::{Pool, StartTask};
use crate::time::{SimDuration, SimTime};

/// A node, as requests and reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// Its index in the engine (reused after it leaves).
    pub index: u32,
    /// Its id (unique over the run, as in `tasks.csv`).
    pub id: u32,
}

/// A piece of work a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// The pool's start task.
    StartTask,
    /// A job's preparation task.
    Preparation {
        /// The job, by index.
        job: u32,
    },
    /// A job's release task.
    Release {
        /// The job, by index.
        job: u32,
    },
    /// A task (by number), or one instance of a multi-instance task.
    Task {
        /// The task.
        task: u32,
    },
}

/// What the engine asks of the real agents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The node is being allocated: give it a machine.
    Allocate(NodeRef),
    /// Run `work` on the node and report its exit code.
    Run(NodeRef, Work),
    /// Stop `work` on the node; no report is expected.
    Kill(NodeRef, Work),
    /// Stop all work on the node (it is reclaimed, or restarts); the
    /// machine stays the node's.
    Reset(NodeRef),
    /// The node left the pool: its machine is free.
    Free(NodeRef),
}

/// How the model learns that a piece of work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// After this long: the model schedules the end itself.
    After(SimDuration),
    /// When the agent reports it.
    Reported,
}

/// The agents that do the work on the nodes. Methods that take the random
/// streams draw from them only when the agent simulates the work, in the
/// order the model has always drawn, so that a run is a pure function of
/// the scenario and the seed.
pub trait Agents {
    /// Node `node` is being allocated: when its VM will be.
    fn allocate(&mut self, node: NodeRef, pool: &Pool, rngs: &mut Streams) -> Completion;

    /// Node `node`'s VM is allocated: how long it takes to boot.
    fn boot(&mut self, node: NodeRef, pool: &Pool, rngs: &mut Streams) -> SimDuration;

    /// Node `node` booted and runs the pool's start task: when it ends,
    /// or `None` when nobody waits for it.
    fn start_task(&mut self, node: NodeRef, task: &StartTask, rngs: &mut Streams) -> Option<Completion>;

    /// Node `node` runs `work`, which takes `took` when simulated.
    fn run(&mut self, node: NodeRef, work: Work, took: SimDuration) -> Completion;

    /// `work` on node `node` is stopped early; no end is expected.
    fn stop(&mut self, node: NodeRef, work: Work);

    /// All work on node `node` stops (it is reclaimed, or restarts); the
    /// machine stays the node's.
    fn reset(&mut self, node: NodeRef);

    /// Node `node` left the pool: its machine is free.
    fn free(&mut self, node: NodeRef);

    /// A task using `cpu_percent` of a node and `memory_mib` started
    /// (positive) or ended (negative) on node `index`: simulated agents
    /// use what the job declares; real ones measure and report it.
    fn task_usage(&mut self, nodes: &mut Nodes, index: u32, cpu_percent: i64, memory_mib: i64);
}

/// Agents that exist only in the model: every piece of work takes the
/// time the scenario says, on the virtual clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct Simulated;

/// `d` times `factor` (at most 1), to the millisecond.
fn faster(d: SimDuration, factor: f64) -> SimDuration {
    if factor >= 1.0 {
        return d;
    }
    SimDuration::from_millis_f64(d.as_millis() as f64 * factor)
}

impl Agents for Simulated {
    fn allocate(&mut self, _: NodeRef, pool: &Pool, rngs: &mut Streams) -> Completion {
        let took = pool.allocation_time.sample(&mut rngs.allocation);
        Completion::After(faster(took, pool.image.speed_up(&mut rngs.allocation)))
    }

    fn boot(&mut self, _: NodeRef, pool: &Pool, rngs: &mut Streams) -> SimDuration {
        let boot = pool.boot_time.sample(&mut rngs.boot);
        faster(boot, pool.image.speed_up(&mut rngs.boot))
    }

    fn start_task(&mut self, _: NodeRef, task: &StartTask, rngs: &mut Streams) -> Option<Completion> {
        task.wait_for_success.then(|| Completion::After(task.duration.sample(&mut rngs.start_task)))
    }

    #[inline(always)]
    fn run(&mut self, _: NodeRef, _: Work, took: SimDuration) -> Completion {
        Completion::After(took)
    }

    fn stop(&mut self, _: NodeRef, _: Work) {}

    fn reset(&mut self, _: NodeRef) {}

    fn free(&mut self, _: NodeRef) {}

    #[inline(always)]
    fn task_usage(&mut self, nodes: &mut Nodes, index: u32, cpu_percent: i64, memory_mib: i64) {
        nodes.add_usage(index, cpu_percent, memory_mib);
    }
}

/// Real agents: every piece of work is a [`Request`] that the driver
/// takes with [`Simulation::take_requests`] and carries out on a machine
/// that joined; the machine reports back. A machine's node is ready as
/// soon as it joins (its machine is already up).
#[derive(Debug, Clone, Default)]
pub struct Requested {
    /// The requests the driver has not taken yet, in order.
    requests: Vec<Request>,
}

impl Agents for Requested {
    fn allocate(&mut self, node: NodeRef, _: &Pool, _: &mut Streams) -> Completion {
        self.requests.push(Request::Allocate(node));
        Completion::Reported
    }

    fn boot(&mut self, _: NodeRef, _: &Pool, _: &mut Streams) -> SimDuration {
        SimDuration::ZERO
    }

    fn start_task(&mut self, node: NodeRef, _: &StartTask, _: &mut Streams) -> Option<Completion> {
        self.requests.push(Request::Run(node, Work::StartTask));
        Some(Completion::Reported)
    }

    fn run(&mut self, node: NodeRef, work: Work, _: SimDuration) -> Completion {
        self.requests.push(Request::Run(node, work));
        Completion::Reported
    }

    fn stop(&mut self, node: NodeRef, work: Work) {
        self.requests.push(Request::Kill(node, work));
    }

    fn reset(&mut self, node: NodeRef) {
        self.requests.push(Request::Reset(node));
    }

    fn free(&mut self, node: NodeRef) {
        self.requests.push(Request::Free(node));
    }

    fn task_usage(&mut self, _: &mut Nodes, _: u32, _: i64, _: i64) {}
}

/// The agents of one run. An enum that forwards each call, rather than a
/// type parameter of [`Simulation`]: the model is then compiled once, in
/// this crate, where every call can be inlined, while a generic model is
/// compiled again in each crate that uses it, with other inlining
/// choices (more instructions per event: see `docs/performance.md`).
#[derive(Debug)]
pub(crate) enum AnyAgents {
    /// Simulated agents.
    Simulated(Simulated),
    /// Real agents.
    Requested(Requested),
}

/// Calls `$method` on whichever agents a run has.
macro_rules! forward {
    ($self:ident, $agents:ident => $call:expr) => {
        match $self {
            AnyAgents::Simulated($agents) => $call,
            AnyAgents::Requested($agents) => $call,
        }
    };
}

impl Agents for AnyAgents {
    fn allocate(&mut self, node: NodeRef, pool: &Pool, rngs: &mut Streams) -> Completion {
        forward!(self, a => a.allocate(node, pool, rngs))
    }

    fn boot(&mut self, node: NodeRef, pool: &Pool, rngs: &mut Streams) -> SimDuration {
        forward!(self, a => a.boot(node, pool, rngs))
    }

    fn start_task(&mut self, node: NodeRef, task: &StartTask, rngs: &mut Streams) -> Option<Completion> {
        forward!(self, a => a.start_task(node, task, rngs))
    }

    #[inline(always)]
    fn run(&mut self, node: NodeRef, work: Work, took: SimDuration) -> Completion {
        forward!(self, a => a.run(node, work, took))
    }

    fn stop(&mut self, node: NodeRef, work: Work) {
        forward!(self, a => a.stop(node, work))
    }

    fn reset(&mut self, node: NodeRef) {
        forward!(self, a => a.reset(node))
    }

    fn free(&mut self, node: NodeRef) {
        forward!(self, a => a.free(node))
    }

    #[inline(always)]
    fn task_usage(&mut self, nodes: &mut Nodes, index: u32, cpu_percent: i64, memory_mib: i64) {
        forward!(self, a => a.task_usage(nodes, index, cpu_percent, memory_mib))
    }
}

impl Simulation {
    /// Prepares `scenario` for real agents: work is requested, not
    /// simulated (see [`Simulation::new`] for `seed`).
    pub fn with_real_agents(scenario: impl Into<std::sync::Arc<crate::scenario::Scenario>>, seed: Option<u64>) -> Self {
        Simulation::with_agents(scenario.into(), seed, AnyAgents::Requested(Requested::default()))
    }

    /// The requests made since the last call, in order (none with
    /// simulated agents).
    pub fn take_requests(&mut self) -> Vec<Request> {
        match &mut self.agents {
            AnyAgents::Requested(agents) => std::mem::take(&mut agents.requests),
            AnyAgents::Simulated(_) => Vec::new(),
        }
    }

    /// A machine took node `node`: it is allocated and starts at once.
    pub fn machine_ready(&mut self, node: NodeRef) {
        if self.current(node) && self.nodes.get(node.index).is_some_and(|n| n.state() == NodeState::Creating) {
            if let Some(timer) = self.nodes.get_mut(node.index).and_then(|n| n.timer.take()) {
                self.q.cancel(timer);
            }
            self.on_allocated(node.index);
        }
    }

    /// `work` exited with `exit_code` on node `node`; 0 is success.
    pub fn work_exited(&mut self, node: NodeRef, work: Work, exit_code: i32) {
        if !self.current(node) {
            return;
        }
        let index = node.index;
        let running = |sim: &Simulation, task: u32| {
            sim.nodes.get(index).is_some_and(|n| n.running.iter().any(|p| p.task == task && !p.preparing))
        };
        match work {
            Work::StartTask => {
                if self.nodes.get(index).is_some_and(|n| n.state() == NodeState::WaitingForStartTask) {
                    self.start_task_ended(index, exit_code == 0);
                }
            }
            Work::Preparation { job } => self.on_prep_ended(index, job, exit_code == 0),
            Work::Release { job } => self.on_release_ended(index, job, exit_code == 0),
            Work::Task { task } => {
                if running(self, task) && self.sched.tasks[task as usize].state == TaskState::Running {
                    self.task_ended(index, task, Some(exit_code));
                }
            }
        }
    }

    /// The machine of node `node` stopped answering: the node is unusable
    /// for good (node actions and preemption pass it by) and its tasks go
    /// back to the queue.
    pub fn machine_lost(&mut self, node: NodeRef) {
        if self.current(node) {
            if let Some(n) = self.nodes.get_mut(node.index) {
                n.machine_lost = true;
            }
            self.make_unusable(node.index);
        }
    }

    /// The machine of node `node` measured its CPU (percent of the
    /// machine) and memory (MiB).
    pub fn machine_usage(&mut self, node: NodeRef, cpu_percent: f64, memory_mib: f64) {
        if self.current(node) {
            self.nodes.set_usage(node.index, cpu_percent, memory_mib);
        }
    }
}

impl Simulation {
    /// The node at `index` as requests and reports name it.
    pub(crate) fn node_ref(&self, index: u32) -> Option<NodeRef> {
        self.nodes.get(index).map(|n| NodeRef { index, id: n.id })
    }

    /// Whether `node` still names a node in the pool.
    fn current(&self, node: NodeRef) -> bool {
        self.nodes.get(node.index).is_some_and(|n| n.id == node.id)
    }

    /// When the next event is due, if any before the end.
    pub fn next_event_time(&mut self) -> Option<SimTime> {
        self.q.peek_time().filter(|&t| t <= self.end)
    }

    /// The end of the run.
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// Ends the run now rather than at the scenario's end: the books
    /// close at this instant.
    pub fn stop_now(&mut self) {
        self.end = self.q.now();
    }

    /// Task `n` (by submission number), if submitted.
    pub fn task(&self, n: u32) -> Option<&Task> {
        self.sched.tasks.get(n as usize)
    }

    /// Whether the workload is over: no task will arrive, and every task
    /// and job release task has finished (or can never run). A run with
    /// real agents stops there rather than wait, on the wall clock, for a
    /// scenario end with nothing left to do.
    pub fn workload_done(&self) -> bool {
        let s = &self.sched;
        self.sources_live == 0
            && s.running == 0
            && s.ready.is_empty()
            && s.parked.is_empty()
            && s.unplaceable == 0
            && s.deps.waiting() == 0
            && self.nodes.iter().all(|(_, n)| n.releases.is_empty())
    }

    /// Delivers every event due by `t`, then moves the clock to `t` (never
    /// back, never past the end), so that reports arriving now are handled
    /// at the right instant.
    pub fn advance_to(&mut self, t: SimTime) {
        let t = t.min(self.end);
        while self.next_event_time().is_some_and(|next| next <= t) {
            self.step();
        }
        self.q.advance_to(t);
    }
}
