//! The pool's and its nodes' lifecycle, one test per rule: states and
//! billing, resizes and their deallocation options, quotas and timeouts,
//! preemption, the start task, node actions and the image.

use autoscale_sim::formula::builtins::Metric;
use autoscale_sim::report::{Summary, write_all};
use autoscale_sim::sim::{AllocationState, NodeState, Output, Priority, ResizeErrorCode, Simulation, TaskState};
use autoscale_sim::time::{SimDuration, SimTime};

use crate::support::scratch_dir;
use crate::timeline::{by_state, dedicated, ends, min, row, run, scenario, with_pool_defaults};

#[test]
fn nodes_go_creating_starting_idle_running_and_are_billed_from_allocation() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        tasks = [{ duration = "10m" }]
    "#);
    // The row at 0 shows the pool after its creation at that instant.
    assert_eq!(dedicated(&out, SimTime(0)), [("creating", 1)]);
    assert_eq!(row(&out, SimTime(0)).target, [1, 0]);
    assert_eq!(dedicated(&out, min(1)), [("creating", 1)]);
    assert_eq!(dedicated(&out, min(3)), [("starting", 1)]);
    assert_eq!(dedicated(&out, min(4)), [("running", 1)]);
    assert_eq!(dedicated(&out, min(14)), [("idle", 1)]);
    assert_eq!(row(&out, min(1)).allocation_state, AllocationState::Resizing);
    assert_eq!(row(&out, min(3)).allocation_state, AllocationState::Steady);
    let t = &out.tasks[0];
    assert_eq!((t.first_start(), t.end(), t.state), (Some(min(4)), Some(min(14)), TaskState::Succeeded));
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
    // The resize at 30 min to the nodes the pool has adds and removes
    // nothing, but it is a new resize: the errors go.
    assert_eq!(row(&out, SimTime(min(30).0 - 30_000)).errors.len(), 2);
    assert_eq!((row(&out, min(30)).target, row(&out, min(30)).errors.len()), ([2, 1], 0));
    assert_eq!(dedicated(&out, min(31)), [("idle", 2)]);
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
        start = "2024-01-01T00:00:00Z"
        duration = "1h"
        [pool]
        target_dedicated = 1
        resizes = [{ at = "1m", target_dedicated = 5 }]
    "#);
    assert_eq!(row(&out, min(10)).target, [1, 0]);
    // An error answered to the caller, not a resize error kept on the pool.
    assert_eq!(out.resize_errors, []);
    assert!(out.timeline.iter().all(|r| r.errors.is_empty()));
    let dir = scratch_dir("sim-pool-not-steady");
    let summary = Summary::of(&out);
    write_all(&out, &summary, &dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("operations.jsonl")).unwrap(),
        "{\"timestamp\":\"2024-01-01T00:01:00.000Z\",\"elapsed_s\":60.0,\
         \"operation\":\"resize to 5 dedicated, 0 low-priority nodes\",\
         \"error\":{\"code\":\"PoolNotSteady\",\
         \"message\":\"the pool is resizing; this operation needs a steady pool\"}}\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        (&json["refused_operations"], &json["resize_errors"]),
        (&serde_json::json!({"PoolNotSteady": 1}), &serde_json::json!({}))
    );
    assert!(summary.to_text(out.duration).contains("refused calls  PoolNotSteady x1 (operations.jsonl)\n"));
}

#[test]
fn the_last_rows_cost_is_the_runs_cost_with_the_minute_minimum() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        allocation_time = "30s"
        resizes = [{ at = "59m", target_dedicated = 2 }]
    "#);
    // Node 0 billed from 1:30 to the end (3 570 s); node 1 from 59:30, 30 s
    // charged as the 60-s minimum, in the last row as in the summary.
    assert_eq!(out.charged_seconds, [3630, 0]);
    let last = out.timeline.last().unwrap();
    assert_eq!((last.time, last.cost), (min(60), Summary::of(&out).cost.total));
    assert!((last.cost - 3.63).abs() < 1e-9, "{}", last.cost);
    // Mid-run, open periods count as if they closed then: node 1's first
    // instant already costs its minute.
    let at = |t: SimTime| row(&out, t).cost;
    assert!((at(min(59)) - 3.51).abs() < 1e-9, "{}", at(min(59)));
    assert!((at(SimTime(min(59).0 + 30_000)) - 3.6).abs() < 1e-9);
}

#[test]
fn preempted_nodes_stay_counted_unbilled_and_their_tasks_are_requeued() {
    let dir = scratch_dir("sim-preempt");
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
    assert_eq!(ok.tasks.iter().map(|t| t.first_start()).collect::<Vec<_>>(), [Some(min(6)); 2]);
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
    assert_eq!(out.requeued_work, [SimDuration::from_mins(6), SimDuration::ZERO], "the 4–10 min run was wasted");
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
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start(), t.end())).collect();
    assert_eq!(runs, [(Some(min(4)), Some(min(14))), (Some(min(20)), Some(min(21)))]);
    let r = row(&out, min(10));
    assert_eq!((r.active_tasks, r.running_tasks), (1, 1));
    assert_eq!(dedicated(&out, min(25)), [("idle", 1), ("offline", 1)]);
    assert_eq!((dedicated(&out, min(30)), row(&out, min(30)).target), (vec![("idle", 1)], [1, 0]));
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
        let mut starts: Vec<u64> = out.tasks.iter().filter_map(|t| t.first_start()).map(|t| t.as_millis()).collect();
        starts.sort_unstable();
        starts
    };
    let (marketplace, gallery) = (ready("marketplace"), ready("gallery"));
    assert_eq!(marketplace, vec![12 * 60_000; 20]);
    assert!(gallery.iter().all(|&t| (9 * 60_000..12 * 60_000).contains(&t)), "{gallery:?}");
    assert!(gallery.windows(2).any(|w| w[0] != w[1]), "each node draws its own speed-up");
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
    assert_eq!(out.requeued_work, [SimDuration::from_mins(6), SimDuration::ZERO]);
    // Billed throughout: 3 min to the end.
    assert_eq!(out.charged_seconds, [57 * 60, 0]);
}
