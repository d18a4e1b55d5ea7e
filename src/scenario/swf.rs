//! Traces in the Standard Workload Format (SWF) of the Parallel Workloads
//! Archive, as cluster logs are shared in the batch-scheduling field.
//!
//! One job per line, 18 whitespace-separated fields, `-1` where a value is
//! unknown; lines starting with `;` are comments, and the header comments
//! `; UnixStartTime: N` and `; MaxProcs: N` are kept. The fields used:
//!
//! | field | meaning | here |
//! | --- | --- | --- |
//! | 2 | submit time, s | submitted this long after the first record's submit time |
//! | 4 | run time, s | how long it runs; a negative (unknown) run time skips the record, counted |
//! | 5 | allocated processors | processors it needs (field 8, the requested ones, when unknown; else 1) |
//! | 11 | status | 0 (failed) or 5 (cancelled) end with exit code 1 |
//!
//! Read a line at a time within the bounds of CSV traces (and the same
//! bound on the decompressed bytes of a `.swf.gz`), so a log is never
//! held whole in memory, only its records.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::trace::Bounded;
use super::{MAX_TASKS, ScenarioError};
use crate::time::{SimDuration, SimTime};

/// One record of an SWF log, as a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwfJob {
    /// When it is submitted, from the first record's submit time.
    pub submit: SimTime,
    /// How long it runs.
    pub run_time: SimDuration,
    /// Processors it needs (at least 1).
    pub processors: u32,
    /// Whether the log says it failed or was cancelled (status 0 or 5).
    pub failed: bool,
}

/// An SWF log: its jobs in file order and what the header says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwfLog {
    /// The jobs with a known run time.
    pub jobs: Vec<SwfJob>,
    /// `; UnixStartTime:` — the log's time zero, seconds since 1970.
    pub unix_start_time: Option<i64>,
    /// `; MaxProcs:` — the processors of the logged machine.
    pub max_procs: Option<u64>,
    /// Records skipped for a negative (unknown) run time.
    pub skipped: u64,
    /// Records with neither allocated nor requested processors, taken as 1.
    pub assumed_one_processor: u64,
}

/// Whether `path` names an SWF log (`.swf`, or `.swf.gz` compressed), by its extension.
pub fn is_swf(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
    name.ends_with(".swf") || name.ends_with(".swf.gz")
}

/// Reads the SWF log at `path` (gzip-compressed when it ends in `.gz`).
pub fn read(path: &Path) -> Result<SwfLog, ScenarioError> {
    let shown = path.display().to_string();
    let io_error = |e: std::io::Error| ScenarioError::Io { path: shown.clone(), message: e.to_string() };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let gzip = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let bytes: Box<dyn Read> = if gzip { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    parse(BufReader::new(Bounded::new(bytes)), &shown)
}

/// Parses an SWF log from `input`; `shown` names it in errors.
fn parse(mut input: impl BufRead, shown: &str) -> Result<SwfLog, ScenarioError> {
    let mut log = SwfLog::default();
    let mut first_submit = None;
    let mut line = String::new();
    for number in 1u64.. {
        line.clear();
        let read = input.read_line(&mut line).map_err(|e| ScenarioError::Io {
            path: shown.to_owned(),
            message: if e.kind() == std::io::ErrorKind::InvalidData {
                format!("line {number}: {e}")
            } else {
                e.to_string()
            },
        })?;
        if read == 0 {
            break;
        }
        let fail = |message: String| ScenarioError::Trace { path: shown.to_owned(), line: number, message };
        let text = line.trim();
        if let Some(comment) = text.strip_prefix(';') {
            header(&mut log, comment).map_err(fail)?;
            continue;
        }
        if text.is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() < 11 {
            return Err(fail(format!(
                "{} fields; an SWF record has 18 (at least the first 11 are needed)",
                fields.len()
            )));
        }
        let number_at = |n: usize| -> Result<f64, String> {
            fields[n - 1]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("field {n} is `{}`, not a number", fields[n - 1]))
        };
        let (submit, run_time) = (number_at(2).map_err(fail)?, number_at(4).map_err(fail)?);
        if run_time < 0.0 {
            log.skipped += 1;
            continue;
        }
        if log.jobs.len() as u64 >= MAX_TASKS {
            return Err(fail(format!("more than {MAX_TASKS} records; a scenario may have at most {MAX_TASKS} tasks")));
        }
        if submit < 0.0 {
            return Err(fail(format!("field 2 (submit time) is {submit}; it is at least 0")));
        }
        let first = *first_submit.get_or_insert(submit);
        let processors = match (number_at(5).map_err(fail)?, number_at(8).map_err(fail)?) {
            (allocated, _) if allocated >= 1.0 => allocated,
            (_, requested) if requested >= 1.0 => requested,
            _ => {
                log.assumed_one_processor += 1;
                1.0
            }
        };
        if processors > f64::from(u32::MAX) {
            return Err(fail(format!("{processors} processors is more than this simulator counts")));
        }
        let status = number_at(11).map_err(fail)?;
        log.jobs.push(SwfJob {
            // Records are in submit order in the archive's logs; one that is
            // not is kept at its own time (the caller sorts).
            submit: SimTime(SimDuration::from_millis_f64((submit - first).max(0.0) * 1000.0).0),
            run_time: SimDuration::from_millis_f64(run_time * 1000.0),
            processors: processors as u32,
            failed: status == 0.0 || status == 5.0,
        });
    }
    Ok(log)
}

/// Keeps `UnixStartTime` and `MaxProcs` from a header comment.
fn header(log: &mut SwfLog, comment: &str) -> Result<(), String> {
    let Some((key, value)) = comment.split_once(':') else { return Ok(()) };
    let value = value.trim();
    match key.trim() {
        "UnixStartTime" => {
            log.unix_start_time = Some(value.parse().map_err(|_| format!("UnixStartTime `{value}` is not a number"))?);
        }
        "MaxProcs" => log.max_procs = Some(value.parse().map_err(|_| format!("MaxProcs `{value}` is not a number"))?),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
; Version: 2.2
; UnixStartTime: 1041377400
; MaxProcs: 16
;
    1      0    10    3600     4   -1 -1     4  7200 -1  1  1 1 1 1 1 -1 -1
    2     60     0      90.5   1   -1 -1    -1    -1 -1  0  2 1 1 1 1 -1 -1
    3    120    -1      -1     8   -1 -1     8    -1 -1  5  3 1 1 1 1 -1 -1
    4    180     5       0    -1   -1 -1     6    -1 -1  5  3 1 1 1 1 -1 -1
    5    240     5      30    -1   -1 -1    -1    -1 -1  1  3 1 1 1 1 -1 -1
";

    #[test]
    fn records_become_jobs_from_the_first_submit_with_the_header_kept() {
        let log = parse(LOG.as_bytes(), "log.swf").unwrap();
        assert_eq!(log.unix_start_time, Some(1_041_377_400));
        assert_eq!(log.max_procs, Some(16));
        assert_eq!((log.skipped, log.assumed_one_processor), (1, 1));
        let job = |submit_s: u64, run_ms: u64, processors: u32, failed: bool| SwfJob {
            submit: SimTime(submit_s * 1000),
            run_time: SimDuration(run_ms),
            processors,
            failed,
        };
        assert_eq!(
            log.jobs,
            [job(0, 3_600_000, 4, false), job(60, 90_500, 1, true), job(180, 0, 6, true), job(240, 30_000, 1, false),]
        );
    }

    #[test]
    fn malformed_records_name_the_line() {
        let error = |text: &str| parse(text.as_bytes(), "x.swf").unwrap_err().to_string();
        assert_eq!(
            error("; c\n1 0 0 10\n"),
            "x.swf: line 2: 4 fields; an SWF record has 18 (at least the first 11 are needed)"
        );
        assert_eq!(error("1 0 0 ten 1 -1 -1 1 -1 -1 1\n"), "x.swf: line 1: field 4 is `ten`, not a number");
        assert_eq!(error("; MaxProcs: many\n"), "x.swf: line 1: MaxProcs `many` is not a number");
        assert_eq!(
            error("1 -5 0 10 1 -1 -1 1 -1 -1 1\n"),
            "x.swf: line 1: field 2 (submit time) is -5; it is at least 0"
        );
    }

    #[test]
    fn names_and_compression_are_told_by_the_extension() {
        assert!(is_swf(Path::new("logs/KTH-SP2-1996-2.1-cln.swf")));
        assert!(is_swf(Path::new("LOG.SWF.GZ")));
        assert!(!is_swf(Path::new("tasks.csv")) && !is_swf(Path::new("swf")));
        let dir = std::env::temp_dir().join(format!("autoscale-sim-swf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let gz = dir.join("log.swf.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, LOG.as_bytes()).unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();
        assert_eq!(read(&gz).unwrap(), parse(LOG.as_bytes(), "log.swf").unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
