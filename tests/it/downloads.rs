//! What a node fetches before it is useful: the container image and the
//! pool's packages once per disk before the start task, the start task's
//! resource files every time it runs, a job's and a task's packages once
//! per node, resource files every run; all at the VM's download speed.
//! Every node here downloads a GiB in 8 s (the default).

use autoscale_sim::sim::TaskState;
use autoscale_sim::time::SimTime;

use crate::timeline::{dedicated, ends, min, run};

/// `m` minutes and `s` seconds after the start.
fn at(m: u64, s: u64) -> SimTime {
    SimTime((m * 60 + s) * 1000)
}

#[test]
fn a_new_node_pulls_and_downloads_before_its_first_task_and_a_node_that_has_them_does_not() {
    // Allocated at 3 min, booted at 4; the image (3 GiB: 24 s, plus 36 s
    // of pull) and the pool's package (7.5 GiB: 60 s) take it to 6 min,
    // still `starting`; the start task runs 1 min after its files (15 GiB:
    // 2 min), so the node is idle at 9. The first task fetches its job's
    // package (30 s) and its files (30 s) before its 10 minutes; the
    // second, on the same node, only its files.
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        application_packages = [{ name = "app", size_mib = 7680 }]
        container = { image_size_mib = 3072, pull_time = "36s" }
        start_task = { duration = "1m", resource_files = [{ size_mib = 10240 }, { size_mib = 5120 }] }
        [[jobs]]
        application_packages = [{ name = "lib", size_mib = 3840 }]
        tasks = [{ duration = "10m", count = 2, resource_files = [{ size_mib = 3840 }] }]
    "#);
    assert_eq!(dedicated(&out, min(5)), [("starting", 1)]);
    assert_eq!(dedicated(&out, min(6)), [("waitingforstarttask", 1)]);
    assert_eq!(dedicated(&out, min(8)), [("waitingforstarttask", 1)]);
    assert_eq!(dedicated(&out, min(9)), [("running", 1)]);
    let starts: Vec<_> = out.tasks.iter().map(|t| t.first_start()).collect();
    assert_eq!(starts, [Some(min(9)), Some(min(20))]);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(min(20)), 1), (TaskState::Succeeded, Some(at(30, 30)), 1)]);
}

#[test]
fn a_reimage_fetches_everything_again_and_a_reboot_keeps_the_packages() {
    // Idle at 6 min (1 min of image pull, 1 min of start task); the task
    // fetches its package (1 GiB: 8 s) and runs 10 min: 6:00–16:08. The
    // reboot at 20 min takes 1 min and keeps the disk: the start task
    // (1 min) and the next task, at 22, fetch no package. The reimage at
    // 40 min takes 1 min, pulls again (1 min), runs the start task: idle
    // at 43, and the last task fetches its package again.
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        container = { image_size_mib = 0, pull_time = "1m" }
        start_task = { duration = "1m" }
        node_actions = [{ at = "20m", node = 0, action = "reboot" }, { at = "40m", node = 0, action = "reimage" }]
        [[jobs]]
        tasks = [
            { duration = "10m", application_packages = [{ name = "tool", size_mib = 1024 }] },
            { at = "21m", duration = "10m", application_packages = [{ name = "tool", size_mib = 1024 }] },
            { at = "41m", duration = "10m", application_packages = [{ name = "tool", size_mib = 1024 }] },
        ]
    "#);
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start(), t.end())).collect();
    assert_eq!(
        runs,
        [(Some(min(6)), Some(at(16, 8))), (Some(min(22)), Some(min(32))), (Some(min(43)), Some(at(53, 8)))]
    );
}

#[test]
fn a_preparation_fetches_its_files_every_time_and_the_download_speed_is_the_vms() {
    // 1 GiB at 30 s a GiB: the preparation takes 30 s more than its 1 min.
    let out = run(r#"
        duration = "1h"
        [pool]
        vm = { cores = 2, dedicated_price = 3.6, download_per_gib = "30s" }
        target_dedicated = 1
        [[jobs]]
        preparation = { duration = "1m", resource_files = [{ size_mib = 1024 }] }
        tasks = [{ duration = "10m" }]
    "#);
    assert_eq!(out.job_tasks.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>(), [(min(4), at(5, 30))]);
    assert_eq!(ends(&out), [(TaskState::Succeeded, Some(at(15, 30)), 1)]);
}

#[test]
fn a_job_manager_fetches_its_jobs_packages_and_its_own_files() {
    // Both placed at 4 min on the two-slot node, the manager first: it
    // fetches the job's package (3.75 GiB: 30 s) and its files (15 s); the
    // task finds the package already counted on the node.
    let out = run(r#"
        duration = "1h"
        [pool]
        target_dedicated = 1
        task_slots_per_node = 2
        [[jobs]]
        application_packages = [{ name = "lib", size_mib = 3840 }]
        manager = { duration = "10m", resource_files = [{ size_mib = 1920 }] }
        tasks = [{ duration = "5m" }]
    "#);
    let runs: Vec<_> = out.tasks.iter().map(|t| (t.first_start(), t.end())).collect();
    assert_eq!(runs, [(Some(min(4)), Some(at(14, 45))), (Some(min(4)), Some(min(9)))]);
}
