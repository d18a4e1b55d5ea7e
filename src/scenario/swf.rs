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
//! bound on the decompressed bytes of a `.swf.gz`): a log is never held
//! in memory, each run reads its records as it goes.

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

/// What an SWF log says besides its records: its header, and the records
/// taken as they are not, counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwfLog {
    /// `; UnixStartTime:` — the log's time zero, seconds since 1970.
    pub unix_start_time: Option<i64>,
    /// `; MaxProcs:` — the processors of the logged machine.
    pub max_procs: Option<u64>,
    /// Records with a known run time, the ones read as jobs.
    pub jobs: u64,
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

/// The bytes of a log as [`SwfRecords`] reads them: decompressed, bounded.
pub type SwfInput = BufReader<Bounded<Box<dyn Read + Send>>>;

/// Opens the SWF log at `path` (gzip-compressed when it ends in `.gz`).
pub fn open(path: &Path) -> Result<SwfRecords<SwfInput>, ScenarioError> {
    let shown = path.display().to_string();
    let file =
        std::fs::File::open(path).map_err(|e| ScenarioError::Io { path: shown.clone(), message: e.to_string() })?;
    let gzip = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let bytes: Box<dyn Read + Send> = if gzip { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    Ok(SwfRecords::new(BufReader::new(Bounded::new(bytes)), shown))
}

/// The jobs of an SWF log, read a line at a time; what the log says
/// besides is in [`SwfRecords::log`] as the lines go by.
#[derive(Debug)]
pub struct SwfRecords<B> {
    input: B,
    /// The log's name in errors.
    shown: String,
    line: String,
    /// The number of the last line read.
    number: u64,
    first_submit: Option<f64>,
    /// The header and counts so far.
    pub log: SwfLog,
}

impl<B: BufRead> SwfRecords<B> {
    /// The records of `input`; `shown` names it in errors.
    pub fn new(input: B, shown: String) -> SwfRecords<B> {
        SwfRecords { input, shown, line: String::new(), number: 0, first_submit: None, log: SwfLog::default() }
    }

    /// The next job, or the end, or why the next line is not a record.
    fn read_job(&mut self) -> Result<Option<SwfJob>, ScenarioError> {
        loop {
            self.line.clear();
            self.number += 1;
            let number = self.number;
            let read = self.input.read_line(&mut self.line).map_err(|e| ScenarioError::Io {
                path: self.shown.clone(),
                message: if e.kind() == std::io::ErrorKind::InvalidData {
                    format!("line {number}: {e}")
                } else {
                    e.to_string()
                },
            })?;
            if read == 0 {
                return Ok(None);
            }
            let fail = |message: String| ScenarioError::Trace { path: self.shown.clone(), line: number, message };
            let text = self.line.trim();
            if let Some(comment) = text.strip_prefix(';') {
                header(&mut self.log, comment).map_err(fail)?;
                continue;
            }
            if text.is_empty() {
                continue;
            }
            // The first 11 fields, without an allocation per line: every run
            // reads the log again.
            let mut fields = [""; 11];
            let mut words = text.split_whitespace();
            let found = fields.iter_mut().zip(&mut words).map(|(field, word)| *field = word).count();
            if found < 11 {
                return Err(fail(format!("{found} fields; an SWF record has 18 (at least the first 11 are needed)")));
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
                self.log.skipped += 1;
                continue;
            }
            if self.log.jobs >= MAX_TASKS {
                return Err(fail(format!(
                    "more than {MAX_TASKS} records; a scenario may have at most {MAX_TASKS} tasks"
                )));
            }
            if submit < 0.0 {
                return Err(fail(format!("field 2 (submit time) is {submit}; it is at least 0")));
            }
            let first = *self.first_submit.get_or_insert(submit);
            let processors = match (number_at(5).map_err(fail)?, number_at(8).map_err(fail)?) {
                (allocated, _) if allocated >= 1.0 => allocated,
                (_, requested) if requested >= 1.0 => requested,
                _ => {
                    self.log.assumed_one_processor += 1;
                    1.0
                }
            };
            if processors > f64::from(u32::MAX) {
                return Err(fail(format!("{processors} processors is more than this simulator counts")));
            }
            let status = number_at(11).map_err(fail)?;
            self.log.jobs += 1;
            return Ok(Some(SwfJob {
                // Records are in submit order in the archive's logs; one that
                // is not is kept at its own time (the trace is then sorted).
                submit: SimTime(SimDuration::from_millis_f64((submit - first).max(0.0) * 1000.0).0),
                run_time: SimDuration::from_millis_f64(run_time * 1000.0),
                processors: processors as u32,
                failed: status == 0.0 || status == 5.0,
            }));
        }
    }

    /// The line of the last job read, for errors about it.
    pub fn line(&self) -> u64 {
        self.number
    }

    /// The log's name in errors.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

impl<B: BufRead> Iterator for SwfRecords<B> {
    type Item = Result<SwfJob, ScenarioError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_job().transpose()
    }
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

    /// Every job of `text`, and what the log says besides.
    fn parse(text: &str, shown: &str) -> Result<(Vec<SwfJob>, SwfLog), ScenarioError> {
        let mut records = SwfRecords::new(text.as_bytes(), shown.to_owned());
        let jobs = records.by_ref().collect::<Result<_, _>>()?;
        Ok((jobs, records.log))
    }

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
        let (jobs, log) = parse(LOG, "log.swf").unwrap();
        assert_eq!(log.unix_start_time, Some(1_041_377_400));
        assert_eq!(log.max_procs, Some(16));
        assert_eq!((log.jobs, log.skipped, log.assumed_one_processor), (4, 1, 1));
        let job = |submit_s: u64, run_ms: u64, processors: u32, failed: bool| SwfJob {
            submit: SimTime(submit_s * 1000),
            run_time: SimDuration(run_ms),
            processors,
            failed,
        };
        assert_eq!(
            jobs,
            [job(0, 3_600_000, 4, false), job(60, 90_500, 1, true), job(180, 0, 6, true), job(240, 30_000, 1, false),]
        );
    }

    #[test]
    fn malformed_records_name_the_line() {
        let error = |text: &str| parse(text, "x.swf").unwrap_err().to_string();
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
        let mut records = open(&gz).unwrap();
        let jobs = records.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!((jobs, records.log), parse(LOG, "log.swf").unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
