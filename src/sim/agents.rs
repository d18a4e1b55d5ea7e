//! Who does the work on the nodes: simulated agents or real ones, behind
//! one trait, so that the model never asks which it has.
//!
//! The model tells the [`Agents`] when a node is allocated, boots or runs
//! a piece of work, and learns from the answer how the end will come: a
//! simulated agent draws or knows how long the work takes, and the model
//! schedules its end on the virtual clock ([`Completion::After`]); a real
//! agent is sent a [`Request`] that the driver carries out on a machine,
//! and reports the end itself ([`Completion::Reported`]) through
//! [`Simulation::work_exited`] and its siblings (`real.rs`). The driver moves the
//! clock with [`Simulation::advance_to`]: real agents are just another
//! clock. Everything else — queue, scheduling, autoscale, metrics, cost —
//! is the same model either way.
//!
//! Requests and reports name a node by [`NodeRef`]: its slab index, which
//! is reused after the node leaves, and its id, which is not, so that a
//! late report about a node that is gone is recognised and ignored.

#[cfg(doc)]
use super::Simulation;
pub use super::node::NodeRef;
use super::node::Nodes;
use super::streams::Streams;
use crate::scenario::downloads::download_time;
use crate::scenario::{Dist, Pool as PoolSpec, StartTask};
use crate::time::SimDuration;

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
    fn allocate(&mut self, node: NodeRef, pool: &PoolSpec, rngs: &mut Streams) -> Completion;

    /// Node `node`'s VM is allocated: how long it takes to boot.
    fn boot(&mut self, node: NodeRef, pool: &PoolSpec, rngs: &mut Streams) -> SimDuration;

    /// Node `node` booted and runs the pool's start task: when it ends,
    /// or `None` when it is simulated and not awaited (nothing is drawn).
    fn start_task(&mut self, node: NodeRef, task: &StartTask, rngs: &mut Streams) -> Option<Completion>;

    /// How long downloading `mib` MiB (packages, resource files, an
    /// image), then `extra` (a container pull's own time), takes: drawn
    /// from the VM's download speed when simulated (nothing is drawn for
    /// nothing to fetch); real agents fetch nothing, so no time.
    fn download(&mut self, mib: u64, extra: Option<&Dist>, pool: &PoolSpec, rngs: &mut Streams) -> SimDuration;

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
    fn allocate(&mut self, _: NodeRef, pool: &PoolSpec, rngs: &mut Streams) -> Completion {
        let took = pool.allocation_time.sample(&mut rngs.allocation);
        Completion::After(faster(took, pool.image.speed_up(&mut rngs.allocation)))
    }

    fn boot(&mut self, _: NodeRef, pool: &PoolSpec, rngs: &mut Streams) -> SimDuration {
        let boot = pool.boot_time.sample(&mut rngs.boot);
        faster(boot, pool.image.speed_up(&mut rngs.boot))
    }

    fn start_task(&mut self, _: NodeRef, task: &StartTask, rngs: &mut Streams) -> Option<Completion> {
        task.wait_for_success.then(|| Completion::After(task.duration.sample(&mut rngs.start_task)))
    }

    fn download(&mut self, mib: u64, extra: Option<&Dist>, pool: &PoolSpec, rngs: &mut Streams) -> SimDuration {
        let mut took = SimDuration::ZERO;
        if mib > 0 {
            took = download_time(pool.vm.download_per_gib.sample(&mut rngs.downloads), mib);
        }
        if let Some(extra) = extra {
            took += extra.sample(&mut rngs.downloads);
        }
        took
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
/// takes with [`Simulation::take_requests`](super::Simulation::take_requests)
/// and carries out on a machine
/// that joined; the machine reports back. A machine's node is ready as
/// soon as it joins (its machine is already up).
#[derive(Debug, Clone, Default)]
pub struct Requested {
    /// The requests the driver has not taken yet, in order.
    pub(crate) requests: Vec<Request>,
}

impl Agents for Requested {
    fn allocate(&mut self, node: NodeRef, _: &PoolSpec, _: &mut Streams) -> Completion {
        self.requests.push(Request::Allocate(node));
        Completion::Reported
    }

    fn boot(&mut self, _: NodeRef, _: &PoolSpec, _: &mut Streams) -> SimDuration {
        SimDuration::ZERO
    }

    fn start_task(&mut self, node: NodeRef, _: &StartTask, _: &mut Streams) -> Option<Completion> {
        self.requests.push(Request::Run(node, Work::StartTask));
        Some(Completion::Reported)
    }

    fn download(&mut self, _: u64, _: Option<&Dist>, _: &PoolSpec, _: &mut Streams) -> SimDuration {
        SimDuration::ZERO
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

/// Makes `$call` on whichever agents a run has, bound to `$agents`.
macro_rules! forward {
    ($self:ident, $agents:ident => $call:expr) => {
        match $self {
            AnyAgents::Simulated($agents) => $call,
            AnyAgents::Requested($agents) => $call,
        }
    };
}

impl Agents for AnyAgents {
    fn allocate(&mut self, node: NodeRef, pool: &PoolSpec, rngs: &mut Streams) -> Completion {
        forward!(self, a => a.allocate(node, pool, rngs))
    }

    fn boot(&mut self, node: NodeRef, pool: &PoolSpec, rngs: &mut Streams) -> SimDuration {
        forward!(self, a => a.boot(node, pool, rngs))
    }

    fn start_task(&mut self, node: NodeRef, task: &StartTask, rngs: &mut Streams) -> Option<Completion> {
        forward!(self, a => a.start_task(node, task, rngs))
    }

    fn download(&mut self, mib: u64, extra: Option<&Dist>, pool: &PoolSpec, rngs: &mut Streams) -> SimDuration {
        forward!(self, a => a.download(mib, extra, pool, rngs))
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
