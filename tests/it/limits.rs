//! Bounded inputs: scenarios that would run away (memory, time, dates)
//! are refused before they run, with exit code 1 and the key that asks
//! for too much.

use crate::support::{cli, scratch_dir};

const POOL: &str = "[pool]\nvm = { cores = 2, dedicated_price = 0.1 }\ntarget_dedicated = 1\n";

/// Writes `scenario` as `NAME/scenario.toml` in a scratch folder, runs it
/// and returns its exit code, stdout and stderr.
fn run(name: &str, scenario: &str) -> (Option<i32>, String, String) {
    let dir = scratch_dir(&format!("limits-{name}"));
    let path = dir.join("scenario.toml");
    std::fs::write(&path, scenario).expect("write the scenario");
    let out = cli(&["run", path.to_str().expect("UTF-8 path")], None);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Asserts exit 1, nothing on stdout and every one of `expected` in the message.
fn refused(name: &str, scenario: &str, expected: &[&str]) {
    let (code, out, err) = run(name, scenario);
    assert_eq!(code, Some(1), "{name}: {err}");
    assert!(out.is_empty(), "{name}: {out}");
    for e in expected {
        assert!(err.contains(e), "{name}: expected {e:?} in {err}");
    }
}

fn poisson(rate: &str) -> String {
    format!(
        "duration = \"1d\"\n{POOL}[[jobs]]\n[[jobs.generate]]\nkind = \"poisson\"\nrate_per_hour = {rate}\nduration = \"1m\"\n"
    )
}

#[test]
fn a_runaway_poisson_rate_is_refused_with_its_key() {
    refused(
        "rate-1e308",
        &poisson("1e308"),
        &[
            "scenario.toml:8: jobs[0].generate[0].rate_per_hour: an unbounded number of tasks expected over 1d;",
            "at most 200000000",
        ],
    );
    refused(
        "rate-4e9",
        &poisson("4e9"),
        &["scenario.toml:8: jobs[0].generate[0].rate_per_hour: about 96000000000 tasks expected over 1d;"],
    );
}

#[test]
fn the_task_estimate_adds_every_source() {
    // Neither alone passes the limit; together they do, and the second is named.
    let scenario = format!(
        "duration = \"10d\"\n{POOL}\
         [[jobs]]\ntasks = [{{ duration = \"1m\", count = 100000000 }}]\n\
         [[jobs]]\ngenerate = [{{ kind = \"periodic\", every = \"1h\", count = 500000, duration = \"1m\" }}]\n"
    );
    refused(
        "sum",
        &scenario,
        &[
            "scenario.toml:8: jobs[1].generate[0].every: about 120500000 tasks expected, about 220500000 with the ones before",
        ],
    );
    let bursty = format!(
        "duration = \"366d\"\n{POOL}[[jobs]]\ngenerate = [{{ kind = \"bursty\", mean_gap = \"1m\", size = 1000, duration = \"1m\" }}]\n"
    );
    refused("bursty", &bursty, &["jobs[0].generate[0].mean_gap: about 527040000 tasks expected"]);
}

#[cfg(unix)]
#[test]
fn endless_files_fail_at_once_naming_the_key() {
    let trace = format!("duration = \"1d\"\n{POOL}[[jobs]]\ntrace = \"/dev/zero\"\n");
    refused(
        "trace-dev-zero",
        &trace,
        &["scenario.toml:6: jobs[0].trace: cannot read /dev/zero: line 1 is longer than 65536 bytes (the limit)"],
    );
    let formula = "duration = \"1d\"\n[pool]\nvm = { cores = 2, dedicated_price = 0.1 }\n\
                   autoscale = { formula_file = \"/dev/zero\" }\n";
    refused(
        "formula-dev-zero",
        formula,
        &[
            "scenario.toml:4: pool.autoscale.formula_file: /dev/zero: the formula is more than 8192 bytes long (the limit)",
        ],
    );
    let preemption = format!("duration = \"1d\"\n{POOL}preemption = {{ trace = \"/dev/zero\" }}\n");
    refused("preemption-dev-zero", &preemption, &["scenario.toml:5: pool.preemption.trace: cannot read /dev/zero"]);
    let out = cli(&["run", "/dev/zero"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read /dev/zero: the scenario file is more than 16777216 bytes long"), "{err}");
}

#[test]
fn a_formula_file_over_the_service_limit_is_its_too_long_error() {
    let dir = scratch_dir("limits-long-formula");
    std::fs::write(dir.join("long.formula"), format!("$TargetDedicatedNodes = 1;{}", " ".repeat(9000))).unwrap();
    let path = dir.join("scenario.toml");
    std::fs::write(
        &path,
        "duration = \"1d\"\n[pool]\nvm = { cores = 2, dedicated_price = 0.1 }\nautoscale = { formula_file = \"long.formula\" }\n",
    )
    .unwrap();
    let out = cli(&["run", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pool.autoscale.formula_file:")
            && err.contains("the formula is 9026 bytes long; the limit is 8192"),
        "{err}"
    );
    assert!(err.contains("AutoScalingFormulaTooLong"), "{err}");
}

#[test]
fn missing_files_name_the_scenario_and_the_key() {
    let formula = "duration = \"1d\"\n[pool]\nvm = { cores = 2, dedicated_price = 0.1 }\n\
                   autoscale = { formula_file = \"nope.formula\" }\n";
    refused(
        "missing-formula",
        formula,
        &["scenario.toml:4: pool.autoscale.formula_file: cannot read ", "nope.formula: "],
    );
    let trace = format!("duration = \"1d\"\n{POOL}[[jobs]]\nid = \"a\"\n[[jobs]]\ntrace = \"nope.csv\"\n");
    refused("missing-trace", &trace, &["scenario.toml:8: jobs[1].trace: cannot read ", "nope.csv: "]);
    let bad_row = format!("duration = \"1d\"\n{POOL}[[jobs]]\ntrace = \"bad.csv\"\n");
    let dir = scratch_dir("limits-bad-row");
    std::fs::write(dir.join("bad.csv"), "submit,duration\n0,soon\n").unwrap();
    std::fs::write(dir.join("scenario.toml"), bad_row).unwrap();
    let out = cli(&["run", dir.join("scenario.toml").to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scenario.toml:6: jobs[0].trace: ") && err.contains("bad.csv: line 2: duration:"), "{err}");
}

#[test]
fn dates_past_the_year_9999_are_refused() {
    let scenario = format!("start = \"9999-12-31T23:00:00Z\"\nduration = \"2h\"\n{POOL}");
    refused(
        "start-9999",
        &scenario,
        &["scenario.toml:1: start: 9999-12-31T23:00:00.000Z plus the duration 2h ends after 9999-12-31T23:59:59Z"],
    );
    // Up to the last second is fine.
    let (code, out, err) =
        run("start-9999-ok", &format!("start = \"9999-12-31T22:59:00Z\"\nduration = \"1h\"\n{POOL}"));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1h from 9999-12-31T22:59:00.000Z"), "{out}");
}

#[test]
fn job_ids_are_unique() {
    let twice = format!("duration = \"1d\"\n{POOL}[[jobs]]\nid = \"a\"\n[[jobs]]\nid = \"b\"\n[[jobs]]\nid = \"a\"\n");
    refused(
        "same-id",
        &twice,
        &["scenario.toml:10: jobs[2].id: `a` is already the id of jobs[0]; give each job its own id"],
    );
    // A default id (`job-N`) counts too.
    let default = format!("duration = \"1d\"\n{POOL}[[jobs]]\nid = \"job-2\"\n[[jobs]]\n");
    refused("default-id", &default, &["jobs[1].id: `job-2` (the default id of this job) is already the id of jobs[0]"]);
}

/// `merge` reads what shards wrote, or what stands in their place: an
/// endless `sweep.json` or a `runs.csv` with more rows than the sweep has
/// fail at once instead of filling memory.
#[cfg(unix)]
#[test]
fn merge_reads_shards_through_bounds() {
    let dir = scratch_dir("limits-merge");
    let endless = dir.join("endless");
    std::fs::create_dir_all(&endless).unwrap();
    std::os::unix::fs::symlink("/dev/zero", endless.join("sweep.json")).unwrap();
    let out = cli(&["merge", endless.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("a sweep.json is more than 16777216 bytes long (the limit)"), "{err}");

    // A real one-run shard, then a runs.csv that repeats its row many times.
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, format!("duration = \"1h\"\n{POOL}")).unwrap();
    let shard = dir.join("shard");
    let sweep = cli(
        &["sweep", scenario.to_str().unwrap(), "--param", "seed=1", "--seeds", "1", "--out", shard.to_str().unwrap()],
        None,
    );
    assert!(sweep.status.success(), "{}", String::from_utf8_lossy(&sweep.stderr));
    let runs = std::fs::read_to_string(shard.join("runs.csv")).unwrap();
    let (header, row) = runs.split_once('\n').unwrap();
    std::fs::write(shard.join("runs.csv"), format!("{header}\n{}", row.repeat(10_000))).unwrap();
    let out = cli(&["merge", shard.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("runs.csv holds more runs than the sweep has left (1)"), "{err}");
}
