//! Job-level rules: a job that reaches its `max_wall_clock_time` ends,
//! and so do its tasks.
//!
//! The service terminates such a job: running tasks are stopped (they
//! complete as failed, as with the `terminate` deallocation option), tasks
//! not running never run (`terminated`), and tasks added to the job later
//! are refused, so its sources stop.

use std::cmp::Reverse;

use super::Simulation;
use super::engine::SimDuration;
use super::scheduler::TaskState;

impl Simulation {
    /// The job preparation time `task` adds to its run on node `index`:
    /// the job's `preparation_time` for the job's first task on the node
    /// (since it joined, or last rebooted, was reimaged or preempted),
    /// else nothing. The task occupies its slot meanwhile.
    pub(crate) fn preparation(&mut self, task: u32, index: u32) -> SimDuration {
        let job = self.sched.tasks[task as usize].job;
        let Some(dist) = self.scenario.jobs.get(job as usize).and_then(|j| j.preparation_time.as_ref()) else {
            return SimDuration::ZERO;
        };
        let Some(node) = self.nodes.get_mut(index) else { return SimDuration::ZERO };
        if node.prepared.contains(&job) {
            return SimDuration::ZERO;
        }
        node.prepared.push(job);
        dist.sample(&mut self.rngs.preparation)
    }

    /// Job `job` reached its wall-clock limit.
    pub(crate) fn on_job_timeout(&mut self, job: u32) {
        let now = self.q.now();
        let j = job as usize;
        if self.ended_jobs.len() <= j {
            self.ended_jobs.resize(j + 1, false);
        }
        self.ended_jobs[j] = true;
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
            if self.sched.tasks[task as usize].state != TaskState::Running {
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
        let before = s.ready.len();
        s.ready.retain(|&(_, Reverse(t))| tasks[t as usize].job != job);
        let mut from_queue = (before - s.ready.len()) as u32;
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
        self.schedule();
    }
}
