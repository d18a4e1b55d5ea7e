//! Formula evaluation: the JIT against the interpreter, the same formula
//! written by hand in Rust, and the `evalexpr` crate on the arithmetic part,
//! on three formulas; plus the cost of compiling the largest one.
//!
//! Run with `cargo bench --bench formula`; compare the medians within one
//! run (they share the machine's state).

use std::hint::black_box;

use autoscale_runtime::aggregate;
use autoscale_runtime::samples::{History, Window};
use autoscale_runtime::{Interval, Timestamp};
use autoscale_sim::formula::builtins::Metric;
use autoscale_sim::formula::context::EvalContext;
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

fn generated_by_hand(current: f64) -> f64 {
    let mut x = [0.0; STATEMENTS];
    x[0] = current;
    x[1] = x[0] + 1.0;
    for i in 2..STATEMENTS - 1 {
        let (a, b, c) = coefficients(i);
        x[i] = x[i - 1] * a - x[i - 2] / b + c;
    }
    0f64.max(100f64.min(x[STATEMENTS - 2]))
}

fn pending_by_hand(ctx: &EvalContext) -> f64 {
    let h = ctx.history(Metric::PendingTasks);
    let window = Window::between(Interval::SECOND.scale(180.0).unwrap(), Interval::ZERO);
    let percent = h.percent(ctx.now, window);
    let samples = if percent < 70.0 { 1.0 } else { aggregate::avg(h.window(ctx.now, window)).unwrap() };
    25f64.min(samples)
}

fn cpu_by_hand(ctx: &EvalContext) -> f64 {
    let h = ctx.history(Metric::CPUPercent);
    let minutes = |m: f64| Window::between(Interval::from_seconds(60.0 * m).unwrap(), Interval::ZERO);
    let current = ctx.pool.current_dedicated;
    let mut total =
        if aggregate::min(h.window(ctx.now, minutes(10.0))).unwrap() > 0.7 { current * 1.1 } else { current };
    if aggregate::avg(h.window(ctx.now, minutes(60.0))).unwrap() < 0.2 {
        total = current * 0.9;
    }
    400f64.min(total)
}

fn formula(name: &str) -> (&'static str, String) {
    match name {
        "pending" => ("pending", PENDING.to_owned()),
        "cpu" => ("cpu", CPU.to_owned()),
        _ => ("generated", generated()),
    }
}

fn by_hand(name: &str, ctx: &EvalContext) -> f64 {
    match name {
        "pending" => pending_by_hand(ctx),
        "cpu" => cpu_by_hand(ctx),
        _ => generated_by_hand(ctx.pool.current_dedicated),
    }
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
    assert_eq!(f.evaluate(&ctx).unwrap().results.target_dedicated, by_hand(name, &ctx));
    bencher.bench_local(|| black_box(f.evaluate(black_box(&ctx))));
}

#[divan::bench(args = FORMULAS)]
fn interpreter(bencher: divan::Bencher, name: &str) {
    let (_, source) = formula(name);
    let f = Formula::compile_with(&source, Engine::Interp).unwrap();
    let ctx = context();
    assert_eq!(f.evaluate(&ctx).unwrap().results.target_dedicated, by_hand(name, &ctx));
    bencher.bench_local(|| black_box(f.evaluate(black_box(&ctx))));
}

#[divan::bench(args = FORMULAS)]
fn hand_written(bencher: divan::Bencher, name: &str) {
    let ctx = context();
    bencher.bench_local(|| black_box(by_hand(name, black_box(&ctx))));
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
