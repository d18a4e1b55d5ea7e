//! Every command the README shows is run here, in a scratch folder, and
//! the output the README shows beside it is compared with what it prints:
//! a new command, or an output that drifts, fails this test. The few that
//! cannot run here (the test command itself, agents on other machines)
//! are listed with the reason.

use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../README.md");

/// What a command must print on one stream.
#[derive(Debug, Clone, Copy)]
enum Shown {
    /// Nothing.
    Nothing,
    /// Whatever it prints.
    Anything,
    /// Exactly the README's code block whose first line this is.
    Block(&'static str),
    /// The README's code block whose first line this is, somewhere in it:
    /// the README says the block is an excerpt.
    Excerpt(&'static str),
}

/// How a README command is checked.
#[derive(Debug, Clone, Copy)]
enum Check {
    /// Run with `files` in the folder; its exit code and both streams.
    Run { files: &'static [(&'static str, &'static str)], code: i32, stdout: Shown, stderr: Shown },
    /// Not run here, for the reason given.
    NotRun(&'static str),
}

/// A formula whose `check` the README shows: one misspelt metric.
const MISSPELT: &str = "// Follow the queue, up to 25 nodes, released\n// only when their tasks complete.\n\
                        $TargetLowPriorityNodes = 0;\n$NodeDeallocationOption = taskcompletion;\n\n\
                        $TargetDedicatedNodes = min(25, $pendingTasks);\n";
/// A formula whose JSON evaluation the README shows: too few samples.
const SAMPLES: &str = "$TargetDedicatedNodes = avg($RunningTasks.GetSample(TimeInterval_Minute * 5, 100));\n";
const PENDING: &str = include_str!("../../simulations/formulas/pending-tasks.formula");
/// The suite whose failure the README shows, as the README gives it
/// (checked by `the_failing_suite_is_the_readme_s`).
const FAILING_SUITE: &str = "# The bundled pending-tasks formula, copied here as pool.formula, and one\n\
                             # expectation it does not meet: a steady queue of 12 gives 12 nodes.\n\
                             formula_file = \"pool.formula\"\n\n\
                             [cases.empty-queue]\n\
                             metrics.PendingTasks = { constant = 0, for = \"30m\" }\n\
                             expect = { target_dedicated = 0 }\n\n\
                             [cases.steady-queue]\n\
                             pool = { target_dedicated = 4, current_dedicated = 4 }\n\
                             metrics.PendingTasks = { constant = 12, for = \"30m\" }\n\
                             expect = { target_dedicated = 11 }\n\n\
                             [cases.long-queue-is-capped]\n\
                             metrics.PendingTasks = { constant = 400, for = \"30m\" }\n\
                             expect = { target_dedicated = 25 }\n";
const BUSY: &str = include_str!("../../simulations/contexts/busy.toml");
const BURSTY_DAY: &str = include_str!("../../simulations/bursty-day.toml");
/// The pending-tasks suite and what it reads, as real files: `test` walks
/// no symbolic link.
const SUITE: &[(&str, &str)] = &[
    (
        "suite/pending-tasks.autoscale-test.toml",
        include_str!("../../simulations/formulas/pending-tasks.autoscale-test.toml"),
    ),
    ("suite/pending-tasks.formula", PENDING),
    ("bursty-day.toml", BURSTY_DAY),
    ("quota-bound.toml", include_str!("../../simulations/quota-bound.toml")),
];

/// Every command of the README's `sh` blocks (continuation lines joined,
/// comments dropped), and how it is checked.
const COMMANDS: &[(&str, Check)] = &[
    (
        "cargo install --path .",
        Check::NotRun("builds and installs into ~/.cargo/bin; `cargo test` built the same binary"),
    ),
    (
        "cargo run --release -- run simulations/bursty-day.toml",
        Check::Run { files: &[], code: 0, stdout: Shown::Block("bursty-day: 1day from"), stderr: Shown::Nothing },
    ),
    ("cargo test --workspace", Check::NotRun("the command that runs this test")),
    (
        "cargo run --release -- test simulations/",
        Check::Run { files: &[], code: 0, stdout: Shown::Anything, stderr: Shown::Nothing },
    ),
    (
        "cargo run --release -- serve --open",
        Check::NotRun("serves until stopped; tests/it/serve.rs runs the server, tests/it/serve/browser.rs the page"),
    ),
    (
        "cargo run --release -- eval simulations/formulas/pending-tasks.formula --context simulations/contexts/busy.toml",
        Check::Run { files: &[], code: 0, stdout: Shown::Block("$TargetDedicatedNodes=10;"), stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim check pool.formula",
        Check::Run {
            files: &[("pool.formula", MISSPELT)],
            code: 1,
            stdout: Shown::Nothing,
            stderr: Shown::Block("error[E0100]: Undefined symbol: $pendingTasks"),
        },
    ),
    (
        "autoscale-sim check -e '$TargetDedicatedNodes = min(10, avg($PendingTasks.GetSample(TimeInterval_Minute * 5, 70)))'",
        Check::Run { files: &[], code: 0, stdout: Shown::Nothing, stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim check simulations/formulas/cpu.formula",
        Check::Run {
            files: &[],
            code: 0,
            stdout: Shown::Nothing,
            stderr: Shown::Excerpt("warning[percent-compared-with-fraction]: `$CPUPercent` runs from 0 to 100"),
        },
    ),
    (
        "autoscale-sim fmt pool.formula other.formula",
        Check::Run {
            files: &[("pool.formula", "a=1;b=a+1"), ("other.formula", PENDING)],
            code: 0,
            stdout: Shown::Nothing,
            stderr: Shown::Nothing,
        },
    ),
    (
        "autoscale-sim fmt --check simulations/formulas/*.formula",
        Check::Run { files: &[], code: 0, stdout: Shown::Nothing, stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim fmt - < pool.formula",
        Check::Run { files: &[("pool.formula", PENDING)], code: 0, stdout: Shown::Anything, stderr: Shown::Nothing },
    ),
    ("autoscale-sim serve", Check::NotRun("serves until stopped; tests/it/serve.rs runs the server")),
    (
        "autoscale-sim serve my-pool.toml --port 8080 --open",
        Check::NotRun("serves until stopped and opens a browser; tests/it/serve.rs serves a scenario given"),
    ),
    (
        "autoscale-sim eval pool.formula --context ctx.toml",
        Check::Run {
            files: &[("pool.formula", PENDING), ("ctx.toml", BUSY)],
            code: 0,
            stdout: Shown::Anything,
            stderr: Shown::Nothing,
        },
    ),
    (
        "autoscale-sim eval pool.formula --context ctx.json --format json",
        Check::Run {
            files: &[("pool.formula", SAMPLES), ("ctx.json", r#"{"now": "2024-03-05T10:30:00Z"}"#)],
            code: 2,
            stdout: Shown::Block("{"),
            stderr: Shown::Nothing,
        },
    ),
    (
        "autoscale-sim eval -e '$TargetDedicatedNodes = 3'",
        Check::Run { files: &[], code: 0, stdout: Shown::Anything, stderr: Shown::Nothing },
    ),
    (
        "cat pool.formula | autoscale-sim eval -",
        Check::Run { files: &[("pool.formula", PENDING)], code: 0, stdout: Shown::Anything, stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim run scenario.toml",
        Check::Run {
            files: &[("scenario.toml", BURSTY_DAY)],
            code: 0,
            stdout: Shown::Block("bursty-day: 1day from"),
            stderr: Shown::Nothing,
        },
    ),
    (
        "autoscale-sim run scenario.toml --out out/ --seed 7",
        Check::Run {
            files: &[("scenario.toml", BURSTY_DAY)],
            code: 0,
            stdout: Shown::Anything,
            stderr: Shown::Anything,
        },
    ),
    (
        "autoscale-sim run scenario.toml --formula other.formula",
        Check::Run {
            files: &[("scenario.toml", BURSTY_DAY), ("other.formula", PENDING)],
            code: 0,
            stdout: Shown::Anything,
            stderr: Shown::Nothing,
        },
    ),
    (
        "autoscale-sim run scenario.toml --out out/ --out-format parquet",
        Check::NotRun(
            "needs a build with the parquet feature; cli.rs checks the default build's refusal, \
             report::parquet's tests read the files back",
        ),
    ),
    (
        "autoscale-sim run simulations/two-pools.toml --out out/two-pools",
        Check::Run { files: &[], code: 0, stdout: Shown::Block("pool interactive"), stderr: Shown::Anything },
    ),
    (
        "autoscale-sim run simulations/bursty-day.toml --formula simulations/formulas/pending-tasks.formula",
        Check::Run { files: &[], code: 0, stdout: Shown::Block("bursty-day: 1day from"), stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim run simulations/bursty-day.toml --formula simulations/compare/pending-tasks-10.formula",
        Check::Run { files: &[], code: 0, stdout: Shown::Block("bursty-day: 1day from"), stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim run simulations/bursty-day.toml --formula simulations/compare/pending-tasks-max.formula",
        Check::Run { files: &[], code: 0, stdout: Shown::Block("bursty-day: 1day from"), stderr: Shown::Nothing },
    ),
    (
        "head -c 32 /dev/urandom | base64 > agent.token",
        Check::Run { files: &[], code: 0, stdout: Shown::Nothing, stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim run simulations/real-agents.toml --agents real --spawn-local 3 --token-file agent.token --out out/real",
        Check::NotRun("runs 24 tasks for real on the wall clock; tests/it/real_agents.rs runs real agents"),
    ),
    (
        "autoscale-sim run simulations/real-agents.toml --agents real --listen 0.0.0.0:7070 --token-file agent.token --out out/real",
        Check::NotRun("waits for agents on other machines"),
    ),
    (
        "autoscale-sim agent --controller controller-host:7070 --token-file agent.token --slots 2 --root /mnt/batch",
        Check::NotRun("needs a controller on another machine"),
    ),
    (
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
         -subj \"/CN=autoscale-sim controller\" -keyout controller.key -out controller.crt",
        Check::NotRun("openssl's own command; tests/it/agent/tls.rs uses a certificate made this way"),
    ),
    (
        "openssl x509 -noout -fingerprint -sha256 -in controller.crt",
        Check::NotRun("openssl's own command; tests/it/agent/tls.rs pins the fingerprint it prints"),
    ),
    (
        "autoscale-sim run scenario.toml --agents real --listen 0.0.0.0:7070 --token-file agent.token \
         --tls-cert controller.crt --tls-key controller.key",
        Check::NotRun("waits for agents on other machines; tests/it/agent/tls.rs runs agents over TLS"),
    ),
    (
        "autoscale-sim agent --controller controller-host:7070 --token-file agent.token --tls-fingerprint F2:CC:…",
        Check::NotRun("needs a controller on another machine"),
    ),
    ("az batch pool show --pool-id render > pool.json", Check::NotRun("the service's client, with an account")),
    ("az batch task list --job-id frames > frames.json", Check::NotRun("the service's client, with an account")),
    (
        "autoscale-sim import --pool pool.json --tasks frames.json --dedicated-price 0.096 --out imported",
        Check::Run {
            files: &[
                ("pool.json", include_str!("../import/pool.json")),
                ("frames.json", include_str!("../import/tasks-page-2.json")),
            ],
            code: 0,
            stdout: Shown::Anything,
            stderr: Shown::Nothing,
        },
    ),
    (
        "autoscale-sim run imported/scenario.toml",
        Check::NotRun("runs what the import wrote; tests/it/import.rs imports and runs the same exports"),
    ),
    (
        "autoscale-sim compare imported/scenario.toml --formula imported/formula.formula --formula candidate.formula \
         --seeds 20",
        Check::NotRun("needs the user's candidate formula"),
    ),
    (
        "autoscale-sim compare simulations/bursty-day.toml --formula simulations/formulas/pending-tasks.formula \
         --formula simulations/compare/pending-tasks-10.formula --formula simulations/compare/pending-tasks-max.formula \
         --seeds 20 --out docs/compare",
        Check::Run {
            files: &[],
            code: 0,
            stdout: Shown::Block("bursty-day: 3 formulas x 20 seeds"),
            stderr: Shown::Anything,
        },
    ),
    (
        "autoscale-sim sweep simulations/bursty-day.toml --param pool.autoscale.interval=5m,15m,30m \
         --param pool.vm.cores=2,4 --seeds 10 --out out/sweep",
        Check::Run { files: &[], code: 0, stdout: Shown::Anything, stderr: Shown::Anything },
    ),
    (
        "autoscale-sim merge out/shard-0 out/shard-1 out/shard-2 out/shard-3 --out out/sweep",
        Check::NotRun("needs the four folders of a sharded sweep; tests/it/compare.rs merges shards"),
    ),
    (
        "autoscale-sim tune simulations/tune-cap.toml --param formula.maxNumberofVMs=1..40 --slo 'p95_wait<=45m' \
         --seeds 4 --budget 15 --out docs/tune",
        Check::Run {
            files: &[],
            code: 0,
            stdout: Shown::Block("tune-cap: 15 points of 40 x 4 seeds"),
            stderr: Shown::Anything,
        },
    ),
    (
        "autoscale-sim tune simulations/tune-cap.toml --param formula.maxNumberofVMs=1..40 \
         --slo 'p95_wait<=45m' --seeds 4 --budget 15 --shard 0/2 --out out/tune-0",
        Check::Run { files: &[], code: 0, stdout: Shown::Anything, stderr: Shown::Anything },
    ),
    (
        "autoscale-sim tune simulations/tune-cap.toml --param formula.maxNumberofVMs=1..40 \
         --slo 'p95_wait<=45m' --seeds 4 --budget 15 --shard 1/2 --out out/tune-1",
        Check::Run { files: &[], code: 0, stdout: Shown::Anything, stderr: Shown::Anything },
    ),
    (
        "autoscale-sim merge out/tune-0 out/tune-1 --out out/tune",
        Check::NotRun("needs the two folders of a sharded tune; tests/it/tune.rs merges shards"),
    ),
    (
        "autoscale-sim test simulations/",
        Check::Run { files: &[], code: 0, stdout: Shown::Anything, stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim test --filter pending-tasks::steady",
        Check::Run { files: SUITE, code: 0, stdout: Shown::Anything, stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim test --junit junit.xml",
        Check::Run { files: SUITE, code: 0, stdout: Shown::Anything, stderr: Shown::Nothing },
    ),
    (
        "autoscale-sim test pool.autoscale-test.toml --bless",
        Check::NotRun("rewrites a suite's failing expectations; tests/it/testsuite.rs blesses one"),
    ),
    (
        "autoscale-sim test pool.autoscale-test.toml",
        Check::Run {
            files: &[("pool.autoscale-test.toml", FAILING_SUITE), ("pool.formula", PENDING)],
            code: 2,
            stdout: Shown::Block("running 3 tests"),
            stderr: Shown::Nothing,
        },
    ),
    (
        "PROPTEST_CASES=500000 cargo test --release --test it fuzz_scenario -- --test-threads=2",
        Check::NotRun("an hour of fuzzing; `cargo test` runs the same properties on fewer cases"),
    ),
];

/// The README's code blocks: their language and lines.
fn blocks() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out = Vec::new();
    let mut open: Option<(&str, Vec<&str>)> = None;
    for line in README.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(lang), None) => open = Some((lang, Vec::new())),
            (Some(_), Some(block)) => out.push(block),
            (None, Some((lang, mut lines))) => {
                lines.push(line);
                open = Some((lang, lines));
            }
            (None, None) => {}
        }
    }
    out
}

/// The commands of the README's `sh` blocks, as [`COMMANDS`] writes them.
fn readme_commands() -> Vec<String> {
    blocks().into_iter().filter(|(lang, _)| *lang == "sh").flat_map(|(_, lines)| commands_of(&lines)).collect()
}

/// The commands of one `sh` block: continuation lines joined, comments dropped.
fn commands_of(lines: &[&str]) -> Vec<String> {
    let mut commands = Vec::new();
    let mut command = String::new();
    for line in lines {
        let line = line.split("  #").next().unwrap_or(line).trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => command.push_str(part),
            None => {
                command.push_str(line);
                commands.push(std::mem::take(&mut command));
            }
        }
    }
    commands
}

/// The text of the README block whose first line starts with `first`,
/// with its final line break: the first such block after the `sh` block
/// that shows `command` (several commands print alike).
fn block(command: &str, first: &str) -> String {
    let mut after_command = false;
    for (lang, lines) in blocks() {
        if lang == "sh" {
            after_command |= commands_of(&lines).iter().any(|c| c == command);
        } else if after_command && lines.first().is_some_and(|l| l.starts_with(first)) {
            return lines.iter().map(|l| format!("{l}\n")).collect();
        }
    }
    panic!("no README block starts with {first:?} after `{command}`")
}

fn compare(command: &str, stream: &str, shown: Shown, actual: &str) {
    match shown {
        Shown::Nothing => assert_eq!(actual, "", "`{command}` prints nothing on {stream}"),
        Shown::Anything => {}
        Shown::Block(first) => {
            assert_eq!(actual, block(command, first), "`{command}`: {stream} as the README shows it")
        }
        Shown::Excerpt(first) => {
            let excerpt = block(command, first);
            assert!(actual.contains(&excerpt), "`{command}`: the README's excerpt of {stream} in:\n{actual}")
        }
    }
}

#[test]
fn the_failing_suite_is_the_readme_s() {
    assert!(README.contains(&format!("```toml\n{FAILING_SUITE}```\n")), "the README's failing suite differs");
}

#[test]
fn every_readme_command_is_listed_here() {
    let listed: Vec<&str> = COMMANDS.iter().map(|(c, _)| *c).collect();
    assert_eq!(readme_commands(), listed);
}

#[test]
fn every_readme_command_prints_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = Path::new(env!("CARGO_BIN_EXE_autoscale-sim"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    for (n, (command, check)) in COMMANDS.iter().enumerate() {
        let (files, code, stdout, stderr) = match *check {
            Check::Run { files, code, stdout, stderr } => (files, code, stdout, stderr),
            Check::NotRun(reason) => {
                eprintln!("not run: `{command}`: {reason}");
                continue;
            }
        };
        let dir = crate::support::scratch_dir(&format!("readme-{n}"));
        std::os::unix::fs::symlink(root.join("simulations"), dir.join("simulations")).unwrap();
        std::os::unix::fs::symlink(root.join("simulations/formulas"), dir.join("formulas")).unwrap();
        for (name, text) in files {
            std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
            std::fs::write(dir.join(name), text).unwrap();
        }
        let shell = command.replace("cargo run --release -- ", "autoscale-sim ");
        let out = Command::new("sh").arg("-c").arg(&shell).current_dir(&dir).env("PATH", &path).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(out.status.code(), Some(code), "`{command}`: {}", text(&out.stderr));
        compare(command, "stdout", stdout, &text(&out.stdout));
        compare(command, "stderr", stderr, &text(&out.stderr));
    }
}
