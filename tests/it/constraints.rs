//! Task constraints: a task's own wall-clock limit, retry count and
//! retention, each overriding its job's, from a `tasks` entry, a
//! generator or a trace; tasks the service ends complete as failed with
//! exit code 0xC000013A and the `TaskEnded` failure.

use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{TASK_ENDED_EXIT_CODE, TaskFailure, TaskState};

use crate::support::scratch_dir;
use crate::timeline::{dedicated, min, run};

#[test]
fn the_task_ended_exit_code_is_0xc000013a_as_a_signed_32_bit_value() {
    assert_eq!(TASK_ENDED_EXIT_CODE, -1_073_741_510);
}

#[test]
fn a_task_past_its_own_wall_clock_limit_is_ended_and_not_retried() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        max_task_retry_count = 3
        tasks = [{ duration = "30m", max_wall_clock_time = "10m" }, { duration = "5m", max_wall_clock_time = "5m" }]
    "#);
    // The first runs 4–14 and is ended at its limit, with no retry; the
    // second ends on its own exactly at its limit, 14–19.
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.state, t.end(), t.attempts, t.exit_code, t.failure)).collect();
    assert_eq!(
        runs,
        [
            (TaskState::Failed, Some(min(14)), 1, Some(-1_073_741_510), Some(TaskFailure::TaskEnded)),
            (TaskState::Succeeded, Some(min(19)), 1, Some(0), None),
        ]
    );
}

#[test]
fn a_task_past_its_jobs_wall_clock_limit_ends_with_the_same_code() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        [[jobs]]
        max_wall_clock_time = "20m"
        tasks = [{ duration = "30m" }]
    "#);
    // The job is created at the start; its limit ends the task at 20.
    let t = &out.tasks[0];
    let ended = (t.state, t.end(), t.exit_code, t.failure);
    assert_eq!(ended, (TaskState::Failed, Some(min(20)), Some(-1_073_741_510), Some(TaskFailure::TaskEnded)));
}

#[test]
fn a_tasks_own_retry_count_overrides_its_jobs() {
    let out = run(r#"
        duration = "119m"
        [pool]
        target_dedicated = 1
        [[jobs]]
        failure_probability = 1.0
        max_task_retry_count = 0
        tasks = [{ duration = "5m", max_task_retry_count = 2 }, { duration = "5m" }]
        [[jobs]]
        failure_probability = 1.0
        max_task_retry_count = 2
        generate = [{ kind = "periodic", every = "2h", duration = "5m", max_task_retry_count = 0 }]
    "#);
    // Tasks in submission order: the job's first entry, the generator's
    // task, the job's second entry.
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.job, t.attempts, t.exit_code, t.failure)).collect();
    let failed = Some(TaskFailure::FailureExitCode);
    assert_eq!(runs, [(0, 3, Some(1), failed), (1, 1, Some(1), failed), (0, 1, Some(1), failed)]);
    assert!(out.tasks.iter().all(|t| t.state == TaskState::Failed));
}

#[test]
fn a_tasks_own_retention_holds_a_retaineddata_node_instead_of_its_jobs() {
    let out = run(r#"
        duration = "2h"
        [pool]
        target_dedicated = 1
        resizes = [{ at = "20m", target_dedicated = 0, deallocation = "retaineddata" }]
        [[jobs]]
        tasks = [{ duration = "10m", retention = "30m" }]
    "#);
    // The task ends at 14; its data, kept 30 min (not the job's 7 days),
    // holds the leaving node until 44: billed from its allocation at 3.
    assert_eq!(dedicated(&out, min(43)), [("leavingpool", 1)]);
    assert_eq!(dedicated(&out, min(45)), []);
    assert_eq!(out.charged_seconds, [41 * 60, 0]);
}

#[test]
fn a_generators_and_a_traces_tasks_carry_their_constraints() {
    let dir = scratch_dir("constraints-trace");
    std::fs::write(dir.join("tasks.csv"), "submit,duration,max_wall_clock_time\n30m,20m,5m\n40m,1m,\n").unwrap();
    let text = r#"
        duration = "119m"
        [pool]
        vm = { cores = 1, dedicated_price = 3.6 }
        allocation_time = "3m"
        boot_time = "1m"
        target_dedicated = 2
        [[jobs]]
        generate = [{ kind = "periodic", every = "1h", count = 1, duration = "20m", max_wall_clock_time = "10m" }]
        [[jobs]]
        trace = "tasks.csv"
    "#;
    let scenario = Scenario::from_toml(text, "t.toml", "t", &dir).unwrap_or_else(|e| panic!("{e}"));
    let out = crate::timeline::run_checked(scenario).unwrap_or_else(|e| panic!("{e}"));
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.job, t.first_start(), t.end(), t.failure)).collect();
    let ended = Some(TaskFailure::TaskEnded);
    assert_eq!(
        runs,
        [
            (0, Some(min(4)), Some(min(14)), ended),
            (1, Some(min(30)), Some(min(35)), ended),
            (1, Some(min(40)), Some(min(41)), None),
            (0, Some(min(60)), Some(min(70)), ended),
        ]
    );
}

#[test]
fn constraints_out_of_range_are_refused_naming_their_key() {
    let refusal = |entry: &str| {
        let text = format!(
            "duration = \"1h\"\n[pool]\nvm = {{ cores = 1, dedicated_price = 1.0 }}\ntarget_dedicated = 1\n[[jobs]]\n{entry}\n"
        );
        Scenario::from_toml(&text, "t.toml", "t", ".".as_ref()).unwrap_err().to_string()
    };
    let e = refusal(r#"tasks = [{ duration = "1m" }, { duration = "1m", max_task_retry_count = -2 }]"#);
    assert!(e.contains("jobs[0].tasks[1].max_task_retry_count: -2 is out of range; give -1 (unlimited)"), "{e}");
    let e =
        refusal(r#"generate = [{ kind = "poisson", rate_per_hour = 1, duration = "1m", max_wall_clock_time = "0s" }]"#);
    assert!(e.contains("jobs[0].generate[0].max_wall_clock_time: a limit of 0s ends every run"), "{e}");
    let e = refusal(r#"tasks = [{ duration = "1m", retention = "soon" }]"#);
    assert!(e.contains("retention"), "{e}");
}
