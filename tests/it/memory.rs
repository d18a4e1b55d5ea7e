//! Memory follows the work in flight, not the history: a steady load run
//! for 200 days keeps about as many task records at once as the same load
//! run for 10 days, with `tasks.csv` and `timeline.csv` written as the run
//! goes or not, the timeline rows kept stop at a bound, and the queue-wait
//! statistics stop growing once past their exact range (`sim::waits`'
//! tests).

use autoscale_sim::report::{TasksCsv, TimelineCsv};
use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{
    EXACT_WAITS, KEPT_ROWS, Output, SAMPLE_PERIOD, SET_ASIDE_AFTER, Simulation, TaskRecords, TaskState, TimelineRecords,
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

/// A job manager running the whole day beside 100 000 one-minute tasks
/// on 20 nodes: without setting it aside, every finished task would stay
/// in memory behind it.
fn manager_and_many_tasks() -> Scenario {
    let text = r#"
        duration = "1d"
        seed = 4
        [pool]
        vm = { cores = 1, dedicated_price = 0.1 }
        target_dedicated = 20
        allocation_time = "0s"
        boot_time = "0s"
        [[jobs]]
        id = "managed"
        manager = { duration = "2d" }
        generate = [{ kind = "poisson", rate_per_hour = 4200, duration = "10s" }]
        "#;
    Scenario::from_toml(text, "managed.toml", "managed", ".".as_ref()).expect("the scenario loads")
}

#[test]
fn a_task_in_flight_for_the_whole_run_does_not_hold_the_finished_ones_behind_it() {
    let dir = scratch_dir("memory-manager");
    let scenario = manager_and_many_tasks();
    let jobs = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let csv = TasksCsv::create(&dir, jobs).expect("tasks.csv starts");
    let mut sim = Simulation::new(scenario, None).send_tasks_to(TaskRecords::Send(Box::new(csv)));
    let mut events = 0u64;
    while sim.step() {
        events += 1;
        if events.is_multiple_of(20_000) {
            sim.check_invariants().unwrap_or_else(|e| panic!("after event {events}: {e}"));
        }
    }
    let (output, records) = sim.finish_with_records();
    let submitted = output.task_tally.submitted();
    assert!(submitted > 100_000, "{submitted} tasks");
    // The window reaches SET_ASIDE_AFTER before the manager is set aside,
    // then holds only the tasks in flight beside it.
    let peak = output.peak_live_tasks as u64;
    assert!((u64::from(SET_ASIDE_AFTER)..u64::from(SET_ASIDE_AFTER) + 100).contains(&peak), "peak {peak}");
    let TaskRecords::Send(sink) = records.tasks else { panic!("sent") };
    sink.close().expect("tasks.csv is written");
    let text = std::fs::read_to_string(dir.join("tasks.csv")).expect("tasks.csv");
    let numbers: Vec<u64> =
        text.lines().skip(1).map(|row| row.split(',').next().unwrap().parse().expect("a task number")).collect();
    assert_eq!(numbers.len() as u64, submitted, "a row per task");
    // The manager (task 0) was set aside: its row comes after those of the
    // tasks that left before the end, then the tasks still in flight follow
    // in number order.
    let at = numbers.iter().position(|&n| n == 0).expect("the manager's row");
    assert!(at > numbers.len() / 2, "row {at} of {}", numbers.len());
    let manager = text.lines().nth(at + 1).unwrap_or_default();
    assert!(manager.contains(",running,") && manager.contains("job_manager"), "{manager}");
    let others: Vec<u64> = numbers.iter().copied().filter(|&n| n != 0).collect();
    assert!(others.windows(2).all(|w| w[1] == w[0] + 1) && others[0] == 1, "the others in number order");
}

#[test]
fn a_task_in_flight_for_the_whole_run_keeps_every_record_in_order_when_they_are_kept() {
    let output = Simulation::new(manager_and_many_tasks(), None).run(&mut |_| {});
    assert_eq!(output.tasks.len() as u64, output.task_tally.submitted());
    assert_eq!(output.peak_live_tasks, output.tasks.len(), "kept records are in memory anyway");
}
