//! The output files of a run, each written whole or not at all:
//! `timeline.csv`, `evaluations.jsonl`, `operations.jsonl`, `tasks.csv`,
//! `job_tasks.csv` and `summary.json`. All but `operations.jsonl` and
//! `summary.json` are written as the run goes
//! ([`RunFiles`](super::RunFiles)), so that finished tasks, past rows,
//! evaluations and job task runs need not stay in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::summary::Summary;
use crate::atomic_write::{TempFile, write_atomically_with};
use crate::sim::Output;
use crate::time::SimTime;

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder or a file could not be created, written or renamed.
    #[error("cannot write {path}: {message}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        message: String,
    },
}

impl ReportError {
    pub(super) fn io(path: &Path, e: impl std::fmt::Display) -> ReportError {
        ReportError::Io { path: path.to_owned(), message: e.to_string() }
    }
}

/// The file names (`tasks.csv`, `timeline.csv`, `evaluations.jsonl` and
/// `job_tasks.csv` are written first, as the run goes, by
/// [`RunFiles`](super::RunFiles); then the others in this order).
pub const FILES: [&str; 6] =
    ["timeline.csv", "evaluations.jsonl", "operations.jsonl", "tasks.csv", "job_tasks.csv", "summary.json"];

/// Writes the output files that are not written as the run goes
/// (`operations.jsonl`, `summary.json`) into `dir` (created if missing);
/// returns their paths.
pub fn write_others(output: &Output, summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    Ok(vec![atomically(dir, FILES[2], |w| operations(output, w))?, write_json(dir, FILES[5], summary)?])
}

/// Writes `value` as pretty JSON, with a final newline, to `name` in `dir`
/// (whole or not at all); returns its path.
pub(super) fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<PathBuf, ReportError> {
    atomically(dir, name, |w| {
        serde_json::to_writer_pretty(&mut *w, value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

/// Writes `name` in `dir` whole or not at all (see [`write_atomically_with`]).
fn atomically(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    write_atomically_with(&path, write).map_err(|e| ReportError::io(&path, e))?;
    Ok(path)
}

/// Milliseconds as seconds with three decimals, exactly.
pub(super) fn seconds(t: SimTime) -> String {
    let ms = t.as_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// One line of `operations.jsonl`: an operation the service refused,
/// with the error it answered.
#[derive(Serialize)]
struct OperationLine {
    timestamp: String,
    elapsed_s: f64,
    operation: String,
    error: OperationErrorLine,
}

/// The error answered to a refused operation.
#[derive(Serialize)]
struct OperationErrorLine {
    code: &'static str,
    message: &'static str,
}

fn operations(output: &Output, w: &mut dyn Write) -> std::io::Result<()> {
    for r in &output.refused_operations {
        let line = OperationLine {
            timestamp: output.timestamp(r.time).to_string(),
            elapsed_s: r.time.as_millis() as f64 / 1000.0,
            operation: r.operation.to_string(),
            error: OperationErrorLine { code: r.error.as_str(), message: r.error.message() },
        };
        serde_json::to_writer(&mut *w, &line).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Starts the file `name` in `dir` (created if missing) under a temporary
/// name beside it: its path, the temporary file (removed if dropped before
/// it takes the name), and that file open for writing.
pub(super) fn start_file(dir: &Path, name: &str) -> Result<(PathBuf, TempFile, File), ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let path = dir.join(name);
    let temp = TempFile::beside(&path, "").map_err(|e| ReportError::io(&path, e))?;
    let file = File::create(temp.path()).map_err(|e| ReportError::io(&path, e))?;
    Ok((path, temp, file))
}
