//! Memory follows the work in flight, not the history: a steady load run
//! for 200 days keeps about as many task records at once as the same load
//! run for 10 days, with `tasks.csv` written as the run goes or not, and
//! the queue-wait statistics stop growing once past their exact range
//! (`sim::waits`' tests).

use autoscale_sim::report::TasksCsv;
use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{EXACT_WAITS, Output, Simulation, TaskRecords, TaskState};

use crate::support::scratch_dir;

/// 10 single-slot nodes from the start, 30 tasks an hour of 5 to 15
/// minutes (half the nodes busy on average), for `days` days.
fn steady(days: u32) -> Scenario {
    let text = format!(
        r#"
        duration = "{days}d"
        seed = 3
        [pool]
        vm = {{ cores = 1, dedicated_price = 0.1 }}
        target_dedicated = 10
        allocation_time = "0s"
        boot_time = "0s"
        [[jobs]]
        id = "steady"
        generate = [{{ kind = "poisson", rate_per_hour = 30, duration = {{ dist = "uniform", min = "5m", max = "15m" }} }}]
        "#
    );
    Scenario::from_toml(&text, "steady.toml", "steady", ".".as_ref()).expect("the scenario loads")
}

/// A run of `days` days whose tasks are counted, or written to
/// `tasks.csv` in a scratch folder as they finish (then its rows are
/// checked against the count).
fn run(days: u32, out: bool) -> Output {
    let dir = scratch_dir(&format!("memory-{days}-{out}"));
    let scenario = steady(days);
    let jobs = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let records = match out {
        true => TaskRecords::Send(Box::new(TasksCsv::create(&dir, jobs).expect("tasks.csv starts"))),
        false => TaskRecords::Count,
    };
    // As `run` does: the timeline is kept for the charts with --out only.
    let sim = Simulation::new(scenario, None).send_tasks_to(records);
    let sim = if out { sim } else { sim.drop_timeline() };
    let (output, records) = sim.run_with_records(&mut |_| {});
    assert!(output.tasks.is_empty(), "no task is kept in the output");
    assert_eq!(output.timeline.is_empty(), !out);
    if let TaskRecords::Send(sink) = records {
        sink.close().expect("tasks.csv is written");
        let text = std::fs::read_to_string(dir.join("tasks.csv")).expect("tasks.csv");
        assert_eq!(text.lines().count() as u64, output.task_tally.submitted() + 1, "a row per task and the header");
        assert!(text.lines().nth(1).is_some_and(|row| row.starts_with("0,steady,")), "rows in task order");
    }
    let _ = std::fs::remove_dir_all(&dir);
    output
}

#[test]
fn a_200_day_steady_run_keeps_no_more_than_1_5_times_the_task_records_of_a_10_day_run() {
    for out in [false, true] {
        let (short, long) = (run(10, out), run(200, out));
        let (s, l) = (&short.task_tally, &long.task_tally);
        // About 30 × 24 × days tasks, all of them counted.
        assert!(s.submitted() > 6_500 && l.submitted() > 20 * s.submitted() - 10_000, "{s:?} {l:?}");
        assert_eq!(
            l.count(TaskState::Succeeded) + l.count(TaskState::Running) + l.count(TaskState::Active),
            l.submitted()
        );
        assert_eq!((short.peak_live_tasks, long.peak_live_tasks), (18, 20), "--out: {out}");
        assert!(
            long.peak_live_tasks * 2 <= short.peak_live_tasks * 3,
            "peak task records: {} in 200 days, {} in 10 (--out: {out})",
            long.peak_live_tasks,
            short.peak_live_tasks
        );
        // The waits kept stop at the exact range (then a histogram of fixed size).
        assert!(l.waits().kept_len() <= EXACT_WAITS);
    }
}
