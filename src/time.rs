//! Simulated time: integer instants and lengths in milliseconds, their
//! text form in scenario files (`"15m"`, `"7d"`), and the wall-clock
//! instant each one stands for.
//!
//! The bottom layer of the simulator: the scenario file and the engine
//! both speak in these types, and neither imports the other for them.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// An instant of simulated time, in milliseconds since the scenario's start.
///
/// Integer time keeps runs exact and reproducible: adding 30 s a hundred
/// thousand times lands exactly on the same instant on every machine,
/// which floating-point seconds would not. Milliseconds are finer than
/// anything the service reports (its timestamps print milliseconds) and a
/// `u64` of them spans 584 million years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

/// A length of simulated time, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The scenario's first instant.
    pub const ZERO: SimTime = SimTime(0);

    /// Milliseconds since the start.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<SimDuration> for SimTime {
    type Output = SimTime;

    /// Saturates rather than wraps: a time past the end of `u64` is simply
    /// never reached.
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl std::ops::AddAssign for SimDuration {
    /// Saturates, as time does.
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// `s` whole seconds.
    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s.saturating_mul(1000))
    }

    /// `m` whole minutes.
    pub const fn from_mins(m: u64) -> SimDuration {
        SimDuration::from_secs(m.saturating_mul(60))
    }

    /// `h` whole hours.
    pub const fn from_hours(h: u64) -> SimDuration {
        SimDuration::from_mins(h.saturating_mul(60))
    }

    /// Milliseconds.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// `ms` milliseconds rounded to the nearest, halves away from zero —
    /// `ms.round() as u64`: zero for a negative or NaN `ms`, saturating
    /// above `u64::MAX`. Without SSE4.1 `f64::round` is a library call
    /// costing more than this, and every drawn duration and arrival gap
    /// rounds. Exact: below 2⁵³ the fraction `ms - trunc(ms)` is computed
    /// without error, and from there on every `f64` is a whole number, so
    /// from 2⁶³ on there is nothing to round. Below 2⁶³ ms, every duration
    /// a scenario draws, the conversions go through `i64`: one instruction
    /// each way on x86-64, where those of a `u64` take a dozen.
    pub fn from_millis_f64(ms: f64) -> SimDuration {
        const SIGNED_RANGE: f64 = 9_223_372_036_854_775_808.0; // 2⁶³
        if (0.0..SIGNED_RANGE).contains(&ms) {
            let whole = ms as i64;
            let up = ms - whole as f64 >= 0.5;
            SimDuration(whole as u64 + u64::from(up))
        } else {
            // Saturating: NaN and negatives to 0, above `u64::MAX` to it.
            SimDuration(ms as u64)
        }
    }

    /// Seconds, for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// Whole seconds, rounded up: the unit the service bills in.
    pub fn ceil_secs(self) -> u64 {
        self.0.div_ceil(1000)
    }

    /// From a std duration, truncated to the millisecond.
    pub fn from_std(d: std::time::Duration) -> SimDuration {
        SimDuration(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// As a std duration, for `humantime` rendering.
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

/// `1h 30m`, `15m`, `250ms`: humantime's rendering.
impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.to_std()))
    }
}

/// Elapsed time since the start, as a duration.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", SimDuration(self.0))
    }
}

/// The wall-clock instant of simulated time `t` when time zero is `start`
/// (saturating at the year 9999).
pub fn wall_clock(start: autoscale_runtime::Timestamp, t: SimTime) -> autoscale_runtime::Timestamp {
    const TICKS_PER_MS: i64 = 10_000;
    let ticks = i64::try_from(t.0).unwrap_or(i64::MAX).saturating_mul(TICKS_PER_MS);
    start.checked_add(autoscale_runtime::Interval(ticks)).unwrap_or(autoscale_runtime::Timestamp::MAX)
}

/// What a duration string looks like, for error messages.
pub(crate) const DURATION_HINT: &str = "a duration such as \"30s\", \"15m\", \"2h 30m\" or \"7d\"";

/// The units a duration may use, longest first where one is a prefix of
/// another (`ms` before `m`), with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [("ms", 1), ("s", 1_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)];

/// Parses a duration as scenario files, traces and flags write it: one or
/// more whole numbers each followed by a unit — `ms`, `s`, `m`, `h` or `d`
/// — optionally separated by spaces, added up: `"90s"`, `"15m"`,
/// `"1h 30m"`, `"7d"`. One small grammar, the one `docs/scenario.md`
/// documents, rather than humantime's (which also reads `"1.5h"`,
/// `"5 minutes"`, and months of 30.44 days); text humantime reads is
/// refused with the same length in this grammar as the fix.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    parse_groups(text.trim()).ok_or_else(|| match humantime::parse_duration(text.trim()) {
        Ok(d) if d.subsec_nanos() % 1_000_000 == 0 => {
            let d = SimDuration::from_std(d);
            format!("`{text}` is not a duration here; write \"{}\" (whole numbers with ms, s, m, h or d)", d.written())
        }
        _ => format!("`{text}` is not a duration; write {DURATION_HINT} (whole numbers with ms, s, m, h or d)"),
    })
}

/// The sum of `text`'s number-unit groups, or `None` if it has none, has
/// anything else, or overflows.
fn parse_groups(text: &str) -> Option<SimDuration> {
    let mut rest = text;
    let mut total = 0u64;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let number: u64 = rest[..digits].parse().ok()?;
        let after = &rest[digits..];
        let (unit, millis) = UNITS.iter().find(|(unit, _)| after.starts_with(unit))?;
        total = total.checked_add(number.checked_mul(*millis)?)?;
        rest = after[unit.len()..].trim_start();
    }
    (!text.is_empty()).then_some(SimDuration(total))
}

impl SimDuration {
    /// This length as [`parse_duration`] reads it, for messages that tell
    /// the user what to write: `"366d"`, `"1h 30m"`, `"0s"` — where
    /// `Display` (humantime's rendering, in reports) says `1year 18h`.
    pub fn written(self) -> impl fmt::Display {
        Written(self)
    }
}

/// See [`SimDuration::written`].
struct Written(SimDuration);

impl fmt::Display for Written {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        let mut first = true;
        for (unit, millis) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if rest >= millis {
                write!(f, "{}{}{unit}", if first { "" } else { " " }, rest / millis)?;
                rest %= millis;
                first = false;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DURATION_HINT)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SimDuration, E> {
                parse_duration(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn the_wall_clock_saturates_at_the_end_of_9999() {
        use autoscale_runtime::Timestamp;
        let start = Timestamp::from_unix_ticks(0).unwrap();
        assert_eq!(wall_clock(start, SimTime(1_500)).unix_ticks(), 15_000_000);
        let late = Timestamp::MAX.sub_interval(autoscale_runtime::Interval::SECOND).unwrap();
        assert_eq!(wall_clock(late, SimTime(999)), late.checked_add(autoscale_runtime::Interval(9_990_000)).unwrap());
        assert_eq!(wall_clock(late, SimTime(1_000)), Timestamp::MAX);
        assert_eq!(wall_clock(late, SimTime(u64::MAX)), Timestamp::MAX);
        assert!(Timestamp::MAX.checked_add(autoscale_runtime::Interval(1)).is_err());
    }

    #[test]
    fn fractional_milliseconds_round_as_f64_round_does() {
        let mut r = ChaCha8Rng::seed_from_u64(5);
        let edges = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -7.3,
            0.49999999999999994,
            4503599627370496.5,
            9007199254740993.0,
            9223372036854774784.0,
            9223372036854775808.0,
            9223372036854777856.0,
            1.8446744073709552e19,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let drawn = (0..100_000).map(|_| r.random::<f64>() * 10f64.powi(r.random_range(0..20)));
        for ms in edges.into_iter().chain(drawn) {
            assert_eq!(SimDuration::from_millis_f64(ms), SimDuration(ms.round() as u64), "{ms}");
        }
    }

    #[test]
    fn durations_convert_and_round_up_to_billing_seconds() {
        assert_eq!(SimDuration::from_hours(1), SimDuration(3_600_000));
        assert_eq!(SimDuration(1_001).ceil_secs(), 2);
        assert_eq!(SimDuration(1_000).ceil_secs(), 1);
        assert_eq!(SimTime(5).since(SimTime(9)), SimDuration::ZERO);
        assert_eq!(SimTime(u64::MAX) + SimDuration(1), SimTime(u64::MAX));
        assert_eq!(SimDuration::from_mins(90).to_string(), "1h 30m");
    }

    #[test]
    fn durations_read_one_grammar_and_refusals_give_the_fix() {
        let ok = [("30s", 30_000), ("15m", 900_000), ("1h 30m", 5_400_000), ("7d", 604_800_000), ("250ms", 250)];
        for (text, ms) in ok.into_iter().chain([("1h30m", 5_400_000), (" 2d 1s ", 172_801_000), ("0s", 0)]) {
            assert_eq!(parse_duration(text), Ok(SimDuration(ms)), "{text}");
        }
        assert_eq!(
            parse_duration("5 minutes"),
            Err("`5 minutes` is not a duration here; write \"5m\" (whole numbers with ms, s, m, h or d)".to_owned())
        );
        assert_eq!(
            parse_duration("1.5h"),
            Err("`1.5h` is not a duration here; write \"1h 30m\" (whole numbers with ms, s, m, h or d)".to_owned())
        );
        for bad in ["", "5", "m", "5 m", "1w", "-1s", "18446744073709551615d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(SimDuration::from_hours(24 * 366).written().to_string(), "366d");
        assert_eq!(SimDuration(90_061_001).written().to_string(), "1d 1h 1m 1s 1ms");
    }
}
