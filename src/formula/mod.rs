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
pub mod fmt;
pub mod interp;
pub mod ir;
#[allow(unsafe_code)]
pub mod jit;
pub mod lexer;
pub mod lint;
pub mod params;
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
/// The deepest an expression may nest (operators, calls, methods, members,
/// each one level). **(decision)** The checker and the interpreter recurse
/// over the tree, so without a bound a formula such as `$x = ------...1`
/// (8 KB of `-`) would overflow the stack and abort the program.
pub const MAX_DEPTH: usize = 100;

/// Which engine evaluates a formula. Both give bit-identical results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Native code compiled once with cranelift (the default).
    #[default]
    Jit,
    /// The reference tree-walking interpreter.
    Interp,
}

/// A parsed and checked formula, ready to evaluate any number of times.
/// Clones share the compiled code.
#[derive(Debug, Clone)]
pub struct Formula {
    source: String,
    lines: LineIndex,
    program: Program,
    diagnostics: Vec<Diagnostic>,
    jit: Option<std::rc::Rc<jit::JitFormula>>,
}

impl Formula {
    /// Parses, checks and JIT-compiles `source`. Fails with a syntax or
    /// size error; other errors are in [`Formula::diagnostics`].
    pub fn compile(source: &str) -> Result<Formula, Diagnostic> {
        Self::compile_with(source, Engine::default())
    }

    /// Parses and checks `source`, and prepares it for `engine`.
    ///
    /// Should JIT compilation ever fail (a bug: every checked program
    /// compiles), the formula falls back to the interpreter, which gives the
    /// same results; [`Formula::engine`] tells which one runs.
    pub fn compile_with(source: &str, engine: Engine) -> Result<Formula, Diagnostic> {
        check_size(source)?;
        let parsed = parse::parse(source);
        // The statement limit is reported before a syntax error, so the
        // tokens are counted when the parse failed; after a parse, the tree
        // holds one statement per run of tokens between `;`, so the text is
        // lexed again only when it has too many.
        if parsed.as_ref().ok().is_none_or(|s| s.len() > MAX_STATEMENTS) {
            check_statement_count(source)?;
        }
        let statements = parsed.map_err(|e| Diagnostic::new(Code::Syntax, e.span, e.message, "syntax error"))?;
        check_depth(&statements)?;
        let (program, diagnostics) = check::check(&statements);
        let jit = match engine {
            Engine::Jit => jit::JitFormula::compile(&program).ok().map(std::rc::Rc::new),
            Engine::Interp => None,
        };
        Ok(Formula { source: source.to_owned(), lines: LineIndex::new(source), program, diagnostics, jit })
    }

    /// The engine that evaluates this formula.
    pub fn engine(&self) -> Engine {
        if self.jit.is_some() { Engine::Jit } else { Engine::Interp }
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
        let (results, status) = match &self.jit {
            Some(jit) => jit.run(ctx),
            None => interp::run(&self.program, ctx),
        };
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

/// The nesting limit, [`MAX_DEPTH`]. The walk keeps its own stack: the
/// tree may be thousands of levels deep here.
fn check_depth(statements: &[ast::Statement]) -> Result<(), Diagnostic> {
    use ast::Statement;
    let mut pending: Vec<(&ast::Expr, usize)> = statements
        .iter()
        .rev()
        .map(|s| match s {
            Statement::Assign { value, .. } | Statement::Expr(value) => (value, 1),
        })
        .collect();
    while let Some((expr, depth)) = pending.pop() {
        if depth > MAX_DEPTH {
            return Err(Diagnostic::new(
                Code::TooDeep,
                expr.span,
                format!("The expression is nested more than {MAX_DEPTH} levels deep"),
                format!("level {depth}"),
            )
            .with_help("split it into several statements with intermediate variables"));
        }
        // Reversed, so the leftmost child is looked at first.
        pending.extend(expr.children().rev().map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// The size limit, [`MAX_BYTES`], checked before parsing as the service does.
fn check_size(source: &str) -> Result<(), Diagnostic> {
    if source.len() > MAX_BYTES {
        return Err(Diagnostic::new(
            Code::TooLong,
            // From the character the limit falls in: a span must not split one.
            Span::new(source.floor_char_boundary(MAX_BYTES), source.len()),
            format!("The formula is {} bytes long; the limit is {MAX_BYTES}", source.len()),
            "beyond the limit",
        )
        .with_help("move constants out of the formula or shorten variable names"));
    }
    Ok(())
}

/// The statement limit, [`MAX_STATEMENTS`], counted on the tokens: a
/// statement is a run of tokens between `;`.
fn check_statement_count(source: &str) -> Result<(), Diagnostic> {
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
