//! Where a run's per-item records go — timeline rows, evaluations, job
//! preparation and release runs — as they are made: kept in the output,
//! dropped, or handed to a [`Sink`] (a file written as the run goes), so
//! that memory need not grow with the simulated time. What reads them
//! after the run (charts, `report.html`) gets a bounded copy, [`Thinned`].
//!
//! (Tasks have their own, numbered: [`TaskRecords`](super::TaskRecords).)

/// Where records go as they are made, in order (an output file is written
/// through one as the run goes). Infallible for the engine: a writer keeps
/// its first error and reports it when it is closed.
pub trait Sink<T>: std::fmt::Debug + Send {
    /// The next record, final.
    fn put(&mut self, record: &T);

    /// The run is over: finish the file (flushed, then given its name), or
    /// report the first error met on the way.
    fn close(self: Box<Self>) -> std::io::Result<()>;
}

/// What a run does with records of type `T`.
#[derive(Debug, Default)]
pub enum Recording<T> {
    /// Every record kept in the output (the default: tests, the library's
    /// callers, runs on real agents, whose files are written at the end).
    #[default]
    Keep,
    /// None kept: nothing reads them (`run` without `--out`); the output
    /// keeps only what the summary counts.
    Drop,
    /// Every record handed to a sink as it is made (`run --out`); the
    /// output keeps at most a bounded copy (see each kind of record).
    Send(Box<dyn Sink<T>>),
}

/// The records of one kind a run makes, as a [`Recording`] says: kept
/// whole, dropped, or each sent to a sink with a copy of at most a bound
/// kept (none when nothing reads them after the run but their file).
#[derive(Debug)]
pub(crate) struct RecordLog<T> {
    /// What stays in memory; none when dropped.
    kept: Option<Thinned<T>>,
    records: Recording<T>,
}

impl<T> Default for RecordLog<T> {
    /// Every record kept.
    fn default() -> Self {
        RecordLog::new(Recording::Keep, 0, None)
    }
}

impl<T> RecordLog<T> {
    /// No record yet; they go to `records`, with room for `expected` of
    /// them, and of those sent to a sink, at most `copy` kept (see
    /// [`Thinned`]; `None`: none).
    pub(crate) fn new(records: Recording<T>, expected: usize, copy: Option<usize>) -> RecordLog<T> {
        let kept = match (&records, copy) {
            (Recording::Keep, _) => Some(Thinned::all(expected)),
            (Recording::Drop, _) | (Recording::Send(_), None) => None,
            (Recording::Send(_), Some(bound)) => Some(Thinned::new(bound, expected)),
        };
        RecordLog { kept, records }
    }

    /// The next record: sent to the sink, if any, and kept as the copy's
    /// stride allows.
    pub(crate) fn push(&mut self, record: T) {
        if let Recording::Send(sink) = &mut self.records {
            sink.put(&record);
        }
        if let Some(kept) = &mut self.kept {
            kept.offer(record);
        }
    }

    /// The last record: [`RecordLog::push`], but kept off the stride too.
    pub(crate) fn push_last(&mut self, record: T) {
        if let Recording::Send(sink) = &mut self.records {
            sink.put(&record);
        }
        if let Some(kept) = &mut self.kept {
            kept.keep(record);
        }
    }

    /// The records kept so far.
    pub(crate) fn kept(&self) -> &[T] {
        self.kept.as_ref().map_or(&[], Thinned::kept)
    }

    /// The records kept, and the sink to close, if any.
    pub(crate) fn finish(self) -> (Vec<T>, Option<Box<dyn Sink<T>>>) {
        let sink = match self.records {
            Recording::Send(sink) => Some(sink),
            Recording::Keep | Recording::Drop => None,
        };
        (self.kept.map(Thinned::into_kept).unwrap_or_default(), sink)
    }
}

/// A copy of a stream of records that stays within `bound`, evenly spaced:
/// every record until it is full, then every other one each time it fills
/// up again (the stride doubles, so a run of any length keeps between half
/// the bound and the bound).
#[derive(Debug, Clone)]
pub(crate) struct Thinned<T> {
    kept: Vec<T>,
    /// How many were offered.
    offered: usize,
    /// Those whose number is a multiple of it are kept: 1, doubled each
    /// time the copy is full.
    stride: usize,
    /// The most kept; even, so that halving keeps every other of a stride.
    bound: usize,
}

impl<T> Thinned<T> {
    /// An empty copy of at most `bound` records (even), with room for
    /// `expected` of them.
    pub(crate) fn new(bound: usize, expected: usize) -> Thinned<T> {
        debug_assert!(bound.is_multiple_of(2), "an even bound");
        Thinned { kept: Vec::with_capacity(expected.min(bound)), offered: 0, stride: 1, bound }
    }

    /// A copy of every record, with room for `expected` of them.
    pub(crate) fn all(expected: usize) -> Thinned<T> {
        Thinned { kept: Vec::with_capacity(expected), offered: 0, stride: 1, bound: usize::MAX }
    }

    /// Record number `offered`: kept if on the stride.
    pub(crate) fn offer(&mut self, record: T) {
        let number = self.offered;
        self.offered += 1;
        if number.is_multiple_of(self.stride) {
            self.keep(record);
        }
    }

    /// Keeps `record` whatever its number (a run's last timeline row),
    /// halving the copy first when it is full.
    pub(crate) fn keep(&mut self, record: T) {
        if self.kept.len() >= self.bound {
            let mut i = 0;
            self.kept.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            self.stride *= 2;
        }
        self.kept.push(record);
    }

    /// The records kept so far.
    pub(crate) fn kept(&self) -> &[T] {
        &self.kept
    }

    /// The records kept.
    pub(crate) fn into_kept(self) -> Vec<T> {
        self.kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thinned(bound: usize, n: usize) -> Vec<usize> {
        let mut t = Thinned::new(bound, n);
        (0..n).for_each(|i| t.offer(i));
        t.into_kept()
    }

    #[test]
    fn every_record_up_to_the_bound_then_every_other_each_time_it_fills() {
        assert_eq!(thinned(4, 4), [0, 1, 2, 3]);
        assert_eq!(thinned(4, 5), [0, 2, 4]);
        assert_eq!(thinned(4, 8), [0, 2, 4, 6]);
        assert_eq!(thinned(4, 9), [0, 4, 8]);
        assert_eq!(thinned(4, 100), [0, 32, 64, 96]);
        let mut all = Thinned::all(0);
        (0..100).for_each(|i| all.offer(i));
        assert_eq!(all.into_kept(), (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_record_kept_off_the_stride() {
        let mut t = Thinned::new(4, 0);
        (0..5).for_each(|i| t.offer(i));
        t.keep(5);
        assert_eq!(t.kept(), [0, 2, 4, 5]);
        t.keep(6);
        assert_eq!(t.kept(), [0, 4, 6]);
    }
}
