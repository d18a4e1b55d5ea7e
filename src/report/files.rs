//! The output files of a run, each written whole or not at all:
//! `timeline.csv`, `evaluations.jsonl`, `operations.jsonl`, `tasks.csv`,
//! `job_tasks.csv` and `summary.json`. `tasks.csv` and `timeline.csv` can
//! be written as the run goes ([`TasksCsv`], a [`TaskSink`], and
//! [`TimelineCsv`], a [`TimelineSink`]), so that finished tasks and past
//! rows need not stay in memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use autoscale_runtime::Timestamp;
use serde::Serialize;

use super::summary::Summary;
use crate::atomic_write::{TempFile, write_atomically_with};
use crate::formula::results::ServiceError;
use crate::sim::{NodeState, Output, Priority, Task, TaskFailure, TaskSink, TimelineRow, TimelineSink};
use crate::time::{SimTime, wall_clock};

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
    fn io(path: &Path, e: impl std::fmt::Display) -> ReportError {
        ReportError::Io { path: path.to_owned(), message: e.to_string() }
    }
}

/// The file names (`tasks.csv` and `timeline.csv` are written first, as
/// the run goes; then the others in this order).
pub const FILES: [&str; 6] =
    ["timeline.csv", "evaluations.jsonl", "operations.jsonl", "tasks.csv", "job_tasks.csv", "summary.json"];

/// Writes every output file into `dir` (created if missing), the tasks
/// and the timeline from those the run kept; returns their paths.
pub fn write_all(output: &Output, summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut csv = TasksCsv::create(dir, output.jobs.clone())?;
    let mut timeline = TimelineCsv::create(dir, output.start)?;
    send_kept(output, &mut csv, &mut timeline);
    let mut written = vec![Box::new(csv).close_at()?, Box::new(timeline).close_at()?];
    written.extend(write_others(output, summary, dir)?);
    Ok(written)
}

/// Hands the tasks and the timeline rows a run kept in memory to `tasks`
/// and `timeline`, as a run that streams them would have (for a run that
/// kept them: several pools, real agents).
pub fn send_kept(output: &Output, tasks: &mut dyn TaskSink, timeline: &mut dyn TimelineSink) {
    for (i, t) in output.tasks.iter().enumerate() {
        tasks.task(i as u32, t);
    }
    for row in &output.timeline {
        timeline.row(row);
    }
}

/// Writes the output files other than the tasks and the timeline into
/// `dir` (created if missing): for a run that wrote them as it went
/// ([`TasksCsv`] and [`TimelineCsv`], or parquet); returns their paths.
pub fn write_others(output: &Output, summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    Ok(vec![
        atomically(dir, FILES[1], |w| evaluations(output, w))?,
        atomically(dir, FILES[2], |w| operations(output, w))?,
        atomically(dir, FILES[4], |w| job_tasks(output, w))?,
        write_json(dir, FILES[5], summary)?,
    ])
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
fn seconds(t: SimTime) -> String {
    let ms = t.as_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn csv_error(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}

/// One line of `evaluations.jsonl`: the service's autoScaleRun plus the
/// simulated elapsed time.
#[derive(Serialize)]
struct EvaluationLine<'a> {
    timestamp: String,
    elapsed_s: f64,
    results: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ServiceError>,
}

fn evaluations(output: &Output, w: &mut dyn Write) -> std::io::Result<()> {
    for e in &output.evaluations {
        let line = EvaluationLine {
            timestamp: output.timestamp(e.time).to_string(),
            elapsed_s: e.time.as_millis() as f64 / 1000.0,
            results: &e.results,
            error: e.error.as_ref(),
        };
        serde_json::to_writer(&mut *w, &line).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    Ok(())
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

/// A CSV file written as the run goes: buffered, under a temporary name
/// that takes the file's name when it is closed — whole or not at all, as
/// every output file. A write error is kept and reported at the close, so
/// that the engine feeding it never has to handle one.
#[derive(Debug)]
struct StreamedCsv {
    path: PathBuf,
    /// Removed if dropped before the close.
    temp: TempFile,
    csv: csv::Writer<BufWriter<File>>,
    /// The first error met; nothing more is written after it.
    error: Option<std::io::Error>,
}

impl StreamedCsv {
    /// Starts `name` in `dir` (created if missing) with its `header`.
    fn create<'a>(dir: &Path, name: &str, header: impl IntoIterator<Item = &'a str>) -> Result<Self, ReportError> {
        std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
        let path = dir.join(name);
        let temp = TempFile::beside(&path, "").map_err(|e| ReportError::io(&path, e))?;
        let file = File::create(temp.path()).map_err(|e| ReportError::io(&path, e))?;
        let mut csv = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        let error = csv.write_record(header).err().map(csv_error);
        Ok(StreamedCsv { path, temp, csv, error })
    }

    /// Writes a record, unless an error was met before.
    fn record<I: AsRef<[u8]>>(&mut self, record: impl IntoIterator<Item = I>) {
        if self.error.is_none() {
            self.error = self.csv.write_record(record).err().map(csv_error);
        }
    }

    /// Flushes the file and gives it its name, or reports the first error.
    fn close(self) -> std::io::Result<()> {
        let StreamedCsv { temp, csv, error, .. } = self;
        if let Some(e) = error {
            return Err(e);
        }
        let file = csv.into_inner().map_err(|e| e.into_error())?.into_inner().map_err(|e| e.into_error())?;
        temp.persist_file(file)
    }

    /// [`StreamedCsv::close`] with the file's path in the error, and the path.
    fn close_at(self) -> Result<PathBuf, ReportError> {
        let path = self.path.clone();
        self.close().map_err(|e| ReportError::io(&path, e))?;
        Ok(path)
    }
}

/// `tasks.csv` written as the run goes: a row per task as it leaves the
/// scheduler (in number order).
#[derive(Debug)]
pub struct TasksCsv {
    file: StreamedCsv,
    /// Job ids, by job index.
    jobs: Vec<String>,
}

impl TasksCsv {
    /// Starts `tasks.csv` in `dir` (created if missing) for a run of `jobs`
    /// (ids by index), with its header.
    pub fn create(dir: &Path, jobs: Vec<String>) -> Result<TasksCsv, ReportError> {
        let header = [
            "task",
            "job",
            "submit_s",
            "start_s",
            "end_s",
            "node",
            "attempts",
            "outcome",
            "exit_code",
            "failure",
            "role",
        ];
        Ok(TasksCsv { file: StreamedCsv::create(dir, FILES[3], header)?, jobs })
    }

    /// [`TaskSink::close`] with the file's path in the error, and the path.
    pub fn close_at(self: Box<Self>) -> Result<PathBuf, ReportError> {
        self.file.close_at()
    }
}

impl TaskSink for TasksCsv {
    fn task(&mut self, i: u32, t: &Task) {
        let job = self.jobs.get(t.job as usize).map_or("", String::as_str);
        self.file.record([
            i.to_string().as_str(),
            job,
            &seconds(t.submit),
            &t.first_start().map(seconds).unwrap_or_default(),
            &t.end().map(seconds).unwrap_or_default(),
            &t.node().map(|n| n.to_string()).unwrap_or_default(),
            &t.attempts.to_string(),
            t.state.name(),
            &t.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            t.failure.map_or("", TaskFailure::name),
            t.role.name(),
        ]);
    }

    fn close(self: Box<Self>) -> std::io::Result<()> {
        self.file.close()
    }
}

/// `timeline.csv` written as the run goes: a row per sample, at full
/// resolution, whatever the run keeps of them in memory.
#[derive(Debug)]
pub struct TimelineCsv {
    file: StreamedCsv,
    /// The wall-clock instant of time zero, for the `time` column.
    start: Timestamp,
    /// The record being built, reused from row to row.
    record: Vec<String>,
}

impl TimelineCsv {
    /// Starts `timeline.csv` in `dir` (created if missing) for a run
    /// whose time zero is `start`, with its header.
    pub fn create(dir: &Path, start: Timestamp) -> Result<TimelineCsv, ReportError> {
        let mut header: Vec<String> =
            ["time", "elapsed_s", "allocation_state", "target_dedicated", "target_low_priority"]
                .map(String::from)
                .into();
        let (first, later) = NodeState::ALL.split_at(NodeState::FIRST_COLUMNS);
        for p in Priority::ALL {
            for s in first {
                header.push(format!("{}_{}", p.name(), s.name()));
            }
        }
        header.extend(
            [
                "active_tasks",
                "running_tasks",
                "succeeded_tasks",
                "failed_tasks",
                "cpu_percent",
                "cost",
                "resize_errors",
            ]
            .map(String::from),
        );
        for p in Priority::ALL {
            for s in later {
                header.push(format!("{}_{}", p.name(), s.name()));
            }
        }
        let file = StreamedCsv::create(dir, FILES[0], header.iter().map(String::as_str))?;
        Ok(TimelineCsv { file, start, record: Vec::with_capacity(header.len()) })
    }

    /// [`TimelineSink::close`] with the file's path in the error, and the path.
    pub fn close_at(self: Box<Self>) -> Result<PathBuf, ReportError> {
        self.file.close_at()
    }
}

impl TimelineSink for TimelineCsv {
    fn row(&mut self, row: &TimelineRow) {
        let record = &mut self.record;
        record.clear();
        record.push(wall_clock(self.start, row.time).to_string());
        record.push(seconds(row.time));
        record.push(row.allocation_state.name().to_owned());
        record.extend(row.target.iter().map(u32::to_string));
        record.extend(row.nodes.iter().flat_map(|n| &n[..NodeState::FIRST_COLUMNS]).map(u32::to_string));
        record.push(row.active_tasks.to_string());
        record.push(row.running_tasks.to_string());
        record.push(row.succeeded.to_string());
        record.push(row.failed.to_string());
        record.push(format!("{:.2}", row.cpu_percent));
        record.push(format!("{:.6}", row.cost));
        record.push(row.errors.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" "));
        record.extend(row.nodes.iter().flat_map(|n| &n[NodeState::FIRST_COLUMNS..]).map(u32::to_string));
        self.file.record(&*record);
    }

    fn close(self: Box<Self>) -> std::io::Result<()> {
        self.file.close()
    }
}

/// One row per job preparation or release run.
fn job_tasks(output: &Output, w: &mut dyn Write) -> std::io::Result<()> {
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record(["kind", "job", "node", "start_s", "end_s", "outcome"]).map_err(csv_error)?;
    for run in &output.job_tasks {
        csv.write_record([
            run.kind.name(),
            output.jobs.get(run.job as usize).map_or("", String::as_str),
            &run.node.to_string(),
            &seconds(run.start),
            &seconds(run.end),
            if run.succeeded { "succeeded" } else { "failed" },
        ])
        .map_err(csv_error)?;
    }
    csv.flush()
}
