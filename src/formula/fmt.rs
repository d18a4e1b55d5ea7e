//! The formatter: each statement starts a line, spaces around binary
//! operators, comments kept where they were, and a statement's line breaks
//! kept where the author put them (its continuation lines indented by four
//! spaces): a long formula stays readable, and formatting twice changes
//! nothing more.
//!
//! It re-spaces the *tokens* of the formula rather than printing the syntax
//! tree, so parentheses, number spellings and names stay exactly as written;
//! only whitespace and empty statements change. Before returning, it re-lexes
//! its output and compares the tokens with the input's, so it can never
//! change a formula's meaning: at worst it refuses.

use super::lexer::{Lexer, Token};

/// Why a formula was not formatted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FmtError {
    /// The formula does not parse; formatting it could only hide the mistake.
    #[error("{line}:{column}: syntax error (E0001): {message}")]
    Syntax {
        /// The line, from 1.
        line: usize,
        /// The column, from 1, in characters as `check` counts them (a
        /// leading byte-order mark is not one).
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Formatting would push the formula over the service's size limit.
    #[error("the formatted formula would be {0} bytes, over the service's limit of 8192")]
    TooLong(usize),
    /// The output's tokens differ from the input's (a bug in the formatter;
    /// the input is left as it was).
    #[error("internal error: formatting would change the formula's tokens")]
    Changed,
}

/// One piece of the source: a token or a `//` comment.
#[derive(Debug, Clone)]
struct Item<'src> {
    text: &'src str,
    token: Option<Token<'src>>,
    /// The source between the previous item and this one holds a line break.
    newline_before: bool,
    /// ... and an empty line.
    blank_before: bool,
}

/// Formats `source`. Fails on a formula that does not parse. A leading
/// UTF-8 byte-order mark (editors on Windows write one) is kept as it is
/// and the rest formatted.
pub fn format(source: &str) -> Result<String, FmtError> {
    const BOM: char = '\u{feff}';
    if let Some(rest) = source.strip_prefix(BOM) {
        return format(rest).map(|out| format!("{BOM}{out}"));
    }
    let syntax = |offset: usize, message: String| {
        let (line, column) = super::diag::LineIndex::new(source).line_col(source, offset);
        FmtError::Syntax { line, column, message }
    };
    if let Err(e) = super::parse::parse(source) {
        return Err(syntax(e.span.start, e.message));
    }
    let items = items(source).map_err(|(offset, message)| syntax(offset, message))?;
    let out = print(&items);
    if normalized(&out) != normalized(source) {
        return Err(FmtError::Changed);
    }
    if out.len() > super::MAX_BYTES && source.len() <= super::MAX_BYTES {
        return Err(FmtError::TooLong(out.len()));
    }
    Ok(out)
}

/// The tokens and comments of `source`, in order. Comments are what the
/// lexer skips: the only non-blank text between two tokens.
fn items(source: &str) -> Result<Vec<Item<'_>>, (usize, String)> {
    let mut items = Vec::new();
    let mut last = 0;
    for token in Lexer::new(source) {
        let (start, token, end) = token.map_err(|e| (e.span.start, e.to_string()))?;
        let rest = push_gap(source, &mut items, last, start);
        items.push(Item {
            text: &source[start..end],
            token: Some(token),
            newline_before: rest.contains('\n'),
            blank_before: rest.matches('\n').count() >= 2,
        });
        last = end;
    }
    push_gap(source, &mut items, last, source.len());
    Ok(items)
}

/// Pushes the comments in `source[gap_start..gap_end]` (text the lexer
/// skipped) and returns what follows the last one.
fn push_gap<'s>(source: &'s str, items: &mut Vec<Item<'s>>, gap_start: usize, gap_end: usize) -> &'s str {
    let gap = &source[gap_start..gap_end];
    let mut offset = 0;
    while let Some(i) = gap[offset..].find("//") {
        let start = offset + i;
        let end = gap[start..].find('\n').map_or(gap.len(), |n| start + n);
        let before = &gap[offset..start];
        let first = items.is_empty() && offset == 0 && gap_start == 0;
        items.push(Item {
            text: gap[start..end].trim_end(),
            token: None,
            newline_before: before.contains('\n') || first,
            blank_before: before.matches('\n').count() >= 2,
        });
        offset = end;
    }
    &gap[offset..]
}

/// Whether a `-` after `prev` is binary (it follows an operand).
fn ends_operand(prev: Option<&Token<'_>>) -> bool {
    matches!(prev, Some(Token::Number(_) | Token::Str(_) | Token::Ident(_) | Token::DollarIdent(_) | Token::RParen))
}

/// Whether `prev` and `next` are written with no space between them.
fn tight(prev: &Token<'_>, prev_unary: bool, next: &Token<'_>) -> bool {
    matches!(next, Token::RParen | Token::Comma | Token::Dot | Token::Semi)
        || matches!(prev, Token::LParen | Token::Dot)
        || prev_unary
        || (matches!(next, Token::LParen) && matches!(prev, Token::Ident(_)))
}

/// Lays the items out.
fn print(items: &[Item<'_>]) -> String {
    let mut printer = Printer::default();
    for item in items {
        match &item.token {
            None => printer.comment(item),
            Some(Token::Semi) => printer.semicolon(),
            Some(token) => printer.token(token, item.text, item.newline_before, item.blank_before),
        }
    }
    printer.finish()
}

/// The layout so far: the finished lines, the line being written, and
/// where in a statement the next item goes.
#[derive(Default)]
struct Printer<'a> {
    lines: Vec<String>,
    line: String,
    /// A statement has started and its `;` is not written yet.
    in_statement: bool,
    /// The last item was a statement's `;`: the next token starts a line.
    after_semi: bool,
    /// The statement's previous token, its text, and whether it was a
    /// unary operator.
    prev: Option<(&'a Token<'a>, &'a str, bool)>,
}

impl<'a> Printer<'a> {
    /// Ends the line being written.
    fn flush(&mut self) {
        self.lines.push(self.line.trim_end().to_owned());
        self.line.clear();
    }

    /// One empty line where the source had any, unless at the top or after
    /// another empty line.
    fn keep_blank_line(&mut self, blank_before: bool) {
        if blank_before && self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    /// A comment: at the end of the line it followed in the source, else on
    /// a line of its own (indented inside a statement).
    fn comment(&mut self, item: &Item<'a>) {
        if !item.newline_before && !self.line.is_empty() {
            self.line.push(' ');
            self.line.push_str(item.text);
            self.flush();
        } else {
            if !self.line.is_empty() {
                self.flush();
            }
            self.keep_blank_line(item.blank_before);
            if self.in_statement {
                self.line.push_str("    ");
            }
            self.line.push_str(item.text);
            self.flush();
        }
        self.after_semi = false;
    }

    /// A `;` ends the statement; one outside a statement is dropped.
    fn semicolon(&mut self) {
        if self.in_statement {
            self.line.push(';');
            self.in_statement = false;
            self.after_semi = true;
            self.prev = None;
        }
    }

    /// Any other token: the first of a statement starts a line; within a
    /// statement, one the source put on a new line starts a continuation
    /// line, indented; the others are spaced from the previous token unless
    /// they are written tight against it.
    fn token(&mut self, token: &'a Token<'a>, text: &'a str, newline_before: bool, blank_before: bool) {
        if self.after_semi {
            self.flush();
            self.after_semi = false;
        }
        if !self.in_statement {
            if !self.line.is_empty() {
                self.flush();
            }
            self.keep_blank_line(blank_before);
        } else if newline_before && !self.line.trim().is_empty() {
            self.flush();
            self.line.push_str("    ");
        } else if self.line.is_empty() {
            self.line.push_str("    ");
        } else if let Some((p, p_text, p_unary)) = self.prev
            && (!tight(p, p_unary, token) || !joins_cleanly(p_text, text))
        {
            self.line.push(' ');
        }
        // `!` is always unary; `-` is unless it follows an operand.
        let unary = matches!(token, Token::Bang)
            || (matches!(token, Token::Minus) && (!self.in_statement || !ends_operand(self.prev.map(|(p, _, _)| p))));
        self.line.push_str(text);
        self.in_statement = true;
        self.prev = Some((token, text, unary));
    }

    /// Closes the last statement and joins the lines, with no trailing
    /// empty lines and one final line break.
    fn finish(mut self) -> String {
        // The last statement's missing `;`, placed as a written one would be.
        if self.in_statement {
            self.line.push(';');
        }
        if !self.line.is_empty() {
            self.flush();
        }
        while self.lines.last().is_some_and(|l| l.is_empty()) {
            self.lines.pop();
        }
        let mut out = self.lines.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

/// Whether `a` and `b` written together still lex as those two tokens
/// (`1` then `.hour` would not: `1.` is a number).
fn joins_cleanly(a: &str, b: &str) -> bool {
    let joined = format!("{a}{b}");
    let tokens: Vec<_> = Lexer::new(&joined).collect();
    matches!(tokens.as_slice(), [Ok((_, _, mid)), Ok(_)] if *mid == a.len())
}

/// The token texts of `source` with the empty statements dropped and a
/// final `;`: what the formatter must preserve.
fn normalized(source: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for token in Lexer::new(source) {
        let (start, token, end) = token.ok()?;
        if token == Token::Semi && out.last().is_none_or(|t| t == ";") {
            continue;
        }
        out.push(source[start..end].to_owned());
    }
    if out.last().is_some_and(|t| t != ";") {
        out.push(";".to_owned());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_operators_and_splits_statements() {
        assert_eq!(
            format("a=1+2*-3;b=max(a,2)?$x.GetSample(1):!a").unwrap(),
            "a = 1 + 2 * -3;\nb = max(a, 2) ? $x.GetSample(1) : !a;\n"
        );
    }

    #[test]
    fn keeps_a_statements_line_breaks_where_the_author_put_them() {
        let src = "$x = (a > 1) ?\n  max(a,\n2) :\n\n3;b=1;\n";
        let out = format(src).unwrap();
        assert_eq!(out, "$x = (a > 1) ?\n    max(a,\n    2) :\n    3;\nb = 1;\n");
        assert_eq!(format(&out).unwrap(), out);
    }

    #[test]
    fn keeps_comments() {
        let src = "// head\n\na = 1; // trailing\n// own line\nb = a\n  // inside\n  + 2;;\n";
        let out = format(src).unwrap();
        assert_eq!(out, "// head\n\na = 1; // trailing\n// own line\nb = a\n    // inside\n    + 2;\n");
        assert_eq!(format(&out).unwrap(), out);
    }

    #[test]
    fn refuses_broken_formulas() {
        assert_eq!(
            format("a = 1 +;").unwrap_err(),
            FmtError::Syntax { line: 1, column: 8, message: "unexpected `;`, expected an expression".to_owned() }
        );
    }

    #[test]
    fn keeps_a_byte_order_mark() {
        assert_eq!(format("\u{feff}a=1;b=a").unwrap(), "\u{feff}a = 1;\nb = a;\n");
        assert_eq!(format("\u{feff}").unwrap(), "\u{feff}");
        // Columns do not count the mark, as `check`'s do not: editors hide it.
        let error = format("\u{feff}a = 1;\nb = (1").unwrap_err();
        assert_eq!(error.to_string(), "2:7: syntax error (E0001): unexpected end of formula, expected `)`");
    }
}
