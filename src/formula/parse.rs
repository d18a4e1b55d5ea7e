//! lalrpop glue: source text → syntax tree, or one syntax error with a span
//! and a message saying what was expected.

use lalrpop_util::{ParseError, lalrpop_mod};

use super::ast::{Span, Statement};
use super::lexer::{LexError, Lexer, Token};

lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_qualifications, missing_docs)]
    grammar,
    "/formula.rs"
);

/// Text that does not follow the grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// Where the parser gave up.
    pub span: Span,
    /// What it found and what it expected, e.g. "unexpected `)`, expected an expression".
    pub message: String,
}

/// Parses a whole formula.
pub fn parse(source: &str) -> Result<Vec<Statement>, SyntaxError> {
    grammar::FormulaParser::new().parse(Lexer::new(source)).map_err(|e| syntax_error(source, e))
}

fn syntax_error(source: &str, error: ParseError<usize, Token<'_>, LexError>) -> SyntaxError {
    match error {
        ParseError::User { error } => SyntaxError { span: error.span, message: error.to_string() },
        ParseError::InvalidToken { location } => {
            SyntaxError { span: Span::new(location, location + 1), message: "invalid token".to_owned() }
        }
        ParseError::UnrecognizedEof { location, expected } => SyntaxError {
            span: Span::new(location, location),
            message: format!("unexpected end of formula, expected {}", describe_expected(&expected)),
        },
        ParseError::UnrecognizedToken { token: (l, _, r), expected } => SyntaxError {
            span: Span::new(l, r),
            message: format!("unexpected `{}`, expected {}", &source[l..r], describe_expected(&expected)),
        },
        ParseError::ExtraToken { token: (l, _, r) } => {
            SyntaxError { span: Span::new(l, r), message: format!("unexpected `{}`", &source[l..r]) }
        }
    }
}

/// Turns lalrpop's list of terminal names into readable English. Where an
/// expression could start, it says "an expression" rather than listing the
/// dozen tokens that may begin one.
fn describe_expected(expected: &[String]) -> String {
    let names: Vec<&str> = expected.iter().map(|s| s.trim_matches('"')).collect();
    let expression_start = ["number", "string", "name", "$name", "(", "-", "!"];
    let mut parts: Vec<String> = Vec::new();
    if expression_start.iter().all(|t| names.contains(t)) {
        parts.push("an expression".to_owned());
    }
    let operators = ["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "&&", "||", "?", "."];
    let is_operator_list = operators.iter().filter(|o| names.contains(o)).count() > 3;
    if is_operator_list {
        parts.push("an operator".to_owned());
    }
    for name in &names {
        let covered = (parts.first().is_some_and(|p| p == "an expression") && expression_start.contains(name))
            || (is_operator_list && operators.contains(name));
        if !covered {
            parts.push(match *name {
                "number" => "a number".to_owned(),
                "string" => "a string".to_owned(),
                "name" | "$name" => "a name".to_owned(),
                other => format!("`{other}`"),
            });
        }
    }
    parts.dedup();
    match parts.as_slice() {
        [] => "nothing more".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::ast::{BinaryOp, ExprKind};

    #[test]
    fn precedence_is_c_like() {
        let stmts = parse("x = 1 + 2 * 3 < 4 && !y || z ? a : b ? c : d").unwrap();
        let Statement::Assign { value, .. } = &stmts[0] else { panic!("not an assignment") };
        let ExprKind::Ternary { cond, otherwise, .. } = &value.kind else { panic!("not a ternary: {value:?}") };
        assert!(matches!(cond.kind, ExprKind::Binary { op: BinaryOp::Or, .. }));
        assert!(matches!(otherwise.kind, ExprKind::Ternary { .. }), "ternary is right-associative");
    }

    #[test]
    fn empty_statements_and_trailing_semicolon() {
        assert_eq!(parse("").unwrap().len(), 0);
        assert_eq!(parse(";;a=1;;b=2;").unwrap().len(), 2);
        assert_eq!(parse("// only a comment\n").unwrap().len(), 0);
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = parse("a = ;").unwrap_err();
        assert_eq!((e.span, e.message.as_str()), (Span::new(4, 5), "unexpected `;`, expected an expression"));
        let e = parse("a = (1 + 2").unwrap_err();
        assert_eq!(e.message, "unexpected end of formula, expected `)`");
        let e = parse("f(1,)").unwrap_err();
        assert_eq!(e.message, "unexpected `)`, expected an expression");
    }
}
