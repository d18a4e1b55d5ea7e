//! Real agents: processes that run a simulated pool's tasks for real.
//!
//! A [`Controller`] (inside the simulator, `run --agents real`) listens for
//! agents; each agent (`autoscale-sim agent`, [`node`]) joins it as one
//! node, runs the tasks it is sent as child processes with the service's
//! `AZ_BATCH_*` environment and directory layout ([`runner`]), and reports
//! when they start and exit and what the machine uses ([`usage`]). A
//! [`keeper`] process kills the tasks of an agent that dies without doing
//! it. The wire format is documented in [`protocol`].
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use autoscale_sim::agent::{Controller, ControllerEvent, NodeIdentity, TaskKey, TaskKind, TaskSpec, Token};
//!
//! let controller = Controller::bind("127.0.0.1:0".parse()?, Token::new("a-long-random-secret")?)?;
//! // Agents started elsewhere with `autoscale-sim agent --controller ADDR --token-file F` join:
//! if let Some(ControllerEvent::Joined { agent, .. }) = controller.next_event(Instant::now() + Duration::from_secs(10)) {
//!     let node = NodeIdentity { account: "acct".into(), pool_id: "pool".into(), node_id: "node-0".into() };
//!     controller.assign(agent, node)?;
//!     let key = TaskKey { job_id: "job".into(), task_id: "t1".into(), run: 1 };
//!     controller.run_task(agent, TaskSpec { key, kind: TaskKind::Task, command_line: "echo hi".into(), env: vec![] })?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod controller;
pub mod driver;
mod error;
pub mod keeper;
mod link;
mod local;
pub mod logger;
pub mod node;
pub mod protocol;
pub mod runner;
pub mod tls;
pub mod token;
pub mod usage;

pub use controller::{AgentId, Controller, ControllerEvent, ControllerOptions, Gone};
pub use error::AgentError;
pub use keeper::Keeper;
pub use local::{spawn_local, spawn_local_with};
pub use protocol::{NodeIdentity, PROTOCOL_VERSION, TaskKey, TaskKind, TaskSpec, Usage};
pub use tls::{ClientTls, Fingerprint, ServerTls};
pub use token::{Role, Token};
