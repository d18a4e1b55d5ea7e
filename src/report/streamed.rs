//! The output files a run writes as it goes — `tasks.csv`, `timeline.csv`,
//! `evaluations.jsonl` and `job_tasks.csv` — so that finished tasks, past
//! timeline rows, evaluations and job task runs need not stay in memory.
//! Each is buffered, under a temporary name that takes the file's name
//! when it is closed: whole or not at all, as every output file. A write
//! error is kept and reported at the close, so that the engine feeding the
//! sinks never has to handle one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use autoscale_runtime::Timestamp;
use serde::Serialize;

use super::ReportError;
use super::files::{FILES, seconds, start_file, write_others};
use super::summary::Summary;
use crate::atomic_write::TempFile;
use crate::formula::results::ServiceError;
use crate::sim::{
    EvaluationRecord, JobTaskRun, NodeState, Output, Priority, Recording, Recordings, Records, Sink, Task, TaskFailure,
    TaskRecords, TaskSink, TimelineRow,
};
use crate::time::wall_clock;

/// A file written as the run goes, through `W` (a CSV writer, or the
/// buffered file itself).
#[derive(Debug)]
struct Streamed<W> {
    /// Removed if dropped before the close.
    temp: TempFile,
    out: W,
    /// The first error met; nothing more is written after it.
    error: Option<std::io::Error>,
}

impl<W> Streamed<W> {
    /// Starts `name` in `dir` (created if missing), its buffered file
    /// wrapped by `wrap`.
    fn start(dir: &Path, name: &str, wrap: impl FnOnce(BufWriter<File>) -> W) -> Result<Self, ReportError> {
        let (_, temp, file) = start_file(dir, name)?;
        Ok(Streamed { temp, out: wrap(BufWriter::with_capacity(1 << 16, file)), error: None })
    }

    /// Writes with `write`, unless an error was met before.
    fn write(&mut self, write: impl FnOnce(&mut W) -> std::io::Result<()>) {
        if self.error.is_none() {
            self.error = write(&mut self.out).err();
        }
    }

    /// Flushes the file (`unwrap` gives it back from `W`) and gives it its
    /// name, or reports the first error.
    fn finish(self, unwrap: impl FnOnce(W) -> std::io::Result<BufWriter<File>>) -> std::io::Result<()> {
        let Streamed { temp, out, error } = self;
        if let Some(e) = error {
            return Err(e);
        }
        let file = unwrap(out)?.into_inner().map_err(|e| e.into_error())?;
        temp.persist_file(file)
    }
}

/// A CSV file written as the run goes.
type StreamedCsv = Streamed<csv::Writer<BufWriter<File>>>;

impl StreamedCsv {
    /// Starts `name` in `dir` (created if missing) with its `header`.
    fn create<'a>(dir: &Path, name: &str, header: impl IntoIterator<Item = &'a str>) -> Result<Self, ReportError> {
        let mut file = Streamed::start(dir, name, csv::Writer::from_writer)?;
        file.record(header);
        Ok(file)
    }

    /// Writes a record.
    fn record<I: AsRef<[u8]>>(&mut self, record: impl IntoIterator<Item = I>) {
        self.write(|csv| csv.write_record(record).map_err(std::io::Error::other));
    }

    /// Flushes the file and gives it its name, or reports the first error.
    fn close(self) -> std::io::Result<()> {
        self.finish(|csv| csv.into_inner().map_err(|e| e.into_error()))
    }
}

/// A JSON Lines file written as the run goes.
type StreamedJsonl = Streamed<BufWriter<File>>;

impl StreamedJsonl {
    /// Starts `name` in `dir` (created if missing).
    fn create(dir: &Path, name: &str) -> Result<Self, ReportError> {
        Streamed::start(dir, name, |file| file)
    }

    /// Writes `value` as one line.
    fn line(&mut self, value: &impl Serialize) {
        self.write(|w| {
            serde_json::to_writer(&mut *w, value).map_err(std::io::Error::other)?;
            w.write_all(b"\n")
        });
    }

    /// Flushes the file and gives it its name, or reports the first error.
    fn close(self) -> std::io::Result<()> {
        self.finish(Ok)
    }
}

/// `tasks.csv` written as the run goes: a row per task as it leaves the
/// scheduler (in number order, but for tasks set aside at the front of
/// the window: see `sim::SET_ASIDE_AFTER`).
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
}

impl Sink<TimelineRow> for TimelineCsv {
    fn put(&mut self, row: &TimelineRow) {
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

/// `evaluations.jsonl` written as the run goes: a line per evaluation,
/// the service's autoScaleRun plus the simulated elapsed time.
#[derive(Debug)]
pub struct EvaluationsJsonl {
    file: StreamedJsonl,
    /// The wall-clock instant of time zero, for the `timestamp` field.
    start: Timestamp,
}

/// One line of `evaluations.jsonl`.
#[derive(Serialize)]
struct EvaluationLine<'a> {
    timestamp: String,
    elapsed_s: f64,
    results: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ServiceError>,
}

impl EvaluationsJsonl {
    /// Starts `evaluations.jsonl` in `dir` (created if missing) for a run
    /// whose time zero is `start`.
    pub fn create(dir: &Path, start: Timestamp) -> Result<EvaluationsJsonl, ReportError> {
        Ok(EvaluationsJsonl { file: StreamedJsonl::create(dir, FILES[1])?, start })
    }
}

impl Sink<EvaluationRecord> for EvaluationsJsonl {
    fn put(&mut self, e: &EvaluationRecord) {
        self.file.line(&EvaluationLine {
            timestamp: wall_clock(self.start, e.time).to_string(),
            elapsed_s: e.time.as_millis() as f64 / 1000.0,
            results: &e.results,
            error: e.error.as_ref(),
        });
    }

    fn close(self: Box<Self>) -> std::io::Result<()> {
        self.file.close()
    }
}

/// `job_tasks.csv` written as the run goes: a row per job preparation or
/// release run, as it ends.
#[derive(Debug)]
pub struct JobTasksCsv {
    file: StreamedCsv,
    /// Job ids, by job index.
    jobs: Vec<String>,
}

impl JobTasksCsv {
    /// Starts `job_tasks.csv` in `dir` (created if missing) for a run of
    /// `jobs` (ids by index), with its header.
    pub fn create(dir: &Path, jobs: Vec<String>) -> Result<JobTasksCsv, ReportError> {
        let header = ["kind", "job", "node", "start_s", "end_s", "outcome"];
        Ok(JobTasksCsv { file: StreamedCsv::create(dir, FILES[4], header)?, jobs })
    }
}

impl Sink<JobTaskRun> for JobTasksCsv {
    fn put(&mut self, run: &JobTaskRun) {
        self.file.record([
            run.kind.name(),
            self.jobs.get(run.job as usize).map_or("", String::as_str),
            &run.node.to_string(),
            &seconds(run.start),
            &seconds(run.end),
            if run.succeeded { "succeeded" } else { "failed" },
        ]);
    }

    fn close(self: Box<Self>) -> std::io::Result<()> {
        self.file.close()
    }
}

/// Writes every output file into `dir` (created if missing), the records
/// from those the run kept; returns their paths.
pub fn write_all(output: &Output, summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = RunFiles::finish(None, dir, OutFormat::Csv, output)?;
    written.extend(write_others(output, summary, dir)?);
    Ok(written)
}

/// The format of the tasks' and the timeline's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// `tasks.csv` and `timeline.csv`.
    Csv,
    /// `tasks.parquet` and `timeline.parquet`.
    #[cfg(feature = "parquet")]
    Parquet,
}

/// The files of one pool's run written as it goes, each through its sink.
#[derive(Debug)]
pub struct RunFiles {
    dir: PathBuf,
    format: OutFormat,
    tasks: Box<dyn TaskSink>,
    timeline: Box<dyn Sink<TimelineRow>>,
    evaluations: Box<dyn Sink<EvaluationRecord>>,
    job_tasks: Box<dyn Sink<JobTaskRun>>,
}

impl RunFiles {
    /// Starts the files in `dir` (created if missing) for a run of `jobs`
    /// (ids by index) whose time zero is `start`.
    pub fn create(dir: &Path, format: OutFormat, jobs: Vec<String>, start: Timestamp) -> Result<RunFiles, ReportError> {
        let (tasks, timeline): (Box<dyn TaskSink>, Box<dyn Sink<TimelineRow>>) = match format {
            OutFormat::Csv => {
                (Box::new(TasksCsv::create(dir, jobs.clone())?), Box::new(TimelineCsv::create(dir, start)?))
            }
            #[cfg(feature = "parquet")]
            OutFormat::Parquet => (
                Box::new(super::parquet::TasksParquet::create(dir, jobs.clone())?),
                Box::new(super::parquet::TimelineParquet::create(dir, start)?),
            ),
        };
        Ok(RunFiles {
            dir: dir.to_owned(),
            format,
            tasks,
            timeline,
            evaluations: Box::new(EvaluationsJsonl::create(dir, start)?),
            job_tasks: Box::new(JobTasksCsv::create(dir, jobs)?),
        })
    }

    /// Where a run sends its records to be written as it goes; the files
    /// are closed by [`RunFiles::finish`] when it is over.
    pub fn into_recordings(self) -> Recordings {
        Recordings {
            tasks: TaskRecords::Send(self.tasks),
            timeline: Recording::Send(self.timeline),
            evaluations: Recording::Send(self.evaluations),
            job_tasks: Recording::Send(self.job_tasks),
        }
    }

    /// Closes the files in `dir`, in `format`, that a run sent its
    /// `records` to; a run that kept them (`None`, or records not sent to
    /// files: real agents, the library's callers) has them written now,
    /// from `output`. Returns their paths, or the first error with its file.
    pub fn finish(
        records: Option<Records>,
        dir: &Path,
        format: OutFormat,
        output: &Output,
    ) -> Result<Vec<PathBuf>, ReportError> {
        let files = match records.and_then(|records| RunFiles::from_records(records, dir, format)) {
            Some(files) => files,
            None => {
                let mut files = RunFiles::create(dir, format, output.jobs.clone(), output.start)?;
                files.write_kept(output);
                files
            }
        };
        files.close()
    }

    /// The files in `dir`, in `format`, that a run sent its records to,
    /// from where it says they went: none if it kept some of them.
    pub fn from_records(records: Records, dir: &Path, format: OutFormat) -> Option<RunFiles> {
        let Records {
            tasks: TaskRecords::Send(tasks),
            timeline: Some(timeline),
            evaluations: Some(evaluations),
            job_tasks: Some(job_tasks),
        } = records
        else {
            return None;
        };
        Some(RunFiles { dir: dir.to_owned(), format, tasks, timeline, evaluations, job_tasks })
    }

    /// Writes every task, timeline row, evaluation and job task run that
    /// `output` kept, as a run that streams them would have.
    fn write_kept(&mut self, output: &Output) {
        for (i, t) in output.tasks.iter().enumerate() {
            self.tasks.task(i as u32, t);
        }
        output.timeline.iter().for_each(|row| self.timeline.put(row));
        output.evaluations.iter().for_each(|e| self.evaluations.put(e));
        output.job_tasks.iter().for_each(|run| self.job_tasks.put(run));
    }

    /// Closes every file (flushed, then given its name): the tasks, the
    /// timeline, the evaluations and the job task runs; returns their
    /// paths, or the first error with its file.
    pub fn close(self) -> Result<Vec<PathBuf>, ReportError> {
        let (tasks, timeline) = match self.format {
            OutFormat::Csv => (FILES[3], FILES[0]),
            #[cfg(feature = "parquet")]
            OutFormat::Parquet => ("tasks.parquet", "timeline.parquet"),
        };
        let closed = [
            (tasks, self.tasks.close()),
            (timeline, self.timeline.close()),
            (FILES[1], self.evaluations.close()),
            (FILES[4], self.job_tasks.close()),
        ];
        closed
            .into_iter()
            .map(|(name, result)| {
                let path = self.dir.join(name);
                result.map(|()| path.clone()).map_err(|e| ReportError::io(&path, e))
            })
            .collect()
    }
}
