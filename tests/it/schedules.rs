//! Job schedules: jobs created every period between `from` and `until`,
//! each with its manager queued at its creation, its tasks' times and its
//! time limit counted from there, and the active-job quota deciding each
//! occurrence when it comes.

use autoscale_sim::sim::{Output, TaskRole, TaskState};

use crate::timeline::{min, run, scenario};

/// A task as these tests check it: (job id, role, submit, first start,
/// end, state), times in minutes.
type Run<'a> = (&'a str, TaskRole, u64, Option<u64>, Option<u64>, TaskState);

/// Every task, in submission order.
fn runs(out: &Output) -> Vec<Run<'_>> {
    let m = |t: autoscale_sim::time::SimTime| t.as_millis() / 60_000;
    out.tasks
        .iter()
        .map(|t| {
            (out.jobs[t.job as usize].as_str(), t.role, m(t.submit), t.first_start().map(m), t.end().map(m), t.state)
        })
        .collect()
}

#[test]
fn a_schedule_creates_its_jobs_at_each_period_with_their_managers_between_from_and_until() {
    let out = run(r#"
        duration = "4h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        [[schedules]]
        id = "nightly"
        every = "1h"
        from = "30m"
        until = "2h 30m"
        [schedules.job]
        priority = 5
        manager = { duration = "20m" }
        tasks = [{ at = "5m", duration = "10m" }]
    "#);
    use TaskRole::{JobManager as M, Task as T};
    use TaskState::Succeeded as S;
    assert_eq!(
        runs(&out),
        [
            ("nightly:job-1", M, 30, Some(30), Some(50), S),
            ("nightly:job-1", T, 35, Some(35), Some(45), S),
            ("nightly:job-2", M, 90, Some(90), Some(110), S),
            ("nightly:job-2", T, 95, Some(95), Some(105), S),
            ("nightly:job-3", M, 150, Some(150), Some(170), S),
            ("nightly:job-3", T, 155, Some(155), Some(165), S),
        ]
    );
    assert_eq!(out.jobs, ["nightly:job-1", "nightly:job-2", "nightly:job-3"]);
    assert!(out.refused_jobs.is_empty());
}

#[test]
fn a_scheduled_jobs_time_limit_and_generators_count_from_its_creation() {
    let out = run(r#"
        duration = "2h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 4
        [[schedules]]
        id = "s"
        every = "1h"
        from = "10m"
        [schedules.job]
        max_wall_clock_time = "25m"
        manager = { duration = "1h" }
        generate = [{ kind = "periodic", every = "10m", until = "20m", duration = "1m" }]
    "#);
    use TaskRole::{JobManager as M, Task as T};
    use TaskState::{Failed as F, Succeeded as S};
    assert_eq!(
        runs(&out),
        [
            ("s:job-1", M, 10, Some(10), Some(35), F),
            ("s:job-1", T, 10, Some(10), Some(11), S),
            ("s:job-1", T, 20, Some(20), Some(21), S),
            ("s:job-1", T, 30, Some(30), Some(31), S),
            ("s:job-2", M, 70, Some(70), Some(95), F),
            ("s:job-2", T, 70, Some(70), Some(71), S),
            ("s:job-2", T, 80, Some(80), Some(81), S),
            ("s:job-2", T, 90, Some(90), Some(91), S),
        ]
    );
}

#[test]
fn an_occurrence_past_the_active_job_quota_is_refused_and_a_later_one_admitted() {
    // The quota counts the file's job, the schedule itself and its jobs
    // still active: job-1 runs its manager 4–49 min, so job-2, due at 30
    // min, finds three active and is refused; job-3, at 60, is created,
    // and runs until 105, so job-4, at 90, is refused in turn.
    let out = run(r#"
        duration = "100m"
        [account]
        active_jobs = 3
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        [[jobs]]
        id = "always"
        [[schedules]]
        id = "half-hourly"
        every = "30m"
        [schedules.job]
        manager = { duration = "45m" }
    "#);
    assert_eq!(out.refused_jobs, ["half-hourly:job-2", "half-hourly:job-4"]);
    let managers: Vec<_> = runs(&out).into_iter().map(|(id, _, submit, start, ..)| (id, submit, start)).collect();
    assert_eq!(managers, [("half-hourly:job-1", 0, Some(4)), ("half-hourly:job-3", 60, Some(60))]);
    assert_eq!(out.tasks[1].end(), None);
    assert_eq!(out.tasks[0].end(), Some(min(49)));
}

#[test]
fn a_schedule_past_the_quota_at_the_start_creates_no_job() {
    let out = run(r#"
        duration = "1h"
        [account]
        active_jobs = 1
        [pool]
        target_dedicated = 1
        [[jobs]]
        id = "first"
        [[schedules]]
        id = "nightly"
        every = "10m"
        [schedules.job]
        manager = { duration = "1m" }
    "#);
    assert_eq!(out.refused_jobs, ["nightly"]);
    assert!(out.tasks.is_empty());
}

#[test]
fn schedules_are_refused_with_the_key_and_the_fix() {
    let error_over = |duration: &str, schedule: &str| {
        let text = format!("duration = \"{duration}\"\n[pool]\nvm = {{ cores = 1, dedicated_price = 1 }}\n{schedule}");
        match autoscale_sim::scenario::Scenario::from_toml(&text, "s.toml", "s", ".".as_ref()) {
            Ok(_) => panic!("accepted: {schedule}"),
            Err(e) => e.to_string(),
        }
    };
    let error = |schedule: &str| error_over("1d", schedule);
    let e = error("[[schedules]]\nid = \"n\"\nevery = \"1h\"\n[schedules.job]\ntasks = [{ duration = \"1m\" }]");
    assert!(e.contains("schedules[0].job.manager: a scheduled job needs a job manager task"), "{e}");
    let e = error("[[schedules]]\nid = \"n\"\nevery = \"30s\"\n[schedules.job]\nmanager = { duration = \"1m\" }");
    assert!(e.contains("schedules[0].every: 30s is too short; the service's shortest period is 1m"), "{e}");
    let e = error(
        "[[schedules]]\nid = \"n\"\nevery = \"1h\"\nfrom = \"2h\"\nuntil = \"1h\"\n[schedules.job]\nmanager = { duration = \
         \"1m\" }",
    );
    assert!(e.contains("schedules[0].until: 1h is not after from (2h)"), "{e}");
    let e = error_over(
        "100d",
        "[[schedules]]\nid = \"n\"\nevery = \"1m\"\n[schedules.job]\nmanager = { duration = \"1m\" }",
    );
    assert!(
        e.contains(
            "schedules[0].every: the schedules create more than 10000 jobs over 100d; lengthen the period or bound \
             it with from and until"
        ),
        "{e}"
    );
    let e = error(
        "[[schedules]]\nid = \"n\"\nevery = \"1h\"\n[schedules.job]\nid = \"x\"\nmanager = { duration = \"1m\" }",
    );
    assert!(e.contains("schedules[0].job.id: a schedule names its jobs `n:job-N`; remove this id"), "{e}");
    // A scenario's template is checked as a `[[jobs]]` table, under its own path.
    let e = error(
        "[[schedules]]\nid = \"n\"\nevery = \"1h\"\n[schedules.job]\npriority = 2000\nmanager = { duration = \"1m\" }",
    );
    assert!(e.contains("schedules[0].job.priority: 2000 is out of range"), "{e}");
    let s = scenario(
        "duration = \"3h\"\n[pool]\nvm = { cores = 1, dedicated_price = 1 }\n[[schedules]]\nid = \"n\"\nevery = \
         \"1h\"\n[schedules.job]\nmanager = { duration = \"1m\" }",
    );
    assert_eq!(s.jobs.iter().map(|j| j.created().as_millis() / 60_000).collect::<Vec<_>>(), [0, 60, 120]);
}
