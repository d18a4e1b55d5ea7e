//! The reference tree-walking interpreter: runs a checked [`Program`]
//! statement by statement. It is the oracle the JIT is tested against, so it
//! favours being obviously right over being fast.

use std::rc::Rc;

use autoscale_runtime::random::Random;
use autoscale_runtime::samples::{SAMPLE_PERIOD, Window};
use autoscale_runtime::{Interval, Timestamp, Value};
use autoscale_runtime::{RuntimeError, aggregate};

use super::ast::Span;
use super::builtins::{Metric, ServiceVar};
use super::context::EvalContext;
use super::ir::{Logic, Node, NodeKind, Program, SampleQuery, Stmt, Target};
use super::results::{ErrorCode, Fault, Recorder, Run};
use autoscale_runtime::vector::Arith;

/// Why evaluation left the statement sequence.
enum Halt {
    /// `stop()`.
    Stop,
    /// An error.
    Fault(Fault),
}

type Eval<T> = Result<T, Halt>;

/// Runs `program` against `ctx`.
pub fn run(program: &Program, ctx: &EvalContext) -> Run {
    let mut machine = Machine {
        ctx,
        recorder: Recorder::new(&ctx.pool),
        users: vec![None; program.variables.len()],
        random: Random::seeded(ctx.seed),
    };
    let mut status = Ok(false);
    for statement in &program.statements {
        match machine.statement(statement) {
            Ok(()) => {}
            Err(Halt::Stop) => {
                status = Ok(true);
                break;
            }
            Err(Halt::Fault(fault)) => {
                status = Err(fault);
                break;
            }
        }
    }
    let mut users = machine.users;
    machine.recorder.conclude(program.order.values(|i| users.get_mut(i)?.take()), status)
}

struct Machine<'a> {
    ctx: &'a EvalContext,
    recorder: Recorder,
    /// Each user variable's value, `None` until assigned.
    users: Vec<Option<Value>>,
    random: Random,
}

fn fault(span: Span, error: RuntimeError) -> Halt {
    Halt::Fault(Fault::from_runtime(error, span, None))
}

/// A value of a type the checker ruled out. Unreachable for checked
/// programs; reported rather than panicking all the same.
fn mismatch(span: Span, value: &Value) -> Halt {
    Halt::Fault(Fault {
        code: ErrorCode::EvaluationError,
        span,
        detail: format!("internal error: unexpected value {value}"),
    })
}

impl Machine<'_> {
    fn statement(&mut self, statement: &Stmt) -> Eval<()> {
        match statement {
            Stmt::Eval(node) => self.eval(node).map(drop),
            Stmt::Assign { target, value, span } => {
                let v = self.eval(value)?;
                match (target, v) {
                    (Target::User(id), v) => {
                        if let Some(slot) = self.users.get_mut(id.0 as usize) {
                            *slot = Some(v);
                        }
                    }
                    (Target::Service(ServiceVar::DeallocationOption), Value::Dealloc(o)) => {
                        self.recorder.set_deallocation(o);
                    }
                    (Target::Service(var), Value::Double(x)) => self.recorder.set_target(*var, x, *span),
                    (_, v) => return Err(mismatch(value.span, &v)),
                }
                Ok(())
            }
        }
    }

    fn double(&mut self, node: &Node) -> Eval<f64> {
        match self.eval(node)? {
            Value::Double(x) => Ok(x),
            v => Err(mismatch(node.span, &v)),
        }
    }

    /// A double or a vector, as a list of doubles.
    fn list(&mut self, node: &Node) -> Eval<Rc<[f64]>> {
        match self.eval(node)? {
            Value::Double(x) => Ok(Rc::from([x])),
            Value::Vector(v) => Ok(v),
            v => Err(mismatch(node.span, &v)),
        }
    }

    /// A look-back point: an interval is an age, a timestamp an instant.
    fn look_back(&mut self, node: &Node) -> Eval<Interval> {
        match self.eval(node)? {
            Value::Interval(i) => Ok(i),
            Value::Timestamp(t) => Ok(self.ctx.now.since(t)),
            v => Err(mismatch(node.span, &v)),
        }
    }

    /// Evaluates `node`. Kept as one `match` with an arm per node kind, most
    /// of them a line or two: the interpreter's rules read in one place.
    fn eval(&mut self, node: &Node) -> Eval<Value> {
        let span = node.span;
        let ok_double = |x: f64| Ok(Value::Double(x));
        match &node.kind {
            NodeKind::Const(v) => Ok(v.clone()),
            NodeKind::User(id) => match self.users.get(id.0 as usize).and_then(Option::as_ref) {
                Some(v) => Ok(v.clone()),
                None => Err(mismatch(span, &Value::Double(f64::NAN))),
            },
            NodeKind::Service(var) => Ok(self.service(*var)),
            NodeKind::Neg(x) => match self.eval(x)? {
                Value::Double(x) => ok_double(-x),
                Value::Interval(i) => i.checked_neg().map(Value::Interval).map_err(|e| fault(span, e)),
                v => Err(mismatch(span, &v)),
            },
            NodeKind::Not(x) => ok_double(f64::from(self.double(x)? == 0.0)),
            NodeKind::Arith(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                arith(*op, a, b, span)
            }
            NodeKind::Compare(cmp, a, b) => {
                let holds = match (self.eval(a)?, self.eval(b)?) {
                    (Value::Double(x), Value::Double(y)) => cmp.holds(&x, &y),
                    (Value::Str(x), Value::Str(y)) => cmp.holds(&x, &y),
                    (Value::Timestamp(x), Value::Timestamp(y)) => cmp.holds(&x, &y),
                    (Value::Interval(x), Value::Interval(y)) => cmp.holds(&x, &y),
                    (v, _) => return Err(mismatch(span, &v)),
                };
                ok_double(f64::from(holds))
            }
            NodeKind::Logic(logic, a, b) => {
                let (a, b) = (self.double(a)? != 0.0, self.double(b)? != 0.0);
                ok_double(f64::from(match logic {
                    Logic::And => a && b,
                    Logic::Or => a || b,
                }))
            }
            NodeKind::Ternary(cond, then, otherwise) => {
                if self.double(cond)? != 0.0 {
                    self.eval(then)
                } else {
                    self.eval(otherwise)
                }
            }
            NodeKind::List(function, args) => {
                let mut values = Vec::new();
                for arg in args {
                    values.extend_from_slice(&self.list(arg)?);
                }
                function.apply(&values).map(Value::Double).map_err(|e| fault(span, e))
            }
            NodeKind::Percentile(v, p) => {
                let (v, p) = (self.list(v)?, self.double(p)?);
                aggregate::percentile(&v, p).map(Value::Double).map_err(|e| fault(span, e))
            }
            NodeKind::Val(v, i) => {
                let (v, i) = (self.list(v)?, self.double(i)?);
                aggregate::val(&v, i).map(Value::Double).map_err(|e| fault(span, e))
            }
            NodeKind::Log(log, x) => match self.eval(x)? {
                Value::Double(x) => ok_double(log.apply(x)),
                Value::Vector(v) => Ok(Value::Vector(v.iter().map(|&x| log.apply(x)).collect())),
                v => Err(mismatch(span, &v)),
            },
            NodeKind::Round(rounding, x) => ok_double(rounding.apply(self.double(x)?)),
            NodeKind::Rand => ok_double(self.random.next_double()),
            NodeKind::Stop => Err(Halt::Stop),
            NodeKind::Now => Ok(Value::Timestamp(self.ctx.now)),
            NodeKind::ParseTime(s) => match self.eval(s)? {
                Value::Str(s) => Timestamp::parse(&s).map(Value::Timestamp).map_err(|e| fault(span, e)),
                v => Err(mismatch(span, &v)),
            },
            NodeKind::Member(field, t) => match self.eval(t)? {
                Value::Timestamp(t) => ok_double(t.field(*field)),
                v => Err(mismatch(span, &v)),
            },
            NodeKind::Sample { metric, query, args, paren } => self.sample(*metric, *query, args, *paren, span),
            NodeKind::Fail { children, error } => {
                for child in children {
                    self.eval(child)?;
                }
                Err(Halt::Fault(Fault {
                    code: ErrorCode::EvaluationError,
                    span: error.span,
                    detail: error.message.clone(),
                }))
            }
        }
    }

    fn service(&self, var: ServiceVar) -> Value {
        let pool = &self.ctx.pool;
        Value::Double(match var {
            ServiceVar::DeallocationOption => return Value::Dealloc(self.recorder.deallocation()),
            ServiceVar::CurrentDedicated => pool.current_dedicated,
            ServiceVar::CurrentLowPriority => pool.current_low_priority,
            ServiceVar::TaskSlotsPerNode => pool.task_slots_per_node,
            target => self.recorder.target(target).unwrap_or_default(),
        })
    }

    fn sample(&mut self, metric: Metric, query: SampleQuery, args: &[Node], paren: Span, span: Span) -> Eval<Value> {
        let history = self.ctx.history(metric);
        let now = self.ctx.now;
        let arg = |i: usize| args.get(i).ok_or_else(|| mismatch(span, &Value::Double(f64::NAN)));
        match query {
            SampleQuery::Last => {
                let n = self.double(arg(0)?)?;
                history.last(n).map(|v| Value::Vector(Rc::from(v))).map_err(|e| fault(span, e))
            }
            SampleQuery::Window { to, percent } => {
                let from = self.look_back(arg(0)?)?;
                let until = if to { self.look_back(arg(1)?)? } else { Interval::ZERO };
                let window = Window::between(from, until);
                if !percent {
                    return Ok(Value::Vector(Rc::from(history.window(now, window))));
                }
                let pct = self.double(arg(args.len() - 1)?)?;
                match history.window_with_percent(now, window, pct) {
                    Ok(v) => Ok(Value::Vector(Rc::from(v))),
                    Err(e) => Err(Halt::Fault(Fault::from_runtime(e, span, Some((metric, paren))))),
                }
            }
            SampleQuery::Percent { to } => {
                let from = self.look_back(arg(0)?)?;
                let until = if to { self.look_back(arg(1)?)? } else { Interval::ZERO };
                Ok(Value::Double(history.percent(now, Window::between(from, until))))
            }
            SampleQuery::Period => Ok(Value::Interval(SAMPLE_PERIOD)),
            SampleQuery::Count => Ok(Value::Double(history.count() as f64)),
            // (decision) an empty history began now.
            SampleQuery::BeginTime => Ok(Value::Timestamp(history.begin_time().unwrap_or(now))),
        }
    }
}

fn arith(op: Arith, a: Value, b: Value, span: Span) -> Eval<Value> {
    use Value::{Double, Interval as Iv, Timestamp as Ts, Vector};
    let r = match (op, a, b) {
        (op, Double(x), Double(y)) => Ok(Double(op.apply(x, y))),
        (op, Vector(v), Double(y)) => Ok(Vector(op.vector_scalar(&v, y).into())),
        (op, Double(x), Vector(v)) => Ok(Vector(op.scalar_vector(x, &v).into())),
        (op, Vector(v), Vector(w)) => op.vector_vector(&v, &w).map(|r| Vector(r.into())),
        (Arith::Mul, Double(x), Iv(i)) | (Arith::Mul, Iv(i), Double(x)) => i.scale(x).map(Iv),
        (Arith::Div, Iv(i), Double(x)) => i.divide(x).map(Iv),
        (Arith::Add, Iv(i), Iv(j)) => i.checked_add(j).map(Iv),
        (Arith::Sub, Iv(i), Iv(j)) => i.checked_sub(j).map(Iv),
        (Arith::Add, Ts(t), Iv(i)) | (Arith::Add, Iv(i), Ts(t)) => t.checked_add(i).map(Ts),
        (Arith::Sub, Ts(t), Ts(u)) => Ok(Iv(t.since(u))),
        (_, a, _) => return Err(mismatch(span, &a)),
    };
    r.map_err(|e| fault(span, e))
}
