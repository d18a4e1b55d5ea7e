//! A scenario run on real agents: the engine on the wall clock, its
//! requests carried out by the agents that join a [`Controller`].
//!
//! The engine asks for machines, start tasks, job preparation and release
//! runs and task runs ([`Request`]); this driver gives each node a joined
//! agent, sends it the work with the command lines of the scenario, and
//! hands back what the agents report — exits, usage, departures — at the
//! wall-clock instant they arrive. Simulated time is wall time since the
//! start (times [`RealAgents::clock_speed`], which only tests raise: the
//! timeline's 30-s samples then come several to a wall-clock second). Agents that free up (their node left the pool) wait, connected,
//! for the next node. The run stops at the scenario's end, or as soon as
//! the workload is done.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use super::controller::{AgentId, Controller, ControllerEvent, ControllerOptions};
use super::error::AgentError;
use super::local::spawn_local_with;
use super::protocol::{NodeIdentity, TaskKey, TaskKind, TaskSpec};
use super::tls::ServerTls;
use super::token::Token;
use crate::scenario::Scenario;
use crate::sim::{NodeRef, Output, Progress, Request, Simulation, TaskRole, Work};
use crate::time::{SimDuration, SimTime};

/// How long a node waits for an agent before the run says so: agents
/// spawned on this machine join within a second or two.
const WAIT_WARNING: Duration = Duration::from_secs(10);

/// The account name agents give their tasks (`AZ_BATCH_ACCOUNT_NAME`).
const ACCOUNT: &str = "autoscale-sim";

/// How a run on real agents is set up.
#[derive(Debug, Clone)]
pub struct RealAgents {
    /// Where the controller listens for agents.
    pub listen: SocketAddr,
    /// The shared secret agents must present.
    pub token_file: PathBuf,
    /// Agents to start on this machine (0: agents join from elsewhere).
    pub spawn_local: u32,
    /// Where the spawned agents keep their node folders and logs.
    pub root: PathBuf,
    /// How often the spawned agents report their machine's usage.
    pub usage_interval: Duration,
    /// TLS with this certificate; plain TCP without.
    pub tls: Option<ServerTls>,
    /// Simulated seconds per wall-clock second: 1 for a real run. Tests
    /// raise it to see a timeline of several 30-s samples within seconds;
    /// the agents still run their commands in real time.
    pub clock_speed: NonZeroU32,
}

/// Why a run on real agents could not be done.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// Real agents run command lines; the scenario lacks one.
    #[error("{key}: real agents need a command line to run; add `command_line = \"program args\"`")]
    MissingCommandLine {
        /// The scenario key where it belongs.
        key: String,
    },
    /// The token file could not be read.
    #[error(transparent)]
    Token(#[from] AgentError),
    /// The controller could not listen.
    #[error("cannot listen for agents on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// `--spawn-local` agents could not be started.
    #[error("cannot start local agents in {}: {source}", root.display())]
    Spawn {
        /// Their folder.
        root: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The command lines of a scenario, checked up front so that a run never
/// stops halfway for want of one.
#[derive(Debug, Clone)]
struct Commands {
    pool_id: String,
    start_task: Option<String>,
    jobs: Vec<JobCommands>,
}

#[derive(Debug, Clone)]
struct JobCommands {
    id: String,
    task: Option<String>,
    manager: Option<String>,
    preparation: Option<String>,
    release: Option<String>,
}

impl Commands {
    fn of(scenario: &Scenario) -> Result<Commands, DriveError> {
        let need = |present: bool, line: &Option<String>, key: String| match (present, line) {
            (true, None) => Err(DriveError::MissingCommandLine { key }),
            _ => Ok(line.clone()),
        };
        let pool = scenario.pool();
        let start_task = match &pool.start_task {
            Some(st) => need(true, &st.command_line, "pool.start_task.command_line".to_owned())?,
            None => None,
        };
        let mut jobs = Vec::with_capacity(scenario.jobs.len());
        for (i, j) in scenario.jobs.iter().enumerate() {
            // A job the active-job quota refuses never runs anything.
            if scenario.refused_at_start(i) {
                jobs.push(JobCommands {
                    id: j.id.clone(),
                    task: None,
                    manager: None,
                    preparation: None,
                    release: None,
                });
                continue;
            }
            let key = |k: &str| format!("jobs[{i}].{k}");
            let special = |t: &Option<crate::scenario::JobTask>, k: &str| match t {
                Some(t) => need(true, &t.command_line, key(&format!("{k}.command_line"))),
                None => Ok(None),
            };
            jobs.push(JobCommands {
                id: j.id.clone(),
                task: need(!j.sources.is_empty(), &j.command_line, key("command_line"))?,
                manager: special(&j.manager, "manager")?,
                preparation: special(&j.preparation, "preparation")?,
                release: special(&j.release, "release")?,
            });
        }
        Ok(Commands { pool_id: pool.id.clone(), start_task, jobs })
    }
}

/// Runs `scenario` on real agents; `progress` is called about once a second.
pub fn run(
    scenario: Scenario,
    seed: Option<u64>,
    options: &RealAgents,
    progress: &mut dyn FnMut(Progress),
) -> Result<Output, DriveError> {
    let commands = Commands::of(&scenario)?;
    let token = Token::from_file(&options.token_file)?;
    let slots = scenario.pool().task_slots_per_node;
    let controller_options = ControllerOptions { tls: options.tls.clone(), ..ControllerOptions::default() };
    let controller = Controller::bind_with(options.listen, token, controller_options)
        .map_err(|source| DriveError::Listen { addr: options.listen, source })?;
    log::info!("listening for agents on {}", controller.local_addr());
    let interval = humantime::format_duration(options.usage_interval).to_string();
    let mut args = vec!["--usage-interval".into(), interval.into()];
    if let Some(tls) = &options.tls {
        let fingerprint = tls.fingerprint().to_string();
        log::info!("TLS on: agents connect with --tls-fingerprint {fingerprint}");
        args.extend(["--tls-fingerprint".into(), fingerprint.into()]);
    }
    let children = std::env::current_exe()
        .and_then(|exe| {
            let (addr, token, root) = (controller.local_addr(), &options.token_file, &options.root);
            spawn_local_with(&exe, options.spawn_local, addr, token, root, slots, &args)
        })
        .map_err(|source| DriveError::Spawn { root: options.root.clone(), source })?;
    let sim = Simulation::with_real_agents(scenario, seed);
    let mut driver = Driver {
        controller,
        commands,
        slots,
        speed: options.clock_speed,
        start: Instant::now(),
        idle: VecDeque::new(),
        waiting: VecDeque::new(),
        waiting_since: HashMap::new(),
        nodes: HashMap::new(),
        agents: HashMap::new(),
        names: HashMap::new(),
        runs: Runs::default(),
    };
    let output = driver.drive(sim, progress);
    driver.release_all(children);
    Ok(output)
}

/// The driver's books: which agent is which node, and what runs where.
struct Driver {
    controller: Controller,
    commands: Commands,
    slots: u32,
    speed: NonZeroU32,
    start: Instant,
    /// Joined agents with no node, oldest first.
    idle: VecDeque<AgentId>,
    /// Nodes waiting for an agent, oldest first.
    waiting: VecDeque<NodeRef>,
    /// Since when each waiting node has waited, until it is said (see
    /// [`Driver::warn_waiting`]).
    waiting_since: HashMap<u32, Instant>,
    /// The agent of each node, by node id.
    nodes: HashMap<u32, AgentId>,
    /// The node of each agent that has one.
    agents: HashMap<AgentId, NodeRef>,
    /// What each joined agent is called in the log (`agent-0` for a
    /// spawned one, else its host name).
    names: HashMap<AgentId, String>,
    runs: Runs,
}

/// The runs sent to agents and not yet exited or killed. Every run gets
/// its own number in its key, so that the `exited` of a killed run, which
/// may cross the `kill` on the wire, matches nothing — not even a new run
/// of the same task on the same agent.
#[derive(Debug, Default)]
struct Runs {
    next: u64,
    live: HashMap<(AgentId, TaskKey), Work>,
}

impl Runs {
    /// The number of the next run.
    fn number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// `key` was sent to `agent` to do `work`.
    fn sent(&mut self, agent: AgentId, key: TaskKey, work: Work) {
        self.live.insert((agent, key), work);
    }

    /// Forgets `agent`'s run of `work`, returning its key to kill.
    fn kill(&mut self, agent: AgentId, work: Work) -> Option<TaskKey> {
        let key = self.live.iter().find(|((a, _), w)| *a == agent && **w == work).map(|((_, k), _)| k.clone())?;
        self.live.remove(&(agent, key.clone()));
        Some(key)
    }

    /// The work a run that exited was doing; `None` for a run killed before.
    fn exited(&mut self, agent: AgentId, key: TaskKey) -> Option<Work> {
        self.live.remove(&(agent, key))
    }

    /// Forgets every run of `agent`, returning their keys.
    fn take_all(&mut self, agent: AgentId) -> Vec<TaskKey> {
        let mut keys = Vec::new();
        self.live.retain(|(a, key), _| {
            let mine = *a == agent;
            if mine {
                keys.push(key.clone());
            }
            !mine
        });
        keys
    }

    /// Whether work other than start tasks is running.
    fn busy(&self) -> bool {
        self.live.values().any(|w| *w != Work::StartTask)
    }
}

impl Driver {
    /// Simulated time now: wall time since the start, times the speed.
    fn now(&self) -> SimTime {
        let wall = SimDuration::from_std(self.start.elapsed()).as_millis();
        SimTime(wall.saturating_mul(u64::from(self.speed.get())))
    }

    /// The wall-clock instant of simulated time `t`.
    fn wall(&self, t: SimTime) -> Instant {
        self.start + Duration::from_millis(t.as_millis() / u64::from(self.speed.get()))
    }

    fn drive(&mut self, mut sim: Simulation, progress: &mut dyn FnMut(Progress)) -> Output {
        let end = sim.end();
        let mut last_report = Instant::now();
        loop {
            let requests = sim.take_requests();
            self.carry_out(&mut sim, requests);
            self.warn_waiting();
            // Start tasks not waited for may run for ever (a daemon); they
            // are killed with the rest when the agents are released.
            let busy = self.runs.busy();
            if sim.now() >= end || (sim.workload_done() && !busy) || sim.stopped().is_some() {
                break;
            }
            let next = sim.next_event_time().unwrap_or(end);
            let deadline = self.wall(next);
            match self.controller.next_event(deadline) {
                Some(event) => {
                    sim.advance_to(self.now());
                    self.handle(&mut sim, event);
                }
                None => sim.advance_to(self.now().max(next)),
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                progress(Progress { now: sim.now(), end, events: sim.events() });
            }
        }
        sim.stop_now();
        progress(Progress { now: sim.now(), end: sim.now(), events: sim.events() });
        sim.finish()
    }

    fn carry_out(&mut self, sim: &mut Simulation, requests: Vec<Request>) {
        for r in requests {
            match r {
                Request::Allocate(node) => match self.idle.pop_front() {
                    Some(agent) => self.assign(sim, agent, node),
                    None => {
                        self.waiting_since.insert(node.id, Instant::now());
                        self.waiting.push_back(node);
                    }
                },
                Request::Run(node, work) => {
                    let Some(&agent) = self.nodes.get(&node.id) else {
                        // Its machine is gone: the work could never end.
                        sim.machine_lost(node);
                        continue;
                    };
                    let run = self.runs.number();
                    let spec = self.spec(sim, work, run);
                    let key = spec.key.clone();
                    // A departed agent is reported by a `Left` event.
                    if self.controller.run_task(agent, spec).is_ok() {
                        self.runs.sent(agent, key, work);
                    }
                }
                Request::Kill(node, work) => {
                    let Some(&agent) = self.nodes.get(&node.id) else { continue };
                    if let Some(key) = self.runs.kill(agent, work) {
                        let _ = self.controller.kill_task(agent, key);
                    }
                }
                Request::Reset(node) => {
                    if let Some(&agent) = self.nodes.get(&node.id) {
                        self.kill_all(agent);
                    }
                }
                Request::Free(node) => {
                    self.waiting.retain(|&n| n != node);
                    if let Some(agent) = self.nodes.remove(&node.id) {
                        self.agents.remove(&agent);
                        self.kill_all(agent);
                        match self.waiting.pop_front() {
                            Some(next) => self.assign(sim, agent, next),
                            None => self.idle.push_back(agent),
                        }
                    }
                }
            }
        }
    }

    fn handle(&mut self, sim: &mut Simulation, event: ControllerEvent) {
        match event {
            ControllerEvent::Joined { agent, slots, name } => {
                if slots < self.slots {
                    log::warn!("{name} has {slots} slots, the pool's nodes {}; released", self.slots);
                    let _ = self.controller.release(agent);
                    return;
                }
                self.names.insert(agent, name);
                match self.waiting.pop_front() {
                    Some(node) => self.assign(sim, agent, node),
                    None => self.idle.push_back(agent),
                }
            }
            ControllerEvent::Started { .. } => {}
            ControllerEvent::Exited { agent, key, exit_code } => {
                let work = self.runs.exited(agent, key);
                if let (Some(work), Some(&node)) = (work, self.agents.get(&agent)) {
                    sim.work_exited(node, work, exit_code);
                }
            }
            ControllerEvent::Usage { agent, usage } => {
                if let Some(&node) = self.agents.get(&agent) {
                    sim.machine_usage(node, usage.cpu_percent, usage.memory_bytes / (1024.0 * 1024.0));
                }
            }
            ControllerEvent::Left { agent, reason } => {
                // An agent turned away for its slots was not named: its
                // leaving is no news.
                if let Some(name) = self.names.remove(&agent) {
                    log::warn!("{name} left: {reason}");
                }
                self.idle.retain(|&a| a != agent);
                self.runs.take_all(agent);
                if let Some(node) = self.agents.remove(&agent) {
                    self.nodes.remove(&node.id);
                    sim.machine_lost(node);
                }
            }
        }
    }

    /// Says, once per node, that a node has waited [`WAIT_WARNING`] for an
    /// agent: with fewer agents than nodes, one stays `creating` for the
    /// whole run, which the outputs alone do not explain.
    fn warn_waiting(&mut self) {
        let addr = self.controller.local_addr();
        self.waiting_since.retain(|node, since| {
            let late = since.elapsed() >= WAIT_WARNING;
            if late {
                log::warn!(
                    "node-{node} has waited {}s for an agent: every agent that joined has a node; start another \
                     (autoscale-sim agent --controller {addr} --token-file FILE)",
                    WAIT_WARNING.as_secs()
                );
            }
            !late
        });
    }

    /// Gives `node` to `agent`; if the agent is gone, the node waits on.
    fn assign(&mut self, sim: &mut Simulation, agent: AgentId, node: NodeRef) {
        let identity = NodeIdentity {
            account: ACCOUNT.to_owned(),
            pool_id: self.commands.pool_id.clone(),
            node_id: format!("node-{}", node.id),
        };
        if self.controller.assign(agent, identity).is_err() {
            self.waiting.push_front(node);
            return;
        }
        self.waiting_since.remove(&node.id);
        self.nodes.insert(node.id, agent);
        self.agents.insert(agent, node);
        sim.machine_ready(node);
    }

    fn kill_all(&mut self, agent: AgentId) {
        for key in self.runs.take_all(agent) {
            let _ = self.controller.kill_task(agent, key);
        }
    }

    /// The agent's name for run `run` of `work`.
    fn key(&self, sim: &Simulation, work: Work, run: u64) -> TaskKey {
        let job = |j: u32| self.commands.jobs.get(j as usize).map_or_else(String::new, |c| c.id.clone());
        let (job_id, task_id) = match work {
            Work::StartTask => (String::new(), "starttask".to_owned()),
            Work::Preparation { job: j } => (job(j), "jobpreparation".to_owned()),
            Work::Release { job: j } => (job(j), "jobrelease".to_owned()),
            Work::Task { task } => match sim.task(task) {
                Some(t) if t.role == TaskRole::JobManager => (job(t.job), "jobmanager".to_owned()),
                Some(t) => (job(t.job), format!("task-{task}")),
                None => (String::new(), format!("task-{task}")),
            },
        };
        TaskKey { job_id, task_id, run }
    }

    /// What `node`'s agent runs for run `run` of `work`.
    fn spec(&self, sim: &Simulation, work: Work, run: u64) -> TaskSpec {
        let job = |j: u32| self.commands.jobs.get(j as usize);
        let (kind, line) = match work {
            Work::StartTask => (TaskKind::StartTask, self.commands.start_task.clone()),
            Work::Preparation { job: j } => (TaskKind::JobPreparation, job(j).and_then(|c| c.preparation.clone())),
            Work::Release { job: j } => (TaskKind::JobRelease, job(j).and_then(|c| c.release.clone())),
            Work::Task { task } => {
                let t = sim.task(task);
                let c = t.and_then(|t| job(t.job));
                let line = match t.map(|t| t.role) {
                    Some(TaskRole::JobManager) => c.and_then(|c| c.manager.clone()),
                    _ => c.and_then(|c| c.task.clone()),
                };
                (TaskKind::Task, line)
            }
        };
        // Commands::of checked that every piece of work has one.
        TaskSpec { key: self.key(sim, work, run), kind, command_line: line.unwrap_or_default(), env: Vec::new() }
    }

    /// Lets every agent go, and waits a little for the spawned ones to exit.
    fn release_all(&mut self, mut children: Vec<Child>) {
        let agents: Vec<AgentId> = self.idle.drain(..).chain(self.agents.keys().copied()).collect();
        for agent in agents {
            let _ = self.controller.release(agent);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for child in &mut children {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_late_exit_of_a_killed_run_is_not_taken_for_the_next_run_of_the_task() {
        let mut runs = Runs::default();
        let agent = AgentId(1);
        let work = Work::Task { task: 7 };
        let key = |run| TaskKey { job_id: "job".into(), task_id: "task-7".into(), run };
        let first = runs.number();
        runs.sent(agent, key(first), work);
        // The engine kills the run (a shrink), then runs the task again on
        // the same node before the agent's `exited` of the first run arrives.
        assert_eq!(runs.kill(agent, work), Some(key(first)));
        let second = runs.number();
        assert_ne!(second, first);
        runs.sent(agent, key(second), work);
        assert!(runs.busy());
        assert_eq!(runs.exited(agent, key(first)), None, "the stale exit must match nothing");
        assert_eq!(runs.exited(agent, key(second)), Some(work));
        assert!(!runs.busy());
    }

    #[test]
    fn jobs_refused_by_the_quota_need_no_command_line() {
        let text = r#"
            duration = "1h"
            [account]
            active_jobs = 1
            [pool]
            vm = { cores = 1, dedicated_price = 1.0 }
            target_dedicated = 1
            [[jobs]]
            command_line = "true"
            tasks = [{ duration = "1m" }]
            [[jobs]]
            tasks = [{ duration = "1m" }]
        "#;
        let scenario = Scenario::from_toml(text, "t.toml", "t", std::path::Path::new(".")).unwrap();
        let commands = Commands::of(&scenario).unwrap();
        assert_eq!(commands.jobs.iter().map(|j| j.task.as_deref()).collect::<Vec<_>>(), [Some("true"), None]);
        let all = Scenario::from_toml(&text.replace("active_jobs = 1", "active_jobs = 2"), "t.toml", "t", ".".as_ref());
        assert!(
            matches!(Commands::of(&all.unwrap()), Err(DriveError::MissingCommandLine { key }) if key == "jobs[1].command_line")
        );
    }

    #[test]
    fn an_agent_s_runs_are_forgotten_together() {
        let mut runs = Runs::default();
        let key = |task: &str, run| TaskKey { job_id: String::new(), task_id: task.into(), run };
        let (a, b) = (AgentId(1), AgentId(2));
        let (r1, r2, r3) = (runs.number(), runs.number(), runs.number());
        runs.sent(a, key("starttask", r1), Work::StartTask);
        runs.sent(a, key("task-1", r2), Work::Task { task: 1 });
        runs.sent(b, key("task-2", r3), Work::Task { task: 2 });
        let mut gone = runs.take_all(a);
        gone.sort_by_key(|k| k.run);
        assert_eq!(gone, vec![key("starttask", r1), key("task-1", r2)]);
        assert_eq!(runs.kill(a, Work::Task { task: 1 }), None);
        assert_eq!(runs.kill(b, Work::Task { task: 2 }), Some(key("task-2", r3)));
    }
}
