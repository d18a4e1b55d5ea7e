//! CSV traces a scenario can point at: task arrivals (`submit,duration,slots`,
//! and optionally each task's constraints: `max_wall_clock_time`,
//! `max_task_retry_count`, `retention`) and low-priority preemptions
//! (`at,nodes`). Read with the `csv` crate;
//! times are seconds (`90`, `12.5`) or humantime text (`"1h 30m"`), counted
//! from the scenario's start. Lines starting with `#` are comments.
//! Read a row at a time, within bounds: [`MAX_TRACE_BYTES`] in all,
//! [`MAX_TRACE_LINE_BYTES`] per line, [`MAX_TASKS`] rows of tasks.

use std::io::{self, Read};
use std::path::Path;

use serde::Deserialize;

use super::{MAX_TASKS, MAX_TRACE_BYTES, MAX_TRACE_LINE_BYTES, ScenarioError, TaskConstraints};
use crate::time::parse_duration;
use crate::time::{SimDuration, SimTime};

/// One task of an arrival trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceTask {
    /// When it is submitted.
    pub submit: SimTime,
    /// How long it runs.
    pub duration: SimDuration,
    /// Task slots it needs on one node.
    pub slots: u32,
    /// The constraints it sets for itself.
    pub constraints: TaskConstraints,
    /// Nodes it runs on at once (an SWF record needing several nodes' processors).
    pub instances: u32,
    /// How every run of it ends, when the trace logged that (an SWF record
    /// that failed or was cancelled: 1); else the job's exit codes decide.
    pub exit_code: Option<i32>,
}

/// One line of a preemption trace: `nodes` low-priority nodes are reclaimed at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracePreemption {
    /// When.
    pub at: SimTime,
    /// How many nodes.
    pub nodes: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskRow<'a> {
    submit: &'a str,
    duration: &'a str,
    #[serde(default, borrow)]
    slots: Option<&'a str>,
    #[serde(default, borrow)]
    max_wall_clock_time: Option<&'a str>,
    #[serde(default, borrow)]
    max_task_retry_count: Option<&'a str>,
    #[serde(default, borrow)]
    retention: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreemptionRow<'a> {
    at: &'a str,
    nodes: &'a str,
}

/// A field's text without the spaces around it; none when empty.
fn given(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// A whole number of type `N` in a field (spaces around it allowed).
fn whole<N: std::str::FromStr>(text: &str, key: &str) -> Result<N, String> {
    text.trim().parse().map_err(|_| format!("{key}: `{}` is not a whole number in range", text.trim()))
}

/// Seconds as a number, or humantime text.
fn parse_time(text: &str) -> Result<SimDuration, String> {
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(SimDuration::from_millis_f64(s * 1000.0)),
        Ok(s) => Err(format!("`{s}` is not a number of seconds at least 0")),
        Err(_) => parse_duration(text),
    }
}

/// A trace file as the CSV reader sees it: an error instead of more than
/// [`MAX_TRACE_BYTES`] in all or [`MAX_TRACE_LINE_BYTES`] on one line, so
/// that `/dev/zero` (one endless line) fails after a few kilobytes.
pub struct Bounded<R> {
    inner: R,
    /// Bytes read so far.
    total: u64,
    /// Bytes since the last line break.
    line: u64,
    /// Line breaks so far.
    lines: u64,
}

impl<R> Bounded<R> {
    /// `inner`, bounded.
    pub fn new(inner: R) -> Bounded<R> {
        Bounded { inner, total: 0, line: 0, lines: 0 }
    }
}

impl<R> std::fmt::Debug for Bounded<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bounded").field("total", &self.total).field("lines", &self.lines).finish_non_exhaustive()
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.lines += 1;
                self.line = 0;
            } else {
                self.line += 1;
                if self.line > MAX_TRACE_LINE_BYTES {
                    let line = self.lines + 1;
                    return Err(io::Error::other(format!(
                        "line {line} is longer than {MAX_TRACE_LINE_BYTES} bytes (the limit)"
                    )));
                }
            }
        }
        self.total += n as u64;
        if self.total > MAX_TRACE_BYTES {
            return Err(io::Error::other(format!("the trace is more than {MAX_TRACE_BYTES} bytes long (the limit)")));
        }
        Ok(n)
    }
}

/// Turns a CSV row (given its file's header) into `T`, or says why not.
/// The row's fields are borrowed, not copied: every run reads a task
/// trace again.
type Convert<T> = for<'r> fn(&'r csv::StringRecord, &'r csv::StringRecord) -> Result<T, String>;

/// `record` as an `R`, its fields named by `headers`.
fn fields<'r, R: Deserialize<'r>>(record: &'r csv::StringRecord, headers: &'r csv::StringRecord) -> Result<R, String> {
    record.deserialize(Some(headers)).map_err(|e| e.to_string())
}

/// The rows of a CSV trace, converted and read one at a time through
/// [`Bounded`]; more than `max_rows` rows is an error.
#[derive(Debug)]
pub(super) struct CsvRows<T> {
    shown: String,
    reader: csv::Reader<Bounded<std::fs::File>>,
    headers: csv::StringRecord,
    record: csv::StringRecord,
    rows: u64,
    max_rows: u64,
    convert: Convert<T>,
}

impl<T> CsvRows<T> {
    fn open(path: &Path, max_rows: u64, convert: Convert<T>) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let file =
            std::fs::File::open(path).map_err(|e| ScenarioError::Io { path: shown.clone(), message: e.to_string() })?;
        let mut reader =
            csv::ReaderBuilder::new().trim(csv::Trim::Headers).comment(Some(b'#')).from_reader(Bounded::new(file));
        let headers = reader.headers().map_err(|e| trace_error(&shown, &e))?.clone();
        Ok(CsvRows { shown, reader, headers, record: csv::StringRecord::new(), rows: 0, max_rows, convert })
    }
}

impl<T> Iterator for CsvRows<T> {
    type Item = Result<T, ScenarioError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(Err(trace_error(&self.shown, &e))),
        }
        let line = self.record.position().map_or(0, csv::Position::line);
        let fail = |message: String| ScenarioError::Trace { path: self.shown.clone(), line, message };
        if self.rows >= self.max_rows {
            let max = self.max_rows;
            return Some(Err(fail(format!("more than {max} rows; a scenario may have at most {MAX_TASKS} tasks"))));
        }
        self.rows += 1;
        Some((self.convert)(&self.record, &self.headers).map_err(fail))
    }
}

fn trace_error(shown: &str, e: &csv::Error) -> ScenarioError {
    if let csv::ErrorKind::Io(io) = e.kind() {
        // The bound's message, or the operating system's (a folder, a broken disk).
        return ScenarioError::Io { path: shown.to_owned(), message: io.to_string() };
    }
    let line = e.position().map_or(0, csv::Position::line);
    ScenarioError::Trace { path: shown.to_owned(), line, message: e.to_string() }
}

/// Opens the task trace at `path`, its rows as tasks in file order; more
/// than [`MAX_TASKS`] rows is an error.
pub(super) fn open_tasks(path: &Path) -> Result<CsvRows<TraceTask>, ScenarioError> {
    CsvRows::open(path, MAX_TASKS, task)
}

/// A task trace's row as a task, or why it is not one.
fn task(record: &csv::StringRecord, headers: &csv::StringRecord) -> Result<TraceTask, String> {
    let row: TaskRow<'_> = fields(record, headers)?;
    let duration = parse_time(row.duration).map_err(|e| format!("duration: {e}"))?;
    let slots = given(row.slots).map(|t| whole(t, "slots")).transpose()?.unwrap_or(1);
    if slots == 0 {
        return Err("slots: a task needs at least 1 slot".into());
    }
    let optional = |text: Option<&str>, key: &str| {
        given(text).map(|t| parse_time(t).map_err(|e| format!("{key}: {e}"))).transpose()
    };
    let constraints = TaskConstraints {
        max_wall_clock_time: optional(row.max_wall_clock_time, "max_wall_clock_time")?,
        max_task_retry_count: given(row.max_task_retry_count).map(|t| whole(t, "max_task_retry_count")).transpose()?,
        retention: optional(row.retention, "retention")?,
    };
    constraints.check().map_err(|(key, message)| format!("{key}: {message}"))?;
    Ok(TraceTask {
        submit: SimTime(parse_time(row.submit).map_err(|e| format!("submit: {e}"))?.0),
        duration,
        slots,
        constraints,
        instances: 1,
        exit_code: None,
    })
}

/// Reads a preemption trace, sorted by time. Preemption traces are short
/// (a line per reclaim), so they are read whole.
pub fn read_preemptions(path: &Path) -> Result<Vec<TracePreemption>, ScenarioError> {
    let convert = |record: &csv::StringRecord, headers: &csv::StringRecord| {
        let row: PreemptionRow<'_> = fields(record, headers)?;
        let at = SimTime(parse_time(row.at).map_err(|e| format!("at: {e}"))?.0);
        Ok(TracePreemption { at, nodes: whole(row.nodes, "nodes")? })
    };
    let mut rows = CsvRows::open(path, u64::MAX, convert)?.collect::<Result<Vec<_>, _>>()?;
    rows.sort_by_key(|r| r.at);
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trace's tasks, in file order.
    fn read_tasks(path: &Path) -> Result<Vec<TraceTask>, ScenarioError> {
        open_tasks(path)?.collect()
    }

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("autoscale-sim-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn task_traces_take_seconds_or_humantime() {
        let path = write("tasks.csv", "submit,duration,slots\n# a comment\n90, 10m, 2\n0,30,\n1h,1.5,1\n");
        let tasks = read_tasks(&path).unwrap();
        let none = TaskConstraints::default();
        assert_eq!(
            tasks,
            [
                TraceTask {
                    submit: SimTime(90_000),
                    duration: SimDuration(600_000),
                    slots: 2,
                    constraints: none,
                    instances: 1,
                    exit_code: None
                },
                TraceTask {
                    submit: SimTime(0),
                    duration: SimDuration(30_000),
                    slots: 1,
                    constraints: none,
                    instances: 1,
                    exit_code: None
                },
                TraceTask {
                    submit: SimTime(3_600_000),
                    duration: SimDuration(1_500),
                    slots: 1,
                    constraints: none,
                    instances: 1,
                    exit_code: None
                },
            ]
        );
    }

    #[test]
    fn task_traces_may_give_each_task_its_constraints() {
        let path = write(
            "constrained.csv",
            "submit,duration,max_wall_clock_time,max_task_retry_count,retention\n0,1m,30s,-1,1h\n5,1m,,,\n",
        );
        let tasks = read_tasks(&path).unwrap();
        let own = TaskConstraints {
            max_wall_clock_time: Some(SimDuration(30_000)),
            max_task_retry_count: Some(-1),
            retention: Some(SimDuration::from_hours(1)),
        };
        assert_eq!(tasks.iter().map(|t| t.constraints).collect::<Vec<_>>(), [own, TaskConstraints::default()]);
        let path = write("bad-retries.csv", "submit,duration,max_task_retry_count\n0,1m,-3\n");
        let e = read_tasks(&path).unwrap_err().to_string();
        assert!(e.contains("bad-retries.csv: line 2: max_task_retry_count: -3 is out of range"), "{e}");
    }

    #[test]
    fn bad_rows_name_the_file_and_line() {
        let path = write("bad.csv", "submit,duration\n0,10m\n5,soon\n");
        let e = read_tasks(&path).unwrap_err().to_string();
        assert!(e.contains("bad.csv: line 3: duration: `soon` is not a duration;"), "{e}");
        let path = write("short.csv", "submit,duration\n0\n");
        let e = read_tasks(&path).unwrap_err().to_string();
        assert!(e.contains("short.csv: line 2"), "{e}");
        let path = write("bad-slots.csv", "submit,duration,slots\n0, 1m, two\n");
        let e = read_tasks(&path).unwrap_err().to_string();
        assert!(e.ends_with("bad-slots.csv: line 2: slots: `two` is not a whole number in range"), "{e}");
        let path = write("bad-nodes.csv", "at,nodes\n1h,-1\n");
        let e = read_preemptions(&path).unwrap_err().to_string();
        assert!(e.ends_with("bad-nodes.csv: line 2: nodes: `-1` is not a whole number in range"), "{e}");
        let e = read_tasks(Path::new("no/such/trace.csv")).unwrap_err().to_string();
        assert!(e.contains("no/such/trace.csv"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_trace_fails_at_its_first_line() {
        let e = read_tasks(Path::new("/dev/zero")).unwrap_err().to_string();
        assert_eq!(e, format!("cannot read /dev/zero: line 1 is longer than {MAX_TRACE_LINE_BYTES} bytes (the limit)"));
    }

    #[test]
    fn preemption_traces() {
        let path = write("preempt.csv", "at,nodes\n2h,3\n30m,1\n");
        let rows = read_preemptions(&path).unwrap();
        assert_eq!(
            rows,
            [
                TracePreemption { at: SimTime(1_800_000), nodes: 1 },
                TracePreemption { at: SimTime(7_200_000), nodes: 3 }
            ]
        );
    }
}
