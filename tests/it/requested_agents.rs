//! The model with requested (real) agents, driven by fake machines: what
//! it asks for, and how their reports move tasks and nodes. The CLI end
//! to end, on real agent processes, is in `real_agents.rs`.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{
    NodeRef, NodeState, Output, Request, ResizeErrorCode, Simulation, TaskFailure, TaskState, Work,
};
use autoscale_sim::time::{SimDuration, SimTime};

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
    /// The nodes allocated so far, by id.
    nodes: HashMap<u32, NodeRef>,
}

impl Farm {
    fn new(exit: fn(Work, u32) -> i32) -> Farm {
        Farm { due: BTreeMap::new(), seq: 0, runs: HashMap::new(), exit, log: Vec::new(), nodes: HashMap::new() }
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
                    Request::Allocate(n) => {
                        self.nodes.insert(n.id, n);
                        self.at(now + SimDuration::from_secs(30), Report::Ready(n));
                    }
                    Request::Run(n, w) => {
                        let nth = self.runs.entry(w).or_default();
                        *nth += 1;
                        let code = (self.exit)(w, *nth);
                        self.at(now + SimDuration::from_mins(1), Report::Exited(n, w, code));
                    }
                    Request::Kill(n, w) => self.forget(|r| !matches!(r, Report::Exited(m, v, _) if *m == n && *v == w)),
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
                if let Some(&node) = self.nodes.get(&id) {
                    sim.machine_lost(node);
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
    Simulation::with_real_agents(scenario, None)
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
    let tasks: Vec<_> = out.tasks.iter().map(|t| (t.state, t.exit_code, t.attempts, t.end())).collect();
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
fn real_agents_fetch_nothing_so_packages_and_images_change_no_request() {
    let log = |pool: &str| {
        let mut farm = Farm::new(|_, _| 0);
        let out = farm.drive(simulation(pool), None);
        (farm.log, out.tasks.iter().map(|t| t.end()).collect::<Vec<_>>())
    };
    let plain = log("");
    let fetching =
        log("container = { image_size_mib = 10240, pull_time = \"5m\" }\napplication_packages = [{ name = \"a\", \
         size_mib = 4096 }]");
    assert_eq!(fetching, plain);
    assert_eq!(plain.0.len(), 9, "two allocations, two start tasks, two preparations, three tasks");
}

#[test]
fn a_lost_machine_leaves_its_node_unusable_and_its_task_runs_elsewhere() {
    let mut farm = Farm::new(|_, _| 0);
    // Node 1 stops answering at 160 s, while task 1 runs on it.
    let out = farm.drive(simulation(""), Some((secs(160), 1)));
    let t = &out.tasks[1];
    assert_eq!((t.state, t.attempts, t.node(), t.end()), (TaskState::Succeeded, 2, Some(0), Some(secs(270))));
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
    assert!(out.tasks.iter().all(|t| t.state == TaskState::Succeeded && t.node() == Some(0)));
    let last = out.timeline.last().map(|r| r.nodes[0][NodeState::Unusable as usize]);
    assert_eq!(last, Some(1), "no machine to restart");
    assert!(!farm.log.iter().any(|(t, r)| t.0 > 160_000 && matches!(r, Request::Run(n, _) if n.id == 1)));
}

#[test]
fn a_machine_lost_during_its_start_task_never_becomes_idle() {
    let mut farm = Farm::new(|_, _| 0);
    // Node 1 is lost at 60 s, halfway through its start task.
    let out = farm.drive(simulation(""), Some((secs(60), 1)));
    assert!(out.tasks.iter().all(|t| t.node() == Some(0) && t.state == TaskState::Succeeded));
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
    assert!(out.resize_errors.iter().any(|e| e.code == ResizeErrorCode::AllocationTimedout));
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

#[test]
fn a_real_agents_run_past_its_tasks_wall_clock_limit_is_killed_and_one_within_it_is_not() {
    let text = r#"
        duration = "10m"
        [pool]
        vm = { cores = 1, dedicated_price = 1.0 }
        target_dedicated = 1
        [[jobs]]
        tasks = [{ duration = "1h", max_wall_clock_time = "30s" }, { duration = "1h", max_wall_clock_time = "2m" }]
    "#;
    let scenario = Scenario::from_toml(text, "t.toml", "t", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let mut farm = Farm::new(|_, _| 0);
    let out = farm.drive(Simulation::with_real_agents(scenario, None), None);
    let node = NodeRef { index: 0, id: 0 };
    let log: Vec<_> = farm.log.iter().map(|(t, r)| (t.0 / 1000, r.clone())).collect();
    // The machine joins at 30 s. Task 0 runs from 30 s and is killed at
    // its limit, 60 s; task 1 runs from 60 s and exits on its own after a
    // minute, within its limit.
    let expected = [
        (0, Request::Allocate(node)),
        (30, Request::Run(node, Work::Task { task: 0 })),
        (60, Request::Kill(node, Work::Task { task: 0 })),
        (60, Request::Run(node, Work::Task { task: 1 })),
    ];
    assert_eq!(log, expected);
    let ends: Vec<_> = out.tasks.iter().map(|t| (t.state, t.end(), t.exit_code, t.failure)).collect();
    assert_eq!(
        ends,
        [
            (TaskState::Failed, Some(secs(60)), Some(-1_073_741_510), Some(TaskFailure::TaskEnded)),
            (TaskState::Succeeded, Some(secs(120)), Some(0), None),
        ]
    );
}
