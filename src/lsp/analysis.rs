//! What the language server computes from a document's text: diagnostics,
//! hover, completion, definitions and formatting, in LSP terms. Positions
//! are converted here (LSP counts UTF-16 code units; spans are bytes).

use lsp_types::{
    CompletionItem, CompletionItemKind, Diagnostic, DiagnosticSeverity, Hover, HoverContents, MarkupContent,
    MarkupKind, NumberOrString, Position, Range, TextEdit,
};

use crate::formula::ast::{self, Span, Statement};
use crate::formula::builtins::{Function, Metric, SampleMethod, ServiceVar};
use crate::formula::diag::{self, Code, Severity};
use crate::formula::ir::{Stmt, Target, Type};
use crate::formula::lexer::{Lexer, Token};
use crate::formula::{Engine, Formula, MAX_BYTES, fmt, lint, parse};

/// The time-interval constants, with their length.
const INTERVALS: [(&str, &str); 10] = [
    ("TimeInterval_Zero", "0"),
    ("TimeInterval_100ns", "100 nanoseconds"),
    ("TimeInterval_Microsecond", "1 microsecond"),
    ("TimeInterval_Millisecond", "1 millisecond"),
    ("TimeInterval_Second", "1 second"),
    ("TimeInterval_Minute", "1 minute"),
    ("TimeInterval_Hour", "1 hour"),
    ("TimeInterval_Day", "1 day"),
    ("TimeInterval_Week", "1 week"),
    ("TimeInterval_Year", "365 days"),
];

/// A document as the server holds it: its text, where its lines start, and
/// what the compiler made of it, computed once per change.
///
/// Everything that walks the syntax tree (the checker, the linter, hover's
/// types, definitions, code actions, formatting) reads it from here, and it
/// exists only for a document within the CLI's limits: size
/// ([`MAX_BYTES`](crate::formula::MAX_BYTES)), statements and nesting
/// ([`MAX_DEPTH`](crate::formula::MAX_DEPTH)) are checked by
/// [`Formula::compile_with`] before anything recurses, so no document can
/// overflow the stack. Over a limit, the document gets the CLI's diagnostic
/// (E0002, E0003, E0004) and nothing else.
pub(super) struct Document {
    text: String,
    lines: Lines,
    /// The checked formula and its syntax tree, or the one error that
    /// stopped the compiler (a limit, a syntax error).
    compiled: Result<(Formula, Vec<Statement>), diag::Diagnostic>,
}

impl Document {
    pub(super) fn new(text: String) -> Document {
        // The interpreter: no native code is generated for an editor's text.
        let compiled = Formula::compile_with(&text, Engine::Interp).and_then(|formula| {
            // Within the limits (checked above), so the tree is shallow.
            let statements = parse::parse(&text)
                .map_err(|e| diag::Diagnostic::new(Code::Syntax, e.span, e.message, "syntax error"))?;
            Ok((formula, statements))
        });
        Document { lines: Lines::new(&text), text, compiled }
    }

    /// The text, within the size limit; `None` above it, where the server
    /// offers nothing but the limit's diagnostic.
    fn text(&self) -> Option<&str> {
        (self.text.len() <= MAX_BYTES).then_some(self.text.as_str())
    }

    /// The LSP position of byte `offset`.
    pub(super) fn position(&self, offset: usize) -> Position {
        self.lines.position(&self.text, offset)
    }

    /// The byte offset of an LSP position (clamped to the text).
    pub(super) fn offset(&self, position: Position) -> usize {
        self.lines.offset(&self.text, position)
    }

    fn range(&self, span: Span) -> Range {
        Range { start: self.position(span.start), end: self.position(span.end) }
    }

    /// The lints, for a document that compiled.
    fn lints(&self) -> Vec<lint::Lint> {
        match &self.compiled {
            Ok((formula, statements)) => lint::lint_parsed(statements, formula.program()),
            Err(_) => Vec::new(),
        }
    }
}

/// Where the lines of a text start, and where its characters outside ASCII
/// are, so that a position is found in logarithmic time: LSP counts UTF-16
/// code units, spans are bytes.
struct Lines {
    /// The first byte of each line.
    starts: Vec<usize>,
    /// For each character outside ASCII, the byte after it and the bytes it
    /// and those before it take beyond their UTF-16 code units.
    wide: Vec<(usize, usize)>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let mut excess = 0;
        let wide = text
            .char_indices()
            .filter(|(_, c)| !c.is_ascii())
            .map(|(i, c)| {
                excess += c.len_utf8() - c.len_utf16();
                (i + c.len_utf8(), excess)
            })
            .collect();
        Lines { starts, wide }
    }

    /// The bytes the characters before `offset` take beyond their UTF-16
    /// code units.
    fn excess(&self, offset: usize) -> usize {
        match self.wide.partition_point(|&(end, _)| end <= offset) {
            0 => 0,
            i => self.wide[i - 1].1,
        }
    }

    fn position(&self, text: &str, offset: usize) -> Position {
        let offset = text.floor_char_boundary(offset.min(text.len()));
        let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.starts[line];
        let character = (offset - start) - (self.excess(offset) - self.excess(start));
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&line_start) = self.starts.get(position.line as usize) else { return text.len() };
        let line_end = self.starts.get(position.line as usize + 1).map_or(text.len(), |next| next - 1);
        let mut units = 0;
        for (i, c) in text[line_start..line_end].char_indices() {
            if units >= position.character as usize {
                return line_start + i;
            }
            units += c.len_utf16();
        }
        line_end
    }
}

/// Errors (the compiler's) and warnings (the linter's) of the document, as
/// `autoscale-sim check` reports them: a document the compiler refuses (a
/// limit, a syntax error) has that one error and no lints.
pub(super) fn diagnostics(doc: &Document) -> Vec<Diagnostic> {
    let errors = match &doc.compiled {
        Ok((formula, _)) => formula.diagnostics().to_vec(),
        Err(d) => vec![d.clone()],
    };
    let errors = errors.into_iter().map(|d| Diagnostic {
        range: doc.range(d.span),
        severity: Some(DiagnosticSeverity::ERROR),
        code: Some(NumberOrString::String(d.code.id().to_owned())),
        source: Some("autoscale-sim".to_owned()),
        message: match &d.help {
            Some(help) => format!("{}\n{}\nhelp: {help}", d.message, d.label),
            None => format!("{}\n{}", d.message, d.label),
        },
        ..Diagnostic::default()
    });
    let warnings = doc.lints().into_iter().map(|l| Diagnostic {
        range: doc.range(l.span),
        severity: Some(match l.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(l.name.to_owned())),
        source: Some("autoscale-sim".to_owned()),
        message: match &l.help {
            Some(help) => format!("{}\n{}\nhelp: {help}", l.message, l.label),
            None => format!("{}\n{}", l.message, l.label),
        },
        ..Diagnostic::default()
    });
    errors.chain(warnings).collect()
}

/// The token under `position`, with its span and the token before it.
fn token_at(doc: &Document, position: Position) -> Option<(Token<'_>, Span, Option<Token<'_>>)> {
    let text = doc.text()?;
    let at = doc.offset(position);
    let mut previous = None;
    for (start, token, end) in Lexer::new(text).flatten() {
        if start <= at && at <= end && matches!(token, Token::Ident(_) | Token::DollarIdent(_)) {
            return Some((token, Span::new(start, end), previous));
        }
        if start > at {
            return None;
        }
        previous = Some(token);
    }
    None
}

/// The type and documentation of the name under the cursor.
pub(super) fn hover(doc: &Document, position: Position) -> Option<Hover> {
    let (token, span, previous) = token_at(doc, position)?;
    let name = match token {
        Token::Ident(n) | Token::DollarIdent(n) => n,
        _ => return None,
    };
    let shown = if previous == Some(Token::Dot) {
        match SampleMethod::named(name) {
            Some(m) => format!("(method) {}", m.signature()),
            None => format!("(timestamp member) {name}: double"),
        }
    } else if let Some((n, _, doc)) = ServiceVar::ALL.iter().find(|(n, _, _)| *n == name) {
        format!("(service variable) {n}: double\n\n{doc}")
    } else if let Some((_, n, doc)) = Metric::ALL.iter().find(|(_, n, _)| name.strip_prefix('$') == Some(*n)) {
        format!("(metric) ${n}: samples\n\n{doc}; read it with a method such as GetSample")
    } else if let Some(f) = Function::named(name) {
        format!("(function) {}", f.signature())
    } else if let Some((n, length)) = INTERVALS.iter().find(|(n, _)| *n == name) {
        format!("(constant) {n}: timeinterval = {length}")
    } else {
        let ty = user_type(doc, name)?;
        format!("(variable) {name}: {}", ty.name())
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: format!("```\n{shown}\n```"),
        }),
        range: Some(doc.range(span)),
    })
}

/// The type the checker gave user variable `name` (its first assignment).
fn user_type(doc: &Document, name: &str) -> Option<Type> {
    let (formula, _) = doc.compiled.as_ref().ok()?;
    let program = formula.program();
    let id = program.variables.iter().position(|v| v == name)?;
    program.statements.iter().find_map(|s| match s {
        Stmt::Assign { target: Target::User(v), value, .. } if v.0 as usize == id => Some(value.ty),
        _ => None,
    })
}

/// Every name that can be written at `position`: methods after a `.`,
/// otherwise service variables, metrics, functions and constants.
pub(super) fn completion(doc: &Document, position: Position) -> Vec<CompletionItem> {
    let at = doc.offset(position);
    let after_dot = doc.text[..at].trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').ends_with('.');
    let item = |label: &str, kind, detail: &str| CompletionItem {
        label: label.to_owned(),
        kind: Some(kind),
        detail: Some(detail.to_owned()),
        ..CompletionItem::default()
    };
    if after_dot {
        return SampleMethod::ALL.iter().map(|(n, _, sig)| item(n, CompletionItemKind::METHOD, sig)).collect();
    }
    let services = ServiceVar::ALL.iter().map(|(n, _, doc)| item(n, CompletionItemKind::VARIABLE, doc));
    let metrics = Metric::ALL.iter().map(|(_, n, doc)| item(&format!("${n}"), CompletionItemKind::VARIABLE, doc));
    let functions = Function::ALL.iter().map(|(n, _, sig)| item(n, CompletionItemKind::FUNCTION, sig));
    let intervals = INTERVALS.iter().map(|(n, len)| item(n, CompletionItemKind::CONSTANT, len));
    services.chain(metrics).chain(functions).chain(intervals).collect()
}

/// Where the user variable under the cursor is first assigned.
pub(super) fn definition(doc: &Document, position: Position) -> Option<Range> {
    let (token, _, previous) = token_at(doc, position)?;
    if previous == Some(Token::Dot) {
        return None;
    }
    let name = match token {
        Token::Ident(n) | Token::DollarIdent(n) => n,
        _ => return None,
    };
    let (_, statements) = doc.compiled.as_ref().ok()?;
    statements.iter().find_map(|s| match s {
        Statement::Assign { target: ast::Name { text: t, span }, .. } if t == name => Some(doc.range(*span)),
        _ => None,
    })
}

/// The linter's suggested fixes whose lint overlaps `range`, as quick fixes
/// for the editor's light bulb.
pub(super) fn code_actions(doc: &Document, uri: &lsp_types::Uri, wanted: Range) -> Vec<lsp_types::CodeAction> {
    let (from, to) = (doc.offset(wanted.start), doc.offset(wanted.end));
    doc.lints()
        .into_iter()
        .filter(|l| l.span.start <= to && from <= l.span.end)
        .filter_map(|l| {
            let fix = l.fix?;
            let edit = TextEdit { range: doc.range(fix.span), new_text: fix.replacement.clone() };
            // `Uri` caches its parse internally, which clippy flags for map keys;
            // this map is built once and only serialized.
            #[allow(clippy::mutable_key_type)]
            let changes = std::collections::HashMap::from([(uri.clone(), vec![edit])]);
            Some(lsp_types::CodeAction {
                title: format!(
                    "{} ({})",
                    l.help.unwrap_or_else(|| format!("replace with `{}`", fix.replacement)),
                    l.name
                ),
                kind: Some(lsp_types::CodeActionKind::QUICKFIX),
                edit: Some(lsp_types::WorkspaceEdit { changes: Some(changes), ..lsp_types::WorkspaceEdit::default() }),
                is_preferred: Some(true),
                ..lsp_types::CodeAction::default()
            })
        })
        .collect()
}

/// The whole document formatted, as one edit; `None` when it does not
/// compile (over a limit, or a syntax error).
pub(super) fn formatting(doc: &Document) -> Option<Vec<TextEdit>> {
    doc.compiled.as_ref().ok()?;
    let text = doc.text.as_str();
    let formatted = fmt::format(text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    Some(vec![TextEdit { range: doc.range(Span::new(0, text.len())), new_text: formatted }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_utf16() {
        let text = "a = 1;\n// é𝄞\nb = a;";
        let doc = Document::new(text.to_owned());
        for (i, _) in text.char_indices() {
            assert_eq!(doc.offset(doc.position(i)), i);
        }
        let b = text.find('b').unwrap_or(0);
        assert_eq!(doc.position(b), Position { line: 2, character: 0 });
        assert_eq!(doc.position(text.find('𝄞').unwrap_or(0) + 4).character, 6);
        assert_eq!(doc.position(text.len()), Position { line: 2, character: 6 });
        // Past the end of a line, or of the text.
        assert_eq!(doc.offset(Position { line: 0, character: 99 }), 6);
        assert_eq!(doc.offset(Position { line: 9, character: 0 }), text.len());
    }

    #[test]
    fn positions_agree_with_counting_from_the_start() {
        let text = "x = 1; // ünïcödé\r\n\n𝄞𝄞 = 2;\ny = \"é\";";
        let doc = Document::new(text.to_owned());
        for i in 0..=text.len() {
            let before = &text[..text.floor_char_boundary(i)];
            let line = before.matches('\n').count();
            let start = before.rfind('\n').map_or(0, |n| n + 1);
            let character = before[start..].encode_utf16().count();
            assert_eq!(doc.position(i), Position { line: line as u32, character: character as u32 }, "byte {i}");
        }
    }

    /// Every limit the CLI checks gives its diagnostic, alone, and nothing
    /// that walks the tree runs on such a document.
    #[test]
    fn documents_over_a_limit_get_the_cli_diagnostic_only() {
        let deep = format!("$TargetDedicatedNodes = {}1;", "-".repeat(8000));
        let long = "$targetDedicatedNodes = 1;\n".repeat(400);
        let many = "a = 1;".repeat(150);
        for (text, code) in [(deep, "E0004"), (long, "E0002"), (many, "E0003")] {
            let doc = Document::new(text.clone());
            let found = diagnostics(&doc);
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].code, Some(NumberOrString::String(code.to_owned())));
            let cli = Formula::compile(&text).err().map(|d| d.code.id());
            assert_eq!(cli, Some(code));
            let at = Position { line: 0, character: 1 };
            assert!(definition(&doc, at).is_none());
            assert!(formatting(&doc).is_none());
            assert!(code_actions(&doc, &"file:///a".parse().expect("a URI"), Range::default()).is_empty());
            assert!(
                hover(&doc, Position { line: 0, character: 3 })
                    .is_none_or(|h| !format!("{h:?}").contains("(variable)"))
            );
        }
    }
}
