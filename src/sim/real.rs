//! The simulation as a driver of real agents sees it: a clock it moves
//! (`advance_to`), the requests the model made, and the reports that come
//! back — a machine joined, a piece of work exited, a machine was lost,
//! usage was measured. Each report is handed to the component it concerns.

use std::sync::Arc;

use super::Simulation;
use super::agents::{AnyAgents, NodeRef, Request, Requested, Work};
use super::node::NodeState;
use super::task::{Task, TaskState};
use crate::scenario::Scenario;
use crate::time::SimTime;

impl Simulation {
    /// Prepares `scenario` for real agents: work is requested, not
    /// simulated (see [`Simulation::new`] for `seed`).
    pub fn with_real_agents(scenario: impl Into<Arc<Scenario>>, seed: Option<u64>) -> Self {
        Simulation::with_agents(scenario.into(), 0, seed, AnyAgents::Requested(Requested::default()))
    }

    /// The requests made since the last call, in order (none with
    /// simulated agents).
    pub fn take_requests(&mut self) -> Vec<Request> {
        match &mut self.env.agents {
            AnyAgents::Requested(agents) => std::mem::take(&mut agents.requests),
            AnyAgents::Simulated(_) => Vec::new(),
        }
    }

    /// Whether `node` still names a node in the pool.
    fn current(&self, node: NodeRef) -> bool {
        self.pool.nodes.node_ref(node.index) == Some(node)
    }

    /// A machine took node `node`: it is allocated and starts at once.
    pub fn machine_ready(&mut self, node: NodeRef) {
        let creating = self.pool.nodes.get(node.index).is_some_and(|n| n.state() == NodeState::Creating);
        if self.current(node) && creating {
            if let Some(timer) = self.pool.nodes.get_mut(node.index).and_then(|n| n.timer.take()) {
                self.env.q.cancel(timer);
            }
            self.pool.on_allocated(node.index, &mut self.env);
        }
    }

    /// `work` exited with `exit_code` on node `node`; 0 is success.
    pub fn work_exited(&mut self, node: NodeRef, work: Work, exit_code: i32) {
        if !self.current(node) {
            return;
        }
        let index = node.index;
        let Simulation { pool, sched, env, .. } = self;
        let ok = exit_code == 0;
        match work {
            Work::StartTask => {
                if pool.nodes.get(index).is_some_and(|n| n.state() == NodeState::WaitingForStartTask) {
                    pool.start_task_ended(index, ok, sched, env);
                }
            }
            Work::Preparation { job } => sched.on_prep_ended(index, job, ok, pool, env),
            Work::Release { job } => sched.on_release_ended(index, job, ok, pool, env),
            Work::Task { task } => {
                let running =
                    pool.nodes.get(index).is_some_and(|n| n.running.iter().any(|p| p.task == task && !p.preparing));
                if running && sched.tasks[task].state == TaskState::Running {
                    sched.task_ended(index, task, Some(exit_code), pool, env);
                }
            }
        }
    }

    /// The machine of node `node` stopped answering: the node is unusable
    /// for good (node actions and preemption pass it by) and its tasks go
    /// back to the queue.
    pub fn machine_lost(&mut self, node: NodeRef) {
        if self.current(node) {
            let Simulation { pool, sched, env, .. } = self;
            pool.machine_lost(node.index, sched, env);
        }
    }

    /// The machine of node `node` measured its CPU (percent of the
    /// machine) and memory (MiB).
    pub fn machine_usage(&mut self, node: NodeRef, cpu_percent: f64, memory_mib: f64) {
        if self.current(node) {
            self.pool.nodes.set_usage(node.index, cpu_percent, memory_mib);
        }
    }

    /// When the next event is due, if any before the end.
    pub fn next_event_time(&mut self) -> Option<SimTime> {
        self.env.q.peek_time().filter(|&t| t <= self.end)
    }

    /// The end of the run.
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// Ends the run now rather than at the scenario's end — at the next
    /// whole second, where the timeline (which counts whole seconds of
    /// billing) gets its last row and the books close.
    pub fn stop_now(&mut self) {
        let now = self.env.q.now().as_millis();
        let stop = SimTime(now.div_ceil(1000) * 1000).min(self.end);
        self.advance_to(stop);
        self.end = stop;
        self.recorder.close(stop, &self.pool, &self.sched);
    }

    /// Task `n` (by submission number), if submitted and still in flight
    /// or kept ([`super::TaskRecords::Keep`], the default).
    pub fn task(&self, n: u32) -> Option<&Task> {
        self.sched.tasks.get(n)
    }

    /// Whether the workload is over: no task will arrive, and every task
    /// and job release task has finished (or can never run). A run with
    /// real agents stops there rather than wait, on the wall clock, for a
    /// scenario end with nothing left to do.
    pub fn workload_done(&self) -> bool {
        let s = &self.sched;
        self.workload.live == 0
            && s.running == 0
            && s.ready.is_empty()
            && s.parked.is_empty()
            && s.unplaceable == 0
            && s.deps.waiting() == 0
            && self.pool.nodes.iter().all(|(_, n)| n.releases.is_empty())
    }

    /// Delivers every event due by `t`, then moves the clock to `t` (never
    /// back, never past the end), so that reports arriving now are handled
    /// at the right instant.
    pub fn advance_to(&mut self, t: SimTime) {
        let t = t.min(self.end);
        while self.next_event_time().is_some_and(|next| next <= t) {
            if !self.step() {
                break;
            }
        }
        self.env.q.advance_to(t);
    }
}
