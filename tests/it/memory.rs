//! Memory follows the work in flight, not the history: a steady load run
//! for 200 days keeps about as many task records at once as the same load
//! run for 10 days, with `tasks.csv` and `timeline.csv` written as the run
//! goes or not, the timeline rows kept stop at a bound, and the queue-wait
//! statistics stop growing once past their exact range (`sim::waits`'
//! tests).

use autoscale_sim::report::{TasksCsv, TimelineCsv};
use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{
    EXACT_WAITS, KEPT_ROWS, Output, SAMPLE_PERIOD, Simulation, TaskRecords, TaskState, TimelineRecords,
};

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

/// A run of `days` days whose tasks are counted and timeline dropped, or
/// written to `tasks.csv` and `timeline.csv` in a scratch folder as they
/// finish and are sampled (then their rows are checked against the count
/// and the samples), as `run` does without and with `--out`.
fn run(days: u32, out: bool) -> Output {
    let dir = scratch_dir(&format!("memory-{days}-{out}"));
    let scenario = steady(days);
    let jobs = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let (tasks, timeline) = match out {
        true => (
            TaskRecords::Send(Box::new(TasksCsv::create(&dir, jobs).expect("tasks.csv starts"))),
            TimelineRecords::Send(Box::new(TimelineCsv::create(&dir, scenario.start).expect("timeline.csv starts"))),
        ),
        false => (TaskRecords::Count, TimelineRecords::Drop),
    };
    let sim = Simulation::new(scenario, None).send_tasks_to(tasks).send_timeline_to(timeline);
    let (output, records) = sim.run_with_records(&mut |_| {});
    assert!(output.tasks.is_empty(), "no task is kept in the output");
    assert_eq!(output.timeline.is_empty(), !out);
    if let TaskRecords::Send(sink) = records.tasks {
        sink.close().expect("tasks.csv is written");
        let text = std::fs::read_to_string(dir.join("tasks.csv")).expect("tasks.csv");
        assert_eq!(text.lines().count() as u64, output.task_tally.submitted() + 1, "a row per task and the header");
        assert!(text.lines().nth(1).is_some_and(|row| row.starts_with("0,steady,")), "rows in task order");
    }
    if let Some(sink) = records.timeline {
        sink.close().expect("timeline.csv is written");
        let text = std::fs::read_to_string(dir.join("timeline.csv")).expect("timeline.csv");
        // Every sample at full resolution, whatever was kept: a row per 30 s, both ends.
        let samples = u64::from(days) * 24 * 120 + 1;
        assert_eq!(text.lines().count() as u64, samples + 1, "a row per sample and the header");
        let last = text.lines().last().expect("a row");
        assert_eq!(last.split(',').nth(1), Some(format!("{}.000", u64::from(days) * 86_400).as_str()), "{last}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    output
}

#[test]
fn a_200_day_steady_run_keeps_no_more_than_1_5_times_the_task_records_and_timeline_rows_of_a_10_day_run() {
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
        if out {
            timeline_rows_kept_are_bounded(&short, &long);
        }
    }
}

/// With `--out`, the 10-day run keeps every one of its 28 801 rows, and
/// the 200-day run's copy of its 576 001 rows, halved each time it reached
/// `KEPT_ROWS` (32 768), holds every 32nd row: 18 001 rows, 16 minutes
/// apart, the last one at the end.
fn timeline_rows_kept_are_bounded(short: &Output, long: &Output) {
    let (s, l) = (&short.timeline, &long.timeline);
    assert_eq!(s.len(), 28_801);
    assert!(s.iter().enumerate().all(|(i, r)| r.time.as_millis() == i as u64 * SAMPLE_PERIOD.as_millis()));
    assert!(l.len() <= KEPT_ROWS, "{} rows kept", l.len());
    assert!(l.len() * 2 <= s.len() * 3, "timeline rows kept: {} in 200 days, {} in 10", l.len(), s.len());
    let stride = 32 * SAMPLE_PERIOD.as_millis();
    let (body, last) = l.split_at(l.len() - 1);
    assert!(body.iter().enumerate().all(|(i, r)| r.time.as_millis() == i as u64 * stride));
    assert_eq!(last[0].time.as_millis(), 200 * 86_400_000);
    assert_eq!(l.len(), 576_000 / 32 + 1);
}
