//! The invariants a run keeps, recounted from scratch and compared with
//! the incremental counters (tests call this after every event): node
//! counts by state sum to the pool size, every task is in exactly one
//! place, billing equals the integral of billed nodes, no node is added
//! beside a drain, and nothing is kept for tasks or jobs done with.

use std::collections::HashSet;

use super::node::{NodeState, Nodes};
use super::pool::Pool;
use super::priority::Priority;
use super::scheduler::Scheduler;
use super::task::{TaskRole, TaskState};
use crate::time::SimTime;

/// Checks the nodes' counters at `now`, the drains, then the scheduler's counters.
pub(crate) fn check(pool: &Pool, sched: &Scheduler, now: SimTime) -> Result<(), String> {
    let nodes = &pool.nodes;
    nodes.check(now)?;
    check_drains(pool)?;
    check_places(sched, nodes)?;
    let placed = u64::from(sched.active_tasks())
        + u64::from(sched.running_tasks())
        + u64::from(sched.deps.waiting())
        + sched.succeeded
        + sched.failed
        + sched.blocked
        + sched.terminated;
    let submitted = sched.tasks.next_number();
    if placed != u64::from(submitted) {
        return Err(format!("{submitted} tasks submitted, {placed} accounted for"));
    }
    if let Some(t) = sched.kept_for_a_left_task() {
        return Err(format!("task {t} left memory, but its own constraints, files or exit code stayed"));
    }
    check_deps(sched)
}

/// The dependency tracker keeps only what may still change: numbered
/// tasks in flight and unfinished, and the ids of jobs that have not
/// ended.
fn check_deps(sched: &Scheduler) -> Result<(), String> {
    if let Some(t) = sched.deps.numbered().find(|&t| !sched.tasks.contains(t) || sched.tasks[t].state.is_final()) {
        return Err(format!("numbered task {t} is done with, but its dependents still wait for it"));
    }
    if let Some(job) = sched.deps.jobs().find(|&j| sched.job_ended(j)) {
        return Err(format!("job {job} ended, but its ids are kept"));
    }
    Ok(())
}

/// The draining nodes recounted, and none being created beside them: a
/// `taskcompletion` or `retaineddata` drain blocks every resize, so nodes
/// of its priority are only added once it has ended (a resize that
/// shrinks one priority may grow the other).
fn check_drains(pool: &Pool) -> Result<(), String> {
    let mut draining = [0; 2];
    for (_, node) in pool.nodes.iter().filter(|(_, n)| n.drains()) {
        draining[node.priority as usize] += 1;
    }
    if draining != pool.draining {
        return Err(format!("draining nodes: counter {:?} != recount {draining:?}", pool.draining));
    }
    for p in Priority::ALL {
        let creating = pool.nodes.count(p, NodeState::Creating);
        if draining[p as usize] > 0 && creating > 0 {
            return Err(format!("{creating} {} nodes created while {draining:?} drain", p.name()));
        }
    }
    Ok(())
}

/// Where each task was found, as the checks go: every task must be in
/// exactly one place (a multi-instance task on one node per instance).
/// Only the tasks in flight have a place: `seen[i]` is task `first + i`.
struct Places<'a> {
    /// The tasks in flight found in a place.
    seen: HashSet<u32>,
    sched: &'a Scheduler,
}

impl Places<'_> {
    /// Task `t` is at `place`; an error if it was already somewhere.
    fn mark(&mut self, t: u32, place: &str) -> Result<(), String> {
        if !self.sched.tasks.contains(t) {
            return Err(format!("task {t} ({place}) is not in flight"));
        }
        let again = !self.seen.insert(t);
        if again && !(place == "a node" && self.sched.multi.contains_key(&t)) {
            return Err(format!("task {t} is in two places (second: {place})"));
        }
        Ok(())
    }
}

/// Checks that every task is in exactly one place, that the buckets match
/// the nodes, and that the task counters match a recount.
fn check_places(sched: &Scheduler, nodes: &Nodes) -> Result<(), String> {
    let mut places = Places { seen: HashSet::new(), sched };
    check_queued(sched, &mut places)?;
    check_nodes(sched, nodes, &mut places)?;
    check_multi(sched, nodes)?;
    check_counters(sched, &places.seen)
}

/// The parked and the queued tasks are active, each once.
fn check_queued(sched: &Scheduler, places: &mut Places<'_>) -> Result<(), String> {
    for &t in &sched.parked {
        places.mark(t, "parked")?;
        if sched.tasks[t].state != TaskState::Active {
            return Err(format!("task {t} is parked but {:?}", sched.tasks[t].state));
        }
    }
    for (t, job) in sched.ready.iter() {
        places.mark(t, "ready queue")?;
        let task = &sched.tasks[t];
        if task.state != TaskState::Active {
            return Err(format!("task {t} is queued but {:?}", task.state));
        }
        match job {
            Some(job) if job != task.job => {
                return Err(format!("task {t} of job {} waits in job {job}'s queue", task.job));
            }
            None if task.role != TaskRole::JobManager => return Err(format!("task {t} waits as a restarting manager")),
            _ => {}
        }
    }
    Ok(())
}

/// Each node's slots add up, it is in the bucket of its free slots when
/// it can take tasks, and its tasks are on a node as their state says.
fn check_nodes(sched: &Scheduler, nodes: &Nodes, places: &mut Places<'_>) -> Result<(), String> {
    let mut running = 0;
    for (i, node) in nodes.iter() {
        let used: u32 = node.running.iter().map(|p| sched.tasks[p.task].slots).sum();
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
            places.mark(p.task, "a node")?;
            running += 1;
            let job = sched.tasks[p.task].job;
            if p.preparing && !node.preparations.iter().any(|s| s.job == job) {
                return Err(format!("task {} waits on node {i} for a preparation that is not running", p.task));
            }
            if !sched.tasks[p.task].on_node() {
                return Err(format!("task {} is on a node but {:?}", p.task, sched.tasks[p.task].state));
            }
        }
    }
    if running != sched.running {
        return Err(format!("{running} tasks on nodes, counter says {}", sched.running));
    }
    Ok(())
}

/// The queued extra instances add up, and each running multi-instance
/// task is on as many nodes as it has instances left.
fn check_multi(sched: &Scheduler, nodes: &Nodes) -> Result<(), String> {
    let extra: u32 =
        sched.tasks.iter().filter(|(_, t)| t.state == TaskState::Active).map(|(_, t)| t.instances - 1).sum();
    if extra != sched.extra_queued {
        return Err(format!("queued extra instances: counter {} != recount {extra}", sched.extra_queued));
    }
    for (t, run) in &sched.multi {
        let on = run.nodes.iter().filter(|&&i| nodes.get(i).is_some_and(|n| n.running.iter().any(|p| p.task == *t)));
        if on.count() != run.left as usize || !sched.tasks[*t].on_node() {
            return Err(format!("multi-instance task {t}: {} instances left, not on as many nodes", run.left));
        }
    }
    Ok(())
}

/// Every task not found in a place is counted by its state, and the
/// counters agree; `seen` says which tasks in flight were found. The
/// tasks that left memory count as the tally counted them.
fn check_counters(sched: &Scheduler, seen: &HashSet<u32>) -> Result<(), String> {
    let left = sched.tasks.tally();
    let (mut unplaceable, mut waiting) = (0, 0);
    let mut done = [TaskState::Succeeded, TaskState::Failed].map(|s| left.count(s));
    let (mut blocked, mut terminated) = (left.count(TaskState::Blocked), left.count(TaskState::Terminated));
    for (t, task) in sched.tasks.iter() {
        if (task.state == TaskState::Waiting) != sched.deps.is_waiting(t) {
            return Err(format!("task {t} is {:?}, dependencies disagree", task.state));
        }
        match task.state {
            TaskState::Active if !seen.contains(&t) => unplaceable += 1,
            TaskState::Succeeded => done[0] += 1,
            TaskState::Failed => done[1] += 1,
            TaskState::Waiting => waiting += 1,
            TaskState::Blocked => blocked += 1,
            TaskState::Terminated => terminated += 1,
            TaskState::Active | TaskState::Preparing | TaskState::Running if !seen.contains(&t) => {
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
