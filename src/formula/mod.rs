//! The formula language: source text → tokens → syntax tree → checked
//! program → results string.
//!
//! [`Formula::compile`] fails only where the service refuses a formula
//! before running it (syntax, size). Everything else the checker finds is a
//! [`Diagnostic`] for `check`, and an error that [`Formula::evaluate`]
//! reports when evaluation reaches it, exactly as the service does.

pub mod ast;
pub mod builtins;
pub mod check;
pub mod context;
pub mod diag;
pub mod interp;
pub mod ir;
pub mod lexer;
pub mod parse;
pub mod results;

use ast::Span;
use context::EvalContext;
use diag::{Code, Diagnostic, LineIndex};
use ir::Program;
use lexer::{Lexer, Token};
use results::{ErrorCode, EvalError, Location, Outcome, Results};

/// The longest formula the service accepts, in bytes.
pub const MAX_BYTES: usize = 8192;
/// The most statements a formula may hold.
pub const MAX_STATEMENTS: usize = 100;

/// A parsed and checked formula, ready to evaluate any number of times.
#[derive(Debug, Clone)]
pub struct Formula {
    source: String,
    lines: LineIndex,
    program: Program,
    diagnostics: Vec<Diagnostic>,
}

impl Formula {
    /// Parses and checks `source`. Fails with a syntax or size error; other
    /// errors are in [`Formula::diagnostics`].
    pub fn compile(source: &str) -> Result<Formula, Diagnostic> {
        check_limits(source)?;
        let statements =
            parse::parse(source).map_err(|e| Diagnostic::new(Code::Syntax, e.span, e.message, "syntax error"))?;
        let (program, diagnostics) = check::check(&statements);
        Ok(Formula { source: source.to_owned(), lines: LineIndex::new(source), program, diagnostics })
    }

    /// The errors the checker found, in source order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The checked program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The formula's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the formula once against `ctx`, as the service's
    /// "evaluate autoscale" does.
    pub fn evaluate(&self, ctx: &EvalContext) -> Result<Outcome, EvalError> {
        let (results, status) = interp::run(&self.program, ctx);
        match status {
            Ok(stopped) => Ok(Outcome { results, stopped }),
            Err(fault) => Err(EvalError {
                code: fault.code,
                detail: fault.detail,
                location: Some(locate(&self.lines, &self.source, fault.span)),
                results,
            }),
        }
    }
}

fn locate(lines: &LineIndex, source: &str, span: Span) -> Location {
    let (line, column) = lines.line_col(source, span.start);
    Location { line, column, span }
}

/// Compiles and evaluates `source` in one step, turning a formula the
/// service would refuse into its error (`AutoScalingFormulaSyntaxError`,
/// `AutoScalingFormulaTooLong`) with the results of an evaluation that
/// assigned nothing.
pub fn evaluate(source: &str, ctx: &EvalContext) -> Result<Outcome, EvalError> {
    match Formula::compile(source) {
        Ok(formula) => formula.evaluate(ctx),
        Err(d) => Err(compile_error(source, &d, ctx)),
    }
}

/// The service's error for a formula that did not compile.
pub fn compile_error(source: &str, d: &Diagnostic, ctx: &EvalContext) -> EvalError {
    let (code, location) = match d.code {
        Code::TooLong | Code::TooManyStatements => (ErrorCode::TooLong, None),
        _ => (ErrorCode::SyntaxError, Some(locate(&LineIndex::new(source), source, d.span))),
    };
    EvalError { code, detail: d.message.clone(), location, results: Results::unassigned(&ctx.pool) }
}

/// The size limits, checked before parsing as the service does.
fn check_limits(source: &str) -> Result<(), Diagnostic> {
    if source.len() > MAX_BYTES {
        return Err(Diagnostic::new(
            Code::TooLong,
            Span::new(MAX_BYTES, source.len()),
            format!("The formula is {} bytes long; the limit is {MAX_BYTES}", source.len()),
            "beyond the limit",
        )
        .with_help("move constants out of the formula or shorten variable names"));
    }
    let mut statements = 0;
    let mut inside = false;
    for (start, token, end) in Lexer::new(source).flatten() {
        if token == Token::Semi {
            inside = false;
        } else if !inside {
            inside = true;
            statements += 1;
            if statements > MAX_STATEMENTS {
                return Err(Diagnostic::new(
                    Code::TooManyStatements,
                    Span::new(start, end),
                    format!("The formula has more than {MAX_STATEMENTS} statements"),
                    format!("statement {statements}"),
                ));
            }
        }
    }
    Ok(())
}
