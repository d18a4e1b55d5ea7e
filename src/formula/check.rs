//! The checker: resolves every name, types every expression (spec §3–§7)
//! and produces the [`Program`] both engines run.
//!
//! Errors do not stop checking. Each is recorded as a diagnostic (what
//! `check` prints) and also left in the program as a [`NodeKind::Fail`] at
//! the place it occurs, because the service reports such errors only when
//! evaluation reaches them. A failing node has type [`Type::Never`], which
//! fits everywhere, so one mistake is reported once, not at every use.

use std::collections::HashMap;

use autoscale_runtime::time::TimestampField;
use autoscale_runtime::vector::Arith;
use autoscale_runtime::{DeallocationOption, Interval, Value};

use super::ast::{self, BinaryOp, Expr, ExprKind, Name, Span, UnaryOp};
use super::builtins::{Function, Metric, SampleMethod, ServiceVar};
use super::diag::{Code, Diagnostic};
use super::ir::{Comparison, Logic, Node, NodeKind, Program, SampleQuery, Stmt, Target, Type, VarId};
use super::results::VariableOrder;

/// Checks a parsed formula. The diagnostics come in source order; an empty
/// list means the formula is valid.
pub fn check(statements: &[ast::Statement]) -> (Program, Vec<Diagnostic>) {
    let mut checker = Checker::default();
    let statements = statements.iter().map(|s| checker.statement(s)).collect();
    let mut diagnostics = checker.diagnostics;
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    let order = VariableOrder::new(&checker.variables);
    (Program { statements, variables: checker.variables, order }, diagnostics)
}

#[derive(Default)]
struct Checker {
    variables: Vec<String>,
    ids: HashMap<String, VarId>,
    /// The type of each user variable's latest assignment so far; `None`
    /// until the first one.
    types: Vec<Option<Type>>,
    diagnostics: Vec<Diagnostic>,
}

/// What a name written in an expression denotes.
enum Resolved {
    Service(ServiceVar),
    Metric(Metric),
    Constant(Value),
    User,
}

fn resolve(name: &str) -> Resolved {
    if let Some(metric) = name.strip_prefix('$').and_then(Metric::named) {
        return Resolved::Metric(metric);
    }
    if let Some(var) = ServiceVar::named(name) {
        return Resolved::Service(var);
    }
    if let Some(interval) = Interval::named(name) {
        return Resolved::Constant(Value::Interval(interval));
    }
    if let Some(option) = DeallocationOption::from_keyword(name) {
        return Resolved::Constant(Value::Dealloc(option));
    }
    Resolved::User
}

/// Whether a value of type `ty` may stand where one of `allowed` is expected.
fn fits(ty: Type, allowed: &[Type]) -> bool {
    ty == Type::Never || allowed.contains(&ty)
}

const LOOK_BACK: &[Type] = &[Type::Interval, Type::Timestamp];
const LIST_ITEM: &[Type] = &[Type::Double, Type::Vector];
const DOUBLE: &[Type] = &[Type::Double];

impl Checker {
    fn statement(&mut self, statement: &ast::Statement) -> Stmt {
        match statement {
            ast::Statement::Expr(e) => Stmt::Eval(self.expr(e)),
            ast::Statement::Assign { target, value } => {
                let value = self.expr(value);
                self.assign(target, value)
            }
        }
    }

    fn assign(&mut self, target: &Name, value: Node) -> Stmt {
        let span = target.span.to(value.span);
        let name = target.text.as_str();
        let refuse = |checker: &mut Self, d: Diagnostic| Stmt::Eval(checker.fail(vec![value.clone()], d));
        match resolve(name) {
            Resolved::Service(var) if var.is_writable() => {
                let (expected, code) = if var == ServiceVar::DeallocationOption {
                    (Type::Dealloc, Code::DeallocationValue)
                } else {
                    (Type::Double, Code::AssignType)
                };
                if !fits(value.ty, &[expected]) {
                    let wanted = if expected == Type::Dealloc {
                        "requeue, terminate, taskcompletion or retaineddata"
                    } else {
                        "a double"
                    };
                    let d = Diagnostic::new(
                        code,
                        value.span,
                        format!("{name} must be assigned {wanted}, not a {}", value.ty.name()),
                        format!("this is a {}", value.ty.name()),
                    );
                    return refuse(self, d);
                }
                Stmt::Assign { target: Target::Service(var), value, span }
            }
            Resolved::Service(_) | Resolved::Metric(_) => {
                let d = Diagnostic::new(
                    Code::ReadOnly,
                    target.span,
                    format!("Cannot assign to read-only variable {name}"),
                    "read-only service variable",
                )
                .with_help("assign a user variable instead, e.g. `$nodes = ...`");
                refuse(self, d)
            }
            Resolved::Constant(_) => {
                let d = Diagnostic::new(
                    Code::ReadOnly,
                    target.span,
                    format!("Cannot assign to constant {name}"),
                    "a constant of the language",
                )
                .with_help("choose another variable name");
                refuse(self, d)
            }
            Resolved::User => {
                if value.ty == Type::Dealloc {
                    let d = Diagnostic::new(
                        Code::DeallocationValue,
                        value.span,
                        "A deallocation option can only be assigned to $NodeDeallocationOption",
                        "deallocation option",
                    );
                    return refuse(self, d);
                }
                let id = self.declare(name);
                self.types[id.0 as usize] = Some(value.ty);
                Stmt::Assign { target: Target::User(id), value, span }
            }
        }
    }

    fn declare(&mut self, name: &str) -> VarId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = VarId(self.variables.len() as u32);
        self.variables.push(name.to_owned());
        self.types.push(None);
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// A node that evaluates `children`, then fails with `d` (also recorded
    /// for `check`).
    fn fail(&mut self, children: Vec<Node>, d: Diagnostic) -> Node {
        let span = d.span;
        self.diagnostics.push(d.clone());
        Node { kind: NodeKind::Fail { children, error: Box::new(d) }, ty: Type::Never, span }
    }

    fn node(kind: NodeKind, ty: Type, span: Span) -> Node {
        Node { kind, ty, span }
    }

    fn expr(&mut self, e: &Expr) -> Node {
        let span = e.span;
        match &e.kind {
            ExprKind::Number(x) => Self::node(NodeKind::Const(Value::Double(*x)), Type::Double, span),
            ExprKind::Str(s) => Self::node(NodeKind::Const(Value::Str(s.as_str().into())), Type::Str, span),
            ExprKind::Name(name) => self.read(name),
            ExprKind::Call { function, args } => {
                let args = args.iter().map(|a| self.expr(a)).collect();
                self.call(function, args, span)
            }
            ExprKind::Method { receiver, method, args, paren } => self.method(receiver, method, args, *paren, span),
            ExprKind::Member { receiver, member } => self.member(receiver, member, span),
            ExprKind::Unary { op, operand } => {
                let operand = self.expr(operand);
                self.unary(*op, operand, span)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let lhs = self.expr(lhs);
                let rhs = self.expr(rhs);
                self.binary(*op, lhs, rhs, span)
            }
            ExprKind::Ternary { cond, then, otherwise } => {
                let cond = self.expr(cond);
                let then = self.expr(then);
                let otherwise = self.expr(otherwise);
                self.ternary(cond, then, otherwise, span)
            }
        }
    }

    fn read(&mut self, name: &Name) -> Node {
        let span = name.span;
        match resolve(&name.text) {
            Resolved::Service(var) => {
                let ty = if var == ServiceVar::DeallocationOption { Type::Dealloc } else { Type::Double };
                Self::node(NodeKind::Service(var), ty, span)
            }
            Resolved::Metric(metric) => self.metric_as_value(metric, span),
            Resolved::Constant(value) => {
                let ty = match value {
                    Value::Interval(_) => Type::Interval,
                    _ => Type::Dealloc,
                };
                Self::node(NodeKind::Const(value), ty, span)
            }
            Resolved::User => match self.ids.get(&name.text).map(|id| (*id, self.types[id.0 as usize])) {
                Some((id, Some(ty))) => Self::node(NodeKind::User(id), ty, span),
                _ => {
                    let mut d = Diagnostic::new(
                        Code::UndefinedSymbol,
                        span,
                        format!("Undefined symbol: {}", name.text),
                        "not assigned before this point",
                    );
                    if let Some(help) = undefined_symbol_help(&name.text) {
                        d = d.with_help(help);
                    }
                    self.fail(Vec::new(), d)
                }
            },
        }
    }

    fn metric_as_value(&mut self, metric: Metric, span: Span) -> Node {
        let name = metric.name();
        let d = Diagnostic::new(
            Code::MetricAsValue,
            span,
            format!("${name} is a metric, not a number: read it through a method"),
            "metric used as a value",
        )
        .with_help(format!("use e.g. `avg(${name}.GetSample(TimeInterval_Minute * 5))` or `${name}.GetSample(1)`"));
        self.fail(Vec::new(), d)
    }

    fn call(&mut self, function: &Name, args: Vec<Node>, span: Span) -> Node {
        let Some(f) = Function::named(&function.text) else {
            let mut d = Diagnostic::new(
                Code::UnknownFunction,
                function.span,
                format!("Undefined function: {}", function.text),
                "no such function",
            );
            if let Some((name, _, _)) = Function::ALL.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(&function.text)) {
                d = d.with_help(format!("function names are case-sensitive: did you mean `{name}`?"));
            }
            return self.fail(args, d);
        };
        let found = args.iter().map(|a| a.ty.name()).collect::<Vec<_>>().join(", ");
        match build_call(f, args) {
            Ok((kind, ty)) => Self::node(kind, ty, span),
            Err(args) => {
                let d = Diagnostic::new(
                    Code::ArgumentType,
                    span,
                    format!("Invalid arguments to {}({found})", f.name()),
                    "arguments do not match",
                )
                .with_help(format!("expected {}", f.signature()));
                self.fail(args, d)
            }
        }
    }

    /// A method call: valid only on a metric, with one of the sample
    /// methods' argument lists.
    fn method(&mut self, receiver: &Expr, method: &Name, args: &[Expr], paren: Span, span: Span) -> Node {
        let metric = match &receiver.kind {
            ExprKind::Name(n) => n.text.strip_prefix('$').and_then(Metric::named),
            _ => None,
        };
        let Some(metric) = metric else {
            return self.method_of_non_metric(receiver, method, args);
        };
        let args: Vec<Node> = args.iter().map(|a| self.expr(a)).collect();
        let Some(m) = SampleMethod::named(&method.text) else {
            return self.fail(args, unknown_method(metric, method));
        };
        let types: Vec<Type> = args.iter().map(|a| a.ty).collect();
        let Some(query) = sample_query(m, &types) else {
            let found = types.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
            let d = Diagnostic::new(
                Code::ArgumentType,
                span,
                format!("Invalid arguments to ${}.{}({found})", metric.name(), method.text),
                "arguments do not match",
            )
            .with_help(format!("expected {}", m.signature()));
            return self.fail(args, d);
        };
        Self::node(NodeKind::Sample { metric, query, args, paren }, query_type(query), span)
    }

    /// A method called on anything but a metric: an error, after the
    /// receiver and the arguments.
    fn method_of_non_metric(&mut self, receiver: &Expr, method: &Name, args: &[Expr]) -> Node {
        let receiver = self.expr(receiver);
        let ty = receiver.ty;
        let children = std::iter::once(receiver).chain(args.iter().map(|a| self.expr(a))).collect();
        let d = Diagnostic::new(
            Code::UnknownMember,
            method.span,
            format!("A {} has no method {}", ty.name(), method.text),
            "methods exist only on metrics such as $CPUPercent",
        );
        if ty == Type::Never {
            // The receiver's own error is reported (and fails first at
            // run time); "a nothing has no method" would only mislead.
            return Self::node(NodeKind::Fail { children, error: Box::new(d) }, Type::Never, method.span);
        }
        self.fail(children, d)
    }

    fn member(&mut self, receiver: &Expr, member: &Name, span: Span) -> Node {
        let receiver = self.expr(receiver);
        let field = TimestampField::named(&member.text);
        match (receiver.ty, field) {
            (Type::Timestamp | Type::Never, Some(field)) => {
                Self::node(NodeKind::Member(field, Box::new(receiver)), Type::Double, span)
            }
            (ty, _) => {
                let mut d = Diagnostic::new(
                    Code::UnknownMember,
                    member.span,
                    format!("A {} has no member {}", ty.name(), member.text),
                    "no such member",
                );
                if ty == Type::Timestamp || ty == Type::Never {
                    d = d.with_help("a timestamp has year, month, day, weekday, hour, minute and second");
                }
                if ty == Type::Never {
                    // Reported already, as for a method on a failed receiver.
                    return Self::node(
                        NodeKind::Fail { children: vec![receiver], error: Box::new(d) },
                        ty,
                        member.span,
                    );
                }
                self.fail(vec![receiver], d)
            }
        }
    }

    fn unary(&mut self, op: UnaryOp, operand: Node, span: Span) -> Node {
        let ty = match (op, operand.ty) {
            (_, Type::Never) => Type::Never,
            (_, Type::Double) => Type::Double,
            (UnaryOp::Neg, Type::Interval) => Type::Interval,
            (op, ty) => {
                let symbol = if op == UnaryOp::Neg { "-" } else { "!" };
                let d = Diagnostic::new(
                    Code::OperatorType,
                    span,
                    format!("Operator {symbol} cannot be applied to a {}", ty.name()),
                    format!("this is a {}", ty.name()),
                );
                return self.fail(vec![operand], d);
            }
        };
        let operand = Box::new(operand);
        let kind = if op == UnaryOp::Neg { NodeKind::Neg(operand) } else { NodeKind::Not(operand) };
        Self::node(kind, ty, span)
    }

    fn binary(&mut self, op: BinaryOp, lhs: Node, rhs: Node, span: Span) -> Node {
        let operation = Operation::of(op);
        let (l, r) = (lhs.ty, rhs.ty);
        if l == Type::Never || r == Type::Never {
            // An operand that always fails (reported already) or stops: at
            // run time the operands run left to right until it halts, and
            // the operator is never applied, so an engine must not type-check
            // the other operand first (`$v || $undefined` once failed with
            // "internal error: unexpected value [..]").
            let d = Diagnostic::new(Code::OperatorType, span, "internal error: operator applied to no value", "");
            return Self::node(NodeKind::Fail { children: vec![lhs, rhs], error: Box::new(d) }, Type::Never, span);
        }
        let Some(ty) = operation.result(l, r) else {
            let mut d = Diagnostic::new(
                Code::OperatorType,
                span,
                format!("Operator {} cannot be applied to {} and {}", op.symbol(), l.name(), r.name()),
                format!("{} {} {}", l.name(), op.symbol(), r.name()),
            );
            if let Some(help) = operator_help(op, l, r) {
                d = d.with_help(help);
            }
            return self.fail(vec![lhs, rhs], d);
        };
        let (lhs, rhs) = (Box::new(lhs), Box::new(rhs));
        let kind = match operation {
            Operation::Arith(a) => NodeKind::Arith(a, lhs, rhs),
            Operation::Compare(c) => NodeKind::Compare(c, lhs, rhs),
            Operation::Logic(g) => NodeKind::Logic(g, lhs, rhs),
        };
        Self::node(kind, ty, span)
    }

    fn ternary(&mut self, cond: Node, then: Node, otherwise: Node, span: Span) -> Node {
        if !fits(cond.ty, DOUBLE) {
            let d = Diagnostic::new(
                Code::TernaryType,
                cond.span,
                format!("The condition of ?: must be a double, not a {}", cond.ty.name()),
                "condition",
            );
            return self.fail(vec![cond, then, otherwise], d);
        }
        let ty = match (then.ty, otherwise.ty) {
            (Type::Never, t) | (t, Type::Never) => t,
            (a, b) if a == b => a,
            (a, b) => {
                let d = Diagnostic::new(
                    Code::TernaryType,
                    span,
                    format!("The branches of ?: have different types: {} and {}", a.name(), b.name()),
                    "branches differ",
                );
                return self.fail(vec![cond, then, otherwise], d);
            }
        };
        Self::node(NodeKind::Ternary(Box::new(cond), Box::new(then), Box::new(otherwise)), ty, span)
    }
}

/// A binary operator by what it does.
#[derive(Clone, Copy)]
enum Operation {
    Arith(Arith),
    Compare(Comparison),
    Logic(Logic),
}

impl Operation {
    fn of(op: BinaryOp) -> Operation {
        match op {
            BinaryOp::Add => Operation::Arith(Arith::Add),
            BinaryOp::Sub => Operation::Arith(Arith::Sub),
            BinaryOp::Mul => Operation::Arith(Arith::Mul),
            BinaryOp::Div => Operation::Arith(Arith::Div),
            BinaryOp::Lt => Operation::Compare(Comparison::Lt),
            BinaryOp::Le => Operation::Compare(Comparison::Le),
            BinaryOp::Gt => Operation::Compare(Comparison::Gt),
            BinaryOp::Ge => Operation::Compare(Comparison::Ge),
            BinaryOp::Eq => Operation::Compare(Comparison::Eq),
            BinaryOp::Ne => Operation::Compare(Comparison::Ne),
            BinaryOp::And => Operation::Logic(Logic::And),
            BinaryOp::Or => Operation::Logic(Logic::Or),
        }
    }

    /// The result type for operands `l` and `r` (spec §4), if they are allowed.
    fn result(self, l: Type, r: Type) -> Option<Type> {
        use Type::{Double, Interval, Str, Timestamp, Vector};
        match self {
            Operation::Arith(op) => match (op, l, r) {
                (_, Double, Double) => Some(Double),
                (_, Vector, Double | Vector) | (_, Double, Vector) => Some(Vector),
                (Arith::Mul, Double, Interval) | (Arith::Mul | Arith::Div, Interval, Double) => Some(Interval),
                (Arith::Add | Arith::Sub, Interval, Interval) => Some(Interval),
                (Arith::Add, Timestamp, Interval) | (Arith::Add, Interval, Timestamp) => Some(Timestamp),
                (Arith::Sub, Timestamp, Timestamp) => Some(Interval),
                _ => None,
            },
            Operation::Compare(_) => (l == r && matches!(l, Double | Str | Timestamp | Interval)).then_some(Double),
            Operation::Logic(_) => (l == Double && r == Double).then_some(Double),
        }
    }
}

/// Types a call of `f` and builds its node, or gives the arguments back when
/// they do not match the function's signature.
fn build_call(f: Function, args: Vec<Node>) -> Result<(NodeKind, Type), Vec<Node>> {
    match f {
        Function::List(list) if args.iter().all(|a| fits(a.ty, LIST_ITEM)) => {
            Ok((NodeKind::List(list, args), Type::Double))
        }
        Function::Percentile | Function::Val => {
            let [v, x]: [Node; 2] = args.try_into()?;
            if !(fits(v.ty, LIST_ITEM) && fits(x.ty, DOUBLE)) {
                return Err(vec![v, x]);
            }
            let (v, x) = (Box::new(v), Box::new(x));
            let kind = if f == Function::Val { NodeKind::Val(v, x) } else { NodeKind::Percentile(v, x) };
            Ok((kind, Type::Double))
        }
        Function::Log(log) => {
            let [x]: [Node; 1] = args.try_into()?;
            let ty = match x.ty {
                Type::Vector => Type::Vector,
                t if fits(t, DOUBLE) => Type::Double,
                _ => return Err(vec![x]),
            };
            Ok((NodeKind::Log(log, Box::new(x)), ty))
        }
        Function::Round(rounding) => {
            let [x]: [Node; 1] = args.try_into()?;
            if !fits(x.ty, DOUBLE) {
                return Err(vec![x]);
            }
            Ok((NodeKind::Round(rounding, Box::new(x)), Type::Double))
        }
        Function::Rand if args.is_empty() => Ok((NodeKind::Rand, Type::Double)),
        Function::Stop if args.is_empty() => Ok((NodeKind::Stop, Type::Never)),
        Function::Time if args.is_empty() => Ok((NodeKind::Now, Type::Timestamp)),
        Function::Time => {
            let [s]: [Node; 1] = args.try_into()?;
            if !fits(s.ty, &[Type::Str]) {
                return Err(vec![s]);
            }
            Ok((NodeKind::ParseTime(Box::new(s)), Type::Timestamp))
        }
        Function::List(_) | Function::Rand | Function::Stop => Err(args),
    }
}

/// The error for a metric method that does not exist, with the right
/// spelling where only the case differs.
fn unknown_method(metric: Metric, method: &Name) -> Diagnostic {
    let d = Diagnostic::new(
        Code::UnknownMethod,
        method.span,
        format!("${} has no method {}", metric.name(), method.text),
        "no such method",
    );
    match SampleMethod::ALL.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(&method.text)) {
        Some((name, _, _)) => d.with_help(format!("method names are case-sensitive: did you mean `{name}`?")),
        None => d.with_help("the methods are GetSample, GetSamplePercent, GetSamplePeriod, Count and HistoryBeginTime"),
    }
}

/// The query a sample method asks with arguments of these types, if they
/// fit one of its signatures.
fn sample_query(method: SampleMethod, types: &[Type]) -> Option<SampleQuery> {
    match (method, types) {
        (SampleMethod::GetSample, &[n]) if fits(n, DOUBLE) => Some(SampleQuery::Last),
        (SampleMethod::GetSample, &[a]) if fits(a, LOOK_BACK) => {
            Some(SampleQuery::Window { to: false, percent: false })
        }
        (SampleMethod::GetSample, &[a, p]) if fits(a, LOOK_BACK) && fits(p, DOUBLE) => {
            Some(SampleQuery::Window { to: false, percent: true })
        }
        (SampleMethod::GetSample, &[a, b]) if fits(a, LOOK_BACK) && fits(b, LOOK_BACK) => {
            Some(SampleQuery::Window { to: true, percent: false })
        }
        (SampleMethod::GetSample, &[a, b, p]) if fits(a, LOOK_BACK) && fits(b, LOOK_BACK) && fits(p, DOUBLE) => {
            Some(SampleQuery::Window { to: true, percent: true })
        }
        (SampleMethod::GetSamplePercent, &[a]) if fits(a, LOOK_BACK) => Some(SampleQuery::Percent { to: false }),
        (SampleMethod::GetSamplePercent, &[a, b]) if fits(a, LOOK_BACK) && fits(b, LOOK_BACK) => {
            Some(SampleQuery::Percent { to: true })
        }
        (SampleMethod::GetSamplePeriod, []) => Some(SampleQuery::Period),
        (SampleMethod::Count, []) => Some(SampleQuery::Count),
        (SampleMethod::HistoryBeginTime, []) => Some(SampleQuery::BeginTime),
        _ => None,
    }
}

/// The type of a sample query's result.
fn query_type(query: SampleQuery) -> Type {
    match query {
        SampleQuery::Last | SampleQuery::Window { .. } => Type::Vector,
        SampleQuery::Percent { .. } | SampleQuery::Count => Type::Double,
        SampleQuery::Period => Type::Interval,
        SampleQuery::BeginTime => Type::Timestamp,
    }
}

/// Suggestions for an undefined name that looks like a known one.
fn undefined_symbol_help(name: &str) -> Option<String> {
    let bare = name.trim_start_matches('$');
    if !name.starts_with('$') && (ServiceVar::named(&format!("${name}")).is_some() || Metric::named(name).is_some()) {
        return Some(format!("service variables start with `$`: `${name}`"));
    }
    if let Some((full, _, _)) = ServiceVar::ALL.iter().find(|(n, _, _)| n[1..].eq_ignore_ascii_case(bare)) {
        return Some(format!("service variable names are case-sensitive: did you mean `{full}`?"));
    }
    if let Some((_, metric, _)) = Metric::ALL.iter().find(|(_, n, _)| n.eq_ignore_ascii_case(bare)) {
        return Some(format!("metric names are case-sensitive: did you mean `${metric}`?"));
    }
    if let Some((constant, _)) = Interval::NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(bare)) {
        return Some(format!("did you mean `{constant}`?"));
    }
    None
}

/// A hint for an operator applied to types it does not take, where a
/// common mistake is behind it.
fn operator_help(op: BinaryOp, l: Type, r: Type) -> Option<&'static str> {
    use Type::{Double, Interval, Timestamp};
    match (op, l, r) {
        (BinaryOp::Sub, Timestamp, Interval) => {
            Some("subtract an interval by adding its negation: `t + -TimeInterval_Hour`")
        }
        (BinaryOp::Add | BinaryOp::Sub, Double, Interval) | (BinaryOp::Add | BinaryOp::Sub, Interval, Double) => {
            Some("give the number a unit: `5 * TimeInterval_Minute`")
        }
        (BinaryOp::Div, Interval, Interval) => Some("intervals cannot be divided by each other; compare them instead"),
        _ => None,
    }
}
