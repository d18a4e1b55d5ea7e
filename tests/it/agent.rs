//! Real agents on loopback: a `Controller` in the test, agents as processes
//! of the built binary, and raw WebSocket clients for the faults. Waits are
//! generous (the machine may be loaded); nothing depends on timing except
//! that events arrive before [`WAIT`].

mod handshake;
mod tls;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use autoscale_sim::agent::token as agent_token;
use autoscale_sim::agent::{
    AgentId, Controller, ControllerEvent, ControllerOptions, NodeIdentity, Role, TaskKey, TaskKind, TaskSpec, Token,
    spawn_local_with,
};
use tungstenite::{Message, WebSocket};

use crate::support::{cli, scratch_dir};

const TOKEN: &str = "it-shared-secret";
/// The longest any expected event may take.
const WAIT: Duration = Duration::from_secs(20);

/// A controller with quick heartbeats, a scratch folder and the agents spawned for it (killed on drop).
struct Fixture {
    dir: PathBuf,
    token_file: PathBuf,
    controller: Controller,
    agents: Vec<Child>,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        Fixture::with_timeout(name, Duration::from_secs(10))
    }

    fn with_timeout(name: &str, timeout: Duration) -> Fixture {
        Fixture::with_options(name, quick(timeout))
    }

    fn with_options(name: &str, options: ControllerOptions) -> Fixture {
        capture_logs();
        let dir = scratch_dir(&format!("agent-{name}"));
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        let controller =
            Controller::bind_with("127.0.0.1:0".parse().unwrap(), Token::new(TOKEN).unwrap(), options).unwrap();
        Fixture { dir, token_file, controller, agents: Vec::new() }
    }

    /// Replaces the controller by a new one on the same port, as if it had restarted.
    fn restart_controller(&mut self) {
        let addr = self.addr();
        let stand_in = bind("127.0.0.1:0".parse().unwrap(), Duration::from_secs(10)).unwrap();
        drop(std::mem::replace(&mut self.controller, stand_in));
        let deadline = Instant::now() + WAIT;
        self.controller = loop {
            match bind(addr, Duration::from_secs(10)) {
                Ok(controller) => break controller,
                Err(e) => assert!(Instant::now() < deadline, "cannot bind {addr} again: {e}"),
            }
            std::thread::sleep(Duration::from_millis(50));
        };
    }

    fn addr(&self) -> SocketAddr {
        self.controller.local_addr()
    }

    /// Spawns `n` agents under `DIR/group`, reporting usage every second.
    fn spawn(&mut self, group: &str, n: u32, slots: u32) -> PathBuf {
        self.spawn_with(group, n, slots, &[])
    }

    /// [`Fixture::spawn`] with more `agent` options.
    fn spawn_with(&mut self, group: &str, n: u32, slots: u32, extra: &[&str]) -> PathBuf {
        let root = self.dir.join(group);
        let mut args: Vec<OsString> = vec!["--usage-interval".into(), "1s".into()];
        args.extend(extra.iter().map(OsString::from));
        let exe = Path::new(env!("CARGO_BIN_EXE_autoscale-sim"));
        self.agents.extend(spawn_local_with(exe, n, self.addr(), &self.token_file, &root, slots, &args).unwrap());
        root
    }

    /// Spawns one agent and waits until it has joined.
    fn join_one(&mut self, group: &str, slots: u32) -> (AgentId, PathBuf) {
        let root = self.spawn(group, 1, slots).join("agent-0");
        let agent = self.wait_for("a join", |e| match e {
            ControllerEvent::Joined { agent, .. } => Some(agent),
            _ => None,
        });
        (agent, root)
    }

    /// Waits for the first event `pick` accepts; panics with what came instead.
    fn wait_for<T>(&self, what: &str, mut pick: impl FnMut(ControllerEvent) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        while let Some(event) = self.controller.next_event(deadline) {
            if let Some(found) = pick(event.clone()) {
                return found;
            }
            seen.push(event);
        }
        panic!("no {what} within {WAIT:?}; events: {seen:#?}\nagent logs:\n{}", self.agent_logs())
    }

    /// Runs one task and waits for its exit code (or -1 without a start).
    fn run(&self, agent: AgentId, kind: TaskKind, key: TaskKey, command_line: &str) -> i32 {
        let spec = TaskSpec { key: key.clone(), kind, command_line: command_line.to_owned(), env: Vec::new() };
        self.controller.run_task(agent, spec).unwrap();
        self.wait_for("exit", |e| match e {
            ControllerEvent::Exited { key: k, exit_code, .. } if k == key => Some(exit_code),
            _ => None,
        })
    }

    fn agent_logs(&self) -> String {
        let mut logs = String::new();
        for entry in walk(&self.dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "log")) {
            logs += &format!("--- {}\n{}", entry.display(), std::fs::read_to_string(&entry).unwrap_or_default());
        }
        logs
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for agent in &mut self.agents {
            let _ = agent.kill();
            let _ = agent.wait();
        }
    }
}

/// Quick pings, and `timeout` of silence before an agent is dropped.
fn quick(timeout: Duration) -> ControllerOptions {
    ControllerOptions {
        ping_interval: Duration::from_millis(200),
        timeout,
        hello_timeout: Duration::from_secs(5),
        ..ControllerOptions::default()
    }
}

/// A controller with quick pings.
fn bind(addr: SocketAddr, timeout: Duration) -> std::io::Result<Controller> {
    Controller::bind_with(addr, Token::new(TOKEN).unwrap(), quick(timeout))
}

/// The process id a task wrote to `file`, once it is there.
fn read_pid(file: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(pid) = std::fs::read_to_string(file)
            && !pid.trim().is_empty()
        {
            return pid.trim().to_owned();
        }
        assert!(Instant::now() < deadline, "no process id in {}", file.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until process `pid` has ended (gone, or a zombie nobody reaps); Linux only.
fn assert_ends(pid: &str) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let deadline = Instant::now() + WAIT;
    while proc.exists() && !std::fs::read_to_string(proc.join("stat")).unwrap_or_default().contains(") Z") {
        assert!(Instant::now() < deadline, "process {pid} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// A new run of task `job`/`task`: numbered like the controller numbers
/// runs, never twice.
fn key(job: &str, task: &str) -> TaskKey {
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    TaskKey {
        job_id: job.to_owned(),
        task_id: task.to_owned(),
        run: RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    }
}

fn identity(node: &str) -> NodeIdentity {
    NodeIdentity { account: "acct".to_owned(), pool_id: "pool".to_owned(), node_id: node.to_owned() }
}

/// Waits (politely) for a process to exit by itself.
fn exit_status(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the agent did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every `log` record of this test binary, for "rejected and logged".
static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LOGS.lock().unwrap().push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    });
}

/// Waits until a log record contains `text`.
fn assert_logged(text: &str) {
    let deadline = Instant::now() + WAIT;
    while !LOGS.lock().unwrap().iter().any(|line| line.contains(text)) {
        assert!(Instant::now() < deadline, "nothing logged with {text:?}: {:#?}", LOGS.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A WebSocket client speaking raw frames, for the faults an agent never commits.
fn raw_client(addr: SocketAddr) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    tungstenite::client::client(format!("ws://{addr}/agent").as_str(), stream).unwrap().0
}

fn hello(protocol: u32, nonce: &str) -> Message {
    let hello =
        serde_json::json!({"type": "hello", "protocol": protocol, "nonce": nonce, "hostname": "raw", "slots": 1});
    Message::text(hello.to_string())
}

/// A raw client through the whole handshake with `token`; returns the
/// connection and the controller's answer to its proof (`welcome` or `reject`).
fn raw_handshake(addr: SocketAddr, token: &str) -> (WebSocket<TcpStream>, serde_json::Value) {
    let mut ws = raw_client(addr);
    let nonce = agent_token::nonce();
    ws.send(hello(autoscale_sim::agent::PROTOCOL_VERSION, &nonce)).unwrap();
    let challenge = read_json(&mut ws);
    assert_eq!(challenge["type"], "challenge", "{challenge}");
    let theirs = challenge["nonce"].as_str().unwrap();
    // The controller proved it knows the real token.
    let expected = Token::new(TOKEN).unwrap().proof(Role::Controller, &nonce, theirs).unwrap();
    assert_eq!(challenge["proof"], expected.as_str());
    let proof = Token::new(token).unwrap().proof(Role::Agent, &nonce, theirs).unwrap();
    ws.send(Message::text(serde_json::json!({"type": "proof", "proof": proof}).to_string())).unwrap();
    let answer = read_json(&mut ws);
    (ws, answer)
}

/// A raw client joined as an agent.
fn raw_agent(addr: SocketAddr) -> WebSocket<TcpStream> {
    let (ws, answer) = raw_handshake(addr, TOKEN);
    assert_eq!(answer["type"], "welcome", "{answer}");
    ws
}

/// The next text message, as JSON.
fn read_json(ws: &mut WebSocket<TcpStream>) -> serde_json::Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// Reads until the server closes the connection; panics if it stays open.
fn assert_closed(ws: &mut WebSocket<TcpStream>) {
    loop {
        match ws.read() {
            Ok(Message::Close(_)) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

/// A good agent still joins and runs a task: the controller survived.
fn assert_still_serving(fixture: &mut Fixture, group: &str) {
    let (agent, _) = fixture.join_one(group, 1);
    fixture.controller.assign(agent, identity(group)).unwrap();
    assert_eq!(fixture.run(agent, TaskKind::Task, key("after", "t"), "true"), 0);
}

#[test]
fn three_agents_run_a_fifty_task_job_with_the_service_environment() {
    let mut fixture = Fixture::new("loopback");
    let root = fixture.spawn("agents", 3, 2);
    let ctl = &fixture.controller;

    let mut free = HashMap::new();
    let mut nodes = HashMap::new();
    while free.len() < 3 {
        let (agent, slots) = fixture.wait_for("3 joins", |e| match e {
            ControllerEvent::Joined { agent, slots, .. } => Some((agent, slots)),
            _ => None,
        });
        assert_eq!(slots, 2);
        let node = format!("node-{}", free.len());
        ctl.assign(agent, identity(&node)).unwrap();
        free.insert(agent, slots);
        nodes.insert(agent, node);
    }
    // The start task and the job preparation run on every node before the tasks.
    for &agent in free.keys() {
        let start = "sh -c 'echo started > \"$AZ_BATCH_NODE_SHARED_DIR/started.txt\"'";
        assert_eq!(fixture.run(agent, TaskKind::StartTask, key("", "start"), start), 0);
        let prep = "sh -c 'echo prepared > prepared.txt'";
        assert_eq!(fixture.run(agent, TaskKind::JobPreparation, key("job-1", "prep"), prep), 0);
    }

    let mut queue: Vec<u32> = (0..50).rev().collect();
    let mut started = HashSet::new();
    let mut exited = BTreeMap::new();
    let mut usage = HashSet::new();
    while exited.len() < 50 {
        for (&agent, slots) in free.iter_mut() {
            while *slots > 0
                && let Some(i) = queue.pop()
            {
                let exit = if i == 7 { "; exit 3" } else { "" };
                let command_line = format!(
                    "sh -c 'env | grep -e ^AZ_BATCH_ -e ^TASK_NUMBER=; echo hi > out.txt; cat \"$AZ_BATCH_JOB_PREP_WORKING_DIR/prepared.txt\"{exit}'"
                );
                let env = vec![("TASK_NUMBER".to_owned(), i.to_string())];
                let spec = TaskSpec { key: key("job-1", &format!("t{i}")), kind: TaskKind::Task, command_line, env };
                ctl.run_task(agent, spec).unwrap();
                *slots -= 1;
            }
        }
        fixture.wait_for("task event", |e| match e {
            ControllerEvent::Started { key, .. } => {
                assert!(started.insert(key), "started twice");
                Some(())
            }
            ControllerEvent::Exited { agent, key, exit_code } => {
                *free.get_mut(&agent).unwrap() += 1;
                assert!(started.contains(&key), "{key:?} exited before it started");
                assert!(exited.insert(key.task_id, (agent, exit_code)).is_none(), "exited twice");
                Some(())
            }
            ControllerEvent::Usage { agent, .. } => {
                usage.insert(agent);
                Some(())
            }
            other => panic!("unexpected {other:?}"),
        });
    }
    while usage.len() < 3 {
        fixture.wait_for("usage from every agent", |e| match e {
            ControllerEvent::Usage { agent, usage: u } => {
                assert!((0.0..=100.0).contains(&u.cpu_percent) && u.memory_bytes > 0.0, "{u:?}");
                Some(usage.insert(agent))
            }
            _ => None,
        });
    }

    for (task, &(agent, exit_code)) in &exited {
        assert_eq!(exit_code, if task == "t7" { 3 } else { 0 }, "{task}");
        // Exactly one agent has the task's folder: the one that reported it.
        let dirs: Vec<PathBuf> = (0..3)
            .map(|i| root.join(format!("agent-{i}")).canonicalize().unwrap())
            .filter(|r| r.join("workitems/job-1/tasks").join(task).is_dir())
            .collect();
        assert_eq!(dirs.len(), 1, "{task} ran in {dirs:?}");
        let node_root = &dirs[0];
        let task_dir = node_root.join("workitems/job-1/tasks").join(task);
        let stdout = std::fs::read_to_string(task_dir.join("stdout.txt")).unwrap();
        let vars: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
        let prep = node_root.join("workitems/job-1/jobpreparation");
        let path = |p: &Path| p.display().to_string();
        let expected = BTreeMap::from([
            ("AZ_BATCH_ACCOUNT_NAME", "acct".to_owned()),
            ("AZ_BATCH_POOL_ID", "pool".to_owned()),
            ("AZ_BATCH_NODE_ID", nodes[&agent].clone()),
            ("AZ_BATCH_JOB_ID", "job-1".to_owned()),
            ("AZ_BATCH_TASK_ID", task.clone()),
            ("AZ_BATCH_NODE_ROOT_DIR", path(node_root)),
            ("AZ_BATCH_NODE_SHARED_DIR", path(&node_root.join("shared"))),
            ("AZ_BATCH_NODE_STARTUP_DIR", path(&node_root.join("startup"))),
            ("AZ_BATCH_TASK_DIR", path(&task_dir)),
            ("AZ_BATCH_TASK_WORKING_DIR", path(&task_dir.join("wd"))),
            ("AZ_BATCH_JOB_PREP_DIR", path(&prep)),
            ("AZ_BATCH_JOB_PREP_WORKING_DIR", path(&prep.join("wd"))),
            ("TASK_NUMBER", task[1..].to_owned()),
        ]);
        let expected: BTreeMap<&str, &str> = expected.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(vars, expected, "{task}: {stdout}");
        assert!(stdout.ends_with("prepared\n"), "{task}: {stdout}");
        assert_eq!(std::fs::read_to_string(task_dir.join("wd/out.txt")).unwrap(), "hi\n", "{task}");
        assert!(task_dir.join("stderr.txt").is_file());
        assert!(node_root.join("shared/started.txt").is_file() && node_root.join("startup/stdout.txt").is_file());
    }

    for &agent in free.keys() {
        ctl.release(agent).unwrap();
    }
    let mut left = HashSet::new();
    while left.len() < 3 {
        fixture.wait_for("3 releases", |e| match e {
            ControllerEvent::Left { agent, reason } => {
                assert_eq!(reason, "released");
                Some(left.insert(agent))
            }
            _ => None,
        });
    }
    for agent in &mut fixture.agents {
        assert!(exit_status(agent).success());
    }
}

#[test]
fn exit_codes_refusals_and_kills() {
    let mut fixture = Fixture::new("exits");
    let (agent, root) = fixture.join_one("agents", 1);
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "early"), "true"), -1, "no identity yet");
    fixture.controller.assign(agent, identity("n")).unwrap();
    let task_dir = |task: &str| root.join("workitems/j/tasks").join(task);

    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "literal"), "echo $HOME '*' \"a  b\""), 0);
    assert_eq!(std::fs::read_to_string(task_dir("literal").join("stdout.txt")).unwrap(), "$HOME * a  b\n");
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "three"), "sh -c 'exit 3'"), 3);
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "signal"), "sh -c 'kill -9 $$'"), 128 + 9);
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "missing"), "no-such-program-x1 arg"), -1);
    let stderr = std::fs::read_to_string(task_dir("missing").join("stderr.txt")).unwrap();
    assert!(stderr.contains("cannot start \"no-such-program-x1\""), "{stderr}");
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "quote"), "echo 'unclosed"), -1);
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "../escape"), "true"), -1);
    assert_eq!(fixture.run(agent, TaskKind::Task, key("..", "t"), "true"), -1);
    assert!(!root.join("escape").exists() && !root.join("workitems/tasks").exists());

    // A task holding the only slot: another is refused, then the first is killed with its children.
    let sleeper = key("j", "sleeper");
    let spec = TaskSpec {
        key: sleeper.clone(),
        kind: TaskKind::Task,
        command_line: "sh -c 'sleep 60 & echo $! > child.txt; wait'".to_owned(),
        env: Vec::new(),
    };
    fixture.controller.run_task(agent, spec).unwrap();
    fixture.wait_for("the sleeper's start", |e| {
        matches!(e, ControllerEvent::Started { key, .. } if key == sleeper).then_some(())
    });
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "extra"), "true"), -1, "only one slot");
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "sleeper"), "true"), -1, "a second run of a running task");
    let child_pid = read_pid(&task_dir("sleeper").join("wd/child.txt"));
    fixture.controller.kill_task(agent, sleeper.clone()).unwrap();
    // The slot is free again, and the killed task is never reported.
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "after-kill"), "true"), 0);
    assert_ends(&child_pid);
    // A new run of the killed task is reported under its own key.
    assert_eq!(fixture.run(agent, TaskKind::Task, key("j", "sleeper"), "sh -c 'exit 4'"), 4);
    // Job preparation takes no slot.
    fixture
        .controller
        .run_task(
            agent,
            TaskSpec {
                key: key("j2", "busy"),
                kind: TaskKind::Task,
                command_line: "sleep 60".to_owned(),
                env: Vec::new(),
            },
        )
        .unwrap();
    assert_eq!(fixture.run(agent, TaskKind::JobPreparation, key("j2", "prep"), "true"), 0);
    // Released, the agent kills what still runs and exits; the sleeper was never reported.
    fixture.controller.release(agent).unwrap();
    let reason = fixture.wait_for("the release", |e| match e {
        ControllerEvent::Exited { key, .. } if key == sleeper => panic!("the killed task was reported"),
        ControllerEvent::Left { reason, .. } => Some(reason),
        _ => None,
    });
    assert_eq!(reason, "released");
    assert!(exit_status(&mut fixture.agents[0]).success());
}

#[test]
fn a_killed_agent_leaves_takes_its_tasks_along_and_the_others_keep_running() {
    let mut fixture = Fixture::new("killed");
    let (doomed, root) = fixture.join_one("a", 1);
    let (survivor, _) = fixture.join_one("b", 1);
    fixture.controller.assign(doomed, identity("doomed")).unwrap();
    fixture.controller.assign(survivor, identity("survivor")).unwrap();
    // The task's shell and a process it starts in the background.
    let spec = TaskSpec {
        key: key("j", "long"),
        kind: TaskKind::Task,
        command_line: "sh -c 'sleep 60 & echo $! > child.txt; echo $$ > pid.txt; wait'".to_owned(),
        env: Vec::new(),
    };
    fixture.controller.run_task(doomed, spec).unwrap();
    let wd = root.join("workitems/j/tasks/long/wd");
    let (task, child) = (read_pid(&wd.join("pid.txt")), read_pid(&wd.join("child.txt")));

    // SIGKILL: the agent cannot kill anything itself; its keeper does.
    fixture.agents[0].kill().unwrap();
    assert_ends(&task);
    assert_ends(&child);
    let reason = fixture.wait_for("the doomed agent's leave", |e| match e {
        ControllerEvent::Left { agent, reason } if agent == doomed => Some(reason),
        ControllerEvent::Left { agent, .. } => panic!("{agent:?} left too"),
        _ => None,
    });
    assert!(reason.contains("closed"), "{reason}");
    assert!(
        fixture
            .controller
            .run_task(
                doomed,
                TaskSpec { key: key("j", "x"), kind: TaskKind::Task, command_line: "true".to_owned(), env: Vec::new() }
            )
            .is_err()
    );
    assert_eq!(fixture.run(survivor, TaskKind::Task, key("j", "short"), "true"), 0);
}

#[test]
fn an_agent_that_loses_its_controller_kills_its_tasks_and_joins_again() {
    let mut fixture = Fixture::new("reconnect");
    let (first, root) = fixture.join_one("agents", 1);
    fixture.controller.assign(first, identity("n")).unwrap();
    let spec = TaskSpec {
        key: key("j", "sleeper"),
        kind: TaskKind::Task,
        command_line: "sh -c 'echo $$ > pid.txt; exec sleep 60'".to_owned(),
        env: Vec::new(),
    };
    fixture.controller.run_task(first, spec).unwrap();
    let pid = read_pid(&root.join("workitems/j/tasks/sleeper/wd/pid.txt"));

    fixture.restart_controller();
    let second = fixture.wait_for("the rejoin", |e| match e {
        ControllerEvent::Joined { agent, .. } => Some(agent),
        _ => None,
    });
    assert_ends(&pid);
    fixture.controller.assign(second, identity("n")).unwrap();
    assert_eq!(fixture.run(second, TaskKind::Task, key("j", "next"), "true"), 0);
}

#[cfg(unix)]
#[test]
fn sigterm_stops_an_agent_with_its_tasks() {
    use nix::sys::signal::{Signal, kill};
    let mut fixture = Fixture::new("sigterm");
    let (agent, root) = fixture.join_one("agents", 1);
    fixture.controller.assign(agent, identity("n")).unwrap();
    let spec = TaskSpec {
        key: key("j", "sleeper"),
        kind: TaskKind::Task,
        command_line: "sh -c 'echo $$ > pid.txt; exec sleep 60'".to_owned(),
        env: Vec::new(),
    };
    fixture.controller.run_task(agent, spec).unwrap();
    let pid = read_pid(&root.join("workitems/j/tasks/sleeper/wd/pid.txt"));

    let agent_pid = nix::unistd::Pid::from_raw(i32::try_from(fixture.agents[0].id()).unwrap());
    kill(agent_pid, Signal::SIGTERM).unwrap();
    let reason = fixture.wait_for("the leave", |e| match e {
        ControllerEvent::Left { reason, .. } => Some(reason),
        _ => None,
    });
    assert_eq!(reason, "connection closed: stopped by SIGTERM");
    assert!(exit_status(&mut fixture.agents[0]).success());
    assert_ends(&pid);
}

#[test]
fn a_wrong_token_is_rejected_logged_and_not_retried() {
    let mut fixture = Fixture::new("token");
    let wrong = fixture.dir.join("wrong-token");
    std::fs::write(&wrong, "not-the-shared-secret").unwrap();
    let addr = fixture.addr().to_string();
    let wrong = wrong.display().to_string();
    let root = fixture.dir.join("root").display().to_string();
    let output = cli(&["agent", "--controller", &addr, "--token-file", &wrong, "--root", &root], None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The controller proves itself first, so the agent is the one to find out.
    assert!(stderr.contains("is not trusted: it did not prove it knows the token"), "{stderr}");
    assert!(stderr.contains("a controller with another token file"), "{stderr}");
    assert_logged("rejected an agent at 127.0.0.1");
    assert_logged("no valid proof");
    assert_still_serving(&mut fixture, "good");
}

#[test]
fn a_protocol_version_mismatch_is_rejected_with_a_clear_message() {
    let mut fixture = Fixture::new("version");
    let mut ws = raw_client(fixture.addr());
    ws.send(hello(999, &agent_token::nonce())).unwrap();
    let reply = read_json(&mut ws);
    assert_eq!(reply["type"], "reject", "{reply}");
    let reason = reply["reason"].as_str().unwrap();
    assert!(reason.contains("protocol version mismatch: the agent speaks version 999"), "{reason}");
    assert_closed(&mut ws);
    assert_logged("version 999");
    assert_still_serving(&mut fixture, "good");
}

#[test]
fn an_agent_refuses_a_controller_of_another_version() {
    let dir = scratch_dir("agent-old-controller");
    let token = dir.join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let controller = std::thread::spawn(move || {
        let mut ws = tungstenite::accept(listener.accept().unwrap().0).unwrap();
        assert_eq!(read_json(&mut ws)["type"], "hello");
        ws.send(Message::text(r#"{"type":"welcome","protocol":999,"agent":1}"#)).unwrap();
        assert_closed(&mut ws);
    });
    let root = dir.join("root").display().to_string();
    let args = ["agent", "--controller", &addr, "--token-file", &token.display().to_string(), "--root", &root];
    let output = cli(&args, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("protocol version mismatch: the controller speaks version 999"), "{stderr}");
    controller.join().unwrap();
}

#[test]
fn malformed_and_oversized_messages_close_only_their_connection() {
    let mut fixture = Fixture::new("frames");
    let (good, _) = fixture.join_one("first", 1);
    fixture.controller.assign(good, identity("good")).unwrap();

    let bad_messages = [
        (Message::text("this is not json"), "malformed message"),
        (Message::text(r#"{"type":"exited","key":{"job_id":"j"}}"#), "malformed message"),
        (Message::binary(vec![1, 2, 3]), "malformed message"),
        (Message::text("x".repeat(2 << 20)), "message too large"),
    ];
    for (message, expected) in bad_messages {
        let mut ws = raw_agent(fixture.addr());
        let raw = fixture.wait_for("the raw client's join", |e| match e {
            ControllerEvent::Joined { agent, name, .. } if name == "raw" => Some(agent),
            _ => None,
        });
        // The oversized write may fail half-way once the controller closes.
        let _ = ws.send(message);
        let reason = fixture.wait_for("the raw client's leave", |e| match e {
            ControllerEvent::Left { agent, reason } if agent == raw => Some(reason),
            ControllerEvent::Left { agent, reason } => panic!("{agent:?} left too: {reason}"),
            _ => None,
        });
        assert!(reason.starts_with(expected), "{reason}");
        assert_closed(&mut ws);
    }

    // Not even WebSocket: dropped during the upgrade, logged.
    use std::io::Write as _;
    let mut garbage = TcpStream::connect(fixture.addr()).unwrap();
    garbage.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    assert_logged("WebSocket handshake failed");

    assert_eq!(fixture.run(good, TaskKind::Task, key("j", "t"), "true"), 0);
    assert_still_serving(&mut fixture, "second");
}

#[test]
fn a_silent_agent_times_out() {
    let fixture = Fixture::with_timeout("silent", Duration::from_secs(1));
    let _ws = raw_agent(fixture.addr());
    // From now on the client reads nothing, so it answers no ping.
    let reason = fixture.wait_for("the timeout", |e| match e {
        ControllerEvent::Left { reason, .. } => Some(reason),
        _ => None,
    });
    assert!(reason.starts_with("heartbeat timeout: nothing received for 1s"), "{reason}");
}

#[test]
fn the_agent_command_reports_bad_input_clearly() {
    let dir = scratch_dir("agent-cli");
    let missing = dir.join("missing-token").display().to_string();
    let output = cli(&["agent", "--controller", "127.0.0.1:9", "--token-file", &missing], None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read token file") && stderr.contains("missing-token"), "{stderr}");

    let empty = dir.join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let output = cli(&["agent", "--controller", "127.0.0.1:9", "--token-file", &empty.display().to_string()], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is empty"));

    for bad in
        [["--controller", "no-port"], ["--slots", "0"], ["--usage-interval", "soon"], ["--connect-attempts", "0"]]
    {
        let mut args = vec!["agent", "--token-file", "t"];
        if bad[0] != "--controller" {
            args.extend(["--controller", "127.0.0.1:9"]);
        }
        args.extend(bad);
        assert_eq!(cli(&args, None).status.code(), Some(64), "{bad:?}");
    }

    // Nothing listens on a port just freed: every attempt is reported, then the agent gives up.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let token = dir.join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let addr = format!("127.0.0.1:{port}");
    let root = dir.join("root").display().to_string();
    let args = ["agent", "--controller", &addr, "--token-file", &token.display().to_string(), "--root", &root];
    let output = cli(&[&args[..], &["--connect-attempts", "2"][..]].concat(), None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("(attempt 1 of 2)"), "{stderr}");
    assert!(stderr.contains(&format!("error: cannot reach the controller at {addr} after 2 attempts")), "{stderr}");

    let help = cli(&["agent", "--help"], None);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("AZ_BATCH_") && help.contains("--token-file") && help.contains("Examples:"), "{help}");
}
