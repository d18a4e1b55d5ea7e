//! Where the money went: the bill attributed to node states, exactly on
//! fixed timings, and adding up to the total on every bundled scenario.

use std::path::Path;

use autoscale_sim::report::Summary;
use autoscale_sim::report::breakdown::{Attribution, MINIMUM_AND_ROUNDING};
use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::{Account, NodeState};

use crate::timeline::{min, run};

/// (state, cost, node-hours, share) of the lines with any time or cost.
fn lines(summary: &Summary) -> Vec<(&'static str, f64, f64, f64)> {
    let b = &summary.where_the_money_went;
    b.lines
        .iter()
        .filter(|l| l.cost.total > 0.0 || l.node_hours.total > 0.0)
        .map(|l| (l.state, l.cost.total, l.node_hours.total, l.share))
        .collect()
}

#[test]
fn one_node_booting_3_min_running_10_idle_47_is_billed_5_17_and_78_percent() {
    // Allocated at 3 min (not billed), boots until 6, runs the task 6–16,
    // idle until the end at 63 min: an hour billed, at 0.001 a second.
    let out = run(r#"
        duration = "63m"
        [pool]
        target_dedicated = 1
        boot_time = "3m"
        [[jobs]]
        tasks = [{ duration = "10m" }]
    "#);
    let a = Attribution::of(&out);
    assert_eq!(a.state_ms(NodeState::Starting), [3 * 60_000, 0]);
    assert_eq!(a.state_ms(NodeState::Running), [10 * 60_000, 0]);
    assert_eq!(a.state_ms(NodeState::Idle), [47 * 60_000, 0]);
    assert_eq!((a.minimum_and_rounding_ms, a.charged_ms()), ([0, 0], [3_600_000, 0]));
    let s = Summary::of(&out);
    let l = lines(&s);
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
    let expected =
        [("starting", 0.18, 0.05, 0.05), ("idle", 2.82, 0.78333, 0.78333), ("running", 0.6, 0.16667, 0.16667)];
    assert_eq!(l.len(), 3, "{l:?}");
    for ((state, cost, hours, share), (e_state, e_cost, e_hours, e_share)) in l.iter().zip(expected) {
        assert_eq!(*state, e_state);
        assert!(close(*cost, e_cost), "{state}: cost {cost}");
        assert!((hours - e_hours).abs() < 1e-5 && (share - e_share).abs() < 1e-5, "{state}: {hours} h, {share}");
    }
    // Exact shares: 3/60, 47/60, 10/60.
    assert_eq!(l.iter().map(|x| (x.3 * 60.0).round() as u32).collect::<Vec<_>>(), [3, 47, 10]);
    assert_eq!(s.where_the_money_went.utilisation, Some(10.0 / 60.0));
    assert!(close(s.cost.total, 3.6));
}

#[test]
fn the_minute_minimum_is_a_line_of_its_own() {
    // Allocated at 3 min, removed by a shrink 30 s later while booting:
    // 30 s billed, 60 s charged.
    let out = run(r#"
        duration = "10m"
        [pool]
        target_dedicated = 1
        resizes = [{ at = "3m30s", target_dedicated = 0 }]
    "#);
    let a = Attribution::of(&out);
    assert_eq!(a.state_ms(NodeState::Starting), [30_000, 0]);
    assert_eq!(a.minimum_and_rounding_ms, [30_000, 0]);
    assert_eq!(out.charged_seconds, [60, 0]);
    let s = Summary::of(&out);
    let minimum = s.where_the_money_went.line(MINIMUM_AND_ROUNDING).expect("the line is always there");
    assert!((minimum.cost.total - 0.03).abs() < 1e-12 && (minimum.share - 0.5).abs() < 1e-12, "{minimum:?}");
    assert_eq!(s.where_the_money_went.utilisation, Some(0.0));
}

#[test]
fn a_requeued_run_is_lost_work_priced_at_one_slot_of_its_node() {
    // Two slots a node: the task runs 4–10 min, is requeued by a shrink to
    // 0 at 10 min (with a new target at 11), so 6 task-minutes are lost,
    // at half the node's 3.6 an hour: 0.18.
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        resizes = [{ at = "10m", target_dedicated = 0, deallocation = "requeue" }, { at = "11m", target_dedicated = 1 }]
        [[jobs]]
        tasks = [{ duration = "20m" }]
    "#);
    let lost = Summary::of(&out).where_the_money_went.lost_work;
    assert!((lost.task_hours.total - 0.1).abs() < 1e-12, "{lost:?}");
    assert!((lost.cost.total - 0.18).abs() < 1e-12, "{lost:?}");
    assert_eq!(lost.cost.low_priority, 0.0);
}

/// Every bundled scenario's timeline and bill, in-process: each pool's.
fn bundled() -> Vec<(String, autoscale_sim::sim::Output)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("simulations/ exists")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 5, "{paths:?}");
    paths
        .into_iter()
        .flat_map(|path| {
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let names: Vec<String> = scenario.pools.iter().map(|p| format!("{}: {}", scenario.name, p.id)).collect();
            names.into_iter().zip(Account::new(scenario, None).run(&mut |_| {}))
        })
        .collect()
}

#[test]
fn on_every_bundled_scenario_the_breakdown_adds_up_to_the_bill() {
    for (name, out) in bundled() {
        let a = Attribution::of(&out);
        // Exactly, in milliseconds: the states to the billed time, the
        // states and the rest to the charge.
        assert_eq!(a.billed_total_ms(), out.billed.map(|d| d.as_millis()), "{name}");
        assert_eq!(a.charged_ms(), out.charged_seconds.map(|s| s * 1000), "{name}");
        let s = Summary::of(&out);
        let b = &s.where_the_money_went;
        let cost: f64 = b.lines.iter().map(|l| l.cost.total).sum();
        assert!((cost - s.cost.total).abs() < 0.005, "{name}: {cost} != {}", s.cost.total);
        let hours: f64 = b.lines.iter().filter(|l| l.state != MINIMUM_AND_ROUNDING).map(|l| l.node_hours.total).sum();
        assert!((hours - s.node_hours.total).abs() < 1e-9, "{name}: {hours} != {}", s.node_hours.total);
        let shares: f64 = b.lines.iter().map(|l| l.share).sum();
        assert!(s.cost.total == 0.0 || (shares - 1.0).abs() < 1e-9, "{name}: shares {shares}");
        // The timeline's attribution at each sample adds up to its cost,
        // and its last row is the run's (every bundled duration ends on a sample).
        for row in &out.timeline {
            let at = Attribution::new(&row.time_in_state, row.charged_seconds);
            assert_eq!(at.charged_ms(), row.charged_seconds.map(|s| s * 1000), "{name} at {}", row.time);
        }
        let last = out.timeline.last().expect("a timeline");
        assert_eq!(Attribution::new(&last.time_in_state, last.charged_seconds), a, "{name}");
        assert!(min(0) < last.time);
    }
}
