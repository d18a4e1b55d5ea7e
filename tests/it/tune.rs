//! `tune`: the optimiser against the full sweep of the same lattice on the
//! same seeds, the optimiser against random search, the exit code and
//! message of an infeasible objective, and errors that name their key. The
//! bundled `tune-cap.toml` lasts six hours, so a debug build runs its
//! 40-point sweep in seconds.

use std::path::Path;

use autoscale_sim::report::compare::SeedRun;
use autoscale_sim::report::sweep::{Grid, sweep};
use autoscale_sim::tune::search::{Method, Observation, Settings, search};
use autoscale_sim::tune::slo::{Metric, Slo};
use autoscale_sim::tune::space::{Point, Space};

use crate::support::{cli, scratch_dir};

const SCENARIO: &str = "simulations/tune-cap.toml";
const SLO: &str = "p95_wait<=45m";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mean(runs: &[SeedRun], metric: Metric) -> f64 {
    runs.iter().map(|r| metric.of(r)).sum::<f64>() / runs.len() as f64
}

/// Every point of `params` on `seeds` seeds, as `sweep` runs them: the
/// seed means of cost, and each point's excess over [`SLO`].
fn full_sweep(params: &[&str], seeds: u64) -> Vec<Observation> {
    let slo = Slo::parse(SLO).expect("slo");
    let params: Vec<String> = params.iter().map(|p| (*p).to_owned()).collect();
    let grid = Grid::new(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SCENARIO), &params, seeds).expect("grid");
    let runs = sweep(&grid, (0, 1), &|| {}).expect("sweep runs").comparison().runs;
    runs.iter()
        .map(|r| Observation { objective: mean(r, Metric::Cost), excess: vec![slo.excess(mean(r, slo.metric))] })
        .collect()
}

/// The cheapest feasible cost of a set of observations.
fn cheapest<'a>(observations: impl IntoIterator<Item = &'a Observation>) -> Option<f64> {
    observations.into_iter().filter(|o| o.feasible()).map(|o| o.objective).min_by(f64::total_cmp)
}

#[test]
fn fifteen_points_come_within_two_percent_of_the_cheapest_of_all_forty() {
    let values: Vec<String> = (1..=40).map(|v| v.to_string()).collect();
    let all = full_sweep(&[&format!("formula.maxNumberofVMs={}", values.join(","))], 4);
    let optimum = cheapest(&all).expect("some cap meets the objective");
    let dir = scratch_dir("tune-cap");
    let out = cli(
        &[
            "tune",
            SCENARIO,
            "--param",
            "formula.maxNumberofVMs=1..40",
            "--slo",
            SLO,
            "--seeds",
            "4",
            "--budget",
            "15",
            "--out",
            dir.to_str().unwrap_or_default(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let best: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("best: formula.maxNumberofVMs="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no best point in\n{stdout}"));
    let found = &all[best - 1];
    assert!(found.feasible(), "cap {best} fails the objective in the sweep");
    assert!(found.objective <= optimum * 1.02, "cap {best} costs {}, the cheapest {optimum}", found.objective);
    // One row per point, each point once.
    let trials = std::fs::read_to_string(dir.join("trials.csv")).expect("trials.csv");
    let caps: std::collections::BTreeSet<&str> = trials.lines().skip(1).filter_map(|l| l.split(',').nth(2)).collect();
    assert_eq!((trials.lines().count(), caps.len()), (16, 15), "{trials}");
    assert!(trials.starts_with("trial,batch,formula.maxNumberofVMs,feasible,cost,cost_ci,node_hours,"));
    // The formula as written, with the best cap and nothing else changed.
    let written = std::fs::read_to_string("simulations/formulas/pending-tasks.formula").expect("formula");
    let tuned = std::fs::read_to_string(dir.join("tuned.formula")).expect("tuned.formula");
    assert_eq!(tuned, written.replace("maxNumberofVMs = 25;", &format!("maxNumberofVMs = {best};")));
    assert!(stdout.contains("\nas written (formula.maxNumberofVMs=25): cost "), "{stdout}");
    // The chart: the points, their front, the region where the wait is met; the report holds it.
    let svg = std::fs::read_to_string(dir.join("cost-vs-wait.svg")).expect("chart");
    for label in ["Pareto front", "where the wait objective is met", "fails an objective", "p95_wait (minutes"] {
        assert!(svg.contains(label), "the chart lacks {label:?}");
    }
    assert_eq!(svg.matches("<circle").count(), 15 + 2, "a circle per point and two in the legend");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(html.contains(&format!("best: formula.maxNumberofVMs={best}\n")) && html.contains("<svg"), "{html}");
}

#[test]
fn an_objective_no_point_meets_exits_2_with_the_closest_point() {
    let out = cli(
        &[
            "tune",
            SCENARIO,
            "--param",
            "formula.maxNumberofVMs=38..40",
            "--slo",
            "p95_wait<=1m",
            "--seeds",
            "4",
            "--budget",
            "3",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: no point meets the constraints; the closest, formula.maxNumberofVMs=40, fails p95_wait<=1m\n"
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("no point meets the constraints; the closest is formula.maxNumberofVMs=40\n"), "{stdout}");
    assert!(stdout.contains("  fails p95_wait<=1m: p95_wait is 26m 42s\n"), "{stdout}");
}

#[test]
fn parameter_errors_name_the_key() {
    let cases: [(&[&str], &str); 5] = [
        (&["--param", "formula.cap=1..4"], "error: --param formula.cap: the formula does not assign `cap`\n"),
        (
            &["--param", "formula.maxNumberofVMs=9..1"],
            "error: --param formula.maxNumberofVMs: `9..1` is not a range LO..HI with LO < HI, both integers or both reals\n",
        ),
        (
            &["--param", "formula.pendingTaskSamples=1..3"],
            "error: --param formula.pendingTaskSamples: the formula assigns `pendingTaskSamples = \
             pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * \
             TimeInterval_Second))`, not a number; a parameter must be assigned a constant\n",
        ),
        (
            &["--param", "formula.maxNumberofVMs=1..4", "--slo", "p95<=3"],
            "error: --slo p95<=3: no metric `p95`; the metrics are cost, node_hours, mean_wait, p95_wait, \
             makespan, unfinished, failed_evaluations, requeued_hours, utilisation, idle_cost\n",
        ),
        (&["--param", "pool.autoscale.interval=5m,1m"], "error: pool.autoscale.interval=1m: "),
    ];
    for (args, message) in cases {
        let mut all = vec!["tune", SCENARIO, "--seeds", "1", "--budget", "2"];
        all.extend(args);
        let out = cli(&all, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with(message), "{args:?}:\n{err}");
    }
}

#[test]
fn scenario_keys_lists_and_real_ranges_are_searched_too() {
    let dir = scratch_dir("tune-mixed");
    let out = cli(
        &[
            "tune",
            SCENARIO,
            "--param",
            "pool.autoscale.interval=5m,10m,15m",
            "--param",
            "formula.startingNumberOfVMs=0.5..2.5",
            "--seeds",
            "2",
            "--budget",
            "5",
            "--out",
            dir.to_str().unwrap_or_default(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let trials = std::fs::read_to_string(dir.join("trials.csv")).expect("trials.csv");
    let rows: Vec<Vec<&str>> = trials.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][..5], ["trial", "batch", "pool.autoscale.interval", "formula.startingNumberOfVMs", "feasible"]);
    assert_eq!(rows.len(), 6);
    for row in &rows[1..] {
        assert!(["5m", "10m", "15m"].contains(&row[2]), "{row:?}");
        let v: f64 = row[3].parse().expect("a number");
        // 100 steps of 0.02 from 0.5 to 2.5.
        assert!((0.5..=2.5).contains(&v) && ((v - 0.5) / 0.02 - ((v - 0.5) / 0.02).round()).abs() < 1e-9, "{v}");
        assert_eq!(row[4], "true", "no constraint: every point is feasible");
    }
    // Where the money went is measured per point too: utilisation is a share.
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|h| h.starts_with(name)).unwrap_or_else(|| panic!("{header:?}"));
    let (utilisation, idle) = (column("utilisation"), column("idle_cost"));
    for row in &rows[1..] {
        let u: f64 = row[utilisation].parse().expect("a number");
        assert!((0.0..=1.0).contains(&u) && u > 0.0, "{row:?}");
        assert!(row[idle].parse::<f64>().expect("a number") >= 0.0);
    }
}

/// On two parameters (200 points), the optimiser and random search with
/// the same budget of 20, each over ten search seeds: the optimiser's best
/// feasible point is on average closer to the optimum. The lattice is run
/// once and looked up, so the searches cost nothing but their own work.
#[test]
fn the_optimiser_beats_random_search_on_two_parameters() {
    let params = ["pool.autoscale.interval=5m,10m,15m,20m,30m", "formula.maxNumberofVMs=1..40"];
    let caps: Vec<String> = (1..=40).map(|v| v.to_string()).collect();
    let all = full_sweep(&[params[0], &format!("formula.maxNumberofVMs={}", caps.join(","))], 2);
    let space = Space::parse(&params.map(str::to_owned)).expect("space");
    let optimum = cheapest(&all).expect("feasible");
    let worst = all.iter().map(|o| o.objective).fold(f64::MIN, f64::max);
    let regret = |method: Method, seed: u64| {
        let settings = Settings { method, budget: 20, batch: 2, seed };
        let lookup = |points: &[Point]| {
            Ok::<_, ()>(points.iter().map(|p| all[space.index(p) as usize].clone()).collect::<Vec<_>>())
        };
        let found = search(&space, settings, lookup).expect("search");
        // No feasible point found counts as the dearest point of all.
        (cheapest(found.iter().map(|(_, o)| o)).unwrap_or(worst) - optimum) / optimum
    };
    let mean = |method: Method| (0..10).map(|s| regret(method, s)).sum::<f64>() / 10.0;
    let (bayes, random) = (mean(Method::Bayes), mean(Method::Random));
    println!(
        "mean excess cost over the optimum, budget 20 of 200 points, 10 search seeds: optimiser {:.2}%, random {:.2}%",
        100.0 * bayes,
        100.0 * random
    );
    assert!(bayes < random, "optimiser {bayes}, random {random}");
}

/// `tune --shard I/N` in `dir/shard-I`: its exit code and stdout.
fn shard(dir: &Path, i: u32, extra: &[&str]) -> (Option<i32>, String) {
    let out = dir.join(format!("shard-{i}"));
    let shard = format!("{i}/2");
    let mut args = vec!["tune", SCENARIO, "--param", "formula.maxNumberofVMs=1..40", "--slo", SLO, "--seeds", "4"];
    args.extend(["--budget", "6", "--shard", &shard, "--out", out.to_str().unwrap_or_default()]);
    args.extend(extra);
    let run = cli(&args, None);
    (run.status.code(), text(&run.stdout))
}

/// `trials.csv` as (cap, feasible, cost) rows.
fn trials(dir: &Path) -> Vec<(u32, bool, f64)> {
    let mut csv = csv::Reader::from_path(dir.join("trials.csv")).expect("trials.csv");
    csv.records()
        .map(|r| {
            let r = r.expect("a row");
            (r[2].parse().unwrap(), r[3].parse().unwrap(), r[4].parse().unwrap())
        })
        .collect()
}

fn cheapest_trial(rows: &[(u32, bool, f64)]) -> f64 {
    rows.iter().filter(|r| r.1).map(|r| r.2).min_by(f64::total_cmp).expect("a feasible point")
}

#[test]
fn two_tune_shards_search_apart_and_merge_into_one_tuning_at_least_as_good_as_either() {
    let dir = scratch_dir("tune-shards");
    for i in 0..2 {
        let (code, stdout) = shard(&dir, i, &[]);
        assert_eq!(code, Some(0), "{stdout}");
        assert!(stdout.starts_with("tune-cap: 6 points of 40 x 4 seeds"), "{stdout}");
    }
    let (first, second) = (trials(&dir.join("shard-0")), trials(&dir.join("shard-1")));
    assert_ne!(first, second, "each shard searches from its own first points");
    let merged = dir.join("merged");
    let out = cli(&["merge", dir.join("shard-0").to_str().unwrap(), dir.join("shard-1").to_str().unwrap()], None);
    let (code, stdout) = (out.status.code(), text(&out.stdout));
    assert_eq!(code, Some(0), "{}", text(&out.stderr));
    let with_out = cli(
        &[
            "merge",
            dir.join("shard-0").to_str().unwrap(),
            dir.join("shard-1").to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!((with_out.status.code(), text(&with_out.stdout)), (Some(0), stdout.clone()));
    // Every point of both, once each, in shard order; the same figures.
    let all = trials(&merged);
    let mut union = first.clone();
    union.extend(second.iter().filter(|r| !first.iter().any(|f| f.0 == r.0)));
    assert_eq!(all, union);
    assert!(stdout.starts_with(&format!("tune-cap: {} points of 40 x 4 seeds", union.len())), "{stdout}");
    // The best of the merge is the best of the two.
    let best = cheapest_trial(&all);
    assert_eq!(best, cheapest_trial(&first).min(cheapest_trial(&second)));
    let cap = all.iter().find(|r| r.1 && r.2 == best).map(|r| r.0).unwrap();
    assert!(stdout.contains(&format!("best: formula.maxNumberofVMs={cap}\n")), "{stdout}");
    assert!(stdout.contains("\nas written (formula.maxNumberofVMs=25): cost 5.16 ±0.30"), "{stdout}");
    // The files of a single run.
    for file in ["trials.csv", "tuned.formula", "cost-vs-wait.svg", "cost-vs-wait.png", "report.html"] {
        assert!(merged.join(file).is_file(), "no {file}");
    }
    let tuned = std::fs::read_to_string(merged.join("tuned.formula")).unwrap();
    assert!(tuned.contains(&format!("maxNumberofVMs = {cap};")), "{tuned}");
    let svg = std::fs::read_to_string(merged.join("cost-vs-wait.svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), all.len() + 2, "a circle per point and two in the legend");
}

#[test]
fn tune_shards_of_different_searches_or_an_incomplete_set_are_refused() {
    let dir = scratch_dir("tune-shards-mismatch");
    assert_eq!(shard(&dir, 0, &[]).0, Some(0));
    assert_eq!(shard(&dir, 1, &["--slo", "failed_evaluations<=0"]).0, Some(0));
    let (s0, s1) = (dir.join("shard-0"), dir.join("shard-1"));
    let merge = |dirs: &[&Path]| {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        let out = cli(&args, None);
        (out.status.code(), text(&out.stderr))
    };
    let (m0, m1) = (s0.join("tune.json"), s1.join("tune.json"));
    assert_eq!(
        merge(&[&s0, &s1]),
        (
            Some(1),
            format!(
                "error: {} is from another tune than {}: --slo `{SLO} failed_evaluations<=0`, not `{SLO}`\n",
                m1.display(),
                m0.display()
            )
        )
    );
    assert_eq!(merge(&[&s0]), (Some(1), "error: shard 1/2 is missing: give every shard's folder\n".to_owned()));
    assert_eq!(
        merge(&[&s0, &s0]),
        (
            Some(1),
            format!(
                "error: shard 0/2 is given twice ({} and {}); give each shard's folder once\n",
                m0.display(),
                m0.display()
            )
        )
    );
    // A sweep's shard among tune shards is no tune shard.
    let sweep = dir.join("sweep");
    let args = ["sweep", SCENARIO, "--param", "formula.maxNumberofVMs=1,2", "--seeds", "1", "--shard", "1/2", "--out"];
    let run = cli(&[&args[..], &[sweep.to_str().unwrap()]].concat(), None);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let (code, stderr) = merge(&[&s0, &sweep]);
    let expected = format!(
        "error: {}: not found: the folder is not a `tune --shard`'s (a sweep's shard has sweep.json)\n",
        sweep.join("tune.json").display()
    );
    assert_eq!((code, stderr), (Some(1), expected));
}
