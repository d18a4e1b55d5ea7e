//! The evaluations of a run: every one counted (the summary's ok and
//! failed), and kept as [`EvaluationRecords`] says — all of them (the
//! default), none (`run` without `--out`), or each sent to a sink as it
//! is made (`run --out` writes `evaluations.jsonl` so) with a bounded copy
//! kept for `report.html` and the charts: every evaluation up to
//! [`KEPT_EVALUATIONS`] — every bundled scenario, any run of up to 28 days
//! at the shortest interval, 5 minutes — then every other one each time
//! the copy fills up again.

use super::records::{RecordLog, Recording, Sink};
use crate::formula::results::ServiceError;
use crate::time::SimTime;

/// The most evaluations a run that sends them to a sink keeps in memory
/// (each about 200 bytes with its results string). Even: halving keeps
/// every other of a stride.
pub const KEPT_EVALUATIONS: usize = 8_192;

/// One evaluation, as the service keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationRecord {
    /// When.
    pub time: SimTime,
    /// The results string (what was assigned, even when the run failed).
    pub results: String,
    /// The service's error, when the run failed.
    pub error: Option<ServiceError>,
}

/// What a run does with its evaluations (see the module).
pub type EvaluationRecords = Recording<EvaluationRecord>;

/// Every evaluation of a run, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvaluationTally {
    /// Evaluations made.
    pub count: u64,
    /// Of them, those that failed.
    pub failed: u64,
}

/// The evaluations of a run, as [`EvaluationRecords`] says.
#[derive(Debug)]
pub(crate) struct Evaluations {
    tally: EvaluationTally,
    log: RecordLog<EvaluationRecord>,
}

impl Evaluations {
    /// No evaluation yet; they will go to `records`, with room for the
    /// copy kept of `expected` of them.
    pub(crate) fn new(records: EvaluationRecords, expected: usize) -> Evaluations {
        Evaluations {
            tally: EvaluationTally::default(),
            log: RecordLog::new(records, expected, Some(KEPT_EVALUATIONS)),
        }
    }

    /// Counts `record`, and sends or keeps it.
    pub(crate) fn push(&mut self, record: EvaluationRecord) {
        self.tally.count += 1;
        self.tally.failed += u64::from(record.error.is_some());
        self.log.push(record);
    }

    /// The evaluations kept so far.
    pub(crate) fn kept(&self) -> &[EvaluationRecord] {
        self.log.kept()
    }

    /// The tally, the evaluations kept, and the sink to close, if any.
    pub(crate) fn finish(self) -> (EvaluationTally, Vec<EvaluationRecord>, Option<Box<dyn Sink<EvaluationRecord>>>) {
        let (kept, sink) = self.log.finish();
        (self.tally, kept, sink)
    }
}
