//! The checked program: every name resolved, every node typed.
//!
//! The checker turns a syntax tree into this form; the interpreter (and the
//! JIT) run it. A statement the checker rejected is kept as a
//! [`NodeKind::Fail`] node: the service reports such errors only when
//! evaluation reaches them, after the statements before have run, and `eval`
//! must do the same.

use autoscale_runtime::Value;
use autoscale_runtime::aggregate::{Log, Rounding};
use autoscale_runtime::time::TimestampField;
use autoscale_runtime::vector::Arith;

use super::ast::Span;
use super::builtins::{ListFunction, Metric, ServiceVar};
use super::diag::Diagnostic;
use super::results::VariableOrder;

/// The static type of a node (spec §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// `double` (and booleans).
    Double,
    /// `doubleVec`.
    Vector,
    /// `string`.
    Str,
    /// `timestamp`.
    Timestamp,
    /// `timeinterval`.
    Interval,
    /// A deallocation option keyword.
    Dealloc,
    /// Never produces a value: `stop()`, or a node that always fails.
    Never,
}

impl Type {
    /// The type's name in messages, as the docs spell it.
    pub fn name(self) -> &'static str {
        match self {
            Type::Double => "double",
            Type::Vector => "doubleVec",
            Type::Str => "string",
            Type::Timestamp => "timestamp",
            Type::Interval => "timeinterval",
            Type::Dealloc => "deallocation option",
            Type::Never => "nothing",
        }
    }
}

/// A user variable, numbered in order of first assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub u32);

/// A variable an assignment writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A user variable.
    User(VarId),
    /// A writable service variable.
    Service(ServiceVar),
}

/// One checked statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `target = value`; `span` covers the whole statement.
    Assign {
        /// What is assigned.
        target: Target,
        /// The value.
        value: Node,
        /// The statement's span.
        span: Span,
    },
    /// A bare expression.
    Eval(Node),
}

/// Comparison operators; each yields 1 or 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Comparison {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Comparison {
    /// Applies the comparison to any ordered values.
    pub fn holds<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Comparison::Lt => a < b,
            Comparison::Le => a <= b,
            Comparison::Gt => a > b,
            Comparison::Ge => a >= b,
            Comparison::Eq => a == b,
            Comparison::Ne => a != b,
        }
    }
}

/// `&&` or `||` (both sides are always evaluated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Logic {
    And,
    Or,
}

/// What a sample method call computes; which form of `GetSample` is meant is
/// decided from the argument types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleQuery {
    /// `GetSample(n)`: the last n samples. Args: `[n]`.
    Last,
    /// `GetSample(from [, to] [, pct])`. Args: `[from, to?, pct?]`, each
    /// look-back point a timeinterval (age) or a timestamp.
    Window {
        /// Whether a second look-back point is given.
        to: bool,
        /// Whether a required percentage is given.
        percent: bool,
    },
    /// `GetSamplePercent(from [, to])`. Args: `[from, to?]`.
    Percent {
        /// Whether a second look-back point is given.
        to: bool,
    },
    /// `GetSamplePeriod()`.
    Period,
    /// `Count()`.
    Count,
    /// `HistoryBeginTime()`.
    BeginTime,
}

/// A typed expression node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it computes.
    pub kind: NodeKind,
    /// Its static type.
    pub ty: Type,
    /// Where it is written.
    pub span: Span,
}

/// The operations of the checked program.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A literal or named constant.
    Const(Value),
    /// Reads a user variable (always assigned before: otherwise the checker
    /// produced a `Fail`).
    User(VarId),
    /// Reads a service scalar.
    Service(ServiceVar),
    /// `-x` on a double or an interval.
    Neg(Box<Node>),
    /// `!x`.
    Not(Box<Node>),
    /// `+ - * /` on the operand types the node's children have.
    Arith(Arith, Box<Node>, Box<Node>),
    /// A comparison of two values of the same type.
    Compare(Comparison, Box<Node>, Box<Node>),
    /// `&&`, `||`.
    Logic(Logic, Box<Node>, Box<Node>),
    /// `cond ? then : otherwise`.
    Ternary(Box<Node>, Box<Node>, Box<Node>),
    /// A list function of the flattened arguments.
    List(ListFunction, Vec<Node>),
    /// `percentile(v, p)`.
    Percentile(Box<Node>, Box<Node>),
    /// `val(v, i)`.
    Val(Box<Node>, Box<Node>),
    /// `lg`, `ln`, `log` on a double or element-wise on a vector.
    Log(Log, Box<Node>),
    /// `ceil`, `floor`, `round`.
    Round(Rounding, Box<Node>),
    /// `rand()`.
    Rand,
    /// `stop()`.
    Stop,
    /// `time()`: the evaluation instant.
    Now,
    /// `time(s)`.
    ParseTime(Box<Node>),
    /// `t.hour` and the other timestamp members.
    Member(TimestampField, Box<Node>),
    /// A method of a metric.
    Sample {
        /// The metric.
        metric: Metric,
        /// The query.
        query: SampleQuery,
        /// The arguments, in the order written.
        args: Vec<Node>,
        /// The call's `(`: sample errors are reported there.
        paren: Span,
    },
    /// Evaluates `children` in order, then fails with `error`.
    Fail {
        /// Subexpressions that run before the failure (they may stop or fail first).
        children: Vec<Node>,
        /// The error the evaluation reports.
        error: Box<Diagnostic>,
    },
}

/// A checked formula.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    /// The statements, in order.
    pub statements: Vec<Stmt>,
    /// User variable names as written, indexed by [`VarId`].
    pub variables: Vec<String>,
    /// The same, in results-string order.
    pub order: VariableOrder,
}
