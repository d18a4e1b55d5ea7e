//! Memory follows the work in flight, not the history: a steady load run
//! for 200 days keeps about as many task records at once as the same load
//! run for 10 days, with `tasks.csv` and `timeline.csv` written as the run
//! goes or not, the timeline rows and evaluations kept stop at a bound, no
//! job task run is kept when they are written as the run goes, several
//! pools stream as one does, and the queue-wait statistics stop growing
//! once past their exact range (`sim::waits`' tests).

use autoscale_sim::report::account::AccountSummary;
use autoscale_sim::report::{OutFormat, RunFiles, Summary, TasksCsv, TimelineCsv, run_report, write_all};
use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{
    Account, EXACT_WAITS, EvaluationTally, KEPT_EVALUATIONS, KEPT_ROWS, Output, Recordings, SAMPLE_PERIOD,
    SET_ASIDE_AFTER, Simulation, TaskRecords, TaskState, TimelineRecords,
};

use crate::support::{cli, scratch_dir};

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

/// Four single-slot nodes held by a formula evaluated every 5 minutes, and
/// a job a day, from the start, whose 8 tasks of 10 minutes run after a
/// preparation task on each node, and whose release task runs on each of
/// them when the job ends with its 2-hour manager: for `days` days.
fn scheduled(days: u32) -> Scenario {
    let text = format!(
        r#"
        duration = "{days}d"
        seed = 3
        [pool]
        vm = {{ cores = 1, dedicated_price = 0.1 }}
        allocation_time = "0s"
        boot_time = "0s"
        [pool.autoscale]
        formula = "$TargetDedicatedNodes = 4;"
        interval = "5m"
        [[schedules]]
        id = "daily"
        every = "1d"
        [schedules.job]
        manager = {{ duration = "2h" }}
        preparation = {{ duration = "1m" }}
        release = {{ duration = "1m" }}
        tasks = [{{ at = "1m", count = 8, duration = "10m" }}]
        "#
    );
    Scenario::from_toml(&text, "scheduled.toml", "scheduled", ".".as_ref()).expect("the scenario loads")
}

/// The lines of `name` in `dir`.
fn lines(dir: &std::path::Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines().map(str::to_owned).collect()
}

/// `scheduled(days)` run as `run --out` runs it: its records sent to
/// their files as they are made, the files closed at the end; the output,
/// and the lines of `evaluations.jsonl` and `job_tasks.csv`.
fn run_scheduled(days: u32) -> (Output, Vec<String>, Vec<String>) {
    let dir = scratch_dir(&format!("memory-scheduled-{days}"));
    let scenario = scheduled(days);
    let jobs = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let files = RunFiles::create(&dir, OutFormat::Csv, jobs, scenario.start).expect("the files start");
    let sim = Simulation::new(scenario, None).send_records_to(files.into_recordings());
    let (output, records) = sim.run_with_records(&mut |_| {});
    RunFiles::from_records(records, &dir, OutFormat::Csv)
        .expect("every record went to a file")
        .close()
        .expect("closed");
    let files = (lines(&dir, "evaluations.jsonl"), lines(&dir, "job_tasks.csv"));
    let _ = std::fs::remove_dir_all(&dir);
    (output, files.0, files.1)
}

/// With `--out`, a run keeps no job task run in memory, and of its
/// evaluations, every one up to `KEPT_EVALUATIONS` (8 192), then a copy
/// halved each time it fills: the 10-day run keeps all of its 2 881, the
/// 200-day run every 8th of its 57 601 (7 201, 40 minutes apart); the
/// files have every one.
#[test]
fn a_long_run_with_out_keeps_a_bounded_copy_of_its_evaluations_and_no_job_task_runs() {
    for (days, kept, stride) in [(10, 2_881, 1), (200, 7_201, 8)] {
        let (output, evaluations, job_tasks) = run_scheduled(days);
        let made = u64::from(days) * 288 + 1;
        assert_eq!(output.evaluation_tally, EvaluationTally { count: made, failed: 0 }, "{days} days");
        assert_eq!(evaluations.len() as u64, made, "a line per evaluation");
        let results = "$TargetDedicatedNodes=4;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue";
        assert_eq!(
            evaluations[1],
            format!(r#"{{"timestamp":"2024-01-01T00:05:00.000Z","elapsed_s":300.0,"results":"{results}"}}"#)
        );
        assert_eq!(output.evaluations.len(), kept, "{days} days");
        assert!(output.evaluations.len() <= KEPT_EVALUATIONS);
        let every = stride * 5 * 60_000;
        assert!(output.evaluations.iter().enumerate().all(|(i, e)| e.time.as_millis() == i as u64 * every));
        // Each day's job: a preparation and a release on each of the 4 nodes
        // (the job manager's first, on node 0; the release when it ends).
        assert!(output.job_tasks.is_empty(), "no job task run kept");
        assert_eq!(job_tasks.len() as u32, 8 * days + 1, "a row per run and the header");
        assert_eq!(job_tasks[1], "preparation,daily:job-1,0,0.000,60.000,succeeded");
        assert_eq!(job_tasks[5], "release,daily:job-1,0,7260.000,7320.000,succeeded");
        let last = (u64::from(days) - 1) * 86_400 + 7_320;
        assert_eq!(
            job_tasks.last(),
            Some(&format!("release,daily:job-{days},3,{}.000,{last}.000,succeeded", last - 60))
        );
    }
}

/// Without `--out`, a run keeps no evaluation and no job task run, only
/// the evaluations' count, which the summary reads.
#[test]
fn a_run_without_out_keeps_only_the_count_of_its_evaluations() {
    let sim = Simulation::new(scheduled(10), None).send_records_to(Recordings::counted());
    let output = sim.run(&mut |_| {});
    assert_eq!(output.evaluation_tally, EvaluationTally { count: 2_881, failed: 0 });
    assert!(output.evaluations.is_empty() && output.job_tasks.is_empty() && output.tasks.is_empty());
    assert_eq!(Summary::of(&output).evaluations.ok, 2_881);
}

/// With `--out`, each pool of a several-pool run sends its records to its
/// own files as they are made, so no task record stays in memory beyond
/// those in flight and the other records are bounded as for one pool.
#[test]
fn a_several_pool_run_with_out_keeps_no_task_records() {
    let text = r#"
        duration = "30d"
        seed = 3
        [account]
        dedicated_cores = 20
        [[pools]]
        id = "steady"
        vm = { cores = 1, dedicated_price = 0.1 }
        target_dedicated = 10
        allocation_time = "0s"
        boot_time = "0s"
        [[pools]]
        id = "scaled"
        vm = { cores = 1, dedicated_price = 0.1 }
        allocation_time = "0s"
        boot_time = "0s"
        [pools.autoscale]
        formula = "$TargetDedicatedNodes = 10;"
        interval = "5m"
        [[jobs]]
        id = "a"
        pool = "steady"
        generate = [{ kind = "poisson", rate_per_hour = 30, duration = { dist = "uniform", min = "5m", max = "15m" } }]
        [[jobs]]
        id = "b"
        pool = "scaled"
        generate = [{ kind = "poisson", rate_per_hour = 30, duration = { dist = "uniform", min = "5m", max = "15m" } }]
    "#;
    let scenario = Scenario::from_toml(text, "two.toml", "two", ".".as_ref()).expect("the scenario loads");
    let dir = scratch_dir("memory-two-pools");
    let jobs: Vec<String> = scenario.jobs.iter().map(|j| j.id.clone()).collect();
    let start = scenario.start;
    let account = Account::new(scenario, None)
        .send_records_to(|id| {
            RunFiles::create(&dir.join(id), OutFormat::Csv, jobs.clone(), start).map(RunFiles::into_recordings)
        })
        .expect("the files start");
    for (output, records) in account.run_with_records(&mut |_| {}) {
        let pool_dir = dir.join(&output.pool);
        RunFiles::from_records(records, &pool_dir, OutFormat::Csv).expect("sent").close().expect("closed");
        let submitted = output.task_tally.submitted();
        assert!(submitted > 20_000, "{}: {submitted} tasks", output.pool);
        assert!(output.tasks.is_empty(), "{}: no task kept", output.pool);
        assert!(output.peak_live_tasks <= 20, "{}: {} task records at once", output.pool, output.peak_live_tasks);
        // 30 days of 30-s rows: 86 401, halved twice to every 4th.
        assert_eq!(output.timeline.len(), 21_601, "{}", output.pool);
        let evaluations = if output.pool == "scaled" { 30 * 288 + 1 } else { 0 };
        assert_eq!(output.evaluation_tally.count, evaluations);
        assert_eq!(output.evaluations.len() as u64, evaluations.min(4_321), "{}: every other one", output.pool);
        assert_eq!(lines(&pool_dir, "tasks.csv").len() as u64, submitted + 1, "{}", output.pool);
        assert_eq!(lines(&pool_dir, "timeline.csv").len(), 86_401 + 1, "{}", output.pool);
        assert_eq!(lines(&pool_dir, "evaluations.jsonl").len() as u64, evaluations, "{}", output.pool);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every file of `a`, and of its folders, is in `b` with the same bytes, and `b` has no other.
fn assert_same_files(a: &std::path::Path, b: &std::path::Path) {
    let names = |dir: &std::path::Path| {
        let mut names: Vec<_> =
            std::fs::read_dir(dir).expect("a folder").map(|e| e.expect("an entry").file_name()).collect();
        names.sort();
        names
    };
    assert_eq!(names(a), names(b), "{} and {}", a.display(), b.display());
    for name in names(a) {
        let (x, y) = (a.join(&name), b.join(&name));
        if x.is_dir() {
            assert_same_files(&x, &y);
        } else {
            let same = std::fs::read(&x).expect("readable") == std::fs::read(&y).expect("readable");
            assert!(same, "{} and {} differ", x.display(), y.display());
        }
    }
}

/// The files `run --out` writes as the run goes are byte for byte those
/// written at the end from a run that kept every record, as they all were
/// before (charts, `report.html` and the summaries too): with one pool
/// (`nightly-job`: evaluations, job preparation tasks, a schedule's jobs;
/// `real-agents`, on simulated agents: fixed targets, so an empty
/// `evaluations.jsonl`) and with two (`two-pools`, each pool in its folder).
#[test]
fn files_written_as_the_run_goes_are_those_of_a_run_that_kept_its_records() {
    for (name, pools) in [("nightly-job", 1), ("real-agents", 1), ("two-pools", 2)] {
        let path = format!("simulations/{name}.toml");
        let (kept, streamed) = (scratch_dir(&format!("kept-{name}")), scratch_dir(&format!("streamed-{name}")));
        let scenario = Scenario::load(path.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        let outputs = Account::new(scenario, None).run(&mut |_| {});
        assert_eq!(outputs.len(), pools);
        let write = |output: &Output, summary: &Summary, dir: &std::path::Path| {
            write_all(output, summary, dir).expect("the files are written");
            run_report::write(output, summary, dir).expect("the charts and report.html are written");
        };
        if let [output] = &outputs[..] {
            write(output, &Summary::of(output), &kept);
        } else {
            let summary = AccountSummary::of(&outputs);
            for (output, pool) in outputs.iter().zip(&summary.pools) {
                write(output, &pool.summary, &kept.join(&pool.pool));
            }
            let json = serde_json::to_string_pretty(&summary).expect("serialised") + "\n";
            std::fs::write(kept.join("summary.json"), json).expect("written");
        }
        let run = cli(&["run", &path, "--out", streamed.to_str().expect("UTF-8")], None);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert_same_files(&kept, &streamed);
        let _ = (std::fs::remove_dir_all(&kept), std::fs::remove_dir_all(&streamed));
    }
}
