//! A job's task trace as a scenario holds it. Loading checks the whole
//! file in one streaming pass and keeps none of its rows; every run then
//! reads the file again, a row at a time, as its clock reaches them — so
//! a trace of a hundred million rows costs a run one row, not gigabytes.
//!
//! A run that finds the file changed since the check (another length or
//! modification time when it opens it; then a row that no longer reads,
//! rows out of order, more or fewer rows than checked) stops its arrivals
//! there and reports why ([`TraceError`]). A run closes the file once it
//! has read it to the end, or its job has ended.
//!
//! A file whose rows are not in submit order cannot be read that way: it
//! is read whole and sorted at load, and the scenario says so in a note.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::swf::{self, SwfInput, SwfLog, SwfRecords};
use super::trace::{CsvRows, TraceTask};
use super::{MAX_TARGET, ScenarioError, TaskConstraints};
use crate::time::SimTime;

/// How a task trace's file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// A CSV trace (`submit,duration,…`, see [`super::trace`]).
    Csv,
    /// An SWF log: each record needs its processors on nodes of
    /// `per_node` processors; a record needing several nodes is a
    /// multi-instance task, which only a pool of one slot per node runs
    /// (`multi_instance`).
    Swf {
        /// Processors per node.
        per_node: u32,
        /// Whether the pool runs multi-instance tasks.
        multi_instance: bool,
    },
}

/// A job's task trace.
#[derive(Debug, Clone)]
pub enum TaskTrace {
    /// In submit order in its file: each run reads it as it goes.
    File(Arc<TraceFile>),
    /// Out of submit order in its file: read whole and sorted at load
    /// (stably: equal times keep their order in the file).
    Sorted(Arc<[TraceTask]>),
}

/// A trace file checked in submit order, with what the check saw of it.
#[derive(Debug)]
pub struct TraceFile {
    path: PathBuf,
    format: TraceFormat,
    /// The rows it has.
    rows: u64,
    /// Its length and modification time when checked.
    stamp: (u64, Option<SystemTime>),
}

/// What loading a trace learned besides its rows.
#[derive(Debug)]
pub struct Loaded {
    /// The trace.
    pub trace: TaskTrace,
    /// The SWF log's header and counts, for an SWF trace.
    pub swf: Option<SwfLog>,
}

impl TaskTrace {
    /// Checks the trace at `path` in one pass, keeping its rows only if
    /// they are out of submit order. Errors name the file and the line.
    pub fn load(path: &Path, format: TraceFormat) -> Result<Loaded, ScenarioError> {
        let stamp = stamp(path)?;
        let mut rows = TraceRows::open(path, format)?;
        let (mut count, mut latest, mut in_order) = (0u64, SimTime::ZERO, true);
        for row in &mut rows {
            let row = row?;
            in_order &= row.submit >= latest;
            latest = latest.max(row.submit);
            count += 1;
        }
        let swf = rows.swf_log();
        let trace = if in_order {
            TaskTrace::File(Arc::new(TraceFile { path: path.to_owned(), format, rows: count, stamp }))
        } else {
            let mut tasks = TraceRows::open(path, format)?.collect::<Result<Vec<_>, _>>()?;
            tasks.sort_by_key(|t| t.submit);
            TaskTrace::Sorted(tasks.into())
        };
        Ok(Loaded { trace, swf })
    }

    /// How many tasks it has.
    pub fn len(&self) -> u64 {
        match self {
            TaskTrace::File(file) => file.rows,
            TaskTrace::Sorted(tasks) => tasks.len() as u64,
        }
    }

    /// Whether it has no task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it is held in memory, sorted, rather than read as runs go.
    pub fn is_sorted_in_memory(&self) -> bool {
        matches!(self, TaskTrace::Sorted(_))
    }

    /// Its tasks in submit order, for one run: read from the file as they
    /// are taken, after checking the file is still the one loaded.
    pub fn tasks(&self) -> TraceTasks {
        match self {
            TaskTrace::Sorted(tasks) => TraceTasks::Sorted { tasks: Arc::clone(tasks), next: 0 },
            TaskTrace::File(file) => match file.reopen() {
                Ok(rows) => TraceTasks::File { rows, latest: SimTime::ZERO, read: 0, file: Arc::clone(file) },
                Err(error) => TraceTasks::Done(Some(error)),
            },
        }
    }
}

impl TraceFile {
    /// Opens the file for a run, if it is still as loaded.
    fn reopen(&self) -> Result<TraceRows, TraceError> {
        let changed = |what: String| TraceError(format!("{}: {what}", self.path.display()));
        match stamp(&self.path) {
            Ok(now) if now == self.stamp => {}
            Ok(_) => return Err(changed(CHANGED.to_owned())),
            Err(e) => return Err(TraceError(e.to_string())),
        }
        TraceRows::open(&self.path, self.format).map_err(|e| TraceError(e.to_string()))
    }
}

/// Why a run's trace stopped: the file changed since it was loaded.
const CHANGED: &str = "changed since the scenario was loaded: the run stopped there rather than simulate other tasks than the ones checked";

/// Why a run stopped reading a trace, in the user's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TraceError(pub String);

/// A trace's tasks in submit order, as one run takes them.
#[derive(Debug)]
pub enum TraceTasks {
    /// Read from the file as they are taken.
    File {
        /// The rows still to read.
        rows: TraceRows,
        /// The latest submit time read: a row before it means the file changed.
        latest: SimTime,
        /// The rows read: more or fewer than loaded means the file changed.
        read: u64,
        /// The file, as loaded.
        file: Arc<TraceFile>,
    },
    /// Taken from memory.
    Sorted {
        /// Every task.
        tasks: Arc<[TraceTask]>,
        /// The next one's index.
        next: usize,
    },
    /// Read to its end, its file closed; or stopped, with why (taken
    /// once, then the end).
    Done(Option<TraceError>),
}

impl Iterator for TraceTasks {
    type Item = Result<TraceTask, TraceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            TraceTasks::Sorted { tasks, next } => {
                let task = tasks.get(*next).copied();
                *next += 1;
                task.map(Ok)
            }
            TraceTasks::Done(error) => error.take().map(Err),
            TraceTasks::File { rows, latest, read, file } => {
                let changed = |what: String| TraceError(format!("{}: {what}", file.path.display()));
                let stopped = match rows.next() {
                    Some(Ok(task)) if task.submit >= *latest && *read < file.rows => {
                        (*latest, *read) = (task.submit, *read + 1);
                        return Some(Ok(task));
                    }
                    None if *read == file.rows => None,
                    Some(Err(e)) => Some(changed(format!("{CHANGED} ({e})"))),
                    // A row out of order, more rows than loaded, or fewer.
                    Some(Ok(_)) | None => Some(changed(CHANGED.to_owned())),
                };
                // The file closes: a run holds no file it has done with.
                *self = TraceTasks::Done(None);
                stopped.map(Err)
            }
        }
    }
}

/// The file's length and modification time, which a run compares with
/// the loaded ones.
fn stamp(path: &Path) -> Result<(u64, Option<SystemTime>), ScenarioError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ScenarioError::Io { path: path.display().to_string(), message: e.to_string() })?;
    Ok((meta.len(), meta.modified().ok()))
}

/// A trace file's rows as tasks, read one at a time.
#[derive(Debug)]
pub struct TraceRows(Rows);

#[derive(Debug)]
enum Rows {
    Csv(Box<CsvRows<TraceTask>>),
    Swf { records: Box<SwfRecords<SwfInput>>, per_node: u32, multi_instance: bool },
}

impl TraceRows {
    fn open(path: &Path, format: TraceFormat) -> Result<TraceRows, ScenarioError> {
        Ok(TraceRows(match format {
            TraceFormat::Csv => Rows::Csv(Box::new(super::trace::open_tasks(path)?)),
            TraceFormat::Swf { per_node, multi_instance } => {
                Rows::Swf { records: Box::new(swf::open(path)?), per_node, multi_instance }
            }
        }))
    }

    /// What an SWF log says besides its records, as far as read.
    fn swf_log(&self) -> Option<SwfLog> {
        match &self.0 {
            Rows::Csv(_) => None,
            Rows::Swf { records, .. } => Some(records.log.clone()),
        }
    }
}

impl Iterator for TraceRows {
    type Item = Result<TraceTask, ScenarioError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Rows::Csv(rows) => rows.next(),
            Rows::Swf { records, per_node, multi_instance } => {
                let job = match records.next()? {
                    Ok(job) => job,
                    Err(e) => return Some(Err(e)),
                };
                let fail = |message: String| ScenarioError::Trace {
                    path: records.shown().to_owned(),
                    line: records.line(),
                    message,
                };
                let instances = job.processors.div_ceil(*per_node);
                if instances > 1 && !*multi_instance {
                    return Some(Err(fail(format!(
                        "a record needs {} processors, {instances} nodes of {per_node}: a multi-instance task, \
                         which needs pool.task_slots_per_node = 1",
                        job.processors
                    ))));
                }
                if instances > MAX_TARGET {
                    return Some(Err(fail(format!("a record needs {instances} nodes"))));
                }
                Some(Ok(TraceTask {
                    submit: job.submit,
                    duration: job.run_time,
                    slots: 1,
                    constraints: TaskConstraints::default(),
                    instances,
                    exit_code: job.failed.then_some(1),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SimDuration;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("autoscale-sim-task-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn submits(trace: &TaskTrace) -> Vec<Result<u64, TraceError>> {
        trace.tasks().map(|t| t.map(|t| t.submit.as_millis() / 1000)).collect()
    }

    #[test]
    fn a_trace_in_submit_order_keeps_no_row_and_is_read_by_each_run() {
        let path = write("ordered.csv", "submit,duration\n0,1m\n30,1m\n30,2m\n90,1m\n");
        let loaded = TaskTrace::load(&path, TraceFormat::Csv).unwrap();
        let TaskTrace::File(file) = &loaded.trace else { panic!("kept in memory: {:?}", loaded.trace) };
        assert_eq!((file.rows, loaded.trace.len()), (4, 4));
        assert_eq!(submits(&loaded.trace), [Ok(0), Ok(30), Ok(30), Ok(90)]);
        // Another run reads it again, from the start.
        let durations: Vec<_> = loaded.trace.tasks().map(|t| t.unwrap().duration).collect();
        assert_eq!(durations, [1, 1, 2, 1].map(SimDuration::from_mins));
    }

    #[test]
    fn a_trace_out_of_order_is_sorted_in_memory_stably() {
        let path = write("unordered.csv", "submit,duration\n90,1m\n0,1m\n30,1m\n0,2m\n");
        let loaded = TaskTrace::load(&path, TraceFormat::Csv).unwrap();
        assert!(loaded.trace.is_sorted_in_memory());
        let tasks: Vec<_> = loaded.trace.tasks().map(|t| t.unwrap()).collect();
        let got: Vec<_> =
            tasks.iter().map(|t| (t.submit.as_millis() / 1000, t.duration.as_millis() / 60_000)).collect();
        assert_eq!(got, [(0, 1), (0, 2), (30, 1), (90, 1)]);
        // Sorted once: a change to the file no longer matters.
        std::fs::write(&path, "submit,duration\n").unwrap();
        assert_eq!(loaded.trace.tasks().count(), 4);
    }

    #[test]
    fn a_run_refuses_a_file_changed_since_the_load() {
        let path = write("changed.csv", "submit,duration\n0,1m\n30,1m\n");
        let loaded = TaskTrace::load(&path, TraceFormat::Csv).unwrap();
        std::fs::write(&path, "submit,duration\n0,1m\n30,1m\n60,1m\n").unwrap();
        let expected = format!("{}: {CHANGED}", path.display());
        assert_eq!(submits(&loaded.trace), [Err(TraceError(expected.clone()))]);
        std::fs::remove_file(&path).unwrap();
        let gone = submits(&loaded.trace);
        let shown = format!("cannot read {}: ", path.display());
        assert!(matches!(&gone[..], [Err(TraceError(e))] if e.starts_with(&shown)), "{gone:?}");
    }

    #[test]
    fn rows_that_go_back_in_time_while_a_run_reads_stop_it() {
        let path = write("rewritten.csv", "submit,duration\n0,1m\n30,1m\n60,1m\n");
        let loaded = TaskTrace::load(&path, TraceFormat::Csv).unwrap();
        let mut tasks = loaded.trace.tasks();
        assert_eq!(tasks.next().map(|t| t.unwrap().submit), Some(SimTime(0)));
        // As if the file were rewritten in place after the run opened it:
        // its rows now go back in time.
        let TraceTasks::File { rows, .. } = &mut tasks else { panic!("not read from the file") };
        *rows = TraceRows::open(&write("rewritten-2.csv", "submit,duration\n0,1m\n90,1m\n10,1m\n"), TraceFormat::Csv)
            .unwrap();
        assert_eq!(tasks.next().map(|t| t.unwrap().submit), Some(SimTime(0)));
        assert_eq!(tasks.next().map(|t| t.unwrap().submit), Some(SimTime(90_000)));
        let error = tasks.next().unwrap().unwrap_err().0;
        assert_eq!(error, format!("{}: {CHANGED}", path.display()));
    }

    /// A run reading `path`'s loaded trace, as if the file now read `text`
    /// (rewritten in place after the run opened it).
    fn read_as_rewritten(loaded: &TaskTrace, name: &str, text: &str) -> Vec<Result<u64, TraceError>> {
        let mut tasks = loaded.tasks();
        let TraceTasks::File { rows, .. } = &mut tasks else { panic!("not read from the file") };
        *rows = TraceRows::open(&write(name, text), TraceFormat::Csv).unwrap();
        tasks.map(|t| t.map(|t| t.submit.as_millis() / 1000)).collect()
    }

    #[test]
    fn more_or_fewer_rows_than_loaded_stop_a_run() {
        let path = write("counted.csv", "submit,duration\n0,1m\n30,1m\n");
        let loaded = TaskTrace::load(&path, TraceFormat::Csv).unwrap().trace;
        let changed = Err(TraceError(format!("{}: {CHANGED}", path.display())));
        let longer = read_as_rewritten(&loaded, "longer.csv", "submit,duration\n0,1m\n30,1m\n60,1m\n");
        assert_eq!(longer, [Ok(0), Ok(30), changed.clone()], "the third row is not simulated");
        let shorter = read_as_rewritten(&loaded, "shorter.csv", "submit,duration\n0,1m\n");
        assert_eq!(shorter, [Ok(0), changed]);
    }

    #[test]
    fn a_run_closes_the_file_at_its_end() {
        let path = write("closed.csv", "submit,duration\n0,1m\n");
        let loaded = TaskTrace::load(&path, TraceFormat::Csv).unwrap().trace;
        let mut tasks = loaded.tasks();
        assert!(matches!(tasks.next(), Some(Ok(_))) && matches!(tasks, TraceTasks::File { .. }));
        assert!(tasks.next().is_none());
        assert!(matches!(tasks, TraceTasks::Done(None)), "{tasks:?}");
    }

    #[test]
    fn load_errors_name_the_file_and_the_line() {
        let path = write("bad-row.csv", "submit,duration\n0,1m\n5,soon\n");
        let e = TaskTrace::load(&path, TraceFormat::Csv).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: line 3: duration:", path.display())), "{e}");
        let swf = write("wide.swf", "1 0 0 10 16 -1 -1 16 -1 -1 1\n");
        let single = TraceFormat::Swf { per_node: 4, multi_instance: false };
        let e = TaskTrace::load(&swf, single).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}: line 1: a record needs 16 processors, 4 nodes of 4: a multi-instance task, which needs \
                 pool.task_slots_per_node = 1",
                swf.display()
            )
        );
        let multi = TaskTrace::load(&swf, TraceFormat::Swf { per_node: 4, multi_instance: true }).unwrap();
        assert_eq!(loaded_instances(&multi.trace), [4]);
        assert_eq!(multi.swf.map(|log| log.jobs), Some(1));
    }

    fn loaded_instances(trace: &TaskTrace) -> Vec<u32> {
        trace.tasks().map(|t| t.unwrap().instances).collect()
    }
}
