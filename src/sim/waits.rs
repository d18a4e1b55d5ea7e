//! Queue waits in bounded memory: the count, the mean and the maximum
//! exactly, and the 95th percentile exactly while few tasks have started,
//! then from an HDR histogram whose size does not grow with the run.

use hdrhistogram::Histogram;

/// Waits kept one by one up to this many (4 MiB): below it the percentile
/// is exact, as every bundled scenario's is and the first day of the
/// 10 000-node benchmark's (334 000 waits).
pub const EXACT_WAITS: usize = 1 << 19;

/// Significant decimal digits the histogram keeps: a percentile read from
/// it is at most 1/1000 of its value above the exact one, never below.
pub const HISTOGRAM_DIGITS: u8 = 3;

/// The queue waits (submission to first start) of the tasks that started,
/// in milliseconds.
#[derive(Debug, Clone)]
pub struct WaitStats {
    count: u64,
    /// Σ waits as floats, added in task order: the mean as it always was.
    sum_ms: f64,
    max_ms: u64,
    values: Values,
}

/// Where the waits themselves are kept.
#[derive(Debug, Clone)]
enum Values {
    /// Each wait, up to [`EXACT_WAITS`].
    Exact(Vec<u64>),
    /// Past that, their distribution at [`HISTOGRAM_DIGITS`] digits.
    Histogram(Box<Histogram<u64>>),
}

impl Default for WaitStats {
    fn default() -> Self {
        WaitStats { count: 0, sum_ms: 0.0, max_ms: 0, values: Values::Exact(Vec::new()) }
    }
}

impl WaitStats {
    /// One more task started after waiting `ms`.
    pub fn record(&mut self, ms: u64) {
        self.count += 1;
        self.sum_ms += ms as f64;
        self.max_ms = self.max_ms.max(ms);
        match &mut self.values {
            Values::Exact(waits) if waits.len() < EXACT_WAITS => waits.push(ms),
            Values::Exact(waits) => {
                let mut histogram = new_histogram();
                for &w in waits.iter() {
                    add(&mut histogram, w);
                }
                add(&mut histogram, ms);
                self.values = Values::Histogram(Box::new(histogram));
            }
            Values::Histogram(histogram) => add(histogram, ms),
        }
    }

    /// Tasks that started.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean wait in ms; `None` when no task started.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms / self.count as f64)
    }

    /// The longest wait in ms, exactly.
    pub fn max_ms(&self) -> u64 {
        self.max_ms
    }

    /// Whether [`WaitStats::p95_ms`] is exact: at most [`EXACT_WAITS`] waits.
    pub fn is_exact(&self) -> bool {
        matches!(self.values, Values::Exact(_))
    }

    /// The nearest-rank 95th percentile in ms: exact while
    /// [`WaitStats::is_exact`], else the top of the histogram bucket that
    /// holds that rank (at most 1/1000 above the exact value, and never
    /// above the maximum).
    pub fn p95_ms(&self) -> Option<u64> {
        let rank = (self.count * 95).div_ceil(100).max(1);
        match &self.values {
            _ if self.count == 0 => None,
            Values::Exact(waits) => {
                let mut waits = waits.clone();
                let (_, p95, _) = waits.select_nth_unstable(rank as usize - 1);
                Some(*p95)
            }
            Values::Histogram(histogram) => {
                // The quantile whose rank, as the histogram rounds it up
                // (⌈q·n⌉), is this one: half a rank below it.
                let q = (rank as f64 - 0.5) / self.count as f64;
                Some(histogram.value_at_quantile(q).min(self.max_ms))
            }
        }
    }

    /// Adds the waits of `other` (another pool's), as if recorded here
    /// after this one's.
    pub fn merge(&mut self, other: &WaitStats) {
        match &other.values {
            Values::Exact(waits) => waits.iter().for_each(|&w| self.record(w)),
            Values::Histogram(theirs) => {
                let mut histogram = match std::mem::replace(&mut self.values, Values::Exact(Vec::new())) {
                    Values::Histogram(ours) => ours,
                    Values::Exact(waits) => {
                        let mut ours = new_histogram();
                        waits.iter().for_each(|&w| add(&mut ours, w));
                        Box::new(ours)
                    }
                };
                if histogram.add(theirs.as_ref()).is_err() {
                    // Only a wait beyond the range the histogram can grow to
                    // fails; count each of theirs at the top, as `add` does.
                    theirs.iter_recorded().for_each(|v| {
                        histogram.saturating_record_n(v.value_iterated_to(), v.count_at_value());
                    });
                }
                self.values = Values::Histogram(histogram);
                self.count += other.count;
                self.sum_ms += other.sum_ms;
                self.max_ms = self.max_ms.max(other.max_ms);
            }
        }
    }

    /// The memory the waits take, in values kept: it stops growing at the
    /// switch to the histogram.
    pub fn kept_len(&self) -> usize {
        match &self.values {
            Values::Exact(waits) => waits.len(),
            Values::Histogram(histogram) => histogram.distinct_values(),
        }
    }
}

/// Records `ms`, growing the histogram's range to it (a wait is at most a
/// scenario's length, far within what it can grow to; past that it would
/// count at the top of the range).
fn add(histogram: &mut Histogram<u64>, ms: u64) {
    if histogram.record(ms).is_err() {
        histogram.saturating_record(ms);
    }
}

/// An empty histogram of ms waits that grows its range as needed.
fn new_histogram() -> Histogram<u64> {
    // Three digits are within hdrhistogram's supported 0..=5.
    Histogram::new(HISTOGRAM_DIGITS).unwrap_or_else(|_| unreachable!("3 significant digits are supported"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_waits_are_the_waits_of_both() {
        let (mut a, mut b, mut both) = (WaitStats::default(), WaitStats::default(), WaitStats::default());
        for ms in 0..1000 {
            a.record(ms);
            both.record(ms);
        }
        for ms in 0..(EXACT_WAITS as u64 + 10) {
            b.record(ms * 3);
            both.record(ms * 3);
        }
        assert!(!b.is_exact());
        let mut small = a.clone();
        small.merge(&a);
        assert_eq!((small.count(), small.is_exact(), small.max_ms()), (2000, true, 999));
        a.merge(&b);
        assert_eq!((a.count(), a.max_ms(), a.mean_ms()), (both.count(), both.max_ms(), both.mean_ms()));
        assert_eq!(a.p95_ms(), both.p95_ms());
    }

    #[test]
    fn small_counts_are_exact_with_the_nearest_rank() {
        let mut w = WaitStats::default();
        assert_eq!((w.mean_ms(), w.p95_ms()), (None, None));
        for s in 1..=100 {
            w.record(s * 1000);
        }
        assert!(w.is_exact());
        assert_eq!((w.count(), w.mean_ms(), w.p95_ms(), w.max_ms()), (100, Some(50_500.0), Some(95_000), 100_000));
    }

    #[test]
    fn large_counts_keep_a_bounded_histogram_within_its_error() {
        let mut w = WaitStats::default();
        // 600 000 waits up to 20 000 s.
        let waits: Vec<u64> = (0..600_000u64).map(|i| (i * 7919 % 20_000) * 1000 + i % 10).collect();
        for &x in &waits {
            w.record(x);
        }
        assert!(!w.is_exact());
        let mut sorted = waits.clone();
        sorted.sort_unstable();
        let exact = sorted[(sorted.len() * 95).div_ceil(100) - 1];
        let p95 = w.p95_ms().unwrap();
        assert!(p95 >= exact && p95 - exact <= exact / 1000, "{p95} vs exact {exact}");
        assert_eq!(w.max_ms(), *sorted.last().unwrap());
        assert_eq!(w.mean_ms(), Some(waits.iter().map(|&x| x as f64).sum::<f64>() / 600_000.0));
        let kept = w.kept_len();
        for &x in &waits {
            w.record(x);
        }
        assert_eq!(w.kept_len(), kept, "the histogram does not grow with repeated values");
    }
}
