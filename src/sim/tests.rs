//! One test per lifecycle rule, each on fixed timings with an exact
//! expected timeline. Every run checks the invariants after every event.
//!
//! Prices are 3.6 per hour (dedicated) and 0.36 (low-priority): a
//! dedicated node-second costs exactly 0.001.

use std::path::Path;

use super::metrics::TimelineRow;
use super::node::NodeState;
use super::pool::{AllocationState, ResizeErrorCode};
use super::priority::Priority;
use super::task::JobTaskKind;
use super::task::{TaskRole, TaskState};
use super::*;
use crate::formula::builtins::Metric;

/// Pool keys every test gets unless it sets them itself.
const POOL: [(&str, &str); 3] = [
    ("vm", "{ cores = 2, dedicated_price = 3.6, low_priority_price = 0.36 }"),
    ("allocation_time", "\"3m\""),
    ("boot_time", "\"1m\""),
];

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text, "test.toml", "test", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

/// `text` with [`POOL`]'s keys added to its `[pool]` table.
fn with_pool_defaults(text: &str) -> String {
    let mut pool = String::from("[pool]\n");
    for (key, value) in POOL {
        if !text.contains(&format!("{key} =")) {
            pool.push_str(&format!("{key} = {value}\n"));
        }
    }
    text.replacen("[pool]\n", &pool, 1)
}

/// Runs `text` (with [`POOL`]'s defaults), checking invariants after every event.
fn run(text: &str) -> Output {
    let mut sim = Simulation::new(scenario(&with_pool_defaults(text)), None);
    while sim.step() {
        if let Err(e) = sim.check_invariants() {
            panic!("at {}: {e}", sim.now());
        }
    }
    sim.finish()
}

fn min(m: u64) -> SimTime {
    SimTime(m * 60_000)
}

fn row(out: &Output, t: SimTime) -> &TimelineRow {
    out.timeline.iter().find(|r| r.time == t).unwrap_or_else(|| panic!("no sample at {t}"))
}

/// (state, count) pairs of dedicated nodes at `t`, the zero ones left out.
fn dedicated(out: &Output, t: SimTime) -> Vec<(&'static str, u32)> {
    by_state(row(out, t), Priority::Dedicated)
}

fn by_state(row: &TimelineRow, p: Priority) -> Vec<(&'static str, u32)> {
    NodeState::ALL.iter().map(|&s| (s.name(), row.nodes[p as usize][s as usize])).filter(|&(_, n)| n > 0).collect()
}

fn ends(out: &Output) -> Vec<(TaskState, Option<SimTime>, u16)> {
    out.tasks.iter().map(|t| (t.state, t.end, t.attempts)).collect()
}

#[test]
fn nodes_go_creating_starting_idle_running_and_are_billed_from_allocation() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        tasks = [{ duration = "10m" }]
    "#);
    assert_eq!(dedicated(&out, SimTime(0)), []);
    assert_eq!(dedicated(&out, min(1)), [("creating", 1)]);
    assert_eq!(dedicated(&out, min(3)), [("starting", 1)]);
    assert_eq!(dedicated(&out, min(4)), [("running", 1)]);
    assert_eq!(dedicated(&out, min(14)), [("idle", 1)]);
    assert_eq!(row(&out, min(1)).allocation_state, AllocationState::Resizing);
    assert_eq!(row(&out, min(3)).allocation_state, AllocationState::Steady);
    let t = &out.tasks[0];
    assert_eq!((t.first_start, t.end, t.state), (Some(min(4)), Some(min(14)), TaskState::Succeeded));
    // Billed from 3 min to the end: 57 min.
    assert_eq!(out.charged_seconds, [57 * 60, 0]);
    assert!((out.cost()[0] - 3.42).abs() < 1e-9);
    assert_eq!(out.timeline.len(), 121, "one sample every 30 s, both ends included");
}

/// Two nodes running one-hour tasks; at 30 min a resize to 0 with `option`.
fn shrink(option: &str, extra: &str) -> Output {
    run(&format!(
        r#"
        duration = "2h"
        [pool]
        target_dedicated = 2
        resizes = [{{ at = "30m", target_dedicated = 0, deallocation = "{option}" }}]
        {extra}
        [[jobs]]
        retention = "10m"
        tasks = [{{ duration = "1h", count = 2 }}]
    "#
    ))
}

#[test]
fn requeue_stops_tasks_and_puts_them_back_in_the_queue() {
    let out = shrink("requeue", "");
    assert_eq!(dedicated(&out, min(30)), []);
    assert_eq!(row(&out, min(30)).allocation_state, AllocationState::Steady);
    assert_eq!(row(&out, min(30)).active_tasks, 2);
    assert_eq!(ends(&out), [(TaskState::Active, None, 1), (TaskState::Active, None, 1)]);
    assert_eq!(out.charged_seconds, [2 * 27 * 60, 0]);
}

#[test]
fn requeue_with_a_removal_time_shows_leavingpool() {
    let out = shrink("requeue", r#"removal_time = "2m""#);
    assert_eq!(dedicated(&out, min(30)), [("leavingpool", 2)]);
    assert_eq!(row(&out, min(31)).allocation_state, AllocationState::Resizing);
    assert_eq!(dedicated(&out, min(32)), []);
    assert_eq!(row(&out, min(32)).allocation_state, AllocationState::Steady);
    assert_eq!(out.charged_seconds, [2 * 29 * 60, 0]);
}

#[test]
fn terminate_stops_tasks_and_fails_them() {
    let out = shrink("terminate", "");
    assert_eq!(dedicated(&out, min(30)), []);
    assert_eq!(ends(&out), [(TaskState::Failed, Some(min(30)), 1), (TaskState::Failed, Some(min(30)), 1)]);
    assert_eq!(row(&out, min(30)).failed, 2);
}

#[test]
fn taskcompletion_keeps_the_pool_resizing_until_the_tasks_end() {
    let out = shrink("taskcompletion", "");
    assert_eq!(dedicated(&out, min(30)), [("leavingpool", 2)]);
    assert_eq!(row(&out, min(30)).running_tasks, 2);
    assert_eq!(row(&out, SimTime(min(64).0 - 30_000)).allocation_state, AllocationState::Resizing);
    assert_eq!(dedicated(&out, min(64)), []);
    assert_eq!(row(&out, min(64)).allocation_state, AllocationState::Steady);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(64)), 1), (TaskState::Succeeded, Some(min(64)), 1)]);
    assert_eq!(out.charged_seconds, [2 * 61 * 60, 0]);
}

#[test]
fn retaineddata_also_waits_for_the_tasks_retention() {
    let out = shrink("retaineddata", "");
    assert_eq!(dedicated(&out, min(64)), [("leavingpool", 2)]);
    assert_eq!(row(&out, min(73)).allocation_state, AllocationState::Resizing);
    assert_eq!(dedicated(&out, min(74)), []);
    assert_eq!(row(&out, min(74)).allocation_state, AllocationState::Steady);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(64)), 1), (TaskState::Succeeded, Some(min(64)), 1)]);
    assert_eq!(out.charged_seconds, [2 * 71 * 60, 0]);
}

#[test]
fn shrink_removes_idle_nodes_before_running_ones() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 3
        resizes = [{ at = "10m", target_dedicated = 1 }]
        [[jobs]]
        tasks = [{ duration = "30m" }]
    "#);
    assert_eq!(dedicated(&out, min(5)), [("idle", 2), ("running", 1)]);
    assert_eq!(dedicated(&out, min(10)), [("running", 1)]);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(34)), 1)]);
}

#[test]
fn quota_clamps_a_grow_and_the_error_stays_until_the_next_resize() {
    let out = run(r#"
        duration = "1h"
        [account]
        dedicated_cores = 4
        low_priority_cores = 2
        [pool]
        target_dedicated = 3
        target_low_priority = 2
        resizes = [{ at = "30m", target_dedicated = 2, target_low_priority = 1 }]
    "#);
    let r = row(&out, min(10));
    assert_eq!(dedicated(&out, min(10)), [("idle", 2)]);
    assert_eq!(by_state(r, Priority::LowPriority), [("idle", 1)]);
    assert_eq!((r.target, r.allocation_state), ([3, 2], AllocationState::Steady));
    assert_eq!(
        r.errors,
        [ResizeErrorCode::AccountCoreQuotaReached, ResizeErrorCode::AccountLowPriorityCoreQuotaReached]
    );
    let codes: Vec<_> = out.resize_errors.iter().map(|e| (e.time, e.code)).collect();
    assert_eq!(
        codes,
        [
            (SimTime(0), ResizeErrorCode::AccountCoreQuotaReached),
            (SimTime(0), ResizeErrorCode::AccountLowPriorityCoreQuotaReached)
        ]
    );
    // The resize at 30 min finds the pool at its new targets: no resize,
    // so the errors stay.
    assert_eq!(row(&out, min(31)).errors.len(), 2);
}

#[test]
fn nodes_not_allocated_within_the_resize_timeout_are_abandoned() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 2
        allocation_time = "20m"
        resize_timeout = "15m"
    "#);
    assert_eq!(dedicated(&out, SimTime(min(15).0 - 30_000)), [("creating", 2)]);
    let r = row(&out, min(15));
    assert_eq!(
        (by_state(r, Priority::Dedicated), r.allocation_state, r.target),
        (vec![], AllocationState::Steady, [2, 0])
    );
    assert_eq!(r.errors, [ResizeErrorCode::AllocationTimedout]);
    assert_eq!(out.resize_errors.len(), 2, "one record per abandoned node");
    assert_eq!(out.charged_seconds, [0, 0], "never allocated, never billed");
}

#[test]
fn a_manual_resize_is_refused_while_the_pool_is_resizing() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        resizes = [{ at = "1m", target_dedicated = 5 }]
    "#);
    assert_eq!(row(&out, min(10)).target, [1, 0]);
    assert_eq!(out.resize_errors[0].code, ResizeErrorCode::PoolNotSteady);
}

#[test]
fn preempted_nodes_stay_counted_unbilled_and_their_tasks_are_requeued() {
    let dir = std::env::temp_dir().join(format!("autoscale-sim-preempt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("preempt.csv"), "at,nodes\n30m,1\n").unwrap();
    let text = format!(
        r#"
        duration = "2h"
        [pool]
        target_low_priority = 2
        preemption = {{ trace = "{}", recovery = "10m" }}
        [[jobs]]
        tasks = [{{ duration = "1h", count = 2 }}]
    "#,
        dir.join("preempt.csv").display()
    );
    let mut sim = Simulation::new(scenario(&with_pool_defaults(&text)), None);
    sim.keep_samples();
    while sim.step() {
        sim.check_invariants().unwrap();
    }
    let samples = sim.samples().to_vec();
    let out = sim.finish();
    let low = |t| by_state(row(&out, t), Priority::LowPriority);
    assert_eq!(low(min(30)), [("running", 1), ("preempted", 1)]);
    assert_eq!(row(&out, min(30)).active_tasks, 1);
    let at30 = samples.iter().find(|s| s.time == min(30)).unwrap();
    assert_eq!(at30.values[Metric::PreemptedNodeCount as usize], 1.0);
    assert_eq!(at30.values[Metric::UsableNodeCount as usize], 1.0);
    assert_eq!(low(min(40)), [("starting", 1), ("running", 1)]);
    assert_eq!(low(min(41)), [("running", 2)]);
    let mut done: Vec<_> = ends(&out);
    done.sort_by_key(|d| d.1);
    // One task ran 4–64 min; the other was preempted at 30 and rerun 41–101.
    assert_eq!(done, [(TaskState::Succeeded, Some(min(64)), 1), (TaskState::Succeeded, Some(min(101)), 2)]);
    // Billed 3–120 and 3–30 + 40–120 min; not while preempted.
    assert_eq!(out.charged_seconds, [0, (117 + 27 + 80) * 60]);
}

#[test]
fn preemption_draws_from_its_own_stream_and_leaves_arrivals_alone() {
    let base = r#"
        duration = "6h"
        seed = 3
        [pool]
        target_low_priority = 4
        PREEMPTION
        [[jobs]]
        generate = [{ kind = "poisson", rate_per_hour = 20, duration = { dist = "exponential", mean = "20m" } }]
    "#;
    let quiet = run(&base.replace("PREEMPTION", ""));
    let noisy = run(&base.replace("PREEMPTION", r#"preemption = { rate_per_node_hour = 0.5, recovery = "5m" }"#));
    let arrivals = |o: &Output| o.tasks.iter().map(|t| (t.submit, t.duration)).collect::<Vec<_>>();
    assert_eq!(arrivals(&quiet), arrivals(&noisy));
    assert!(noisy.timeline.iter().any(|r| r.nodes[1][NodeState::Preempted as usize] > 0));
    assert!(noisy.tasks.iter().any(|t| t.attempts > 1), "some task was requeued by a preemption");
    assert!(noisy.charged_seconds[1] < quiet.charged_seconds[1]);
}

/// An autoscale run whose formula reports how many `$PendingTasks` samples it sees.
fn counting(metrics: &str) -> Vec<String> {
    let out = run(&format!(
        r#"
        duration = "10m"
        {metrics}
        [pool]
        autoscale = {{ formula = "n = $PendingTasks.Count(); $TargetDedicatedNodes = 0;", interval = "5m" }}
    "#
    ));
    out.evaluations.iter().map(|e| e.results.rsplit(';').next().unwrap_or_default().to_owned()).collect()
}

#[test]
fn samples_become_visible_after_the_delay() {
    // At 0: nothing yet. At 5 min: samples of 0 s to 4 min (9) with a 60 s
    // delay; 0 s to 5 min (11) with none — the sample at 5 min included.
    assert_eq!(counting(""), ["n=0", "n=9", "n=19"]);
    assert_eq!(counting("[metrics]\nvisibility_delay = \"0s\""), ["n=1", "n=11", "n=21"]);
    // Visible up to 3:30 (9:30), seen back to 2:00 (7:00).
    assert_eq!(counting("[metrics]\nvisibility_delay = \"90s\"\nhistory = \"3m\""), ["n=0", "n=4", "n=4"]);
    let dropped = counting("[metrics]\ndrop_out = 0.5");
    assert_eq!(dropped, counting("[metrics]\ndrop_out = 0.5"), "drop-outs are seeded");
    assert_ne!(dropped, ["n=0", "n=9", "n=19"]);
}

#[test]
fn evaluations_run_at_enable_time_and_every_interval_and_failures_change_nothing() {
    let out = run(r#"
        duration = "1h"
        [pool]
        autoscale = { formula = "$TargetDedicatedNodes = max($PendingTasks.GetSample(TimeInterval_Minute * 20, 90)) + 2;", interval = "15m" }
        [[jobs]]
        tasks = [{ at = "1m", duration = "2h", count = 3 }]
    "#);
    let times: Vec<_> = out.evaluations.iter().map(|e| e.time).collect();
    assert_eq!(times, [min(0), min(15), min(30), min(45), min(60)]);
    let codes: Vec<_> = out.evaluations.iter().map(|e| e.error.as_ref().map(|f| f.code)).collect();
    assert_eq!(codes, [Some("InsufficientSampleData"), Some("InsufficientSampleData"), None, None, None]);
    assert_eq!(row(&out, min(29)).target, [0, 0]);
    assert_eq!(row(&out, SimTime(min(30).0 + 30_000)).target, [5, 0]);
    assert!(out.evaluations[2].results.starts_with("$TargetDedicatedNodes=5;"));
}

#[test]
fn higher_priority_jobs_run_first_and_oversized_tasks_wait_forever() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        id = "low"
        tasks = [{ duration = "10m", count = 2 }]
        [[jobs]]
        id = "high"
        priority = 10
        tasks = [{ at = "1m", duration = "10m" }, { at = "1m", duration = "1m", slots = 2 }]
    "#);
    let starts: Vec<_> = out.tasks.iter().map(|t| t.first_start).collect();
    assert_eq!(starts, [Some(min(14)), Some(min(24)), Some(min(4)), None]);
    assert_eq!(row(&out, min(30)).active_tasks, 1);
}

#[test]
fn spread_and_pack_fill_nodes_differently() {
    let text = |fill| {
        format!(
            r#"
        duration = "30m"
        [pool]
        task_slots_per_node = 2
        node_fill = "{fill}"
        target_dedicated = 2
        [[jobs]]
        tasks = [{{ at = "5m", duration = "10m", count = 2 }}]
    "#
        )
    };
    let nodes = |out: &Output| {
        let mut n: Vec<_> = out.tasks.iter().map(|t| t.node).collect();
        n.dedup();
        n.len()
    };
    let (spread, pack) = (run(&text("spread")), run(&text("pack")));
    assert_eq!((nodes(&spread), nodes(&pack)), (2, 1));
}

#[test]
fn failed_tasks_are_retried_up_to_the_limit() {
    let out = run(r#"
        duration = "2h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        failure_probability = 1.0
        max_task_retry_count = 2
        tasks = [{ duration = "10m" }]
    "#);
    let t = &out.tasks[0];
    assert_eq!((t.state, t.attempts, t.failures, t.end), (TaskState::Failed, 3, 3, Some(min(34))));
}

/// Task 1, then tasks 2 to 10 on its success, then task 11 on theirs.
const CHAIN: &str = r#"
    [[jobs]]
    tasks = [
      { id = 11, duration = "1m", depends_on = ["2..10"] },
      { id = 1, duration = "10m" },
      { id = 2, count = 9, duration = "5m", depends_on = [1] },
    ]
"#;

#[test]
fn a_dependency_chain_runs_in_order_and_waiting_tasks_are_not_active() {
    let out = run(&format!("duration = \"1h\"\n[pool]\ntarget_dedicated = 4\n{CHAIN}"));
    // Submitted in list order: 11 is task 0, 1 is task 1, 2..10 are tasks 2..10.
    let runs: Vec<_> =
        out.tasks.iter().map(|t| (t.first_start.map(|s| s.0 / 60_000), t.end.map(|e| e.0 / 60_000))).collect();
    let mut expected = vec![(Some(29), Some(30)), (Some(4), Some(14))];
    expected.extend([(14, 19); 4].map(|(s, e)| (Some(s), Some(e))));
    expected.extend([(19, 24); 4].map(|(s, e)| (Some(s), Some(e))));
    expected.push((Some(24), Some(29)));
    assert_eq!(runs, expected);
    assert!(out.tasks.iter().all(|t| t.state == TaskState::Succeeded));
    // Before task 1 ends only it is known to the queue: the others wait.
    assert_eq!((row(&out, min(5)).active_tasks, row(&out, min(5)).running_tasks), (0, 1));
    assert_eq!((row(&out, min(15)).active_tasks, row(&out, min(15)).running_tasks), (5, 4));
    assert_eq!((row(&out, min(25)).active_tasks, row(&out, min(25)).running_tasks), (0, 1));
}

#[test]
fn a_failed_dependency_blocks_its_dependents_for_good() {
    let out = run(&format!(
        "duration = \"1h\"\n[pool]\ntarget_dedicated = 1\n\
         resizes = [{{ at = \"10m\", target_dedicated = 0, deallocation = \"terminate\" }},\
                    {{ at = \"20m\", target_dedicated = 4 }}]\n{CHAIN}"
    ));
    let states: Vec<_> = out.tasks.iter().map(|t| t.state).collect();
    let mut expected = vec![TaskState::Blocked, TaskState::Failed];
    expected.extend([TaskState::Blocked; 9]);
    assert_eq!(states, expected);
    assert_eq!(out.tasks[1].end, Some(min(10)));
    assert!(out.tasks.iter().all(|t| t.attempts == u16::from(t.state == TaskState::Failed)));
    assert_eq!(row(&out, min(30)).active_tasks, 0);
    let summary = crate::report::Summary::of(&out);
    assert_eq!((summary.tasks.blocked, summary.tasks.failed, summary.tasks.waiting_for_dependencies), (10, 1, 0));
    assert!(summary.to_text(out.duration).contains("0 tasks still waiting, 10 blocked by a failed dependency"));
}

#[test]
fn a_job_past_its_wall_clock_limit_stops_its_tasks_and_takes_no_more() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        id = "limited"
        priority = 1
        max_wall_clock_time = "30m"
        tasks = [
          { duration = "20m", count = 3 },
          { id = 1, duration = "1m" },
          { id = 2, duration = "1m", depends_on = [1] },
          { at = "40m", duration = "1m" },
        ]
        [[jobs]]
        id = "unlimited"
        tasks = [{ at = "10m", duration = "10m" }]
    "#);
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.job, t.state, t.first_start, t.end)).collect();
    assert_eq!(
        runs,
        [
            (0, TaskState::Succeeded, Some(min(4)), Some(min(24))),
            (0, TaskState::Failed, Some(min(24)), Some(min(30))),
            (0, TaskState::Terminated, None, Some(min(30))),
            (0, TaskState::Terminated, None, Some(min(30))),
            (0, TaskState::Terminated, None, Some(min(30))),
            (1, TaskState::Succeeded, Some(min(30)), Some(min(40))),
        ],
        "the task due at 40 min is refused"
    );
    assert_eq!((row(&out, min(30)).active_tasks, row(&out, min(30)).failed), (0, 1));
    let summary = crate::report::Summary::of(&out);
    assert_eq!((summary.tasks.terminated, summary.tasks.submitted), (3, 6));
}

#[test]
fn a_four_instance_task_waits_for_four_free_nodes_and_counts_four_times() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 4
        [[jobs]]
        tasks = [{ duration = "10m" }, { duration = "5m", instances = 4 }, { duration = "1m" }]
    "#);
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start, t.end, t.attempts, t.state)).collect();
    assert_eq!(
        runs,
        [
            (Some(min(4)), Some(min(14)), 1, TaskState::Succeeded),
            (Some(min(14)), Some(min(19)), 1, TaskState::Succeeded),
            (Some(min(19)), Some(min(20)), 1, TaskState::Succeeded),
        ]
    );
    // At 5 min: three idle nodes, the 4 instances and the task behind them wait.
    assert_eq!(dedicated(&out, min(5)), [("idle", 3), ("running", 1)]);
    assert_eq!((row(&out, min(5)).active_tasks, row(&out, min(5)).running_tasks), (5, 1));
    assert_eq!((row(&out, min(15)).active_tasks, row(&out, min(15)).running_tasks), (1, 4));
    assert_eq!(dedicated(&out, min(15)), [("running", 4)]);
}

#[test]
fn stopping_one_instance_requeues_the_whole_task() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 3
        resizes = [{ at = "10m", target_dedicated = 2 }, { at = "20m", target_dedicated = 3 }]
        [[jobs]]
        tasks = [{ duration = "20m", instances = 3 }]
    "#);
    let t = &out.tasks[0];
    // 4–10 min on three nodes; requeued when one goes; back at 24 min when
    // the third node is ready again.
    assert_eq!((t.first_start, t.end, t.attempts, t.state), (Some(min(4)), Some(min(44)), 2, TaskState::Succeeded));
    assert_eq!(dedicated(&out, min(10)), [("idle", 2)]);
    assert_eq!((row(&out, min(10)).active_tasks, row(&out, min(10)).running_tasks), (3, 0));
    assert_eq!(dedicated(&out, min(25)), [("running", 3)]);
}

/// Two nodes with a 2-minute start task failing with probability `p`, an
/// autoscale formula keeping them and reporting the usable nodes it sees.
fn start_task(p: f64) -> Output {
    run(&format!(
        r#"
        duration = "30m"
        [pool]
        start_task = {{ duration = "2m", failure_probability = {p} }}
        autoscale = {{ formula = "$TargetDedicatedNodes = 2; u = $UsableNodeCount.GetSample(1);", interval = "5m" }}
        [[jobs]]
        tasks = [{{ duration = "5m", count = 2 }}]
    "#
    ))
}

#[test]
fn a_failing_start_task_leaves_the_node_unusable_and_the_formula_sees_it() {
    let (ok, failed) = (start_task(0.0), start_task(1.0));
    // Allocated at 3 min, booted at 4, start task until 6.
    assert_eq!(dedicated(&ok, min(5)), [("waitingforstarttask", 2)]);
    assert_eq!(dedicated(&ok, min(6)), [("running", 2)]);
    assert_eq!(ok.tasks.iter().map(|t| t.first_start).collect::<Vec<_>>(), [Some(min(6)); 2]);
    assert_eq!(dedicated(&failed, min(6)), [("starttaskfailed", 2)]);
    assert_eq!(dedicated(&failed, min(29)), [("starttaskfailed", 2)]);
    assert!(failed.tasks.iter().all(|t| t.state == TaskState::Active && t.attempts == 0));
    assert_eq!(row(&failed, min(29)).active_tasks, 2);
    // Billed all the same, from 3 min to the end.
    assert_eq!((ok.charged_seconds, failed.charged_seconds), ([2 * 27 * 60, 0], [2 * 27 * 60, 0]));
    // The evaluation at 10 min sees the sample of 9 min.
    let seen = |out: &Output| out.evaluations[2].results.rsplit(';').next().unwrap_or_default().to_owned();
    assert_eq!((seen(&ok), seen(&failed)), ("u=[2]".to_owned(), "u=[0]".to_owned()));
}

/// One node running a 30-minute task from 4 min; at 10 min `action`.
fn node_action(action: &str) -> Output {
    run(&format!(
        r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        node_actions = [{action}]
        [[jobs]]
        tasks = [{{ duration = "30m" }}]
    "#
    ))
}

#[test]
fn reboot_and_reimage_requeue_terminate_or_wait_for_the_running_tasks() {
    let out = node_action(r#"{ at = "10m", node = 0, action = "reboot", duration = "2m" }"#);
    assert_eq!(dedicated(&out, min(11)), [("rebooting", 1)]);
    assert_eq!(row(&out, min(11)).active_tasks, 1);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(42)), 2)], "requeued, rerun 12–42 min");
    assert_eq!(out.requeued_work, SimDuration::from_mins(6), "the 4–10 min run was wasted");
    let out = node_action(r#"{ at = "10m", node = 0, action = "reimage", deallocation = "terminate" }"#);
    assert_eq!(dedicated(&out, min(10)), [("reimaging", 1)]);
    assert_eq!(dedicated(&out, min(11)), [("idle", 1)], "the pool's boot time: 1 min");
    assert_eq!(ends(&out), [(TaskState::Failed, Some(min(10)), 1)]);
    let out = node_action(r#"{ at = "10m", node = 0, action = "reboot", deallocation = "taskcompletion" }"#);
    assert_eq!(dedicated(&out, min(20)), [("offline", 1)]);
    assert_eq!(dedicated(&out, min(34)), [("rebooting", 1)]);
    assert_eq!(dedicated(&out, min(35)), [("idle", 1)]);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(34)), 1)]);
    // Billed throughout: 3 min to the end.
    assert_eq!(out.charged_seconds, [57 * 60, 0]);
}

#[test]
fn disabled_scheduling_holds_new_tasks_until_enabled_and_remove_lowers_the_target() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 2
        node_actions = [
          { at = "5m", node = 0, action = "disable_scheduling", deallocation = "taskcompletion" },
          { at = "5m", node = 1, action = "disable_scheduling", deallocation = "taskcompletion" },
          { at = "20m", node = 0, action = "enable_scheduling" },
          { at = "30m", node = 1, action = "remove" },
        ]
        [[jobs]]
        tasks = [{ duration = "10m" }, { at = "6m", duration = "1m" }]
    "#);
    assert_eq!(dedicated(&out, min(10)), [("offline", 2)]);
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start, t.end)).collect();
    assert_eq!(runs, [(Some(min(4)), Some(min(14))), (Some(min(20)), Some(min(21)))]);
    let r = row(&out, min(10));
    assert_eq!((r.active_tasks, r.running_tasks), (1, 1));
    assert_eq!(dedicated(&out, min(25)), [("idle", 1), ("offline", 1)]);
    assert_eq!((dedicated(&out, min(30)), row(&out, min(30)).target), (vec![("idle", 1)], [1, 0]));
}

#[test]
fn a_job_preparation_task_runs_once_per_node_before_the_jobs_first_task() {
    let out = run(r#"
        duration = "2h"
        [pool]
        target_dedicated = 1
        node_actions = [{ at = "40m", node = 0, action = "reboot", duration = "1m" }]
        [[jobs]]
        preparation = { duration = "2m" }
        tasks = [{ duration = "10m", count = 3 }, { at = "50m", duration = "10m" }]
        [[jobs]]
        tasks = [{ at = "1m", duration = "1m" }]
    "#);
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start, t.end)).collect();
    // Prepared 4–6 min before the first task; again after the reboot.
    let expected = [(4, 16), (16, 26), (26, 36), (36, 37), (50, 62)];
    assert_eq!(runs, expected.map(|(s, e)| (Some(min(s)), Some(min(e)))));
    assert_eq!(
        job_tasks(&out),
        [(JobTaskKind::Preparation, 0, 4, 6, true), (JobTaskKind::Preparation, 0, 50, 52, true)]
    );
    // Preparing holds the slot and counts as running.
    assert_eq!((row(&out, min(5)).running_tasks, dedicated(&out, min(5))), (1, vec![("running", 1)]));
}

/// (kind, node, start min, end min, succeeded) of every job task run.
fn job_tasks(out: &Output) -> Vec<(JobTaskKind, u32, u64, u64, bool)> {
    out.job_tasks.iter().map(|r| (r.kind, r.node, r.start.0 / 60_000, r.end.0 / 60_000, r.succeeded)).collect()
}

#[test]
fn tasks_placed_on_a_node_while_it_prepares_their_job_wait_for_that_one_preparation() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        [[jobs]]
        preparation = { duration = "2m" }
        tasks = [{ duration = "10m", count = 2 }]
    "#);
    assert_eq!(job_tasks(&out), [(JobTaskKind::Preparation, 0, 4, 6, true)]);
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start, t.end)).collect();
    assert_eq!(runs, [(Some(min(4)), Some(min(16))); 2]);
}

#[test]
fn a_failed_job_preparation_requeues_the_task_and_bars_the_node_from_that_job_only() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 2
        [[jobs]]
        preparation = { duration = "2m", failure_probability = 1.0 }
        tasks = [{ duration = "5m" }]
        [[jobs]]
        tasks = [{ at = "10m", duration = "5m", count = 2 }]
    "#);
    // Node 0 fails the preparation at 4–6, node 1 at 6–8; then no node may
    // run the job, so its task stays active without blocking the other job.
    let failed = [(JobTaskKind::Preparation, 0, 4, 6, false), (JobTaskKind::Preparation, 1, 6, 8, false)];
    assert_eq!(job_tasks(&out), failed);
    let t = &out.tasks[0];
    assert_eq!((t.state, t.first_start, t.attempts, t.failures), (TaskState::Active, Some(min(4)), 2, 0));
    assert_eq!((row(&out, min(9)).active_tasks, row(&out, min(9)).running_tasks), (1, 0));
    assert_eq!(ends(&out)[1..], [(TaskState::Succeeded, Some(min(15)), 1); 2]);
    assert_eq!((row(&out, min(12)).active_tasks, row(&out, min(12)).running_tasks), (1, 2));
}

#[test]
fn a_task_set_aside_by_a_failed_preparation_runs_when_an_eligible_node_frees_up() {
    // Find a seed where the preparation fails on node 0 and succeeds on
    // node 1 (each has a one-in-two chance), so that node 0 has room but
    // may not take the job, and node 1 may but is busy.
    let text = |seed: u64| {
        format!(
            r#"
            duration = "2h"
            seed = {seed}
            [pool]
            target_dedicated = 2
            [[jobs]]
            preparation = {{ duration = "1m", failure_probability = 0.5 }}
            tasks = [{{ duration = "10m", count = 3 }}]
        "#
        )
    };
    let wanted = [(JobTaskKind::Preparation, 0, 4, 5, false), (JobTaskKind::Preparation, 1, 4, 5, true)];
    let out = (0..64).map(|seed| run(&text(seed))).find(|out| job_tasks(out) == wanted);
    let out = out.expect("a seed where node 0 fails the preparation and node 1 passes it");
    // Node 1 runs them one after the other: 5–15, 15–25, 25–35.
    let ends: Vec<_> = out.tasks.iter().map(|t| (t.state, t.node, t.end)).collect();
    let on_1 = |m| (TaskState::Succeeded, Some(1), Some(min(m)));
    assert_eq!(ends, [on_1(25), on_1(15), on_1(35)]);
}

#[test]
fn a_job_manager_stopped_with_terminate_ends_its_job_and_each_task_fails_once() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        resizes = [{ at = "10m", target_dedicated = 0, deallocation = "terminate" }]
        [[jobs]]
        manager = { duration = "30m" }
        tasks = [{ duration = "30m" }]
    "#);
    assert_eq!(ends(&out), [(TaskState::Failed, Some(min(10)), 1); 2]);
    assert_eq!(row(&out, min(11)).failed, 2);
}

#[test]
fn job_release_tasks_run_where_the_job_was_prepared_when_it_ends_and_hold_a_leaving_node() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        resizes = [{ at = "22m", target_dedicated = 0 }]
        [[jobs]]
        max_wall_clock_time = "20m"
        preparation = { duration = "1m" }
        release = { duration = "5m" }
        tasks = [{ duration = "30m" }]
    "#);
    assert_eq!(job_tasks(&out), [(JobTaskKind::Preparation, 0, 4, 5, true), (JobTaskKind::Release, 0, 20, 25, true)]);
    assert_eq!(ends(&out), [(TaskState::Failed, Some(min(20)), 1)]);
    assert_eq!(dedicated(&out, min(24)), [("leavingpool", 1)]);
    assert_eq!(dedicated(&out, min(26)), []);
    assert_eq!(out.charged_seconds, [22 * 60, 0]);
}

#[test]
fn the_job_manager_runs_first_restarts_first_and_ends_its_job() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        priority = 100
        tasks = [{ duration = "10m", count = 2 }]
        [[jobs]]
        priority = -5
        max_task_retry_count = 1
        manager = { duration = "15m", failure_probability = 1.0 }
        tasks = [{ duration = "5m" }]
    "#);
    // Task 0 is the manager, queued when the job is created; it runs ahead
    // of the priority-100 job at 4–19, fails, reruns ahead again at 19–34,
    // fails for good, and its job ends with it.
    let m = &out.tasks[0];
    assert_eq!((m.role, m.state, m.attempts, m.end), (TaskRole::JobManager, TaskState::Failed, 2, Some(min(34))));
    assert_eq!(ends(&out)[1..3], [(TaskState::Succeeded, Some(min(44)), 1), (TaskState::Succeeded, Some(min(54)), 1)]);
    assert_eq!(ends(&out)[3], (TaskState::Terminated, Some(min(34)), 0));
}

#[test]
fn a_shrink_removes_the_job_managers_node_last() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 2
        resizes = [{ at = "10m", target_dedicated = 1 }]
        node_actions = [{ at = "5m", node = 0, action = "reboot", duration = "1m" }]
        [[jobs]]
        manager = { duration = "40m" }
        [[jobs]]
        tasks = [{ duration = "30m" }]
    "#);
    // The manager starts on node 0 at 4, is requeued by the reboot and
    // starts there again at 6: node 0 has done less work than node 1 (busy
    // since 4), which the shrink would otherwise remove first.
    assert_eq!(dedicated(&out, min(11)), [("running", 1)]);
    let (m, t) = (&out.tasks[0], &out.tasks[1]);
    assert_eq!((m.state, m.end, m.node), (TaskState::Succeeded, Some(min(46)), Some(0)));
    assert_eq!((t.state, t.attempts, t.node), (TaskState::Running, 2, Some(0)), "requeued at 10, rerun from 46");
}

#[test]
fn a_gallery_image_brings_nodes_up_to_25_percent_faster() {
    let ready = |image: &str| -> Vec<u64> {
        let out = run(&format!(
            r#"
            duration = "1h"
            [pool]
            image = "{image}"
            allocation_time = "8m"
            boot_time = "4m"
            target_dedicated = 20
            [[jobs]]
            tasks = [{{ duration = "1h", count = 20 }}]
        "#
        ));
        let mut starts: Vec<u64> = out.tasks.iter().filter_map(|t| t.first_start).map(|t| t.as_millis()).collect();
        starts.sort_unstable();
        starts
    };
    let (marketplace, gallery) = (ready("marketplace"), ready("gallery"));
    assert_eq!(marketplace, vec![12 * 60_000; 20]);
    assert!(gallery.iter().all(|&t| (9 * 60_000..12 * 60_000).contains(&t)), "{gallery:?}");
    assert!(gallery.windows(2).any(|w| w[0] != w[1]), "each node draws its own speed-up");
}

#[test]
fn exit_codes_come_from_the_jobs_distribution_and_non_zero_is_a_failure() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        exit_codes = { 3 = 1 }
        max_task_retry_count = 1
        tasks = [{ duration = "5m" }]
        [[jobs]]
        exit_codes = { 0 = 1, 7 = 0 }
        tasks = [{ duration = "5m" }]
    "#);
    let codes: Vec<_> = out.tasks.iter().map(|t| (t.state, t.exit_code, t.attempts)).collect();
    assert_eq!(codes, [(TaskState::Failed, Some(3), 2), (TaskState::Succeeded, Some(0), 1)]);
}

#[test]
fn a_failed_node_is_unusable_its_tasks_requeued_until_a_reimage() {
    let out = node_action(
        r#"{ at = "10m", node = 0, action = "fail" }, { at = "20m", node = 0, action = "reimage", duration = "2m" }"#,
    );
    assert_eq!(dedicated(&out, min(11)), [("unusable", 1)]);
    assert_eq!((row(&out, min(11)).active_tasks, row(&out, min(11)).running_tasks), (1, 0));
    assert_eq!(dedicated(&out, min(21)), [("reimaging", 1)]);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(52)), 2)], "requeued at 10, rerun 22–52 min");
    assert_eq!(out.requeued_work, SimDuration::from_mins(6));
    // Billed throughout: 3 min to the end.
    assert_eq!(out.charged_seconds, [57 * 60, 0]);
}

#[test]
fn jobs_past_the_active_job_quota_are_refused_at_the_start_and_none_of_their_tasks_run() {
    let out = run(r#"
        duration = "1h"
        [account]
        active_jobs = 1
        [pool]
        target_dedicated = 1
        [[jobs]]
        id = "first"
        tasks = [{ duration = "10m" }]
        [[jobs]]
        id = "second"
        priority = 100
        manager = { duration = "5m" }
        max_wall_clock_time = "30m"
        tasks = [{ at = "1m", duration = "1m" }]
    "#);
    assert_eq!(out.refused_jobs, ["second"]);
    // Only the first job's task was submitted; the refused job's
    // manager, tasks and time limit never existed.
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(14)), 1)]);
    assert!(out.tasks.iter().all(|t| t.job == 0));
}

#[test]
fn jobs_within_the_active_job_quota_are_all_admitted() {
    let out = run(r#"
        duration = "1h"
        [account]
        active_jobs = 2
        [pool]
        target_dedicated = 1
        [[jobs]]
        tasks = [{ duration = "10m" }]
        [[jobs]]
        tasks = [{ duration = "10m" }]
    "#);
    assert!(out.refused_jobs.is_empty());
    assert_eq!(out.tasks.len(), 2);
}
