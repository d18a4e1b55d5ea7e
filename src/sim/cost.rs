//! Per-second billing with a 60-second minimum, and the running integral
//! of billed nodes that checks it.
//!
//! A node is billed from the moment its VM is allocated (`starting`) until
//! it leaves the pool, except while `preempted`. Each uninterrupted billed
//! period is charged in whole seconds, rounded up, and at least 60 s — the
//! VM's minimum; a preempted node that comes back starts a new period.

use super::priority::Priority;
use crate::time::{SimDuration, SimTime};

/// The minimum charge of one billed period, in seconds.
pub const MINIMUM_SECONDS: u64 = 60;

/// The meter of one priority.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meter {
    /// Nodes billed right now.
    pub open: u64,
    /// Σ start times of the open periods, in ms: with `open`, gives the
    /// open periods' accrued time at any instant without visiting them.
    open_since_sum: u128,
    /// Seconds charged for closed periods (rounded up, 60 s minimum).
    pub charged_seconds: u64,
    /// Exact milliseconds of the closed periods.
    pub closed_ms: u64,
    /// Closed periods.
    pub periods: u64,
    /// ∫ open dt in ms, kept independently of the periods as a cross-check.
    integral_ms: u128,
    last_change: SimTime,
}

impl Meter {
    fn advance(&mut self, now: SimTime) {
        self.integral_ms += u128::from(self.open) * u128::from(now.since(self.last_change).as_millis());
        self.last_change = now;
    }

    /// Milliseconds the open periods have run at `now`.
    fn open_ms(&self, now: SimTime) -> u128 {
        u128::from(self.open) * u128::from(now.as_millis()) - self.open_since_sum
    }
}

/// Billing of the whole pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Billing {
    meters: [Meter; 2],
}

impl Billing {
    /// A node of `priority` starts a billed period at `now`.
    pub fn open(&mut self, priority: Priority, now: SimTime) {
        let m = &mut self.meters[priority as usize];
        m.advance(now);
        m.open += 1;
        m.open_since_sum += u128::from(now.as_millis());
    }

    /// A node's billed period that began at `since` ends at `now`.
    pub fn close(&mut self, priority: Priority, since: SimTime, now: SimTime) {
        let m = &mut self.meters[priority as usize];
        m.advance(now);
        debug_assert!(m.open > 0, "closing a period that is not open");
        m.open = m.open.saturating_sub(1);
        m.open_since_sum -= u128::from(since.as_millis());
        let length = now.since(since);
        m.closed_ms += length.as_millis();
        m.charged_seconds += charged_seconds(length);
        m.periods += 1;
    }

    /// The meter of `priority`.
    pub fn meter(&self, priority: Priority) -> &Meter {
        &self.meters[priority as usize]
    }

    /// Cost accrued by `now` at per-hour `prices` (dedicated, low-priority):
    /// closed periods as charged, open ones by the second so far.
    pub fn accrued(&self, now: SimTime, prices: [f64; 2]) -> f64 {
        self.meters
            .iter()
            .zip(prices)
            .map(|(m, price)| (m.charged_seconds as f64 + m.open_ms(now) as f64 / 1000.0) * price / 3600.0)
            .sum()
    }

    /// Checks that the integral of billed nodes equals the closed periods
    /// plus the open ones' time so far.
    pub fn check(&self, now: SimTime) -> Result<(), String> {
        for (i, m) in self.meters.iter().enumerate() {
            let mut m = m.clone();
            m.advance(now);
            let periods = u128::from(m.closed_ms) + m.open_ms(now);
            if m.integral_ms != periods {
                return Err(format!("billing[{i}]: integral {} ms != periods {periods} ms", m.integral_ms));
            }
        }
        Ok(())
    }
}

/// Seconds charged for one period: rounded up, at least the minimum.
pub fn charged_seconds(length: SimDuration) -> u64 {
    length.ceil_secs().max(MINIMUM_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_up_with_a_minute_minimum() {
        assert_eq!(charged_seconds(SimDuration(1)), 60);
        assert_eq!(charged_seconds(SimDuration(60_000)), 60);
        assert_eq!(charged_seconds(SimDuration(60_001)), 61);
        assert_eq!(charged_seconds(SimDuration::from_hours(1)), 3600);
    }

    #[test]
    fn the_integral_matches_the_periods() {
        let mut b = Billing::default();
        b.open(Priority::Dedicated, SimTime(0));
        b.open(Priority::Dedicated, SimTime(1_000));
        b.open(Priority::LowPriority, SimTime(2_000));
        b.close(Priority::Dedicated, SimTime(1_000), SimTime(31_000));
        b.check(SimTime(50_000)).unwrap();
        let d = b.meter(Priority::Dedicated);
        assert_eq!((d.open, d.closed_ms, d.charged_seconds, d.periods), (1, 30_000, 60, 1));
        // 60 s charged + 50 s open dedicated at $3.6/h, 48 s open low-priority at $0.36/h.
        let cost = b.accrued(SimTime(50_000), [3.6, 0.36]);
        assert!((cost - (0.110 + 0.0048)).abs() < 1e-12, "{cost}");
    }
}
