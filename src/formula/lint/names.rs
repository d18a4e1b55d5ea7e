//! Lints about names and statements: variables never read, names one case
//! away from a service variable, statements after `stop()`.

use std::collections::HashSet;

use super::{ExprKind, Lint, Span, Statement, statement_span, walk};
use crate::formula::builtins::{Metric, ServiceVar};

pub(super) fn lint(statements: &[Statement], lints: &mut Vec<Lint>) {
    let read: HashSet<&str> = statements
        .iter()
        .flat_map(|s| walk(super::value(s)))
        .filter_map(|e| match &e.kind {
            ExprKind::Name(n) => Some(n.text.as_str()),
            _ => None,
        })
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    for statement in statements {
        let Statement::Assign { target, .. } = statement else {
            continue;
        };
        if ServiceVar::named(&target.text).is_some() || !seen.insert(&target.text) {
            continue;
        }
        if let Some(service) = same_but_case(&target.text) {
            let lint = Lint::warning(
                "service-variable-case",
                target.span,
                format!("`{}` is a user variable, not `{service}`", target.text),
                "names are case-sensitive: the service ignores this for the pool",
            )
            .help(format!("write `{service}`"));
            // Renaming is a fix only where the service variable may be assigned.
            let writable = ServiceVar::named(&service).is_some_and(ServiceVar::is_writable);
            lints.push(if writable { lint.fix(target.span, service) } else { lint });
        } else if !read.contains(target.text.as_str()) {
            lints.push(
                Lint::warning(
                    "unused-variable",
                    target.span,
                    format!("`{}` is assigned but never used", target.text),
                    "never read",
                )
                .help("remove it, or use it in a target"),
            );
        }
    }
    unreachable_after_stop(statements, lints);
}

/// The service variable (or metric) that `name` spells with other case.
fn same_but_case(name: &str) -> Option<String> {
    let bare = name.trim_start_matches('$');
    let services = ServiceVar::ALL.iter().map(|(n, _, _)| (*n).to_owned());
    let metrics = Metric::ALL.iter().map(|(_, n, _)| format!("${n}"));
    services.chain(metrics).find(|s| s.trim_start_matches('$').eq_ignore_ascii_case(bare) && s != name)
}

/// A bare `stop();` ends the evaluation: what follows never runs.
fn unreachable_after_stop(statements: &[Statement], lints: &mut Vec<Lint>) {
    let stop = statements.iter().position(|s| {
        matches!(s, Statement::Expr(e) if matches!(&e.kind, ExprKind::Call { function, .. } if function.text == "stop"))
    });
    let Some(stop) = stop else {
        return;
    };
    let rest = &statements[stop + 1..];
    let (Some(first), Some(last)) = (rest.first(), rest.last()) else {
        return;
    };
    let span = Span::new(statement_span(first).start, statement_span(last).end);
    lints.push(
        Lint::warning("unreachable-after-stop", span, "statements after `stop()` never run", "unreachable")
            .help("move them before `stop()`, or make the stop conditional: `cond ? stop() : 0`"),
    );
}
