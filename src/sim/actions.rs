//! Node actions scheduled in the scenario: reboot, reimage, remove,
//! disable and enable scheduling, and `fail`, which breaks the node.
//!
//! The running tasks of a rebooted, reimaged or disabled node follow the
//! action's option: `requeue` and `terminate` stop them now;
//! `taskcompletion` (and `retaineddata`) let them finish — the node is
//! `offline` meanwhile and the reboot or reimage starts when the last one
//! ends. A removed node leaves as in a shrink, and the target drops by
//! one, as the service's remove-nodes call does; like a manual resize, a
//! removal is refused with `PoolNotSteady` while the pool is resizing. A
//! failed node is `unusable` and its tasks are requeued whatever the
//! option (they cannot finish on a broken node); a reboot or reimage
//! brings it back. An action naming a node that is not in the pool, or
//! not up (allocating, booting, preempted, leaving, restarting), is
//! ignored.
use autoscale_runtime::DeallocationOption;

use super::agents::Agents;
use super::fetch;

use super::node::NodeState;
use super::operations::Operation;
use super::pool::Pool;
use super::scheduler::{Scheduler, forget_jobs};
use super::{Env, Event};
use crate::scenario::NodeActionKind;
use crate::time::SimTime;

impl Pool {
    /// Node action `i` of the scenario is due.
    pub(crate) fn on_node_action(&mut self, i: u32, sched: &mut Scheduler, env: &mut Env) {
        let Some(action) = env.scenario.pools[env.pool].node_actions.get(i as usize).cloned() else { return };
        let Some((index, state, priority)) = self
            .nodes
            .iter()
            .find(|(_, n)| n.id == action.node && !n.machine_lost)
            .map(|(i, n)| (i, n.state(), n.priority))
        else {
            return;
        };
        let up = matches!(
            state,
            NodeState::Idle
                | NodeState::Running
                | NodeState::Offline
                | NodeState::StartTaskFailed
                | NodeState::Unusable
        );
        let pending = self.nodes.get(index).is_some_and(|n| n.pending.is_some());
        if !up || pending {
            return;
        }
        match action.action {
            NodeActionKind::Remove => {
                if !self.steady_for(Operation::RemoveNode { node: action.node }, env.q.now()) {
                    return;
                }
                let p = priority as usize;
                self.control.target[p] = self.control.target[p].saturating_sub(1);
                self.remove_node(index, action.deallocation, sched, env);
            }
            NodeActionKind::EnableScheduling => {
                if state == NodeState::Offline {
                    let busy = self.nodes.get(index).is_some_and(|n| !n.running.is_empty());
                    let back = if busy { NodeState::Running } else { NodeState::Idle };
                    self.nodes.set_state(index, back, env.q.now());
                    sched.make_schedulable(&mut self.nodes, index);
                }
            }
            NodeActionKind::Fail => self.make_unusable(index, sched, env),
            kind => {
                sched.make_unschedulable(&mut self.nodes, index);
                match action.deallocation {
                    DeallocationOption::Requeue => sched.stop_tasks(index, true, self, env),
                    DeallocationOption::Terminate => sched.stop_tasks(index, false, self, env),
                    DeallocationOption::TaskCompletion | DeallocationOption::RetainedData => {}
                }
                if !matches!(state, NodeState::StartTaskFailed | NodeState::Unusable) {
                    self.nodes.set_state(index, NodeState::Offline, env.q.now());
                }
                if kind != NodeActionKind::DisableScheduling {
                    if let Some(node) = self.nodes.get_mut(index) {
                        node.pending = Some(i);
                    }
                    self.pending_action_due(index, env);
                }
            }
        }
        sched.schedule(self, env);
    }

    /// Starts the reboot or reimage waiting on an `offline` node once its
    /// tasks have ended.
    pub(crate) fn pending_action_due(&mut self, index: u32, env: &mut Env) {
        let Some(node) = self.nodes.get_mut(index) else { return };
        if !node.running.is_empty() {
            return;
        }
        let Some(i) = node.pending.take() else { return };
        // A restarted node prepares every job again.
        forget_jobs(&mut self.nodes, index, env);
        if let Some(node) = self.nodes.node_ref(index) {
            env.agents.reset(node);
        }
        let Some(node) = self.nodes.get_mut(index) else { return };
        let Some(action) = env.scenario.pools[env.pool].node_actions.get(i as usize) else { return };
        let state = if action.action == NodeActionKind::Reimage {
            // A new OS disk: the data kept for `retaineddata` is gone.
            node.retain_until = SimTime::ZERO;
            NodeState::Reimaging
        } else {
            NodeState::Rebooting
        };
        self.nodes.set_state(index, state, env.q.now());
        let reimage = action.action == NodeActionKind::Reimage;
        let dist = action.duration.as_ref().unwrap_or(&env.scenario.pools[env.pool].boot_time);
        let mut took = dist.sample(&mut env.rngs.node_actions);
        if reimage && let Some(node) = self.nodes.get_mut(index) {
            // A new OS disk fetches the image and the pool's packages again.
            fetch::wipe(node);
            took += fetch::node_setup(node, env);
        }
        let timer = env.q.schedule_in(took, Event::Restarted(index));
        self.nodes.set_timer(index, timer);
    }

    /// The machine of node `index` is gone (its real agent stopped
    /// answering): the node is unusable for good, since no restart can
    /// bring back a machine that does not answer.
    pub(crate) fn machine_lost(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        if let Some(node) = self.nodes.get_mut(index) {
            node.machine_lost = true;
        }
        self.make_unusable(index, sched, env);
    }

    /// Node `index` breaks: it gets no more tasks, its tasks go back to
    /// the queue without using a retry, and whatever it was about to do (a
    /// start task, a restart, an action waiting for its tasks) is off. A
    /// leaving node simply goes on leaving, without its tasks.
    pub(crate) fn make_unusable(&mut self, index: u32, sched: &mut Scheduler, env: &mut Env) {
        let Some(node) = self.nodes.get_mut(index) else { return };
        let state = node.state();
        if state == NodeState::Unusable {
            return;
        }
        let leaving = state == NodeState::LeavingPool;
        if !leaving {
            node.pending = None;
            if let Some(timer) = node.timer.take() {
                env.q.cancel(timer);
            }
        }
        sched.make_unschedulable(&mut self.nodes, index);
        sched.stop_tasks(index, true, self, env);
        forget_jobs(&mut self.nodes, index, env);
        if leaving {
            self.continue_leaving(index, sched, env);
        } else {
            self.nodes.set_state(index, NodeState::Unusable, env.q.now());
        }
        sched.schedule(self, env);
    }
}
