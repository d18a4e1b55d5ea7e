//! Several pools in one scenario: the account's shared core quota (who
//! gets the cores at the same instant, the error on the other pool), jobs
//! bound to their pool, the invariants and determinism over several
//! pools, and what `run` writes for them.

use std::path::Path;

use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{Account, Output, Recordings, ResizeErrorCode, Simulation, TaskState};
use autoscale_sim::time::SimTime;

use crate::support::{cli, scratch_dir};
use crate::timeline::{dedicated, min, scenario};

/// A pool table: 2-core nodes, allocated in 3 min, booted in 1 min.
fn pool(id: &str, rest: &str) -> String {
    format!(
        "[[pools]]\nid = \"{id}\"\nvm = {{ cores = 2, dedicated_price = 3.6 }}\nallocation_time = \"3m\"\n\
         boot_time = \"1m\"\n{rest}\n"
    )
}

/// Runs every pool of `text`, checking each pool's invariants and the
/// account's quota after every event: the pools' outputs.
fn run_account(text: &str) -> Vec<Output> {
    let mut account = Account::new(scenario(text), None);
    while account.step() {
        account.check_invariants().unwrap_or_else(|e| panic!("at {}: {e}", account.now()));
    }
    account.finish()
}

/// Two pools that want 2 nodes each at the start, from a quota of 6
/// cores: 3 nodes.
fn competing(first: &str, second: &str) -> String {
    format!(
        "duration = \"1h\"\n[account]\ndedicated_cores = 6\n{}{}\
         [[jobs]]\nid = \"a\"\npool = \"one\"\ntasks = [{{ duration = \"10m\", count = 2 }}]\n\
         [[jobs]]\nid = \"b\"\npool = \"two\"\ntasks = [{{ duration = \"10m\", count = 2 }}]\n",
        first, second
    )
}

#[test]
fn of_two_pools_growing_at_once_the_first_in_the_file_gets_the_cores_and_the_other_the_error() {
    let one = pool("one", "target_dedicated = 2\nresizes = [{ at = \"30m\", target_dedicated = 0 }]");
    let two = pool("two", "target_dedicated = 2\nresizes = [{ at = \"40m\", target_dedicated = 3 }]");
    let out = run_account(&competing(&one, &two));
    // At 0 both resize: `one` takes 4 of the 6 cores, `two` gets 1 node of 2.
    assert_eq!(dedicated(&out[0], min(1)), [("creating", 2)]);
    assert_eq!(dedicated(&out[1], min(1)), [("creating", 1)]);
    assert!(out[0].resize_errors.is_empty());
    let e = &out[1].resize_errors[0];
    assert_eq!((e.time, e.code), (SimTime(0), ResizeErrorCode::AccountCoreQuotaReached));
    assert_eq!(
        e.message,
        "dedicated core quota of 6 reached: 4 cores in use (4 by the account's other pools), 2 per node; \
         1 of 2 more nodes allocated"
    );
    assert_eq!(out[1].timeline.iter().find(|r| r.time == min(10)).unwrap().errors, [e.code]);
    // `one` gives its nodes back at 30 min; at 40 min `two` grows to 3
    // nodes from the 4 cores now free, without an error.
    assert_eq!(dedicated(&out[0], min(31)), []);
    assert_eq!(dedicated(&out[1], min(41)), [("creating", 2), ("idle", 1)]);
    assert_eq!(dedicated(&out[1], min(45)), [("idle", 3)]);
    assert_eq!(out[1].resize_errors.len(), 1);
    // Each job's tasks ran on its own pool's nodes: `a` on two nodes at
    // once, `b` one after the other on the one node `two` had.
    let runs = |o: &Output| -> Vec<(u32, Option<SimTime>, Option<SimTime>)> {
        o.tasks.iter().map(|t| (t.job, t.first_start(), t.end())).collect()
    };
    assert_eq!(runs(&out[0]), [(0, Some(min(4)), Some(min(14))), (0, Some(min(4)), Some(min(14)))]);
    assert_eq!(runs(&out[1]), [(1, Some(min(4)), Some(min(14))), (1, Some(min(14)), Some(min(24)))]);
}

#[test]
fn the_order_of_the_pools_in_the_file_decides_who_is_served_first_at_the_same_instant() {
    let one = pool("one", "target_dedicated = 2");
    let two = pool("two", "target_dedicated = 2");
    let out = run_account(&competing(&two, &one));
    // `two` is first in the file now: it gets its 2 nodes, `one` gets 1.
    assert_eq!(dedicated(&out[0], min(5)), [("running", 2)]);
    assert_eq!(dedicated(&out[1], min(5)), [("running", 1)]);
    assert!(out[0].resize_errors.is_empty());
    assert_eq!(
        out[1].resize_errors.iter().map(|e| e.code).collect::<Vec<_>>(),
        [ResizeErrorCode::AccountCoreQuotaReached]
    );
}

#[test]
fn autoscaled_pools_share_the_quota_evaluation_by_evaluation() {
    // Both formulas ask for 3 nodes at 0 and 5 min: 4 cores are left.
    let formula = "[pools.autoscale]\nformula = \"$TargetDedicatedNodes = 3;\"\ninterval = \"5m\"";
    let text =
        format!("duration = \"30m\"\n[account]\ndedicated_cores = 8\n{}{}", pool("web", formula), pool("etl", formula));
    let out = run_account(&text);
    assert_eq!(dedicated(&out[0], min(5)), [("idle", 3)]);
    assert_eq!(dedicated(&out[1], min(5)), [("idle", 1)]);
    let times = |o: &Output| o.resize_errors.iter().map(|e| (e.time, e.code)).collect::<Vec<_>>();
    // Same targets later start no resize, so `etl`'s error is recorded once.
    assert_eq!(times(&out[0]), []);
    assert_eq!(times(&out[1]), [(SimTime(0), ResizeErrorCode::AccountCoreQuotaReached)]);
    assert_eq!(out[0].evaluations.len(), 7);
    assert_eq!(out[1].evaluations.len(), 7);
}

#[test]
fn a_one_pool_scenario_runs_the_same_as_an_account_and_as_a_simulation() {
    let text = r#"
        duration = "2h"
        [pool]
        vm = { cores = 2, dedicated_price = 3.6 }
        [pool.autoscale]
        formula = "$TargetDedicatedNodes = max(1, $PendingTasks.GetSample(1));"
        [[jobs]]
        generate = [{ kind = "poisson", rate_per_hour = 30, duration = "10m" }]
    "#;
    let account = Account::new(scenario(text), None).run(&mut |_| {});
    let one = Simulation::new(scenario(text), None).run(&mut |_| {});
    assert_eq!(account.len(), 1);
    assert_eq!(format!("{:?}", account[0]), format!("{one:?}"));
}

#[test]
fn over_several_pools_every_task_is_accounted_for_and_runs_are_deterministic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations/two-pools.toml");
    let loaded = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut account = Account::new(loaded.clone(), Some(3));
    let mut events = 0u64;
    while account.step() {
        events += 1;
        // Every 97th event: recounting everything after each would take minutes.
        if events.is_multiple_of(97) {
            account.check_invariants().unwrap_or_else(|e| panic!("after {events} events: {e}"));
        }
    }
    account.check_invariants().unwrap_or_else(|e| panic!("at the end: {e}"));
    let first = account.finish();
    for (o, job) in first.iter().zip([0, 1]) {
        assert!(!o.tasks.is_empty());
        assert!(o.tasks.iter().all(|t| t.job == job), "a task ran outside its job's pool");
        let ended = o.tasks.iter().filter(|t| matches!(t.state, TaskState::Succeeded | TaskState::Failed)).count();
        assert!(ended + 50 > o.tasks.len(), "{ended} of {} ended", o.tasks.len());
    }
    let again = Account::new(loaded, Some(3)).run(&mut |_| {});
    assert_eq!(format!("{first:?}"), format!("{again:?}"));
}

#[test]
fn pools_and_their_jobs_are_checked_with_the_pool_ids_in_the_errors() {
    let error = |text: &str| match Scenario::from_toml(text, "s.toml", "s", Path::new(".")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    };
    let two = format!("duration = \"1h\"\n{}{}", pool("web", ""), pool("etl", ""));
    assert_eq!(
        error(&format!("{two}[[jobs]]\nid = \"x\"\ntasks = [{{ duration = \"1m\" }}]\n")),
        "s.toml: jobs[0].pool: job `x` names no pool; with several pools, give one of `web`, `etl`"
    );
    assert_eq!(
        error(&format!("{two}[[jobs]]\npool = \"gpu\"\n")),
        "s.toml:15: jobs[0].pool: job `job-1` names the pool `gpu`, which is not one of `web`, `etl`"
    );
    assert_eq!(
        error(&format!("duration = \"1h\"\n{}{}", pool("web", ""), pool("web", ""))),
        "s.toml:9: pools[1].id: `web` is already the id of pools[0]; give each pool its own id"
    );
    assert_eq!(
        error(&format!("duration = \"1h\"\n{}", pool("a/b", ""))),
        "s.toml:3: pools[0].id: `a/b` is not a pool id: give 1 to 64 letters, digits, `-` or `_` (it names the \
         pool's output folder)"
    );
    assert_eq!(
        error(&format!("duration = \"1h\"\n[pool]\nvm = {{ cores = 2 }}\n{}", pool("web", ""))),
        "s.toml:4: pools: give either [pool] (one pool) or [[pools]] tables (several pools, each with an id), not both"
    );
    assert_eq!(
        error(&format!("duration = \"1h\"\n[account]\npools = 1\n{}{}", pool("web", ""), pool("etl", ""))),
        "s.toml:3: account.pools: 2 pools but a pool quota of 1: the service refuses the pools past it \
         (PoolQuotaReached); raise the quota or remove pools"
    );
    assert_eq!(
        error("duration = \"1h\"\n[[pools]]\nvm = { cores = 2 }\n"),
        "s.toml: pools[0].id: missing; give each of several pools an id, e.g. id = \"render\""
    );
    assert_eq!(
        error(&format!("duration = \"1h\"\n{}", pool("web", "autoscale = { interval = \"1m\" }"))),
        "s.toml:7: pools[0].autoscale.interval: 1m is below the minimum 5m"
    );
}

#[test]
fn run_writes_each_pool_in_its_folder_and_the_account_summary_beside_them() {
    let dir = scratch_dir("pools-run");
    let out_dir = dir.to_str().expect("UTF-8 path");
    let out = cli(&["run", "simulations/two-pools.toml", "--out", out_dir], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("pool interactive\n  two-pools: 1day from"), "{stdout}");
    assert!(stdout.contains("\npool batch\n"), "{stdout}");
    for pool in ["interactive", "batch"] {
        for file in ["timeline.csv", "evaluations.jsonl", "tasks.csv", "summary.json", "report.html"] {
            assert!(dir.join(pool).join(file).is_file(), "{pool}/{file}");
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).expect("summary.json")).expect("JSON");
    let pools = summary["pools"].as_array().expect("pools");
    assert_eq!(
        pools.iter().map(|p| p["pool"].as_str().unwrap_or_default()).collect::<Vec<_>>(),
        ["interactive", "batch"]
    );
    let sum: f64 = pools.iter().map(|p| p["cost"]["total"].as_f64().unwrap_or_default()).sum();
    assert!((summary["cost"]["total"].as_f64().unwrap_or_default() - sum).abs() < 1e-9);
    let own: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("batch/summary.json")).expect("batch")).expect("JSON");
    assert_eq!(own["cost"], pools[1]["cost"]);
}

#[test]
fn run_formula_names_its_pool_when_there_are_several() {
    let out = cli(&["run", "simulations/two-pools.toml", "--formula", "simulations/formulas/cpu.formula"], None);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: simulations/two-pools.toml: --formula `simulations/formulas/cpu.formula` is ambiguous: the scenario \
         has several pools (interactive, batch); write POOL=FILE"
    );
    let out = cli(&["run", "simulations/two-pools.toml", "--formula", "gpu=simulations/formulas/cpu.formula"], None);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: simulations/two-pools.toml: --formula `gpu` is not a pool of the scenario; its pools are interactive, \
         batch"
    );
    let out = cli(&["run", "simulations/two-pools.toml", "--formula", "batch=simulations/formulas/cpu.formula"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn compare_swaps_the_named_pools_formula_and_measures_the_whole_account() {
    use autoscale_sim::formula::Engine;
    use autoscale_sim::report::account::AccountSummary;
    use autoscale_sim::report::compare::{self, CompareSpec};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let formula =
        |pool: &str, name: &str| format!("{pool}={}", root.join("simulations/formulas").join(name).display()).into();
    let spec = CompareSpec {
        scenario: root.join("simulations/two-pools.toml"),
        formulas: vec![formula("interactive", "interactive.formula"), formula("interactive", "pending-tasks.formula")],
        seeds: 2,
        engine: Engine::default(),
        threads: Some(1),
    };
    let c = compare::compare(&spec, &|| {}).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.formulas, ["interactive=interactive.formula", "interactive=pending-tasks.formula"]);
    // The scenario's own formula first: the account's figures of `run` on each seed.
    let loaded = Scenario::load(&spec.scenario).unwrap_or_else(|e| panic!("{e}"));
    for (run, &seed) in c.runs[0].iter().zip(&c.seeds) {
        let outputs = Account::new(loaded.clone(), Some(seed)).run(&mut |_| {});
        let summary = AccountSummary::of(&outputs);
        assert_eq!(summary.pools.iter().map(|p| p.pool.as_str()).collect::<Vec<_>>(), ["interactive", "batch"]);
        assert!((run.cost - summary.cost.total).abs() < 1e-9, "{} != {}", run.cost, summary.cost.total);
        assert!((run.node_hours - summary.node_hours.total).abs() < 1e-9);
        let unfinished: u64 = summary.pools.iter().map(|p| p.summary.tasks.running + p.summary.tasks.active).sum();
        assert_eq!(run.unfinished, unfinished);
    }
    // The second formula changes only the interactive pool's: up to 25 nodes.
    assert_ne!(c.costs(0), c.costs(1));
}

#[test]
fn compare_refuses_a_formula_that_names_no_pool_of_several() {
    let out = cli(
        &["compare", "simulations/two-pools.toml", "--formula", "simulations/formulas/cpu.formula", "--seeds", "1"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: simulations/two-pools.toml: --formula `simulations/formulas/cpu.formula` is ambiguous: the scenario \
         has several pools (interactive, batch); write POOL=FILE"
    );
}

#[test]
fn sweep_sets_a_pools_keys_by_its_id_and_its_formulas_constants_as_formula_pool_name() {
    let args = [
        "sweep",
        "simulations/two-pools.toml",
        "--param",
        "formula.interactive.maxNodes=4,8",
        "--param",
        "pools.batch.autoscale.interval=5m",
        "--seeds",
        "1",
    ];
    let out = cli(&args, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The point as written is the scenario's `run` on its seed: the account's
    // cost and node-hours (README, "Several pools").
    let row = stdout
        .lines()
        .find(|l| l.starts_with("formula.interactive.maxNodes=8, pools.batch.autoscale.interval=5m "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cells[2], cells[4]), ("44.91", "760.90"), "{row}");
    let out = cli(&["sweep", "simulations/two-pools.toml", "--param", "formula.maxNodes=4", "--seeds", "1"], None);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --param formula.maxNodes: write formula.POOL.NAME, POOL one of the scenario's pools (interactive, batch)"
    );
}

#[test]
fn tune_searches_one_pools_formula_constants_on_the_whole_account() {
    let dir = scratch_dir("pools-tune");
    let out_dir = dir.to_str().expect("UTF-8 path");
    let mut args = vec!["tune", "simulations/two-pools.toml", "--param", "formula.interactive.maxNodes=8"];
    args.extend(["--slo", "p95_wait<=45m", "--seeds", "1", "--budget", "1", "--out", out_dir]);
    let out = cli(&args, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The constant read from the interactive pool's formula; the account's
    // figures of `run` on the scenario's seed (README, "Several pools").
    assert!(stdout.contains("\nas written (formula.interactive.maxNodes=8): cost 44.91, p95_wait 9m 8s\n"), "{stdout}");
    let tuned = std::fs::read_to_string(dir.join("tuned.formula")).expect("tuned.formula");
    assert_eq!(tuned, include_str!("../../simulations/formulas/interactive.formula"));
    let mut args = vec!["tune", "simulations/two-pools.toml", "--param", "formula.interactive.maxNodes=2..8"];
    args.extend(["--param", "formula.batch.maxNumberofVMs=10,25", "--seeds", "1", "--budget", "1"]);
    let out = cli(&args, None);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: --param: the formula parameters name the pools batch, interactive; tune one pool's formula at a time"
    );
}

#[test]
fn a_schedule_in_one_pool_counts_the_jobs_active_in_the_others_against_the_active_job_quota() {
    // A quota of 2: pool `one`'s job (ended by its time limit at 40 min)
    // and pool `two`'s schedule fill it, so the schedule's jobs due at 0
    // and 30 min are refused; the one due at 60 min finds room.
    let text = format!(
        "duration = \"70m\"\n[account]\nactive_jobs = 2\n{}{}\
         [[jobs]]\nid = \"long\"\npool = \"one\"\nmax_wall_clock_time = \"40m\"\n\
         [[schedules]]\nid = \"s\"\nevery = \"30m\"\n[schedules.job]\npool = \"two\"\n\
         manager = {{ duration = \"5m\" }}\n",
        pool("one", "target_dedicated = 1"),
        pool("two", "target_dedicated = 1"),
    );
    let outputs = run_account(&text);
    assert!(outputs[0].refused_jobs.is_empty());
    assert_eq!(outputs[1].refused_jobs, ["s:job-1", "s:job-2"]);
    let managers: Vec<_> = outputs[1].tasks.iter().map(|t| (t.submit, t.first_start(), t.end())).collect();
    assert_eq!(managers, [(min(60), Some(min(60)), Some(min(65)))]);
}

#[test]
fn an_account_that_keeps_no_task_records_or_timelines_keeps_their_tally_and_last_row() {
    let text = competing(&pool("one", "target_dedicated = 1"), &pool("two", "target_dedicated = 1"));
    let kept = Account::new(scenario(&text), None).run(&mut |_| {});
    let lean = Account::new(scenario(&text), None)
        .send_records_to(|_| Ok::<_, std::convert::Infallible>(Recordings::counted()))
        .expect("no error")
        .run(&mut |_| {});
    for (k, l) in kept.iter().zip(&lean) {
        assert_eq!(k.tasks.len(), 2);
        assert!(l.tasks.is_empty());
        assert_eq!(l.task_tally.count(TaskState::Succeeded), k.task_tally.count(TaskState::Succeeded));
        assert_eq!(k.timeline.len(), 121);
        assert!(l.timeline.len() <= 1);
        assert_eq!(l.cost(), k.cost());
    }
}
