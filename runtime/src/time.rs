//! Timestamps and time intervals, both counted in 100 ns ticks.
//!
//! The language's finest interval is `TimeInterval_100ns`, so integer ticks
//! represent every value exactly; floating-point time would drift.

use std::fmt::{self, Write};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};

use crate::RuntimeError;

/// Ticks in one second.
pub const TICKS_PER_SECOND: i64 = 10_000_000;
const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

/// Seconds from 1970-01-01 back to 0001-01-01, the earliest timestamp.
const MIN_UNIX_SECONDS: i64 = -62_135_596_800;
/// Seconds from 1970-01-01 to 9999-12-31T23:59:59, the last whole second.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// Most fractional-second digits `time("...")` accepts (the service rejects 9).
const MAX_FRACTION_DIGITS: usize = 7;

/// A signed duration in 100 ns ticks (`timeinterval` in the language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Interval(pub i64);

impl Interval {
    /// `TimeInterval_Zero`.
    pub const ZERO: Interval = Interval(0);
    /// `TimeInterval_Second`.
    pub const SECOND: Interval = Interval(TICKS_PER_SECOND);

    /// The named constants of the language, `TimeInterval_<suffix>`.
    pub const NAMED: [(&'static str, Interval); 10] = [
        ("TimeInterval_Zero", Interval(0)),
        ("TimeInterval_100ns", Interval(1)),
        ("TimeInterval_Microsecond", Interval(10)),
        ("TimeInterval_Millisecond", Interval(10_000)),
        ("TimeInterval_Second", Interval(TICKS_PER_SECOND)),
        ("TimeInterval_Minute", Interval(TICKS_PER_MINUTE)),
        ("TimeInterval_Hour", Interval(TICKS_PER_HOUR)),
        ("TimeInterval_Day", Interval(TICKS_PER_DAY)),
        ("TimeInterval_Week", Interval(7 * TICKS_PER_DAY)),
        ("TimeInterval_Year", Interval(365 * TICKS_PER_DAY)),
    ];

    /// The constant named `name` (e.g. `TimeInterval_Minute`), if there is one.
    pub fn named(name: &str) -> Option<Interval> {
        Self::NAMED.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    /// An interval of `seconds`, rounded to the nearest tick.
    pub fn from_seconds(seconds: f64) -> Result<Interval, RuntimeError> {
        Interval::SECOND.scale(seconds)
    }

    /// The interval in seconds.
    pub fn as_seconds(self) -> f64 {
        self.0 as f64 / TICKS_PER_SECOND as f64
    }

    /// `self + other`.
    pub fn checked_add(self, other: Interval) -> Result<Interval, RuntimeError> {
        self.0.checked_add(other.0).map(Interval).ok_or(RuntimeError::TimeOutOfRange)
    }

    /// `self - other`.
    pub fn checked_sub(self, other: Interval) -> Result<Interval, RuntimeError> {
        self.0.checked_sub(other.0).map(Interval).ok_or(RuntimeError::TimeOutOfRange)
    }

    /// `-self`.
    pub fn checked_neg(self) -> Result<Interval, RuntimeError> {
        self.0.checked_neg().map(Interval).ok_or(RuntimeError::TimeOutOfRange)
    }

    /// `self * factor`, rounded half to even as .NET's `TimeSpan` does.
    pub fn scale(self, factor: f64) -> Result<Interval, RuntimeError> {
        Self::from_ticks_f64((self.0 as f64 * factor).round_ties_even())
    }

    /// `self / divisor`, rounded half to even.
    pub fn divide(self, divisor: f64) -> Result<Interval, RuntimeError> {
        Self::from_ticks_f64((self.0 as f64 / divisor).round_ties_even())
    }

    fn from_ticks_f64(ticks: f64) -> Result<Interval, RuntimeError> {
        // i64::MAX is not representable; 2^63 is the first value out of range.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if ticks.is_finite() && (-LIMIT..LIMIT).contains(&ticks) {
            Ok(Interval(ticks as i64))
        } else {
            Err(RuntimeError::TimeOutOfRange)
        }
    }
}

/// Formats as .NET's constant `TimeSpan` format: `[-][d.]hh:mm:ss[.fffffff]`.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ticks = self.0.unsigned_abs();
        if self.0 < 0 {
            f.write_char('-')?;
        }
        let day = TICKS_PER_DAY as u64;
        let (days, rest) = (ticks / day, ticks % day);
        if days > 0 {
            write!(f, "{days}.")?;
        }
        let hours = rest / TICKS_PER_HOUR as u64;
        let minutes = rest / TICKS_PER_MINUTE as u64 % 60;
        let seconds = rest / TICKS_PER_SECOND as u64 % 60;
        let fraction = rest % TICKS_PER_SECOND as u64;
        write!(f, "{hours:02}:{minutes:02}:{seconds:02}")?;
        if fraction > 0 {
            write!(f, ".{fraction:07}")?;
        }
        Ok(())
    }
}

/// A UTC instant in 100 ns ticks since 1970-01-01T00:00:00Z, between the
/// years 1 and 9999 (`timestamp` in the language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A member of a timestamp: `$t.hour` and its siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampField {
    /// `year`.
    Year,
    /// `month`, 1 to 12.
    Month,
    /// `day` of the month, 1 to 31.
    Day,
    /// `weekday`, 1 = Monday to 7 = Sunday.
    Weekday,
    /// `hour`, 0 to 23.
    Hour,
    /// `minute`, 0 to 59.
    Minute,
    /// `second`, 0 to 59.
    Second,
}

impl TimestampField {
    /// Every member, with its name in the language.
    pub const ALL: [(&'static str, TimestampField); 7] = [
        ("year", TimestampField::Year),
        ("month", TimestampField::Month),
        ("day", TimestampField::Day),
        ("weekday", TimestampField::Weekday),
        ("hour", TimestampField::Hour),
        ("minute", TimestampField::Minute),
        ("second", TimestampField::Second),
    ];

    /// The member called `name` (case-sensitive), if there is one.
    pub fn named(name: &str) -> Option<TimestampField> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }
}

impl Timestamp {
    /// The last tick of the year 9999, the latest timestamp there is.
    pub const MAX: Timestamp = Timestamp(MAX_UNIX_SECONDS * TICKS_PER_SECOND + TICKS_PER_SECOND - 1);

    /// The timestamp `ticks` after the Unix epoch, if within years 1 to 9999.
    pub fn from_unix_ticks(ticks: i64) -> Result<Timestamp, RuntimeError> {
        let seconds = ticks.div_euclid(TICKS_PER_SECOND);
        if (MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(&seconds) {
            Ok(Timestamp(ticks))
        } else {
            Err(RuntimeError::TimeOutOfRange)
        }
    }

    /// Ticks since the Unix epoch.
    pub fn unix_ticks(self) -> i64 {
        self.0
    }

    /// The current wall-clock time, truncated to a tick.
    pub fn now() -> Timestamp {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let ticks = since.as_secs() as i64 * TICKS_PER_SECOND + i64::from(since.subsec_nanos() / 100);
        Timestamp(ticks)
    }

    /// `self + interval`.
    pub fn checked_add(self, interval: Interval) -> Result<Timestamp, RuntimeError> {
        let ticks = self.0.checked_add(interval.0).ok_or(RuntimeError::TimeOutOfRange)?;
        Timestamp::from_unix_ticks(ticks)
    }

    /// `self - interval`.
    pub fn sub_interval(self, interval: Interval) -> Result<Timestamp, RuntimeError> {
        self.checked_add(interval.checked_neg()?)
    }

    /// `self - earlier`. Cannot overflow: both lie within years 1 to 9999.
    pub fn since(self, earlier: Timestamp) -> Interval {
        Interval(self.0 - earlier.0)
    }

    /// One member of the instant, in UTC.
    pub fn field(self, field: TimestampField) -> f64 {
        let t = self.to_chrono();
        f64::from(match field {
            TimestampField::Year => return f64::from(t.year()),
            TimestampField::Month => t.month(),
            TimestampField::Day => t.day(),
            TimestampField::Weekday => t.weekday().number_from_monday(),
            TimestampField::Hour => t.hour(),
            TimestampField::Minute => t.minute(),
            TimestampField::Second => t.second(),
        })
    }

    fn to_chrono(self) -> DateTime<Utc> {
        let seconds = self.0.div_euclid(TICKS_PER_SECOND);
        let nanos = (self.0.rem_euclid(TICKS_PER_SECOND) * 100) as u32;
        // The constructor guarantees the range chrono accepts.
        DateTime::from_timestamp(seconds, nanos).unwrap_or_default()
    }

    fn from_chrono(t: NaiveDateTime) -> Result<Timestamp, RuntimeError> {
        let utc = t.and_utc();
        let ticks = utc
            .timestamp()
            .checked_mul(TICKS_PER_SECOND)
            .and_then(|s| s.checked_add(i64::from(utc.timestamp_subsec_nanos() / 100)))
            .ok_or(RuntimeError::TimeOutOfRange)?;
        Timestamp::from_unix_ticks(ticks)
    }

    /// Parses W3C-DTF (the ISO 8601 profile: `2016-10-13`, `2016-10-13T19:18Z`,
    /// `2016-10-13T19:18:47.805+02:00`, …) or RFC 1123
    /// (`Thu, 13 Oct 2016 19:18:47 GMT`), as `time("...")` does.
    ///
    /// At most seven fractional-second digits are accepted, like the service.
    /// **(decision)** A W3C-DTF time without a zone is taken as UTC.
    pub fn parse(text: &str) -> Result<Timestamp, RuntimeError> {
        let bad = || RuntimeError::BadTime(text.to_owned());
        let s = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc2822(s) {
            return Timestamp::from_chrono(t.naive_utc());
        }
        if fraction_digits(s) > MAX_FRACTION_DIGITS {
            return Err(bad());
        }
        let zoned = match s.strip_suffix(['Z', 'z']) {
            Some(rest) => format!("{rest}+00:00"),
            None => s.to_owned(),
        };
        for format in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z"] {
            if let Ok(t) = DateTime::parse_from_str(&zoned, format) {
                return Timestamp::from_chrono(t.naive_utc());
            }
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Timestamp::from_chrono(t);
            }
        }
        // Reduced precision: YYYY-MM-DD, YYYY-MM, YYYY.
        let padded = match s.len() {
            4 => format!("{s}-01-01"),
            7 => format!("{s}-01"),
            _ => s.to_owned(),
        };
        let date = NaiveDate::parse_from_str(&padded, "%Y-%m-%d").map_err(|_| bad())?;
        Timestamp::from_chrono(date.and_time(chrono::NaiveTime::MIN))
    }
}

/// Digits after the seconds' decimal point, 0 when there is no fraction.
fn fraction_digits(s: &str) -> usize {
    let Some((_, time)) = s.split_once('T') else {
        return 0;
    };
    match time.split_once('.') {
        Some((_, fraction)) => fraction.chars().take_while(char::is_ascii_digit).count(),
        None => 0,
    }
}

/// ISO 8601 UTC with exactly three fractional digits, truncated:
/// `2016-10-13T19:18:47.805Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.to_chrono();
        let millis = self.0.rem_euclid(TICKS_PER_SECOND) / 10_000;
        write!(f, "{}.{millis:03}Z", t.format("%Y-%m-%dT%H:%M:%S"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_w3c_dtf_and_rfc1123() {
        let t = ts("2016-10-13T19:18:47.805Z");
        assert_eq!(t.to_string(), "2016-10-13T19:18:47.805Z");
        assert_eq!(ts("2016-10-13T21:18:47.805+02:00"), t);
        assert_eq!(ts("Thu, 13 Oct 2016 19:18:47 GMT").to_string(), "2016-10-13T19:18:47.000Z");
        assert_eq!(ts("Mon, 06 Oct 2014 10:20:00 GMT").to_string(), "2014-10-06T10:20:00.000Z");
        assert_eq!(ts("2016-10-13").to_string(), "2016-10-13T00:00:00.000Z");
        assert_eq!(ts("2016-10").to_string(), "2016-10-01T00:00:00.000Z");
        assert_eq!(ts("2016").to_string(), "2016-01-01T00:00:00.000Z");
        assert_eq!(ts("2016-10-13T19:18Z").to_string(), "2016-10-13T19:18:00.000Z");
        assert_eq!(ts("2016-10-13T19:18:47").to_string(), "2016-10-13T19:18:47.000Z");
        assert_eq!(ts("2016-10-13T19:18:47.1234567Z").unix_ticks() % TICKS_PER_SECOND, 1_234_567);
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            "",
            "yesterday",
            "2016-13-01",
            "2016-10-13T19:18:47.123456789Z",
            "2016-10-13T19:18:47.12345678Z",
            "Fri, 13 Oct 2016 19:18:47 GMT", // 13 Oct 2016 was a Thursday
            "2016-10-13T25:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn members_are_utc() {
        let t = ts("2016-10-13T19:18:47.805Z");
        let got: Vec<f64> = TimestampField::ALL.iter().map(|&(_, f)| t.field(f)).collect();
        assert_eq!(got, [2016.0, 10.0, 13.0, 4.0, 19.0, 18.0, 47.0]);
        assert_eq!(ts("2023-01-01T00:00:00Z").field(TimestampField::Weekday), 7.0);
    }

    #[test]
    fn intervals_print_as_dotnet_constant_format() {
        assert_eq!(Interval(0).to_string(), "00:00:00");
        assert_eq!(Interval::named("TimeInterval_Minute").unwrap().scale(90.0).unwrap().to_string(), "01:30:00");
        assert_eq!(Interval(TICKS_PER_DAY + 1).to_string(), "1.00:00:00.0000001");
        assert_eq!(Interval(-TICKS_PER_SECOND * 5 / 2).to_string(), "-00:00:02.5000000");
    }

    #[test]
    fn arithmetic_checks_range() {
        let t = ts("9999-12-31T23:59:59Z");
        assert_eq!(t.checked_add(Interval::SECOND), Err(RuntimeError::TimeOutOfRange));
        assert!(Interval::SECOND.scale(f64::INFINITY).is_err());
        assert!(Interval::SECOND.divide(0.0).is_err());
        assert_eq!(Interval(3).scale(0.5), Ok(Interval(2)));
        assert_eq!(ts("2016-10-13T00:00:00Z").since(ts("2016-10-12T00:00:00Z")), Interval(TICKS_PER_DAY));
    }
}
