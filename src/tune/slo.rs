//! What `tune` minimises and what it must respect: the per-run figures
//! `compare` prints ([`SeedRun`]), averaged over the seeds.

use std::fmt;

use crate::report::compare::SeedRun;
use crate::time::{SimDuration, parse_duration};

/// A per-run figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Total cost.
    Cost,
    /// Billed node-hours.
    NodeHours,
    /// Mean queue wait (seconds).
    MeanWait,
    /// 95th-percentile queue wait (seconds).
    P95Wait,
    /// Last task's end (seconds); infinite when some task did not end.
    Makespan,
    /// Tasks not ended when the run stopped.
    Unfinished,
    /// Failed evaluations.
    FailedEvaluations,
    /// Task-hours cut short and queued again.
    RequeuedHours,
    /// Share of the billed node time that ran tasks (0 to 1; 0 when nothing was billed).
    Utilisation,
    /// What idle nodes cost.
    IdleCost,
}

impl Metric {
    /// Every metric, in the order of `trials.csv`.
    pub const ALL: [Metric; 10] = [
        Metric::Cost,
        Metric::NodeHours,
        Metric::MeanWait,
        Metric::P95Wait,
        Metric::Makespan,
        Metric::Unfinished,
        Metric::FailedEvaluations,
        Metric::RequeuedHours,
        Metric::Utilisation,
        Metric::IdleCost,
    ];

    /// Its name in `--slo` and `trials.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cost => "cost",
            Metric::NodeHours => "node_hours",
            Metric::MeanWait => "mean_wait",
            Metric::P95Wait => "p95_wait",
            Metric::Makespan => "makespan",
            Metric::Unfinished => "unfinished",
            Metric::FailedEvaluations => "failed_evaluations",
            Metric::RequeuedHours => "requeued_hours",
            Metric::Utilisation => "utilisation",
            Metric::IdleCost => "idle_cost",
        }
    }

    /// Whether it is a duration (written `30m`, kept in seconds).
    pub fn is_duration(self) -> bool {
        matches!(self, Metric::MeanWait | Metric::P95Wait | Metric::Makespan)
    }

    /// Its value in one run. A run where no task started waited zero; a
    /// run that did not finish every task has no makespan, which counts as
    /// infinite (it fails any bound on it).
    pub fn of(self, run: &SeedRun) -> f64 {
        match self {
            Metric::Cost => run.cost,
            Metric::NodeHours => run.node_hours,
            Metric::MeanWait => run.mean_wait_s.unwrap_or(0.0),
            Metric::P95Wait => run.p95_wait_s.unwrap_or(0.0),
            Metric::Makespan => run.makespan_s.unwrap_or(f64::INFINITY),
            Metric::Unfinished => run.unfinished as f64,
            Metric::FailedEvaluations => run.failed_evaluations as f64,
            Metric::RequeuedHours => run.requeued_hours,
            Metric::Utilisation => run.utilisation.unwrap_or(0.0),
            Metric::IdleCost => run.idle_cost,
        }
    }

    /// A value of this metric for people: `12m 5s` for a duration, else a number.
    pub fn show(self, value: f64) -> String {
        if !value.is_finite() {
            "∞".to_owned()
        } else if self.is_duration() {
            SimDuration::from_secs(value.max(0.0).round() as u64).to_string()
        } else {
            format!("{value:.2}")
        }
    }
}

/// Which way a constraint bounds its metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `<=`
    AtMost,
    /// `>=`
    AtLeast,
}

/// A service-level objective: a bound on the seed mean of a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slo {
    /// The metric.
    pub metric: Metric,
    /// The direction.
    pub bound: Bound,
    /// The limit (seconds for a duration).
    pub limit: f64,
}

/// Why a `--slo` could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SloError {
    /// Not `METRIC<=VALUE` or `METRIC>=VALUE`.
    #[error("--slo {0}: write METRIC<=VALUE or METRIC>=VALUE, e.g. 'p95_wait<=30m'")]
    Syntax(String),
    /// An unknown metric.
    #[error("--slo {text}: no metric `{metric}`; the metrics are {}", Metric::ALL.map(Metric::name).join(", "))]
    Metric {
        /// The argument.
        text: String,
        /// The name given.
        metric: String,
    },
    /// The limit is not a duration or a number.
    #[error("--slo {text}: `{value}` is not {}", if *.duration { "a duration such as 30m" } else { "a number" })]
    Limit {
        /// The argument.
        text: String,
        /// The limit given.
        value: String,
        /// Whether a duration was expected.
        duration: bool,
    },
}

impl Slo {
    /// Parses `p95_wait<=30m`, `failed_evaluations<=0`.
    pub fn parse(text: &str) -> Result<Slo, SloError> {
        let (metric, bound, value) = if let Some((m, v)) = text.split_once("<=") {
            (m, Bound::AtMost, v)
        } else if let Some((m, v)) = text.split_once(">=") {
            (m, Bound::AtLeast, v)
        } else {
            return Err(SloError::Syntax(text.to_owned()));
        };
        let (name, value) = (metric.trim(), value.trim());
        let metric = Metric::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| SloError::Metric { text: text.to_owned(), metric: name.to_owned() })?;
        let bad = || SloError::Limit { text: text.to_owned(), value: value.to_owned(), duration: metric.is_duration() };
        let limit = if metric.is_duration() {
            parse_duration(value).map_err(|_| bad())?.as_secs_f64()
        } else {
            value.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(bad)?
        };
        Ok(Slo { metric, bound, limit })
    }

    /// How far `value` is beyond the limit, as a fraction of the limit
    /// (of 1 when the limit is 0): negative or zero when it is met.
    pub fn excess(&self, value: f64) -> f64 {
        let scale = if self.limit == 0.0 { 1.0 } else { self.limit.abs() };
        match self.bound {
            Bound::AtMost => (value - self.limit) / scale,
            Bound::AtLeast => (self.limit - value) / scale,
        }
    }
}

impl fmt::Display for Slo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.bound {
            Bound::AtMost => "<=",
            Bound::AtLeast => ">=",
        };
        // A duration as a duration; a number as written (`0`, not `0.00`).
        let limit = if self.metric.is_duration() { self.metric.show(self.limit) } else { self.limit.to_string() };
        write!(f, "{}{op}{limit}", self.metric.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slos_read_durations_and_numbers() {
        let s = Slo::parse("p95_wait<=30m").unwrap();
        assert_eq!(s, Slo { metric: Metric::P95Wait, bound: Bound::AtMost, limit: 1800.0 });
        assert_eq!(s.to_string(), "p95_wait<=30m");
        assert_eq!((s.excess(900.0), s.excess(2700.0)), (-0.5, 0.5));
        let f = Slo::parse(" failed_evaluations <= 0").unwrap();
        assert_eq!((f.excess(0.0), f.excess(2.0)), (0.0, 2.0));
        assert_eq!(f.to_string(), "failed_evaluations<=0");
        let n = Slo::parse("node_hours>=10").unwrap();
        assert_eq!((n.bound, n.excess(5.0)), (Bound::AtLeast, 0.5));
    }

    #[test]
    fn bad_slos_say_what_to_write() {
        let e = |t: &str| Slo::parse(t).unwrap_err().to_string();
        assert_eq!(e("p95_wait<30m"), "--slo p95_wait<30m: write METRIC<=VALUE or METRIC>=VALUE, e.g. 'p95_wait<=30m'");
        assert_eq!(
            e("p99_wait<=30m"),
            "--slo p99_wait<=30m: no metric `p99_wait`; the metrics are cost, node_hours, mean_wait, p95_wait, \
             makespan, unfinished, failed_evaluations, requeued_hours, utilisation, idle_cost"
        );
        assert_eq!(e("p95_wait<=soon"), "--slo p95_wait<=soon: `soon` is not a duration such as 30m");
        assert_eq!(e("cost<=cheap"), "--slo cost<=cheap: `cheap` is not a number");
    }

    #[test]
    fn a_run_that_did_not_finish_has_an_infinite_makespan() {
        let run = SeedRun { makespan_s: None, p95_wait_s: None, cost: 3.0, ..SeedRun::default() };
        assert_eq!(Metric::Makespan.of(&run), f64::INFINITY);
        assert_eq!(Metric::P95Wait.of(&run), 0.0);
        assert_eq!(Metric::Makespan.show(f64::INFINITY), "∞");
        assert_eq!(Metric::P95Wait.show(754.4), "12m 34s");
    }
}
