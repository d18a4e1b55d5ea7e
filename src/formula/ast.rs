//! The syntax tree the parser builds: statements and expressions, each with
//! the byte span it came from.

/// A byte range in the formula source. Line and column are computed only
/// when a diagnostic is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A name as written, `$` included when present.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// The text, e.g. `$TargetDedicatedNodes` or `maxNumberofVMs`.
    pub text: String,
    /// Where it is written.
    pub span: Span,
}

/// One statement of a formula.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `name = value`.
    Assign {
        /// The variable assigned.
        target: Name,
        /// The value.
        value: Expr,
    },
    /// A bare expression, evaluated for its effects (`stop()`, errors).
    Expr(Expr),
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `!x`
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `&&`
    And,
    /// `||`
    Or,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number literal.
    Number(f64),
    /// A string literal (unescaped).
    Str(String),
    /// A variable or constant.
    Name(Name),
    /// `function(args)`.
    Call {
        /// The function's name.
        function: Name,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// `receiver.method(args)`.
    Method {
        /// What the method is called on.
        receiver: Box<Expr>,
        /// The method's name.
        method: Name,
        /// The arguments.
        args: Vec<Expr>,
        /// The `(` of the call: the service reports sample errors there.
        paren: Span,
    },
    /// `receiver.member`.
    Member {
        /// What the member is read from.
        receiver: Box<Expr>,
        /// The member's name.
        member: Name,
    },
    /// `-x`, `!x`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        operand: Box<Expr>,
    },
    /// `a ∘ b`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `cond ? then : otherwise`.
    Ternary {
        /// The condition (nonzero is true).
        cond: Box<Expr>,
        /// The value when true.
        then: Box<Expr>,
        /// The value when false.
        otherwise: Box<Expr>,
    },
}

impl Expr {
    /// The direct subexpressions, left to right (the order they evaluate
    /// in), without allocating: the walks over every node of a formula
    /// call this once per node.
    pub fn children(&self) -> impl DoubleEndedIterator<Item = &Expr> {
        let (fixed, args): ([Option<&Expr>; 3], &[Expr]) = match &self.kind {
            ExprKind::Number(_) | ExprKind::Str(_) | ExprKind::Name(_) => ([None; 3], &[]),
            ExprKind::Call { args, .. } => ([None; 3], args),
            ExprKind::Method { receiver, args, .. } => ([Some(receiver), None, None], args),
            ExprKind::Member { receiver, .. } => ([Some(receiver), None, None], &[]),
            ExprKind::Unary { operand, .. } => ([Some(operand), None, None], &[]),
            ExprKind::Binary { lhs, rhs, .. } => ([Some(lhs), Some(rhs), None], &[]),
            ExprKind::Ternary { cond, then, otherwise } => ([Some(cond), Some(then), Some(otherwise)], &[]),
        };
        fixed.into_iter().flatten().chain(args)
    }

    /// An expression of `kind` spanning `start..end`.
    pub fn new(kind: ExprKind, start: usize, end: usize) -> Expr {
        Expr { kind, span: Span::new(start, end) }
    }

    /// A binary expression.
    pub fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        let span = lhs.span.to(rhs.span);
        Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span }
    }
}

impl Name {
    /// A name spanning `start..end`.
    pub fn new(text: &str, start: usize, end: usize) -> Name {
        Name { text: text.to_owned(), span: Span::new(start, end) }
    }
}
