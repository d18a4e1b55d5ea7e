//! `tune --shard I/N` and `merge`: a large budget split across machines.
//!
//! A sequential optimiser chooses each batch from the results before it,
//! so its points cannot be dealt out like a sweep's runs. Each shard runs
//! an independent search instead — its own search seed (`--search-seed`
//! plus `I`), its own `--budget`, the same seeds for every point as every
//! other shard, so that all their points are comparable — and writes,
//! besides the usual outputs, [`MANIFEST`]: the settings and every run's
//! figures. `merge` checks that the shards searched the same thing, joins
//! their points (a point two shards both ran is kept once: on the same
//! seeds it gave the same runs) and makes the [`Tuning`] a single run with
//! all those points would have made, for the same report and files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::slo::{Metric, Slo};
use super::space::{Point, Space};
use super::{Trial, TuneSpec, Tuning};
use crate::atomic_write::write_atomically;
use crate::report::compare::SeedRun;

/// The file a tune shard writes for `merge`.
pub const MANIFEST: &str = "tune.json";

/// Why tune shards could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A manifest could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// The reason.
        message: String,
    },
    /// Two shards of different searches.
    #[error("{path} is from another tune than {first}: {what} `{here}`, not `{there}`")]
    Mismatch {
        /// The shard's manifest.
        path: String,
        /// The first shard's manifest.
        first: String,
        /// What differs (`--param`, `--seeds`, …).
        what: &'static str,
        /// Its value in this shard.
        here: String,
        /// Its value in the first.
        there: String,
    },
    /// A shard given twice, or one missing.
    #[error("{0}")]
    Shards(String),
}

fn fail(path: &Path, e: impl std::fmt::Display) -> MergeError {
    MergeError::File { path: path.display().to_string(), message: e.to_string() }
}

/// What a tune shard leaves for `merge`: what it searched and every run's
/// figures (not only the seed means of `trials.csv`, so that the merged
/// report has the same intervals and paired saving as a single run's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The scenario file, as given.
    pub scenario: String,
    /// The scenario's name.
    pub name: String,
    /// The `--param` arguments.
    pub params: Vec<String>,
    /// The `--slo` arguments.
    pub slos: Vec<String>,
    /// What is minimised (`cost`, `node_hours`).
    pub objective: String,
    /// The seeds every point ran on.
    pub seeds: Vec<u64>,
    /// This shard, `I` (from 0) of `N`.
    pub shard: (u64, u64),
    /// The seed its search used.
    pub search_seed: u64,
    /// The scenario's formula as written (none for fixed targets).
    pub formula: Option<String>,
    /// With several pools, the id of the pool whose formula is tuned.
    pub pool: Option<String>,
    /// The scenario as written, seed by seed.
    pub as_written: Vec<SeedRun>,
    /// The points in evaluation order.
    pub trials: Vec<ShardTrial>,
}

/// One point of a shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardTrial {
    /// Its values as a label, for people reading the file.
    pub label: String,
    /// The index of each value in its `--param`.
    pub point: Point,
    /// The shard's batch it ran in.
    pub batch: usize,
    /// One run per seed, in seed order.
    pub runs: Vec<SeedRun>,
}

impl Manifest {
    /// The manifest of shard `shard` of `spec`, which gave `tuning`.
    pub fn of(spec: &TuneSpec, shard: (u64, u64), tuning: &Tuning) -> Manifest {
        Manifest {
            scenario: spec.scenario.display().to_string(),
            name: tuning.scenario.clone(),
            params: spec.params.clone(),
            slos: spec.slos.clone(),
            objective: tuning.objective.name().to_owned(),
            seeds: tuning.seeds.clone(),
            shard,
            search_seed: spec.search_seed,
            formula: tuning.formula.clone(),
            pool: tuning.pool.clone(),
            as_written: tuning.as_written.runs.clone(),
            trials: tuning
                .trials
                .iter()
                .map(|t| ShardTrial {
                    label: t.label.clone(),
                    point: t.point.clone(),
                    batch: t.batch,
                    runs: t.runs.clone(),
                })
                .collect(),
        }
    }

    /// Writes it as `DIR/tune.json`.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, MergeError> {
        let path = dir.join(MANIFEST);
        let json = serde_json::to_string_pretty(self).map_err(|e| fail(&path, e))? + "\n";
        write_atomically(&path, json.as_bytes()).map_err(|e| fail(&path, e))?;
        Ok(path)
    }

    fn read(dir: &Path) -> Result<Manifest, MergeError> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            return Err(fail(
                &path,
                "not found: the folder is not a `tune --shard`'s (a sweep's shard has sweep.json)",
            ));
        }
        let text = crate::input::read_settings(&path, "a tune.json").map_err(|e| fail(&path, e))?;
        serde_json::from_str(&text).map_err(|e| fail(&path, e))
    }

    /// The first setting in which `self` differs from `first`: what,
    /// here, there.
    fn difference(&self, first: &Manifest) -> Option<(&'static str, String, String)> {
        let list = |v: &[String]| v.join(" ");
        let seeds = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
        let written = |m: &Manifest| {
            let costs: Vec<String> = m.as_written.iter().map(|r| r.cost.to_string()).collect();
            costs.join(" ")
        };
        [
            ("scenario", self.scenario.clone(), first.scenario.clone()),
            ("scenario name", self.name.clone(), first.name.clone()),
            ("--param", list(&self.params), list(&first.params)),
            ("--slo", list(&self.slos), list(&first.slos)),
            ("--objective", self.objective.clone(), first.objective.clone()),
            ("seeds", seeds(&self.seeds), seeds(&first.seeds)),
            ("shard count", self.shard.1.to_string(), first.shard.1.to_string()),
            ("formula as written", self.formula.clone().unwrap_or_default(), first.formula.clone().unwrap_or_default()),
            ("tuned pool", self.pool.clone().unwrap_or_default(), first.pool.clone().unwrap_or_default()),
            // The same file on the same seeds gives the same runs: other
            // figures mean another scenario file, or another release.
            ("scenario as written's cost by seed", written(self), written(first)),
        ]
        .into_iter()
        .find(|(_, here, there)| here != there)
    }
}

/// Joins the tune shards in `dirs` (each holding [`MANIFEST`]) into the
/// tuning of all their points; refuses shards of different searches, a
/// shard given twice and a missing one.
pub fn merge(dirs: &[PathBuf]) -> Result<Tuning, MergeError> {
    let mut shards: Vec<(PathBuf, Manifest)> = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let manifest = Manifest::read(dir)?;
        let path = dir.join(MANIFEST);
        if let Some((first_path, first)) = shards.first() {
            if let Some((what, here, there)) = manifest.difference(first) {
                return Err(MergeError::Mismatch {
                    path: path.display().to_string(),
                    first: first_path.display().to_string(),
                    what,
                    here,
                    there,
                });
            }
            if let Some((twice, _)) = shards.iter().find(|(_, m)| m.shard == manifest.shard) {
                let (i, n) = manifest.shard;
                return Err(MergeError::Shards(format!(
                    "shard {i}/{n} is given twice ({} and {}); give each shard's folder once",
                    twice.display(),
                    path.display()
                )));
            }
        }
        shards.push((path, manifest));
    }
    let Some((first_path, first)) = shards.first() else {
        return Err(MergeError::Shards("no folder given".to_owned()));
    };
    let count = first.shard.1;
    if let Some(i) = (0..count).find(|i| shards.iter().all(|(_, m)| m.shard.0 != *i)) {
        return Err(MergeError::Shards(format!("shard {i}/{count} is missing: give every shard's folder")));
    }
    let bad = |e: &dyn std::fmt::Display| fail(first_path, e);
    let space = Space::parse(&first.params).map_err(|e| bad(&e))?;
    let slos = first.slos.iter().map(|s| Slo::parse(s)).collect::<Result<Vec<_>, _>>().map_err(|e| bad(&e))?;
    let objective = Metric::ALL
        .into_iter()
        .find(|m| m.name() == first.objective)
        .ok_or_else(|| bad(&format!("`{}` is not a metric", first.objective)))?;
    let (seeds, formula, name, pool) =
        (first.seeds.clone(), first.formula.clone(), first.name.clone(), first.pool.clone());
    let as_written =
        Trial { point: Vec::new(), label: "as written".to_owned(), batch: 0, runs: first.as_written.clone() };
    shards.sort_by_key(|(_, m)| m.shard.0);
    let (mut trials, mut seen, mut batches) = (Vec::new(), HashSet::new(), 0);
    for (path, shard) in shards {
        let mut last = 0;
        for (k, t) in shard.trials.into_iter().enumerate() {
            let fits =
                t.point.len() == space.dims.len() && t.point.iter().zip(&space.dims).all(|(&i, d)| i < d.values.len());
            if !fits || t.runs.len() != seeds.len() {
                return Err(fail(&path, format!("point {} does not fit its --param values and seeds", k + 1)));
            }
            last = last.max(t.batch + 1);
            if seen.insert(space.index(&t.point)) {
                trials.push(Trial {
                    label: space.label(&t.point),
                    point: t.point,
                    batch: batches + t.batch,
                    runs: t.runs,
                });
            }
        }
        // Batches are numbered on through the shards, as one run would.
        batches += last;
    }
    Ok(Tuning { scenario: name, space, objective, slos, seeds, as_written, trials, formula, pool })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_reads_back_the_same_figures_bit_for_bit() {
        let run =
            |x: f64| SeedRun { seed: 7, cost: x, node_hours: x * 3.0, p95_wait_s: Some(x / 7.0), ..SeedRun::default() };
        let manifest = Manifest {
            scenario: "s.toml".into(),
            name: "s".into(),
            params: vec!["formula.cap=1..4".into()],
            slos: vec!["p95_wait<=30m".into()],
            objective: "cost".into(),
            seeds: vec![7],
            shard: (1, 2),
            search_seed: 1,
            formula: Some("cap = 2;".into()),
            pool: Some("batch".into()),
            as_written: vec![run(0.1 + 0.2)],
            trials: vec![ShardTrial {
                label: "formula.cap=3".into(),
                point: vec![2],
                batch: 0,
                runs: vec![run(1e-300 / 3.0)],
            }],
        };
        let dir = std::env::temp_dir().join(format!("autoscale-sim-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        manifest.write(&dir).unwrap();
        let read = Manifest::read(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.unwrap(), manifest);
    }
}
