//! VM sizes: the `vm` key of `[pool]` — a bundled size's name, or a table
//! of cores and hourly prices — resolved against the catalog of sizes in
//! `assets/vm-sizes.csv` (vCPUs and memory from the service's VM size
//! documentation) and the scenario's prices.
//!
//! ```toml
//! vm = { name = "Standard_D2s_v3", dedicated_price = 0.096 }  # cores from the catalog
//! vm = { cores = 2, dedicated_price = 0.096 }                 # any VM
//! vm = "Standard_D2s_v3"                                      # prices from `pool.prices`
//! prices = "prices.toml"   # [Standard_D2s_v3] dedicated = 0.096, low_priority = 0.0192
//! ```
//!
//! Names are compared without case, as the service accepts them. Prices
//! are not bundled: they depend on the region, the operating system and
//! the date.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;

use super::downloads::DEFAULT_DOWNLOAD_PER_GIB;
use super::error::Check;
use super::file::{FileVm, VmTable};
use super::{Dist, ScenarioError};
use crate::input::read_settings;

/// The catalog's CSV, embedded in the binary.
const CATALOG_CSV: &str = include_str!("../../assets/vm-sizes.csv");

/// A VM size of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownSize {
    /// The service's name, e.g. `Standard_D2s_v3`.
    pub name: String,
    /// Its vCPUs: what quotas count.
    pub vcpus: u32,
    /// Its memory in GiB.
    pub memory_gib: f64,
}

#[derive(Deserialize)]
struct CatalogRow {
    name: String,
    vcpus: u32,
    memory_gib: f64,
}

static CATALOG: LazyLock<Vec<KnownSize>> = LazyLock::new(|| {
    csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(CATALOG_CSV.as_bytes())
        .deserialize::<CatalogRow>()
        .map(|row| {
            let row = row.expect("assets/vm-sizes.csv is checked by a test");
            KnownSize { name: row.name, vcpus: row.vcpus, memory_gib: row.memory_gib }
        })
        .collect()
});

/// Every size of the catalog.
pub fn catalog() -> &'static [KnownSize] {
    &CATALOG
}

/// The catalog's size named `name` (any case), or an error that names the
/// closest ones.
pub fn lookup(name: &str) -> Result<&'static KnownSize, String> {
    if let Some(size) = CATALOG.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
        return Ok(size);
    }
    let wanted = name.to_ascii_lowercase();
    let mut by_distance: Vec<(usize, &str)> =
        CATALOG.iter().map(|s| (strsim::levenshtein(&wanted, &s.name.to_ascii_lowercase()), s.name.as_str())).collect();
    by_distance.sort();
    let closest: Vec<&str> = by_distance.iter().take(3).map(|&(_, n)| n).collect();
    Err(format!(
        "`{name}` is not a VM size this simulator knows (closest: {}); give its cores: vm = {{ name = \"{name}\", cores = N, dedicated_price = … }}",
        closest.join(", ")
    ))
}

/// One size's prices in a prices file.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePrice {
    dedicated: f64,
    #[serde(default)]
    low_priority: f64,
}

/// A VM size: cores, hourly prices and download speed.
#[derive(Debug, Clone, PartialEq)]
pub struct VmSize {
    /// For reports, e.g. `Standard_D2s_v3`.
    pub name: String,
    /// Cores per node: what quotas count.
    pub cores: u32,
    /// Price of a dedicated node per hour.
    pub dedicated_price: f64,
    /// Price of a low-priority (spot) node per hour.
    pub low_priority_price: f64,
    /// How long a node takes to download one GiB (packages, resource
    /// files, container images), drawn per download.
    pub download_per_gib: Dist,
}

/// Resolves `pool.vm` with the prices of `pool.prices` (a file under `base`), if given.
pub(super) fn resolve(
    check: &Check<'_>,
    vm: FileVm,
    prices: Option<&Path>,
    base: &Path,
) -> Result<VmSize, ScenarioError> {
    let prices: BTreeMap<String, FilePrice> = match prices {
        Some(path) => {
            let text = read_settings(&base.join(path), "the prices file")
                .map_err(|e| ScenarioError::Io { path: base.join(path).display().to_string(), message: e.to_string() });
            let text = match text {
                Ok(text) => text,
                Err(e) => return check.file_error("prices", e),
            };
            let table: BTreeMap<String, FilePrice> = toml::from_str(&text)
                .or_else(|e| check.fail("prices", format!("{}: {}", path.display(), e.message())))?;
            table.into_iter().map(|(name, price)| (name.to_ascii_lowercase(), price)).collect()
        }
        None => BTreeMap::new(),
    };
    let table = match vm {
        FileVm::Name(name) => {
            VmTable { name, cores: None, dedicated_price: None, low_priority_price: None, download_per_gib: None }
        }
        FileVm::Table(table) => table,
    };
    let cores = match (table.cores, table.name.as_str()) {
        (Some(cores), _) => cores,
        (None, "") => return check.fail("vm", "give the VM's cores (`cores = 2`) or a known size's `name`"),
        (None, name) => lookup(name).or_else(|e| check.fail("vm.name", e))?.vcpus,
    };
    let listed = prices.get(&table.name.to_ascii_lowercase());
    let dedicated_price = match (table.dedicated_price, listed) {
        (Some(price), _) => price,
        (None, Some(listed)) => listed.dedicated,
        (None, None) => {
            let hint = if prices.is_empty() { "" } else { " (the prices file has no such size)" };
            return check.fail(
                "vm.dedicated_price",
                format!("the VM's price per hour is needed{hint}: add `dedicated_price = …` to vm, or list the size in `pool.prices`"),
            );
        }
    };
    let low_priority_price = table.low_priority_price.or(listed.map(|p| p.low_priority)).unwrap_or(0.0);
    let download_per_gib = table.download_per_gib.unwrap_or(Dist::Fixed(DEFAULT_DOWNLOAD_PER_GIB));
    Ok(VmSize { name: table.name, cores, dedicated_price, low_priority_price, download_per_gib })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_reads_and_its_names_are_unique() {
        assert!(catalog().len() > 100);
        let mut names: Vec<String> = catalog().iter().map(|s| s.name.to_ascii_lowercase()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), catalog().len());
        assert!(catalog().iter().all(|s| s.vcpus >= 1 && s.memory_gib > 0.0));
    }

    #[test]
    fn sizes_are_found_in_any_case_and_unknown_ones_get_the_closest() {
        let size = lookup("standard_d2s_v3").unwrap();
        assert_eq!((size.name.as_str(), size.vcpus, size.memory_gib), ("Standard_D2s_v3", 2, 8.0));
        assert_eq!(lookup("STANDARD_E64S_V3").unwrap().memory_gib, 432.0);
        let e = lookup("Standard_D2sv3").unwrap_err();
        assert_eq!(
            e,
            "`Standard_D2sv3` is not a VM size this simulator knows (closest: Standard_D2_v3, Standard_D2s_v3, \
             Standard_D2_v2); give its cores: vm = { name = \"Standard_D2sv3\", cores = N, dedicated_price = … }"
        );
    }
}
