//! What a node fetches before it can do useful work: application
//! packages (the pool's, once per node; a job's or a task's, once per node
//! and package, then cached), resource files (every time the start task,
//! a job task or a task that lists them runs) and a container image
//! (pulled once per node, before its start task). Each takes the time the
//! VM size's download speed (`vm.download_per_gib`) gives its size.
//! Real agents fetch nothing: they run the command lines as written.

use serde::Deserialize;

use super::Dist;
use crate::time::SimDuration;

/// How long downloading `mib` MiB takes at `per_gib` a GiB.
pub fn download_time(per_gib: SimDuration, mib: u64) -> SimDuration {
    SimDuration::from_millis_f64(per_gib.as_millis() as f64 * mib as f64 / 1024.0)
}

/// How long a VM takes to download one GiB when the scenario does not
/// say: 8 s, about 1 Gbit/s, a small VM's share of the storage service.
pub const DEFAULT_DOWNLOAD_PER_GIB: SimDuration = SimDuration::from_secs(8);

/// An application package: downloaded to a node once, then kept there
/// (until a reimage or a preemption gives the node a new disk). A package
/// is known by its name and size: two sizes of one name are two versions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Its name.
    pub name: String,
    /// Its size in MiB.
    pub size_mib: u64,
}

/// A resource file: downloaded every time the task that lists it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFile {
    /// Its size in MiB.
    pub size_mib: u64,
}

/// A container image, pulled once per node before its start task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    /// The image's size in MiB, downloaded at the VM's speed.
    pub image_size_mib: u64,
    /// What the pull takes besides the download (extracting the layers);
    /// none by default.
    pub pull_time: Option<Dist>,
}

/// The MiB `files` add up to.
pub fn total_mib(files: &[ResourceFile]) -> u64 {
    files.iter().map(|f| f.size_mib).sum()
}

/// What a task fetches when it runs: its packages (kept on the node) and
/// its resource files (fetched every run), besides its job's packages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskFiles {
    /// Packages, each fetched on a node that does not have it yet.
    pub packages: Vec<Package>,
    /// The resource files' MiB, fetched every run.
    pub resource_mib: u64,
}
