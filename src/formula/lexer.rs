//! Tokens of the formula language (logos), yielded in the shape lalrpop's
//! external-lexer contract expects: `Result<(start, Token, end), LexError>`.

use logos::Logos;

use super::ast::Span;

/// One token. Identifiers borrow from the source; string literals own their
/// unescaped text.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip("//", callback = line_comment))]
pub enum Token<'src> {
    /// `12`, `0.7`, `.5`, `1e3`, `2.5E-2`.
    #[regex(r"[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?", number)]
    #[regex(r"\.[0-9]+([eE][+-]?[0-9]+)?", number)]
    Number(f64),
    /// `"..."`, with `\"` and `\\` unescaped.
    #[token("\"", string)]
    Str(String),
    /// A name with a leading `$`: service variables and user variables.
    #[regex(r"\$[A-Za-z_][A-Za-z0-9_]*")]
    DollarIdent(&'src str),
    /// A bare name: functions, methods, members, constants, user variables.
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Ident(&'src str),
    #[token(";")]
    Semi,
    #[token("=")]
    Assign,
    #[token("?")]
    Question,
    #[token(":")]
    Colon,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token(",")]
    Comma,
    #[token(".")]
    Dot,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("!")]
    Bang,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
}

fn number<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> Option<f64> {
    lex.slice().parse().ok()
}

// Comments and strings are scanned by hand, not by logos regexes: in a
// debug build the code logos generates for `[^\n]*` recurses once per
// multi-byte character, so a few thousand `é` in a comment or string
// overflowed the stack.

/// Skips a `//` comment to the end of its line.
fn line_comment<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> logos::Skip {
    let rest = lex.remainder();
    lex.bump(rest.find('\n').unwrap_or(rest.len()));
    logos::Skip
}

/// The rest of a string literal after its `"`, unescaped: `\"` and `\\`
/// stand for `"` and `\`, any other `\c` for itself. `None` (an error
/// spanning the rest of the line) when the line ends first.
fn string<'src>(lex: &mut logos::Lexer<'src, Token<'src>>) -> Option<String> {
    let rest = lex.remainder();
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                lex.bump(i + 1);
                return Some(out);
            }
            '\n' => break,
            '\\' => match chars.next() {
                None | Some((_, '\n')) => break,
                Some((_, escaped @ ('"' | '\\'))) => out.push(escaped),
                Some((_, other)) => out.extend(['\\', other]),
            },
            c => out.push(c),
        }
    }
    lex.bump(rest.find('\n').unwrap_or(rest.len()));
    None
}

/// A character sequence that is no token.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    /// Where it is.
    pub span: Span,
    /// What was found.
    pub kind: LexErrorKind,
}

/// What kind of text failed to lex.
#[derive(Debug, Clone, PartialEq)]
pub enum LexErrorKind {
    /// A `"` with no closing `"` on the same line.
    UnterminatedString,
    /// A character the language does not use, such as `@` or `#`.
    UnexpectedCharacter(char),
}

impl std::fmt::Display for LexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            LexErrorKind::UnterminatedString => f.write_str("unterminated string literal"),
            LexErrorKind::UnexpectedCharacter(c) => write!(f, "unexpected character {c:?}"),
        }
    }
}

/// The tokens of `source` with their byte spans.
pub struct Lexer<'src> {
    inner: logos::SpannedIter<'src, Token<'src>>,
}

impl<'src> Lexer<'src> {
    /// Starts lexing `source`.
    pub fn new(source: &'src str) -> Self {
        Lexer { inner: Token::lexer(source).spanned() }
    }
}

impl<'src> Iterator for Lexer<'src> {
    type Item = Result<(usize, Token<'src>, usize), LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (token, range) = self.inner.next()?;
        Some(match token {
            Ok(token) => Ok((range.start, token, range.end)),
            Err(()) => {
                let text = &self.inner.source()[range.start..];
                let kind = match text.chars().next() {
                    Some('"') => LexErrorKind::UnterminatedString,
                    Some(c) => LexErrorKind::UnexpectedCharacter(c),
                    None => LexErrorKind::UnexpectedCharacter('\0'),
                };
                let end = match kind {
                    LexErrorKind::UnterminatedString => range.start + text.find('\n').unwrap_or(text.len()),
                    LexErrorKind::UnexpectedCharacter(c) => range.start + c.len_utf8(),
                };
                Err(LexError { span: Span::new(range.start, end), kind })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Token<'_>> {
        Lexer::new(src).map(|t| t.map(|(_, t, _)| t).unwrap()).collect()
    }

    #[test]
    fn numbers_names_and_comments() {
        assert_eq!(
            tokens("$x = .5 + 1e3; // comment\ny.hour"),
            [
                Token::DollarIdent("$x"),
                Token::Assign,
                Token::Number(0.5),
                Token::Plus,
                Token::Number(1000.0),
                Token::Semi,
                Token::Ident("y"),
                Token::Dot,
                Token::Ident("hour"),
            ]
        );
        assert_eq!(tokens("a<=b!=c"), [Token::Ident("a"), Token::Le, Token::Ident("b"), Token::Ne, Token::Ident("c")]);
    }

    #[test]
    fn crlf_lexes_like_lf() {
        let src = "a = 1;\nb = a * 2; // x\n";
        assert_eq!(tokens(src), tokens(&src.replace('\n', "\r\n")));
    }

    #[test]
    fn strings_unescape() {
        assert_eq!(tokens(r#""a\"b\\c""#), [Token::Str(r#"a"b\c"#.into())]);
    }

    #[test]
    fn strings_and_comments_of_any_length_lex_on_a_small_stack() {
        let long = "é".repeat(3042);
        let source = format!("\"{long}\" // {long}\n\"{long}");
        let lex = move || {
            let all: Vec<_> = Lexer::new(&source).map(|t| t.map(|(_, t, _)| t)).collect();
            assert_eq!(all.len(), 2);
            assert_eq!(all[0], Ok(Token::Str("é".repeat(3042))));
            assert!(matches!(&all[1], Err(LexError { kind: LexErrorKind::UnterminatedString, .. })));
        };
        std::thread::Builder::new().stack_size(256 << 10).spawn(lex).unwrap().join().unwrap();
    }

    #[test]
    fn escapes_and_unterminated_strings() {
        assert_eq!(tokens(r#""\n\\" x"#), [Token::Str(r"\n\".into()), Token::Ident("x")]);
        let all: Vec<_> = Lexer::new("a \"open x + 1\nb \"é\" // c\n\"x\\").collect();
        assert_eq!(
            all,
            [
                Ok((0, Token::Ident("a"), 1)),
                Err(LexError { span: Span::new(2, 13), kind: LexErrorKind::UnterminatedString }),
                Ok((14, Token::Ident("b"), 15)),
                Ok((16, Token::Str("é".into()), 20)),
                Err(LexError { span: Span::new(26, 29), kind: LexErrorKind::UnterminatedString }),
            ]
        );
    }

    #[test]
    fn errors_have_spans() {
        let errs: Vec<_> = Lexer::new("a @ \"open\nb").filter_map(Result::err).collect();
        assert_eq!(errs[0], LexError { span: Span::new(2, 3), kind: LexErrorKind::UnexpectedCharacter('@') });
        assert_eq!(errs[1], LexError { span: Span::new(4, 9), kind: LexErrorKind::UnterminatedString });
    }
}
