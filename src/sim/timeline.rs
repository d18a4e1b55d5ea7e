//! The timeline of a run: one row per 30-s sample. With `--out` the rows
//! stream to `timeline.csv` as they are recorded, and only a bounded copy
//! stays in memory for what reads the timeline after the run (the run
//! charts, `report.html`): every row up to [`KEPT_ROWS`] — every bundled
//! scenario, a 7-day run has 20 161 — then every other one each time the
//! copy fills up again, so that a run of any length keeps at most
//! [`KEPT_ROWS`] rows, evenly spaced, and its last.
//!
//! The latest row stays open until the next one comes (or the run ends):
//! an evaluation, a manual resize or the end of a drain at the same
//! instant rewrites it to show the targets it set.

use super::node::NodeState;
use super::pool::{AllocationState, ResizeErrorCode};
use super::records::{RecordLog, Recording, Sink};
use crate::time::SimTime;

/// The most timeline rows a streamed run keeps in memory (about 13.5 MiB of
/// rows of 432 bytes). Even, so that halving keeps every other row of a
/// stride.
pub const KEPT_ROWS: usize = 32_768;

/// The pool at one sampling instant: a row of `timeline.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// When.
    pub time: SimTime,
    /// `steady` or `resizing`.
    pub allocation_state: AllocationState,
    /// Dedicated and low-priority targets.
    pub target: [u32; 2],
    /// Nodes by priority, then state (`NodeState as usize`).
    pub nodes: [[u32; NodeState::COUNT]; 2],
    /// `$ActiveTasks`.
    pub active_tasks: u32,
    /// `$RunningTasks`.
    pub running_tasks: u32,
    /// Tasks succeeded so far.
    pub succeeded: u64,
    /// Tasks failed so far.
    pub failed: u64,
    /// `$CPUPercent`.
    pub cpu_percent: f64,
    /// Cost so far: every billed period, the open ones as if they closed
    /// now (so the last row, at the end, is the run's cost).
    pub cost: f64,
    /// Seconds charged so far per priority, as `cost` counts them.
    pub charged_seconds: [u64; 2],
    /// Node time so far by priority, then state (`NodeState as usize`),
    /// in ms: what the charge is attributed to.
    pub time_in_state: [[u64; NodeState::COUNT]; 2],
    /// Resize errors on the pool.
    pub errors: Vec<ResizeErrorCode>,
}

/// What a run does with its timeline rows: every row kept in
/// [`Output::timeline`](super::Output::timeline) (the default: tests,
/// `compare`'s charts); none but the open one, for the targets set at its
/// instant (`Drop`: `run` without `--out`, nothing reads the timeline); or
/// every row sent to a sink and a bounded copy kept (see the module).
pub type TimelineRecords = Recording<TimelineRow>;

/// The rows of a run, as [`TimelineRecords`] says.
#[derive(Debug)]
pub(crate) struct Timeline {
    /// The latest row, which may still be rewritten at its instant.
    open: Option<TimelineRow>,
    /// The rows closed before it.
    closed: RecordLog<TimelineRow>,
}

impl Timeline {
    /// An empty timeline whose rows go to `records`, with room for the
    /// rows kept of a run of `rows` samples.
    pub(crate) fn new(records: TimelineRecords, rows: usize) -> Timeline {
        Timeline { open: None, closed: RecordLog::new(records, rows, Some(KEPT_ROWS)) }
    }

    /// The latest row.
    pub(crate) fn last(&self) -> Option<&TimelineRow> {
        self.open.as_ref()
    }

    /// The latest row, to rewrite.
    pub(crate) fn last_mut(&mut self) -> Option<&mut TimelineRow> {
        self.open.as_mut()
    }

    /// Closes the open row and opens `row`.
    pub(crate) fn push(&mut self, row: TimelineRow) {
        if let Some(done) = self.open.replace(row) {
            self.closed.push(done);
        }
    }

    /// Closes the last row (always kept, but with [`TimelineRecords::Drop`])
    /// and returns the rows kept and the sink to close, if any.
    pub(crate) fn finish(mut self) -> (Vec<TimelineRow>, Option<Box<dyn Sink<TimelineRow>>>) {
        if let Some(last) = self.open.take() {
            self.closed.push_last(last);
        }
        self.closed.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn row(n: u64) -> TimelineRow {
        TimelineRow {
            time: SimTime(n * 30_000),
            allocation_state: AllocationState::Steady,
            target: [0; 2],
            nodes: Default::default(),
            active_tasks: 0,
            running_tasks: 0,
            succeeded: n,
            failed: 0,
            cpu_percent: 0.0,
            cost: 0.0,
            charged_seconds: [0; 2],
            time_in_state: Default::default(),
            errors: Vec::new(),
        }
    }

    /// Counts the rows it is sent, and checks they come in order.
    #[derive(Debug, Clone, Default)]
    struct Numbers(Arc<Mutex<Vec<u64>>>);

    impl Sink<TimelineRow> for Numbers {
        fn put(&mut self, row: &TimelineRow) {
            self.0.lock().expect("not poisoned").push(row.succeeded);
        }

        fn close(self: Box<Self>) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn streamed(rows: u64) -> (Vec<u64>, Vec<u64>) {
        let sink = Numbers::default();
        let mut timeline = Timeline::new(TimelineRecords::Send(Box::new(sink.clone())), rows as usize);
        for n in 0..rows {
            timeline.push(row(n));
            // The open row is rewritten, not sent twice.
            timeline.last_mut().expect("open").succeeded = n;
        }
        let (kept, back) = timeline.finish();
        assert!(back.is_some());
        let sent = sink.0.lock().expect("not poisoned").clone();
        (sent, kept.iter().map(|r| r.succeeded).collect())
    }

    #[test]
    fn a_streamed_run_keeps_every_row_up_to_the_bound() {
        let rows = KEPT_ROWS as u64;
        let (sent, kept) = streamed(rows);
        assert_eq!(sent, (0..rows).collect::<Vec<_>>());
        assert_eq!(kept, sent);
    }

    #[test]
    fn past_the_bound_every_other_row_goes_and_the_last_stays() {
        let rows = KEPT_ROWS as u64 + 1;
        let (sent, kept) = streamed(rows);
        assert_eq!(sent.len(), KEPT_ROWS + 1);
        // Rows 0, 2, …, 32 766, then the last, 32 768, on the new stride.
        assert_eq!(kept.len(), KEPT_ROWS / 2 + 1);
        assert_eq!(kept[..3], [0, 2, 4]);
        assert_eq!(kept.last(), Some(&(KEPT_ROWS as u64)));

        // Five times the bound and an odd row: stride 8, the last kept too.
        let rows = 5 * KEPT_ROWS as u64 + 3;
        let (sent, kept) = streamed(rows);
        assert_eq!(sent.len() as u64, rows);
        assert!(kept.len() <= KEPT_ROWS);
        assert_eq!(kept[..3], [0, 8, 16]);
        assert_eq!(kept.len(), (5 * KEPT_ROWS) / 8 + 2);
        assert_eq!(kept.last(), Some(&(rows - 1)));
        assert!(kept.windows(2).all(|w| w[1] - w[0] == 8 || w[1] == rows - 1));
    }

    #[test]
    fn kept_and_dropped_timelines() {
        let mut all = Timeline::new(TimelineRecords::Keep, 0);
        let mut none = Timeline::new(TimelineRecords::Drop, 0);
        for n in 0..(KEPT_ROWS as u64 + 5) {
            all.push(row(n));
            none.push(row(n));
            assert_eq!(none.last().map(|r| r.succeeded), Some(n));
        }
        let (all, sink) = all.finish();
        assert_eq!((all.len(), sink.is_none()), (KEPT_ROWS + 5, true));
        let (none, sink) = none.finish();
        assert_eq!((none.len(), sink.is_none()), (0, true));
    }
}
