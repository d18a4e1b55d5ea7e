//! A `taskcompletion` or `retaineddata` shrink blocks the pool's resizes
//! until its nodes have gone: evaluations still run and are recorded, the
//! latest target they set applies when the drain ends, and a manual
//! resize or node removal meanwhile is refused with `PoolNotSteady`.

use autoscale_sim::sim::{AllocationState, NodeState, Operation, OperationError, Output, Priority, TaskState};

use crate::timeline::{dedicated, ends, min, row, run};

/// Two nodes run 40-minute tasks from 4 min; the formula sets 2 nodes,
/// then 1 at 20 min with `option`, then 3 from 30 min.
fn two_one_three(option: &str, duration: &str) -> Output {
    run(&format!(
        r#"
        start = "2024-01-01T00:00:00Z"
        duration = "{duration}"
        [pool]
        autoscale = {{ interval = "5m", formula = """
            t = time() - time("2024-01-01T00:00:00Z");
            $TargetDedicatedNodes = t < 20 * TimeInterval_Minute ? 2 : (t < 30 * TimeInterval_Minute ? 1 : 3);
            $NodeDeallocationOption = {option};
        """ }}
        [[jobs]]
        retention = "10m"
        tasks = [{{ duration = "40m", count = 2 }}]
    "#
    ))
}

/// Per row: (minute, target, state, dedicated nodes by state).
type Rows = Vec<(u64, u32, &'static str, Vec<(&'static str, u32)>)>;

fn rows(out: &Output, minutes: &[u64]) -> Rows {
    minutes
        .iter()
        .map(|&m| {
            let r = row(out, min(m));
            (m, r.target[0], r.allocation_state.name(), dedicated(out, min(m)))
        })
        .collect()
}

/// While a node drains, no node is being created, and the pool never
/// holds more than the latest target or the two nodes it had when the
/// drain began.
fn never_grows_while_draining(out: &Output) {
    for r in &out.timeline {
        let n = |s: NodeState| r.nodes[Priority::Dedicated as usize][s as usize];
        let held: u32 = r.nodes[Priority::Dedicated as usize].iter().sum();
        assert!(n(NodeState::LeavingPool) == 0 || n(NodeState::Creating) == 0, "at {}: {r:?}", r.time);
        assert!(held <= r.target[0].max(2), "at {}: {held} nodes for a target of {}", r.time, r.target[0]);
    }
}

#[test]
fn a_target_set_during_a_taskcompletion_drain_applies_when_it_ends() {
    let out = two_one_three("taskcompletion", "1h");
    assert_eq!(
        rows(&out, &[0, 4, 20, 30, 40, 44, 47, 48]),
        [
            (0, 2, "resizing", vec![("creating", 2)]),
            (4, 2, "steady", vec![("running", 2)]),
            (20, 1, "resizing", vec![("running", 1), ("leavingpool", 1)]),
            // The target of 3 is recorded; the resize to it waits.
            (30, 3, "resizing", vec![("running", 1), ("leavingpool", 1)]),
            (40, 3, "resizing", vec![("running", 1), ("leavingpool", 1)]),
            // The drained node went at 44 min: the two new nodes start then.
            (44, 3, "resizing", vec![("creating", 2), ("idle", 1)]),
            (47, 3, "steady", vec![("starting", 2), ("idle", 1)]),
            (48, 3, "steady", vec![("idle", 3)]),
        ]
    );
    never_grows_while_draining(&out);
    // Every evaluation ran and was recorded, the drain's included.
    let times: Vec<_> = out.evaluations.iter().map(|e| e.time).collect();
    assert_eq!(times, (0..=12).map(|i| min(5 * i)).collect::<Vec<_>>());
    assert!(out.evaluations.iter().all(|e| e.error.is_none()));
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(44)), 1), (TaskState::Succeeded, Some(min(44)), 1)]);
    // Billed: node 0 from 3 to 60 min, node 1 from 3 to 44, two from 47 to 60.
    assert_eq!(out.charged_seconds, [(57 + 41 + 2 * 13) * 60, 0]);
}

#[test]
fn a_retaineddata_drain_also_holds_the_resize_through_the_retention() {
    let out = two_one_three("retaineddata", "1h10m");
    assert_eq!(
        rows(&out, &[30, 44, 53, 54, 58]),
        [
            (30, 3, "resizing", vec![("running", 1), ("leavingpool", 1)]),
            // The tasks ended at 44 min; the node keeps their data 10 min.
            (44, 3, "resizing", vec![("idle", 1), ("leavingpool", 1)]),
            (53, 3, "resizing", vec![("idle", 1), ("leavingpool", 1)]),
            (54, 3, "resizing", vec![("creating", 2), ("idle", 1)]),
            (58, 3, "steady", vec![("idle", 3)]),
        ]
    );
    never_grows_while_draining(&out);
}

#[test]
fn the_latest_target_wins_and_one_equal_to_the_drain_starts_nothing() {
    // 2, then 1 at 20 min (taskcompletion), 3 at 30 min, 1 again from 35.
    let out = run(r#"
        start = "2024-01-01T00:00:00Z"
        duration = "1h"
        [pool]
        autoscale = { interval = "5m", formula = """
            t = time() - time("2024-01-01T00:00:00Z");
            $TargetDedicatedNodes = t < 20 * TimeInterval_Minute ? 2 : (t < 30 * TimeInterval_Minute || t >= 35 * TimeInterval_Minute ? 1 : 3);
            $NodeDeallocationOption = taskcompletion;
        """ }
        [[jobs]]
        tasks = [{ duration = "40m", count = 2 }]
    "#);
    assert_eq!(
        rows(&out, &[30, 35, 44, 50]),
        [
            (30, 3, "resizing", vec![("running", 1), ("leavingpool", 1)]),
            (35, 1, "resizing", vec![("running", 1), ("leavingpool", 1)]),
            (44, 1, "steady", vec![("idle", 1)]),
            (50, 1, "steady", vec![("idle", 1)]),
        ]
    );
    assert_eq!(out.charged_seconds, [(57 + 41) * 60, 0]);
}

#[test]
fn a_manual_resize_or_a_removal_during_a_drain_is_refused_with_pool_not_steady() {
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 2
        resizes = [
          { at = "20m", target_dedicated = 1, deallocation = "taskcompletion" },
          { at = "30m", target_dedicated = 3 },
        ]
        node_actions = [{ at = "25m", node = 0, action = "remove" }]
        [[jobs]]
        tasks = [{ duration = "40m", count = 2 }]
    "#);
    let refused: Vec<_> = out.refused_operations.iter().map(|r| (r.time, r.operation, r.error)).collect();
    assert_eq!(
        refused,
        [
            (min(25), Operation::RemoveNode { node: 0 }, OperationError::PoolNotSteady),
            (min(30), Operation::Resize { target: [3, 0] }, OperationError::PoolNotSteady),
        ]
    );
    // Refusals are answers to the caller: nothing changes on the pool.
    assert_eq!(out.resize_errors, []);
    let r = row(&out, min(30));
    assert_eq!((r.target, r.allocation_state, r.errors.len()), ([1, 0], AllocationState::Resizing, 0));
    assert_eq!(dedicated(&out, min(50)), [("idle", 1)]);
}
