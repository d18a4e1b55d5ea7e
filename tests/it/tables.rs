//! Table-driven assertions shared by the operator and function tests: each
//! row is a formula and what the checker and the evaluation must say of it.

use autoscale_sim::formula::Formula;
use autoscale_sim::formula::context::EvalContext;
use autoscale_sim::formula::diag::{Code, Diagnostic};

use crate::support::{failure, value_in};

/// The service's code for run-time errors.
pub const EVAL_ERROR: &str = "AutoScalingFormulaEvaluationError";

/// The checker's diagnostics for `src`, which must compile.
pub fn diagnostics(src: &str) -> Vec<Diagnostic> {
    match Formula::compile(src) {
        Ok(formula) => formula.diagnostics().to_vec(),
        Err(d) => panic!("{src:?} does not compile: {:?} {}", d.code, d.message),
    }
}

/// The line the row of `prelude + row` starts on.
pub fn row_line(prelude: &str) -> usize {
    prelude.matches('\n').count() + 1
}

/// Rows `(formula, printed value of $r)`: the formula checks clean and `$r`
/// prints as expected.
pub fn assert_values(ctx: &EvalContext, prelude: &str, rows: &[(&str, &str)]) {
    for &(row, want) in rows {
        let src = format!("{prelude}{row}");
        let found = diagnostics(&src);
        assert!(found.is_empty(), "row {row:?}: unexpected diagnostics {found:?}");
        assert_eq!(value_in(&src, ctx, "$r"), want, "row {row:?}");
    }
}

/// Rows `(formula, code, column)`: the checker reports exactly one error
/// with `code`, and evaluation fails with the service's evaluation error at
/// that column, its message being the diagnostic's.
pub fn assert_rejected(ctx: &EvalContext, prelude: &str, rows: &[(&str, Code, usize)]) {
    let line = row_line(prelude);
    for &(row, code, column) in rows {
        let src = format!("{prelude}{row}");
        let found = diagnostics(&src);
        let codes: Vec<Code> = found.iter().map(|d| d.code).collect();
        assert_eq!(codes, [code], "row {row:?}: diagnostics {found:?}");
        let (error, message) = failure(&src, ctx);
        assert_eq!(error, EVAL_ERROR, "row {row:?}");
        assert_eq!(message, format!("Line {line}, Col {column}: {}", found[0].message), "row {row:?}");
    }
}

/// Rows `(formula, column)` that only fail at run time: no diagnostic, an
/// evaluation error at the column.
pub fn assert_runtime_errors(ctx: &EvalContext, prelude: &str, rows: &[(&str, usize)]) {
    let line = row_line(prelude);
    for &(row, column) in rows {
        let src = format!("{prelude}{row}");
        let found = diagnostics(&src);
        assert!(found.is_empty(), "row {row:?}: unexpected diagnostics {found:?}");
        let (error, message) = failure(&src, ctx);
        assert_eq!(error, EVAL_ERROR, "row {row:?}");
        let prefix = format!("Line {line}, Col {column}: ");
        assert!(message.starts_with(&prefix), "row {row:?}: message {message:?} does not start with {prefix:?}");
    }
}
