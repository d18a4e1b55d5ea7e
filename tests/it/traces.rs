//! Task traces read as the run goes: loading checks the file and keeps
//! none of its rows, each run reads them again a row at a time; a file
//! out of submit order is sorted in memory instead, and said; a run whose
//! trace changed since the load stops with an error rather than simulate
//! other tasks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use autoscale_sim::report::compare::SeedRun;
use autoscale_sim::scenario::{Scenario, Source, TaskTrace};
use autoscale_sim::sim::Simulation;

use crate::support::{cli, scratch_dir};

const ORDERED: &str = "submit,duration,slots\n0,10m,1\n60,5m,2\n60,1m,1\n600,20m,1\n";
/// The same rows, out of order (the two at 60 s in the same order).
const UNORDERED: &str = "submit,duration,slots\n600,20m,1\n60,5m,2\n0,10m,1\n60,1m,1\n";

fn scenario(dir: &Path, trace: &str) -> PathBuf {
    std::fs::write(dir.join("tasks.csv"), trace).unwrap();
    let path = dir.join("trace.toml");
    std::fs::write(
        &path,
        "duration = \"2h\"\n[pool]\nvm = { cores = 2, dedicated_price = 1 }\ntarget_dedicated = 1\n\
         task_slots_per_node = 2\n[[jobs]]\ntrace = \"tasks.csv\"\n",
    )
    .unwrap();
    path
}

fn the_trace(scenario: &Scenario) -> &TaskTrace {
    match &scenario.jobs[0].sources[..] {
        [Source::Trace(trace)] => trace,
        other => panic!("not one trace: {other:?}"),
    }
}

#[test]
fn a_trace_out_of_order_runs_as_the_same_trace_sorted_and_says_it_is_held_in_memory() {
    let (a, b) = (scratch_dir("trace-ordered"), scratch_dir("trace-unordered"));
    let (ordered, unordered) = (scenario(&a, ORDERED), scenario(&b, UNORDERED));
    let loaded = Scenario::load(&ordered).unwrap();
    assert!(!the_trace(&loaded).is_sorted_in_memory());
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    let sorted = Scenario::load(&unordered).unwrap();
    assert!(the_trace(&sorted).is_sorted_in_memory());
    assert_eq!(
        sorted.notes,
        ["tasks.csv: rows out of submit order, so its 4 tasks are held in memory, sorted, rather than read as the \
          run goes; sort the file by submit time to spare the memory"]
    );
    let run = |path: &Path, out: &Path| {
        let result = cli(&["run", path.to_str().unwrap(), "--out", out.to_str().unwrap()], None);
        assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
        (String::from_utf8(result.stdout).unwrap(), std::fs::read_to_string(out.join("tasks.csv")).unwrap())
    };
    let (first, second) = (run(&ordered, &a.join("out")), run(&unordered, &b.join("out")));
    assert_eq!(first, second);
    assert_eq!(first.1.lines().count(), 5, "{}", first.1);
}

#[test]
fn a_run_whose_trace_changed_since_the_load_stops_with_an_error() {
    let dir = scratch_dir("trace-changed");
    let path = scenario(&dir, ORDERED);
    let scenario = Arc::new(Scenario::load(&path).unwrap());
    let whole = Simulation::new(Arc::clone(&scenario), None).run(&mut |_| {});
    assert_eq!((whole.stopped.as_ref(), whole.task_tally.submitted()), (None, 4));
    // Another row: another workload than the one checked.
    std::fs::write(dir.join("tasks.csv"), format!("{ORDERED}700,1m,1\n")).unwrap();
    let expected = format!(
        "{}: changed since the scenario was loaded: the run stopped there rather than simulate other tasks than the \
         ones checked",
        dir.join("tasks.csv").display()
    );
    let stopped = Simulation::new(Arc::clone(&scenario), None).run(&mut |_| {});
    assert_eq!(stopped.stopped.map(|e| e.to_string()), Some(expected.clone()));
    assert_eq!(stopped.task_tally.submitted(), 0, "no task of a changed file is simulated");
    let measured = SeedRun::measure(scenario, 1, false).map(|_| ()).map_err(|e| e.to_string());
    assert_eq!(measured, Err(expected));
}

/// A job every minute for a day, each reading a trace whose second row
/// comes after the run's end, each ended by its one-minute manager: the
/// run holds no file of an ended job, so it runs under a limit of 64 open
/// files where it would otherwise hold 1 440.
#[cfg(unix)]
#[test]
fn the_jobs_of_a_schedule_close_their_trace_when_they_end() {
    let dir = scratch_dir("trace-schedule");
    std::fs::write(dir.join("rows.csv"), "submit,duration\n0,10s\n3d,10s\n").unwrap();
    let path = dir.join("schedule.toml");
    std::fs::write(
        &path,
        "duration = \"1d\"\n[pool]\nvm = { cores = 1, dedicated_price = 1 }\ntarget_dedicated = 2\n\
         allocation_time = \"0s\"\nboot_time = \"0s\"\n[[schedules]]\nid = \"each-minute\"\nevery = \"1m\"\n\
         [schedules.job]\nmanager = { duration = \"30s\" }\ntrace = \"rows.csv\"\n",
    )
    .unwrap();
    let command = format!("ulimit -n 64 && exec {} run {}", env!("CARGO_BIN_EXE_autoscale-sim"), path.display());
    let run = std::process::Command::new("sh").args(["-c", &command]).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}{stdout}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("tasks          2880 succeeded"), "1 440 managers and their first rows: {stdout}");
}
