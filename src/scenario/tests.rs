//! The schema: defaults, and an error naming the key and the fix for
//! every kind of mistake.

use std::path::Path;

use super::*;

const VM: &str = "vm = { cores = 2, dedicated_price = 0.1 }";

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::from_toml(text, "scenario.toml", "stem", Path::new("simulations"))
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_fill_everything_but_the_duration_and_vm() {
    let s = parse(&format!("duration = \"7d\"\n[pool]\n{VM}")).unwrap();
    assert_eq!(s.name, "stem");
    assert_eq!(s.start.to_string(), "2024-01-01T00:00:00.000Z");
    assert_eq!(s.duration, SimDuration::from_hours(168));
    assert_eq!(s.account, Account { dedicated_cores: 100, low_priority_cores: 100, pools: 100, active_jobs: 100 });
    assert_eq!(s.pool().resize_timeout, SimDuration::from_mins(15));
    assert_eq!(s.pool().task_slots_per_node, 1);
    assert_eq!(s.pool().allocation_time, Dist::Fixed(SimDuration::from_mins(3)));
    assert_eq!(s.metrics.visibility_delay, SimDuration::from_secs(60));
    assert!(matches!(s.pool().scaling, Scaling::Fixed { target_dedicated: 0, target_low_priority: 0, .. }));
    assert!(s.jobs.is_empty());
}

#[test]
fn autoscale_formulas_come_inline_or_from_a_file_next_to_the_scenario() {
    let s =
        parse(&format!("duration = \"1d\"\n[pool]\n{VM}\nautoscale = {{ formula = \"$TargetDedicatedNodes = 1;\" }}"))
            .unwrap();
    let Scaling::Autoscale(a) = &s.pool().scaling else { panic!("not autoscale") };
    assert_eq!(
        (a.interval, a.source_name.as_str()),
        (SimDuration::from_mins(15), "scenario.toml: pool.autoscale.formula")
    );
    let s = parse(&format!(
        "duration = \"1d\"\n[pool]\n{VM}\n[pool.autoscale]\nformula_file = \"formulas/pending-tasks.formula\"\ninterval = \"5m\""
    ))
    .unwrap();
    let Scaling::Autoscale(a) = &s.pool().scaling else { panic!("not autoscale") };
    assert!(a.formula.as_str().contains("pendingTaskSamplePercent"));
    let e =
        error(&format!("duration = \"1d\"\n[pool]\n{VM}\nautoscale = {{ formula_file = \"formulas/nope.formula\" }}"));
    assert!(
        e.starts_with("scenario.toml:4: pool.autoscale.formula_file: cannot read simulations/formulas/nope.formula: "),
        "{e}"
    );
}

#[test]
fn out_of_range_values_name_the_key_and_the_limit() {
    let auto = |interval: &str| {
        error(&format!(
            "duration = \"1d\"\n[pool]\n{VM}\nautoscale = {{ formula = \"$x = 1;\", interval = \"{interval}\" }}"
        ))
    };
    assert_eq!(auto("2m"), "scenario.toml:4: pool.autoscale.interval: 2m is below the minimum 5m");
    assert_eq!(auto("169h"), "scenario.toml:4: pool.autoscale.interval: 7d 1h is above the maximum 7d");
    assert_eq!(
        error(&format!("duration = \"1d\"\n[account]\npools = 0\n[pool]\n{VM}")),
        "scenario.toml:3: account.pools: a pool quota of 0 makes the service refuse the pool (PoolQuotaReached); give at least 1"
    );
    let pool = |extra: &str| error(&format!("duration = \"1d\"\n[pool]\n{VM}\n{extra}"));
    assert_eq!(pool("resize_timeout = \"4m\""), "scenario.toml:4: pool.resize_timeout: 4m is below the minimum 5m");
    assert_eq!(
        pool("task_slots_per_node = 9"),
        "scenario.toml:4: pool.task_slots_per_node: 9 is out of range; a 2-core VM allows 1 to 8"
    );
    assert!(
        pool("target_dedicated = 1\nautoscale = { formula = \"$x = 1;\" }")
            .contains("pool.autoscale: an autoscale pool")
    );
    assert!(pool("preemption = { recovery = \"5m\" }").contains("pool.preemption: give exactly one of"));
    let e = error(&format!("duration = \"1d\"\n[pool]\n{VM}\n[metrics]\ndrop_out = 1.5"));
    assert_eq!(e, "scenario.toml:5: metrics.drop_out: 1.5 is not a fraction in [0, 1)");
    let job = |body: &str| error(&format!("duration = \"1d\"\n[pool]\n{VM}\n[[jobs]]\n{body}"));
    assert_eq!(job("priority = 2000"), "scenario.toml:5: jobs[0].priority: 2000 is out of range; give -1000 to 1000");
    assert_eq!(
        job("generate = [{ kind = \"poisson\", rate_per_hour = 0, duration = \"1m\" }]"),
        "scenario.toml:5: jobs[0].generate[0].rate_per_hour: 0 is not a rate above 0"
    );
    assert!(
        error("duration = \"0s\"\n[pool]\nvm = { cores = 1, dedicated_price = 1 }")
            .contains("duration: 0s is out of range")
    );
}

#[test]
fn unknown_keys_and_bad_types_are_refused_with_their_line() {
    let e = error(&format!("duration = \"1d\"\n[pool]\n{VM}\ntarget_dedicatd = 2"));
    assert_eq!(
        e,
        "scenario.toml:4:1: pool.target_dedicatd: unknown key `target_dedicatd`; did you mean `target_dedicated`?\n  |\n4 \
         | target_dedicatd = 2\n  | ^^^^^^^^^^^^^^^"
    );
    let e = error(&format!(
        "duration = \"1d\"\n[pool]\n{VM}\n[[jobs]]\ngenerate = [{{ kind = \"poisson\", rate = 5, duration = \"1m\" }}]"
    ));
    assert!(
        e.starts_with(
            "scenario.toml:5:33: jobs[0].generate[0].rate: unknown key `rate`; did you mean `rate_per_hour`?"
        ),
        "{e}"
    );
    let e = error(&format!("duration = \"a day\"\n[pool]\n{VM}"));
    assert!(e.starts_with("scenario.toml:1:12: duration: `a day` is not a duration; write a duration such as"), "{e}");
    let e = error(&format!("duration = \"1d\"\n[pool]\n{VM}\nresizes = [{{ at = \"1h\", deallocation = \"drain\" }}]"));
    assert!(e.contains("unknown deallocation option `drain`; use requeue"), "{e}");
    let e = error("duration = \"1d\"");
    assert_eq!(e, "scenario.toml: pool: missing; give a [pool] table, or [[pools]] tables for several pools");
}

#[test]
fn formulas_with_errors_are_refused_with_their_diagnostics() {
    let e = error(&format!(
        "duration = \"1d\"\n[pool]\n{VM}\nautoscale = {{ formula = \"$TargetDedicatedNodes = $Pending;\" }}"
    ));
    assert!(e.starts_with("scenario.toml: pool.autoscale.formula: the autoscale formula has errors:"), "{e}");
    assert!(e.contains("error[E0100]: Undefined symbol: $Pending"), "{e}");
    let e = error(&format!("duration = \"1d\"\n[pool]\n{VM}\nautoscale = {{ formula = \"$x = (1 +;\" }}"));
    assert!(e.contains("error[E0001]"), "{e}");
}

#[test]
fn the_engine_can_be_switched_after_loading() {
    let s =
        parse(&format!("duration = \"1d\"\n[pool]\n{VM}\nautoscale = {{ formula = \"$TargetDedicatedNodes = 1;\" }}"))
            .unwrap()
            .with_engine(Engine::Interp);
    let Scaling::Autoscale(a) = &s.pool().scaling else { panic!("not autoscale") };
    assert_eq!(a.engine, Engine::Interp);
}

#[test]
fn task_dependencies_name_lower_existing_ids_of_the_job() {
    let job = |tasks: &str| error(&format!("duration = \"1d\"\n[pool]\n{VM}\n[[jobs]]\ntasks = [{tasks}]"));
    let e = job(r#"{ id = 1, duration = "1m" }, { id = 2, duration = "1m", depends_on = [2] }"#);
    assert!(
        e.ends_with("jobs[0].tasks[1].depends_on[0]: 2 is not below the entry's id 2; a task depends on lower ids"),
        "{e}"
    );
    let e = job(r#"{ id = 1, count = 3, duration = "1m" }, { id = 9, duration = "1m", depends_on = [1, "2..5"] }"#);
    assert!(e.ends_with("jobs[0].tasks[1].depends_on[1]: 2..5 names ids no entry of this job has"), "{e}");
    let e = job(r#"{ id = 1, count = 3, duration = "1m" }, { id = 3, duration = "1m" }"#);
    assert!(e.ends_with("jobs[0].tasks[1].id: ids 3 overlap ids 1..3 of another entry"), "{e}");
    let e = job(r#"{ duration = "1m", depends_on = [1] }"#);
    assert!(e.ends_with("jobs[0].tasks[0].depends_on: give the entry an `id` to use depends_on"), "{e}");
    let e = job(r#"{ id = 5, duration = "1m", depends_on = ["4..2"] }"#);
    assert!(e.contains("the range `4..2` is empty"), "{e}");
    let ok = parse(&format!(
        "duration = \"1d\"\n[pool]\n{VM}\n[[jobs]]\ntasks = [{{ id = 1, count = 2, duration = \"1m\" }}, \
         {{ id = 3, duration = \"1m\" }}, {{ id = 4, duration = \"1m\", depends_on = [\"1..3\"] }}]"
    ));
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn multi_instance_tasks_need_one_slot_per_node() {
    let pool = |slots: u32, instances: u32| {
        format!(
            "duration = \"1d\"\n[pool]\n{VM}\ntask_slots_per_node = {slots}\n[[jobs]]\n\
             tasks = [{{ duration = \"1m\", instances = {instances} }}]"
        )
    };
    assert!(parse(&pool(1, 4)).is_ok());
    let e = error(&pool(2, 4));
    assert!(
        e.ends_with(
            "jobs[0].tasks[0].instances: a multi-instance task needs pool.task_slots_per_node = 1 (the pool has 2)"
        ),
        "{e}"
    );
    assert!(error(&pool(1, 0)).contains("jobs[0].tasks[0].instances: 0 is out of range"));
}

#[test]
fn start_tasks_default_to_waiting_and_check_their_probability() {
    let pool = |st: &str| format!("duration = \"1d\"\n[pool]\n{VM}\nstart_task = {st}");
    let s = parse(&pool("{ duration = \"1m\" }")).unwrap();
    assert_eq!(
        s.pool().start_task,
        Some(StartTask {
            duration: Dist::Fixed(SimDuration::from_mins(1)),
            failure_probability: 0.0,
            wait_for_success: true,
            command_line: None,
            resource_files: Vec::new(),
        })
    );
    let e = error(&pool("{ duration = \"1m\", failure_probability = 2 }"));
    assert!(e.ends_with("pool.start_task.failure_probability: 2 is not a probability in [0, 1]"), "{e}");
}

#[test]
fn a_formula_can_be_replaced_keeping_the_engine() {
    let autoscale =
        format!("duration = \"1d\"\n[pool]\n{VM}\nautoscale = {{ formula = \"$TargetDedicatedNodes = 1;\" }}");
    let mut s = parse(&autoscale).unwrap().with_engine(Engine::Interp);
    s.replace_formula("$TargetDedicatedNodes = 7;", "seven.formula").unwrap();
    let Scaling::Autoscale(a) = &s.pool().scaling else { panic!("not autoscale") };
    assert_eq!((a.formula.as_str(), a.source_name.as_str()), ("$TargetDedicatedNodes = 7;", "seven.formula"));
    assert_eq!(a.engine, Engine::Interp);
    assert!(matches!(s.replace_formula("x = (", "a"), Err(ReplaceFormulaError::DoesNotCompile(_))));
    assert_eq!(
        s.replace_formula("$x = $nope", "a"),
        Err(ReplaceFormulaError::HasErrors("Undefined symbol: $nope".to_owned()))
    );
    let mut fixed = parse(&format!("duration = \"1d\"\n[pool]\n{VM}")).unwrap();
    assert_eq!(fixed.replace_formula("$TargetDedicatedNodes = 1", "a"), Err(ReplaceFormulaError::FixedTargets));
}
