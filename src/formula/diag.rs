//! Diagnostics: an error code, a span and a message, rendered in one place
//! as rustc-style text with a caret excerpt, or as the service's
//! `Line L, Col C: ...` message.

use codespan_reporting::diagnostic::{Diagnostic as Report, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::WriteColor};

use super::ast::Span;
use super::results::EvalError;

/// Stable identifiers of the errors `check` reports. The number never
/// changes meaning; `autoscale-sim check` prints it as `error[E0102]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// The text does not follow the grammar: `$x = (1 + ;`.
    Syntax,
    /// Over 8192 bytes.
    TooLong,
    /// Over 100 statements.
    TooManyStatements,
    /// An expression nested more than 100 levels deep: `$x = ------...1`.
    TooDeep,
    /// A variable read before any assignment: `$TargetDedicatedNodes = $Foo;`.
    UndefinedSymbol,
    /// A call of a function that does not exist: `average(1, 2)`.
    UnknownFunction,
    /// A method a metric does not have: `$CPUPercent.GetSamples(1)`.
    UnknownMethod,
    /// A member that does not exist or a method on a non-metric: `time().hours`.
    UnknownMember,
    /// An assignment to a read-only name: `$CurrentDedicatedNodes = 3`.
    ReadOnly,
    /// An operator applied to types it does not take: `time() + 1`.
    OperatorType,
    /// A function or method called with the wrong number or types of arguments: `avg(time())`.
    ArgumentType,
    /// A metric used as a number: `$PendingTasks + 1`.
    MetricAsValue,
    /// `$NodeDeallocationOption` given something other than an option, or
    /// an option used anywhere else.
    DeallocationValue,
    /// A ternary whose branches have different types, or a condition that is not a double.
    TernaryType,
    /// A value that cannot be assigned: a target that is not a double.
    AssignType,
}

impl Code {
    /// Every code, in the order of their identifiers.
    pub const ALL: [Code; 15] = [
        Code::Syntax,
        Code::TooLong,
        Code::TooManyStatements,
        Code::TooDeep,
        Code::UndefinedSymbol,
        Code::UnknownFunction,
        Code::UnknownMethod,
        Code::UnknownMember,
        Code::ReadOnly,
        Code::OperatorType,
        Code::ArgumentType,
        Code::MetricAsValue,
        Code::DeallocationValue,
        Code::TernaryType,
        Code::AssignType,
    ];

    /// The code of identifier `id` (`E0100`, any case), for `explain`.
    pub fn from_id(id: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.id().eq_ignore_ascii_case(id))
    }

    /// What the error is, in a line, and a formula that has it: the table
    /// of checker codes in `docs/formula-language.md` (a test compares them).
    pub fn explain(self) -> (&'static str, Option<&'static str>) {
        match self {
            Code::Syntax => ("syntax error", Some("$x = (1 + ;")),
            Code::TooLong => ("formula over 8192 bytes", None),
            Code::TooManyStatements => ("more than 100 statements", None),
            Code::TooDeep => ("expression nested more than 100 levels deep", Some("$x = ------…1")),
            Code::UndefinedSymbol => ("variable read before any assignment", Some("$TargetDedicatedNodes = $Foo;")),
            Code::UnknownFunction => ("unknown function", Some("average(1, 2)")),
            Code::UnknownMethod => ("method a metric does not have", Some("$CPUPercent.GetSamples(1)")),
            Code::UnknownMember => ("unknown member, or a method on a non-metric", Some("time().hours")),
            Code::ReadOnly => ("assignment to a read-only name or constant", Some("$CurrentDedicatedNodes = 3")),
            Code::OperatorType => ("operator applied to types it does not take", Some("time() + 1")),
            Code::ArgumentType => ("wrong number or types of arguments", Some("avg(time())")),
            Code::MetricAsValue => ("metric used as a number", Some("$PendingTasks + 1")),
            Code::DeallocationValue => (
                "bad value for `$NodeDeallocationOption`, or an option used elsewhere",
                Some("$NodeDeallocationOption = \"requeue\""),
            ),
            Code::TernaryType => {
                ("`?:` branches of different types, or a condition that is not a double", Some("1 ? 2 : time()"))
            }
            Code::AssignType => {
                ("a target assigned something other than a double", Some("$TargetDedicatedNodes = time()"))
            }
        }
    }

    /// The stable identifier, e.g. `E0100`.
    pub fn id(self) -> &'static str {
        match self {
            Code::Syntax => "E0001",
            Code::TooLong => "E0002",
            Code::TooManyStatements => "E0003",
            Code::TooDeep => "E0004",
            Code::UndefinedSymbol => "E0100",
            Code::UnknownFunction => "E0101",
            Code::UnknownMethod => "E0102",
            Code::UnknownMember => "E0103",
            Code::ReadOnly => "E0104",
            Code::OperatorType => "E0200",
            Code::ArgumentType => "E0201",
            Code::MetricAsValue => "E0202",
            Code::DeallocationValue => "E0203",
            Code::TernaryType => "E0204",
            Code::AssignType => "E0205",
        }
    }
}

/// How serious a report is: errors stop a formula, warnings (the linter's)
/// point at a likely mistake, notes are information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `error[E0100]`.
    Error,
    /// `warning[unused-variable]`.
    Warning,
    /// `note[requeue-deallocation]`: worth knowing, rarely wrong.
    Info,
}

/// One error found in a formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Which error.
    pub code: Code,
    /// Where.
    pub span: Span,
    /// The message, in the service's wording where the service has one
    /// (`Undefined symbol: $x`); it follows `Line L, Col C:` at evaluation.
    pub message: String,
    /// A short note under the carets.
    pub label: String,
    /// How to fix it, when there is an obvious way.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without help.
    pub fn new(code: Code, span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic { code, span, message: message.into(), label: label.into(), help: None }
    }

    /// Adds a suggested fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// 1-based line and column of byte offsets in a source text; columns count
/// characters, as the service's messages do.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `source`.
    pub fn new(source: &str) -> LineIndex {
        let line_starts = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { line_starts }
    }

    /// Line and column (both from 1) of byte `offset` in `source`.
    pub fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = source.get(start..offset.min(source.len())).map_or(0, |s| s.chars().count());
        (line, column + 1)
    }
}

/// Writes diagnostics for the formula `source` (shown as `file_name`) in
/// rustc style: `error[E0100]: ...`, a `file:line:col` pointer and carets.
pub fn render(
    out: &mut dyn WriteColor,
    file_name: &str,
    source: &str,
    diagnostics: &[Diagnostic],
) -> std::io::Result<()> {
    for d in diagnostics {
        emit(out, file_name, source, Severity::Error, d.code.id(), &d.message, d.span, &d.label, d.help.as_deref())?;
    }
    Ok(())
}

/// Writes a failed evaluation in the same style, under the service's code,
/// when the error has a place in the formula.
pub fn render_eval_error(
    out: &mut dyn WriteColor,
    file_name: &str,
    source: &str,
    error: &EvalError,
) -> std::io::Result<()> {
    match error.location {
        Some(l) => {
            let code = error.code.as_str();
            emit(out, file_name, source, Severity::Error, code, &error.detail, l.span, "evaluation failed here", None)
        }
        None => Ok(()),
    }
}

/// The one renderer: writes a single report of any severity (the linter's
/// warnings go through here too, so errors and warnings look alike).
#[allow(clippy::too_many_arguments)]
pub fn emit(
    out: &mut dyn WriteColor,
    file_name: &str,
    source: &str,
    severity: Severity,
    code: &str,
    message: &str,
    span: Span,
    label: &str,
    help: Option<&str>,
) -> std::io::Result<()> {
    let file = SimpleFile::new(file_name, source);
    let config = term::Config { chars: term::Chars::ascii(), ..term::Config::default() };
    let report = match severity {
        Severity::Error => Report::error(),
        Severity::Warning => Report::warning(),
        Severity::Info => Report::note(),
    };
    let mut report = report
        .with_code(code)
        .with_message(message)
        .with_labels(vec![Label::primary((), span.start..span.end).with_message(label)]);
    if let Some(help) = help {
        report = report.with_notes(vec![format!("help: {help}")]);
    }
    term::emit(out, &config, &file, &report).map_err(std::io::Error::other)
}

/// The diagnostics as plain text, without colour (for tests and JSON output).
pub fn render_to_string(file_name: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    let mut buffer = term::termcolor::NoColor::new(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = render(&mut buffer, file_name, source, diagnostics);
    String::from_utf8_lossy(&buffer.into_inner()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_characters() {
        let src = "a = 1;\n  é = $x;\r\nb";
        let index = LineIndex::new(src);
        assert_eq!(index.line_col(src, 0), (1, 1));
        assert_eq!(index.line_col(src, 9), (2, 3));
        let x = src.find("$x").unwrap();
        assert_eq!(index.line_col(src, x), (2, 7));
        assert_eq!(index.line_col(src, src.len() - 1), (3, 1));
        assert_eq!(index.line_col(src, src.len()), (3, 2));
    }
}
