//! The scenario file as written: the raw structs serde reads, which refuse
//! unknown keys and wrong types (with toml's line and column) but check no
//! ranges — `pool`, `job` and `sources` do that, key by key, as they build
//! the checked scenario; and the defaults and readers serde uses for keys
//! of the public types. Fields are named as the file's keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use autoscale_runtime::DeallocationOption;
use serde::Deserialize;

use super::vm::FileVm;
use super::{
    Account, Dist, Generator, Image, JobTask, ManualResize, Metrics, NodeAction, NodeFill, StartTask, TaskEntry,
};
use crate::time::SimDuration;

/// The whole file: the top-level keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRoot {
    pub(super) name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) description: String,
    pub(super) start: Option<String>,
    pub(super) duration: SimDuration,
    #[serde(default)]
    pub(super) seed: u64,
    #[serde(default)]
    pub(super) account: Account,
    pub(super) pool: FilePool,
    #[serde(default)]
    pub(super) metrics: Metrics,
    #[serde(default)]
    pub(super) jobs: Vec<FileJob>,
}

/// `[pool]`: either fixed targets (with resizes) or `[pool.autoscale]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePool {
    #[serde(default = "default_pool_id")]
    pub(super) id: String,
    pub(super) vm: FileVm,
    pub(super) prices: Option<PathBuf>,
    #[serde(default = "one")]
    pub(super) task_slots_per_node: u32,
    #[serde(default)]
    pub(super) node_fill: NodeFill,
    #[serde(default)]
    pub(super) image: Image,
    pub(super) resize_timeout: Option<SimDuration>,
    pub(super) target_dedicated: Option<u32>,
    pub(super) target_low_priority: Option<u32>,
    #[serde(default)]
    pub(super) resizes: Vec<ManualResize>,
    pub(super) autoscale: Option<FileAutoscale>,
    pub(super) allocation_time: Option<Dist>,
    pub(super) boot_time: Option<Dist>,
    pub(super) removal_time: Option<Dist>,
    pub(super) preemption: Option<FilePreemption>,
    pub(super) start_task: Option<StartTask>,
    #[serde(default)]
    pub(super) node_actions: Vec<NodeAction>,
}

/// The pool's id in reports when the file gives none.
fn default_pool_id() -> String {
    "pool".into()
}

/// `[pool.autoscale]`: the formula inline or in a file, never both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAutoscale {
    pub(super) formula: Option<String>,
    pub(super) formula_file: Option<PathBuf>,
    pub(super) interval: Option<SimDuration>,
}

/// `pool.preemption`: a rate or a trace, never both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePreemption {
    pub(super) rate_per_node_hour: Option<f64>,
    pub(super) trace: Option<PathBuf>,
    pub(super) recovery: Option<Dist>,
}

/// One `[[jobs]]` table: its settings and its task sources.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileJob {
    pub(super) id: Option<String>,
    #[serde(default)]
    pub(super) priority: i16,
    #[serde(default)]
    pub(super) max_task_retry_count: i32,
    pub(super) max_wall_clock_time: Option<SimDuration>,
    pub(super) command_line: Option<String>,
    pub(super) manager: Option<JobTask>,
    pub(super) preparation: Option<JobTask>,
    pub(super) release: Option<JobTask>,
    pub(super) failure_probability: Option<f64>,
    pub(super) exit_codes: Option<BTreeMap<String, f64>>,
    pub(super) retention: Option<SimDuration>,
    #[serde(default = "full_cpu")]
    pub(super) cpu_percent: u32,
    #[serde(default)]
    pub(super) memory_mib: u64,
    #[serde(default)]
    pub(super) tasks: Vec<TaskEntry>,
    pub(super) trace: Option<PathBuf>,
    #[serde(default)]
    pub(super) generate: Vec<Generator>,
}

/// Tasks use the whole node unless the job says otherwise.
fn full_cpu() -> u32 {
    100
}

/// The default of keys counting slots, tasks or instances.
pub(super) fn one() -> u32 {
    1
}

/// Reads a deallocation option by the keyword the service uses.
pub(super) fn deallocation<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DeallocationOption, D::Error> {
    let word = String::deserialize(d)?;
    DeallocationOption::from_keyword(&word).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown deallocation option `{word}`; use requeue, terminate, taskcompletion or retaineddata"
        ))
    })
}
