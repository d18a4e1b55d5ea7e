//! The scenario file as written: the raw structs serde reads, which refuse
//! unknown keys and wrong types (with toml's line and column) but check no
//! ranges — `pool`, `job` and `sources` do that, key by key, as they build
//! the checked scenario; and the defaults and readers serde uses for keys
//! of the public types. Fields are named as the file's keys.

use std::collections::BTreeMap;
use std::path::PathBuf;

use autoscale_runtime::DeallocationOption;
use serde::Deserialize;

use super::{
    Account, Container, Dist, Generator, Image, JobTask, ManualResize, Metrics, NodeAction, NodeFill, Package,
    StartTask, TaskEntry,
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
    /// The one-pool form, `[pool]`.
    pub(super) pool: Option<FilePool>,
    /// The several-pool form, `[[pools]]`, each with its `id`.
    #[serde(default)]
    pub(super) pools: Vec<FilePool>,
    #[serde(default)]
    pub(super) metrics: Metrics,
    #[serde(default)]
    pub(super) jobs: Vec<FileJob>,
    #[serde(default)]
    pub(super) schedules: Vec<FileSchedule>,
}

/// One `[[schedules]]` table: when its jobs are created, and the job each
/// occurrence creates, written with the keys of a `[[jobs]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSchedule {
    pub(super) id: String,
    pub(super) every: SimDuration,
    pub(super) from: Option<SimDuration>,
    pub(super) until: Option<SimDuration>,
    pub(super) job: FileJob,
}

/// `[pool]`: either fixed targets (with resizes) or `[pool.autoscale]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FilePool {
    pub(super) id: Option<String>,
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
    #[serde(default)]
    pub(super) application_packages: Vec<Package>,
    pub(super) container: Option<Container>,
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
    pub(super) pool: Option<String>,
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
    pub(super) application_packages: Vec<Package>,
    #[serde(default)]
    pub(super) tasks: Vec<TaskEntry>,
    #[serde(default, deserialize_with = "trace_file")]
    pub(super) trace: Option<FileTrace>,
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

/// The `vm` key as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FileVm {
    /// A size of the catalog, priced by `pool.prices`.
    Name(String),
    /// Cores and prices, or a name with the cores taken from the catalog.
    Table(VmTable),
}

/// `vm = { … }`: cores and prices, or a name whose cores the catalog gives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VmTable {
    #[serde(default)]
    pub(super) name: String,
    pub(super) cores: Option<u32>,
    pub(super) dedicated_price: Option<f64>,
    pub(super) low_priority_price: Option<f64>,
    pub(super) download_per_gib: Option<Dist>,
}

impl<'de> Deserialize<'de> for FileVm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<FileVm, D::Error> {
        string_or_table(
            deserializer,
            "a VM size's name or a table such as { cores = 2, dedicated_price = 0.096 }",
            |name| FileVm::Name(name.to_owned()),
            FileVm::Table,
        )
    }
}

/// The `trace` key: a file's path, or `{ file, processors_per_node }` for
/// an SWF log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTrace {
    pub(super) file: PathBuf,
    pub(super) processors_per_node: Option<u32>,
}

/// Reads `trace` as a path or as a [`FileTrace`] table.
fn trace_file<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<FileTrace>, D::Error> {
    string_or_table(
        deserializer,
        "a trace file's path, or { file = \"log.swf\", processors_per_node = 8 }",
        |path| FileTrace { file: PathBuf::from(path), processors_per_node: None },
        |table| table,
    )
    .map(Some)
}

/// Reads a key written either as a string or as a table, making its value
/// with `from_str` or `from_table`. A table's own errors (an unknown key, a
/// wrong type) are reported as such, where an untagged enum would only
/// say that no variant matched.
fn string_or_table<'de, D, T, R>(
    deserializer: D,
    expecting: &'static str,
    from_str: fn(&str) -> R,
    from_table: fn(T) -> R,
) -> Result<R, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Visitor<T, R> {
        expecting: &'static str,
        from_str: fn(&str) -> R,
        from_table: fn(T) -> R,
    }
    impl<'de, T: Deserialize<'de>, R> serde::de::Visitor<'de> for Visitor<T, R> {
        type Value = R;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<R, E> {
            Ok((self.from_str)(text))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<R, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(self.from_table)
        }
    }
    deserializer.deserialize_any(Visitor { expecting, from_str, from_table })
}
