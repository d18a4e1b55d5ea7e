//! Property tests for scenario loading: no scenario text makes
//! `Scenario::from_toml` panic, every refusal names the file, and a
//! scenario it accepts runs — its first few thousand events, checking the
//! engine's invariants as it goes — without a panic.
//!
//! Two sources of scenario text: (a) the bundled `simulations/*.toml`
//! (each also with its `formula_file` inlined, so that most mutants get
//! past the formula) with lines deleted, duplicated or swapped, values
//! replaced by extreme or wrongly typed ones, unknown keys inserted and
//! the text cut short; (b) documents built from the schema's keys, each
//! key present or not, with mostly plausible and sometimes extreme values.
//! Relative files resolve against an empty folder, so every file key
//! fails cleanly and no large file is ever read.
//!
//! Each property runs 200 cases by default (the module takes a few
//! seconds in debug); `PROPTEST_CASES` overrides that, per property. A run
//! of at least 1 000 000 inputs (500 000 per property):
//! `PROPTEST_CASES=500000 cargo test --release --test it fuzz_scenario -- --test-threads=2`.
//! Any panic found becomes a plain regression test at the end of this file.

mod grammar;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use autoscale_sim::scenario::{Generator, MAX_TASK_MEMORY_MIB, Scenario, Source};
use autoscale_sim::sim::Simulation;
use autoscale_sim::time::SimDuration;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support;
use grammar::{grammar_line, grammar_scenario};

/// What errors must name.
const SHOWN: &str = "fuzzed-scenario.toml";

/// Scenarios longer than this are loaded but not simulated.
const MAX_SIMULATED: SimDuration = SimDuration::from_hours(24);
/// Nor are scenarios expecting more tasks than this, or with a list entry,
/// a burst or a period of more tasks at once.
const MAX_SIMULATED_TASKS: f64 = 2000.0;
/// Events simulated per scenario, at most.
const MAX_EVENTS: u64 = 10_000;
/// The invariants are checked every this many events, and at the last.
const CHECK_EVERY: u64 = 50;

/// `PROPTEST_CASES`, or 200.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    // A panic found is turned into a regression test by hand, so proptest
    // keeps no files of its own.
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// The folder relative paths start from: empty, so `formula_file`,
/// `trace` and `preemption.trace` fail with an error naming the key.
static EMPTY_BASE: LazyLock<PathBuf> = LazyLock::new(|| support::scratch_dir("fuzz-scenario-empty-base"));

/// The bundled scenarios, each as written and, when it has a
/// `formula_file`, with the formula inlined.
static CORPUS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("simulations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("simulations/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut corpus = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a bundled scenario");
        let inlined: Vec<String> = text
            .lines()
            .map(|line| match line.strip_prefix("formula_file = \"").and_then(|rest| rest.split('"').next()) {
                Some(path) => {
                    let formula = std::fs::read_to_string(folder.join(path)).expect("a bundled formula");
                    format!("formula = '''\n{formula}'''")
                }
                None => line.to_owned(),
            })
            .collect();
        let inlined = inlined.join("\n");
        // Short enough to simulate, too.
        let short: Vec<String> = inlined
            .lines()
            .map(
                |line| if line.starts_with("duration = \"") { "duration = \"6h\"".to_owned() } else { line.to_owned() },
            )
            .collect();
        let short = short.join("\n");
        if short != inlined {
            corpus.push(short);
        }
        if inlined != text.trim_end_matches('\n') {
            corpus.push(inlined);
        }
        corpus.push(text);
    }
    assert!(corpus.len() >= 10, "the bundled scenarios are in simulations/");
    corpus
});

/// Loads `text`; an error must name the file, an accepted scenario that
/// is small enough must simulate without a panic or a broken invariant.
fn exercise(text: &str) -> Result<(), TestCaseError> {
    match Scenario::from_toml(text, SHOWN, "fuzzed", &EMPTY_BASE) {
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.contains(SHOWN), "the error does not name the file: {message}");
            Ok(())
        }
        Ok(scenario) => {
            if small_enough(&scenario) {
                simulate(scenario).map_err(TestCaseError::fail)?;
            }
            Ok(())
        }
    }
}

/// Short, and with few tasks expected and none submitted in bulk.
fn small_enough(scenario: &Scenario) -> bool {
    let sources = || scenario.jobs.iter().flat_map(|j| &j.sources);
    let expected: f64 = sources().map(|s| s.expected_tasks(scenario.duration).0).sum();
    let bulk = sources().any(|s| match s {
        Source::List(entries) => entries.iter().any(|e| f64::from(e.count) > MAX_SIMULATED_TASKS),
        Source::Generate(Generator::Bursty { size: n, .. } | Generator::Periodic { count: n, .. }) => {
            f64::from(*n) > MAX_SIMULATED_TASKS
        }
        _ => false,
    });
    scenario.duration <= MAX_SIMULATED && expected <= MAX_SIMULATED_TASKS && !bulk
}

/// Delivers up to [`MAX_EVENTS`] events, checking the invariants every
/// [`CHECK_EVERY`], then closes the books.
fn simulate(scenario: Scenario) -> Result<(), String> {
    let mut sim = Simulation::new(scenario, None);
    let mut events = 0;
    while events < MAX_EVENTS && sim.step() {
        events += 1;
        if events % CHECK_EVERY == 0 {
            sim.check_invariants().map_err(|e| format!("after {events} events, at {}: {e}", sim.now()))?;
        }
    }
    sim.check_invariants().map_err(|e| format!("after {events} events, at {}: {e}", sim.now()))?;
    let output = sim.finish();
    if output.events != events {
        return Err(format!("{} events delivered, {events} stepped", output.events));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Values.

/// One of `options`.
fn pick(options: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::sample::select(options).prop_map(str::to_owned).boxed()
}

/// `text` as a TOML basic string (JSON's escapes are TOML's).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// Values no key expects, or at the edges of what keys accept: numbers
/// of every size and sign, floats TOML spells specially, durations of
/// every unit and size, dates near year 0 and 9999, empty and very long
/// strings, the wrong structure. Never an absolute path.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "-1e308",
    "1e-308",
    "5e-324",
    "0.0",
    "-0.0",
    "0.5",
    "1.5",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "true",
    "false",
    "\"\"",
    "\" \"",
    "\"NaN\"",
    "\"nan\"",
    "\"inf\"",
    "\"-1\"",
    "\"0\"",
    "\"1e308\"",
    "\"0s\"",
    "\"0ms\"",
    "\"1ms\"",
    "\"1.5h\"",
    "\"-5m\"",
    "\"1h 30m\"",
    "\"100000d\"",
    "\"366d\"",
    "\"367d\"",
    "\"8784h\"",
    "\"1y\"",
    "\"10000y\"",
    "\"584942417y\"",
    "\"18446744073709551615ms\"",
    "\"18446744073709551616ms\"",
    "\"99999999999999999999999d\"",
    "\"1e308s\"",
    "\"1 fortnight\"",
    "\"0001-01-01T00:00:00Z\"",
    "\"0000-01-01T00:00:00Z\"",
    "\"0000-12-31T23:59:59Z\"",
    "\"-0001-01-01T00:00:00Z\"",
    "\"9999-12-31T23:59:59Z\"",
    "\"9999-12-31T23:59:59.999Z\"",
    "\"9999-12-31T00:00:00Z\"",
    "\"9999-12-30T00:00:00Z\"",
    "\"10000-01-01T00:00:00Z\"",
    "\"2024-02-30T00:00:00Z\"",
    "\"2024-13-01T00:00:00Z\"",
    "\"2024-03-04T25:00:00Z\"",
    "\"2024-03-04\"",
    "\"Thu, 13 Oct 2016 19:18:47 GMT\"",
    "1979-05-27T07:32:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "07:32:00",
    "[]",
    "[1, 2]",
    "[\"\"]",
    "[[]]",
    "{}",
    "{ bogus = 1 }",
    "{ dist = \"uniform\", min = \"5m\", max = \"1m\" }",
    "{ dist = \"uniform\", min = \"0s\", max = \"18446744073709551615ms\" }",
    "{ dist = \"exponential\", mean = \"0s\" }",
    "{ dist = \"exponential\", mean = \"1ms\" }",
    "{ dist = \"normal\", mean = \"0s\", std_dev = \"100000d\" }",
    "{ dist = \"lognormal\", median = \"100000d\", sigma = 1e308 }",
    "{ dist = \"lognormal\", median = \"1ms\", sigma = nan }",
    "{ dist = \"fixed\", value = \"100000d\" }",
    "{ dist = \"weibull\", k = 1 }",
    "\"requeue\"",
    "\"taskcompletion\"",
    "\"retaineddata\"",
    "\"terminate\"",
    "\"Requeue\"",
    "\"pack\"",
    "\"gallery\"",
    "\"reboot\"",
    "\"poisson\"",
    "\"2..10\"",
    "\"10..2\"",
    "\"..\"",
    "\".\"",
    "\"..\"",
    "\"traces/day.csv\"",
    "\"formulas/pending-tasks.formula\"",
    "\"é\"",
    "\"\\u0000\"",
    "\"\\n\"",
    "'''$TargetDedicatedNodes = 1e308;'''",
    "'''$TargetDedicatedNodes = -1; $TargetLowPriorityNodes = 0/0;'''",
];

/// A value no key expects, or one at the edge: [`EXTREMES`], any
/// integer or float, a long string, a duration or a date at random.
fn wild() -> BoxedStrategy<String> {
    let unit = prop::sample::select(&["", "ms", "s", "m", "h", "d", "w", "y", " days", "us", "ns"][..]);
    prop_oneof![
        8 => pick(EXTREMES),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(float),
        1 => (any::<u64>(), unit.clone()).prop_map(|(n, u)| format!("\"{n}{u}\"")),
        1 => (0u64..100_000, unit).prop_map(|(n, u)| format!("\"{n}{u}\"")),
        1 => (prop::sample::select(&[0u32, 1, 2, 1969, 1970, 9998, 9999, 10000][..]), 0u32..14, 0u32..33, 0u32..25)
            .prop_map(|(y, m, d, h)| format!("\"{y:04}-{m:02}-{d:02}T{h:02}:59:59Z\"")),
        1 => (prop::sample::select(&["x", "é", "\\\"", "\\u0000"][..]), 0usize..20_000)
            .prop_map(|(c, n)| format!("\"{}\"", c.repeat(n))),
    ]
    .boxed()
}

/// `x` as TOML spells it.
fn float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

// ---------------------------------------------------------------------------
// (a) Mutations of the bundled scenarios.

/// One change to a scenario's lines; indices are taken modulo the count.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Duplicate(usize),
    Swap(usize, usize),
    /// The `slot`th value (after an `=`) on the line becomes `value`.
    Replace {
        line: usize,
        slot: usize,
        value: String,
    },
    /// The `slot`th value on the line becomes another of its kind (a
    /// duration, a date, an integer, a float, a boolean, a keyword), the
    /// `pick`th of a short list: mostly still valid.
    Tweak {
        line: usize,
        slot: usize,
        pick: usize,
    },
    /// A new line before `line`.
    Insert {
        line: usize,
        text: String,
    },
    /// `key = value` at the start of the line's first inline table.
    IntoTable {
        line: usize,
        key: String,
    },
    /// The text cut at this byte (or the last character boundary before).
    Truncate(usize),
}

fn mutation() -> BoxedStrategy<Mutation> {
    let index = 0usize..1000;
    let inserted = prop_oneof![
        3 => (pick(&["bogus", "Duration", "durations", "pool_id", "jobs", "pool", "seed", "start", "max_events"]), wild())
            .prop_map(|(k, v)| format!("{k} = {v}")),
        2 => grammar_line(),
        1 => pick(&["[pool]", "[pool.autoscale]", "[[jobs]]", "[account]", "[metrics]", "[bogus]", "[[jobs.generate]]", "[[jobs.tasks]]", "[pool.vm]", "[[pool.node_actions]]"]),
    ];
    prop_oneof![
        3 => index.clone().prop_map(Mutation::Delete),
        2 => index.clone().prop_map(Mutation::Duplicate),
        2 => (index.clone(), index.clone()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        6 => (index.clone(), 0usize..8, wild()).prop_map(|(line, slot, value)| Mutation::Replace { line, slot, value }),
        6 => (index.clone(), 0usize..8, 0usize..100).prop_map(|(line, slot, pick)| Mutation::Tweak { line, slot, pick }),
        3 => (index.clone(), inserted).prop_map(|(line, text)| Mutation::Insert { line, text }),
        1 => (index.clone(), pick(&["bogus", "dist", "kind", "min", "count", "cores"]))
            .prop_map(|(line, key)| Mutation::IntoTable { line, key }),
        1 => (0usize..4000).prop_map(Mutation::Truncate),
    ]
    .boxed()
}

/// Where values start and end on a line: after each `=` outside strings,
/// up to the end of a string, a balanced bracket or a plain token.
fn value_slots(line: &str) -> Vec<(usize, usize)> {
    let bytes = line.as_bytes();
    let mut slots = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'=' if !in_string => {
                let mut start = i + 1;
                while start < bytes.len() && bytes[start] == b' ' {
                    start += 1;
                }
                let end = value_end(bytes, start);
                if end > start {
                    slots.push((start, end));
                }
            }
            _ => {}
        }
        i += 1;
    }
    slots
}

/// The end of the value starting at `start`.
fn value_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    in_string = false;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                b',' | b'}' | b']' | b'#' if depth == 0 => return trimmed(bytes, start, i),
                _ => {}
            }
        }
        i += 1;
    }
    trimmed(bytes, start, bytes.len().min(i))
}

fn trimmed(bytes: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && bytes[end - 1] == b' ' {
        end -= 1;
    }
    end
}

/// Another value of the kind of `old`: the `pick`th (modulo) of a short list.
fn tweaked(old: &str, pick: usize) -> String {
    let options: &[&str] = if old.starts_with('"') && old.contains('T') && old.contains('-') {
        &[
            "\"2024-03-04T00:00:00Z\"",
            "\"0001-01-01T00:00:00Z\"",
            "\"9999-12-30T00:00:00Z\"",
            "\"9999-12-31T23:59:58Z\"",
        ]
    } else if old.starts_with("\"") && old[1..].starts_with(|c: char| c.is_ascii_digit()) {
        &[
            "\"0s\"",
            "\"1ms\"",
            "\"1s\"",
            "\"30s\"",
            "\"1m\"",
            "\"5m\"",
            "\"15m\"",
            "\"1h\"",
            "\"6h\"",
            "\"1d\"",
            "\"1h 30m\"",
        ]
    } else if old.starts_with('"') {
        &[
            "\"a\"",
            "\"requeue\"",
            "\"terminate\"",
            "\"taskcompletion\"",
            "\"retaineddata\"",
            "\"pack\"",
            "\"gallery\"",
            "\"exponential\"",
            "\"uniform\"",
            "\"poisson\"",
            "\"periodic\"",
            "\"bursty\"",
            "\"reboot\"",
            "\"fail\"",
        ]
    } else if old == "true" || old == "false" {
        &["true", "false"]
    } else if old.contains('.') || old.contains('e') {
        &["0.0", "0.01", "0.1", "0.5", "0.99", "1.0", "2.5", "150.0"]
    } else if old.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        &["0", "1", "2", "3", "4", "5", "10", "25", "100", "1000", "-1", "-1000"]
    } else {
        return old.to_owned();
    };
    options[pick % options.len()].to_owned()
}

/// `text` with `mutations` applied in order.
fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for m in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match m {
            Mutation::Delete(i) => {
                lines.remove(i % n);
            }
            Mutation::Duplicate(i) => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::Swap(a, b) => lines.swap(a % n, b % n),
            Mutation::Replace { line, slot, value } => {
                let line = &mut lines[line % n];
                let slots = value_slots(line);
                if slots.is_empty() {
                    *line = format!("bogus = {value}");
                } else {
                    let (start, end) = slots[slot % slots.len()];
                    line.replace_range(start..end, value);
                }
            }
            Mutation::Tweak { line, slot, pick } => {
                let line = &mut lines[line % n];
                let slots = value_slots(line);
                if !slots.is_empty() {
                    let (start, end) = slots[slot % slots.len()];
                    let value = tweaked(&line[start..end], *pick);
                    line.replace_range(start..end, &value);
                }
            }
            Mutation::Insert { line, text } => lines.insert(line % (n + 1), text.clone()),
            Mutation::IntoTable { line, key } => {
                let line = &mut lines[line % n];
                match line.find('{') {
                    Some(at) => line.insert_str(at + 1, &format!(" {key} = 1,")),
                    None => line.push_str(&format!(" {key} = 1")),
                }
            }
            Mutation::Truncate(at) => {
                let mut joined = lines.join("\n");
                let mut at = *at % (joined.len() + 1);
                while !joined.is_char_boundary(at) {
                    at -= 1;
                }
                joined.truncate(at);
                lines = joined.lines().map(str::to_owned).collect();
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A bundled scenario with one to four mutations.
fn mutated_scenario() -> BoxedStrategy<String> {
    let mutations =
        prop_oneof![3 => prop::collection::vec(mutation(), 1..2), 1 => prop::collection::vec(mutation(), 2..6)];
    (0..CORPUS.len(), mutations).prop_map(|(i, mutations)| mutate(&CORPUS[i], &mutations)).boxed()
}

// ---------------------------------------------------------------------------
// Properties.

/// Runs `exercise` on the cases of the strategy `strategy` makes on a thread with the main
/// thread's 8 MiB stack, as `autoscale-sim run` loads scenarios (a test
/// thread has 2 MiB).
fn check_property(strategy: fn() -> BoxedStrategy<String>) {
    let run = move || {
        let mut runner = TestRunner::new(config());
        runner.run(&strategy(), |text| exercise(&text)).map_err(|e| e.to_string())
    };
    let outcome = std::thread::Builder::new().stack_size(8 << 20).spawn(run).expect("a thread").join();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => panic!("{failure}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// (a) The bundled scenarios, mutated.
#[test]
fn fuzz_scenario_mutations() {
    check_property(mutated_scenario);
}

/// (b) Scenarios built from the schema's keys.
#[test]
fn fuzz_scenario_grammar() {
    check_property(grammar_scenario);
}

/// The corpus loads as it is (inlined formulas) or fails only at the
/// formula file (in the empty folder), and the grammar's documents are
/// not all refused: the properties reach the simulator.
#[test]
fn fuzz_scenario_inputs_reach_the_simulator() {
    for text in CORPUS.iter() {
        match Scenario::from_toml(text, SHOWN, "fuzzed", &EMPTY_BASE) {
            Ok(_) => {}
            Err(e) => assert!(e.to_string().contains("formula_file: cannot read"), "{e}\n{text}"),
        }
    }
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = grammar_scenario();
    let mut simulated = 0;
    for _ in 0..200 {
        let text = strategy.new_tree(&mut runner).expect("a document").current();
        if let Ok(scenario) = Scenario::from_toml(&text, SHOWN, "fuzzed", &EMPTY_BASE) {
            simulated += usize::from(small_enough(&scenario));
        }
    }
    assert!(simulated >= 10, "only {simulated} of 200 generated scenarios load and are simulated");
}

// ---------------------------------------------------------------------------
// Regressions: inputs that once crashed the program.

/// Found by `fuzz_scenario_mutations` (a line of the inlined formula
/// replaced by a long string), minimised: a formula of 6 KB, within the
/// 8 192-byte limit, whose string literal holds 3 042 `é`. In a debug build
/// the lexer logos generates (`src/formula/lexer.rs`, the `Str` regex; the
/// `//` comment skip does the same) recurses once per byte of each
/// non-ASCII character, and loading the scenario overflows a 2 MiB stack:
/// a test thread's, or any worker thread's. The process aborts. (The main
/// thread's 8 MiB held the worst case, about 4 000 two-byte characters.)
/// The lexer now scans strings and comments by hand.
#[test]
fn non_ascii_formula_text_fits_a_test_threads_stack() {
    let long = "é".repeat(3042);
    let formulas =
        [format!("$x = \"{long}\";"), format!("// {long}\n$TargetDedicatedNodes = 1;"), format!("bogus = \"{long}\"")];
    for formula in formulas {
        let text = format!(
            "duration = \"6h\"\n[pool]\nvm = {{ cores = 2, dedicated_price = 0.096 }}\n\
             [pool.autoscale]\nformula = '''\n{formula}\n'''\n"
        );
        let load =
            move || Scenario::from_toml(&text, SHOWN, "fuzzed", &EMPTY_BASE).map(|_| ()).map_err(|e| e.to_string());
        let outcome = std::thread::Builder::new().stack_size(2 << 20).spawn(load).expect("a thread").join();
        assert!(outcome.is_ok(), "loading panicked");
    }
}

/// Found by `fuzz_scenario_grammar` with `PROPTEST_CASES=500000`: a job's
/// `memory_mib` near 2^63 made the pool's memory sums overflow (three such
/// tasks running at once pass `u64::MAX`), so `$MemoryBytes` went wrong
/// and the invariant check failed. The loader now refuses more than
/// `MAX_TASK_MEMORY_MIB` per task, naming the key, and the most it
/// accepts keeps the sums right.
#[test]
fn task_memory_is_bounded_so_the_pool_sums_cannot_overflow() {
    let text = |mib: u64| {
        format!(
            "duration = \"30m\"\n\n[pool]\nvm = {{ cores = 1, dedicated_price = 0.096 }}\ntarget_low_priority = 4\n\n\
             [[jobs]]\nmemory_mib = {mib}\ntasks = [{{ duration = \"5m\", count = 10 }}]\n"
        )
    };
    let refused = Scenario::from_toml(&text(i64::MAX as u64), SHOWN, "fuzzed", &EMPTY_BASE);
    let error = refused.expect_err("a task of 2^63 - 1 MiB is refused").to_string();
    assert!(error.contains("jobs[0].memory_mib"), "{error}");
    let largest = Scenario::from_toml(&text(MAX_TASK_MEMORY_MIB), SHOWN, "fuzzed", &EMPTY_BASE);
    simulate(largest.unwrap_or_else(|e| panic!("{e}"))).unwrap_or_else(|e| panic!("{e}"));
}

/// Found by `fuzz_scenario_mutations`: a VM of 2^30 cores or more made
/// the most task slots a node may have (4 per core, at most 256) overflow
/// while it was computed, a panic in a debug build. The product now
/// saturates, so such a VM allows 256 slots like any VM of 64 cores or
/// more.
#[test]
fn a_vm_of_more_than_a_billion_cores_allows_256_slots_without_overflowing() {
    let text = |slots: u32| {
        format!(
            "duration = \"1h\"\n[pool]\nvm = {{ cores = 4294967295, dedicated_price = 0.1 }}\ntask_slots_per_node = \
             {slots}\n"
        )
    };
    assert!(Scenario::from_toml(&text(256), SHOWN, "fuzzed", &EMPTY_BASE).is_ok());
    let error = Scenario::from_toml(&text(257), SHOWN, "fuzzed", &EMPTY_BASE).expect_err("257 slots").to_string();
    assert!(error.contains("a 4294967295-core VM allows 1 to 256"), "{error}");
}
