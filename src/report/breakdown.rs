//! Where the money went: the bill of a run, or of a run so far,
//! attributed to the states its nodes were in.
//!
//! Every billed millisecond is attributed to the state the node was in
//! then (`running`, `idle`, `starting`, …), at the node's price. What the
//! per-second rounding and the 60-s minimum of each billed period add on
//! top of the exact billed time is no state's: it is a line of its own,
//! `minimum_and_rounding`. So the lines add up exactly, in milliseconds,
//! to the seconds charged, and their costs to the run's cost (within a
//! float's rounding, far below a cent); the states' node-hours add up to
//! the exact billed node-hours of the summary.

use serde::Serialize;

use super::split::Split;
use crate::sim::{NodeState, Output};

/// The name of the line that holds the rounding and the minimum charge.
pub const MINIMUM_AND_ROUNDING: &str = "minimum_and_rounding";

/// Milliseconds in an hour: prices are hourly.
const HOUR_MS: f64 = 3_600_000.0;

/// The bill by state, in exact milliseconds per priority: the integers
/// every figure of the breakdown is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    /// Billed node time by priority, then state (`NodeState as usize`);
    /// zero for the states that are not billed.
    pub billed_ms: [[u64; NodeState::COUNT]; 2],
    /// Charged time beyond the exact billed time, per priority: the
    /// rounding up to whole seconds and the 60-s minimum.
    pub minimum_and_rounding_ms: [u64; 2],
}

impl Attribution {
    /// The attribution of `charged_seconds` to `time_in_state` (node time
    /// by priority and state, in ms, as the timeline and the output keep
    /// it): the billed states' time, and the rest of the charge.
    pub fn new(time_in_state: &[[u64; NodeState::COUNT]; 2], charged_seconds: [u64; 2]) -> Attribution {
        let mut billed_ms = [[0; NodeState::COUNT]; 2];
        for (p, row) in billed_ms.iter_mut().enumerate() {
            for s in NodeState::ALL.into_iter().filter(|s| s.billed()) {
                row[s as usize] = time_in_state[p][s as usize];
            }
        }
        // Each period's charge is its exact length rounded up, at least a
        // minute: never less than the time billed, so the rest is never
        // negative (saturating only guards the arithmetic).
        let minimum_and_rounding_ms =
            [0, 1].map(|p| (charged_seconds[p] * 1000).saturating_sub(billed_ms[p].iter().sum::<u64>()));
        Attribution { billed_ms, minimum_and_rounding_ms }
    }

    /// The attribution of a finished run's bill.
    pub fn of(output: &Output) -> Attribution {
        Attribution::new(&output.time_in_state, output.charged_seconds)
    }

    /// Exact billed node time, per priority, in ms.
    pub fn billed_total_ms(&self) -> [u64; 2] {
        self.billed_ms.map(|row| row.iter().sum())
    }

    /// Milliseconds charged, per priority: the states and the rest.
    pub fn charged_ms(&self) -> [u64; 2] {
        let billed = self.billed_total_ms();
        [0, 1].map(|p| billed[p] + self.minimum_and_rounding_ms[p])
    }

    /// The cost of `ms` per priority at hourly `prices`.
    pub fn cost(ms: [u64; 2], prices: [f64; 2]) -> [f64; 2] {
        [0, 1].map(|p| ms[p] as f64 * prices[p] / HOUR_MS)
    }

    /// The time of `state`, per priority, in ms.
    pub fn state_ms(&self, state: NodeState) -> [u64; 2] {
        self.billed_ms.map(|row| row[state as usize])
    }

    /// The share of the exact billed node time spent `running` tasks;
    /// `None` when nothing was billed.
    pub fn utilisation(&self) -> Option<f64> {
        let billed: u64 = self.billed_total_ms().iter().sum();
        let running: u64 = self.state_ms(NodeState::Running).iter().sum();
        (billed > 0).then(|| running as f64 / billed as f64)
    }
}

/// One line of the breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// The node state (its service name), or `minimum_and_rounding`.
    pub state: &'static str,
    /// What it cost.
    pub cost: Split,
    /// Node-hours: the time in the state; for `minimum_and_rounding`,
    /// the time charged beyond the exact billed time.
    pub node_hours: Split,
    /// Its share of the run's cost.
    pub share: f64,
}

/// Work lost to requeues: runs cut short by a shrink, a preemption, a
/// node action or a lost machine, and queued again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LostWork {
    /// Task-hours of the runs cut short, by the priority of their node.
    pub task_hours: Split,
    /// Their cost: each task uses one of its node's task slots, so a
    /// task-hour costs the node's hourly price divided by the slots.
    /// Part of the `running` line, not on top of it.
    pub cost: Split,
}

/// Where the money went: the run's bill by node state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    /// One line per billed state, in the states' order, then
    /// `minimum_and_rounding`; every line is there, even at zero.
    pub lines: Vec<Line>,
    /// The share of the exact billed node time that ran tasks (in the
    /// `running` state); `None` when nothing was billed.
    pub utilisation: Option<f64>,
    /// The cost of work lost to requeues and preemptions.
    pub lost_work: LostWork,
}

impl Breakdown {
    /// The breakdown of a finished run.
    pub fn of(output: &Output) -> Breakdown {
        let a = Attribution::of(output);
        let total: f64 = Attribution::cost(a.charged_ms(), output.prices).iter().sum();
        let line = |state: &'static str, ms: [u64; 2]| {
            let cost = Split::new(Attribution::cost(ms, output.prices));
            let share = if total > 0.0 { cost.total / total } else { 0.0 };
            Line { state, cost, node_hours: Split::new(ms.map(|m| m as f64 / HOUR_MS)), share }
        };
        let mut lines: Vec<Line> =
            NodeState::ALL.into_iter().filter(|s| s.billed()).map(|s| line(s.name(), a.state_ms(s))).collect();
        lines.push(line(MINIMUM_AND_ROUNDING, a.minimum_and_rounding_ms));
        let lost = output.requeued_work.map(|d| d.as_millis());
        let slots = f64::from(output.slots_per_node.max(1));
        let lost_cost = Attribution::cost(lost, output.prices).map(|c| c / slots);
        let lost_work =
            LostWork { task_hours: Split::new(lost.map(|m| m as f64 / HOUR_MS)), cost: Split::new(lost_cost) };
        Breakdown { lines, utilisation: a.utilisation(), lost_work }
    }

    /// The line of `state`.
    pub fn line(&self, state: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.state == state)
    }
}
