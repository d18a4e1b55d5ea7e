//! `compare`, `sweep` and `merge`: reproducible tables, a snapshot of the
//! table, the charts' content, and sharded sweeps merging into exactly the
//! unsharded result. Small scenarios and few seeds keep this fast in debug.

use std::path::{Path, PathBuf};

use autoscale_sim::formula::Engine;
use autoscale_sim::report::compare::{CompareSpec, compare};

use crate::support::{cli, scratch_dir};

const SMALL: &str = "tests/compare/small.toml";
const FORMULAS: [&str; 2] =
    ["simulations/formulas/pending-tasks.formula", "simulations/compare/pending-tasks-10.formula"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn spec(seeds: u64, threads: usize) -> CompareSpec {
    CompareSpec {
        scenario: root().join(SMALL),
        formulas: FORMULAS.iter().map(|f| root().join(f)).collect(),
        seeds,
        engine: Engine::Jit,
        threads: Some(threads),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn same_seeds_give_identical_tables_whatever_the_threads() {
    let a = compare(&spec(3, 1), &|| {}).expect("compare runs");
    let b = compare(&spec(3, 2), &|| {}).expect("compare runs");
    assert_eq!(a, b);
    assert_eq!(a.to_text(), b.to_text());
    assert_eq!(a.seeds, vec![1, 2, 3]);
    // Common random numbers: both formulas saw the same seeds, in the same order.
    assert!(a.runs.iter().all(|runs| runs.iter().map(|r| r.seed).eq(a.seeds.iter().copied())));
}

#[test]
fn comparison_table_snapshot() {
    let c = compare(&spec(3, 2), &|| {}).expect("compare runs");
    insta::assert_snapshot!(c.to_text());
}

/// The error message of a comparison that must fail.
fn error(s: &CompareSpec) -> String {
    match compare(s, &|| {}) {
        Ok(c) => panic!("expected an error, got a table:\n{}", c.to_text()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_fixed_pool_or_a_bad_formula_is_an_error_not_a_panic() {
    let dir = scratch_dir("compare-bad-formula");
    let fixed = dir.join("fixed.toml");
    std::fs::write(
        &fixed,
        "duration = \"1h\"\n[pool]\nvm = { cores = 2, dedicated_price = 0.1 }\ntarget_dedicated = 1\n",
    )
    .expect("write");
    let mut s = spec(1, 1);
    s.scenario = fixed;
    assert!(error(&s).contains("fixed targets"), "{}", error(&s));
    let bad = dir.join("bad.formula");
    std::fs::write(&bad, "$TargetDedicatedNodes = $pendingTasks;").expect("write");
    let mut s = spec(1, 1);
    s.formulas.push(bad);
    let e = error(&s);
    assert!(e.contains("bad.formula") && e.contains("autoscale-sim check"), "{e}");
    let mut s = spec(1, 1);
    s.formulas.push(dir.join("missing.formula"));
    let e = error(&s);
    assert!(e.contains("cannot read"), "{e}");
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn compare_writes_charts_with_series_and_labels_and_a_report() {
    let dir = scratch_dir("compare-charts");
    let mut args = vec!["compare", SMALL, "--seeds", "2", "--out", dir.to_str().unwrap_or_default()];
    for f in FORMULAS {
        args.extend(["--formula", f]);
    }
    let out = cli(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("pending-tasks-10.formula"), "{}", text(&out.stdout));
    let expect: [(&str, &[&str]); 5] = [
        (
            "nodes",
            &[
                "pending-tasks.formula target dedicated",
                "pending-tasks-10.formula current dedicated",
                "time since start (hours)",
                "nodes",
            ],
        ),
        ("queue", &["Queue length over time", "tasks waiting", "pending-tasks-10.formula"]),
        ("cost", &["Cumulative cost", "cost (price currency)", "pending-tasks.formula"]),
        ("cost-vs-wait", &["p95 queue wait (minutes)", "cost (price currency)", "pending-tasks-10.formula"]),
        ("cost-distribution", &["cost per run (price currency)", "formula", "pending-tasks.formula (mean"]),
    ];
    for (stem, labels) in expect {
        let svg = read(&dir, &format!("{stem}.svg"));
        assert!(svg.starts_with("<svg"), "{stem}.svg");
        for label in labels {
            assert!(svg.contains(label), "{stem}.svg lacks {label:?}");
        }
        let png = std::fs::read(dir.join(format!("{stem}.png"))).expect("png written");
        assert_eq!(png_size(&png), autoscale_sim::report::charts::SIZE, "{stem}.png");
        assert!(png.len() > 5000, "{stem}.png is {} bytes", png.len());
    }
    let html = read(&dir, "report.html");
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(html.contains("<td>pending-tasks-10.formula</td>") && html.contains("paired t-test"));
    let leftovers: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn run_out_also_writes_the_single_formula_charts_and_report_html() {
    let dir = scratch_dir("run-charts");
    let out = cli(&["run", SMALL, "--out", dir.to_str().unwrap_or_default()], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = read(&dir, "report.html");
    for stem in autoscale_sim::report::run_charts::RUN_CHARTS {
        let svg = read(&dir, &format!("{stem}.svg"));
        assert!(svg.contains("scenario time (UTC)"), "{stem}.svg");
        assert!(html.contains(&svg), "{stem}.svg is inline in report.html");
        let png = std::fs::read(dir.join(format!("{stem}.png"))).expect("png written");
        assert_eq!(png_size(&png), autoscale_sim::report::charts::SIZE);
    }
    for section in
        ["<h2>Where the money went</h2>", "<h2>Evaluations</h2>", "<h2>Resize errors</h2>", "<h2>Slowest tasks</h2>"]
    {
        assert!(html.contains(section), "{section}");
    }
    // Opens from disk and offline: nothing is fetched or run.
    for external in ["<script", "<link", "src=", "href=", "url("] {
        assert!(!html.contains(external), "{external} in report.html");
    }
}

#[test]
fn four_shards_merged_equal_the_unsharded_sweep() {
    let base = ["sweep", SMALL, "--param", "pool.autoscale.interval=5m,15m", "--seeds", "2"];
    let whole = scratch_dir("sweep-whole");
    let out = cli(&[&base[..], &["--out", whole.to_str().unwrap_or_default()]].concat(), None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("pool.autoscale.interval=15m"), "{table}");
    let mut shards = Vec::new();
    for i in 0..4 {
        let dir = scratch_dir(&format!("sweep-shard-{i}"));
        let shard = format!("{i}/4");
        let out = cli(&[&base[..], &["--shard", &shard, "--out", dir.to_str().unwrap_or_default()]].concat(), None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        shards.push(dir);
    }
    let merged = scratch_dir("sweep-merged");
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(shards.iter().rev().map(|d| d.to_str().unwrap_or_default()));
    args.extend(["--out", merged.to_str().unwrap_or_default()]);
    let out = cli(&args, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), table);
    for file in ["runs.csv", "summary.csv", "sweep.json", "report.html", "cost-distribution.svg"] {
        assert_eq!(read(&merged, file), read(&whole, file), "{file}");
    }
    // A missing shard is refused.
    let out = cli(&["merge", shards[0].to_str().unwrap_or_default()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing"), "{}", text(&out.stderr));
}

#[test]
fn sweep_reports_bad_parameters() {
    let out = cli(&["sweep", SMALL, "--param", "pool.autoscale.interval=1m", "--seeds", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("interval=1m") && err.contains("below the minimum"), "{err}");
    let out = cli(&["sweep", SMALL, "--param", "nonsense", "--seeds", "1"], None);
    assert!(text(&out.stderr).contains("PATH=VALUE"), "{}", text(&out.stderr));
    let out = cli(&["sweep", SMALL, "--seeds", "1", "--shard", "4/4"], None);
    assert!(text(&out.stderr).contains("I/N"), "{}", text(&out.stderr));
}

#[test]
fn a_formula_constant_swept_gives_what_the_formula_written_with_it_gives() {
    use autoscale_sim::report::sweep::{Grid, sweep};
    let params = ["formula.maxNumberofVMs=25,10".to_owned()];
    let grid = Grid::new(&root().join(SMALL), &params, 2).expect("grid");
    let swept = sweep(&grid, (0, 1), &|| {}).expect("sweep runs").comparison();
    let compared = compare(&spec(2, 2), &|| {}).expect("compare runs");
    // pending-tasks-10.formula is pending-tasks.formula with `maxNumberofVMs = 10;`.
    let figures = |runs: &[autoscale_sim::report::compare::SeedRun]| {
        runs.iter().map(|r| (r.seed, r.cost, r.node_hours, r.p95_wait_s)).collect::<Vec<_>>()
    };
    assert_eq!(figures(&swept.runs[0]), figures(&compared.runs[0]));
    assert_eq!(figures(&swept.runs[1]), figures(&compared.runs[1]));
    assert_ne!(figures(&swept.runs[0]), figures(&swept.runs[1]));
    assert_eq!(swept.formulas, ["formula.maxNumberofVMs=25", "formula.maxNumberofVMs=10"]);
}

#[test]
fn sweep_names_the_formula_parameter_it_cannot_set() {
    let cases = [
        ("formula.cap=1", "--param formula.cap: the formula does not assign `cap`"),
        (
            "formula.pendingTaskSamples=1",
            "--param formula.pendingTaskSamples: the formula assigns `pendingTaskSamples = pendingTaskSamplePercent",
        ),
        ("formula.maxNumberofVMs=5m", "--param formula.maxNumberofVMs: `5m` is not a number"),
        // Checked after the substitution: a cap of -1 makes the target negative only at run
        // time, but the checker refuses nothing here, so use a value the checker sees.
    ];
    for (param, message) in cases {
        let out = cli(&["sweep", SMALL, "--param", param, "--seeds", "1"], None);
        assert_eq!(out.status.code(), Some(1), "{param}");
        let err = text(&out.stderr);
        assert!(err.starts_with(&format!("error: {message}")), "{param}: {err}");
    }
}

#[test]
fn a_formula_is_checked_again_after_its_constant_is_set() {
    // 8 KiB is the service's limit: a longer number pushes this formula over it.
    let formula = format!("// {}\ncap = 1;\n$TargetDedicatedNodes = cap;", "x".repeat(8100));
    let dir = scratch_dir("sweep-formula-checked");
    let scenario = dir.join("s.toml");
    let toml = format!(
        "duration = \"1h\"\n[pool]\nvm = {{ cores = 2, dedicated_price = 0.1 }}\n\
         [pool.autoscale]\nformula = '''\n{formula}'''\n"
    );
    std::fs::write(&scenario, toml).expect("write");
    let s = scenario.to_str().unwrap_or_default();
    let ok = cli(&["sweep", s, "--param", "formula.cap=2", "--seeds", "1"], None);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let long = format!("formula.cap=1{}", "0".repeat(100));
    let out = cli(&["sweep", s, "--param", &long, "--seeds", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let expected = format!(
        "error: {long}: the formula has errors with these constants: The formula is 8241 bytes long; the limit is 8192"
    );
    assert!(err.starts_with(&expected), "{err}");
}

#[test]
fn run_formula_swaps_the_scenario_s_formula_as_compare_does() {
    let plain = cli(&["run", SMALL], None);
    let same = cli(&["run", SMALL, "--formula", "simulations/formulas/pending-tasks.formula"], None);
    let other = cli(&["run", SMALL, "--formula", "simulations/compare/pending-tasks-10.formula"], None);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    assert_eq!(text(&same.stdout), text(&plain.stdout), "the scenario's own formula, given again");
    assert_ne!(text(&other.stdout), text(&plain.stdout));
    let missing = cli(&["run", SMALL, "--formula", "no-such.formula"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).starts_with("error: cannot read formula file `no-such.formula`: "),
        "{}",
        text(&missing.stderr)
    );
}
