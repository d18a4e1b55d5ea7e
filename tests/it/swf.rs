//! SWF traces (the Parallel Workloads Archive's format) as a job's tasks:
//! each record a task at its submit time for its run time, several nodes'
//! processors a multi-instance task, failed and cancelled records ending
//! with exit code 1, records without a run time skipped and said.

use std::path::Path;

use autoscale_sim::scenario::Scenario;
use autoscale_sim::sim::Simulation;

use crate::support::{cli, scratch_dir};

/// Five records: 4 processors for an hour, 1 that failed (90.5 s), one
/// with no run time (skipped), one cancelled at once needing 6
/// processors, and one with no processor count.
const LOG: &str = include_str!("../swf/small.swf");

/// (submit s, run ms, processors, failed) of the records with a run time.
const RECORDS: [(u64, u64, u32, bool); 4] =
    [(0, 3_600_000, 4, false), (60, 90_500, 1, true), (180, 0, 6, true), (240, 30_000, 1, false)];

fn scenario(dir: &Path, trace: &str, cores: u32, nodes: u32) -> std::path::PathBuf {
    let path = dir.join("swf.toml");
    let text = format!(
        "duration = \"3h\"\n[pool]\nvm = {{ cores = {cores}, dedicated_price = 1 }}\ntarget_dedicated = {nodes}\n\
         allocation_time = \"0s\"\nboot_time = \"0s\"\n[[jobs]]\ntrace = {trace}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn on_a_pool_as_large_as_the_machine_every_processor_second_is_worked() {
    let dir = scratch_dir("swf");
    std::fs::write(dir.join("small.swf"), LOG).unwrap();
    // One processor a node, as many nodes as the log's MaxProcs.
    let path = scenario(&dir, "{ file = \"small.swf\", processors_per_node = 1 }", 1, 8);
    let scenario = Scenario::load(&path).unwrap();
    assert_eq!(
        scenario.notes,
        [
            "small.swf: 4 records as tasks on nodes of 1 processor (header: UnixStartTime 1041377400, MaxProcs 8)",
            "small.swf: 1 record with no run time skipped",
            "small.swf: 1 record with no processor count taken as 1",
        ]
    );
    let output = Simulation::new(scenario, None).run(&mut |_| {});
    assert_eq!(output.tasks.len(), RECORDS.len(), "every record with a run time is a task");
    let mut worked_ms = 0;
    for (task, &(submit_s, run_ms, processors, failed)) in output.tasks.iter().zip(&RECORDS) {
        assert_eq!(task.submit.as_millis(), submit_s * 1000);
        assert_eq!(task.instances, processors, "one node per processor");
        let (start, end) = (task.first_start().unwrap(), task.end().unwrap());
        assert_eq!(end.since(start).as_millis(), run_ms, "run time of the record submitted at {submit_s} s");
        assert_eq!(task.exit_code, Some(i32::from(failed)));
        worked_ms += u64::from(task.instances) * end.since(start).as_millis();
    }
    let processor_ms: u64 = RECORDS.iter().map(|&(_, run, procs, _)| run * u64::from(procs)).sum();
    assert_eq!(worked_ms, processor_ms);
}

#[test]
fn gzip_logs_and_the_default_processors_per_node_and_mistakes() {
    let dir = scratch_dir("swf-gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, LOG.as_bytes()).unwrap();
    std::fs::write(dir.join("small.swf.gz"), encoder.finish().unwrap()).unwrap();
    // Nodes of 4 cores: the 4-processor record is a plain task, the 6-processor one needs 2 nodes.
    let path = scenario(&dir, "\"small.swf.gz\"", 4, 2);
    let scenario = Scenario::load(&path).unwrap();
    let output = Simulation::new(scenario, None).run(&mut |_| {});
    let instances: Vec<u32> = output.tasks.iter().map(|t| t.instances).collect();
    assert_eq!(instances, [1, 1, 2, 1]);

    let run = cli(&["run", path.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.starts_with("note: small.swf.gz: 4 records as tasks on nodes of 4 processors"), "{stderr}");

    let csv = scenario_error(&dir, "{ file = \"t.csv\", processors_per_node = 2 }");
    assert!(
        csv.ends_with("jobs[0].trace.processors_per_node: only an SWF trace (`.swf`, `.swf.gz`) has processors"),
        "{csv}"
    );
    std::fs::write(dir.join("bad.swf"), "1 0 0 ten 1 -1 -1 1 -1 -1 1\n").unwrap();
    let bad = scenario_error(&dir, "\"bad.swf\"");
    assert!(bad.contains("bad.swf: line 1: field 4 is `ten`, not a number"), "{bad}");
}

fn scenario_error(dir: &Path, trace: &str) -> String {
    Scenario::load(&scenario(dir, trace, 1, 1)).unwrap_err().to_string()
}
