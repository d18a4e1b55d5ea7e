//! What an autoscale formula sees and when it runs: metric samples appear
//! after their visibility delay, within the history kept, minus drop-outs;
//! evaluations run when autoscale is enabled and every interval after;
//! targets equal to the pool's start no resize.

use autoscale_sim::sim::{AllocationState, ResizeErrorCode};
use autoscale_sim::time::SimTime;

use crate::timeline::{dedicated, min, row, run};

/// An autoscale run whose formula reports how many `$PendingTasks` samples it sees.
fn counting(metrics: &str) -> Vec<String> {
    let out = run(&format!(
        r#"
        duration = "10m"
        {metrics}
        [pool]
        autoscale = {{ formula = "n = $PendingTasks.Count(); $TargetDedicatedNodes = 0;", interval = "5m" }}
    "#
    ));
    out.evaluations.iter().map(|e| e.results.rsplit(';').next().unwrap_or_default().to_owned()).collect()
}

#[test]
fn samples_become_visible_after_the_delay() {
    // At 0: nothing yet. At 5 min: samples of 0 s to 4 min (9) with a 60 s
    // delay; 0 s to 5 min (11) with none — the sample at 5 min included.
    assert_eq!(counting(""), ["n=0", "n=9", "n=19"]);
    assert_eq!(counting("[metrics]\nvisibility_delay = \"0s\""), ["n=1", "n=11", "n=21"]);
    // Visible up to 3:30 (9:30), seen back to 2:00 (7:00).
    assert_eq!(counting("[metrics]\nvisibility_delay = \"90s\"\nhistory = \"3m\""), ["n=0", "n=4", "n=4"]);
    let dropped = counting("[metrics]\ndrop_out = 0.5");
    assert_eq!(dropped, counting("[metrics]\ndrop_out = 0.5"), "drop-outs are seeded");
    assert_ne!(dropped, ["n=0", "n=9", "n=19"]);
}

#[test]
fn evaluations_run_at_enable_time_and_every_interval_and_failures_change_nothing() {
    let out = run(r#"
        duration = "1h"
        [pool]
        autoscale = { formula = "$TargetDedicatedNodes = max($PendingTasks.GetSample(TimeInterval_Minute * 20, 90)) + 2;", interval = "15m" }
        [[jobs]]
        tasks = [{ at = "1m", duration = "2h", count = 3 }]
    "#);
    let times: Vec<_> = out.evaluations.iter().map(|e| e.time).collect();
    assert_eq!(times, [min(0), min(15), min(30), min(45), min(60)]);
    let codes: Vec<_> = out.evaluations.iter().map(|e| e.error.as_ref().map(|f| f.code)).collect();
    assert_eq!(codes, [Some("InsufficientSampleData"), Some("InsufficientSampleData"), None, None, None]);
    assert_eq!(row(&out, min(29)).target, [0, 0]);
    assert_eq!(row(&out, SimTime(min(30).0 + 30_000)).target, [5, 0]);
    assert!(out.evaluations[2].results.starts_with("$TargetDedicatedNodes=5;"));
}

#[test]
fn the_first_row_shows_the_first_evaluations_targets_and_resize() {
    let out = run(r#"
        duration = "10m"
        [pool]
        autoscale = { formula = "$TargetDedicatedNodes = 2;", interval = "5m" }
    "#);
    let r = row(&out, SimTime(0));
    assert_eq!((r.target, r.allocation_state), ([2, 0], AllocationState::Resizing));
    assert_eq!(dedicated(&out, SimTime(0)), [("creating", 2)]);
}

#[test]
fn targets_equal_to_the_current_ones_start_no_resize_so_a_quota_error_is_recorded_once() {
    let out = run(r#"
        duration = "1h"
        [account]
        dedicated_cores = 4
        [pool]
        autoscale = { formula = "$TargetDedicatedNodes = 3;", interval = "5m" }
    "#);
    assert_eq!(out.evaluations.len(), 13);
    let errors: Vec<_> = out.resize_errors.iter().map(|e| (e.time, e.code)).collect();
    assert_eq!(errors, [(SimTime(0), ResizeErrorCode::AccountCoreQuotaReached)]);
    // It stays on the pool, since no later resize starts.
    assert!(out.timeline.iter().all(|r| r.errors == [ResizeErrorCode::AccountCoreQuotaReached]));
    assert_eq!(dedicated(&out, min(60)), [("idle", 2)]);
}

#[test]
fn a_pool_short_of_its_target_after_a_timeout_is_not_resized_again_by_the_same_target() {
    let out = run(r#"
        duration = "1h"
        [pool]
        allocation_time = "20m"
        resize_timeout = "15m"
        autoscale = { formula = "$TargetDedicatedNodes = 2;", interval = "5m" }
    "#);
    let errors: Vec<_> = out.resize_errors.iter().map(|e| (e.time, e.code)).collect();
    assert_eq!(errors, [(min(15), ResizeErrorCode::AllocationTimedout); 2]);
    let r = row(&out, min(60));
    assert_eq!((r.target, r.allocation_state, dedicated(&out, min(60))), ([2, 0], AllocationState::Steady, vec![]));
    assert_eq!(out.charged_seconds, [0, 0]);
}
