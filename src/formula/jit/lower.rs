//! Lowering of the checked program to cranelift IR.
//!
//! Doubles live in registers; timestamps and intervals are `i64` ticks;
//! vectors and strings are `i64` handles into the evaluation state. Every
//! user variable is a cranelift `Variable` per value class, so cranelift
//! builds the SSA form of reassigned variables. Assignments are also written
//! through to the state, where the results string is read from — the value
//! only: which kind of value a variable holds after a run follows from the
//! statements the run completed ([`Tables::kind`]). After each fallible
//! runtime call the state's failure flag is tested and the function returns
//! [`FAULT`]; `stop()` returns [`STOPPED`] with its statement
//! ([`Status::of`]).

use std::rc::Rc;

use autoscale_runtime::abi::{LOOK_BACK_INTERVAL, LOOK_BACK_TIMESTAMP, SLOTS_OFFSET, SlotKind};
use autoscale_runtime::aggregate::{ListFunction, Log, Rounding};
use autoscale_runtime::samples::SAMPLE_PERIOD;
use autoscale_runtime::time::TimestampField;
use autoscale_runtime::vector::Arith;
use autoscale_runtime::{DeallocationOption, Value};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{self, Block, FuncRef, InstBuilder, MemFlagsData, types};
use cranelift_frontend::{FunctionBuilder, Variable};

use super::runtime::{RT_COUNT, Rt};
use crate::formula::ast::Span;
use crate::formula::builtins::{Metric, ServiceVar};
use crate::formula::diag::Diagnostic;
use crate::formula::ir::{Comparison, Logic, Node, NodeKind, Program, SampleQuery, Stmt, Target, Type};

/// The function ran to its end.
pub(super) const COMPLETED: i64 = 0;
/// `stop()` ended it.
pub(super) const STOPPED: i64 = 1;
/// A runtime function or a compiled-in error failed; the state says why.
pub(super) const FAULT: i64 = 2;

/// What a failure site stands for, to turn a runtime failure back into the
/// service's error.
#[derive(Debug, Clone)]
pub(super) enum Site {
    /// An expression or assignment.
    Expr(Span),
    /// A sample method call: a shortfall is reported at its `(`.
    Sample { span: Span, metric: Metric, paren: Span },
    /// An error the checker found, raised when reached.
    Static(Box<Diagnostic>),
}

/// The outcome of a compiled run, decoded from the code's return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Every statement ran.
    Completed,
    /// `stop()` ended the run in this statement.
    Stopped(u32),
    /// A failure; the state holds its site.
    Fault,
}

impl Status {
    /// Decodes `code`: the low two bits say how the run ended, the rest in
    /// which statement `stop()` was.
    pub fn of(code: i32) -> Status {
        match i64::from(code) & 3 {
            COMPLETED => Status::Completed,
            STOPPED => Status::Stopped((code >> 2) as u32),
            _ => Status::Fault,
        }
    }
}

/// What evaluation needs from the compiler besides the code.
#[derive(Debug, Default)]
pub(super) struct Tables {
    /// Failure sites by number, each with the statement it is in.
    pub sites: Vec<(Site, u32)>,
    /// String constants by handle.
    pub strings: Vec<Rc<str>>,
    /// Per user variable, the statements that assign it, in order, with
    /// the kind of value each stores.
    pub assignments: Vec<Vec<(u32, SlotKind)>>,
}

impl Tables {
    /// The kind of value user variable `variable` holds once the first
    /// `reached` statements have run: that of the last of them to assign
    /// it (`None` if none did). Statements run in order, so this is known
    /// without storing a tag at run time.
    pub fn kind(&self, variable: usize, reached: u32) -> Option<SlotKind> {
        self.assignments
            .get(variable)
            .and_then(|a| a.iter().rev().find(|(statement, _)| *statement < reached))
            .map(|&(_, kind)| kind)
    }
}

/// A lowered value, by class.
#[derive(Clone, Copy)]
enum V {
    F(ir::Value),
    I(ir::Value),
    Never,
}

/// The register class of a type: doubles are floats, everything else ticks
/// or handles; `Never` has no value.
fn class(ty: Type) -> Option<ir::Type> {
    match ty {
        Type::Double => Some(types::F64),
        Type::Never => None,
        _ => Some(types::I64),
    }
}

fn code<T: PartialEq>(all: &[T], x: &T) -> i64 {
    all.iter().position(|y| y == x).unwrap_or(0) as i64
}

fn target_code(var: ServiceVar) -> i64 {
    match var {
        ServiceVar::TargetDedicated => 0,
        ServiceVar::TargetDedicatedAlias => 1,
        ServiceVar::TargetLowPriority => 2,
        _ => 3,
    }
}

/// Lowers one program into the builder's function.
pub(super) struct Lowering<'a, 'b> {
    pub b: FunctionBuilder<'b>,
    /// Declares a runtime function in the function being built.
    pub func_ref: &'a mut dyn FnMut(&mut ir::Function, Rt) -> FuncRef,
    pub tables: &'a mut Tables,
    /// The statement being lowered.
    statement: u32,
    state: ir::Value,
    /// The state's user-variable slots, loaded once.
    slots: ir::Value,
    fault: Block,
    /// The cranelift variable of each user variable, per class (float,
    /// integer), declared at first use.
    vars: Vec<[Option<Variable>; 2]>,
    /// Each runtime function's reference, declared at first call.
    refs: [Option<FuncRef>; RT_COUNT],
}

impl<'a, 'b> Lowering<'a, 'b> {
    /// Starts the function: entry block with the state parameter, and the
    /// failure exit.
    pub fn new(
        mut b: FunctionBuilder<'b>,
        func_ref: &'a mut dyn FnMut(&mut ir::Function, Rt) -> FuncRef,
        tables: &'a mut Tables,
        pointer: ir::Type,
        variables: usize,
    ) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let state = b.block_params(entry)[0];
        let slots = b.ins().load(pointer, MemFlagsData::trusted(), state, SLOTS_OFFSET);
        let fault = b.create_block();
        let vars = vec![[None; 2]; variables];
        tables.assignments = vec![Vec::new(); variables];
        Lowering { b, func_ref, tables, statement: 0, state, slots, fault, vars, refs: [None; RT_COUNT] }
    }

    /// Lowers every statement and closes the function.
    pub fn program(mut self, program: &Program, config: cranelift_codegen::isa::TargetFrontendConfig) {
        for (i, statement) in program.statements.iter().enumerate() {
            self.statement = i as u32;
            self.statement(statement);
        }
        self.exit(COMPLETED);
        self.b.switch_to_block(self.fault);
        self.b.seal_block(self.fault);
        self.exit(FAULT);
        self.b.finalize(config);
    }

    fn site(&mut self, site: Site) -> ir::Value {
        self.tables.sites.push((site, self.statement));
        self.b.ins().iconst(types::I32, self.tables.sites.len() as i64 - 1)
    }

    /// Returns `status` from the function.
    fn exit(&mut self, status: i64) {
        let s = self.b.ins().iconst(types::I32, status);
        self.b.ins().return_(&[s]);
    }

    fn w(&mut self, x: i64) -> ir::Value {
        self.b.ins().iconst(types::I32, x)
    }

    fn call(&mut self, rt: Rt, args: &[ir::Value]) -> Option<ir::Value> {
        let f = match self.refs[rt as usize] {
            Some(f) => f,
            None => *self.refs[rt as usize].insert((self.func_ref)(self.b.func, rt)),
        };
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.state);
        all.extend_from_slice(args);
        let takes_state = !matches!(rt, Rt::Log | Rt::Round);
        let inst = self.b.ins().call(f, if takes_state { &all } else { args });
        self.b.inst_results(inst).first().copied()
    }

    /// Calls a fallible runtime function, then leaves the function if it failed.
    fn call_checked(&mut self, rt: Rt, args: &[ir::Value]) -> Option<ir::Value> {
        let r = self.call(rt, args);
        let failed = self.b.ins().load(types::I32, MemFlagsData::trusted(), self.state, 0);
        let next = self.b.create_block();
        self.b.ins().brif(failed, self.fault, &[], next, &[]);
        self.b.switch_to_block(next);
        self.b.seal_block(next);
        r
    }

    fn f(&mut self, v: Option<ir::Value>) -> V {
        v.map_or(V::Never, V::F)
    }

    fn i(&mut self, v: Option<ir::Value>) -> V {
        v.map_or(V::Never, V::I)
    }

    /// The value as a float; a dummy in code after `stop()` or a failure.
    fn float(&mut self, v: V) -> ir::Value {
        match v {
            V::F(x) => x,
            _ => self.b.ins().f64const(0.0),
        }
    }

    /// The value as an integer; a dummy in code after `stop()` or a failure.
    fn int(&mut self, v: V) -> ir::Value {
        match v {
            V::I(x) => x,
            _ => self.b.ins().iconst(types::I64, 0),
        }
    }

    /// Code after a jump or return goes into a block with no predecessors,
    /// which cranelift discards.
    fn unreachable(&mut self) -> V {
        let dead = self.b.create_block();
        self.b.switch_to_block(dead);
        self.b.seal_block(dead);
        V::Never
    }

    fn var(&mut self, id: u32, ty: ir::Type) -> Variable {
        let class = usize::from(ty != types::F64);
        if let Some(v) = self.vars[id as usize][class] {
            return v;
        }
        *self.vars[id as usize][class].insert(self.b.declare_var(ty))
    }

    fn bool_to_double(&mut self, flag: ir::Value) -> ir::Value {
        let one = self.b.ins().f64const(1.0);
        let zero = self.b.ins().f64const(0.0);
        self.b.ins().select(flag, one, zero)
    }

    fn truthy(&mut self, v: V) -> ir::Value {
        let x = self.float(v);
        let zero = self.b.ins().f64const(0.0);
        self.b.ins().fcmp(FloatCC::NotEqual, x, zero)
    }

    fn statement(&mut self, statement: &Stmt) {
        match statement {
            Stmt::Eval(node) => {
                self.expr(node);
            }
            Stmt::Assign { target, value, span } => {
                let v = self.expr(value);
                if value.ty == Type::Never {
                    return;
                }
                match target {
                    Target::User(id) => {
                        let (class, kind) = match value.ty {
                            Type::Double => (types::F64, SlotKind::Double),
                            Type::Vector => (types::I64, SlotKind::Vector),
                            Type::Str => (types::I64, SlotKind::Str),
                            Type::Timestamp => (types::I64, SlotKind::Timestamp),
                            _ => (types::I64, SlotKind::Interval),
                        };
                        let x = if class == types::F64 { self.float(v) } else { self.int(v) };
                        let var = self.var(id.0, class);
                        self.b.def_var(var, x);
                        // Slot i is the 8 bytes at slots + 8 i.
                        let offset = i32::try_from(id.0).unwrap_or(i32::MAX / 8).saturating_mul(8);
                        self.b.ins().store(MemFlagsData::trusted(), x, self.slots, offset);
                        if let Some(a) = self.tables.assignments.get_mut(id.0 as usize) {
                            a.push((self.statement, kind));
                        }
                    }
                    Target::Service(ServiceVar::DeallocationOption) => {
                        let x = self.int(v);
                        self.call(Rt::SetDealloc, &[x]);
                    }
                    Target::Service(var) => {
                        let x = self.float(v);
                        let which = self.w(target_code(*var));
                        let site = self.site(Site::Expr(*span));
                        self.call(Rt::SetTarget, &[which, x, site]);
                    }
                }
            }
        }
    }

    fn expr(&mut self, node: &Node) -> V {
        let span = node.span;
        match &node.kind {
            NodeKind::Const(value) => match value {
                Value::Double(x) => V::F(self.b.ins().f64const(*x)),
                Value::Interval(i) => V::I(self.b.ins().iconst(types::I64, i.0)),
                Value::Timestamp(t) => V::I(self.b.ins().iconst(types::I64, t.unix_ticks())),
                Value::Dealloc(o) => {
                    let c = code(&DeallocationOption::ALL.map(|(_, o)| o), o);
                    V::I(self.b.ins().iconst(types::I64, c))
                }
                Value::Str(s) => {
                    self.tables.strings.push(s.clone());
                    V::I(self.b.ins().iconst(types::I64, self.tables.strings.len() as i64 - 1))
                }
                // The checker makes no vector constants; an empty handle if it ever did.
                Value::Vector(_) => V::I(self.b.ins().iconst(types::I64, -1)),
            },
            NodeKind::User(id) => match class(node.ty) {
                Some(ty) => {
                    let var = self.var(id.0, ty);
                    let x = self.b.use_var(var);
                    if ty == types::F64 { V::F(x) } else { V::I(x) }
                }
                None => V::Never,
            },
            NodeKind::Service(var) => match var {
                ServiceVar::DeallocationOption => {
                    let r = self.call(Rt::Dealloc, &[]);
                    self.i(r)
                }
                ServiceVar::CurrentDedicated | ServiceVar::CurrentLowPriority | ServiceVar::TaskSlotsPerNode => {
                    let which = match var {
                        ServiceVar::CurrentDedicated => 2,
                        ServiceVar::CurrentLowPriority => 3,
                        _ => 4,
                    };
                    let which = self.w(which);
                    let r = self.call(Rt::Pool, &[which]);
                    self.f(r)
                }
                target => {
                    let which = self.w(target_code(*target));
                    let r = self.call(Rt::Target, &[which]);
                    self.f(r)
                }
            },
            NodeKind::Neg(x) => {
                let v = self.expr(x);
                match (x.ty, v) {
                    (Type::Double, V::F(x)) => V::F(self.b.ins().fneg(x)),
                    (Type::Interval, V::I(x)) => {
                        let site = self.site(Site::Expr(span));
                        let r = self.call_checked(Rt::IntervalNeg, &[x, site]);
                        self.i(r)
                    }
                    _ => V::Never,
                }
            }
            NodeKind::Not(x) => {
                let v = self.expr(x);
                let x = self.float(v);
                let zero = self.b.ins().f64const(0.0);
                let is_zero = self.b.ins().fcmp(FloatCC::Equal, x, zero);
                V::F(self.bool_to_double(is_zero))
            }
            NodeKind::Arith(op, a, b) => {
                if let Some(ticks) = constant_interval(*op, a, b) {
                    return V::I(self.b.ins().iconst(types::I64, ticks));
                }
                let (va, vb) = (self.expr(a), self.expr(b));
                if node.ty == Type::Never {
                    return V::Never;
                }
                self.arith(*op, (a.ty, va), (b.ty, vb), span)
            }
            NodeKind::Compare(cmp, a, b) => {
                let (va, vb) = (self.expr(a), self.expr(b));
                if node.ty == Type::Never {
                    return V::Never;
                }
                let flag = match a.ty {
                    Type::Double => {
                        let (x, y) = (self.float(va), self.float(vb));
                        self.b.ins().fcmp(float_cc(*cmp), x, y)
                    }
                    Type::Str => {
                        let (x, y) = (self.int(va), self.int(vb));
                        let order = self.call(Rt::StrCmp, &[x, y]).unwrap_or(x);
                        self.b.ins().icmp_imm_s(int_cc(*cmp), order, 0)
                    }
                    _ => {
                        let (x, y) = (self.int(va), self.int(vb));
                        self.b.ins().icmp(int_cc(*cmp), x, y)
                    }
                };
                V::F(self.bool_to_double(flag))
            }
            NodeKind::Logic(logic, a, b) => {
                let (va, vb) = (self.expr(a), self.expr(b));
                let (x, y) = (self.truthy(va), self.truthy(vb));
                let flag = match logic {
                    Logic::And => self.b.ins().band(x, y),
                    Logic::Or => self.b.ins().bor(x, y),
                };
                V::F(self.bool_to_double(flag))
            }
            NodeKind::Ternary(cond, then, otherwise) => {
                let c = self.expr(cond);
                let flag = self.truthy(c);
                let (then_block, else_block, merge) =
                    (self.b.create_block(), self.b.create_block(), self.b.create_block());
                let ty = class(node.ty);
                if let Some(ty) = ty {
                    self.b.append_block_param(merge, ty);
                }
                self.b.ins().brif(flag, then_block, &[], else_block, &[]);
                for (block, branch) in [(then_block, then), (else_block, otherwise)] {
                    self.b.switch_to_block(block);
                    self.b.seal_block(block);
                    let v = self.expr(branch);
                    match ty {
                        Some(types::F64) => {
                            let x = self.float(v);
                            self.b.ins().jump(merge, &[x.into()]);
                        }
                        Some(_) => {
                            let x = self.int(v);
                            self.b.ins().jump(merge, &[x.into()]);
                        }
                        None => {
                            self.b.ins().jump(merge, &[]);
                        }
                    }
                }
                self.b.switch_to_block(merge);
                self.b.seal_block(merge);
                match ty {
                    Some(types::F64) => V::F(self.b.block_params(merge)[0]),
                    Some(_) => V::I(self.b.block_params(merge)[0]),
                    None => V::Never,
                }
            }
            NodeKind::List(function, args) => self.list(*function, args, span),
            NodeKind::Percentile(v, p) | NodeKind::Val(v, p) => {
                let vv = self.expr(v);
                let h = self.as_vector(v.ty, vv);
                let pv = self.expr(p);
                let x = self.float(pv);
                let site = self.site(Site::Expr(span));
                let rt = if matches!(node.kind, NodeKind::Val(..)) { Rt::Val } else { Rt::Percentile };
                let r = self.call_checked(rt, &[h, x, site]);
                self.f(r)
            }
            NodeKind::Log(log, x) => {
                let v = self.expr(x);
                let c = self.w(code(&Log::ALL, log));
                if node.ty == Type::Vector {
                    let h = self.int(v);
                    let r = self.call(Rt::VecLog, &[c, h]);
                    self.i(r)
                } else {
                    let x = self.float(v);
                    let r = self.call(Rt::Log, &[c, x]);
                    self.f(r)
                }
            }
            NodeKind::Round(rounding, x) => {
                let v = self.expr(x);
                let x = self.float(v);
                let c = self.w(code(&Rounding::ALL, rounding));
                let r = self.call(Rt::Round, &[c, x]);
                self.f(r)
            }
            NodeKind::Rand => {
                let r = self.call(Rt::Rand, &[]);
                self.f(r)
            }
            NodeKind::Stop => {
                self.exit(STOPPED | i64::from(self.statement) << 2);
                self.unreachable()
            }
            NodeKind::Now => {
                let r = self.call(Rt::Now, &[]);
                self.i(r)
            }
            NodeKind::ParseTime(s) => {
                let v = self.expr(s);
                let h = self.int(v);
                let site = self.site(Site::Expr(span));
                let r = self.call_checked(Rt::ParseTime, &[h, site]);
                self.i(r)
            }
            NodeKind::Member(field, t) => {
                let v = self.expr(t);
                let ticks = self.int(v);
                let c = self.w(code(&TimestampField::ALL.map(|(_, f)| f), field));
                let r = self.call(Rt::TsField, &[ticks, c]);
                self.f(r)
            }
            NodeKind::Sample { metric, query, args, paren } => self.sample(*metric, *query, args, span, *paren),
            NodeKind::Fail { children, error } => {
                for child in children {
                    self.expr(child);
                }
                let site = self.site(Site::Static(error.clone()));
                self.call(Rt::Fail, &[site]);
                self.b.ins().jump(self.fault, &[]);
                self.unreachable()
            }
        }
    }

    /// A double or vector as a vector handle.
    fn as_vector(&mut self, ty: Type, v: V) -> ir::Value {
        match (ty, v) {
            (Type::Double, V::F(x)) => self.call(Rt::VecOf, &[x]).unwrap_or(x),
            (_, v) => self.int(v),
        }
    }

    fn arith(&mut self, op: Arith, (lt, a): (Type, V), (rt, b): (Type, V), span: Span) -> V {
        let opc = code(&Arith::ALL, &op);
        match (lt, rt) {
            (Type::Double, Type::Double) => {
                let (x, y) = (self.float(a), self.float(b));
                V::F(match op {
                    Arith::Add => self.b.ins().fadd(x, y),
                    Arith::Sub => self.b.ins().fsub(x, y),
                    Arith::Mul => self.b.ins().fmul(x, y),
                    Arith::Div => self.b.ins().fdiv(x, y),
                })
            }
            (Type::Vector, Type::Double) => {
                let (h, x, c) = (self.int(a), self.float(b), self.w(opc));
                let r = self.call(Rt::VecScalar, &[c, h, x]);
                self.i(r)
            }
            (Type::Double, Type::Vector) => {
                let (x, h, c) = (self.float(a), self.int(b), self.w(opc));
                let r = self.call(Rt::ScalarVec, &[c, x, h]);
                self.i(r)
            }
            (Type::Vector, Type::Vector) => {
                let (x, y, c) = (self.int(a), self.int(b), self.w(opc));
                let site = self.site(Site::Expr(span));
                let r = self.call_checked(Rt::VecVec, &[c, x, y, site]);
                self.i(r)
            }
            (Type::Timestamp, Type::Timestamp) => {
                let (x, y) = (self.int(a), self.int(b));
                V::I(self.b.ins().isub(x, y))
            }
            (Type::Double, Type::Interval) | (Type::Interval, Type::Double) => {
                let (ticks, x) =
                    if lt == Type::Interval { (self.int(a), self.float(b)) } else { (self.int(b), self.float(a)) };
                let rt = if op == Arith::Div { Rt::IntervalDivide } else { Rt::IntervalScale };
                let site = self.site(Site::Expr(span));
                let r = self.call_checked(rt, &[ticks, x, site]);
                self.i(r)
            }
            (Type::Interval, Type::Interval) => {
                let (x, y) = (self.int(a), self.int(b));
                let rt = if op == Arith::Sub { Rt::IntervalSub } else { Rt::IntervalAdd };
                let site = self.site(Site::Expr(span));
                let r = self.call_checked(rt, &[x, y, site]);
                self.i(r)
            }
            (Type::Timestamp, Type::Interval) | (Type::Interval, Type::Timestamp) => {
                let (t, i) =
                    if lt == Type::Timestamp { (self.int(a), self.int(b)) } else { (self.int(b), self.int(a)) };
                let site = self.site(Site::Expr(span));
                let r = self.call_checked(Rt::TsAdd, &[t, i, site]);
                self.i(r)
            }
            _ => V::Never,
        }
    }

    fn list(&mut self, function: ListFunction, args: &[Node], span: Span) -> V {
        // Evaluate every argument before touching the scratch list: an
        // argument may itself be a list function.
        let values: Vec<(Type, V)> = args.iter().map(|a| (a.ty, self.expr(a))).collect();
        let f = self.w(code(&ListFunction::ALL, &function));
        let site = self.site(Site::Expr(span));
        match values.as_slice() {
            [(Type::Vector, v)] => {
                let h = self.int(*v);
                let r = self.call_checked(Rt::VecFn, &[f, h, site]);
                return self.f(r);
            }
            [(Type::Double, V::F(a)), (Type::Double, V::F(b))] => {
                let r = self.call_checked(Rt::PairFn, &[f, *a, *b, site]);
                return self.f(r);
            }
            _ => {}
        }
        self.call(Rt::ListClear, &[]);
        for (ty, v) in values {
            match (ty, v) {
                (Type::Vector, v) => {
                    let h = self.int(v);
                    self.call(Rt::ListExtend, &[h]);
                }
                (_, V::F(x)) => {
                    self.call(Rt::ListPush, &[x]);
                }
                _ => {}
            }
        }
        let r = self.call_checked(Rt::ListFn, &[f, site]);
        self.f(r)
    }

    fn look_back(&mut self, arg: Option<(Type, V)>) -> [ir::Value; 2] {
        let (kind, ticks) = match arg {
            Some((Type::Timestamp, v)) => (LOOK_BACK_TIMESTAMP, self.int(v)),
            Some((_, v)) => (LOOK_BACK_INTERVAL, self.int(v)),
            None => (LOOK_BACK_INTERVAL, self.b.ins().iconst(types::I64, 0)),
        };
        [self.w(i64::from(kind)), ticks]
    }

    fn sample(&mut self, metric: Metric, query: SampleQuery, args: &[Node], span: Span, paren: Span) -> V {
        let values: Vec<(Type, V)> = args.iter().map(|a| (a.ty, self.expr(a))).collect();
        let m = self.w(metric as i64);
        match query {
            SampleQuery::Last => {
                let n = self.float(values.first().map_or(V::Never, |v| v.1));
                let site = self.site(Site::Sample { span, metric, paren });
                let r = self.call_checked(Rt::SampleLast, &[m, n, site]);
                self.i(r)
            }
            SampleQuery::Window { to, percent } => {
                let [fk, from] = self.look_back(values.first().copied());
                let [tk, until] = self.look_back(if to { values.get(1).copied() } else { None });
                let pct = if percent { values.last().map_or(V::Never, |v| v.1) } else { V::Never };
                let pct = self.float(pct);
                let has = self.w(i64::from(percent));
                let site = self.site(Site::Sample { span, metric, paren });
                let r = if percent {
                    self.call_checked(Rt::SampleWindow, &[m, fk, from, tk, until, has, pct, site])
                } else {
                    self.call(Rt::SampleWindow, &[m, fk, from, tk, until, has, pct, site])
                };
                self.i(r)
            }
            SampleQuery::Percent { to } => {
                let [fk, from] = self.look_back(values.first().copied());
                let [tk, until] = self.look_back(if to { values.get(1).copied() } else { None });
                let r = self.call(Rt::SamplePercent, &[m, fk, from, tk, until]);
                self.f(r)
            }
            SampleQuery::Period => V::I(self.b.ins().iconst(types::I64, SAMPLE_PERIOD.0)),
            SampleQuery::Count => {
                let r = self.call(Rt::SampleCount, &[m]);
                self.f(r)
            }
            SampleQuery::BeginTime => {
                let r = self.call(Rt::SampleBegin, &[m]);
                self.i(r)
            }
        }
    }
}

/// `interval * x`, `x * interval` or `interval / x` of two constants, in
/// ticks, computed while compiling: windows are written that way
/// (`180 * TimeInterval_Second`), and each would otherwise cost a runtime
/// call per evaluation. One that fails is left to run time, which reports
/// the error where the interpreter does.
fn constant_interval(op: Arith, a: &Node, b: &Node) -> Option<i64> {
    let (NodeKind::Const(a), NodeKind::Const(b)) = (&a.kind, &b.kind) else {
        return None;
    };
    let product = match (op, a, b) {
        (Arith::Mul, Value::Interval(i), Value::Double(x)) | (Arith::Mul, Value::Double(x), Value::Interval(i)) => {
            i.scale(*x)
        }
        (Arith::Div, Value::Interval(i), Value::Double(x)) => i.divide(*x),
        _ => return None,
    };
    product.ok().map(|i| i.0)
}

fn float_cc(c: Comparison) -> FloatCC {
    match c {
        Comparison::Lt => FloatCC::LessThan,
        Comparison::Le => FloatCC::LessThanOrEqual,
        Comparison::Gt => FloatCC::GreaterThan,
        Comparison::Ge => FloatCC::GreaterThanOrEqual,
        Comparison::Eq => FloatCC::Equal,
        Comparison::Ne => FloatCC::NotEqual,
    }
}

fn int_cc(c: Comparison) -> IntCC {
    match c {
        Comparison::Lt => IntCC::SignedLessThan,
        Comparison::Le => IntCC::SignedLessThanOrEqual,
        Comparison::Gt => IntCC::SignedGreaterThan,
        Comparison::Ge => IntCC::SignedGreaterThanOrEqual,
        Comparison::Eq => IntCC::Equal,
        Comparison::Ne => IntCC::NotEqual,
    }
}
