//! Jobs and their tasks: priorities, placement on nodes, retries,
//! dependencies, wall-clock limits, multi-instance tasks, the job manager,
//! preparation and release tasks, exit codes and the active-job quota.

use autoscale_sim::report::Summary;
use autoscale_sim::sim::{JobTaskKind, Output, TaskState};

use crate::timeline::{dedicated, ends, min, row, run};

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
    let starts: Vec<_> = out.tasks.iter().map(|t| t.first_start()).collect();
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
        let mut n: Vec<_> = out.tasks.iter().map(|t| t.node()).collect();
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
    assert_eq!((t.state, t.attempts, t.failures, t.end()), (TaskState::Failed, 3, 3, Some(min(34))));
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
        out.tasks.iter().map(|t| (t.first_start().map(|s| s.0 / 60_000), t.end().map(|e| e.0 / 60_000))).collect();
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
    assert_eq!(out.tasks[1].end(), Some(min(10)));
    assert!(out.tasks.iter().all(|t| t.attempts == u16::from(t.state == TaskState::Failed)));
    assert_eq!(row(&out, min(30)).active_tasks, 0);
    let summary = Summary::of(&out);
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
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.job, t.state, t.first_start(), t.end())).collect();
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
    let summary = Summary::of(&out);
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
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start(), t.end(), t.attempts, t.state)).collect();
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
    assert_eq!((t.first_start(), t.end(), t.attempts, t.state), (Some(min(4)), Some(min(44)), 2, TaskState::Succeeded));
    assert_eq!(dedicated(&out, min(10)), [("idle", 2)]);
    assert_eq!((row(&out, min(10)).active_tasks, row(&out, min(10)).running_tasks), (3, 0));
    assert_eq!(dedicated(&out, min(25)), [("running", 3)]);
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
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start(), t.end())).collect();
    // Prepared 4–6 min before the first task; the two jobs then take
    // turns (the other job's task runs at 16); prepared again after the
    // reboot.
    let expected = [(4, 16), (17, 27), (27, 37), (16, 17), (50, 62)];
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
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start(), t.end())).collect();
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
    assert_eq!((t.state, t.first_start(), t.attempts, t.failures), (TaskState::Active, Some(min(4)), 2, 0));
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
    let ends: Vec<_> = out.tasks.iter().map(|t| (t.state, t.node(), t.end())).collect();
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
    assert_eq!((m.state, m.end(), m.node()), (TaskState::Succeeded, Some(min(46)), Some(0)));
    assert_eq!((t.state, t.attempts, t.node()), (TaskState::Running, 2, Some(0)), "requeued at 10, rerun from 46");
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
