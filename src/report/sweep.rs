//! `sweep` and `merge`: a grid of scenario parameters × seeds, runnable in
//! shards (one per array-job task on a cluster) and joined afterwards into
//! exactly the files and table an unsharded sweep gives.
//!
//! Run `k` of the grid is grid point `k / seeds`, seed `k % seeds`; shard
//! `I/N` runs the `k` with `k % N == I`, so shards get similar mixes of
//! points. Every run's numbers go to CSV in shortest round-trip form, so
//! reading them back gives the same `f64`s and the merged table matches
//! the unsharded one bit for bit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::compare::{Comparison, SeedRun};
use super::params::{Base, Key, PointError};
use crate::atomic_write::write_atomically;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Why a sweep or merge could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A `--param` is not `path=value,value…`.
    #[error("--param {0}: write PATH=VALUE[,VALUE…], e.g. pool.autoscale.interval=5m,15m")]
    Param(String),
    /// A `--shard` is not `I/N` with `I < N`.
    #[error("--shard {0}: write I/N with 0 <= I < N, e.g. 0/4")]
    Shard(String),
    /// A grid point's scenario could not be made: a bad path, an invalid
    /// scenario, a formula constant that cannot be set.
    #[error(transparent)]
    Point(#[from] PointError),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The reason.
        message: String,
    },
    /// A run stopped before its end: a trace changed since the
    /// scenario was loaded.
    #[error("{0}")]
    Stopped(#[from] crate::scenario::TraceError),
    /// The shards given to `merge` do not make one whole sweep.
    #[error("cannot merge: {0}")]
    Merge(String),
}

fn io(path: &Path, e: impl std::fmt::Display) -> SweepError {
    SweepError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// The grid: what `sweep.json` records, so that `merge` can check that its
/// shards belong to the same sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    /// The scenario file, as given.
    pub scenario: String,
    /// Each parameter: its path and its values, in the order given.
    pub params: Vec<(String, Vec<String>)>,
    /// Seeds per grid point: the scenario's seed and the ones after it.
    pub seeds: u64,
    /// Shard count the runs were split into (1: unsharded).
    pub shards: u64,
}

impl Grid {
    /// Parses `--param` arguments.
    pub fn new(scenario: &Path, params: &[String], seeds: u64) -> Result<Grid, SweepError> {
        let mut parsed = Vec::new();
        for p in params {
            let Some((path, values)) = p.split_once('=') else {
                return Err(SweepError::Param(p.clone()));
            };
            let values: Vec<String> = values.split(',').map(|v| v.trim().to_owned()).collect();
            if path.trim().is_empty() || values.iter().any(String::is_empty) {
                return Err(SweepError::Param(p.clone()));
            }
            parsed.push((path.trim().to_owned(), values));
        }
        Ok(Grid { scenario: scenario.display().to_string(), params: parsed, seeds, shards: 1 })
    }

    /// Number of grid points.
    pub fn points(&self) -> usize {
        // Saturating: a merged `sweep.json` may claim any sizes.
        self.params.iter().fold(1usize, |n, (_, v)| n.saturating_mul(v.len()))
    }

    /// The values of grid point `i`: the last parameter varies fastest.
    pub fn point(&self, mut i: usize) -> Vec<(&str, &str)> {
        let mut out = vec![("", ""); self.params.len()];
        for (slot, (path, values)) in out.iter_mut().zip(&self.params).rev() {
            *slot = (path.as_str(), values[i % values.len()].as_str());
            i /= values.len();
        }
        out
    }

    /// Grid point `i` as a label: `interval=5m, seed…`.
    pub fn label(&self, i: usize) -> String {
        let parts: Vec<String> = self.point(i).iter().map(|(p, v)| format!("{p}={v}")).collect();
        if parts.is_empty() { "scenario as is".to_owned() } else { parts.join(", ") }
    }
}

/// Parses `I/N`.
pub fn parse_shard(text: &str) -> Result<(u64, u64), SweepError> {
    let bad = || SweepError::Shard(text.to_owned());
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// Where a run is in the grid: the first columns of `runs.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GridPlace {
    /// Run number in the whole grid.
    pub run: u64,
    /// Grid point.
    pub point: u64,
    /// The grid point's values, as a label.
    pub params: String,
}

/// One run of the grid, a row of `runs.csv`: its place, then its figures.
///
/// The csv crate writes a struct inside a struct without a header (and
/// cannot write `#[serde(flatten)]`), but writes a tuple of structs with
/// one: a row is the tuple `(place, figures)`, its header the fields of
/// [`GridPlace`] then those of [`SeedRun`]. Read back, a row is taken by
/// position, once its file's header is checked against that one.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Where it is in the grid.
    pub place: GridPlace,
    /// Its figures (no chart series: a sweep keeps none).
    pub figures: SeedRun,
}

impl Serialize for RunRow {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.place, &self.figures).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RunRow {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (place, figures) = Deserialize::deserialize(deserializer)?;
        Ok(RunRow { place, figures })
    }
}

/// `runs.csv` from `rows`: the header, then a line per row.
fn runs_csv(rows: &[RunRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The rows of a `runs.csv` file, after checking that its header is the
/// one [`runs_csv`] writes.
/// Reads the rows of a `runs*.csv` file, refusing more than `room` (what is
/// left of the sweep's runs), so that a wrong or endless file cannot fill memory.
fn read_runs_csv(file: &Path, room: u64) -> Result<Vec<RunRow>, SweepError> {
    let mut r = csv::Reader::from_path(file).map_err(|e| io(file, e))?;
    let header = r.headers().map_err(|e| io(file, e))?.clone();
    let mut rows = Vec::new();
    for record in r.records() {
        let record = record.map_err(|e| io(file, e))?;
        if rows.len() as u64 == room {
            return Err(SweepError::Merge(format!(
                "{} holds more runs than the sweep has left ({room}); give each shard's folder once",
                file.display()
            )));
        }
        if rows.is_empty() {
            let expected = expected_header().map_err(|e| io(file, e))?;
            if header != expected {
                let found = header.iter().collect::<Vec<_>>().join(",");
                let wanted = expected.iter().collect::<Vec<_>>().join(",");
                return Err(io(file, format!("the columns are {found}, not {wanted}")));
            }
        }
        rows.push(record.deserialize(None).map_err(|e| io(file, e))?);
    }
    Ok(rows)
}

/// The header [`runs_csv`] writes.
fn expected_header() -> Result<csv::StringRecord, csv::Error> {
    let row = RunRow { place: GridPlace::default(), figures: SeedRun::default() };
    let bytes = runs_csv(&[row])?;
    csv::Reader::from_reader(bytes.as_slice()).headers().cloned()
}

/// The result of a sweep or a merge: every run, in run order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The grid.
    pub grid: Grid,
    /// The rows this sweep (or shard) ran.
    pub rows: Vec<RunRow>,
}

/// Runs the grid's runs that belong to `shard` (`(0, 1)`: all), in parallel.
pub fn sweep(grid: &Grid, shard: (u64, u64), progress: &(dyn Fn() + Sync)) -> Result<Sweep, SweepError> {
    let base = Base::load(Path::new(&grid.scenario))?;
    let keys: Vec<Key> = grid.params.iter().map(|(path, _)| Key::parse(path)).collect();
    // Every point's scenario, checked before any run starts.
    let mut scenarios = Vec::with_capacity(grid.points());
    for p in 0..grid.points() {
        let point: Vec<(&Key, &str)> = keys.iter().zip(grid.point(p)).map(|(k, (_, v))| (k, v)).collect();
        scenarios.push(Arc::new(base.scenario(&point, &grid.label(p))?));
    }
    let total = (grid.points() as u64).saturating_mul(grid.seeds);
    let mine: Vec<u64> = (0..total).filter(|k| k % shard.1 == shard.0).collect();
    let rows = mine
        .par_iter()
        .map(|&run| {
            let point = run / grid.seeds;
            let scenario = &scenarios[point as usize];
            let seed = scenario.seed.wrapping_add(run % grid.seeds);
            let figures = SeedRun::measure(Arc::clone(scenario), seed, false)?;
            progress();
            Ok(RunRow { place: GridPlace { run, point, params: grid.label(point as usize) }, figures })
        })
        .collect::<Result<Vec<RunRow>, SweepError>>()?;
    Ok(Sweep { grid: Grid { shards: shard.1, ..grid.clone() }, rows })
}

impl Sweep {
    /// The grid points as a comparison (one "formula" per point, the
    /// seeds shared), for the same table and paired tests as `compare`.
    /// Only meaningful on a whole sweep.
    pub fn comparison(&self) -> Comparison {
        let points = self.grid.points();
        let mut runs: Vec<Vec<SeedRun>> = vec![Vec::new(); points];
        let mut seeds = Vec::new();
        for row in &self.rows {
            if row.place.point == 0 {
                seeds.push(row.figures.seed);
            }
            if let Some(slot) = runs.get_mut(row.place.point as usize) {
                slot.push(row.figures.clone());
            }
        }
        let stem = Path::new(&self.grid.scenario).file_stem().map(|s| s.to_string_lossy().into_owned());
        Comparison {
            what: "grid point",
            scenario: stem.unwrap_or_default(),
            formulas: (0..points).map(|p| self.grid.label(p)).collect(),
            seeds,
            runs,
        }
    }

    /// Writes `sweep.json` and `runs.csv` (a shard: `runs-I-of-N.csv`)
    /// and, for a whole sweep, `summary.csv`; returns the paths.
    pub fn write(&self, dir: &Path, shard: (u64, u64)) -> Result<Vec<PathBuf>, SweepError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let mut written = Vec::new();
        let json = serde_json::to_string_pretty(&self.grid).map_err(|e| io(dir, e))? + "\n";
        written.push(atomic(dir, "sweep.json", json.as_bytes())?);
        let name = if shard.1 == 1 { "runs.csv".to_owned() } else { format!("runs-{}-of-{}.csv", shard.0, shard.1) };
        let bytes = runs_csv(&self.rows).map_err(|e| io(&dir.join(&name), e))?;
        written.push(atomic(dir, &name, &bytes)?);
        if shard.1 == 1 {
            let c = self.comparison();
            let mut w = csv::Writer::from_writer(Vec::new());
            let path = dir.join("summary.csv");
            w.write_record(c.headings()).map_err(|e| io(&path, e))?;
            for row in c.rows() {
                w.write_record(&row).map_err(|e| io(&path, e))?;
            }
            let bytes = w.into_inner().map_err(|e| io(&path, e))?;
            written.push(atomic(dir, "summary.csv", &bytes)?);
        }
        Ok(written)
    }
}

/// Writes `name` in `dir` whole or not at all (see [`write_atomically`]).
fn atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, SweepError> {
    let path = dir.join(name);
    write_atomically(&path, bytes).map_err(|e| io(&path, e))?;
    Ok(path)
}

/// Joins the shards found in `dirs` (each holding `sweep.json` and
/// `runs*.csv`) into one whole sweep; refuses shards of different sweeps,
/// duplicated runs and missing ones.
pub fn merge(dirs: &[PathBuf]) -> Result<Sweep, SweepError> {
    let mut grid: Option<Grid> = None;
    let mut rows: Vec<RunRow> = Vec::new();
    for dir in dirs {
        let path = dir.join("sweep.json");
        let text = crate::input::read_settings(&path, "a sweep.json").map_err(|e| io(&path, e))?;
        let g: Grid = serde_json::from_str(&text).map_err(|e| io(&path, e))?;
        match &grid {
            Some(first) if Grid { shards: first.shards, ..g.clone() } != *first => {
                return Err(SweepError::Merge(format!("{} is from another sweep", path.display())));
            }
            Some(_) => {}
            None => grid = Some(g),
        }
        let total = grid.as_ref().map_or(0, |g| (g.points() as u64).saturating_mul(g.seeds));
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("runs") && name.ends_with(".csv")
            })
            .collect();
        files.sort();
        for file in files {
            let room = total.saturating_sub(rows.len() as u64);
            rows.extend(read_runs_csv(&file, room)?);
        }
    }
    let Some(grid) = grid else {
        return Err(SweepError::Merge("no folder given".to_owned()));
    };
    rows.sort_by_key(|r| r.place.run);
    let total = (grid.points() as u64).saturating_mul(grid.seeds);
    for (expected, row) in (0..).zip(&rows) {
        let found = row.place.run;
        if found != expected {
            let what = if found < expected { "twice" } else { "missing" };
            let run = if found < expected { found } else { expected };
            return Err(SweepError::Merge(format!("run {run} is {what}; give each shard's folder once")));
        }
    }
    if rows.len() as u64 != total {
        return Err(SweepError::Merge(format!("{} of {total} runs found; a shard is missing", rows.len())));
    }
    Ok(Sweep { grid: Grid { shards: 1, ..grid }, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_csv_has_the_place_then_the_figures_and_reads_back_the_same() {
        let figures = SeedRun {
            seed: 7,
            cost: 0.1 + 0.2,
            node_hours: 2.5,
            mean_wait_s: Some(1.0 / 3.0),
            makespan_s: Some(90.0),
            unfinished: 1,
            utilisation: Some(0.25),
            idle_cost: 0.5,
            ..SeedRun::default()
        };
        let row = RunRow { place: GridPlace { run: 3, point: 1, params: "a=1, b=x".to_owned() }, figures };
        let text = String::from_utf8(runs_csv(std::slice::from_ref(&row)).unwrap()).unwrap();
        assert_eq!(
            text,
            "run,point,params,seed,cost,node_hours,mean_wait_s,p95_wait_s,makespan_s,unfinished,\
             failed_evaluations,requeued_hours,utilisation,idle_cost\n3,1,\"a=1, b=x\",7,0.30000000000000004,2.5,0.3333333333333333,,90.0,1,0,0.0,0.25,0.5\n"
        );
        let dir = std::env::temp_dir().join(format!("autoscale-sim-runs-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("runs.csv");
        std::fs::write(&file, &text).unwrap();
        assert_eq!(read_runs_csv(&file, 1).unwrap(), [row]);
        let e = read_runs_csv(&file, 0).unwrap_err().to_string();
        assert!(
            e.ends_with("runs.csv holds more runs than the sweep has left (0); give each shard's folder once"),
            "{e}"
        );
        std::fs::write(&file, text.replacen("run,point", "point,run", 1)).unwrap();
        let e = read_runs_csv(&file, 1).unwrap_err().to_string();
        assert!(e.contains("the columns are point,run,params"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn grid_points_vary_the_last_parameter_fastest() {
        let params = ["a=1,2".to_owned(), "b=x,y,z".to_owned()];
        let g = Grid::new(Path::new("s.toml"), &params, 3).unwrap();
        assert_eq!(g.points(), 6);
        assert_eq!(g.label(0), "a=1, b=x");
        assert_eq!(g.label(4), "a=2, b=y");
        assert!(Grid::new(Path::new("s.toml"), &["nope".to_owned()], 1).is_err());
        assert_eq!(parse_shard("1/4").unwrap(), (1, 4));
        assert!(parse_shard("4/4").is_err() && parse_shard("x").is_err());
    }
}
