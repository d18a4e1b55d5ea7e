//! The controller: listens for agents, authenticates them, and turns each
//! connection into [`ControllerEvent`]s and commands (see [`super::protocol`]).
//!
//! Threads: one accepts connections, one per connection reads its messages
//! (the handshake included, so a slow client delays no one), one pings
//! every agent, one cuts handshakes at their deadline ([`Watchdog`]). The
//! connection threads are bounded: at most `max_pending` connections in
//! their handshake and `max_agents` agents; beyond, connections are
//! closed at once. Commands are written by the caller's thread directly.
//! Dropping the [`Controller`] closes every connection and stops them all.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::link::{Link, LinkError, Stop, Watchdog, Watched, every, lock};
use super::protocol::{
    AgentMessage, ControllerMessage, DEFAULT_PING_INTERVAL, DEFAULT_TIMEOUT, HELLO_TIMEOUT, NodeIdentity, PATH,
    PROTOCOL_VERSION, TaskKey, TaskSpec, Usage, VersionProbe, websocket_config,
};
use super::tls::{ServerTls, Stream};
use super::token::{self, Role, Token};

/// How many connections may be in their handshake at once, by default.
pub const DEFAULT_MAX_PENDING: usize = 64;
/// How many agents may be joined at once, by default.
pub const DEFAULT_MAX_AGENTS: usize = 1024;

/// A connected agent, numbered from 1 in the order they joined; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AgentId(pub u64);

/// What happened on the agents' side.
#[derive(Debug, Clone, PartialEq)]
pub enum ControllerEvent {
    /// An agent passed the handshake; assign it an identity before any task.
    Joined {
        /// Its id.
        agent: AgentId,
        /// How many tasks it runs at once.
        slots: u32,
        /// Its name for logs (the hello's `hostname`: `agent --name`, else
        /// its machine's host name).
        name: String,
    },
    /// A task's child process was spawned.
    Started {
        /// The agent.
        agent: AgentId,
        /// The task.
        key: TaskKey,
    },
    /// A task ended: 0 success; non-zero failure; -1 could not start (reason in its stderr.txt).
    /// Killed tasks are not reported.
    Exited {
        /// The agent.
        agent: AgentId,
        /// The task.
        key: TaskKey,
        /// The exit code (see [`super::runner::exit_code`]).
        exit_code: i32,
    },
    /// The agent's machine usage over the last usage interval.
    Usage {
        /// The agent.
        agent: AgentId,
        /// The figures.
        usage: Usage,
    },
    /// The agent is gone with whatever ran on it: disconnected, timed out,
    /// sent a bad or oversized message, or was released.
    Left {
        /// The agent.
        agent: AgentId,
        /// Why, for logs and reports.
        reason: String,
    },
}

/// A command was addressed to an agent that has left (or never was).
#[derive(Debug, thiserror::Error)]
#[error("agent {0:?} is gone")]
pub struct Gone(pub AgentId);

/// Heartbeat settings, limits and TLS; the defaults are the protocol's, on plain TCP.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// How often every agent is pinged.
    pub ping_interval: Duration,
    /// How long an agent may stay silent before it is dropped (`Left`).
    pub timeout: Duration,
    /// How long a new connection has, in all, to upgrade and complete the handshake.
    pub hello_timeout: Duration,
    /// How many connections may be in their handshake at once; more are closed at once.
    pub max_pending: usize,
    /// How many agents may be joined at once; more are rejected.
    pub max_agents: usize,
    /// TLS with this certificate; plain TCP without.
    pub tls: Option<ServerTls>,
}

impl Default for ControllerOptions {
    fn default() -> ControllerOptions {
        ControllerOptions {
            ping_interval: DEFAULT_PING_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            hello_timeout: HELLO_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
            max_agents: DEFAULT_MAX_AGENTS,
            tls: None,
        }
    }
}

/// The listening end of the agents' connections. Its methods take `&self`
/// and may be called from any thread.
pub struct Controller {
    shared: Arc<Shared>,
    events: Mutex<Receiver<ControllerEvent>>,
    addr: SocketAddr,
}

/// What the background threads share with the [`Controller`].
struct Shared {
    token: Token,
    options: ControllerOptions,
    agents: Mutex<HashMap<AgentId, Arc<Connection>>>,
    events: Sender<ControllerEvent>,
    next_id: AtomicU64,
    stop: Arc<Stop>,
    watchdog: Watchdog,
}

/// One joined agent.
struct Connection {
    link: Link,
    /// Set by [`Controller::release`], so that the end of the connection reads "released".
    released: AtomicBool,
}

impl Controller {
    /// Binds `addr` and accepts agents on background threads, with the default heartbeats.
    pub fn bind(addr: SocketAddr, token: Token) -> std::io::Result<Controller> {
        Controller::bind_with(addr, token, ControllerOptions::default())
    }

    /// Binds `addr` with the given heartbeat settings, limits and TLS.
    pub fn bind_with(addr: SocketAddr, token: Token, options: ControllerOptions) -> std::io::Result<Controller> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let (sender, receiver) = std::sync::mpsc::channel();
        let stop = Arc::<Stop>::default();
        let tick = (options.hello_timeout / 20).clamp(Duration::from_millis(10), Duration::from_millis(250));
        let watchdog = Watchdog::start(tick, Arc::clone(&stop))?;
        let ping_interval = options.ping_interval;
        let shared = Arc::new(Shared {
            token,
            options,
            agents: Mutex::default(),
            events: sender,
            next_id: AtomicU64::new(0),
            stop,
            watchdog,
        });
        let accepting = Arc::clone(&shared);
        std::thread::Builder::new().name("agent-accept".to_owned()).spawn(move || accept(&accepting, &listener))?;
        let pinging = Arc::clone(&shared);
        every("agent-ping", ping_interval, Arc::clone(&shared.stop), move || {
            let connections: Vec<_> = lock(&pinging.agents).values().cloned().collect();
            for connection in connections {
                // A failed ping shows up on the connection's reading thread.
                let _ = connection.link.ping();
            }
            true
        })?;
        Ok(Controller { shared, events: Mutex::new(receiver), addr })
    }

    /// The address agents connect to (with the port chosen when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next event, waiting until `deadline` at most; `None` on timeout.
    pub fn next_event(&self, deadline: Instant) -> Option<ControllerEvent> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        lock(&self.events).recv_timeout(timeout).ok()
    }

    /// Gives a joined agent its identity; send it once, before any task.
    pub fn assign(&self, agent: AgentId, node: NodeIdentity) -> Result<(), Gone> {
        self.send(agent, &ControllerMessage::Assign { node })
    }

    /// Runs a task on an agent; `Started` then `Exited` follow.
    pub fn run_task(&self, agent: AgentId, spec: TaskSpec) -> Result<(), Gone> {
        self.send(agent, &ControllerMessage::Run { spec })
    }

    /// Kills a task's process tree; nothing more is reported for it.
    pub fn kill_task(&self, agent: AgentId, key: TaskKey) -> Result<(), Gone> {
        self.send(agent, &ControllerMessage::Kill { key })
    }

    /// Releases an agent: it kills its tasks, disconnects and exits; `Left` follows.
    pub fn release(&self, agent: AgentId) -> Result<(), Gone> {
        if let Some(connection) = lock(&self.shared.agents).get(&agent) {
            connection.released.store(true, Ordering::SeqCst);
        }
        self.send(agent, &ControllerMessage::Release)
    }

    fn send(&self, agent: AgentId, message: &ControllerMessage) -> Result<(), Gone> {
        let connection = lock(&self.shared.agents).get(&agent).cloned().ok_or(Gone(agent))?;
        connection.link.send(message).map_err(|_| Gone(agent))
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.shared.stop.stop();
        for connection in lock(&self.shared.agents).values() {
            connection.link.shutdown();
        }
        // Wake the accepting thread, blocked in `accept`, so that it sees the stop.
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let _ = TcpStream::connect_timeout(&SocketAddr::new(ip, self.addr.port()), Duration::from_secs(1));
    }
}

/// Accepts connections until stopped, each served on its own thread
/// unless `max_pending` are already in their handshake.
fn accept(shared: &Arc<Shared>, listener: &TcpListener) {
    let mut refused = 0u64;
    for stream in listener.incoming() {
        if shared.stop.is_stopped() {
            return;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                log::warn!("cannot accept an agent connection: {e}");
                // Out of file descriptors, typically: give the others time to close some.
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let deadline = Instant::now() + shared.options.hello_timeout;
        let watched = match shared.watchdog.watch(&stream, deadline, shared.options.max_pending) {
            Ok(Some(watched)) => watched,
            Ok(None) => {
                // Dropping the stream closes it. Log the first refusal of a flood and every 100th.
                if refused.is_multiple_of(100) {
                    log::warn!(
                        "refused a connection: {} connections are already in their handshake ({} refused so far)",
                        shared.options.max_pending,
                        refused + 1
                    );
                }
                refused += 1;
                continue;
            }
            Err(e) => {
                log::warn!("cannot watch an agent connection: {e}");
                continue;
            }
        };
        let serving = Arc::clone(shared);
        let spawned =
            std::thread::Builder::new().name("agent-conn".to_owned()).spawn(move || serve(&serving, stream, watched));
        if let Err(e) = spawned {
            log::warn!("cannot start a thread for an agent connection: {e}");
        }
    }
}

/// Runs one connection from handshake to end; `watched` cuts the handshake at its deadline.
fn serve(shared: &Shared, stream: TcpStream, watched: Watched) {
    let peer = stream.peer_addr().map_or_else(|_| "an unknown address".to_owned(), |a| a.to_string());
    let late = |watched: &Watched, e: String| {
        if watched.expired() {
            format!("no complete handshake within {} ({e})", humantime::format_duration(shared.options.hello_timeout))
        } else {
            e
        }
    };
    let link = match open(shared, stream) {
        Ok(link) => link,
        Err(e) => {
            log::warn!("dropped a connection from {peer}: {}", late(&watched, e));
            return;
        }
    };
    let (slots, name) = match handshake(shared, &link) {
        Ok(hello) => hello,
        Err(reason) => {
            let reason = late(&watched, reason);
            log::warn!("rejected an agent at {peer}: {reason}");
            let _ = link.send(&ControllerMessage::Reject { protocol: PROTOCOL_VERSION, reason: reason.clone() });
            link.close(&reason);
            return;
        }
    };
    drop(watched);
    let agent = AgentId(shared.next_id.fetch_add(1, Ordering::SeqCst));
    let connection = Arc::new(Connection { link, released: AtomicBool::new(false) });
    {
        let mut agents = lock(&shared.agents);
        if agents.len() >= shared.options.max_agents {
            drop(agents);
            let reason = format!("too many agents: this controller serves at most {}", shared.options.max_agents);
            log::warn!("rejected an agent at {peer}: {reason}");
            let _ =
                connection.link.send(&ControllerMessage::Reject { protocol: PROTOCOL_VERSION, reason: reason.clone() });
            connection.link.close(&reason);
            return;
        }
        agents.insert(agent, Arc::clone(&connection));
    }
    let welcome = connection.link.send(&ControllerMessage::Welcome { protocol: PROTOCOL_VERSION, agent: agent.0 });
    if let Err(e) = welcome
        .map_err(|e| e.to_string())
        .and_then(|()| connection.link.set_timeout(shared.options.timeout).map_err(|e| e.to_string()))
    {
        lock(&shared.agents).remove(&agent);
        log::warn!("lost the agent at {peer} during the handshake: {e}");
        return;
    }
    log::info!("{name} joined from {peer} ({slots} slots)");
    let _ = shared.events.send(ControllerEvent::Joined { agent, slots, name: name.clone() });

    let error = loop {
        let event = match connection.link.recv::<AgentMessage>() {
            Ok(AgentMessage::Started { key }) => ControllerEvent::Started { agent, key },
            Ok(AgentMessage::Exited { key, exit_code }) => ControllerEvent::Exited { agent, key, exit_code },
            Ok(AgentMessage::Usage { usage }) => ControllerEvent::Usage { agent, usage },
            Ok(AgentMessage::Hello { .. } | AgentMessage::Proof { .. }) => {
                break LinkError::Malformed("a second handshake message".to_owned());
            }
            Err(e) => break e,
        };
        let _ = shared.events.send(event);
    };
    lock(&shared.agents).remove(&agent);
    let reason = if connection.released.load(Ordering::SeqCst) { "released".to_owned() } else { error.to_string() };
    if !matches!(error, LinkError::Closed(_)) {
        connection.link.close(&reason);
    }
    log::info!("{name} at {peer} left: {reason}");
    let _ = shared.events.send(ControllerEvent::Left { agent, reason });
}

/// TLS if configured, then the WebSocket upgrade, for [`PATH`] only: any other path gets HTTP 404.
fn open(shared: &Shared, stream: TcpStream) -> Result<Link, String> {
    let hello_timeout = shared.options.hello_timeout;
    stream.set_read_timeout(Some(hello_timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(hello_timeout)).map_err(|e| e.to_string())?;
    // The callback's signature is tungstenite's, large error included.
    #[allow(clippy::result_large_err)]
    let check_path = |request: &tungstenite::handshake::server::Request, response| {
        if request.uri().path() == PATH {
            return Ok(response);
        }
        let mut refusal =
            tungstenite::handshake::server::ErrorResponse::new(Some(format!("not found: agents connect to {PATH}\n")));
        *refusal.status_mut() = tungstenite::http::StatusCode::NOT_FOUND;
        Err(refusal)
    };
    let stream = match &shared.options.tls {
        Some(tls) => tls.accept(stream).map_err(|e| format!("TLS handshake failed: {e}"))?,
        None => Stream::Plain(stream),
    };
    let ws = tungstenite::accept_hdr_with_config(stream, check_path, Some(websocket_config()))
        .map_err(|e| format!("WebSocket handshake failed: {e}"))?;
    Link::new(ws, hello_timeout).map_err(|e| e.to_string())
}

/// The version probe, the challenge and the agent's proof. Returns the
/// agent's slots and hostname, or why it is rejected.
fn handshake(shared: &Shared, link: &Link) -> Result<(u32, String), String> {
    let value: serde_json::Value = link.recv().map_err(|e| format!("no valid hello: {e}"))?;
    let probe: VersionProbe = serde_json::from_value(value.clone()).map_err(|e| format!("no valid hello: {e}"))?;
    match probe.protocol {
        Some(PROTOCOL_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "protocol version mismatch: the agent speaks version {other}, this controller version {PROTOCOL_VERSION}; \
                 run agents of the same autoscale-sim release"
            ));
        }
        None => return Err("no valid hello: it has no protocol version".to_owned()),
    }
    let (agent_nonce, slots, hostname) = match serde_json::from_value(value) {
        Ok(AgentMessage::Hello { nonce, .. }) if !token::is_nonce(&nonce) => {
            return Err("no valid hello: its nonce is not 32 bytes of hex".to_owned());
        }
        Ok(AgentMessage::Hello { slots: 0, .. }) => return Err("an agent needs at least one slot".to_owned()),
        Ok(AgentMessage::Hello { nonce, slots, hostname, .. }) => (nonce, slots, hostname),
        Ok(_) => return Err("the first message must be a hello".to_owned()),
        Err(e) => return Err(format!("no valid hello: {e}")),
    };
    let nonce = token::nonce();
    let proof = shared.token.proof(Role::Controller, &agent_nonce, &nonce).ok_or("no valid hello: bad nonce")?;
    link.send(&ControllerMessage::Challenge { protocol: PROTOCOL_VERSION, nonce: nonce.clone(), proof })
        .map_err(|e| format!("cannot send the challenge: {e}"))?;
    match link.recv::<AgentMessage>() {
        Ok(AgentMessage::Proof { proof }) if shared.token.verify(Role::Agent, &agent_nonce, &nonce, &proof) => {
            Ok((slots, hostname))
        }
        Ok(AgentMessage::Proof { .. }) => Err("invalid token".to_owned()),
        Ok(_) => Err("the answer to the challenge must be a proof".to_owned()),
        Err(e) => Err(format!("no valid proof: {e}")),
    }
}
