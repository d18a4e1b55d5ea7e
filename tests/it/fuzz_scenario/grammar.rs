//! Scenario documents built from the schema's keys, each key present or
//! not, with mostly plausible and sometimes extreme values: how far a
//! document strays is chosen per document ([`Wild`]), so that some are
//! valid throughout and reach the simulator.

use proptest::prelude::*;

use super::{pick, quoted, wild};

/// How far a generated document strays from the schema: chosen per
/// document, so that some are valid throughout and reach the simulator,
/// and others have many odd values.
#[derive(Debug, Clone, Copy)]
struct Wild {
    /// Whether values may be out of range (the `edge` of a [`choice`]).
    edges: bool,
    /// Odds, in 1000, that a value is [`wild`] instead.
    value: u32,
    /// Probability of an unknown key in a table.
    unknown: f64,
    /// Probability that a key a table needs is there.
    required: f64,
}

impl Wild {
    const LEVELS: [Wild; 3] = [
        Wild { edges: false, value: 0, unknown: 0.0, required: 1.0 },
        Wild { edges: true, value: 10, unknown: 0.01, required: 0.98 },
        Wild { edges: true, value: 100, unknown: 0.05, required: 0.9 },
    ];
}

/// One of `valid`; unless `w` keeps to valid values, sometimes one of
/// `edge` (out of range, or valid only in some combinations) or [`wild`].
fn choice(w: Wild, valid: &'static [&'static str], edge: &'static [&'static str]) -> BoxedStrategy<String> {
    if !w.edges {
        return pick(valid);
    }
    let plausible = if edge.is_empty() { pick(valid) } else { prop_oneof![6 => pick(valid), 1 => pick(edge)].boxed() };
    or_wild(w, plausible)
}

/// Mostly `plausible`, sometimes [`wild`].
fn or_wild(w: Wild, plausible: BoxedStrategy<String>) -> BoxedStrategy<String> {
    if w.value == 0 {
        return plausible;
    }
    prop_oneof![1000 - w.value => plausible, w.value => wild()].boxed()
}

/// `key = value`, or nothing, about as often.
fn key(key: &'static str, value: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    seldom(0.5, key, value)
}

/// `key = value` with the probability a needed key has.
fn needed(w: Wild, key: &'static str, value: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    seldom(w.required, key, value)
}

/// `key = value` with probability `p`.
fn seldom(p: f64, key: &'static str, value: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    maybe(p, value.prop_map(move |v| format!("{key} = {v}")).boxed())
}

/// `Some` of `value` with probability `p` (proptest's weights must be
/// strictly between 0 and 1).
fn maybe(p: f64, value: BoxedStrategy<String>) -> BoxedStrategy<Option<String>> {
    if p <= 0.0 {
        Just(None).boxed()
    } else if p >= 1.0 {
        value.prop_map(Some).boxed()
    } else {
        prop::option::weighted(p, value).boxed()
    }
}

/// Now and then an unknown key.
fn unknown(w: Wild) -> BoxedStrategy<Option<String>> {
    let kv = (pick(&["bogus", "Seed", "count", "kind", "dist"]), wild()).prop_map(|(k, v)| format!("{k} = {v}"));
    maybe(w.unknown, kv.boxed())
}

/// The present entries, comma-separated in braces.
fn inline_table(w: Wild, mut entries: Vec<BoxedStrategy<Option<String>>>) -> BoxedStrategy<String> {
    entries.push(unknown(w));
    entries.prop_map(|e| format!("{{ {} }}", e.into_iter().flatten().collect::<Vec<_>>().join(", "))).boxed()
}

/// An array of `0..max` of `item`.
fn array(item: BoxedStrategy<String>, max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(item, 0..max).prop_map(|items| format!("[{}]", items.join(", "))).boxed()
}

/// `header` and its present entries, a line each.
fn section(w: Wild, header: &'static str, mut entries: Vec<BoxedStrategy<Option<String>>>) -> BoxedStrategy<String> {
    entries.push(unknown(w));
    entries
        .prop_map(move |e| {
            let mut lines = vec![header.to_owned()];
            lines.extend(e.into_iter().flatten());
            lines.join("\n")
        })
        .boxed()
}

/// A point in time or a span where 0 is allowed.
fn duration(w: Wild) -> BoxedStrategy<String> {
    choice(
        w,
        &[
            "\"0s\"",
            "\"1s\"",
            "\"30s\"",
            "\"1m\"",
            "\"5m\"",
            "\"15m\"",
            "\"1h\"",
            "\"90m\"",
            "\"6h\"",
            "\"1d\"",
            "\"250ms\"",
            "\"1h 30m\"",
        ],
        &["\"7d\"", "\"366d\"", "\"100000d\""],
    )
}

/// The scenario's length: mostly short enough to simulate.
fn scenario_duration(w: Wild) -> BoxedStrategy<String> {
    choice(
        w,
        &["\"1s\"", "\"30m\"", "\"1h\"", "\"2h\"", "\"6h\"", "\"12h\"", "\"1d\""],
        &["\"2d\"", "\"366d\"", "\"367d\"", "\"0s\""],
    )
}

fn dist(w: Wild) -> BoxedStrategy<String> {
    let table = |dist: &'static str, entries: Vec<BoxedStrategy<Option<String>>>| {
        let mut all = vec![Just(Some(format!("dist = \"{dist}\""))).boxed()];
        all.extend(entries);
        inline_table(w, all)
    };
    let low = || choice(w, &["\"0s\"", "\"1s\"", "\"1m\""], &["\"1h\"", "\"100000d\""]);
    let high = || choice(w, &["\"5m\"", "\"1h\""], &["\"0s\""]);
    let sigma = choice(w, &["0.5", "1.0", "0.01", "3"], &["0", "-1", "1e308"]);
    prop_oneof![
        6 => duration(w),
        1 => table("uniform", vec![needed(w, "min", low()), needed(w, "max", high())]),
        1 => table("exponential", vec![needed(w, "mean", high())]),
        1 => table("normal", vec![needed(w, "mean", duration(w)), needed(w, "std_dev", duration(w))]),
        1 => table("lognormal", vec![needed(w, "median", high()), needed(w, "sigma", sigma)]),
        1 => table("fixed", vec![needed(w, "value", duration(w))]),
    ]
    .boxed()
}

fn count(w: Wild) -> BoxedStrategy<String> {
    choice(w, &["0", "1", "1", "2", "3", "4", "10", "50", "256", "1000"], &["257", "100001", "4294967295"])
}

fn probability(w: Wild) -> BoxedStrategy<String> {
    choice(w, &["0.0", "0", "0.01", "0.1", "0.5", "1.0", "1"], &["1.5", "-0.1", "1e-308"])
}

fn boolean(w: Wild) -> BoxedStrategy<String> {
    choice(w, &["true", "false"], &[])
}

fn deallocation(w: Wild) -> BoxedStrategy<String> {
    choice(
        w,
        &["\"requeue\"", "\"terminate\"", "\"taskcompletion\"", "\"retaineddata\""],
        &["\"never\"", "\"Requeue\""],
    )
}

fn command_line(w: Wild) -> BoxedStrategy<String> {
    choice(w, &["\"true\"", "\"sh -c 'exit 3'\""], &["\"\"", "\"'unbalanced\""])
}

/// A formula: mostly valid, from a short list or the formula fuzzer's
/// generator, sometimes broken or too long.
fn formula(w: Wild) -> BoxedStrategy<String> {
    let valid = pick(&[
        "$TargetDedicatedNodes = 2;",
        "$TargetDedicatedNodes = 0; $TargetLowPriorityNodes = 3; $NodeDeallocationOption = requeue;",
        "$TargetDedicatedNodes = 1e308; $TargetLowPriorityNodes = 1e308;",
        "$TargetDedicatedNodes = -5; $NodeDeallocationOption = terminate;",
        "$TargetDedicatedNodes = 0/0;",
        "$TargetDedicatedNodes = time().hour < 12 ? 12 : 2; $NodeDeallocationOption = taskcompletion;",
        "$s = $PendingTasks.GetSample(1); $TargetDedicatedNodes = min(25, max(0, $s)); $NodeDeallocationOption = retaineddata;",
        "$p = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 3) < 70 ? 1 : avg($PendingTasks.GetSample(TimeInterval_Minute * 3)); $TargetLowPriorityNodes = min(10, $p);",
        "$TargetDedicatedNodes = $PreemptedNodeCount.GetSample(1) + $CurrentDedicatedNodes + 1;",
        "$TargetDedicatedNodes = len($CPUPercent.GetSample(TimeInterval_Hour)) + $RunningTasks.GetSample(1);",
        "$TargetDedicatedNodes = rand() * 20;",
        "stop();",
    ]);
    if !w.edges {
        return valid.prop_map(|f| quoted(&f)).boxed();
    }
    let invalid = pick(&["", "$TargetDedicatedNodes = ;", "$x = $undefined;", "$TargetDedicatedNodes = \"text\";"]);
    prop_oneof![
        5 => valid,
        1 => invalid,
        3 => crate::fuzz::formula(),
        1 => (0usize..400).prop_map(|n| "$TargetDedicatedNodes = 1 + 1;\n".repeat(n)),
    ]
    .prop_map(|f| quoted(&f))
    .boxed()
}

/// A table of cores and prices (the cores from the catalog when a known
/// size is named), or a size's name alone, which needs `pool.prices`.
fn vm(w: Wild) -> BoxedStrategy<String> {
    let table = inline_table(
        w,
        vec![
            key("name", choice(w, &["\"Standard_D2s_v3\"", "\"standard_f8s_v2\"", "\"\""], &["\"Standard_X9\""])),
            needed(w, "cores", choice(w, &["1", "2", "2", "4", "8"], &["0"])),
            needed(w, "dedicated_price", choice(w, &["0.096", "3.6", "0", "0.0"], &["-1", "nan"])),
            key("low_priority_price", choice(w, &["0.0192", "0.36", "0"], &["-0.5", "inf"])),
        ],
    );
    prop_oneof![9 => table, 1 => pick(&["\"Standard_D2s_v3\"", "\"Standard_X9\""])].boxed()
}

/// `[pool]`; its fixed targets only when it has no `[pool.autoscale]`,
/// unless `w` strays.
fn pool(w: Wild, autoscaled: bool) -> BoxedStrategy<String> {
    let targets = if autoscaled && !w.edges { 0.0 } else { 0.6 };
    let resize = inline_table(
        w,
        vec![
            needed(w, "at", duration(w)),
            key("target_dedicated", count(w)),
            key("target_low_priority", count(w)),
            key("deallocation", deallocation(w)),
        ],
    );
    let rate = choice(w, &["0.1", "1", "10", "0"], &["-1", "nan", "1e308"]);
    let trace = pick(&["\"preemptions.csv\"", "\"\"", "\".\""]);
    let preemption = if w.edges {
        prop_oneof![
            6 => inline_table(w, vec![needed(w, "rate_per_node_hour", rate.clone()), key("recovery", dist(w))]),
            1 => inline_table(w, vec![needed(w, "trace", trace), key("recovery", dist(w))]),
        ]
        .boxed()
    } else {
        inline_table(w, vec![needed(w, "rate_per_node_hour", rate), key("recovery", dist(w))])
    };
    let start_task = inline_table(
        w,
        vec![
            needed(w, "duration", dist(w)),
            key("failure_probability", probability(w)),
            key("wait_for_success", boolean(w)),
            key("command_line", command_line(w)),
        ],
    );
    let action = choice(
        w,
        &["\"reboot\"", "\"reimage\"", "\"remove\"", "\"disable_scheduling\"", "\"enable_scheduling\"", "\"fail\""],
        &["\"explode\""],
    );
    let node_action = inline_table(
        w,
        vec![
            needed(w, "at", duration(w)),
            needed(w, "node", count(w)),
            needed(w, "action", action),
            key("deallocation", deallocation(w)),
            key("duration", dist(w)),
        ],
    );
    section(
        w,
        "[pool]",
        vec![
            key("id", choice(w, &["\"render\"", "\"\""], &[])),
            needed(w, "vm", vm(w)),
            key("task_slots_per_node", choice(w, &["1", "1", "2"], &["0", "8", "256", "257"])),
            key("node_fill", choice(w, &["\"spread\"", "\"pack\""], &["\"random\""])),
            key("image", choice(w, &["\"marketplace\"", "\"gallery\""], &["\"custom\""])),
            key("resize_timeout", choice(w, &["\"5m\"", "\"15m\"", "\"1h\""], &["\"0s\"", "\"4m\""])),
            seldom(targets, "target_dedicated", count(w)),
            seldom(targets, "target_low_priority", count(w)),
            seldom(targets / 2.0, "resizes", array(resize, 4)),
            key("allocation_time", dist(w)),
            key("boot_time", dist(w)),
            key("removal_time", dist(w)),
            seldom(0.3, "preemption", preemption),
            seldom(0.3, "start_task", start_task),
            seldom(0.3, "node_actions", array(node_action, 5)),
        ],
    )
}

fn autoscale(w: Wild) -> BoxedStrategy<String> {
    let file = pick(&["\"formulas/pending-tasks.formula\"", "\"\"", "\"..\""]);
    let interval = choice(w, &["\"5m\"", "\"15m\"", "\"1h\"", "\"168h\""], &["\"4m\"", "\"169h\"", "\"0s\""]);
    section(
        w,
        "[pool.autoscale]",
        vec![
            needed(w, "formula", formula(w)),
            seldom(1.0 - w.required, "formula_file", file),
            key("interval", interval),
        ],
    )
}

fn job_task(w: Wild) -> BoxedStrategy<String> {
    inline_table(
        w,
        vec![
            needed(w, "duration", dist(w)),
            key("failure_probability", probability(w)),
            key("command_line", command_line(w)),
        ],
    )
}

/// A task's own constraints, as a `tasks` entry or a generator gives them.
fn task_constraints(w: Wild) -> Vec<BoxedStrategy<Option<String>>> {
    vec![
        seldom(0.2, "max_wall_clock_time", choice(w, &["\"30s\"", "\"5m\"", "\"1h\""], &["\"0s\"", "\"366d\""])),
        seldom(0.2, "max_task_retry_count", choice(w, &["0", "2", "-1"], &["-2", "2147483648"])),
        seldom(0.2, "retention", duration(w)),
    ]
}

fn job(w: Wild) -> BoxedStrategy<String> {
    let depends_on = choice(
        w,
        &["[0]", "[1]", "[0, 1]", "[\"0..1\"]"],
        &["[\"2..10\"]", "[\"10..2\"]", "[\"1..\"]", "[4294967295]"],
    );
    let task = inline_table(
        w,
        [
            vec![
                key("at", duration(w)),
                needed(w, "duration", dist(w)),
                key("count", count(w)),
                seldom(0.2, "slots", choice(w, &["1"], &["0", "2", "257"])),
                seldom(if w.edges { 0.5 } else { 0.0 }, "id", count(w)),
                seldom(if w.edges { 0.2 } else { 0.0 }, "depends_on", depends_on),
                seldom(0.2, "instances", choice(w, &["1", "2", "3"], &["0", "100001"])),
            ],
            task_constraints(w),
        ]
        .concat(),
    );
    let until = if w.edges { 0.5 } else { 0.0 };
    let window = || {
        [
            vec![
                seldom(0.2, "slots", choice(w, &["1"], &["0", "2"])),
                key("from", duration(w)),
                seldom(until, "until", duration(w)),
            ],
            task_constraints(w),
        ]
        .concat()
    };
    let kind = |kind: &'static str| Just(Some(format!("kind = \"{kind}\""))).boxed();
    let rate = choice(w, &["1", "30", "150", "0.5"], &["0", "-1", "nan", "1e308"]);
    let every = choice(w, &["\"1m\"", "\"15m\"", "\"1h\""], &["\"0s\"", "\"1ms\""]);
    let generator = prop_oneof![
        inline_table(
            w,
            [vec![kind("poisson"), needed(w, "rate_per_hour", rate), needed(w, "duration", dist(w))], window()]
                .concat()
        ),
        inline_table(
            w,
            [
                vec![
                    kind("periodic"),
                    needed(w, "every", every.clone()),
                    key("count", count(w)),
                    needed(w, "duration", dist(w))
                ],
                window()
            ]
            .concat()
        ),
        inline_table(
            w,
            [
                vec![
                    kind("bursty"),
                    needed(w, "mean_gap", every),
                    needed(w, "size", count(w)),
                    needed(w, "duration", dist(w))
                ],
                window()
            ]
            .concat()
        ),
    ]
    .boxed();
    let exit_codes = choice(
        w,
        &["{ 0 = 95, 3 = 4, 137 = 1 }", "{ 0 = 1 }", "{ 1 = 1 }"],
        &["{ 0 = 0 }", "{ x = 1 }", "{ 0 = -1 }", "{ 0 = nan }", "{ 2147483648 = 1 }", "{}"],
    );
    let trace = pick(&["\"traces/day.csv\"", "\"\"", "\".\""]);
    section(
        w,
        "[[jobs]]",
        vec![
            seldom(
                if w.edges { 0.5 } else { 0.0 },
                "id",
                choice(w, &["\"a\"", "\"b\""], &["\"job-0\"", "\"job-1\"", "\"\""]),
            ),
            key("priority", choice(w, &["0", "100", "-1000", "1000"], &["1001", "-32769"])),
            key("max_task_retry_count", choice(w, &["0", "3", "-1"], &["-2", "2147483648"])),
            seldom(0.3, "max_wall_clock_time", duration(w)),
            seldom(0.2, "command_line", command_line(w)),
            seldom(0.2, "manager", job_task(w)),
            // A release task needs a preparation task.
            prop_oneof![
                2 => Just(None),
                1 => job_task(w).prop_map(|p| Some(format!("preparation = {p}"))),
                1 => (job_task(w), job_task(w)).prop_map(|(p, r)| Some(format!("preparation = {p}\nrelease = {r}"))),
            ]
            .boxed(),
            seldom(if w.edges { 0.1 } else { 0.0 }, "release", job_task(w)),
            // Not both, unless `w` strays.
            prop_oneof![
                2 => Just(None),
                1 => probability(w).prop_map(|p| Some(format!("failure_probability = {p}"))),
                1 => exit_codes.clone().prop_map(|e| Some(format!("exit_codes = {e}"))),
            ]
            .boxed(),
            seldom(if w.edges { 0.1 } else { 0.0 }, "exit_codes", exit_codes),
            seldom(0.3, "retention", duration(w)),
            seldom(0.3, "cpu_percent", choice(w, &["0", "50", "100"], &["101"])),
            seldom(0.3, "memory_mib", choice(w, &["0", "1024"], &["9223372036854775807"])),
            needed(w, "tasks", array(task, 4)),
            seldom(1.0 - w.required, "trace", trace),
            key("generate", array(generator, 3)),
        ],
    )
}

/// One `key = value` line a scenario file might have, for insertion into
/// the bundled ones.
pub(super) fn grammar_line() -> BoxedStrategy<String> {
    let w = Wild::LEVELS[2];
    prop_oneof![
        key("duration", scenario_duration(w)),
        key("start", wild()),
        key("target_dedicated", count(w)),
        key("interval", duration(w)),
        key("formula", formula(w)),
        key("preemption", inline_table(w, vec![needed(w, "rate_per_node_hour", probability(w))])),
        key("tasks", array(inline_table(w, vec![needed(w, "duration", dist(w)), key("count", count(w))]), 3)),
        key("drop_out", probability(w)),
    ]
    .prop_map(Option::unwrap_or_default)
    .boxed()
}

/// A whole scenario document from the schema's keys, at one of the
/// [`Wild::LEVELS`], with `[pool.autoscale]` or fixed targets.
pub(super) fn grammar_scenario() -> BoxedStrategy<String> {
    (prop::sample::select(&Wild::LEVELS[..]), prop::bool::weighted(0.6))
        .prop_flat_map(|(w, autoscaled)| scenario_at(w, autoscaled))
        .boxed()
}

fn scenario_at(w: Wild, autoscaled: bool) -> BoxedStrategy<String> {
    let start = choice(
        w,
        &[
            "\"2024-03-04T00:00:00Z\"",
            "\"2024-01-01T00:00:00Z\"",
            "\"9999-12-30T00:00:00Z\"",
            "\"0001-01-01T00:00:00Z\"",
        ],
        &["\"9999-12-31T00:00:00Z\"", "\"0000-01-01T00:00:00Z\""],
    );
    let top = vec![
        key("name", choice(w, &["\"fuzz\"", "\"\""], &[])),
        key("description", pick(&["\"made by the fuzzer\""])),
        key("start", start),
        needed(w, "duration", scenario_duration(w)),
        key("seed", choice(w, &["0", "1", "7"], &["-1", "18446744073709551615"])),
        unknown(w),
    ]
    .prop_map(|e| e.into_iter().flatten().collect::<Vec<_>>().join("\n"));
    let account = section(
        w,
        "[account]",
        vec![
            key("dedicated_cores", choice(w, &["100", "40", "0", "4"], &["-1", "9223372036854775807"])),
            key("low_priority_cores", choice(w, &["100", "0", "10"], &["-1"])),
            key("active_jobs", choice(w, &["100", "1", "0"], &["-1"])),
            seldom(0.2, "pools", choice(w, &["100", "1"], &["0"])),
        ],
    );
    let metrics = section(
        w,
        "[metrics]",
        vec![
            key("visibility_delay", duration(w)),
            key("drop_out", choice(w, &["0.0", "0.1", "0.5", "0.99"], &["1", "1.0", "-0.1", "nan"])),
            key("history", duration(w)),
        ],
    );
    let autoscale = if autoscaled { autoscale(w).prop_map(Some).boxed() } else { Just(None).boxed() };
    (
        top,
        prop::option::of(account),
        maybe(w.required, pool(w, autoscaled)),
        autoscale,
        prop::option::of(metrics),
        prop::collection::vec(job(w), 0..4),
    )
        .prop_map(|(top, account, pool, autoscale, metrics, jobs)| {
            let mut parts = vec![top];
            parts.extend(account);
            parts.extend(pool);
            parts.extend(autoscale);
            parts.extend(metrics);
            parts.extend(jobs);
            parts.join("\n\n") + "\n"
        })
        .boxed()
}
