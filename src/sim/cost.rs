//! Per-second billing with a 60-second minimum, and the running integral
//! of billed nodes that checks it.
//!
//! A node is billed from the moment its VM is allocated (`starting`) until
//! it leaves the pool, except while `preempted`. Each uninterrupted billed
//! period is charged in whole seconds, rounded up, and at least 60 s — the
//! VM's minimum; a preempted node that comes back starts a new period.
//!
//! The cost so far, which the timeline shows, charges the open periods as
//! if they closed at that instant, by the same rule: so the last row of a
//! run equals its final bill.

use std::collections::BTreeMap;

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
    /// Σ start times of the open periods, in whole seconds rounded down:
    /// with `open`, what the open periods would be charged, rounded up,
    /// if they closed at a whole second.
    open_since_secs_sum: u64,
    /// How many open periods began at each instant (ms): those of the
    /// last minute are charged the minimum instead.
    open_starts: BTreeMap<u64, u32>,
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

    /// Exact billed milliseconds at `now`: the closed periods and the
    /// open ones so far, before rounding and the minimum.
    pub fn billed_ms(&self, now: SimTime) -> u128 {
        u128::from(self.closed_ms) + self.open_ms(now)
    }

    /// Milliseconds the open periods have run at `now`.
    fn open_ms(&self, now: SimTime) -> u128 {
        u128::from(self.open) * u128::from(now.as_millis()) - self.open_since_sum
    }

    /// Seconds charged if every open period closed at `now_s` (whole
    /// seconds): the closed periods' charge, plus each open period's
    /// length rounded up (for a whole-second end, its end minus its start
    /// rounded down), plus what the minimum adds to the periods shorter
    /// than it — the few of the last minute, not every open one.
    fn charged_at(&self, now_s: u64) -> u64 {
        let now = SimTime(now_s * 1000);
        let rounded_up = self.open * now_s - self.open_since_secs_sum;
        let recent = now.as_millis().saturating_sub(MINIMUM_SECONDS * 1000);
        let minimum: u64 = self
            .open_starts
            .range(recent..)
            .map(|(&since, &n)| {
                let length = now.since(SimTime(since));
                u64::from(n) * (charged_seconds(length) - length.ceil_secs())
            })
            .sum();
        self.charged_seconds + rounded_up + minimum
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
        m.open_since_secs_sum += now.as_millis() / 1000;
        *m.open_starts.entry(now.as_millis()).or_insert(0) += 1;
    }

    /// A node's billed period that began at `since` ends at `now`.
    pub fn close(&mut self, priority: Priority, since: SimTime, now: SimTime) {
        let m = &mut self.meters[priority as usize];
        m.advance(now);
        debug_assert!(m.open > 0, "closing a period that is not open");
        m.open = m.open.saturating_sub(1);
        m.open_since_sum -= u128::from(since.as_millis());
        m.open_since_secs_sum -= since.as_millis() / 1000;
        if let std::collections::btree_map::Entry::Occupied(mut starts) = m.open_starts.entry(since.as_millis()) {
            *starts.get_mut() -= 1;
            if *starts.get() == 0 {
                starts.remove();
            }
        }
        let length = now.since(since);
        m.closed_ms += length.as_millis();
        m.charged_seconds += charged_seconds(length);
        m.periods += 1;
    }

    /// The meter of `priority`.
    pub fn meter(&self, priority: Priority) -> &Meter {
        &self.meters[priority as usize]
    }

    /// Seconds charged per priority if every open period closed at
    /// `now_s`, in whole seconds (every sampling instant is one).
    pub fn charged_at(&self, now_s: u64) -> [u64; 2] {
        [0, 1].map(|p| self.meters[p].charged_at(now_s))
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

/// The cost per priority of `charged` seconds at hourly `prices`
/// (dedicated, low-priority): the one conversion the timeline and the
/// summary share, so that they agree to the last bit.
pub fn cost(charged: [u64; 2], prices: [f64; 2]) -> [f64; 2] {
    [0, 1].map(|p| charged[p] as f64 * prices[p] / 3600.0)
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
        // 60 s charged + 50 s open dedicated, charged 60 if it closed now;
        // 48 s open low-priority, charged 60 too.
        assert_eq!(b.charged_at(50), [120, 60]);
        // At 2 min: the open dedicated period (since 0) is charged 120 s, the
        // low-priority one (since 2 s) 118 s.
        assert_eq!(b.charged_at(120), [180, 118]);
    }

    #[test]
    fn the_charge_so_far_is_the_bill_if_the_periods_closed_then() {
        let mut b = Billing::default();
        for since in [0, 1_500, 30_250, 89_999] {
            b.open(Priority::Dedicated, SimTime(since));
        }
        let at_two_minutes = b.charged_at(120)[0];
        for since in [0, 1_500, 30_250, 89_999] {
            b.close(Priority::Dedicated, SimTime(since), SimTime(120_000));
        }
        // 120 + ceil(118.5) + ceil(89.75) + max(ceil(30.001), 60).
        assert_eq!((at_two_minutes, b.meter(Priority::Dedicated).charged_seconds), (389, 389));
    }
}
