//! Formula evaluation: the JIT against the interpreter, the same formula
//! written by hand in Rust, and the `evalexpr` crate on the arithmetic part,
//! on three formulas; plus the cost of compiling the largest one.
//!
//! What each variant measures, per iteration:
//! - `jit`, `interpreter`: `Formula::evaluate` — run the formula against a
//!   context and return the [`Outcome`]: both targets, the deallocation
//!   option and every user variable's value by name (what the results
//!   string prints, not the string itself). The formula is compiled once.
//! - `hand_written`: the same computation written in Rust, returning the
//!   same `Outcome` (asserted equal to the JIT's), so that it does the same
//!   observable work; its variable names are made once, as the engines
//!   make theirs when compiling.
//! - `evalexpr`: the arithmetic part in evalexpr's syntax, with the sample
//!   aggregates given as inputs, in a fresh context (which then holds every
//!   variable, as the outcome does).
//!
//! Run with `cargo bench --bench formula`; compare the medians within one
//! run (they share the machine's state).

use std::hint::black_box;
use std::rc::Rc;

use autoscale_runtime::aggregate;
use autoscale_runtime::samples::{History, Window};
use autoscale_runtime::{DeallocationOption, Interval, Timestamp, Value};
use autoscale_sim::formula::builtins::Metric;
use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::results::{Outcome, Results};
use autoscale_sim::formula::{Engine, Formula};
use evalexpr::{ContextWithMutableVariables, HashMapContext, Node, Value as EValue};

fn main() {
    divan::main();
}

const PENDING: &str = include_str!("../simulations/formulas/pending-tasks.formula");
const CPU: &str = include_str!("../simulations/formulas/cpu.formula");

/// A pool with four hours of samples every 30 s on the metrics read.
fn context() -> EvalContext {
    let now = Timestamp::parse("2024-03-05T10:30:00Z").unwrap();
    let mut ctx = EvalContext::new(now);
    ctx.pool.current_dedicated = 12.0;
    ctx.pool.target_dedicated = 12.0;
    for (metric, base) in [(Metric::PendingTasks, 40.0), (Metric::CPUPercent, 60.0)] {
        let samples = (0..480)
            .map(|k| {
                let age = Interval::from_seconds(15.0 + 30.0 * f64::from(k)).unwrap();
                (now.sub_interval(age).unwrap(), base + f64::from(k % 17))
            })
            .collect();
        ctx.set_history(metric, History::new(samples));
    }
    ctx
}

/// Statement count of the generated formula.
const STATEMENTS: usize = 100;

/// Constants of statement i of the generated formula.
fn coefficients(i: usize) -> (f64, f64, f64) {
    (1.0 + (i % 5) as f64 / 10.0, 2.0 + (i % 3) as f64, (i % 7) as f64 / 4.0)
}

/// 98 statements `x{i} = x{i-1} * a - x{i-2} / b + c`, then the target.
fn generated() -> String {
    let mut s = String::from("x0 = $CurrentDedicatedNodes;\nx1 = x0 + 1;\n");
    for i in 2..STATEMENTS - 1 {
        let (a, b, c) = coefficients(i);
        s.push_str(&format!("x{i} = x{} * {a:?} - x{} / {b:?} + {c:?};\n", i - 1, i - 2));
    }
    s.push_str(&format!("$TargetDedicatedNodes = max(0, min(100, x{}));\n", STATEMENTS - 2));
    s
}

/// A hand-written formula's user variables in results-string order: the
/// index of each in the values it computes, and its name.
type Names = Vec<(usize, Rc<str>)>;

/// The [`Names`] of variables written in this order.
fn names(written: &[String]) -> Names {
    let mut names: Names = written.iter().map(|n| Rc::from(n.as_str())).enumerate().collect();
    names.sort_by(|a, b| a.1.cmp(&b.1));
    names
}

/// The outcome of an evaluation that set the dedicated target and the
/// deallocation option and left `values` in the variables `names` lists.
fn outcome(ctx: &EvalContext, target: f64, deallocation: DeallocationOption, names: &Names, values: &[f64]) -> Outcome {
    let variables = names.iter().map(|(i, name)| (name.clone(), Value::Double(values[*i]))).collect();
    let results = Results {
        target_dedicated: target,
        target_low_priority: ctx.pool.target_low_priority,
        deallocation,
        variables,
    };
    Outcome { results, stopped: false }
}

fn generated_by_hand(ctx: &EvalContext, names: &Names) -> Outcome {
    let mut x = [0.0; STATEMENTS - 1];
    x[0] = ctx.pool.current_dedicated;
    x[1] = x[0] + 1.0;
    for i in 2..STATEMENTS - 1 {
        let (a, b, c) = coefficients(i);
        x[i] = x[i - 1] * a - x[i - 2] / b + c;
    }
    let target = 0f64.max(100f64.min(x[STATEMENTS - 2]));
    outcome(ctx, target, DeallocationOption::Requeue, names, &x)
}

fn pending_by_hand(ctx: &EvalContext, names: &Names) -> Outcome {
    let h = ctx.history(Metric::PendingTasks);
    let window = Window::between(Interval::SECOND.scale(180.0).unwrap(), Interval::ZERO);
    let (starting, max): (f64, f64) = (1.0, 25.0);
    let percent = h.percent(ctx.now, window);
    let samples = if percent < 70.0 { starting } else { aggregate::avg(h.window(ctx.now, window)).unwrap() };
    let target = max.min(samples);
    outcome(ctx, target, DeallocationOption::TaskCompletion, names, &[starting, max, percent, samples])
}

fn cpu_by_hand(ctx: &EvalContext, names: &Names) -> Outcome {
    let h = ctx.history(Metric::CPUPercent);
    let minutes = |m: f64| Window::between(Interval::from_seconds(60.0 * m).unwrap(), Interval::ZERO);
    let current = ctx.pool.current_dedicated;
    let mut total =
        if aggregate::min(h.window(ctx.now, minutes(10.0))).unwrap() > 0.7 { current * 1.1 } else { current };
    if aggregate::avg(h.window(ctx.now, minutes(60.0))).unwrap() < 0.2 {
        total = current * 0.9;
    }
    outcome(ctx, 400f64.min(total), DeallocationOption::TaskCompletion, names, &[total])
}

fn formula(name: &str) -> (&'static str, String) {
    match name {
        "pending" => ("pending", PENDING.to_owned()),
        "cpu" => ("cpu", CPU.to_owned()),
        _ => ("generated", generated()),
    }
}

/// The hand-written code of formula `name`, and its variable names.
fn by_hand(name: &str) -> (fn(&EvalContext, &Names) -> Outcome, Names) {
    let written: Vec<String> = match name {
        "pending" => ["startingNumberOfVMs", "maxNumberofVMs", "pendingTaskSamplePercent", "pendingTaskSamples"]
            .map(str::to_owned)
            .to_vec(),
        "cpu" => vec!["$totalDedicatedNodes".to_owned()],
        _ => (0..STATEMENTS - 1).map(|i| format!("x{i}")).collect(),
    };
    let code: fn(&EvalContext, &Names) -> Outcome = match name {
        "pending" => pending_by_hand,
        "cpu" => cpu_by_hand,
        _ => generated_by_hand,
    };
    (code, names(&written))
}

/// The arithmetic part of each formula in evalexpr's syntax, with the
/// sample aggregates given as inputs.
fn evalexpr_program(name: &str) -> String {
    match name {
        "pending" => "samples = if(percent < 70.0, 1.0, average); target = min(25.0, samples)".to_owned(),
        "cpu" => "total = if(minimum > 0.7, current * 1.1, current); total = if(average < 0.2, current * 0.9, total); \
                  target = min(400.0, total)"
            .to_owned(),
        _ => {
            let mut s = String::from("x0 = current; x1 = x0 + 1.0; ");
            for i in 2..STATEMENTS - 1 {
                let (a, b, c) = coefficients(i);
                s.push_str(&format!("x{i} = x{} * {a:?} - x{} / {b:?} + {c:?}; ", i - 1, i - 2));
            }
            s.push_str(&format!("target = max(0.0, min(100.0, x{}))", STATEMENTS - 2));
            s
        }
    }
}

const FORMULAS: &[&str] = &["pending", "cpu", "generated"];

#[divan::bench(args = FORMULAS)]
fn jit(bencher: divan::Bencher, name: &str) {
    let (_, source) = formula(name);
    let f = Formula::compile_with(&source, Engine::Jit).unwrap();
    assert_eq!(f.engine(), Engine::Jit);
    let ctx = context();
    let (code, names) = by_hand(name);
    assert_eq!(f.evaluate(&ctx).unwrap(), code(&ctx, &names));
    bencher.bench_local(|| black_box(f.evaluate(black_box(&ctx))));
}

#[divan::bench(args = FORMULAS)]
fn interpreter(bencher: divan::Bencher, name: &str) {
    let (_, source) = formula(name);
    let f = Formula::compile_with(&source, Engine::Interp).unwrap();
    let ctx = context();
    let (code, names) = by_hand(name);
    assert_eq!(f.evaluate(&ctx).unwrap(), code(&ctx, &names));
    bencher.bench_local(|| black_box(f.evaluate(black_box(&ctx))));
}

#[divan::bench(args = FORMULAS)]
fn hand_written(bencher: divan::Bencher, name: &str) {
    let ctx = context();
    let (code, names) = by_hand(name);
    bencher.bench_local(|| black_box(code(black_box(&ctx), &names)));
}

#[divan::bench(args = FORMULAS)]
fn evalexpr(bencher: divan::Bencher, name: &str) {
    let tree: Node = evalexpr::build_operator_tree(&evalexpr_program(name)).unwrap();
    let ctx = context();
    let h = |m| ctx.history(m);
    let window = |s: f64| Window::between(Interval::from_seconds(s).unwrap(), Interval::ZERO);
    let inputs = [
        ("current", ctx.pool.current_dedicated),
        ("percent", h(Metric::PendingTasks).percent(ctx.now, window(180.0))),
        ("average", aggregate::avg(h(Metric::PendingTasks).window(ctx.now, window(180.0))).unwrap()),
        ("minimum", aggregate::min(h(Metric::CPUPercent).window(ctx.now, window(600.0))).unwrap()),
    ];
    bencher.bench_local(|| {
        let mut context = HashMapContext::new();
        for (k, v) in inputs {
            context.set_value(k.into(), EValue::Float(v)).unwrap();
        }
        black_box(tree.eval_with_context_mut(&mut context).unwrap());
        black_box(context)
    });
}

/// Parse, check and JIT-compile the 100-statement formula.
#[divan::bench]
fn compile_generated(bencher: divan::Bencher) {
    let source = generated();
    bencher.bench(|| black_box(Formula::compile(black_box(&source)).unwrap()));
}

/// Parse and check the 100-statement formula only: the part of
/// `compile_generated` that is not the JIT.
#[divan::bench]
fn compile_generated_without_jit(bencher: divan::Bencher) {
    let source = generated();
    bencher.bench(|| black_box(Formula::compile_with(black_box(&source), Engine::Interp).unwrap()));
}

#[divan::bench]
fn compile_trivial(bencher: divan::Bencher) {
    bencher.bench(|| black_box(Formula::compile(black_box("x = 1")).unwrap()));
}
