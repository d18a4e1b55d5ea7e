//! What a run of several pools leaves behind: each pool's files, exactly
//! as a one-pool run writes them (its tasks, timeline, evaluations and job
//! task runs as the run goes), in a folder named after the pool, and
//! the account's summary — each pool's summary with its id, and the
//! account's total cost and node-hours — as `summary.json` beside them
//! and as the text `autoscale-sim run` prints.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::charts::ChartError;
use super::split::Split;
use super::summary::Summary;
use super::{ReportError, files};
use crate::sim::Output;
use crate::time::SimDuration;

/// Why the files of a run of several pools could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// An output file.
    #[error(transparent)]
    Files(#[from] ReportError),
    /// A chart or `report.html`.
    #[error(transparent)]
    Charts(#[from] ChartError),
}

/// A run of several pools in numbers: the content of the account's `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountSummary {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The account's cost: every pool's, each at its own VM size's prices.
    pub cost: Split,
    /// The account's billed node-hours.
    pub node_hours: Split,
    /// Each pool's summary, in the scenario's order.
    pub pools: Vec<PoolSummary>,
}

/// One pool's summary in the account's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolSummary {
    /// The pool's id: the folder its files are in.
    pub pool: String,
    /// Its summary, as a one-pool run's `summary.json` has it.
    #[serde(flatten)]
    pub summary: Summary,
}

impl AccountSummary {
    /// The summary of the run whose pools produced `outputs`, in the
    /// scenario's order.
    pub fn of(outputs: &[Output]) -> AccountSummary {
        let pools: Vec<PoolSummary> = outputs
            .iter()
            .map(|output| PoolSummary { pool: output.pool.clone(), summary: Summary::of(output) })
            .collect();
        let sum = |of: fn(&Summary) -> &Split| {
            let total =
                pools.iter().map(|p| of(&p.summary)).fold([0.0; 2], |s, x| [s[0] + x.dedicated, s[1] + x.low_priority]);
            Split::new(total)
        };
        let first = outputs.first();
        AccountSummary {
            scenario: first.map(|o| o.name.clone()).unwrap_or_default(),
            seed: first.map_or(0, |o| o.seed),
            cost: sum(|s| &s.cost),
            node_hours: sum(|s| &s.node_hours),
            pools,
        }
    }

    /// The summary for people: each pool's under its id, then the account's total.
    pub fn to_text(&self, duration: SimDuration) -> String {
        let mut s = String::new();
        for p in &self.pools {
            let _ = writeln!(s, "pool {}", p.pool);
            for line in p.summary.to_text(duration).lines() {
                let _ = writeln!(s, "  {line}");
            }
        }
        for (label, x) in [("account cost", &self.cost), ("account node-hours", &self.node_hours)] {
            let _ = writeln!(s, "{}", x.line(label, 19));
        }
        s
    }
}

/// The folder of pool `id`'s files in the run's folder `dir`.
pub fn pool_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join(id)
}

/// Writes each pool's files that are not written as the run goes (see
/// [`files::write_others`]), its charts and `report.html` into
/// [`pool_dir`], and the account's `summary.json` into `dir`; returns the
/// paths written. Each pool's tasks, timeline, evaluations and job task
/// runs went to its [`super::RunFiles`] there.
pub fn write_others(outputs: &[Output], summary: &AccountSummary, dir: &Path) -> Result<Vec<PathBuf>, WriteError> {
    let mut written = Vec::new();
    for (output, pool) in outputs.iter().zip(&summary.pools) {
        let pool_dir = pool_dir(dir, &pool.pool);
        written.extend(files::write_others(output, &pool.summary, &pool_dir)?);
        written.extend(super::run_report::write(output, &pool.summary, &pool_dir)?);
    }
    written.push(files::write_json(dir, "summary.json", summary)?);
    Ok(written)
}
