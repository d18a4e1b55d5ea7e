//! The machine's resource usage, sampled from the OS with `sysinfo`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sysinfo::{Disks, Networks, System};

use super::protocol::Usage;

/// Samples CPU, memory, disk and network use. Each sample covers the time
/// since the previous one (the first, since [`UsageSampler::new`]), which
/// is what the service's per-interval node metrics are.
pub struct UsageSampler {
    system: System,
    disks: Disks,
    networks: Networks,
    /// Where the node's files go: disk space is measured on its disk.
    root: PathBuf,
}

impl UsageSampler {
    /// Takes the first reading; `root` picks the disk whose space is reported.
    pub fn new(root: &Path) -> Result<UsageSampler, sysinfo::Error> {
        let mut system = System::new()?;
        system.refresh_cpu_usage();
        Ok(UsageSampler {
            system,
            disks: Disks::new_with_refreshed_list()?,
            networks: Networks::new_with_refreshed_list()?,
            root: root.canonicalize().unwrap_or_else(|_| root.to_owned()),
        })
    }

    /// The usage since the previous sample.
    pub fn sample(&mut self) -> Usage {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);

        // Several mount points can show the same device: count its traffic once.
        let mut seen = HashSet::new();
        let (mut read, mut written) = (0u64, 0u64);
        for disk in self.disks.iter().filter(|d| seen.insert(d.name().to_owned())) {
            let io = disk.usage();
            read = read.saturating_add(io.read_bytes);
            written = written.saturating_add(io.written_bytes);
        }
        // The disk of the node root is the one with the longest mount point above it.
        let disk_bytes = self
            .disks
            .iter()
            .filter(|d| self.root.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len())
            .map_or(0, |d| d.total_space().saturating_sub(d.available_space()));

        let (mut received, mut transmitted) = (0u64, 0u64);
        for (_, data) in
            self.networks.iter().filter(|(_, data)| !data.ip_networks().iter().any(|n| n.addr.is_loopback()))
        {
            received = received.saturating_add(data.received());
            transmitted = transmitted.saturating_add(data.transmitted());
        }

        Usage {
            cpu_percent: f64::from(self.system.global_cpu_usage()),
            memory_bytes: self.system.used_memory() as f64,
            disk_bytes: disk_bytes as f64,
            disk_read_bytes: read as f64,
            disk_write_bytes: written as f64,
            network_in_bytes: received as f64,
            network_out_bytes: transmitted as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_plausible() {
        let mut sampler = UsageSampler::new(Path::new(".")).unwrap();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let usage = sampler.sample();
        assert!((0.0..=100.0).contains(&usage.cpu_percent), "{usage:?}");
        assert!(usage.memory_bytes > 0.0, "{usage:?}");
        assert!(usage.disk_bytes >= 0.0 && usage.network_in_bytes >= 0.0, "{usage:?}");
    }
}
