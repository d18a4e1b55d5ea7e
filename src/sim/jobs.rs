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

use std::cmp::Reverse;

use super::agents::{Agents, Completion, Work};
use super::node::{JobStep, Node};
use super::task::{Task, TaskRole, TaskState};
use super::{Event, Simulation};
use crate::time::{SimDuration, SimTime};

/// Which job task ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobTaskKind {
    /// A job preparation task.
    Preparation,
    /// A job release task.
    Release,
}

impl JobTaskKind {
    /// As in `job_tasks.csv`.
    pub fn name(self) -> &'static str {
        match self {
            JobTaskKind::Preparation => "preparation",
            JobTaskKind::Release => "release",
        }
    }

    /// The tasks of this kind running on `node`.
    fn running_on(self, node: &mut Node) -> &mut Vec<JobStep> {
        match self {
            JobTaskKind::Preparation => &mut node.preparations,
            JobTaskKind::Release => &mut node.releases,
        }
    }

    /// What a real agent runs for job `job`'s task of this kind.
    fn work(self, job: u32) -> Work {
        match self {
            JobTaskKind::Preparation => Work::Preparation { job },
            JobTaskKind::Release => Work::Release { job },
        }
    }
}

/// One run of a job preparation or release task on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobTaskRun {
    /// Preparation or release.
    pub kind: JobTaskKind,
    /// Index of the job.
    pub job: u32,
    /// Id of the node.
    pub node: u32,
    /// When it started.
    pub start: SimTime,
    /// When it ended.
    pub end: SimTime,
    /// Whether it succeeded.
    pub succeeded: bool,
}

impl Simulation {
    /// Queues every job's manager task, at the start: the service queues
    /// it when the job is created.
    pub(crate) fn submit_managers(&mut self) {
        let admitted = self.scenario.admitted_jobs();
        for (j, job) in self.scenario.jobs.iter().enumerate().take(admitted) {
            let Some(manager) = &job.manager else { continue };
            let duration = manager.duration.sample(&mut self.rngs.job_tasks);
            let number = self.sched.tasks.len() as u32;
            self.sched.tasks.push(Task::new(j as u32, SimTime::ZERO, duration, [1, 1], TaskRole::JobManager));
            self.sched.enqueue(number);
        }
    }

    /// What node `index` must do before `task` can run there: nothing
    /// (no preparation task, or the node ran it), wait for the job's
    /// preparation already running there, or start it — drawn now: how
    /// long it takes and whether it succeeds.
    pub(crate) fn preparation(&mut self, task: u32, index: u32) -> Preparation {
        let job = self.sched.tasks[task as usize].job;
        let Some(prep) = self.scenario.jobs.get(job as usize).and_then(|j| j.preparation.as_ref()) else {
            return Preparation::Done;
        };
        let Some(node) = self.nodes.get(index) else { return Preparation::Done };
        if node.prepared.contains(&job) {
            Preparation::Done
        } else if node.preparations.iter().any(|p| p.job == job) {
            Preparation::Join
        } else {
            let (took, ok) = prep.run(&mut self.rngs.preparation);
            Preparation::Start(took, ok)
        }
    }

    /// Starts job task `kind` of job `job` on node `index`: simulated, its
    /// end is an event `took` from now with outcome `ok`; on a real agent,
    /// it is requested and the agent reports its end.
    pub(crate) fn start_job_task(&mut self, index: u32, job: u32, kind: JobTaskKind, (took, ok): (SimDuration, bool)) {
        let now = self.q.now();
        let event = match kind {
            JobTaskKind::Preparation => Event::PrepEnded { node: index, job, ok },
            JobTaskKind::Release => Event::ReleaseEnded { node: index, job, ok },
        };
        let Some(node) = self.node_ref(index) else { return };
        let end = match self.agents.run(node, kind.work(job), took) {
            Completion::After(took) => Some(self.q.schedule_in(took, event)),
            Completion::Reported => None,
        };
        if let Some(node) = self.nodes.get_mut(index) {
            kind.running_on(node).push(JobStep { job, end, since: now });
        }
    }

    /// Job task `kind` of job `job` ended on node `index`: it is recorded.
    /// False when none was running there.
    fn end_job_task(&mut self, index: u32, job: u32, kind: JobTaskKind, succeeded: bool) -> bool {
        let end = self.q.now();
        let Some(node) = self.nodes.get_mut(index) else { return false };
        let steps = kind.running_on(node);
        let Some(pos) = steps.iter().position(|s| s.job == job) else { return false };
        let start = steps.swap_remove(pos).since;
        self.job_tasks.push(JobTaskRun { kind, job, node: node.id, start, end, succeeded });
        true
    }

    /// Job `job`'s preparation task ended on node `index`: the job's tasks
    /// waiting there run, or on failure go back to the queue.
    pub(crate) fn on_prep_ended(&mut self, index: u32, job: u32, ok: bool) {
        if !self.end_job_task(index, job, JobTaskKind::Preparation, ok) {
            return;
        }
        let (now, ended) = (self.q.now(), self.job_ended(job));
        let Some(node) = self.nodes.get_mut(index) else { return };
        let tasks = &self.sched.tasks;
        let waiting: Vec<u32> =
            node.running.iter().filter(|p| p.preparing && tasks[p.task as usize].job == job).map(|p| p.task).collect();
        if ok {
            // A job that ended meanwhile runs no release here, so it stays
            // unprepared.
            if !ended {
                node.prepared.push(job);
            }
            for task in waiting {
                self.begin_run(index, task);
            }
            return;
        }
        node.prep_failed.push(job);
        self.sched.prep_failures_seen = true;
        for task in waiting {
            let mut emptied = self.stop_run(task, index, now);
            if self.nodes.get(index).is_some_and(|n| n.running.is_empty()) {
                emptied.push(index);
            }
            self.sched.tasks[task as usize].state = TaskState::Active;
            self.sched.enqueue(task);
            for n in emptied {
                self.node_emptied(n);
            }
        }
        self.schedule();
    }

    /// Whether job `job` has ended.
    pub(crate) fn job_ended(&self, job: u32) -> bool {
        self.ended_jobs.get(job as usize).copied().unwrap_or(false)
    }

    /// Job `job` reached its wall-clock limit.
    pub(crate) fn on_job_timeout(&mut self, job: u32) {
        self.end_job(job);
    }

    /// Job `job` ends now: its tasks with it, then its release tasks run.
    pub(crate) fn end_job(&mut self, job: u32) {
        let now = self.q.now();
        let j = job as usize;
        if self.ended_jobs.len() <= j {
            self.ended_jobs.resize(j + 1, false);
        }
        if std::mem::replace(&mut self.ended_jobs[j], true) {
            return;
        }
        // Running tasks first, node by node: they fail, which blocks their
        // dependents before the pass below terminates the rest.
        let on_nodes: Vec<(u32, u32)> = self
            .nodes
            .iter()
            .flat_map(|(i, n)| n.running.iter().map(move |p| (i, p.task)))
            .filter(|&(_, t)| self.sched.tasks[t as usize].job == job)
            .collect();
        for (index, task) in on_nodes {
            // Already stopped with another instance of the same task.
            if !self.sched.tasks[task as usize].on_node() {
                continue;
            }
            let mut emptied = self.stop_run(task, index, now);
            if self.nodes.get(index).is_some_and(|n| n.running.is_empty()) {
                emptied.push(index);
            }
            self.finish_task(task, false, now);
            for node in emptied {
                self.node_emptied(node);
            }
        }
        let s = &mut self.sched;
        let tasks = &s.tasks;
        let before = s.ready.len() + s.parked.len();
        s.ready.retain(|&(_, Reverse(t))| tasks[t as usize].job != job);
        s.parked.retain(|&t| tasks[t as usize].job != job);
        let mut from_queue = (before - s.ready.len() - s.parked.len()) as u32;
        for t in 0..s.tasks.len() as u32 {
            let task = &s.tasks[t as usize];
            if task.job != job {
                continue;
            }
            match task.state {
                TaskState::Active if from_queue > 0 => {
                    from_queue -= 1;
                    s.extra_queued -= task.instances - 1;
                }
                TaskState::Active => {
                    s.unplaceable -= 1;
                    s.extra_queued -= task.instances - 1;
                }
                TaskState::Waiting => s.deps.abandon(t, &mut Vec::new()),
                _ => continue,
            }
            let task = &mut s.tasks[t as usize];
            task.state = TaskState::Terminated;
            task.end = Some(now);
            s.terminated += 1;
        }
        self.start_releases(job);
        self.schedule();
    }

    /// Runs job `job`'s release task on every node that prepared it.
    fn start_releases(&mut self, job: u32) {
        let Some(release) = self.scenario.jobs.get(job as usize).and_then(|j| j.release.clone()) else { return };
        let prepared: Vec<u32> = self.nodes.iter().filter(|(_, n)| n.prepared.contains(&job)).map(|(i, _)| i).collect();
        for index in prepared {
            if let Some(node) = self.nodes.get_mut(index) {
                node.prepared.retain(|&p| p != job);
            }
            let run = release.run(&mut self.rngs.job_tasks);
            self.start_job_task(index, job, JobTaskKind::Release, run);
        }
    }

    /// A job release task ended on node `index`; a leaving node may go.
    pub(crate) fn on_release_ended(&mut self, index: u32, job: u32, ok: bool) {
        if !self.end_job_task(index, job, JobTaskKind::Release, ok) {
            return;
        }
        if self.nodes.get(index).is_some_and(|n| n.releases.is_empty() && n.running.is_empty()) {
            self.node_emptied(index);
        }
    }

    /// Forgets what a node knew of jobs — it restarted or was reclaimed:
    /// every job prepares again, and preparation and release tasks in
    /// flight are lost.
    pub(crate) fn forget_jobs(&mut self, index: u32) {
        let Some(node) = self.nodes.get_mut(index) else { return };
        node.prepared.clear();
        node.prep_failed.clear();
        for kind in [JobTaskKind::Preparation, JobTaskKind::Release] {
            let Some(node) = self.nodes.get_mut(index) else { return };
            for step in std::mem::take(kind.running_on(node)) {
                if let Some(end) = step.end {
                    self.q.cancel(end);
                }
                if let Some(node) = self.node_ref(index) {
                    self.agents.stop(node, kind.work(step.job));
                }
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
