//! Helpers for the simulator's timeline tests: each runs a scenario on
//! fixed timings, checking the engine's invariants after every event, and
//! compares node states, timeline rows and task ends with an exact
//! expected timeline.
//!
//! Prices are 3.6 per hour (dedicated) and 0.36 (low-priority): a
//! dedicated node-second costs exactly 0.001.

use std::path::Path;

use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{NodeState, Output, Priority, Simulation, TaskState, TimelineRow};
use autoscale_sim::time::SimTime;

/// Pool keys every test gets unless it sets them itself.
const POOL: [(&str, &str); 3] = [
    ("vm", "{ cores = 2, dedicated_price = 3.6, low_priority_price = 0.36 }"),
    ("allocation_time", "\"3m\""),
    ("boot_time", "\"1m\""),
];

/// `text` as a scenario; a test's scenario is valid, so an error panics.
pub fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text, "test.toml", "test", Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

/// `text` with [`POOL`]'s keys added to its `[pool]` table.
pub fn with_pool_defaults(text: &str) -> String {
    let mut pool = String::from("[pool]\n");
    for (key, value) in POOL {
        if !text.contains(&format!("{key} =")) {
            pool.push_str(&format!("{key} = {value}\n"));
        }
    }
    text.replacen("[pool]\n", &pool, 1)
}

/// Runs `scenario` to its end, checking the invariants after every event:
/// its output, or the first invariant broken and when.
pub fn run_checked(scenario: Scenario) -> Result<Output, String> {
    let mut sim = Simulation::new(scenario, None);
    while sim.step() {
        sim.check_invariants().map_err(|e| format!("at {}: {e}", sim.now()))?;
    }
    Ok(sim.finish())
}

/// Runs `text` (with [`POOL`]'s defaults), checking invariants after every event.
pub fn run(text: &str) -> Output {
    run_checked(scenario(&with_pool_defaults(text))).unwrap_or_else(|e| panic!("{e}"))
}

/// `m` minutes after the start.
pub fn min(m: u64) -> SimTime {
    SimTime(m * 60_000)
}

/// The timeline row at `t`, which must be a sampling time.
pub fn row(out: &Output, t: SimTime) -> &TimelineRow {
    out.timeline.iter().find(|r| r.time == t).unwrap_or_else(|| panic!("no sample at {t}"))
}

/// (state, count) pairs of dedicated nodes at `t`, the zero ones left out.
pub fn dedicated(out: &Output, t: SimTime) -> Vec<(&'static str, u32)> {
    by_state(row(out, t), Priority::Dedicated)
}

/// (state, count) pairs of `p`'s nodes in `row`, the zero ones left out.
pub fn by_state(row: &TimelineRow, p: Priority) -> Vec<(&'static str, u32)> {
    NodeState::ALL.iter().map(|&s| (s.name(), row.nodes[p as usize][s as usize])).filter(|&(_, n)| n > 0).collect()
}

/// (state, end, attempts) of every task, in submission order.
pub fn ends(out: &Output) -> Vec<(TaskState, Option<SimTime>, u16)> {
    out.tasks.iter().map(|t| (t.state, t.end(), t.attempts)).collect()
}
