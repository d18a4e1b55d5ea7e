//! Real agents, as the engine sees them.
//!
//! With simulated agents the engine draws how long each piece of work on
//! a node takes and schedules its end on the virtual clock. With real
//! agents it asks for the work instead — a [`Request`] the driver takes
//! with [`Simulation::take_requests`] and carries out on real machines —
//! and learns how it went when the driver reports back: a machine joined
//! ([`Simulation::machine_ready`]), a piece of work exited
//! ([`Simulation::work_exited`]), a machine stopped answering
//! ([`Simulation::machine_lost`]), usage was measured
//! ([`Simulation::machine_usage`]). The driver moves the clock with
//! [`Simulation::advance_to`]; everything else — queue, scheduling,
//! autoscale, metrics, cost — is the same engine either way.
//!
//! Requests and reports name a node by [`NodeRef`]: its slab index, which
//! is reused after the node leaves, and its id, which is not, so that a
//! late report about a node that is gone is recognised and ignored.

use super::Simulation;
use super::node::NodeState;
use super::scheduler::{Task, TaskState};
use crate::time::SimTime;

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

impl Simulation {
    /// Switches the run to real agents: work is requested, not simulated.
    /// Call before the first step.
    pub fn use_real_agents(&mut self) {
        self.requests = Some(Vec::new());
    }

    /// Whether real agents do the work.
    pub(crate) fn real(&self) -> bool {
        self.requests.is_some()
    }

    /// Queues a request for the driver (real agents only).
    pub(crate) fn request(&mut self, r: Request) {
        if let Some(requests) = &mut self.requests {
            requests.push(r);
        }
    }

    /// The node at `index` as requests name it.
    pub(crate) fn node_ref(&self, index: u32) -> Option<NodeRef> {
        self.nodes.get(index).map(|n| NodeRef { index, id: n.id })
    }

    /// Requests `work` on node `index`.
    pub(crate) fn request_run(&mut self, index: u32, work: Work) {
        // Every simulated task start comes here: no look-up without agents.
        if !self.real() {
            return;
        }
        if let Some(node) = self.node_ref(index) {
            self.request(Request::Run(node, work));
        }
    }

    /// The requests made since the last call, in order.
    pub fn take_requests(&mut self) -> Vec<Request> {
        self.requests.as_mut().map(std::mem::take).unwrap_or_default()
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

    /// Whether `node` still names a node in the pool.
    fn current(&self, node: NodeRef) -> bool {
        self.nodes.get(node.index).is_some_and(|n| n.id == node.id)
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::path::Path;

    use super::*;
    use crate::scenario::Scenario;
    use crate::sim::Output;
    use crate::time::SimDuration;

    /// A report a fake machine will make, and when.
    #[derive(Debug, Clone, Copy)]
    enum Report {
        Ready(NodeRef),
        Exited(NodeRef, Work, i32),
    }

    /// Fake machines: each takes 30 s to join, runs any work for 1 min
    /// and exits with `exit(work, nth run of that work)`.
    struct Farm {
        due: BTreeMap<(SimTime, u64), Report>,
        seq: u64,
        runs: HashMap<Work, u32>,
        exit: fn(Work, u32) -> i32,
        /// Every request, with when it was made.
        log: Vec<(SimTime, Request)>,
    }

    impl Farm {
        fn new(exit: fn(Work, u32) -> i32) -> Farm {
            Farm { due: BTreeMap::new(), seq: 0, runs: HashMap::new(), exit, log: Vec::new() }
        }

        fn at(&mut self, t: SimTime, r: Report) {
            self.seq += 1;
            self.due.insert((t, self.seq), r);
        }

        fn forget(&mut self, keep: impl Fn(&Report) -> bool) {
            self.due.retain(|_, r| keep(r));
        }

        /// Runs `sim` to its end, answering its requests, checking the
        /// invariants after every step.
        fn drive(&mut self, mut sim: Simulation, lose: Option<(SimTime, u32)>) -> Output {
            let mut lose = lose;
            loop {
                let now = sim.now();
                for r in sim.take_requests() {
                    self.log.push((now, r.clone()));
                    match r {
                        Request::Allocate(n) => self.at(now + SimDuration::from_secs(30), Report::Ready(n)),
                        Request::Run(n, w) => {
                            let nth = self.runs.entry(w).or_default();
                            *nth += 1;
                            let code = (self.exit)(w, *nth);
                            self.at(now + SimDuration::from_mins(1), Report::Exited(n, w, code));
                        }
                        Request::Kill(n, w) => {
                            self.forget(|r| !matches!(r, Report::Exited(m, v, _) if *m == n && *v == w))
                        }
                        Request::Reset(n) | Request::Free(n) => {
                            self.forget(|r| !matches!(r, Report::Exited(m, ..) if *m == n))
                        }
                    }
                }
                let report = self.due.first_key_value().map(|(&(t, _), _)| t).filter(|&t| t <= sim.end());
                let lost = lose.map(|(t, _)| t);
                let next = [report, lost, sim.next_event_time()].into_iter().flatten().min();
                let Some(t) = next else { break };
                sim.advance_to(t);
                if lost == Some(t) && report.is_none_or(|r| r > t) {
                    let id = lose.take().map_or(0, |(_, id)| id);
                    let index = sim.nodes.iter().find(|(_, n)| n.id == id).map(|(i, _)| i);
                    if let Some(index) = index {
                        sim.machine_lost(NodeRef { index, id });
                    }
                } else if report == Some(t) {
                    match self.due.pop_first().map(|(_, r)| r) {
                        Some(Report::Ready(n)) => sim.machine_ready(n),
                        Some(Report::Exited(n, w, code)) => sim.work_exited(n, w, code),
                        None => {}
                    }
                }
                if let Err(e) = sim.check_invariants() {
                    panic!("at {}: {e}", sim.now());
                }
            }
            sim.advance_to(sim.end());
            sim.finish()
        }
    }

    /// Two one-slot nodes, `pool` added to the pool's keys.
    fn simulation(pool: &str) -> Simulation {
        let text = format!(
            r#"
            duration = "30m"
            [pool]
            vm = {{ cores = 1, dedicated_price = 3.6 }}
            target_dedicated = 2
            start_task = {{ duration = "1h", command_line = "setup.sh" }}
            {pool}
            [[jobs]]
            preparation = {{ duration = "1h" }}
            max_task_retry_count = 1
            tasks = [{{ duration = "1h", count = 3 }}]
            "#
        );
        let scenario = Scenario::from_toml(&text, "t.toml", "t", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
        let mut sim = Simulation::new(scenario, None);
        sim.use_real_agents();
        sim
    }

    fn secs(s: u64) -> SimTime {
        SimTime(s * 1000)
    }

    #[test]
    fn real_agents_do_the_work_and_their_exit_codes_decide() {
        // Task 1's first run exits 3: retried once, then it succeeds.
        let mut farm = Farm::new(|w, nth| if w == (Work::Task { task: 1 }) && nth == 1 { 3 } else { 0 });
        let out = farm.drive(simulation(""), None);
        let node = |index, id| NodeRef { index, id };
        let log: Vec<_> = farm.log.iter().map(|(t, r)| (t.0 / 1000, r.clone())).collect();
        // Joined at 30 s, start task 30–90 s, then per node: preparation,
        // a task; task 2 waits for a slot.
        let expected = [
            (0, Request::Allocate(node(0, 0))),
            (0, Request::Allocate(node(1, 1))),
            (30, Request::Run(node(0, 0), Work::StartTask)),
            (30, Request::Run(node(1, 1), Work::StartTask)),
            (90, Request::Run(node(0, 0), Work::Preparation { job: 0 })),
            (90, Request::Run(node(1, 1), Work::Preparation { job: 0 })),
            (150, Request::Run(node(0, 0), Work::Task { task: 0 })),
            (150, Request::Run(node(1, 1), Work::Task { task: 1 })),
            (210, Request::Run(node(0, 0), Work::Task { task: 2 })),
            (210, Request::Run(node(1, 1), Work::Task { task: 1 })),
        ];
        assert_eq!(log, expected);
        let tasks: Vec<_> = out.tasks.iter().map(|t| (t.state, t.exit_code, t.attempts, t.end)).collect();
        assert_eq!(
            tasks,
            [
                (TaskState::Succeeded, Some(0), 1, Some(secs(210))),
                (TaskState::Succeeded, Some(0), 2, Some(secs(270))),
                (TaskState::Succeeded, Some(0), 1, Some(secs(270))),
            ]
        );
        assert_eq!(out.job_tasks.len(), 2, "one preparation per node");
    }

    #[test]
    fn a_lost_machine_leaves_its_node_unusable_and_its_task_runs_elsewhere() {
        let mut farm = Farm::new(|_, _| 0);
        // Node 1 stops answering at 160 s, while task 1 runs on it.
        let out = farm.drive(simulation(""), Some((secs(160), 1)));
        let t = &out.tasks[1];
        assert_eq!((t.state, t.attempts, t.node, t.end), (TaskState::Succeeded, 2, Some(0), Some(secs(270))));
        let last = out.timeline.last().map(|r| r.nodes[0][NodeState::Unusable as usize]);
        assert_eq!(last, Some(1));
        // Its pending exit report is never delivered: nothing was killed on
        // a machine that is gone, and the task was not ended twice.
        assert_eq!(out.tasks.iter().filter(|t| t.state == TaskState::Succeeded).count(), 3);
    }

    #[test]
    fn a_node_whose_machine_is_lost_stays_unusable_through_a_reboot() {
        let mut farm = Farm::new(|_, _| 0);
        let reboot = r#"node_actions = [{ at = "200s", node = 1, action = "reboot", duration = "10s" }]"#;
        let out = farm.drive(simulation(reboot), Some((secs(160), 1)));
        assert!(out.tasks.iter().all(|t| t.state == TaskState::Succeeded && t.node == Some(0)));
        let last = out.timeline.last().map(|r| r.nodes[0][NodeState::Unusable as usize]);
        assert_eq!(last, Some(1), "no machine to restart");
        assert!(!farm.log.iter().any(|(t, r)| t.0 > 160_000 && matches!(r, Request::Run(n, _) if n.id == 1)));
    }

    #[test]
    fn a_machine_lost_during_its_start_task_never_becomes_idle() {
        let mut farm = Farm::new(|_, _| 0);
        // Node 1 is lost at 60 s, halfway through its start task.
        let out = farm.drive(simulation(""), Some((secs(60), 1)));
        assert!(out.tasks.iter().all(|t| t.node == Some(0) && t.state == TaskState::Succeeded));
        let unusable = out.timeline.iter().map(|r| r.nodes[0][NodeState::Unusable as usize]).max();
        assert_eq!(unusable, Some(1));
        assert_eq!(out.timeline.last().map(|r| r.nodes[0][NodeState::Idle as usize]), Some(1));
    }

    #[test]
    fn nodes_no_machine_takes_in_time_are_abandoned() {
        let mut farm = Farm::new(|_, _| 0);
        let mut sim = simulation("");
        sim.advance_to(secs(1));
        let _ = sim.take_requests(); // no machine answers
        farm.due.clear();
        let out = farm.drive(sim, None);
        assert!(out.resize_errors.iter().any(|e| e.code == crate::sim::pool::ResizeErrorCode::AllocationTimedout));
        assert!(out.tasks.iter().all(|t| t.state == TaskState::Active));
    }

    #[test]
    fn the_workload_is_done_when_nothing_more_arrives_and_every_task_finished() {
        let text = |slots: u32| {
            format!(
                r#"
                duration = "1h"
                [pool]
                vm = {{ cores = 1, dedicated_price = 1.0 }}
                target_dedicated = 1
                [[jobs]]
                tasks = [{{ duration = "5m" }}, {{ at = "20m", duration = "5m", slots = {slots} }}]
                "#
            )
        };
        let scenario = |t: &str| Scenario::from_toml(t, "t.toml", "t", Path::new(".")).unwrap();
        let mut sim = Simulation::new(scenario(&text(1)), None);
        sim.advance_to(SimTime(10 * 60_000));
        assert!(!sim.workload_done(), "a task is still to arrive");
        sim.advance_to(SimTime(30 * 60_000));
        assert!(sim.workload_done());
        // Stopped there, the books close there: billed from 3 to 30 min.
        sim.stop_now();
        let out = sim.finish();
        assert_eq!((out.duration, out.charged_seconds), (SimDuration::from_mins(30), [27 * 60, 0]));
        // A task that no node can ever fit keeps the workload going.
        let mut sim = Simulation::new(scenario(&text(2)), None);
        sim.advance_to(SimTime(30 * 60_000));
        assert!(!sim.workload_done());
    }
}
