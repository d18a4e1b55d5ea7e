//! Lints about reading metric samples: percentages compared with
//! fractions, windows inside the visibility delay, windows read without a
//! required percentage.

use std::collections::{HashMap, HashSet};

use super::{Expr, ExprKind, Lint, SampleQuery, Span, Statement, interval_seconds, name_of, number_text, walk};
use crate::formula::ast::BinaryOp;

/// The service makes a sample visible about this long after it is taken.
const VISIBILITY_DELAY_SECONDS: f64 = 60.0;

pub(super) fn lint(statements: &[Statement], queries: &HashMap<Span, SampleQuery>, lints: &mut Vec<Lint>) {
    percent_compared_with_fraction(statements, lints);
    let guarded: HashSet<&str> = statements
        .iter()
        .flat_map(|s| walk(super::value(s)))
        .filter_map(|e| match &e.kind {
            ExprKind::Method { receiver, method, .. } if method.text == "GetSamplePercent" => {
                name_of(receiver).map(|n| n.text.as_str())
            }
            _ => None,
        })
        .collect();
    for expr in statements.iter().flat_map(|s| walk(super::value(s))) {
        let ExprKind::Method { receiver, method, args, paren } = &expr.kind else {
            continue;
        };
        let Some(metric) = name_of(receiver) else {
            continue;
        };
        let query = queries.get(paren).copied();
        if matches!(method.text.as_str(), "GetSample" | "GetSamplePercent") {
            short_window(expr, args, query, lints);
        }
        if let Some(SampleQuery::Window { percent: false, .. }) = query
            && method.text == "GetSample"
            && !guarded.contains(metric.text.as_str())
        {
            let close = Span::new(expr.span.end.saturating_sub(1), expr.span.end.saturating_sub(1));
            lints.push(
                Lint::warning(
                    "unguarded-sample-window",
                    expr.span,
                    format!("`{}.GetSample` over a window with no required percentage", metric.text),
                    "reads whatever samples happen to be there",
                )
                .help(format!(
                    "add a percentage, e.g. `GetSample(…, 70)`, or check `{}.GetSamplePercent(…)` first",
                    metric.text
                ))
                .fix(close, ", 70"),
            );
        }
    }
}

/// `GetSample(TimeInterval_Second * 30)`: the window is shorter than the
/// delay before a sample becomes visible.
fn short_window(call: &Expr, args: &[Expr], query: Option<SampleQuery>, lints: &mut Vec<Lint>) {
    let points: Vec<f64> = match query {
        Some(SampleQuery::Window { to: true, .. } | SampleQuery::Percent { to: true }) => {
            match (args.first().and_then(interval_seconds), args.get(1).and_then(interval_seconds)) {
                (Some(a), Some(b)) => vec![a.abs(), b.abs()],
                _ => return,
            }
        }
        Some(SampleQuery::Window { to: false, .. } | SampleQuery::Percent { to: false }) => {
            match args.first().and_then(interval_seconds) {
                Some(a) => vec![a.abs(), 0.0],
                None => return,
            }
        }
        _ => return,
    };
    let older = points.iter().copied().fold(0.0, f64::max);
    let newer = points.iter().copied().fold(f64::INFINITY, f64::min);
    let message = if older < VISIBILITY_DELAY_SECONDS {
        format!("the sample window ends {} s ago, inside the ~60 s visibility delay", number_text(older))
    } else if older - newer < VISIBILITY_DELAY_SECONDS {
        format!("the sample window is {} s long, under 60 s", number_text(older - newer))
    } else {
        return;
    };
    lints.push(
        Lint::warning("short-sample-window", call.span, message, "this usually finds no samples")
            .help("look back at least a few minutes, e.g. `TimeInterval_Minute * 5`"),
    );
}

/// `$CPUPercent` runs 0–100: comparing it with `0.7` means 0.7 %, not 70 %.
fn percent_compared_with_fraction(statements: &[Statement], lints: &mut Vec<Lint>) {
    let mut percent_vars: HashSet<&str> = HashSet::new();
    for statement in statements {
        let value = super::value(statement);
        for expr in walk(value) {
            let ExprKind::Binary { op, lhs, rhs } = &expr.kind else {
                continue;
            };
            if !matches!(op, BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne) {
                continue;
            }
            for (side, other) in [(lhs, rhs), (rhs, lhs)] {
                if let ExprKind::Number(v) = other.kind
                    && v > 0.0
                    && v < 1.0
                    && is_percent(side, &percent_vars)
                {
                    let fixed = number_text(v * 100.0);
                    lints.push(
                        Lint::warning(
                            "percent-compared-with-fraction",
                            other.span,
                            format!("`$CPUPercent` runs from 0 to 100, but is compared with {}", number_text(v)),
                            format!("this means {} %", number_text(v)),
                        )
                        .help(format!("write the percentage: `{fixed}`"))
                        .fix(other.span, fixed),
                    );
                }
            }
        }
        if let Statement::Assign { target, value } = statement {
            let compares = matches!(&value.kind, ExprKind::Binary { op, .. } if op_is_comparison(*op));
            if !compares && is_percent(value, &percent_vars) {
                percent_vars.insert(&target.text);
            } else {
                percent_vars.remove(target.text.as_str());
            }
        }
    }
}

fn op_is_comparison(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne)
}

/// Whether `expr` computes a CPU percentage: it reads `$CPUPercent`
/// samples, or a variable that holds them, and compares nothing.
fn is_percent(expr: &Expr, percent_vars: &HashSet<&str>) -> bool {
    walk(expr).iter().any(|e| match &e.kind {
        ExprKind::Method { receiver, method, .. } => {
            method.text == "GetSample" && name_of(receiver).is_some_and(|n| n.text == "$CPUPercent")
        }
        ExprKind::Name(n) => percent_vars.contains(n.text.as_str()),
        _ => false,
    }) && !walk(expr).iter().any(|e| matches!(&e.kind, ExprKind::Binary { op, .. } if op_is_comparison(*op)))
}
