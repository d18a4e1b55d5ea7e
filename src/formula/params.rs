//! Formula parameters: the constant a formula assigns to one of its
//! variables (`maxNumberofVMs = 25;`), read and replaced through the
//! syntax tree, so that `sweep` and `tune` can vary it as they vary a
//! scenario key.
//!
//! The tree, not the text, decides what is replaced: the one statement
//! that assigns the variable, and only when its value is a number literal
//! (optionally negated). The replacement is spliced in at that value's
//! span, so comments, spacing and every other statement stay exactly as
//! written. The result is parsed again and must read back the new value;
//! the caller then checks the whole formula as it checks any other
//! (a scenario refuses one with errors).

use super::ast::{ExprKind, Span, Statement, UnaryOp};

/// Why a formula parameter cannot be read or set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The formula does not parse, so it has no tree to look in.
    #[error("the formula has a syntax error: {0}")]
    Syntax(String),
    /// No statement assigns the variable.
    #[error("the formula does not assign `{0}`")]
    NotAssigned(String),
    /// Several statements assign it: which one is meant is unclear.
    #[error("the formula assigns `{name}` {count} times; a parameter must be assigned exactly once")]
    AssignedMoreThanOnce {
        /// The variable.
        name: String,
        /// How many statements assign it.
        count: usize,
    },
    /// It is assigned an expression, not a number.
    #[error("the formula assigns `{name} = {text}`, not a number; a parameter must be assigned a constant")]
    NotConstant {
        /// The variable.
        name: String,
        /// The expression as written.
        text: String,
    },
    /// The new value is not a finite number.
    #[error("`{0}` is not a number")]
    NotANumber(String),
}

/// The constant assigned to `name`: where its value is written, and the value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constant {
    /// The span of the value (the `-` of a negative one included).
    pub span: Span,
    /// The value.
    pub value: f64,
}

/// The constant that `source` assigns to `name`, which must be assigned
/// exactly once, to a number literal or a negated one.
pub fn constant(source: &str, name: &str) -> Result<Constant, ParamError> {
    let statements = super::parse::parse(source).map_err(|e| ParamError::Syntax(e.message))?;
    let values: Vec<_> = statements
        .iter()
        .filter_map(|s| match s {
            Statement::Assign { target, value } if target.text == name => Some(value),
            _ => None,
        })
        .collect();
    let value = match values.as_slice() {
        [] => return Err(ParamError::NotAssigned(name.to_owned())),
        [one] => *one,
        more => return Err(ParamError::AssignedMoreThanOnce { name: name.to_owned(), count: more.len() }),
    };
    let number = match &value.kind {
        ExprKind::Number(n) => Some(*n),
        ExprKind::Unary { op: UnaryOp::Neg, operand } => match operand.kind {
            ExprKind::Number(n) => Some(-n),
            _ => None,
        },
        _ => None,
    };
    let span = value.span;
    number
        .map(|value| Constant { span, value })
        .ok_or_else(|| ParamError::NotConstant { name: name.to_owned(), text: source[span.start..span.end].to_owned() })
}

/// `source` with the constant assigned to `name` replaced by `value`
/// (a number as the scenario files write it: `37`, `0.5`, `-2`).
pub fn set_constant(source: &str, name: &str, value: &str) -> Result<String, ParamError> {
    let number: f64 = value.trim().parse().map_err(|_| ParamError::NotANumber(value.to_owned()))?;
    if !number.is_finite() {
        return Err(ParamError::NotANumber(value.to_owned()));
    }
    let old = constant(source, name)?;
    let text = literal(number);
    let out = format!("{}{text}{}", &source[..old.span.start], &source[old.span.end..]);
    // The literal is one the lexer reads back exactly; the tree shows it.
    debug_assert_eq!(constant(&out, name).map(|c| c.value), Ok(number));
    Ok(out)
}

/// `value` as a formula literal that reads back as the same `f64`:
/// integers without a fraction, others in shortest round-trip form (Rust
/// never writes an exponent for `f64`, and the lexer takes plain decimals).
fn literal(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e15 { format!("{value:.0}") } else { format!("{value}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMULA: &str = "// cap\nmaxNumberofVMs = 25; // nodes\nw = -0.5;\n\
                           $TargetDedicatedNodes = min(maxNumberofVMs, $PendingTasks.GetSample(1) * w);";

    #[test]
    fn the_constant_is_replaced_in_place_and_nothing_else_changes() {
        let out = set_constant(FORMULA, "maxNumberofVMs", "37").unwrap();
        assert_eq!(out, FORMULA.replace("= 25;", "= 37;"));
        let out = set_constant(FORMULA, "w", "2.25").unwrap();
        assert_eq!(out, FORMULA.replace("-0.5", "2.25"));
        let out = set_constant(FORMULA, "maxNumberofVMs", "-3").unwrap();
        assert_eq!(constant(&out, "maxNumberofVMs").unwrap().value, -3.0);
        assert_eq!(constant(FORMULA, "w").unwrap().value, -0.5);
    }

    #[test]
    fn literals_read_back_as_the_same_number() {
        for v in [0.0, 1.0, 37.0, 0.1, 1.0 / 3.0, 1e-7, 123_456.789, 1e20] {
            let out = set_constant("x = 1;", "x", &v.to_string()).unwrap();
            assert_eq!(constant(&out, "x").unwrap().value, v, "{out}");
        }
        assert_eq!(literal(40.0), "40");
        assert_eq!(literal(0.5), "0.5");
    }

    #[test]
    fn a_variable_not_assigned_a_constant_exactly_once_is_refused() {
        assert_eq!(set_constant(FORMULA, "cap", "3"), Err(ParamError::NotAssigned("cap".to_owned())));
        assert_eq!(
            set_constant("a = 1; a = 2;", "a", "3"),
            Err(ParamError::AssignedMoreThanOnce { name: "a".to_owned(), count: 2 })
        );
        let e = set_constant(FORMULA, "$TargetDedicatedNodes", "3").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the formula assigns `$TargetDedicatedNodes = min(maxNumberofVMs, $PendingTasks.GetSample(1) * w)`, \
             not a number; a parameter must be assigned a constant"
        );
        assert!(set_constant("a = 2 * 3;", "a", "1").unwrap_err().to_string().contains("`a = 2 * 3`"));
        assert_eq!(set_constant(FORMULA, "w", "5m"), Err(ParamError::NotANumber("5m".to_owned())));
        assert_eq!(set_constant(FORMULA, "w", "inf"), Err(ParamError::NotANumber("inf".to_owned())));
        assert!(matches!(set_constant("a = ;", "a", "1"), Err(ParamError::Syntax(_))));
    }
}
