//! The run in numbers: [`Summary`], the content of `summary.json` and,
//! as text, what `autoscale-sim run` prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::breakdown::{Breakdown, MINIMUM_AND_ROUNDING};
use super::split::Split;
use crate::sim::{Output, TaskState, WaitStats};
use crate::time::SimDuration;

/// The run in numbers: the content of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Time zero.
    pub start: String,
    /// The end.
    pub end: String,
    /// Cost in the price's currency.
    pub cost: Split,
    /// Billed node-hours (exact, before the per-period minimum).
    pub node_hours: Split,
    /// The cost and node-hours by node state, the utilisation, and the
    /// work lost to requeues.
    pub where_the_money_went: Breakdown,
    /// Task counts at the end.
    pub tasks: TaskCounts,
    /// Queue waits (submission to first start) of the tasks that started.
    pub queue_wait_seconds: Option<Waits>,
    /// Evaluations that succeeded and failed.
    pub evaluations: Evaluations,
    /// Resize errors by code.
    pub resize_errors: BTreeMap<&'static str, u64>,
    /// Operations the service refused (manual resizes and node removals
    /// while the pool was resizing), by error code.
    pub refused_operations: BTreeMap<&'static str, u64>,
    /// Jobs refused by the account's active-job quota
    /// (`ActiveJobAndScheduleQuotaReached`), by id.
    pub refused_jobs: Vec<String>,
    /// Events the engine delivered.
    pub events: u64,
}

/// Tasks by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TaskCounts {
    /// Submitted.
    pub submitted: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed (retries used up, or terminated by a shrink).
    pub failed: u64,
    /// Still on a node at the end (running, or preparing).
    pub running: u64,
    /// Still waiting at the end.
    pub active: u64,
    /// Still waiting for dependencies at the end (not in `$ActiveTasks`).
    pub waiting_for_dependencies: u64,
    /// Never run because a dependency failed.
    pub blocked: u64,
    /// Ended with their job (`max_wall_clock_time`) while not running.
    pub terminated: u64,
}

/// Queue-wait statistics, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Waits {
    /// Tasks that started.
    pub started: u64,
    /// Mean.
    pub mean: f64,
    /// 95th percentile (nearest rank): exact up to [`crate::sim::EXACT_WAITS`]
    /// started tasks, beyond at most 1/1000 above the exact value.
    pub p95: f64,
    /// Maximum.
    pub max: f64,
}

/// Evaluation counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Evaluations {
    /// Succeeded.
    pub ok: u64,
    /// Failed (nothing applied).
    pub failed: u64,
}

impl Summary {
    /// Computes the summary of a run.
    pub fn of(output: &Output) -> Summary {
        let tally = &output.task_tally;
        let tasks = TaskCounts {
            submitted: tally.submitted(),
            succeeded: tally.count(TaskState::Succeeded),
            failed: tally.count(TaskState::Failed),
            running: tally.count(TaskState::Preparing) + tally.count(TaskState::Running),
            active: tally.count(TaskState::Active),
            waiting_for_dependencies: tally.count(TaskState::Waiting),
            blocked: tally.count(TaskState::Blocked),
            terminated: tally.count(TaskState::Terminated),
        };
        let mut resize_errors = BTreeMap::new();
        for e in &output.resize_errors {
            *resize_errors.entry(e.code.as_str()).or_insert(0) += 1;
        }
        let mut refused_operations = BTreeMap::new();
        for r in &output.refused_operations {
            *refused_operations.entry(r.error.as_str()).or_insert(0) += 1;
        }
        let hours = output.billed.map(|d| d.as_millis() as f64 / 3_600_000.0);
        Summary {
            scenario: output.name.clone(),
            seed: output.seed,
            start: output.start.to_string(),
            end: output.timestamp(crate::time::SimTime(output.duration.as_millis())).to_string(),
            cost: Split::new(output.cost()),
            node_hours: Split::new(hours),
            where_the_money_went: Breakdown::of(output),
            tasks,
            queue_wait_seconds: Waits::of(tally.waits()),
            evaluations: Evaluations {
                ok: output.evaluation_tally.count - output.evaluation_tally.failed,
                failed: output.evaluation_tally.failed,
            },
            resize_errors,
            refused_operations,
            refused_jobs: output.refused_jobs.clone(),
            events: output.events,
        }
    }

    /// The summary for people, as `autoscale-sim run` prints it.
    pub fn to_text(&self, duration: SimDuration) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{}: {duration} from {}, seed {}", self.scenario, self.start, self.seed);
        for (label, x) in [("cost", &self.cost), ("node-hours", &self.node_hours)] {
            let _ = writeln!(s, "{}", x.line(label, 15));
        }
        self.breakdown_text(&mut s);
        match &self.queue_wait_seconds {
            Some(w) => {
                let d = |secs: f64| SimDuration::from_secs(secs.round() as u64).to_string();
                let _ = writeln!(
                    s,
                    "queue wait     mean {}, p95 {}, max {} ({} tasks started)",
                    d(w.mean),
                    d(w.p95),
                    d(w.max),
                    w.started
                );
            }
            None => {
                let _ = writeln!(s, "queue wait     no task started");
            }
        }
        let t = &self.tasks;
        let _ = writeln!(
            s,
            "tasks          {} succeeded, {} failed, {} running, {} waiting (of {})",
            t.succeeded, t.failed, t.running, t.active, t.submitted
        );
        if t.waiting_for_dependencies + t.blocked > 0 {
            let (w, b) = (t.waiting_for_dependencies, t.blocked);
            let _ = writeln!(s, "dependencies   {w} tasks still waiting, {b} blocked by a failed dependency");
        }
        if t.terminated > 0 {
            let _ = writeln!(s, "jobs ended     {} tasks ended with their job before they ran", t.terminated);
        }
        let e = &self.evaluations;
        let _ = writeln!(s, "evaluations    {} ok, {} failed", e.ok, e.failed);
        if !self.resize_errors.is_empty() {
            let list: Vec<String> = self.resize_errors.iter().map(|(code, n)| format!("{code} x{n}")).collect();
            let _ = writeln!(s, "resize errors  {}", list.join(", "));
        }
        if !self.refused_operations.is_empty() {
            let list: Vec<String> = self.refused_operations.iter().map(|(code, n)| format!("{code} x{n}")).collect();
            let _ = writeln!(s, "refused calls  {} (operations.jsonl)", list.join(", "));
        }
        if !self.refused_jobs.is_empty() {
            let _ = writeln!(
                s,
                "jobs refused   {} (ActiveJobAndScheduleQuotaReached: over the account's active-job quota)",
                self.refused_jobs.join(", ")
            );
        }
        s
    }
}

impl Summary {
    /// The breakdown's lines with any time or cost, then the utilisation
    /// and the lost work; a split column when both priorities cost.
    fn breakdown_text(&self, s: &mut String) {
        let b = &self.where_the_money_went;
        let both = self.cost.dedicated > 0.0 && self.cost.low_priority > 0.0;
        let split = if both { "  (dedicated, low-priority)" } else { "" };
        let _ = writeln!(s, "where the money went      cost   share  node-hours{split}");
        for l in b.lines.iter().filter(|l| l.cost.total > 0.0 || l.node_hours.total > 0.0) {
            let name = if l.state == MINIMUM_AND_ROUNDING { "minimum, rounding" } else { l.state };
            let _ = write!(s, "  {name:<19}{:>9.2}{:>7.1}%{:>12.2}", l.cost.total, l.share * 100.0, l.node_hours.total);
            if both {
                let _ = write!(s, "  ({:.2}, {:.2})", l.cost.dedicated, l.cost.low_priority);
            }
            let _ = writeln!(s);
        }
        match b.utilisation {
            Some(u) => {
                let _ = writeln!(s, "utilisation    {:.1}% of the billed node time ran tasks", u * 100.0);
            }
            None => {
                let _ = writeln!(s, "utilisation    no node billed");
            }
        }
        let lost = &b.lost_work;
        if lost.task_hours.total > 0.0 {
            let _ = writeln!(
                s,
                "lost work      {:.2} task-hours cut short and requeued, cost {:.2} (part of running)",
                lost.task_hours.total, lost.cost.total
            );
        }
    }
}

impl Waits {
    /// The statistics of `waits`, in seconds; `None` when no task started.
    pub(super) fn of(waits: &WaitStats) -> Option<Waits> {
        let (mean, p95) = (waits.mean_ms()?, waits.p95_ms()?);
        Some(Waits {
            started: waits.count(),
            mean: mean / 1000.0,
            p95: p95 as f64 / 1000.0,
            max: waits.max_ms() as f64 / 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statistics_use_the_nearest_rank_in_seconds() {
        let mut waits = WaitStats::default();
        assert_eq!(Waits::of(&waits), None);
        waits.record(3000);
        let w = Waits::of(&waits).unwrap();
        assert_eq!((w.started, w.mean, w.p95, w.max), (1, 3.0, 3.0, 3.0));
        let mut waits = WaitStats::default();
        for s in 1..=100 {
            waits.record(s * 1000);
        }
        let w = Waits::of(&waits).unwrap();
        assert_eq!((w.started, w.mean, w.p95, w.max), (100, 50.5, 95.0, 100.0));
    }
}
