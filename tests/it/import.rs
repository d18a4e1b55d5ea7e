//! `autoscale-sim import`: the service's exports of a pool and its tasks
//! (fixtures in `tests/import/`, in the service's exact JSON shape: a REST
//! page with `odata.nextLink`, an array, the "unlimited" duration, a failed
//! task with retries, a dependency, a multi-instance task, tasks still
//! running or never started) become a scenario that runs unchanged and
//! replays each task's real run time to the millisecond.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{cli, scratch_dir};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import").join(name).display().to_string()
}

#[test]
fn exports_become_a_scenario_that_replays_each_run_time() {
    let out = scratch_dir("import");
    let dir = out.display().to_string();
    let (pool, page1, page2) = (fixture("pool.json"), fixture("tasks-page-1.json"), fixture("tasks-page-2.json"));
    let args = ["import", "--pool", &pool, "--tasks", &page1, "--tasks", &page2, "--dedicated-price", "0.096"];
    let import = cli(&[&args[..], &["--out", &dir]].concat(), None);
    let stdout = String::from_utf8_lossy(&import.stdout);
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    assert_eq!(
        stdout,
        format!(
            "wrote {dir}/scenario.toml\nwrote {dir}/formula.formula\nwrote {dir}/thumbs.csv\n\
             note: {page1}: a page with an `odata.nextLink`: more pages follow; give each page with --tasks\n\
             note: job frames: 1 task is still running: left out\n\
             note: job frames: 1 task has never started: left out\n\
             note: duration 3h: the tasks' span to the next hour, plus an hour for a pool slower than the real one\n\
             note: the start task's duration is not in the export: 1m assumed\n\
             note: the start task's maxTaskRetryCount is not simulated (its failures are not either)\n\
             note: job frames: 1 task has another maxTaskRetryCount than the job's 2\n\
             note: job frames: 3 of 6 runs failed: failure_probability 0.5\n"
        )
    );
    let scenario = std::fs::read_to_string(out.join("scenario.toml")).unwrap();
    for line in [
        "start = \"2024-03-04T09:00:00.000Z\"",
        "vm = { name = \"Standard_D2s_v3\", cores = 2, dedicated_price = 0.096, low_priority_price = 0.0 }",
        "node_fill = \"pack\"",
        "interval = \"5m\"",
        "  { at = \"30m\", duration = \"10m\", id = 2, depends_on = [0] },",
        "  { at = \"45m\", duration = \"30m 250ms\", instances = 3, id = 3 },",
        "trace = \"thumbs.csv\"",
    ] {
        assert!(scenario.lines().any(|l| l == line), "no `{line}` in\n{scenario}");
    }
    let formula = std::fs::read_to_string(out.join("formula.formula")).unwrap();
    assert!(formula.starts_with("$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);\n"));

    // It runs unchanged; every run lasts what it lasted in the service.
    let results = out.join("run");
    let run = cli(&["run", &format!("{dir}/scenario.toml"), "--out", results.to_str().unwrap()], None);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    // endTime − startTime in the exports, to the millisecond, by (job, submit).
    let real: BTreeMap<(&str, &str), u64> = BTreeMap::from([
        (("frames", "0.000"), 750_500),
        (("frames", "0.500"), 120_000),
        (("frames", "1800.000"), 600_000),
        (("frames", "2700.000"), 1_800_250),
        (("thumbs", "600.000"), 30_001),
    ]);
    let mut csv = csv::Reader::from_path(results.join("tasks.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), real.len());
    let ms = |s: &str| (s.parse::<f64>().unwrap() * 1000.0).round() as u64;
    for row in &rows {
        let (job, submit, start, end, attempts) = (&row[1], &row[2], &row[3], &row[4], &row[6]);
        let expected = real[&(job, submit)];
        assert_eq!(row[7].to_owned(), "succeeded", "{row:?}");
        // A run failed and retried at once on its node lasts as long again.
        let runs: u64 = attempts.parse().unwrap();
        assert_eq!(ms(end) - ms(start), runs * expected, "{row:?}");
    }
}

#[test]
fn exports_that_cannot_make_a_scenario_say_why() {
    let out = scratch_dir("import-errors");
    let dir = out.join("x").display().to_string();
    let (pool, page1) = (fixture("pool.json"), fixture("tasks-page-1.json"));
    let import = |pool: &str, tasks: &str, extra: &[&str]| {
        let run = cli(&[&["import", "--pool", pool, "--tasks", tasks, "--out", &dir][..], extra].concat(), None);
        assert_eq!(run.status.code(), Some(1), "{run:?}");
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    let odd_vm = out.join("pool.json");
    std::fs::write(&odd_vm, r#"{"id": "p", "vmSize": "Standard_D2sv3", "targetDedicatedNodes": 1}"#).unwrap();
    let error = import(odd_vm.to_str().unwrap(), &page1, &[]);
    assert!(error.starts_with("error: `Standard_D2sv3` is not a VM size this simulator knows (closest: "), "{error}");
    assert!(error.trim_end().ends_with("(import: --cores N)"), "{error}");
    assert!(!Path::new(&dir).exists(), "nothing is written when the export cannot be mapped");

    let not_tasks = out.join("tasks.json");
    std::fs::write(&not_tasks, r#"{"value": [{"id": "t", "requiredSlots": "two"}]}"#).unwrap();
    let error = import(&pool, not_tasks.to_str().unwrap(), &[]);
    assert!(error.starts_with(&format!("error: {}: ", not_tasks.display())), "{error}");

    let queued = out.join("queued.json");
    std::fs::write(&queued, r#"[{"id": "t", "creationTime": "2024-03-04T09:00:00Z", "state": "active"}]"#).unwrap();
    let error = import(&pool, queued.to_str().unwrap(), &[]);
    assert_eq!(error, "error: no completed task in the task lists: nothing to replay\n");
    let negative = cli(&["import", "--pool", &pool, "--tasks", &page1, "--out", &dir, "--dedicated-price", "-1"], None);
    assert_eq!(negative.status.code(), Some(64));
    let error = String::from_utf8_lossy(&negative.stderr);
    assert!(error.contains("`-1` is not a price per hour (a number, 0 or more)"), "{error}");
}
