//! The invariants a run keeps, recounted from scratch and compared with
//! the incremental counters (tests call this after every event): node
//! counts by state sum to the pool size, every task is in exactly one
//! place, billing equals the integral of billed nodes.

use std::cmp::Reverse;

use super::node::{NodeState, Nodes};
use super::scheduler::Scheduler;
use super::task::TaskState;
use crate::time::SimTime;

/// Checks the nodes' counters at `now`, then the scheduler's.
pub(crate) fn check(nodes: &Nodes, sched: &Scheduler, now: SimTime) -> Result<(), String> {
    nodes.check(now)?;
    check_places(sched, nodes)?;
    let placed = u64::from(sched.active_tasks())
        + u64::from(sched.running_tasks())
        + u64::from(sched.deps.waiting())
        + sched.succeeded
        + sched.failed
        + sched.blocked
        + sched.terminated;
    if placed != sched.tasks.len() as u64 {
        return Err(format!("{} tasks submitted, {placed} accounted for", sched.tasks.len()));
    }
    Ok(())
}

/// Checks that every task is in exactly one place and that the
/// buckets match the nodes.
pub(crate) fn check_places(sched: &Scheduler, nodes: &Nodes) -> Result<(), String> {
    let mut seen = vec![false; sched.tasks.len()];
    let multi = &sched.multi;
    let mut mark = |t: u32, place: &str| -> Result<(), String> {
        let slot = seen.get_mut(t as usize).ok_or(format!("task {t} ({place}) does not exist"))?;
        if std::mem::replace(slot, true) && !(place == "a node" && multi.contains_key(&t)) {
            return Err(format!("task {t} is in two places (second: {place})"));
        }
        Ok(())
    };
    for &t in &sched.parked {
        mark(t, "parked")?;
        if sched.tasks[t as usize].state != TaskState::Active {
            return Err(format!("task {t} is parked but {:?}", sched.tasks[t as usize].state));
        }
    }
    for &(_, Reverse(t)) in sched.ready.iter() {
        mark(t, "ready queue")?;
        if sched.tasks[t as usize].state != TaskState::Active {
            return Err(format!("task {t} is queued but {:?}", sched.tasks[t as usize].state));
        }
    }
    let mut running = 0;
    for (i, node) in nodes.iter() {
        let used: u32 = node.running.iter().map(|p| sched.tasks[p.task as usize].slots).sum();
        if node.free_slots + used != sched.buckets.len() as u32 - 1 {
            return Err(format!("node {i}: {} free + {used} used slots", node.free_slots));
        }
        if let Some(pos) = node.bucket_pos
            && sched.buckets[node.free_slots as usize].get(pos as usize) != Some(&i)
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
            let job = sched.tasks[p.task as usize].job;
            if p.preparing && !node.preparations.iter().any(|s| s.job == job) {
                return Err(format!("task {} waits on node {i} for a preparation that is not running", p.task));
            }
            if !sched.tasks[p.task as usize].on_node() {
                return Err(format!("task {} is on a node but {:?}", p.task, sched.tasks[p.task as usize].state));
            }
        }
    }
    if running != sched.running {
        return Err(format!("{running} tasks on nodes, counter says {}", sched.running));
    }
    let extra: u32 = sched.tasks.iter().filter(|t| t.state == TaskState::Active).map(|t| t.instances - 1).sum();
    if extra != sched.extra_queued {
        return Err(format!("queued extra instances: counter {} != recount {extra}", sched.extra_queued));
    }
    for (t, run) in &sched.multi {
        let on = run.nodes.iter().filter(|&&i| nodes.get(i).is_some_and(|n| n.running.iter().any(|p| p.task == *t)));
        if on.count() != run.left as usize || !sched.tasks[*t as usize].on_node() {
            return Err(format!("multi-instance task {t}: {} instances left, not on as many nodes", run.left));
        }
    }
    let (mut unplaceable, mut done, mut waiting, mut blocked, mut terminated) = (0, [0u64; 2], 0, 0, 0);
    for (t, task) in sched.tasks.iter().enumerate() {
        if (task.state == TaskState::Waiting) != sched.deps.is_waiting(t as u32) {
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
    if (waiting, blocked, terminated) != (sched.deps.waiting(), sched.blocked, sched.terminated) {
        return Err(format!(
            "counters (waiting {}, blocked {}, terminated {}) != recount ({waiting}, {blocked}, {terminated})",
            sched.deps.waiting(),
            sched.blocked,
            sched.terminated
        ));
    }
    if unplaceable != sched.unplaceable || done != [sched.succeeded, sched.failed] {
        return Err(format!(
            "counters (unplaceable {}, succeeded {}, failed {}) != recount ({unplaceable}, {}, {})",
            sched.unplaceable, sched.succeeded, sched.failed, done[0], done[1]
        ));
    }
    Ok(())
}
