//! A metric's sample history and the window queries behind `GetSample`,
//! `GetSamplePercent`, `Count` and `HistoryBeginTime`.

use crate::{Interval, RuntimeError, Timestamp};

/// The service records every metric this often.
pub const SAMPLE_PERIOD: Interval = Interval(30 * crate::time::TICKS_PER_SECOND);

/// The visible samples of one metric, oldest first.
///
/// Times and values are kept in separate vectors so that a window is a
/// borrowed slice of values: `GetSample` allocates nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    times: Vec<Timestamp>,
    values: Vec<f64>,
}

/// A look-back window, in ages relative to the evaluation instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The youngest age included (closest to now).
    pub newest: Interval,
    /// The oldest age included.
    pub oldest: Interval,
}

impl Window {
    /// The window between two look-back points, given in either order
    /// (the docs write both `(1 min, 6 min)` and `(10 s, 0 s)`).
    pub fn between(a: Interval, b: Interval) -> Window {
        Window { newest: a.min(b), oldest: a.max(b) }
    }

    /// How many samples a full window holds: its length over the sample
    /// period, at least 1.
    fn expected_samples(self) -> f64 {
        let length = self.oldest.0 as f64 - self.newest.0 as f64;
        (length / SAMPLE_PERIOD.0 as f64).max(1.0)
    }

    /// 100 × `found` ÷ the samples a full window holds, at most 100.
    pub fn percent(self, found: usize) -> f64 {
        (100.0 * found as f64 / self.expected_samples()).min(100.0)
    }
}

impl History {
    /// A history from `(time, value)` pairs in any order.
    pub fn new(mut samples: Vec<(Timestamp, f64)>) -> History {
        samples.sort_by_key(|&(t, _)| t);
        let (times, values) = samples.into_iter().unzip();
        History { times, values }
    }

    /// Appends a sample recorded at `at`, which must not be older than the
    /// newest sample. A simulator appends each sample as it becomes visible
    /// rather than rebuilding the history for every evaluation.
    pub fn push(&mut self, at: Timestamp, value: f64) {
        debug_assert!(self.times.last().is_none_or(|&last| last <= at), "samples must be pushed oldest first");
        self.times.push(at);
        self.values.push(value);
    }

    /// Makes room for `additional` more samples.
    pub fn reserve(&mut self, additional: usize) {
        self.times.reserve(additional);
        self.values.reserve(additional);
    }

    /// Forgets the samples recorded before `cutoff`, so that a long
    /// simulation keeps a bounded history. Returns how many were dropped.
    pub fn drop_before(&mut self, cutoff: Timestamp) -> usize {
        let n = self.times.partition_point(|&t| t < cutoff);
        self.times.drain(..n);
        self.values.drain(..n);
        n
    }

    /// `Count()`: the number of samples in the history.
    pub fn count(&self) -> usize {
        self.values.len()
    }

    /// `HistoryBeginTime()`: the time of the oldest sample, if any.
    pub fn begin_time(&self) -> Option<Timestamp> {
        self.times.first().copied()
    }

    /// `GetSample(n)`: the `n` most recent samples (all of them if fewer).
    pub fn last(&self, n: f64) -> Result<&[f64], RuntimeError> {
        if !(n >= 0.0 && n.is_finite()) {
            return Err(RuntimeError::BadSampleCount(n));
        }
        let keep = (n as usize).min(self.values.len());
        Ok(&self.values[self.values.len() - keep..])
    }

    /// Every value, oldest first.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The samples whose age at `now` lies within `window`, bounds included.
    pub fn window(&self, now: Timestamp, window: Window) -> &[f64] {
        &self.values[self.window_range(now, window)]
    }

    /// The indices of [`History::window`]'s samples in [`History::values`].
    pub fn window_range(&self, now: Timestamp, window: Window) -> std::ops::Range<usize> {
        let oldest_time = now.unix_ticks().saturating_sub(window.oldest.0);
        let newest_time = now.unix_ticks().saturating_sub(window.newest.0);
        let start = self.times.partition_point(|t| t.unix_ticks() < oldest_time);
        let end = self.times.partition_point(|t| t.unix_ticks() <= newest_time);
        start..end.max(start)
    }

    /// `GetSamplePercent(window)`: 100 × samples in the window ÷ the samples
    /// a full window holds, at most 100.
    pub fn percent(&self, now: Timestamp, window: Window) -> f64 {
        window.percent(self.window_range(now, window).len())
    }

    /// `GetSample(window, pct)`: the window's samples, or
    /// [`RuntimeError::InsufficientSamples`] when fewer than `pct` percent of
    /// them are there.
    pub fn window_with_percent(&self, now: Timestamp, window: Window, pct: f64) -> Result<&[f64], RuntimeError> {
        self.window_range_with_percent(now, window, pct).map(|range| &self.values[range])
    }

    /// [`History::window_with_percent`] as indices into [`History::values`],
    /// finding the window once.
    pub fn window_range_with_percent(
        &self,
        now: Timestamp,
        window: Window,
        pct: f64,
    ) -> Result<std::ops::Range<usize>, RuntimeError> {
        Self::require_percent(self.window_range(now, window), window, pct)
    }

    /// [`History::window_range_with_percent`] of a window already found:
    /// `range` holds `window`'s samples.
    pub fn require_percent(
        range: std::ops::Range<usize>,
        window: Window,
        pct: f64,
    ) -> Result<std::ops::Range<usize>, RuntimeError> {
        if !(0.0..=100.0).contains(&pct) {
            return Err(RuntimeError::BadSamplePercent(pct));
        }
        let received = window.percent(range.len());
        if received < pct {
            return Err(RuntimeError::InsufficientSamples { wanted: pct, received: received.trunc() });
        }
        Ok(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> Interval {
        Interval(s * crate::time::TICKS_PER_SECOND)
    }

    fn history(now: Timestamp, samples: &[(i64, f64)]) -> History {
        History::new(samples.iter().map(|&(age, v)| (now.sub_interval(secs(age)).unwrap(), v)).collect())
    }

    #[test]
    fn windows_are_inclusive_and_oldest_first() {
        let now = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        let h = history(now, &[(15, 1.0), (45, 2.0), (75, 3.0), (105, 4.0)]);
        assert_eq!(h.window(now, Window::between(secs(75), Interval::ZERO)), [3.0, 2.0, 1.0]);
        assert_eq!(h.window(now, Window::between(secs(45), secs(105))), [4.0, 3.0, 2.0]);
        assert_eq!(h.window(now, Window::between(secs(105), secs(45))), [4.0, 3.0, 2.0]);
        assert_eq!(h.window(now, Window::between(secs(10), secs(0))), [] as [f64; 0]);
        assert_eq!(h.last(2.0), Ok(&[2.0, 1.0][..]));
        assert_eq!(h.last(10.0).map(<[f64]>::len), Ok(4));
        assert!(h.last(-1.0).is_err());
        assert_eq!(h.count(), 4);
        assert_eq!(h.begin_time(), now.sub_interval(secs(105)).ok());
    }

    #[test]
    fn push_appends_and_drop_before_trims_the_oldest() {
        let now = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        let mut h = History::default();
        for age in [90, 60, 30, 0] {
            h.push(now.sub_interval(secs(age)).unwrap(), age as f64);
        }
        assert_eq!(h, history(now, &[(90, 90.0), (60, 60.0), (30, 30.0), (0, 0.0)]));
        assert_eq!(h.drop_before(now.sub_interval(secs(60)).unwrap()), 1);
        assert_eq!(h.begin_time(), now.sub_interval(secs(60)).ok());
        assert_eq!(h.last(10.0), Ok(&[60.0, 30.0, 0.0][..]));
        assert_eq!(h.drop_before(now.sub_interval(secs(3600)).unwrap()), 0);
        assert_eq!(h.count(), 3);
    }

    #[test]
    fn percent_counts_against_a_full_window() {
        let now = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        let h = history(now, &[(15, 0.0), (45, 0.0), (75, 0.0)]);
        assert_eq!(h.percent(now, Window::between(secs(180), Interval::ZERO)), 50.0);
        assert_eq!(h.percent(now, Window::between(secs(90), Interval::ZERO)), 100.0);
        assert_eq!(h.percent(now, Window::between(secs(20), Interval::ZERO)), 100.0);
        assert_eq!(
            h.window_with_percent(now, Window::between(secs(180), Interval::ZERO), 70.0),
            Err(RuntimeError::InsufficientSamples { wanted: 70.0, received: 50.0 })
        );
        assert_eq!(
            History::default().window_with_percent(now, Window::between(secs(10), Interval::ZERO), 100.0),
            Err(RuntimeError::InsufficientSamples { wanted: 100.0, received: 0.0 })
        );
    }
}
