//! What a scenario makes happen on its pool's nodes: the start task each
//! node runs after booting, and node actions — reboot, reimage, remove,
//! disable and enable scheduling, fail — each naming a node by the id reports
//! give it (`node` in `tasks.csv`, counting from 0 in allocation order)
//! and, for the first four, what happens to its running tasks.

use autoscale_runtime::DeallocationOption;
use serde::Deserialize;

use super::{Dist, ResourceFile};
use crate::time::SimDuration;

/// What is done to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeActionKind {
    /// Restart the VM: `rebooting`, then the start task again.
    Reboot,
    /// Reinstall the OS: `reimaging` (retained task data is lost), then
    /// the start task again.
    Reimage,
    /// Take it out of the pool; the target drops by one.
    Remove,
    /// `offline`: no new tasks until scheduling is enabled again.
    DisableScheduling,
    /// Back from `offline`.
    EnableScheduling,
    /// The node breaks: `unusable`, its running tasks requeued, until a
    /// reboot or reimage.
    Fail,
}

/// One scheduled node action.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeAction {
    /// When, from the start.
    pub at: SimDuration,
    /// The node's id.
    pub node: u32,
    /// What.
    pub action: NodeActionKind,
    /// Its running tasks: `requeue` (default), `terminate`, or
    /// `taskcompletion` (no new tasks; the action waits for them;
    /// `retaineddata` acts the same here).
    #[serde(default, deserialize_with = "super::file::deallocation")]
    pub deallocation: DeallocationOption,
    /// How long a reboot or reimage takes (dist; default: the pool's boot time).
    pub duration: Option<Dist>,
}

/// The pool's start task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartTask {
    /// How long it runs.
    pub duration: Dist,
    /// Probability that it fails on a node (0 to 1, default 0).
    #[serde(default)]
    pub failure_probability: f64,
    /// Whether a node waits for its success before taking tasks (default
    /// true). Without waiting its outcome changes nothing modelled.
    #[serde(default = "yes")]
    pub wait_for_success: bool,
    /// What a real agent runs (program and arguments, no shell); a
    /// simulated agent only waits `duration`.
    #[serde(default)]
    pub command_line: Option<String>,
    /// Files each run downloads first.
    #[serde(default)]
    pub resource_files: Vec<ResourceFile>,
}

fn yes() -> bool {
    true
}
