//! Lints about what a formula finally assigns to the pool: a target with no
//! upper bound, one that can go negative, one that rests on a single sample,
//! an alias assigned next to its full name, `requeue`.

use std::collections::HashMap;

use super::{Expr, ExprKind, Lint, Span, Statement, walk};
use crate::formula::ast::{BinaryOp, UnaryOp};
use crate::formula::diag::Severity;

/// The targets a formula may assign, with their aliases.
const TARGETS: [(&str, &str); 2] =
    [("$TargetDedicatedNodes", "$TargetDedicated"), ("$TargetLowPriorityNodes", "$TargetLowPriority")];

/// What the linter knows about a value: enough to tell whether it has a cap,
/// whether it can be negative, and which samples it rests on.
#[derive(Debug, Clone, Default)]
struct Facts {
    /// It cannot grow without limit (a constant, or a `min` with a capped argument).
    bounded: bool,
    /// It may be below zero.
    negative: bool,
    /// The `GetSample` calls it depends on, each with whether it is `GetSample(1)`.
    samples: Vec<(Span, bool)>,
}

pub(super) fn lint(statements: &[Statement], lints: &mut Vec<Lint>) {
    let mut env: HashMap<&str, Facts> = HashMap::new();
    // The last assignment of each target: (target span, value span, facts).
    let mut last: HashMap<&str, (Span, &Expr, Facts)> = HashMap::new();
    let mut assigned: HashMap<&str, Span> = HashMap::new();
    for statement in statements {
        let Statement::Assign { target, value } = statement else {
            continue;
        };
        let facts = facts(value, &env);
        assigned.entry(&target.text).or_insert(target.span);
        if TARGETS.iter().any(|(full, alias)| *full == target.text || *alias == target.text) {
            last.insert(&target.text, (target.span, value, facts.clone()));
        }
        if target.text == "$NodeDeallocationOption" {
            lints.extend(requeue_deallocation(value));
        }
        env.insert(&target.text, facts);
    }
    for (full, alias) in TARGETS {
        if let (Some(_), Some(alias_span)) = (assigned.get(full), assigned.get(alias)) {
            lints.push(
                Lint::warning(
                    "alias-and-full-name",
                    *alias_span,
                    format!("both `{alias}` and `{full}` are assigned"),
                    format!("ignored: the service uses `{full}` when both are set"),
                )
                .help(format!("assign only `{full}`")),
            );
        }
        // The value that reaches the pool: the full name's if assigned, else the alias's.
        if let Some((_, value, facts)) = last.get(full).or_else(|| last.get(alias)) {
            final_target(full, value, facts, lints);
        }
    }
}

/// `$NodeDeallocationOption = requeue`, which loses long tasks' progress.
fn requeue_deallocation(value: &Expr) -> Option<Lint> {
    let ExprKind::Name(n) = &value.kind else {
        return None;
    };
    if !n.text.eq_ignore_ascii_case("requeue") {
        return None;
    }
    let mut l = Lint::warning(
        "requeue-deallocation",
        value.span,
        "removed nodes requeue their running tasks",
        "long tasks lose their progress and start over",
    )
    .help("with long tasks prefer `taskcompletion`, which lets tasks finish before a node is removed")
    .fix(value.span, "taskcompletion");
    l.severity = Severity::Info;
    Some(l)
}

/// The lints of the value that finally reaches target `text`: no upper
/// bound, possibly negative, resting on single samples alone.
fn final_target(text: &str, value: &Expr, facts: &Facts, lints: &mut Vec<Lint>) {
    if !facts.bounded {
        lints.push(
            Lint::warning(
                "unbounded-target",
                value.span,
                format!("`{text}` has no upper bound"),
                "a burst of work (or a bad sample) can ask for any number of nodes",
            )
            .help("cap it: `min(…, 25)` with your pool's largest sensible size"),
        );
    }
    if facts.negative {
        lints.push(
            Lint::warning(
                "negative-target",
                value.span,
                format!("`{text}` can be negative"),
                "a negative target fails the evaluation",
            )
            .help("floor it at zero: `max(0, …)`"),
        );
    }
    if !facts.samples.is_empty()
        && facts.samples.iter().all(|&(_, single)| single)
        && let Some(&(span, _)) = facts.samples.first()
    {
        lints.push(
            Lint::warning(
                "single-sample-target",
                span,
                format!("`{text}` rests on `GetSample(1)` alone"),
                "one sample of unknown age",
            )
            .help("average a window instead: `avg($M.GetSample(TimeInterval_Minute * 5, 70))`"),
        );
    }
}

/// The facts of `expr`, reading variables' facts from `env`.
fn facts(expr: &Expr, env: &HashMap<&str, Facts>) -> Facts {
    // Variables contribute the samples behind them, not themselves.
    let mut all = Vec::new();
    for e in walk(expr) {
        match &e.kind {
            ExprKind::Method { method, args, .. } if method.text == "GetSample" => {
                let single = matches!(args.as_slice(), [Expr { kind: ExprKind::Number(n), .. }] if *n == 1.0);
                all.push((e.span, single));
            }
            ExprKind::Name(n) => {
                if let Some(f) = env.get(n.text.as_str()) {
                    all.extend(f.samples.iter().copied());
                }
            }
            _ => {}
        }
    }
    Facts { bounded: bounded(expr, env), negative: negative(expr, env), samples: all }
}

/// Whether `expr` has an upper bound that does not depend on the workload.
fn bounded(expr: &Expr, env: &HashMap<&str, Facts>) -> bool {
    match &expr.kind {
        ExprKind::Number(_) => true,
        ExprKind::Name(n) => env.get(n.text.as_str()).map_or(n.text == "$TaskSlotsPerNode", |f| f.bounded),
        ExprKind::Call { function, args } => match function.text.as_str() {
            "min" => args.iter().any(|a| bounded(a, env)),
            "max" | "avg" | "ceil" | "floor" | "round" => args.iter().all(|a| bounded(a, env)),
            _ => false,
        },
        ExprKind::Binary { op, lhs, rhs } => match op {
            BinaryOp::Add | BinaryOp::Mul => bounded(lhs, env) && bounded(rhs, env),
            BinaryOp::Sub => bounded(lhs, env),
            BinaryOp::Div => bounded(lhs, env) && matches!(rhs.kind, ExprKind::Number(v) if v >= 1.0),
            // Comparisons and logic give 0 or 1.
            _ => true,
        },
        ExprKind::Unary { .. } => true,
        ExprKind::Ternary { then, otherwise, .. } => bounded(then, env) && bounded(otherwise, env),
        _ => false,
    }
}

/// Whether `expr` may be below zero.
fn negative(expr: &Expr, env: &HashMap<&str, Facts>) -> bool {
    match &expr.kind {
        ExprKind::Number(v) => *v < 0.0,
        ExprKind::Name(n) => env.get(n.text.as_str()).is_some_and(|f| f.negative),
        ExprKind::Call { function, args } => match function.text.as_str() {
            "min" | "avg" | "sum" | "ceil" | "floor" | "round" | "percentile" | "val" => {
                args.iter().any(|a| negative(a, env))
            }
            "max" => args.iter().all(|a| negative(a, env)),
            "lg" | "ln" | "log" => true,
            _ => false,
        },
        ExprKind::Binary { op, lhs, rhs } => match op {
            BinaryOp::Sub => true,
            BinaryOp::Add | BinaryOp::Mul | BinaryOp::Div => negative(lhs, env) || negative(rhs, env),
            _ => false,
        },
        ExprKind::Unary { op: UnaryOp::Neg, .. } => true,
        ExprKind::Ternary { then, otherwise, .. } => negative(then, env) || negative(otherwise, env),
        _ => false,
    }
}
