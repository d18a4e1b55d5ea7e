//! Multi-instance tasks: `instances` nodes with a free slot at once (the
//! pool has one slot per node), one instance on each, started together.
//! The task ends when its last instance does, with one success-or-failure
//! draw for the whole task; stopping one instance (requeue, terminate,
//! preemption, a job's end) stops them all, so a requeued instance
//! requeues the task.

use super::{NodeSide, Scheduler};
use crate::sim::Env;
use crate::sim::agents::{Agents, Work};
use crate::sim::node::Nodes;
use crate::sim::task::MultiRun;
use crate::time::SimTime;

/// What the end of one instance means for its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstanceEnd {
    /// Other instances still run: the task is not done.
    Others,
    /// It was the last (or only) one; `failure` is the first non-zero exit
    /// code an agent reported for another instance.
    Last {
        /// That code, if any.
        failure: Option<i32>,
    },
}

impl Scheduler {
    /// Nodes with a free slot for each instance of multi-instance task
    /// `task`, if enough have one now.
    pub(super) fn multi_nodes<P: NodeSide>(&mut self, task: u32, pool: &mut P) -> Option<Vec<u32>> {
        let (n, job) = (self.tasks[task].instances, self.tasks[task].job);
        let mut nodes = Vec::with_capacity(n as usize);
        // One slot per node: a node that fits has exactly one free slot.
        // Nodes leave the free list as they are taken, so take the one on
        // offer each time.
        for _ in 0..n {
            let Some(node) = self.pick(pool.nodes(), 1, Some(job)) else { break };
            if nodes.contains(&node) {
                break;
            }
            nodes.push(node);
            self.make_unschedulable(pool.nodes_mut(), node);
        }
        for &node in &nodes {
            self.make_schedulable(pool.nodes_mut(), node);
        }
        (nodes.len() as u32 == n).then_some(nodes)
    }

    /// Starts multi-instance task `task`, taken off the queue, with one
    /// instance on each of `nodes` (from [`Scheduler::multi_nodes`]).
    pub(super) fn start_multi<P: NodeSide>(&mut self, task: u32, nodes: &[u32], pool: &mut P, env: &mut Env) {
        let n = nodes.len() as u32;
        self.extra_queued -= n - 1;
        for (k, &node) in nodes.iter().enumerate() {
            self.start(task, node, k == 0, pool, env);
        }
        self.multi.insert(task, MultiRun { nodes: nodes.to_vec(), left: n, failure: None });
    }

    /// An instance of `task` ended on its own (already taken off its
    /// node), with the exit code a real agent reported, if any.
    pub(super) fn instance_ended(&mut self, task: u32, reported: Option<i32>) -> InstanceEnd {
        // The common case, on the hot path: no multi-instance task runs.
        if self.multi.is_empty() {
            return InstanceEnd::Last { failure: None };
        }
        let Some(run) = self.multi.get_mut(&task) else { return InstanceEnd::Last { failure: None } };
        if run.failure.is_none() {
            run.failure = reported.filter(|&code| code != 0);
        }
        run.left -= 1;
        if run.left > 0 {
            return InstanceEnd::Others;
        }
        let failure = run.failure;
        self.multi.remove(&task);
        InstanceEnd::Last { failure }
    }

    /// Stops `task`'s run early: on node `index`, and on the nodes of its
    /// other instances. Returns the other nodes left empty, for the caller
    /// to move on (the caller handles `index`).
    pub(super) fn stop_run(
        &mut self,
        task: u32,
        index: u32,
        now: SimTime,
        nodes: &mut Nodes,
        env: &mut Env,
    ) -> Vec<u32> {
        let run = if self.multi.is_empty() { None } else { self.multi.remove(&task) };
        let on_nodes = match run {
            Some(run) => run.nodes,
            None => vec![index],
        };
        let mut emptied = Vec::new();
        for node in on_nodes {
            let Some(p) = nodes.get(node).and_then(|n| n.running.iter().find(|p| p.task == task)).copied() else {
                continue;
            };
            // A task waiting for its job's preparation has nothing of its
            // own to stop: the preparation goes on for the node.
            if let Some(end) = p.end {
                env.q.cancel(end);
            }
            if !p.preparing
                && let Some(r) = nodes.node_ref(node)
            {
                env.agents.stop(r, Work::Task { task });
            }
            if self.unplace(task, node, now, nodes, env) && node != index {
                emptied.push(node);
            }
        }
        emptied
    }
}
