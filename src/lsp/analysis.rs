//! What the language server computes from a document's text: diagnostics,
//! hover, completion, definitions and formatting, in LSP terms. Positions
//! are converted here (LSP counts UTF-16 code units; spans are bytes).

use lsp_types::{
    CompletionItem, CompletionItemKind, Diagnostic, DiagnosticSeverity, Hover, HoverContents, MarkupContent,
    MarkupKind, NumberOrString, Position, Range, TextEdit,
};

use crate::formula::ast::{self, Span, Statement};
use crate::formula::builtins::{Function, Metric, SampleMethod, ServiceVar};
use crate::formula::diag::Severity;
use crate::formula::ir::{Stmt, Target, Type};
use crate::formula::lexer::{Lexer, Token};
use crate::formula::{Formula, fmt, lint};

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

/// The LSP position of byte `offset`.
pub(super) fn position(text: &str, offset: usize) -> Position {
    let offset = text.floor_char_boundary(offset.min(text.len()));
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    let character = before[line_start..].encode_utf16().count();
    Position { line: u32::try_from(line).unwrap_or(u32::MAX), character: u32::try_from(character).unwrap_or(u32::MAX) }
}

/// The byte offset of an LSP position (clamped to the text).
pub(super) fn offset(text: &str, position: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..position.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let mut units = 0;
    for (i, c) in text[line_start..line_end].char_indices() {
        if units >= position.character as usize {
            return line_start + i;
        }
        units += c.len_utf16();
    }
    line_end
}

fn range(text: &str, span: Span) -> Range {
    Range { start: position(text, span.start), end: position(text, span.end) }
}

/// Errors (the compiler's) and warnings (the linter's) of `text`.
pub(super) fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let errors = match Formula::compile(text) {
        Ok(formula) => formula.diagnostics().to_vec(),
        Err(d) => vec![d],
    };
    let errors = errors.into_iter().map(|d| Diagnostic {
        range: range(text, d.span),
        severity: Some(DiagnosticSeverity::ERROR),
        code: Some(NumberOrString::String(d.code.id().to_owned())),
        source: Some("autoscale-sim".to_owned()),
        message: match &d.help {
            Some(help) => format!("{}\n{}\nhelp: {help}", d.message, d.label),
            None => format!("{}\n{}", d.message, d.label),
        },
        ..Diagnostic::default()
    });
    let warnings = lint::lint(text).into_iter().map(|l| Diagnostic {
        range: range(text, l.span),
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
fn token_at<'a>(text: &'a str, position: Position) -> Option<(Token<'a>, Span, Option<Token<'a>>)> {
    let at = offset(text, position);
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
pub(super) fn hover(text: &str, position: Position) -> Option<Hover> {
    let (token, span, previous) = token_at(text, position)?;
    let name = match token {
        Token::Ident(n) | Token::DollarIdent(n) => n,
        _ => return None,
    };
    let doc = if previous == Some(Token::Dot) {
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
        let ty = user_type(text, name)?;
        format!("(variable) {name}: {}", ty.name())
    };
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: format!("```\n{doc}\n```"),
        }),
        range: Some(range(text, span)),
    })
}

/// The type the checker gave user variable `name` (its first assignment).
fn user_type(text: &str, name: &str) -> Option<Type> {
    let formula = Formula::compile(text).ok()?;
    let program = formula.program();
    let id = program.variables.iter().position(|v| v == name)?;
    program.statements.iter().find_map(|s| match s {
        Stmt::Assign { target: Target::User(v), value, .. } if v.0 as usize == id => Some(value.ty),
        _ => None,
    })
}

/// Every name that can be written at `position`: methods after a `.`,
/// otherwise service variables, metrics, functions and constants.
pub(super) fn completion(text: &str, position: Position) -> Vec<CompletionItem> {
    let at = offset(text, position);
    let after_dot = text[..at].trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').ends_with('.');
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
pub(super) fn definition(text: &str, position: Position) -> Option<Range> {
    let (token, _, previous) = token_at(text, position)?;
    if previous == Some(Token::Dot) {
        return None;
    }
    let name = match token {
        Token::Ident(n) | Token::DollarIdent(n) => n,
        _ => return None,
    };
    let statements = crate::formula::parse::parse(text).ok()?;
    statements.iter().find_map(|s| match s {
        Statement::Assign { target: ast::Name { text: t, span }, .. } if t == name => Some(range(text, *span)),
        _ => None,
    })
}

/// The linter's suggested fixes whose lint overlaps `range`, as quick fixes
/// for the editor's light bulb.
pub(super) fn code_actions(text: &str, uri: &lsp_types::Uri, wanted: Range) -> Vec<lsp_types::CodeAction> {
    let (from, to) = (offset(text, wanted.start), offset(text, wanted.end));
    lint::lint(text)
        .into_iter()
        .filter(|l| l.span.start <= to && from <= l.span.end)
        .filter_map(|l| {
            let fix = l.fix?;
            let edit = TextEdit { range: range(text, fix.span), new_text: fix.replacement.clone() };
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

/// The whole document formatted, as one edit; `None` when it does not parse.
pub(super) fn formatting(text: &str) -> Option<Vec<TextEdit>> {
    let formatted = fmt::format(text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    Some(vec![TextEdit { range: range(text, Span::new(0, text.len())), new_text: formatted }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_utf16() {
        let text = "a = 1;\n// é𝄞\nb = a;";
        for (i, _) in text.char_indices() {
            assert_eq!(offset(text, position(text, i)), i);
        }
        let b = text.find('b').unwrap_or(0);
        assert_eq!(position(text, b), Position { line: 2, character: 0 });
        assert_eq!(position(text, text.find('𝄞').unwrap_or(0) + 4).character, 6);
    }
}
