//! The simulator end to end: every bundled scenario through the binary,
//! byte-identical outputs for the same seed, and the engine's invariants
//! on random scenarios.

use std::path::Path;

use autoscale_sim::report::Summary;
use autoscale_sim::scenario::{Scaling, Scenario};
use autoscale_sim::sim::{Account, Simulation};
use proptest::prelude::*;

use crate::support::{cli, scratch_dir};
use crate::timeline::{run_checked, scenario};

const FILES: [&str; 6] =
    ["timeline.csv", "evaluations.jsonl", "operations.jsonl", "tasks.csv", "job_tasks.csv", "summary.json"];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn bundled_scenarios() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations"))
        .expect("simulations/ exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_bundled_scenario_runs_through_the_binary() {
    let names = bundled_scenarios();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let dir = scratch_dir(&format!("sim-{name}"));
        let path = format!("simulations/{name}");
        let out = cli(&["run", &path, "--out", dir.to_str().unwrap_or_default()], None);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        for line in ["cost ", "node-hours ", "queue wait ", "tasks ", "evaluations "] {
            assert!(stdout.contains(line), "{name}: no `{line}` in\n{stdout}");
        }
        // Several pools write each pool's files in a folder named after
        // it, and the account's summary.json beside them.
        let scenario = Scenario::load(Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
        let several = scenario.only_pool().is_none();
        if several {
            let entries = std::fs::read_dir(&dir).unwrap().count();
            assert_eq!(entries, scenario.pools.len() + 1, "{name}: the pools' folders and summary.json");
            assert!(dir.join("summary.json").is_file(), "{name}: the account's summary.json");
        }
        for pool in &scenario.pools {
            let dir = if several { dir.join(&pool.id) } else { dir.clone() };
            // A pool with fixed targets has no evaluations; no bundled
            // scenario calls an operation the service refuses.
            let autoscale = matches!(pool.scaling, Scaling::Autoscale(_));
            for file in FILES {
                let meta = std::fs::metadata(dir.join(file)).unwrap_or_else(|e| panic!("{name}: {file}: {e}"));
                let empty = match file {
                    "evaluations.jsonl" => !autoscale,
                    "operations.jsonl" => true,
                    _ => false,
                };
                assert_eq!(meta.len() == 0, empty, "{name}: {file} is empty, or should be");
            }
            let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).collect();
            // The files, each chart as SVG and PNG, and report.html.
            let charts = 2 * autoscale_sim::report::run_charts::RUN_CHARTS.len();
            assert_eq!(leftovers.len(), FILES.len() + charts + 1, "{name}: temporary files left behind");
        }
    }
}

#[test]
fn tasks_csv_and_job_tasks_csv_show_exit_codes_roles_and_preparations() {
    let dir = scratch_dir("sim-real-agents-files");
    let out = cli(&["run", "simulations/real-agents.toml", "--out", dir.to_str().unwrap_or_default()], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let tasks = std::fs::read_to_string(dir.join("tasks.csv")).unwrap();
    let mut lines = tasks.lines();
    assert_eq!(lines.next(), Some("task,job,submit_s,start_s,end_s,node,attempts,outcome,exit_code,failure,role"));
    assert!(lines.all(|l| l.ends_with(",succeeded,0,,task")), "{tasks}");
    let job_tasks = std::fs::read_to_string(dir.join("job_tasks.csv")).unwrap();
    let rows: Vec<&str> = job_tasks.lines().collect();
    assert_eq!(rows[0], "kind,job,node,start_s,end_s,outcome");
    // One preparation per node, 10 s each, all before the first task there.
    assert_eq!(rows.len(), 1 + 3, "{job_tasks}");
    for row in &rows[1..] {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!((f[0], f[1], f[5]), ("preparation", "frames", "succeeded"), "{row}");
        let took = f[4].parse::<f64>().unwrap() - f[3].parse::<f64>().unwrap();
        assert_eq!(took, 10.0, "{row}");
    }
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let run = |dir: &str, seed: &str| {
        let dir = scratch_dir(dir);
        let out = cli(
            &[
                "run",
                "simulations/low-priority-preemption.toml",
                "--out",
                dir.to_str().unwrap_or_default(),
                "--seed",
                seed,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        (dir, out.stdout)
    };
    let (a, out_a) = run("determinism-a", "42");
    let (b, out_b) = run("determinism-b", "42");
    let (c, _) = run("determinism-c", "43");
    assert_eq!(out_a, out_b);
    for file in FILES {
        let read = |d: &Path| std::fs::read(d.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(read(&a) == read(&b), "{file} differs between two runs with the same seed");
        if file == "tasks.csv" {
            assert!(read(&a) != read(&c), "a different seed gave the same {file}");
        }
    }
}

#[test]
fn the_summary_alone_without_out_and_errors_with_the_key_path() {
    let out = cli(&["run", "simulations/shrink-requeue.toml"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("shrink-requeue: 12h from 2024-03-04T08:00:00.000Z, seed 5\n"));
    let dir = scratch_dir("bad-scenario");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "duration = \"1d\"\n[pool]\nvm = { cores = 2, dedicated_price = 1 }\nautoscale = { formula = \"$TargetDedicatedNodes = 1;\", interval = \"2m\" }\n").unwrap();
    let out = cli(&["run", bad.to_str().unwrap_or_default()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml:4: pool.autoscale.interval: 2m is below the minimum 5m"), "{err}");
    let out = cli(&["run", "simulations/no-such.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot read simulations/no-such.toml"), "{}", text(&out.stderr));
}

/// A random but valid scenario: fixed or autoscaled, dedicated and
/// low-priority, with preemption, quotas, slots, failures, every
/// deallocation option, task dependencies, a job wall-clock limit, tasks'
/// own constraints (wall-clock limits, retry counts, retention),
/// multi-instance tasks, a start task that may fail and node actions.
#[allow(clippy::too_many_arguments)]
fn random_scenario(
    seed: u64,
    slots: u32,
    pack: bool,
    option: usize,
    autoscale: bool,
    quota: u64,
    preempt: f64,
    failure: f64,
    removal_s: u64,
    wall_clock_m: u64,
) -> String {
    let option = ["requeue", "terminate", "taskcompletion", "retaineddata"][option];
    let fill = if pack { "pack" } else { "spread" };
    let image = if seed.is_multiple_of(2) { "gallery" } else { "marketplace" };
    // Multi-instance tasks need one slot per node.
    let instances = if slots == 1 { 3 } else { 1 };
    let scaling = if autoscale {
        format!(
            r#"autoscale = {{ interval = "5m", formula = """
n = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3) < 50 ? 2 : max($PendingTasks.GetSample(1));
$TargetDedicatedNodes = min(8, n / 2);
$TargetLowPriorityNodes = min(8, n / 2);
$NodeDeallocationOption = {option};
""" }}"#
        )
    } else {
        format!(
            r#"target_dedicated = 3
target_low_priority = 3
resizes = [
  {{ at = "40m", target_dedicated = 1, target_low_priority = 0, deallocation = "{option}" }},
  {{ at = "2h", target_dedicated = 5, target_low_priority = 4, deallocation = "{option}" }},
]"#
        )
    };
    format!(
        r#"
duration = "4h"
seed = {seed}
[account]
dedicated_cores = {quota}
low_priority_cores = {quota}
[pool]
vm = {{ cores = 4, dedicated_price = 0.4, low_priority_price = 0.08 }}
task_slots_per_node = {slots}
node_fill = "{fill}"
image = "{image}"
resize_timeout = "5m"
allocation_time = {{ dist = "uniform", min = "30s", max = "7m" }}
boot_time = {{ dist = "exponential", mean = "1m" }}
removal_time = "{removal_s}s"
start_task = {{ duration = {{ dist = "uniform", min = "0s", max = "2m" }}, failure_probability = {failure} }}
node_actions = [
  {{ at = "30m", node = 0, action = "reboot", deallocation = "{option}" }},
  {{ at = "50m", node = 1, action = "reimage", deallocation = "{option}", duration = "3m" }},
  {{ at = "70m", node = 2, action = "disable_scheduling", deallocation = "{option}" }},
  {{ at = "100m", node = 2, action = "enable_scheduling" }},
  {{ at = "150m", node = 3, action = "remove", deallocation = "{option}" }},
  {{ at = "3h", node = 4, action = "disable_scheduling" }},
  {{ at = "100m", node = 5, action = "fail" }},
  {{ at = "130m", node = 5, action = "reimage" }},
]
preemption = {{ rate_per_node_hour = {preempt}, recovery = {{ dist = "uniform", min = "1m", max = "20m" }} }}
{scaling}
[metrics]
drop_out = 0.1
[[jobs]]
priority = 5
failure_probability = {failure}
max_task_retry_count = 1
retention = "15m"
generate = [{{ kind = "poisson", rate_per_hour = 40, duration = {{ dist = "lognormal", median = "10m", sigma = 0.8 }}, slots = 2 }}]
[[jobs]]
priority = -5
exit_codes = {{ 0 = 9, 3 = 1 }}
max_task_retry_count = 2
manager = {{ duration = "150m", failure_probability = {failure} }}
tasks = [{{ at = "10m", duration = {{ dist = "normal", mean = "20m", std_dev = "10m" }}, count = 30, max_wall_clock_time = "30m", max_task_retry_count = -1 }}]
generate = [{{ kind = "bursty", mean_gap = "1h", size = 25, duration = "12m", max_task_retry_count = 0, retention = "1h" }}]
[[jobs]]
priority = 2
failure_probability = {failure}
max_wall_clock_time = "{wall_clock_m}m"
preparation = {{ duration = {{ dist = "uniform", min = "0s", max = "3m" }}, failure_probability = {failure} }}
release = {{ duration = {{ dist = "uniform", min = "0s", max = "2m" }} }}
tasks = [
  {{ id = 30, at = "1m", duration = "5m", count = 5, depends_on = [4, "10..12"] }},
  {{ id = 1, at = "5m", duration = "10m", count = 3 }},
  {{ id = 4, at = "5m", duration = {{ dist = "uniform", min = "1m", max = "9m" }}, count = 20, depends_on = ["1..3"], max_wall_clock_time = "8m", retention = "2m" }},
  {{ id = 50, at = "20m", duration = "15m", count = 4, instances = {instances}, depends_on = [1] }},
]
"#
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_event_of_random_scenarios(
        seed in 0u64..1000,
        slots in 1u32..4,
        pack: bool,
        option in 0usize..4,
        autoscale: bool,
        quota in 8u64..40,
        preempt in 0.0f64..2.0,
        failure in 0.0f64..0.3,
        removal_s in 0u64..120,
        wall_clock_m in 10u64..300,
    ) {
        let text =
            random_scenario(seed, slots, pack, option, autoscale, quota, preempt, failure, removal_s, wall_clock_m);
        let scenario = Scenario::from_toml(&text, "random.toml", "random", Path::new("."))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let output = run_checked(scenario).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let summary = Summary::of(&output);
        let t = summary.tasks;
        prop_assert_eq!(
            t.succeeded + t.failed + t.running + t.active + t.waiting_for_dependencies + t.blocked + t.terminated,
            t.submitted
        );
        // Cost is the charged seconds at the prices, each billed period at
        // least a minute: never below the exact billed time.
        for p in 0..2 {
            prop_assert!(output.charged_seconds[p] * 1000 >= output.billed[p].as_millis());
            let cost = output.charged_seconds[p] as f64 * output.prices[p] / 3600.0;
            prop_assert!((output.cost()[p] - cost).abs() < 1e-9);
        }
        let last = output.timeline.last().map(|r| r.time.as_millis());
        prop_assert_eq!(last, Some(4 * 3_600_000));
    }
}

#[test]
fn the_readme_scenario_example_is_valid() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    let start = readme.find("name = \"example\"").expect("the README has the scenario example");
    let block = &readme[start..start + readme[start..].find("```").expect("the example block ends")];
    // The example's trace file is illustrative; everything else must load.
    let block: String = block.lines().filter(|l| !l.starts_with("trace =")).map(|l| format!("{l}\n")).collect();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations");
    let scenario = Scenario::from_toml(&block, "README.md", "example", &base).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scenario.jobs[0].sources.len(), 4);
    let output = Simulation::new(scenario, None).run(&mut |_| {});
    assert!(!output.tasks.is_empty() && !output.evaluations.is_empty());
}

#[test]
fn both_formula_engines_give_byte_identical_runs() {
    for scenario in ["simulations/bursty-day.toml", "simulations/low-priority-preemption.toml"] {
        let run = |engine: &str| {
            let dir = scratch_dir(&format!("engines-{engine}-{}", scenario.replace('/', "-")));
            let out = cli(&["run", scenario, "--out", dir.to_str().unwrap_or_default(), "--engine", engine], None);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            (dir, out.stdout)
        };
        let (jit, jit_summary) = run("jit");
        let (interp, interp_summary) = run("interp");
        assert_eq!(text(&jit_summary), text(&interp_summary), "{scenario}");
        for file in FILES {
            let read = |d: &Path| std::fs::read(d.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(read(&jit) == read(&interp), "{scenario}: {file} differs between the engines");
        }
    }
}

#[test]
fn random_scenarios_with_every_task_feature_are_deterministic() {
    let run = |seed| {
        let text = random_scenario(seed, 1, false, 2, false, 40, 1.0, 0.2, 30, 120);
        let output = Simulation::new(scenario(&text), None).run(&mut |_| {});
        (output.tasks, output.timeline, output.charged_seconds, output.events)
    };
    let (a, b, c) = (run(11), run(11), run(12));
    assert!(a == b, "the same seed gave different runs");
    assert!(a.0 != c.0, "another seed gave the same tasks");
    assert!(
        a.0.iter().any(|t| t.instances > 1) && a.0.iter().any(|t| t.state == autoscale_sim::sim::TaskState::Terminated)
    );
}

/// [`random_scenario`] as an account of two pools: its pool twice, as
/// `a` then `b`, sharing the account's quota, and its jobs on `a`, `b`
/// and `a`.
fn two_pools(text: &str) -> String {
    let (head, rest) = text.split_once("[pool]\n").expect("a [pool] table");
    let (pool, tail) = rest.split_once("[metrics]\n").expect("a [metrics] table");
    let mut jobs = tail.split("[[jobs]]\n");
    let mut out = format!("{head}[[pools]]\nid = \"a\"\n{pool}[[pools]]\nid = \"b\"\n{pool}[metrics]\n");
    out.push_str(jobs.next().unwrap_or_default());
    for (job, id) in jobs.zip(["a", "b", "a"]) {
        out.push_str(&format!("[[jobs]]\npool = \"{id}\"\n{job}"));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn over_two_pools_invariants_hold_after_every_event_and_runs_repeat(
        seed in 0u64..1000,
        slots in 1u32..4,
        autoscale: bool,
        quota in 8u64..40,
        preempt in 0.0f64..2.0,
        failure in 0.0f64..0.3,
    ) {
        let text = two_pools(&random_scenario(seed, slots, false, 0, autoscale, quota, preempt, failure, 30, 120));
        let scenario = Scenario::from_toml(&text, "random.toml", "random", Path::new("."))
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let mut account = Account::new(scenario.clone(), None);
        while account.step() {
            account.check_invariants().map_err(|e| TestCaseError::fail(format!("at {}: {e}\n{text}", account.now())))?;
        }
        let outputs = account.finish();
        for (output, job_pool) in outputs.iter().zip([[true, false, true], [false, true, false]]) {
            // Every task of the pool's jobs is accounted for, and no other job's.
            let t = Summary::of(output).tasks;
            prop_assert_eq!(
                t.succeeded + t.failed + t.running + t.active + t.waiting_for_dependencies + t.blocked + t.terminated,
                t.submitted
            );
            prop_assert!(!output.tasks.is_empty());
            prop_assert!(output.tasks.iter().all(|task| job_pool[task.job as usize]));
        }
        let again = Account::new(scenario, None).run(&mut |_| {});
        prop_assert_eq!(format!("{outputs:?}"), format!("{again:?}"));
    }
}
