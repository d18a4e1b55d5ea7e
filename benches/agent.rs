//! Dispatch latency of a real agent on loopback: from `Controller::run_task`
//! to the `Started` event, with one agent (spawned from the built binary)
//! running `true`. Run with `cargo bench --bench agent`; divan's median is
//! the figure (target: under 5 ms).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use autoscale_sim::agent::{
    AgentId, Controller, ControllerEvent, NodeIdentity, TaskKey, TaskKind, TaskSpec, Token, spawn_local_with,
};

/// The controller and its one agent, shared by every iteration.
struct Loopback {
    controller: Controller,
    agent: AgentId,
}

static LOOPBACK: OnceLock<Loopback> = OnceLock::new();
static NEXT_TASK: AtomicU64 = AtomicU64::new(0);

fn main() {
    let dir = std::env::temp_dir().join(format!("autoscale-bench-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "bench-shared-secret").expect("token file");
    let controller =
        Controller::bind("127.0.0.1:0".parse().expect("address"), Token::new("bench-shared-secret").expect("token"))
            .expect("controller binds");
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_autoscale-sim"));
    // Enough slots that a `true` still being reaped never refuses the next one.
    let mut children =
        spawn_local_with(exe, 1, controller.local_addr(), &token_file, &dir, 1024, &[]).expect("agent spawns");
    let agent = match controller.next_event(Instant::now() + Duration::from_secs(30)) {
        Some(ControllerEvent::Joined { agent, .. }) => agent,
        other => panic!("the agent did not join: {other:?}"),
    };
    let node = NodeIdentity { account: "bench".into(), pool_id: "pool".into(), node_id: "node-0".into() };
    controller.assign(agent, node).expect("agent alive");
    let loopback = LOOPBACK.get_or_init(|| Loopback { controller, agent });

    divan::main();

    let _ = loopback.controller.release(agent);
    for child in &mut children {
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One task: `run_task` until its `Started` (exits of earlier tasks are skipped).
#[divan::bench]
fn run_task_to_started() {
    let Loopback { controller, agent } = LOOPBACK.get().expect("set up in main");
    let task_id = NEXT_TASK.fetch_add(1, Ordering::Relaxed).to_string();
    let key = TaskKey { job_id: "bench".into(), task_id, run: 1 };
    let spec = TaskSpec { key: key.clone(), kind: TaskKind::Task, command_line: "true".into(), env: Vec::new() };
    controller.run_task(*agent, spec).expect("agent alive");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match controller.next_event(deadline) {
            Some(ControllerEvent::Started { key: started, .. }) if started == key => return,
            Some(ControllerEvent::Exited { exit_code, .. }) => assert_eq!(exit_code, 0, "a task failed"),
            Some(_) => {}
            None => panic!("no start within 10 s"),
        }
    }
}
