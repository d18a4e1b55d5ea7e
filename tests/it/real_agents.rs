//! `run --agents real`: a scenario run on agent processes spawned on this
//! machine, end to end through the CLI — command lines really run, with
//! the service's environment and folders, and their exit codes decide.

use std::path::{Path, PathBuf};

use crate::support::{cli, scratch_dir};

/// Every task prints its `AZ_BATCH_*` variables, writes a file in its
/// working directory and takes a few seconds; `task-7` exits 3.
const SCENARIO: &str = r#"
duration = "10m"
[pool]
id = "renderfarm"
vm = { cores = 2, dedicated_price = 3.6 }
task_slots_per_node = 2
target_dedicated = 3
start_task = { duration = "1s", command_line = "sh -c 'echo up > \"$AZ_BATCH_NODE_SHARED_DIR/started\"'" }
[[jobs]]
id = "render"
max_task_retry_count = 1
command_line = "sh -c 'env | grep ^AZ_BATCH_ | sort; echo frame > out.txt; sleep 4; test \"$AZ_BATCH_TASK_ID\" != task-7 || exit 3'"
tasks = [{ duration = "1s", count = 50 }]
"#;

/// `tasks.csv` rows as (task, node, attempts, outcome, exit code).
fn task_rows(out: &Path) -> Vec<(u32, String, u32, String, String)> {
    let mut csv = csv::Reader::from_path(out.join("tasks.csv")).expect("tasks.csv");
    csv.records()
        .map(|r| {
            let r = r.expect("a tasks.csv row");
            (r[0].parse().unwrap(), r[5].to_owned(), r[6].parse().unwrap(), r[7].to_owned(), r[8].to_owned())
        })
        .collect()
}

/// The folder agent `i` (any) used for task `n`.
fn task_dir(agents: &Path, n: u32) -> Option<PathBuf> {
    (0..3)
        .map(|i| agents.join(format!("agent-{i}/workitems/render/tasks/task-{n}")))
        .find(|d| d.join("stdout.txt").exists())
}

#[test]
fn a_scenario_runs_for_real_on_three_spawned_agents() {
    let dir = scratch_dir("real-agents");
    let (scenario, token, out, agents) =
        (dir.join("farm.toml"), dir.join("token"), dir.join("out"), dir.join("agents"));
    std::fs::write(&scenario, SCENARIO).unwrap();
    std::fs::write(&token, "real-agents-shared-secret\n").unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let run = cli(
        &[
            "run",
            &path(&scenario),
            "--agents",
            "real",
            "--spawn-local",
            "3",
            "--token-file",
            &path(&token),
            "--agent-root",
            &path(&agents),
            "--agent-usage-interval",
            "5s",
            "--out",
            &path(&out),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "run failed: {stderr}");

    // Exit codes decide: task-7 exits 3, is retried once, fails; the rest succeed.
    let rows = task_rows(&out);
    assert_eq!(rows.len(), 50);
    for (n, node, attempts, outcome, code) in &rows {
        let expected = if *n == 7 { (2, "failed", "3") } else { (1, "succeeded", "0") };
        assert_eq!((*attempts, outcome.as_str(), code.as_str()), expected, "task {n} on node {node}");
    }

    // Each task ran in its own folder with the service's variables.
    for (n, node, ..) in &rows {
        let task = task_dir(&agents, *n).unwrap_or_else(|| panic!("no folder for task {n}"));
        let stdout = std::fs::read_to_string(task.join("stdout.txt")).unwrap();
        let wd = task.join("wd");
        for line in [
            format!("AZ_BATCH_TASK_ID=task-{n}"),
            "AZ_BATCH_JOB_ID=render".to_owned(),
            "AZ_BATCH_POOL_ID=renderfarm".to_owned(),
            format!("AZ_BATCH_NODE_ID=node-{node}"),
            format!("AZ_BATCH_TASK_WORKING_DIR={}", wd.display()),
        ] {
            assert!(stdout.lines().any(|l| l == line), "task {n}: no `{line}` in\n{stdout}");
        }
        assert_eq!(std::fs::read_to_string(wd.join("out.txt")).unwrap(), "frame\n");
    }
    // Every node ran the start task in its startup folder.
    for i in 0..3 {
        let shared = agents.join(format!("agent-{i}/shared/started"));
        assert_eq!(std::fs::read_to_string(&shared).unwrap_or_default(), "up\n", "{}", shared.display());
    }

    // The timeline's sample at 30 s shows the real pool at work.
    let mut timeline = csv::Reader::from_path(out.join("timeline.csv")).unwrap();
    let headers = timeline.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (elapsed, running, cpu) = (column("elapsed_s"), column("running_tasks"), column("cpu_percent"));
    let rows: Vec<csv::StringRecord> = timeline.records().map(Result::unwrap).collect();
    let at_30 = rows.iter().find(|r| r[elapsed].parse::<f64>().unwrap() == 30.0).expect("a sample at 30 s");
    assert!(at_30[running].parse::<u32>().unwrap() > 0, "{at_30:?}");
    assert!(at_30[cpu].parse::<f64>().unwrap() >= 0.0);
}

/// The timeline of a run on real agents: a row every 30 s, then one where
/// the run stopped, and charts ticked in seconds. At `--clock-speed 10`
/// (hidden; simulated seconds per wall-clock second) 30 s of the run pass
/// in 3 s of wall clock, so seven seconds of `sleep` give three samples.
#[test]
fn a_real_agents_run_is_sampled_every_30_s_to_its_end_and_names_its_agents_as_their_folders() {
    let dir = scratch_dir("real-agents-timeline");
    let (scenario, token, out) = (dir.join("sleep.toml"), dir.join("token"), dir.join("out"));
    std::fs::write(
        &scenario,
        "start = \"2024-03-04T08:00:00Z\"\nduration = \"1h\"\n[pool]\nvm = { cores = 1, dedicated_price = 3.6 }\n\
         target_dedicated = 2\n[[jobs]]\ncommand_line = \"sleep 1\"\ntasks = [{ duration = \"1s\", count = 14 }]\n",
    )
    .unwrap();
    std::fs::write(&token, "real-agents-shared-secret\n").unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let run = cli(
        &[
            "run",
            &path(&scenario),
            "--agents",
            "real",
            "--spawn-local",
            "2",
            "--token-file",
            &path(&token),
            "--clock-speed",
            "10",
            "--out",
            &path(&out),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "run failed: {stderr}");

    let mut timeline = csv::Reader::from_path(out.join("timeline.csv")).unwrap();
    let headers = timeline.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (elapsed, succeeded, cost) = (column("elapsed_s"), column("succeeded_tasks"), column("cost"));
    let rows: Vec<csv::StringRecord> = timeline.records().map(Result::unwrap).collect();
    let times: Vec<&str> = rows.iter().map(|r| &r[elapsed]).collect();
    // Seven waves of one second on two nodes: at least 70 s of the run.
    assert!(rows.len() >= 4, "{times:?}");
    let samples = &times[..rows.len() - 1];
    let expected: Vec<String> = (0..samples.len()).map(|k| format!("{}.000", 30 * k)).collect();
    assert_eq!(samples, expected, "a sample every 30 s");
    // The last row is where the run stopped, a whole second after the last sample.
    let last = rows.last().unwrap();
    let end: f64 = last[elapsed].parse().unwrap();
    let last_sample = 30.0 * (samples.len() - 1) as f64;
    assert!(end > last_sample && end < last_sample + 30.0 && end.fract() == 0.0, "{times:?}");
    assert_eq!(&last[succeeded], "14");
    // It holds the run's cost, as the summary gives it.
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let billed = summary["cost"]["total"].as_f64().unwrap();
    assert!((last[cost].parse::<f64>().unwrap() - billed).abs() < 1e-6, "{} against {billed}", &last[cost]);
    // The summary says how long the run lasted, not the scenario's hour.
    let lasted = autoscale_sim::time::SimDuration::from_secs(end as u64);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.starts_with(&format!("sleep: {lasted} from 2024-03-04T08:00:00.000Z, seed ")), "{stdout}");

    // The charts' time axis is in seconds of the scenario's clock.
    let nodes = std::fs::read_to_string(out.join("nodes.svg")).unwrap();
    for label in ["Mon 08:00:00", "Mon 08:00:30", "Mon 08:01:00"] {
        assert!(nodes.contains(label), "no tick `{label}` on the nodes chart");
    }

    // The log calls the agents as their folders and logs are named.
    for i in 0..2 {
        assert!(stderr.contains(&format!("agent-{i} joined from 127.0.0.1:")), "{stderr}");
        let log = std::fs::read_to_string(out.join(format!("agents/agent-{i}.log"))).unwrap();
        assert!(log.contains(&format!("as agent-{i}")), "{log}");
    }
}

#[test]
fn real_agents_need_command_lines_and_a_token() {
    let dir = scratch_dir("real-agents-errors");
    let scenario = dir.join("bare.toml");
    std::fs::write(&scenario, "duration = \"1m\"\n[pool]\nvm = { cores = 1, dedicated_price = 1 }\ntarget_dedicated = 1\n[[jobs]]\ntasks = [{ duration = \"1s\" }]\n").unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "t\n").unwrap();
    let s = scenario.to_str().unwrap();
    let run = cli(&["run", s, "--agents", "real", "--token-file", token.to_str().unwrap()], None);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("jobs[0].command_line: real agents need a command line"), "{stderr}");
    let run = cli(&["run", s, "--agents", "real"], None);
    assert_eq!(run.status.code(), Some(64), "{}", String::from_utf8_lossy(&run.stderr));

    // A scenario agents can run, but a token too short to be safe: refused, naming the file.
    let farm = dir.join("farm.toml");
    std::fs::write(&farm, SCENARIO).unwrap();
    let run = cli(&["run", farm.to_str().unwrap(), "--agents", "real", "--token-file", token.to_str().unwrap()], None);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!("token file `{}` holds a token of 1 bytes; at least 16", token.display())),
        "{stderr}"
    );
}

#[test]
fn an_agent_killed_mid_task_loses_nothing_its_tasks_finish_elsewhere() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = scratch_dir("real-agents-kill");
    let (scenario, token, out, agents) =
        (dir.join("farm.toml"), dir.join("token"), dir.join("out"), dir.join("agents"));
    // 12 tasks of 5 s on 3 one-slot agents.
    let text = SCENARIO
        .replace("task_slots_per_node = 2", "task_slots_per_node = 1")
        .replace("count = 50", "count = 12")
        .replace("sleep 4", "sleep 5");
    std::fs::write(&scenario, text).unwrap();
    std::fs::write(&token, "real-agents-shared-secret\n").unwrap();
    let exe = env!("CARGO_BIN_EXE_autoscale-sim");
    let mut run = Command::new(exe)
        .args(["run", scenario.to_str().unwrap(), "--agents", "real", "--token-file", token.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The controller says where it listens.
    let mut log = BufReader::new(run.stderr.take().unwrap()).lines();
    let addr = log
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split("listening for agents on ").nth(1).map(str::to_owned))
        .expect("the controller's address on stderr");
    let logged = std::thread::spawn(move || log.map_while(Result::ok).collect::<Vec<_>>());
    let agents: Vec<_> = (0..3)
        .map(|i| {
            let root = agents.join(format!("agent-{i}"));
            Command::new(exe)
                .args(["agent", "--controller", &addr, "--token-file", token.to_str().unwrap()])
                .args(["--root", root.to_str().unwrap(), "--timeout", "3s", "--ping-interval", "1s"])
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // Mid-way through the first wave of tasks, the first agent dies.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut victim = agents.into_iter().next().unwrap();
    victim.kill().unwrap();
    victim.wait().unwrap();
    let status = run.wait().unwrap();
    let logged = logged.join().unwrap().join("\n");
    assert!(status.success(), "{logged}");
    assert!(logged.contains("left"), "the controller logs the departure:\n{logged}");
    let rows = task_rows(&out);
    assert_eq!(rows.len(), 12);
    assert!(
        rows.iter().all(|(n, _, _, outcome, _)| outcome == if *n == 7 { "failed" } else { "succeeded" }),
        "{rows:?}"
    );
    assert!(rows.iter().any(|(_, _, attempts, ..)| *attempts >= 2), "a task was requeued: {rows:?}");
}

/// A pool of three nodes and two agents: the third node waits, and the
/// run says so (with how to start another agent) instead of staying silent.
#[test]
fn a_node_that_waits_for_an_agent_is_reported() {
    let dir = scratch_dir("real-agents-waiting");
    let (scenario, token) = (dir.join("three.toml"), dir.join("token"));
    std::fs::write(
        &scenario,
        "duration = \"1m\"\n[pool]\nvm = { cores = 1, dedicated_price = 1 }\ntarget_dedicated = 3\n\
         [[jobs]]\ncommand_line = \"sleep 12\"\ntasks = [{ duration = \"1s\" }]\n",
    )
    .unwrap();
    std::fs::write(&token, "real-agents-shared-secret\n").unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let run =
        cli(&["run", &path(&scenario), "--agents", "real", "--spawn-local", "2", "--token-file", &path(&token)], None);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{err}");
    let waits: Vec<&str> = err.lines().filter(|l| l.contains("for an agent")).collect();
    assert_eq!(waits.len(), 1, "{err}");
    assert!(waits[0].contains("WARN  node-2 has waited 10s for an agent: every agent that joined has a node"), "{err}");
}
