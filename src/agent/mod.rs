//! Real agents: processes that run a simulated pool's tasks for real.
//!
//! A [`Controller`] (inside the simulator, `run --agents real`) listens for
//! agents; each agent (`autoscale-sim agent`, [`node`]) joins it as one
//! node, runs the tasks it is sent as child processes with the service's
//! `AZ_BATCH_*` environment and directory layout ([`runner`]), and reports
//! when they start and exit and what the machine uses ([`usage`]). The wire
//! format is documented in [`protocol`].
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use autoscale_sim::agent::{Controller, ControllerEvent, NodeIdentity, TaskKey, TaskKind, TaskSpec, Token};
//!
//! let controller = Controller::bind("127.0.0.1:0".parse()?, Token::new("secret")?)?;
//! // Agents started elsewhere with `autoscale-sim agent --controller ADDR --token-file F` join:
//! if let Some(ControllerEvent::Joined { agent, .. }) = controller.next_event(Instant::now() + Duration::from_secs(10)) {
//!     let node = NodeIdentity { account: "acct".into(), pool_id: "pool".into(), node_id: "node-0".into() };
//!     controller.assign(agent, node)?;
//!     let key = TaskKey { job_id: "job".into(), task_id: "t1".into(), run: 1 };
//!     controller.run_task(agent, TaskSpec { key, kind: TaskKind::Task, command_line: "echo hi".into(), env: vec![] })?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::PathBuf;

pub mod controller;
pub mod driver;
mod link;
mod local;
pub mod logger;
pub mod node;
pub mod protocol;
pub mod runner;
mod token;
pub mod usage;

pub use controller::{AgentId, Controller, ControllerEvent, ControllerOptions, Gone};
pub use local::{spawn_local, spawn_local_with};
pub use protocol::{NodeIdentity, PROTOCOL_VERSION, TaskKey, TaskKind, TaskSpec, Usage};
pub use token::Token;

/// What can stop an agent, or keep a controller from being set up.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The token file is missing or unreadable (`--token-file nope`).
    #[error("cannot read token file `{}`: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The token is empty or only whitespace (an empty token file, `Token::new("")`).
    #[error("{}", match path { Some(p) => format!("token file `{}` is empty", p.display()), None => "the token is empty".to_owned() })]
    EmptyToken {
        /// The file it came from, if any.
        path: Option<PathBuf>,
    },
    /// Every attempt to reach the controller failed (nothing listens at `--controller`).
    #[error("cannot reach the controller at {controller} after {attempts} attempts: {last}")]
    Unreachable {
        /// The address given.
        controller: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        last: String,
    },
    /// The controller refused this agent (wrong token, other protocol version); retrying would not help.
    #[error("the controller rejected this agent: {0}")]
    Rejected(String),
    /// The node root could not be created or an OS facility failed (`--root` on a read-only disk).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}
