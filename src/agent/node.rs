//! The agent process (`autoscale-sim agent`): joins a controller as one
//! node and runs the tasks it is sent until released.
//!
//! Life cycle: connect (retrying with exponential backoff, 0.5 s doubling
//! up to 10 s, at most `connect_attempts` failures in a row) → hello →
//! challenge (the controller proves it knows the token; if not, the agent
//! exits without retrying or running anything) → proof → welcome → session. A session answers commands, pings the controller
//! and reports usage; each task's process is watched by its own thread,
//! which reports `exited`. When the connection is lost the agent kills
//! every task (the controller has reported `Left` and the engine requeues
//! them, so finishing them would only duplicate work) and joins again as a
//! new agent. `release` kills every task and ends [`run`] with `Ok`, as
//! does a [`StopHandle`] (SIGINT or SIGTERM with [`stop_on_signals`]); a
//! rejection ends it with an error, since retrying would not help.
//!
//! Slots: only ordinary tasks take one. A task sent while all are taken,
//! before the identity is assigned, or while another run of it is running
//! here (two runs would share its folder) is refused, logged and reported
//! as exit code -1 under its own key, which no other run shares.

use std::collections::HashMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::error::AgentError;
use super::keeper::Keeper;
use super::link::{Link, LinkError, Stop, Watchdog, every, lock};
use super::protocol::{
    AgentMessage, ControllerMessage, DEFAULT_PING_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_USAGE_INTERVAL, HELLO_TIMEOUT,
    PATH, PROTOCOL_VERSION, TaskKey, TaskKind, TaskSpec, websocket_config,
};
use super::runner::{self, NodeDirs};
use super::tls::{ClientTls, ConnectFailure, Stream};
use super::token::{self, Role, Token};
use super::usage::UsageSampler;

/// The first wait before reconnecting; it doubles after each failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How an agent runs; the `agent` subcommand's options.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The controller, `HOST:PORT`; resolved at every attempt.
    pub controller: String,
    /// The shared secret.
    pub token: Token,
    /// The node root: where the node's folders go.
    pub root: PathBuf,
    /// How many ordinary tasks may run at once.
    pub slots: u32,
    /// How often usage is reported.
    pub usage_interval: Duration,
    /// How often the controller is pinged.
    pub ping_interval: Duration,
    /// How long the controller may stay silent before the connection is given up.
    pub timeout: Duration,
    /// Failed connection attempts in a row before giving up (at least 1).
    pub connect_attempts: u32,
    /// Kills the tasks if this process dies without doing it; see [`Keeper`].
    pub keeper: Option<Arc<Keeper>>,
    /// TLS, trusting only the pinned controller certificate; plain TCP without.
    pub tls: Option<ClientTls>,
    /// What the controller's log calls this agent: the machine's host name
    /// when `None`; `agent-I` for the spawned agent whose root is `agent-I`.
    pub name: Option<String>,
}

impl NodeOptions {
    /// The defaults for everything but the controller, token and root.
    pub fn new(controller: impl Into<String>, token: Token, root: PathBuf) -> NodeOptions {
        NodeOptions {
            controller: controller.into(),
            token,
            root,
            slots: 1,
            usage_interval: DEFAULT_USAGE_INTERVAL,
            ping_interval: DEFAULT_PING_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            connect_attempts: 10,
            keeper: None,
            tls: None,
            name: None,
        }
    }
}

/// Why a connection attempt failed.
enum ConnectError {
    /// Worth another attempt.
    Unreachable(String),
    /// Not worth another attempt.
    Rejected(String),
    /// The controller did not prove it knows the token.
    Untrusted(String),
}

/// Stops an agent from another thread (on SIGINT or SIGTERM): kills its
/// tasks, closes its connection and ends [`run_until`] with `Ok`.
#[derive(Clone, Default)]
pub struct StopHandle(Arc<StopState>);

#[derive(Default)]
struct StopState {
    /// Why the agent was stopped, once it was; and the session to end, while there is one.
    state: Mutex<(Option<String>, Option<Arc<Node>>)>,
    /// Cuts the wait between connection attempts short.
    wake: Stop,
}

impl StopHandle {
    /// Stops the agent for `reason` (logged).
    pub fn stop(&self, reason: &str) {
        let mut state = lock(&self.0.state);
        state.0 = Some(reason.to_owned());
        if let Some(node) = state.1.take() {
            node.end(reason);
        }
        self.0.wake.stop();
    }

    fn reason(&self) -> Option<String> {
        lock(&self.0.state).0.clone()
    }

    /// Makes `node` the session a stop ends (at once if already stopped); `None` when it is over.
    fn attach(&self, node: Option<&Arc<Node>>) {
        let mut state = lock(&self.0.state);
        match (&state.0, node) {
            (Some(reason), Some(node)) => node.end(reason),
            _ => state.1 = node.cloned(),
        }
    }
}

/// Blocks SIGINT and SIGTERM in this thread (and the threads it starts
/// afterwards: call it first) and stops the agent when one arrives. Tasks
/// run in their own process groups, so a Ctrl-C in the terminal would not
/// reach them otherwise. Unix only.
#[cfg(unix)]
pub fn stop_on_signals(stop: &StopHandle) -> std::io::Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    let signals: SigSet = [Signal::SIGINT, Signal::SIGTERM].into_iter().collect();
    signals.thread_block()?;
    let stop = stop.clone();
    std::thread::Builder::new().name("agent-signals".to_owned()).spawn(move || {
        if let Ok(signal) = signals.wait() {
            stop.stop(&format!("stopped by {signal}"));
        }
    })?;
    Ok(())
}

/// Runs the agent until it is released (`Ok`), rejected, or cannot reach
/// the controller `connect_attempts` times in a row.
pub fn run(options: &NodeOptions) -> Result<(), AgentError> {
    run_until(options, &StopHandle::default())
}

/// [`run`], until `stop` is used too (`Ok`).
pub fn run_until(options: &NodeOptions, stop: &StopHandle) -> Result<(), AgentError> {
    std::fs::create_dir_all(&options.root).map_err(|source| AgentError::Io {
        what: format!("cannot create the node root {}", options.root.display()),
        source,
    })?;
    let attempts = options.connect_attempts.max(1);
    let mut failures = 0;
    let mut backoff = FIRST_BACKOFF;
    loop {
        if let Some(reason) = stop.reason() {
            log::warn!("{reason}; tasks killed");
            return Ok(());
        }
        match connect(options) {
            Ok((link, name)) => {
                failures = 0;
                backoff = FIRST_BACKOFF;
                log::info!("joined the controller at {} as {name}", options.controller);
                let session = Session::new(link, options);
                stop.attach(Some(&session.node));
                let result = session.run();
                stop.attach(None);
                match result {
                    Ok(()) => {
                        log::info!("released by the controller");
                        return Ok(());
                    }
                    Err(_) if stop.reason().is_some() => {}
                    Err(e) => log::warn!("lost the controller ({e}); tasks killed; joining again as a new agent"),
                }
            }
            Err(ConnectError::Rejected(reason)) => return Err(AgentError::Rejected(reason)),
            Err(ConnectError::Untrusted(why)) => {
                return Err(AgentError::Untrusted { controller: options.controller.clone(), why });
            }
            Err(ConnectError::Unreachable(last)) => {
                failures += 1;
                if failures >= attempts {
                    return Err(AgentError::Unreachable { controller: options.controller.clone(), attempts, last });
                }
                log::warn!(
                    "cannot reach the controller at {} (attempt {failures} of {attempts}): {last}; retrying in {}",
                    options.controller,
                    humantime::format_duration(backoff)
                );
                stop.0.wake.sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One attempt: TCP, TLS if pinned, WebSocket upgrade, hello, challenge, proof, welcome,
/// all within [`HELLO_TIMEOUT`]. Returns the link and the agent's id.
fn connect(options: &NodeOptions) -> Result<(Link, String), ConnectError> {
    let unreachable = |e: &dyn std::fmt::Display| ConnectError::Unreachable(e.to_string());
    let addrs: Vec<_> = options.controller.to_socket_addrs().map_err(|e| unreachable(&e))?.collect();
    let mut last = ConnectError::Unreachable(format!("{} resolves to no address", options.controller));
    let stream = addrs.iter().find_map(|addr| match TcpStream::connect_timeout(addr, HELLO_TIMEOUT) {
        Ok(stream) => Some(stream),
        Err(e) => {
            last = unreachable(&e);
            None
        }
    });
    let stream = stream.ok_or(last)?;
    // A controller that trickles bytes or pings is cut at the deadline.
    let stop = StopOnDrop(Arc::default());
    let watchdog = Watchdog::start(Duration::from_millis(100), Arc::clone(&stop.0)).map_err(|e| unreachable(&e))?;
    let watched = watchdog.watch(&stream, std::time::Instant::now() + HELLO_TIMEOUT, 1).map_err(|e| unreachable(&e))?;
    let late = |e: &dyn std::fmt::Display| match &watched {
        Some(w) if w.expired() => {
            ConnectError::Unreachable(format!("no complete handshake within {HELLO_TIMEOUT:?} ({e})"))
        }
        _ => unreachable(e),
    };
    stream.set_read_timeout(Some(HELLO_TIMEOUT)).map_err(|e| unreachable(&e))?;
    stream.set_write_timeout(Some(HELLO_TIMEOUT)).map_err(|e| unreachable(&e))?;
    let (stream, scheme) = match &options.tls {
        Some(tls) => {
            let host = options.controller.rsplit_once(':').map_or(options.controller.as_str(), |(host, _)| host);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            match tls.connect(host, stream) {
                Ok(stream) => (stream, "wss"),
                Err(ConnectFailure::WrongCertificate(why)) => return Err(ConnectError::Untrusted(why)),
                Err(ConnectFailure::Other(e)) => {
                    return Err(late(&format!("TLS handshake failed (does the controller use --tls-cert?): {e}")));
                }
            }
        }
        None => (Stream::Plain(stream), "ws"),
    };
    let url = format!("{scheme}://{}{PATH}", options.controller);
    let (ws, _) = tungstenite::client::client_with_config(url.as_str(), stream, Some(websocket_config()))
        .map_err(|e| late(&format!("WebSocket handshake failed: {e}")))?;
    let link = Link::new(ws, HELLO_TIMEOUT).map_err(|e| unreachable(&e))?;
    let name = match &options.name {
        Some(name) => name.clone(),
        None => sysinfo::System::host_name().unwrap_or_else(|_| "unknown".to_owned()),
    };
    let agent_nonce = token::nonce();
    let hello = AgentMessage::Hello {
        protocol: PROTOCOL_VERSION,
        nonce: agent_nonce.clone(),
        hostname: name.clone(),
        slots: options.slots,
    };
    link.send(&hello).map_err(|e| late(&e))?;
    let untrusted = |why: &str| {
        link.close(why);
        ConnectError::Untrusted(why.to_owned())
    };
    let proof = match link.recv::<ControllerMessage>() {
        Ok(ControllerMessage::Challenge { protocol: PROTOCOL_VERSION, nonce, proof }) => {
            if !options.token.verify(Role::Controller, &agent_nonce, &nonce, &proof) {
                return Err(untrusted(
                    "it did not prove it knows the token (an impostor, or a controller with another token file); \
                     nothing it sent was run",
                ));
            }
            options.token.proof(Role::Agent, &agent_nonce, &nonce).ok_or_else(|| untrusted("its nonce is invalid"))?
        }
        Ok(
            ControllerMessage::Challenge { protocol, .. }
            | ControllerMessage::Welcome { protocol, .. }
            | ControllerMessage::Reject { protocol, .. },
        ) if protocol != PROTOCOL_VERSION => return Err(version_mismatch(&link, protocol)),
        Ok(ControllerMessage::Reject { reason, .. }) => return Err(ConnectError::Rejected(reason)),
        Ok(other) => {
            return Err(untrusted(&format!("it answered the hello with {} instead of a challenge", kind(&other))));
        }
        Err(e) => return Err(late(&e)),
    };
    link.send(&AgentMessage::Proof { proof }).map_err(|e| late(&e))?;
    match link.recv::<ControllerMessage>() {
        Ok(ControllerMessage::Welcome { protocol: PROTOCOL_VERSION, .. }) => {
            drop(watched);
            link.set_timeout(options.timeout).map_err(|e| unreachable(&e))?;
            Ok((link, name))
        }
        Ok(ControllerMessage::Welcome { protocol, .. } | ControllerMessage::Reject { protocol, .. })
            if protocol != PROTOCOL_VERSION =>
        {
            Err(version_mismatch(&link, protocol))
        }
        Ok(ControllerMessage::Reject { reason, .. }) => Err(ConnectError::Rejected(reason)),
        Ok(other) => Err(untrusted(&format!("it answered the proof with {} instead of a welcome", kind(&other)))),
        Err(e) => Err(late(&e)),
    }
}

/// Closes the link for a controller of another version.
fn version_mismatch(link: &Link, protocol: u32) -> ConnectError {
    let reason = format!(
        "protocol version mismatch: the controller speaks version {protocol}, this agent version {PROTOCOL_VERSION}; \
         run agents of the same autoscale-sim release"
    );
    link.close(&reason);
    ConnectError::Rejected(reason)
}

/// A message's type, for errors (never its content: a command from an
/// untrusted controller is not even logged).
fn kind(message: &ControllerMessage) -> &'static str {
    match message {
        ControllerMessage::Challenge { .. } => "a challenge",
        ControllerMessage::Welcome { .. } => "a welcome",
        ControllerMessage::Reject { .. } => "a reject",
        ControllerMessage::Assign { .. } => "an assign",
        ControllerMessage::Run { .. } => "a run",
        ControllerMessage::Kill { .. } => "a kill",
        ControllerMessage::Release => "a release",
    }
}

/// Stops a [`Stop`] when dropped: ends the handshake's watchdog with the attempt.
struct StopOnDrop(Arc<Stop>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A task's process while it runs.
struct Running {
    kind: TaskKind,
    pid: u32,
}

/// What the session's threads share: the link, the node's folders and its running tasks.
struct Node {
    link: Link,
    slots: u32,
    keeper: Option<Arc<Keeper>>,
    dirs: Mutex<Option<NodeDirs>>,
    /// By key, which names one run: the controller never sends a key twice.
    running: Mutex<HashMap<TaskKey, Running>>,
}

/// One connection's worth of work.
struct Session {
    node: Arc<Node>,
    stop: Arc<Stop>,
    options: NodeOptions,
}

impl Session {
    fn new(link: Link, options: &NodeOptions) -> Session {
        let node = Node {
            link,
            slots: options.slots,
            keeper: options.keeper.clone(),
            dirs: Mutex::default(),
            running: Mutex::default(),
        };
        Session { node: Arc::new(node), stop: Arc::default(), options: options.clone() }
    }

    /// Serves commands until released (`Ok`) or the connection ends; kills every task either way.
    fn run(self) -> Result<(), LinkError> {
        let result = self.start_timers().map_err(LinkError::Io).and_then(|()| self.serve());
        self.stop.stop();
        self.node.kill_all();
        match &result {
            Ok(()) => self.node.link.close("released"),
            Err(LinkError::Closed(_)) => {}
            // Tell the controller why, for its `Left` reason.
            Err(e) => self.node.link.close(&e.to_string()),
        }
        // Task watchers still hold the link: make sure the old connection ends now.
        self.node.link.shutdown();
        result
    }

    /// The heartbeat and the usage reports.
    fn start_timers(&self) -> std::io::Result<()> {
        let node = Arc::clone(&self.node);
        // A failed ping shows up in `serve`, which reads the same connection.
        every("agent-ping", self.options.ping_interval, Arc::clone(&self.stop), move || node.link.ping().is_ok())?;
        match UsageSampler::new(&self.options.root) {
            Ok(mut sampler) => {
                let node = Arc::clone(&self.node);
                every("agent-usage", self.options.usage_interval, Arc::clone(&self.stop), move || {
                    node.link.send(&AgentMessage::Usage { usage: sampler.sample() }).is_ok()
                })?;
            }
            Err(e) => log::warn!("cannot sample this machine's usage, none will be reported: {e}"),
        }
        Ok(())
    }

    fn serve(&self) -> Result<(), LinkError> {
        loop {
            match self.node.link.recv::<ControllerMessage>()? {
                ControllerMessage::Assign { node } => match NodeDirs::create(&self.options.root, node) {
                    Ok(dirs) => *lock(&self.node.dirs) = Some(dirs),
                    Err(e) => log::error!("cannot create the node folders in {}: {e}", self.options.root.display()),
                },
                ControllerMessage::Run { spec } => Node::start(&self.node, spec),
                ControllerMessage::Kill { key } => self.node.kill(&key),
                ControllerMessage::Release => return Ok(()),
                other @ (ControllerMessage::Welcome { .. }
                | ControllerMessage::Reject { .. }
                | ControllerMessage::Challenge { .. }) => {
                    return Err(LinkError::Malformed(format!("unexpected {}", kind(&other))));
                }
            }
        }
    }
}

impl Node {
    /// Starts a task, or reports why it cannot run (`exited` -1).
    fn start(node: &Arc<Node>, spec: TaskSpec) {
        let key = spec.key.clone();
        let mut running = lock(&node.running);
        let busy = running.values().filter(|r| r.kind == TaskKind::Task).count();
        let refusal = if running.keys().any(|k| k.same_task(&key)) {
            Some("another run of it is running here".to_owned())
        } else {
            (spec.kind == TaskKind::Task && busy >= node.slots as usize)
                .then(|| format!("all {} slots are taken", node.slots))
        };
        let spawned = match (refusal, &*lock(&node.dirs)) {
            (Some(why), _) => Err(why),
            (None, None) => Err("the controller has not assigned this node's identity yet".to_owned()),
            (None, Some(dirs)) => runner::spawn(dirs, &spec).map_err(|e| e.to_string()),
        };
        let mut child = match spawned {
            Ok(child) => child,
            Err(why) => {
                log::error!("cannot run task {key}: {why}");
                let _ = node.link.send(&AgentMessage::Exited { key, exit_code: -1 });
                return;
            }
        };
        let pid = child.id();
        if let Some(keeper) = &node.keeper {
            keeper.watch(pid);
        }
        running.insert(key.clone(), Running { kind: spec.kind, pid });
        // Sent while `running` is locked, so that the watcher's `exited` comes after it.
        let _ = node.link.send(&AgentMessage::Started { key: key.clone() });
        drop(running);

        let watching = Arc::clone(node);
        let watcher = std::thread::Builder::new().name("agent-task".to_owned()).spawn(move || {
            let exit_code = child.wait().map_or(-1, runner::exit_code);
            if let Some(keeper) = &watching.keeper {
                keeper.forget(pid);
            }
            let mut running = lock(&watching.running);
            // A killed task was removed from `running`: it is not reported.
            if running.remove(&key).is_some() {
                let _ = watching.link.send(&AgentMessage::Exited { key, exit_code });
            }
        });
        if let Err(e) = watcher {
            // Without its watcher the task could never be reported: better kill it now and say so.
            log::error!("cannot watch a task's process: {e}");
            node.kill(&spec.key);
            let _ = node.link.send(&AgentMessage::Exited { key: spec.key, exit_code: -1 });
        }
    }

    /// Kills a task's process tree; nothing more is reported for it.
    fn kill(&self, key: &TaskKey) {
        match lock(&self.running).remove(key) {
            Some(task) => {
                if let Err(e) = runner::kill(task.pid) {
                    log::warn!("cannot kill task {key}: {e}");
                }
            }
            None => log::info!("asked to kill task {key}, which is not running"),
        }
    }

    /// Kills every task and closes the connection with `reason`, from outside the session.
    fn end(&self, reason: &str) {
        self.kill_all();
        self.link.close(reason);
        self.link.shutdown();
    }

    fn kill_all(&self) {
        for (key, task) in lock(&self.running).drain() {
            if let Err(e) = runner::kill(task.pid) {
                log::warn!("cannot kill task {key}: {e}");
            }
        }
    }
}
