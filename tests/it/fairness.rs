//! The scheduler's order between jobs: jobs of one priority take turns
//! for free slots, a job that cannot fit does not hold up the others of
//! its priority, a job manager goes first within its own job only, and a
//! job manager restarting after a failure goes first of all, stopping a
//! running task when no node has room.

use autoscale_sim::sim::{Output, TaskRole, TaskState};
use autoscale_sim::time::SimTime;

use crate::timeline::{ends, min, row, run};

/// (job, start) of every task that started, by start time (then task
/// number).
fn starts(out: &Output) -> Vec<(u32, SimTime)> {
    let mut starts: Vec<_> = out.tasks.iter().filter_map(|t| Some((t.first_start()?, t.job))).collect();
    starts.sort();
    starts.into_iter().map(|(s, j)| (j, s)).collect()
}

#[test]
fn two_jobs_of_one_priority_take_turns_for_a_node() {
    let out = run(r#"
        duration = "4h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        tasks = [{ duration = "1m", count = 100 }]
        [[jobs]]
        tasks = [{ duration = "1m", count = 100 }]
    "#);
    // The node is ready at 4 min and runs one task a minute: the two jobs
    // alternate, job 0 first, for the 200 tasks.
    let expected: Vec<_> = (0..200).map(|k| (k % 2, min(4 + u64::from(k)))).collect();
    assert_eq!(starts(&out), expected);
    let first_50 = &starts(&out)[..50];
    assert_eq!(first_50.iter().filter(|(j, _)| *j == 0).count(), 25);
    // Within each job, first in first out.
    let job_1: Vec<_> = out.tasks[100..].iter().map(|t| t.first_start()).collect();
    assert!(job_1.is_sorted());
}

#[test]
fn the_issues_example_two_jobs_of_four_tasks_alternate() {
    let out = run(r#"
        duration = "2h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        tasks = [{ at = "5m", duration = "10m", count = 4 }]
        [[jobs]]
        tasks = [{ at = "5m", duration = "10m", count = 4 }]
    "#);
    // Before the turns, job 0's four tasks all ran before job 1's.
    let expected = [(0, 5), (1, 15), (0, 25), (1, 35), (0, 45), (1, 55), (0, 65), (1, 75)];
    assert_eq!(starts(&out), expected.map(|(j, m)| (j, min(m))));
}

#[test]
fn a_task_retried_forever_does_not_starve_another_job_of_its_priority() {
    let out = run(r#"
        duration = "58m"
        [pool]
        target_dedicated = 1
        [[jobs]]
        failure_probability = 1.0
        max_task_retry_count = -1
        tasks = [{ at = "5m", duration = "5m" }]
        [[jobs]]
        tasks = [{ at = "5m", duration = "5m", count = 2 }]
    "#);
    // 5–10 the failing task, 10–15 the other job's first, 15–20 the
    // failing task again, 20–25 the other job's second, then the failing
    // task alone every 5 minutes (its ninth run is on at the end).
    assert_eq!(ends(&out)[1..], [(TaskState::Succeeded, Some(min(15)), 1), (TaskState::Succeeded, Some(min(25)), 1)]);
    let forever = &out.tasks[0];
    assert_eq!((forever.state, forever.attempts, forever.failures), (TaskState::Running, 9, 8));
    assert_eq!(row(&out, min(16)).active_tasks, 1);
}

#[test]
fn a_task_that_cannot_fit_does_not_hold_up_the_other_jobs_of_its_priority() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        [[jobs]]
        tasks = [{ duration = "30m" }, { duration = "5m", slots = 2 }]
        [[jobs]]
        tasks = [{ at = "1m", duration = "10m", count = 2 }]
        [[jobs]]
        priority = -1
        tasks = [{ at = "1m", duration = "1m" }]
    "#);
    // Job 0's two-slot task waits for the whole node (free at 34 min);
    // job 1's tasks use the free slot meanwhile, one after the other. The
    // lower priority's task waits behind them all, even with a slot free
    // from 24, which keeps priorities strict.
    let expected = [(0, 4), (1, 4), (1, 14), (0, 34), (2, 39)];
    assert_eq!(starts(&out), expected.map(|(j, m)| (j, min(m))));
}

#[test]
fn a_job_manager_goes_first_within_its_job_only() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        [[jobs]]
        priority = -1000
        tasks = [{ duration = "10m" }]
        manager = { duration = "5m" }
        [[jobs]]
        priority = 1000
        tasks = [{ duration = "10m", count = 3 }]
    "#);
    // Task 0 is the manager. The priority 1000 job's three tasks take the
    // two slots at 4 and the first freed one at 14; the manager, ahead of
    // its own job's task, comes next, at 14; its end at 19 ends its job
    // before that task runs.
    let m = &out.tasks[0];
    let manager = (m.role, m.first_start(), m.end(), m.state);
    assert_eq!(manager, (TaskRole::JobManager, Some(min(14)), Some(min(19)), TaskState::Succeeded));
    let expected = [(1, 4), (1, 4), (0, 14), (1, 14)];
    assert_eq!(starts(&out), expected.map(|(j, m)| (j, min(m))));
    assert_eq!(ends(&out)[1], (TaskState::Terminated, Some(min(19)), 0));
}

#[test]
fn a_restarting_job_manager_stops_the_most_recent_task_of_the_lowest_priority() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 4
        node_actions = [{ at = "7m", node = 1, action = "disable_scheduling", deallocation = "taskcompletion" }]
        [[jobs]]
        id = "managed"
        max_task_retry_count = 1
        manager = { duration = "10m", failure_probability = 1.0 }
        [[jobs]]
        id = "low"
        priority = -5
        tasks = [{ duration = "30m" }, { at = "6m", duration = "30m" }]
        [[jobs]]
        id = "high"
        priority = 5
        tasks = [{ duration = "30m" }]
    "#);
    // Task 0 is the manager, 1 and 3 the low tasks, 2 the high one. Each
    // node takes the queue's head as it becomes ready at 4 min: the high
    // task node 0, the manager node 1, the first low task node 2; the
    // second low task takes node 3 at 6. Node 1 takes no new task from 7
    // (its running one goes on);
    // the manager fails there at 14 and must restart with every other node
    // busy: the most recent task of the lowest priority (the second low
    // one, on node 3) is stopped and queued again, without using a retry.
    // The manager fails again at 24, for good, which ends its job; the
    // stopped task runs again from 24.
    let m = &out.tasks[0];
    assert_eq!((m.state, m.attempts, m.end(), m.node()), (TaskState::Failed, 2, Some(min(24)), Some(3)));
    let stopped = &out.tasks[3];
    assert_eq!(
        (stopped.state, stopped.attempts, stopped.failures, stopped.end(), stopped.node()),
        (TaskState::Succeeded, 2, 0, Some(min(54)), Some(3))
    );
    let others: Vec<_> = [1, 2].map(|t| (out.tasks[t].node(), out.tasks[t].end())).to_vec();
    assert_eq!(others, [(Some(2), Some(min(34))), (Some(0), Some(min(34)))]);
    assert_eq!(
        out.requeued_work.iter().map(|w| w.as_millis()).sum::<u64>(),
        8 * 60_000,
        "the stopped task had run 6–14"
    );
}
