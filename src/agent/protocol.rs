//! The controller ↔ agent protocol, version [`PROTOCOL_VERSION`].
//!
//! **Threat model.** The transport is plain TCP, or TLS 1.3 when the
//! controller has a certificate and the agents pin it ([`tls`](super::tls)).
//! Against an attacker on the network who does not know the token:
//!
//! - *Cannot* learn the token from the handshake: only nonces and HMACs
//!   cross the wire. It can try to guess the token offline from a recorded
//!   proof, which is why tokens are at least 16 bytes: use a random one.
//! - *Cannot* join as an agent (its proof would be wrong), nor replay a
//!   recorded proof (the controller's nonce is fresh), nor reflect the
//!   controller's proof back (the proofs carry the role's label).
//! - *Cannot* pose as the controller to an agent: an agent that dials an
//!   impostor (DNS spoofing, a stale address, a rogue listener on the port)
//!   gets no valid `challenge`, disconnects and runs nothing.
//! - *Cannot* hold the controller's threads or memory with half-open
//!   handshakes for longer than [`HELLO_TIMEOUT`] each, nor beyond the cap
//!   on pending handshakes (a flood delays other agents' joins until the
//!   connections expire, but never exhausts threads).
//! - On plain TCP, *can* read everything after the handshake (command
//!   lines, environment variables, node identity, usage), and an attacker
//!   able to *modify* traffic (man in the middle) can hijack an
//!   authenticated connection and inject commands, since messages are not
//!   individually authenticated: plain TCP is for loopback and trusted
//!   networks. Over TLS it *cannot*: the agent accepts only the pinned
//!   certificate, and TLS protects every message that follows.
//! - *Can* disconnect agents (reset connections), like any network fault.
//!
//! **Transport.** One WebSocket connection (RFC 6455, the `tungstenite`
//! crate) per agent, over plain TCP or TLS: the agent is the client and
//! opens `ws://HOST:PORT/agent` (`wss://` over TLS, the TLS handshake
//! first, within the same deadline). Every protocol message is one WebSocket *text*
//! message holding one JSON object whose `"type"` field names it; other
//! fields are listed below. A binary message, text that is not such an
//! object, or a message of the wrong side is *malformed*.
//!
//! **Handshake** (mutual challenge–response; the token never crosses the
//! wire). Both sides hold the same token (at least
//! `MIN_TOKEN_BYTES` (16) bytes; shorter ones
//! are refused at start-up). A *proof* by side R is HMAC-SHA256 keyed with
//! the token over R's label (`autoscale-sim protocol 3: agent proof` or
//! `… controller proof`), a zero byte, the agent's nonce and the
//! controller's nonce (raw bytes), sent as hex; nonces are 32 bytes from
//! the OS-seeded generator, sent as 64 hex digits
//! (`Token::proof` in the `token` module).
//!
//! 1. The agent sends `hello` with its nonce.
//! 2. The controller reads its `protocol` field first, alone (so a hello
//!    of another version whose other fields changed still gets a clear
//!    answer), and answers `challenge`: its own nonce and its proof.
//! 3. The agent checks that proof in constant time. If it is wrong the
//!    controller does not know the token: the agent closes the connection
//!    and exits non-zero without retrying, having sent nothing but its
//!    nonce, hostname and slots and run nothing. Otherwise it sends `proof`.
//! 4. The controller checks it in constant time and answers `welcome`
//!    with the agent's id, reporting `Joined`; or `reject` with the reason
//!    (wrong proof: "invalid token"; too many agents), logs it and closes.
//!
//! An agent receiving `challenge`, `welcome` or `reject` of another
//! version closes the connection and exits with a version error; one
//! receiving `reject` exits non-zero without retrying. The controller
//! gives a connection [`HELLO_TIMEOUT`] *in all* from the TCP accept to the
//! end of the handshake (WebSocket upgrade included; pings do not extend
//! it), upgrades only requests for [`PATH`] (others get HTTP 404), and
//! serves at most a fixed number of connections still in their handshake
//! and of agents (`ControllerOptions`); connections beyond are closed at once.
//!
//! | direction | `type` | fields |
//! | --- | --- | --- |
//! | agent → controller | `hello` | `protocol` (u32), `nonce` (hex), `hostname`, `slots` (u32) |
//! | controller → agent | `challenge` | `protocol`, `nonce` (hex), `proof` (hex): the controller's |
//! | agent → controller | `proof` | `proof` (hex): the agent's |
//! | controller → agent | `welcome` | `protocol`, `agent` (u64 id) |
//! | controller → agent | `reject` | `protocol`, `reason` |
//! | controller → agent | `assign` | `node`: [`NodeIdentity`] — once, before any task |
//! | controller → agent | `run` | `spec`: [`TaskSpec`] |
//! | controller → agent | `kill` | `key`: [`TaskKey`] — the agent reports nothing more for it |
//! | controller → agent | `release` | — the agent kills its tasks, closes and exits |
//! | agent → controller | `started` | `key` — the child process was spawned |
//! | agent → controller | `exited` | `key`, `exit_code` (i32: the process's own; 128 + N when signal N killed it; -1: could not start) |
//! | agent → controller | `usage` | `usage`: [`Usage`] — every usage interval |
//!
//! **Liveness.** Each side sends a WebSocket ping every
//! [`DEFAULT_PING_INTERVAL`]; the peer's WebSocket layer answers pong. A
//! side that receives nothing at all (message, ping or pong) for
//! [`DEFAULT_TIMEOUT`] closes the connection: the controller reports
//! `Left`, the agent kills its tasks and reconnects as a new agent (the
//! engine requeues what ran on the old one; nothing is resumed). Both
//! durations are per side (`ControllerOptions`, `agent --ping-interval`),
//! since each side's timeout only relies on its own pings being answered.
//!
//! **Limits.** A message or frame larger than [`MAX_MESSAGE_BYTES`] closes
//! that connection only, as does a malformed message; the controller keeps
//! serving the others.
//!
//! **Versions.** [`PROTOCOL_VERSION`] changes whenever a message changes
//! shape or meaning; there is no negotiation, agents and controller come
//! from the same release.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The protocol's version, sent in `hello`, `challenge`, `welcome` and
/// `reject`. 3: mutual challenge–response instead of the token in `hello`.
pub const PROTOCOL_VERSION: u32 = 3;
/// The largest message or frame either side accepts (1 MiB): a task's
/// command line and environment fit many times over.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// How long the controller gives a new TCP connection, in all, to upgrade
/// to WebSocket and complete the handshake; and the agent, the controller.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often each side pings by default.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(5);
/// How long a side waits without receiving anything before it gives the connection up, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// How often an agent reports its machine's usage by default (the service's metrics period).
pub const DEFAULT_USAGE_INTERVAL: Duration = Duration::from_secs(30);
/// The path agents open on the controller.
pub const PATH: &str = "/agent";

/// One run of a task, unique among the runs sent to one agent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskKey {
    /// Its job (empty for a start task).
    pub job_id: String,
    /// Its id within the job.
    pub task_id: String,
    /// The controller's number for this run. A task killed and run again
    /// on the same agent gets a new one, so that an `exited` of the killed
    /// run that crossed the `kill` on the wire is not taken for the new run.
    pub run: u64,
}

impl TaskKey {
    /// Whether `other` is a run of the same task.
    pub fn same_task(&self, other: &TaskKey) -> bool {
        self.job_id == other.job_id && self.task_id == other.task_id
    }
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} (run {})", self.job_id, self.task_id, self.run)
    }
}

/// What a task is for; decides its folder and whether it takes a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    /// The pool's start task, run when the node joins.
    StartTask,
    /// A job's preparation task, run on a node before the job's first task there.
    JobPreparation,
    /// A job's release task, run on a node when the job ends.
    JobRelease,
    /// An ordinary task: the only kind that takes a slot.
    Task,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Which task.
    pub key: TaskKey,
    /// Which kind of task.
    pub kind: TaskKind,
    /// Program and arguments, split like a POSIX shell would but never run through one.
    pub command_line: String,
    /// Environment variables added to the `AZ_BATCH_*` ones (and overriding them).
    pub env: Vec<(String, String)>,
}

/// Who the agent is in the simulated service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeIdentity {
    /// `AZ_BATCH_ACCOUNT_NAME`.
    pub account: String,
    /// `AZ_BATCH_POOL_ID`.
    pub pool_id: String,
    /// `AZ_BATCH_NODE_ID`.
    pub node_id: String,
}

/// A machine's resource usage over one usage interval, in the units of the
/// service's node metrics: CPU in percent of all cores (0–100), memory and
/// disk space in use at the end of the interval in bytes, disk and network
/// traffic in bytes during the interval.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Mean CPU use over the interval, percent of all cores.
    pub cpu_percent: f64,
    /// Memory in use.
    pub memory_bytes: f64,
    /// Space in use on the disk holding the node root.
    pub disk_bytes: f64,
    /// Bytes read from disks during the interval.
    pub disk_read_bytes: f64,
    /// Bytes written to disks during the interval.
    pub disk_write_bytes: f64,
    /// Bytes received on non-loopback interfaces during the interval.
    pub network_in_bytes: f64,
    /// Bytes sent on non-loopback interfaces during the interval.
    pub network_out_bytes: f64,
}

/// What an agent sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AgentMessage {
    /// The first message: who it is, and its challenge to the controller.
    Hello {
        /// [`PROTOCOL_VERSION`] of the agent.
        protocol: u32,
        /// The agent's nonce: 32 random bytes in hex.
        nonce: String,
        /// The agent's name, for logs: `agent --name`, else the machine's
        /// host name (`agent-I` for the agents `run --spawn-local` starts).
        hostname: String,
        /// How many tasks it runs at once.
        slots: u32,
    },
    /// The agent's proof that it knows the token, once the controller proved it does.
    Proof {
        /// HMAC-SHA256 in hex (see the module documentation).
        proof: String,
    },
    /// A task's process was spawned.
    Started {
        /// Which task.
        key: TaskKey,
    },
    /// A task's process ended by itself, or could not start (-1).
    Exited {
        /// Which task.
        key: TaskKey,
        /// Its exit code: the process's own; 128 + N when signal N killed
        /// it (Unix); -1 when it could not start (bad id or command line,
        /// program not found).
        exit_code: i32,
    },
    /// The machine's usage over the last interval.
    Usage {
        /// The figures.
        usage: Usage,
    },
}

/// What a controller sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControllerMessage {
    /// The answer to `hello`: the controller's proof and its challenge to the agent.
    Challenge {
        /// [`PROTOCOL_VERSION`] of the controller.
        protocol: u32,
        /// The controller's nonce: 32 random bytes in hex.
        nonce: String,
        /// HMAC-SHA256 in hex (see the module documentation).
        proof: String,
    },
    /// The agent's proof was accepted.
    Welcome {
        /// [`PROTOCOL_VERSION`] of the controller.
        protocol: u32,
        /// The id the controller knows this connection by.
        agent: u64,
    },
    /// The hello or proof was refused; the connection closes.
    Reject {
        /// [`PROTOCOL_VERSION`] of the controller.
        protocol: u32,
        /// Why, for the agent's error message.
        reason: String,
    },
    /// The agent's identity; it creates its node folders.
    Assign {
        /// The identity.
        node: NodeIdentity,
    },
    /// Run a task.
    Run {
        /// The task.
        spec: TaskSpec,
    },
    /// Kill a task's process tree; no `exited` follows.
    Kill {
        /// Which task.
        key: TaskKey,
    },
    /// Kill every task, close the connection and exit.
    Release,
}

/// The `protocol` field alone, read from a `hello` before the rest so that
/// a version mismatch is reported as such, whatever else changed.
#[derive(Debug, Deserialize)]
pub(crate) struct VersionProbe {
    pub(crate) protocol: Option<u32>,
}

/// The WebSocket settings both sides use: [`MAX_MESSAGE_BYTES`] for messages and frames.
pub(crate) fn websocket_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json_objects() {
        let run = ControllerMessage::Kill { key: TaskKey { job_id: "j".into(), task_id: "t".into(), run: 3 } };
        let text = serde_json::to_string(&run).unwrap();
        assert_eq!(text, r#"{"type":"kill","key":{"job_id":"j","task_id":"t","run":3}}"#);
        assert_eq!(serde_json::from_str::<ControllerMessage>(&text).unwrap(), run);
        let hello = r#"{"type":"hello","protocol":3,"nonce":"00","hostname":"h","slots":2}"#;
        assert!(matches!(serde_json::from_str(hello), Ok(AgentMessage::Hello { slots: 2, .. })));
    }

    #[test]
    fn the_version_is_read_whatever_the_rest_of_the_hello() {
        let probe: VersionProbe = serde_json::from_str(r#"{"type":"hello","protocol":7,"new":[1]}"#).unwrap();
        assert_eq!(probe.protocol, Some(7));
    }
}
