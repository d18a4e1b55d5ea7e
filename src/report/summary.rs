//! The run in numbers: [`Summary`], the content of `summary.json` and,
//! as text, what `autoscale-sim run` prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::breakdown::{Breakdown, MINIMUM_AND_ROUNDING};
use super::split::Split;
use crate::sim::{Output, TaskState};
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
    /// 95th percentile (nearest rank).
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
        let mut tasks = TaskCounts { submitted: output.tasks.len() as u64, ..TaskCounts::default() };
        let mut waits = Vec::new();
        for t in &output.tasks {
            match t.state {
                TaskState::Succeeded => tasks.succeeded += 1,
                TaskState::Failed => tasks.failed += 1,
                TaskState::Preparing | TaskState::Running => tasks.running += 1,
                TaskState::Active => tasks.active += 1,
                TaskState::Waiting => tasks.waiting_for_dependencies += 1,
                TaskState::Blocked => tasks.blocked += 1,
                TaskState::Terminated => tasks.terminated += 1,
            }
            if let Some(start) = t.first_start {
                waits.push(start.since(t.submit).as_millis());
            }
        }
        let failed = output.evaluations.iter().filter(|e| e.error.is_some()).count() as u64;
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
            queue_wait_seconds: wait_stats(&mut waits),
            evaluations: Evaluations { ok: output.evaluations.len() as u64 - failed, failed },
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
            let (total, dedicated, low) = (x.total, x.dedicated, x.low_priority);
            let _ = writeln!(s, "{label:<15}{total:.2} (dedicated {dedicated:.2}, low-priority {low:.2})");
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

/// Mean, nearest-rank p95 and maximum of waits in ms, as seconds.
pub(super) fn wait_stats(waits: &mut [u64]) -> Option<Waits> {
    let n = waits.len();
    if n == 0 {
        return None;
    }
    let mean = waits.iter().map(|&w| w as f64).sum::<f64>() / n as f64 / 1000.0;
    let max = waits.iter().copied().max().unwrap_or(0) as f64 / 1000.0;
    let rank = (n * 95).div_ceil(100).max(1);
    let (_, p95, _) = waits.select_nth_unstable(rank - 1);
    Some(Waits { started: n as u64, mean, p95: *p95 as f64 / 1000.0, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statistics_use_the_nearest_rank() {
        let mut waits: Vec<u64> = (1..=100).map(|s| s * 1000).collect();
        let w = wait_stats(&mut waits).unwrap();
        assert_eq!((w.started, w.mean, w.p95, w.max), (100, 50.5, 95.0, 100.0));
        let w = wait_stats(&mut [3000]).unwrap();
        assert_eq!((w.mean, w.p95, w.max), (3.0, 3.0, 3.0));
        assert_eq!(wait_stats(&mut []), None);
    }
}
