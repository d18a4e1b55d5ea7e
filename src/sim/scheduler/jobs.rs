//! Job-level rules: the job manager task, job preparation and release
//! tasks, and the end of a job — by its `max_wall_clock_time`, or when its
//! job manager completes (the service's default `killJobOnCompletion`).
//!
//! The service terminates an ended job: running tasks are stopped (they
//! complete as failed, as with the `terminate` deallocation option), tasks
//! not running never run (`terminated`), and tasks added to the job later
//! are refused, so its sources stop. Then each node that prepared the job
//! runs its release task.
//!
//! A job preparation task runs on a node before the job's first task
//! there (since the node joined, or last rebooted, was reimaged or
//! preempted); the task waiting for it is `preparing` and holds its slots.
//! If it fails, the node takes no more of the job's tasks until it
//! restarts, and the task goes back to the queue without using a retry.

use super::{NodeSide, Scheduler};
use crate::scenario::downloads::total_mib;
use crate::sim::agents::{Agents, Completion, Work};
use crate::sim::fetch;
use crate::sim::node::{JobStep, Node, Nodes};
use crate::sim::records::RecordLog;
use crate::sim::task::{JobTaskKind, JobTaskRun, Task, TaskFailure, TaskRole, TaskState};
use crate::sim::{Env, Event};
use crate::time::{SimDuration, SimTime};

/// The tasks of `kind` running on `node`.
fn running_on(kind: JobTaskKind, node: &mut Node) -> &mut Vec<JobStep> {
    match kind {
        JobTaskKind::Preparation => &mut node.preparations,
        JobTaskKind::Release => &mut node.releases,
    }
}

/// What a real agent runs for job `job`'s task of `kind`.
fn work(kind: JobTaskKind, job: u32) -> Work {
    match kind {
        JobTaskKind::Preparation => Work::Preparation { job },
        JobTaskKind::Release => Work::Release { job },
    }
}

/// What the job rules remember: which jobs have ended, and every job
/// preparation and release run so far.
#[derive(Debug, Default)]
pub(crate) struct Jobs {
    /// Jobs ended (by their `max_wall_clock_time` or their job manager),
    /// by job index.
    ended: Vec<bool>,
    /// How many are true in `ended`: the jobs that no longer count
    /// against the active-job quota.
    ended_count: u32,
    /// Job preparation and release runs so far, kept or sent to a sink
    /// (`job_tasks.csv`) as the run says.
    pub(crate) runs: RecordLog<JobTaskRun>,
}

impl Scheduler {
    /// Queues the manager task of every admitted file job of the pool, at
    /// the start: the service queues it when the job is created.
    pub(crate) fn submit_managers(&mut self, env: &mut Env) {
        for j in 0..env.scenario.admitted_jobs() {
            if env.scenario.jobs[j].pool == env.pool {
                self.submit_manager(j as u32, env);
            }
        }
    }

    /// Queues job `j`'s manager task, if it has one, as the job is
    /// created now.
    pub(crate) fn submit_manager(&mut self, j: u32, env: &mut Env) {
        let Some(manager) = &env.scenario.jobs[j as usize].manager else { return };
        let duration = manager.duration.sample(&mut env.rngs.job_tasks);
        let number = self.tasks.next_number();
        self.tasks.push(Task::new(j, env.q.now(), duration, [1, 1], TaskRole::JobManager));
        self.enqueue(number);
    }

    /// Job task `kind` of job `job` ended on node `index`: it is recorded.
    /// False when none was running there.
    fn end_job_task(
        &mut self,
        index: u32,
        job: u32,
        kind: JobTaskKind,
        succeeded: bool,
        nodes: &mut Nodes,
        end: SimTime,
    ) -> bool {
        let Some(node) = nodes.get_mut(index) else { return false };
        let steps = running_on(kind, node);
        let Some(pos) = steps.iter().position(|s| s.job == job) else { return false };
        let start = steps.swap_remove(pos).since;
        self.jobs.runs.push(JobTaskRun { kind, job, node: node.id, start, end, succeeded });
        true
    }

    /// Job `job`'s preparation task ended on node `index`: the job's tasks
    /// waiting there run, or on failure go back to the queue.
    pub(crate) fn on_prep_ended<P: NodeSide>(&mut self, index: u32, job: u32, ok: bool, pool: &mut P, env: &mut Env) {
        let now = env.q.now();
        if !self.end_job_task(index, job, JobTaskKind::Preparation, ok, pool.nodes_mut(), now) {
            return;
        }
        let ended = self.job_ended(job);
        let nodes = pool.nodes_mut();
        let Some(node) = nodes.get_mut(index) else { return };
        let tasks = &self.tasks;
        let waiting: Vec<u32> =
            node.running.iter().filter(|p| p.preparing && tasks[p.task].job == job).map(|p| p.task).collect();
        if ok {
            // A job that ended meanwhile runs no release here, so it stays
            // unprepared.
            if !ended {
                node.prepared.push(job);
            }
            for task in waiting {
                self.begin_run(index, task, nodes, env);
            }
            return;
        }
        node.prep_failed.push(job);
        self.prep_failures_seen = true;
        for task in waiting {
            let nodes = pool.nodes_mut();
            let mut emptied = self.stop_run(task, index, now, nodes, env);
            if nodes.get(index).is_some_and(|n| n.running.is_empty()) {
                emptied.push(index);
            }
            self.tasks[task].state = TaskState::Active;
            self.enqueue(task);
            for n in emptied {
                pool.node_emptied(n, self, env);
            }
        }
        self.schedule(pool, env);
    }

    /// How many jobs have ended so far.
    pub(crate) fn ended_jobs(&self) -> u32 {
        self.jobs.ended_count
    }

    /// Whether job `job` has ended.
    pub(crate) fn job_ended(&self, job: u32) -> bool {
        self.jobs.ended.get(job as usize).copied().unwrap_or(false)
    }

    /// Job `job` ends now: its tasks with it, then its release tasks run.
    pub(crate) fn end_job<P: NodeSide>(&mut self, job: u32, pool: &mut P, env: &mut Env) {
        let now = env.q.now();
        let j = job as usize;
        if self.jobs.ended.len() <= j {
            self.jobs.ended.resize(j + 1, false);
        }
        if std::mem::replace(&mut self.jobs.ended[j], true) {
            return;
        }
        self.jobs.ended_count += 1;
        // Running tasks first, node by node: they fail, which blocks their
        // dependents before the pass below terminates the rest.
        let on_nodes: Vec<(u32, u32)> = pool
            .nodes()
            .iter()
            .flat_map(|(i, n)| n.running.iter().map(move |p| (i, p.task)))
            .filter(|&(_, t)| self.tasks[t].job == job)
            .collect();
        for (index, task) in on_nodes {
            // Already stopped with another instance of the same task.
            if !self.tasks[task].on_node() {
                continue;
            }
            let nodes = pool.nodes_mut();
            let mut emptied = self.stop_run(task, index, now, nodes, env);
            if nodes.get(index).is_some_and(|n| n.running.is_empty()) {
                emptied.push(index);
            }
            self.finish_task(task, Some(TaskFailure::TaskEnded), now, pool, env);
            for node in emptied {
                pool.node_emptied(node, self, env);
            }
        }
        self.terminate_queued(job, now);
        start_releases(job, pool.nodes_mut(), env);
        self.schedule(pool, env);
    }

    /// A job release task ended on node `index`; a leaving node may go.
    pub(crate) fn on_release_ended<P: NodeSide>(
        &mut self,
        index: u32,
        job: u32,
        ok: bool,
        pool: &mut P,
        env: &mut Env,
    ) {
        let now = env.q.now();
        if !self.end_job_task(index, job, JobTaskKind::Release, ok, pool.nodes_mut(), now) {
            return;
        }
        if pool.nodes().get(index).is_some_and(|n| n.releases.is_empty() && n.running.is_empty()) {
            pool.node_emptied(index, self, env);
        }
    }
}

/// What node `index` must do before a task of job `job` can run
/// there: nothing (no preparation task, or the node ran it), wait for
/// the job's preparation already running there, or start it — drawn
/// now: how long it takes and whether it succeeds.
pub(super) fn preparation(job: u32, index: u32, nodes: &Nodes, env: &mut Env) -> Preparation {
    let Some(prep) = env.scenario.jobs.get(job as usize).and_then(|j| j.preparation.as_ref()) else {
        return Preparation::Done;
    };
    let Some(node) = nodes.get(index) else { return Preparation::Done };
    if node.prepared.contains(&job) {
        Preparation::Done
    } else if node.preparations.iter().any(|p| p.job == job) {
        Preparation::Join
    } else {
        let mib = total_mib(&prep.resource_files);
        let (mut took, ok) = prep.run(&mut env.rngs.preparation);
        took += fetch::resource_files(mib, env);
        Preparation::Start(took, ok)
    }
}

/// Starts job task `kind` of job `job` on node `index`: simulated, its
/// end is an event `took` from now with outcome `ok`; on a real agent,
/// it is requested and the agent reports its end.
pub(super) fn start_job_task(
    index: u32,
    job: u32,
    kind: JobTaskKind,
    (took, ok): (SimDuration, bool),
    nodes: &mut Nodes,
    env: &mut Env,
) {
    let now = env.q.now();
    let event = match kind {
        JobTaskKind::Preparation => Event::PrepEnded { node: index, job, ok },
        JobTaskKind::Release => Event::ReleaseEnded { node: index, job, ok },
    };
    let Some(node) = nodes.node_ref(index) else {
        debug_assert!(false, "work started on node {index}, which is not in the pool");
        return;
    };
    let end = match env.agents.run(node, work(kind, job), took) {
        Completion::After(took) => Some(env.q.schedule_in(took, event)),
        Completion::Reported => None,
    };
    if let Some(node) = nodes.get_mut(index) {
        running_on(kind, node).push(JobStep { job, end, since: now });
    }
}

/// Runs job `job`'s release task on every node that prepared it.
fn start_releases(job: u32, nodes: &mut Nodes, env: &mut Env) {
    let Some(release) = env.scenario.jobs.get(job as usize).and_then(|j| j.release.clone()) else { return };
    let prepared: Vec<u32> = nodes.iter().filter(|(_, n)| n.prepared.contains(&job)).map(|(i, _)| i).collect();
    for index in prepared {
        if let Some(node) = nodes.get_mut(index) {
            node.prepared.retain(|&p| p != job);
        }
        let (mut took, ok) = release.run(&mut env.rngs.job_tasks);
        took += fetch::resource_files(total_mib(&release.resource_files), env);
        let run = (took, ok);
        start_job_task(index, job, JobTaskKind::Release, run, nodes, env);
    }
}

/// Forgets what node `index` knew of jobs — it restarted or was
/// reclaimed: every job prepares again, and preparation and release tasks
/// in flight are lost.
pub(crate) fn forget_jobs(nodes: &mut Nodes, index: u32, env: &mut Env) {
    let Some(node) = nodes.get_mut(index) else { return };
    node.prepared.clear();
    node.prep_failed.clear();
    for kind in [JobTaskKind::Preparation, JobTaskKind::Release] {
        let Some(node) = nodes.get_mut(index) else { return };
        for step in std::mem::take(running_on(kind, node)) {
            if let Some(end) = step.end {
                env.q.cancel(end);
            }
            if let Some(node) = nodes.node_ref(index) {
                env.agents.stop(node, work(kind, step.job));
            }
        }
    }
}

/// What a node must do before a task can run there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Preparation {
    /// Nothing: the task runs at once.
    Done,
    /// Wait for the job's preparation task already running there.
    Join,
    /// Run the job's preparation task, taking this long, with this outcome.
    Start(SimDuration, bool),
}
