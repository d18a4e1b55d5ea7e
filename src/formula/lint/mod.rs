//! The linter: warnings about formulas that are valid but probably wrong
//! (the service runs them and silently does something else), each with a
//! stable name, an explanation for `autoscale-sim explain` and, where one
//! exists, a suggested fix.
//!
//! Lints read the syntax tree (for spans and the text as written) and the
//! checked program (for the types the checker inferred). They run only on a
//! formula that parses; the checker's errors come first in every report.

mod explain;
mod names;
mod samples;
mod targets;

use std::collections::HashMap;

use codespan_reporting::term::termcolor::WriteColor;

use super::ast::{self, Expr, ExprKind, Span, Statement};
use super::diag::{self, Severity};
use super::ir::{Node, NodeKind, Program, SampleQuery, Stmt};

pub use explain::{LINTS, LintInfo, explain};

/// One finding of the linter.
#[derive(Debug, Clone, PartialEq)]
pub struct Lint {
    /// The lint's stable name, e.g. `percent-compared-with-fraction`.
    pub name: &'static str,
    /// Warning, or information.
    pub severity: Severity,
    /// Where.
    pub span: Span,
    /// What is wrong.
    pub message: String,
    /// A short note under the carets.
    pub label: String,
    /// How to fix it, in words.
    pub help: Option<String>,
    /// A mechanical fix, when one is certain enough to offer in an editor.
    pub fix: Option<Fix>,
}

/// Replace the text at `span` with `replacement`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// The text replaced (empty to insert).
    pub span: Span,
    /// The new text.
    pub replacement: String,
}

impl Lint {
    fn warning(name: &'static str, span: Span, message: impl Into<String>, label: impl Into<String>) -> Lint {
        Lint {
            name,
            severity: Severity::Warning,
            span,
            message: message.into(),
            label: label.into(),
            help: None,
            fix: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Lint {
        self.help = Some(help.into());
        self
    }

    fn fix(mut self, span: Span, replacement: impl Into<String>) -> Lint {
        self.fix = Some(Fix { span, replacement: replacement.into() });
        self
    }
}

/// Lints `source`; a formula that does not parse has no lints (its syntax
/// error is what matters).
pub fn lint(source: &str) -> Vec<Lint> {
    let Ok(statements) = super::parse::parse(source) else {
        return Vec::new();
    };
    let (program, _) = super::check::check(&statements);
    lint_parsed(&statements, &program)
}

/// Lints a parsed and checked formula, sorted by position.
pub fn lint_parsed(statements: &[Statement], program: &Program) -> Vec<Lint> {
    let queries = sample_queries(program);
    let mut lints = Vec::new();
    samples::lint(statements, &queries, &mut lints);
    targets::lint(statements, &mut lints);
    names::lint(statements, &mut lints);
    lints.sort_by_key(|l| (l.span.start, l.span.end, l.name));
    lints
}

/// Writes lints rustc-style, through the same renderer as errors.
pub fn render(out: &mut dyn WriteColor, file_name: &str, source: &str, lints: &[Lint]) -> std::io::Result<()> {
    for l in lints {
        diag::emit(out, file_name, source, l.severity, l.name, &l.message, l.span, &l.label, l.help.as_deref())?;
    }
    Ok(())
}

/// The lints as plain text, without colour.
pub fn render_to_string(file_name: &str, source: &str, lints: &[Lint]) -> String {
    let mut buffer = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = render(&mut buffer, file_name, source, lints);
    String::from_utf8_lossy(&buffer.into_inner()).into_owned()
}

/// Which `GetSample` form the checker chose for each call, keyed by the
/// call's `(`: the form depends on argument types only the checker knows.
fn sample_queries(program: &Program) -> HashMap<Span, SampleQuery> {
    let mut out = HashMap::new();
    let mut pending: Vec<&Node> = program
        .statements
        .iter()
        .map(|s| match s {
            Stmt::Assign { value, .. } | Stmt::Eval(value) => value,
        })
        .collect();
    while let Some(node) = pending.pop() {
        match &node.kind {
            NodeKind::Sample { query, args, paren, .. } => {
                out.insert(*paren, *query);
                pending.extend(args);
            }
            NodeKind::Const(_) | NodeKind::User(_) | NodeKind::Service(_) => {}
            NodeKind::Rand | NodeKind::Stop | NodeKind::Now => {}
            NodeKind::Neg(a)
            | NodeKind::Not(a)
            | NodeKind::Log(_, a)
            | NodeKind::Round(_, a)
            | NodeKind::ParseTime(a)
            | NodeKind::Member(_, a) => pending.push(a),
            NodeKind::Arith(_, a, b)
            | NodeKind::Compare(_, a, b)
            | NodeKind::Logic(_, a, b)
            | NodeKind::Percentile(a, b)
            | NodeKind::Val(a, b) => pending.extend([&**a, &**b]),
            NodeKind::Ternary(a, b, c) => pending.extend([&**a, &**b, &**c]),
            NodeKind::List(_, args) => pending.extend(args),
            NodeKind::Fail { children, .. } => pending.extend(children),
        }
    }
    out
}

/// The value of a statement (what an assignment assigns, or the bare expression).
fn value(statement: &Statement) -> &Expr {
    match statement {
        Statement::Assign { value, .. } | Statement::Expr(value) => value,
    }
}

/// The whole statement's span.
fn statement_span(statement: &Statement) -> Span {
    match statement {
        Statement::Assign { target, value } => target.span.to(value.span),
        Statement::Expr(value) => value.span,
    }
}

/// Every subexpression of `expr`, itself included, parents before
/// children. Iterative: the tree may be deep.
fn walk(expr: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut pending = vec![expr];
    while let Some(e) = pending.pop() {
        out.push(e);
        pending.extend(e.children().rev());
    }
    out
}

/// The name if `expr` is a plain name.
fn name_of(expr: &Expr) -> Option<&ast::Name> {
    match &expr.kind {
        ExprKind::Name(n) => Some(n),
        _ => None,
    }
}

/// A number the way a user would write it (`70`, `0.5`).
fn number_text(v: f64) -> String {
    let rounded = (v * 1e9).round() / 1e9;
    format!("{rounded}")
}

/// The value of a constant time-interval expression, in seconds
/// (`TimeInterval_Minute * 10` → 600), or `None` when it is not one.
fn interval_seconds(expr: &Expr) -> Option<f64> {
    const UNITS: [(&str, f64); 10] = [
        ("TimeInterval_Zero", 0.0),
        ("TimeInterval_100ns", 1e-7),
        ("TimeInterval_Microsecond", 1e-6),
        ("TimeInterval_Millisecond", 1e-3),
        ("TimeInterval_Second", 1.0),
        ("TimeInterval_Minute", 60.0),
        ("TimeInterval_Hour", 3600.0),
        ("TimeInterval_Day", 86400.0),
        ("TimeInterval_Week", 604800.0),
        ("TimeInterval_Year", 31536000.0),
    ];
    match &expr.kind {
        ExprKind::Name(n) => UNITS.iter().find(|(u, _)| *u == n.text).map(|&(_, s)| s),
        ExprKind::Binary { op, lhs, rhs } => {
            use ast::BinaryOp::*;
            let number = |e: &Expr| match e.kind {
                ExprKind::Number(v) => Some(v),
                _ => None,
            };
            match op {
                Mul => match (interval_seconds(lhs), interval_seconds(rhs)) {
                    (Some(i), None) => Some(i * number(rhs)?),
                    (None, Some(i)) => Some(number(lhs)? * i),
                    _ => None,
                },
                Div => Some(interval_seconds(lhs)? / number(rhs)?),
                Add => Some(interval_seconds(lhs)? + interval_seconds(rhs)?),
                Sub => Some(interval_seconds(lhs)? - interval_seconds(rhs)?),
                _ => None,
            }
        }
        ExprKind::Unary { op: ast::UnaryOp::Neg, operand } => Some(-interval_seconds(operand)?),
        _ => None,
    }
}
