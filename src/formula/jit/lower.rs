//! Lowering of the checked program to cranelift IR, one `translate_*`
//! method per node kind.
//!
//! Doubles live in registers; timestamps and intervals are `i64` ticks;
//! vectors and strings are `i64` handles into the evaluation state. Every
//! user variable is a cranelift `Variable` per register type, so cranelift
//! builds the SSA form of reassigned variables. Assignments are also written
//! through to the state, where the results string is read from — the value
//! only: which kind of value a variable holds after a run follows from the
//! statements the run completed ([`Tables::kind`]). After each fallible
//! runtime call the state's failure flag is tested and the function returns
//! [`FAULT`]; `stop()` returns [`STOPPED`] with its statement
//! ([`Status::of`](super::status::Status::of)).
//!
//! Besides the runtime calls, the code touches memory in three places, all
//! through the state pointer (see `JitFormula`'s `call_compiled`): it loads
//! the slot pointer at `SLOTS_OFFSET` once, loads the `u32` failure flag at
//! offset 0 after each fallible call, and stores each assignment to a user
//! variable in its slot.

use autoscale_runtime::abi::{LOOK_BACK_INTERVAL, LOOK_BACK_TIMESTAMP, SLOTS_OFFSET, SlotKind};
use autoscale_runtime::aggregate::{ListFunction, Log, Rounding};
use autoscale_runtime::samples::SAMPLE_PERIOD;
use autoscale_runtime::time::TimestampField;
use autoscale_runtime::vector::Arith;
use autoscale_runtime::{DeallocationOption, Value};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{self, Block, FuncRef, InstBuilder, MemFlagsData, types};
use cranelift_frontend::{FunctionBuilder, Variable};

use super::runtime::{RUNTIME_FN_COUNT, RuntimeFn};
use super::status::{COMPLETED, FAULT, STOPPED};
use super::tables::{Site, Tables};
use crate::formula::ast::Span;
use crate::formula::builtins::{Metric, ServiceVar};
use crate::formula::diag::Diagnostic;
use crate::formula::ir::{Comparison, Logic, Node, NodeKind, Program, SampleQuery, Stmt, Target, Type, VarId};

/// A lowered value, by the register it lives in.
#[derive(Clone, Copy)]
enum Lowered {
    /// A double, in a float register.
    Float(ir::Value),
    /// Ticks or a handle, in a 64-bit integer register.
    Int(ir::Value),
    /// No value: the expression's type is `Never`, or the code after it
    /// cannot be reached (after `stop()` or a failure).
    Never,
}

impl Lowered {
    /// A runtime function's double result.
    fn from_float(result: Option<ir::Value>) -> Lowered {
        result.map_or(Lowered::Never, Lowered::Float)
    }

    /// A runtime function's ticks or handle result.
    fn from_int(result: Option<ir::Value>) -> Lowered {
        result.map_or(Lowered::Never, Lowered::Int)
    }
}

/// The register type of a value of type `ty`: doubles are floats,
/// everything else ticks or handles; `Never` has no value.
fn register_type(ty: Type) -> Option<ir::Type> {
    match ty {
        Type::Double => Some(types::F64),
        Type::Never => None,
        _ => Some(types::I64),
    }
}

/// `x`'s code in the runtime ABI: its index in `all`, its type's `ALL`
/// array (see `autoscale_runtime::abi`).
fn abi_code<T: PartialEq>(all: &[T], x: &T) -> i64 {
    all.iter().position(|y| y == x).unwrap_or(0) as i64
}

/// A target's `which` code for `asrt_target` and `asrt_set_target`.
fn target_code(var: ServiceVar) -> i64 {
    match var {
        ServiceVar::TargetDedicated => 0,
        ServiceVar::TargetDedicatedAlias => 1,
        ServiceVar::TargetLowPriority => 2,
        _ => 3,
    }
}

/// A pool scalar's `which` code for `asrt_pool`: its index in
/// `abi::Inputs::pool`.
fn pool_code(var: ServiceVar) -> i64 {
    match var {
        ServiceVar::CurrentDedicated => 2,
        ServiceVar::CurrentLowPriority => 3,
        _ => 4,
    }
}

/// Lowers one program into the builder's function.
pub(super) struct Lowering<'a, 'b> {
    builder: FunctionBuilder<'b>,
    /// Declares a runtime function in the function being built.
    declare_runtime_fn: &'a mut dyn FnMut(&mut ir::Function, RuntimeFn) -> FuncRef,
    tables: &'a mut Tables,
    /// The statement being lowered.
    statement: u32,
    /// The function's parameter: the `EvalState` pointer.
    state: ir::Value,
    /// The state's user-variable slots, loaded once.
    slots: ir::Value,
    /// The block that returns [`FAULT`].
    fault_exit: Block,
    /// The cranelift variable of each user variable, per register type
    /// (float, integer), declared at first use.
    user_variables: Vec<[Option<Variable>; 2]>,
    /// Each runtime function's reference, declared at first call.
    runtime_refs: [Option<FuncRef>; RUNTIME_FN_COUNT],
}

impl<'a, 'b> Lowering<'a, 'b> {
    /// Starts the function: entry block with the state parameter, and the
    /// failure exit.
    pub fn new(
        mut builder: FunctionBuilder<'b>,
        declare_runtime_fn: &'a mut dyn FnMut(&mut ir::Function, RuntimeFn) -> FuncRef,
        tables: &'a mut Tables,
        pointer: ir::Type,
        variables: usize,
    ) -> Self {
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);
        let state = builder.block_params(entry)[0];
        let slots = builder.ins().load(pointer, MemFlagsData::trusted(), state, SLOTS_OFFSET);
        let fault_exit = builder.create_block();
        tables.assignments = vec![Vec::new(); variables];
        Lowering {
            builder,
            declare_runtime_fn,
            tables,
            statement: 0,
            state,
            slots,
            fault_exit,
            user_variables: vec![[None; 2]; variables],
            runtime_refs: [None; RUNTIME_FN_COUNT],
        }
    }

    /// Lowers every statement and closes the function.
    pub fn lower_program(mut self, program: &Program, config: cranelift_codegen::isa::TargetFrontendConfig) {
        for (i, statement) in program.statements.iter().enumerate() {
            self.statement = i as u32;
            self.translate_statement(statement);
        }
        self.return_status(COMPLETED);
        self.builder.switch_to_block(self.fault_exit);
        self.builder.seal_block(self.fault_exit);
        self.return_status(FAULT);
        self.builder.finalize(config);
    }

    /// Numbers a new failure site in the current statement; its number as
    /// an `i32` constant.
    fn failure_site(&mut self, site: Site) -> ir::Value {
        self.tables.sites.push((site, self.statement));
        self.builder.ins().iconst(types::I32, self.tables.sites.len() as i64 - 1)
    }

    /// Returns `status` from the function.
    fn return_status(&mut self, status: i64) {
        let s = self.builder.ins().iconst(types::I32, status);
        self.builder.ins().return_(&[s]);
    }

    /// An `i32` constant: a code, a flag or a `which`.
    fn const_i32(&mut self, x: i64) -> ir::Value {
        self.builder.ins().iconst(types::I32, x)
    }

    /// Calls a runtime function, passing the state first unless it takes
    /// none; its result, if it has one.
    fn call_runtime(&mut self, function: RuntimeFn, args: &[ir::Value]) -> Option<ir::Value> {
        let func_ref = match self.runtime_refs[function as usize] {
            Some(func_ref) => func_ref,
            None => {
                *self.runtime_refs[function as usize].insert((self.declare_runtime_fn)(self.builder.func, function))
            }
        };
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(self.state);
        all.extend_from_slice(args);
        let takes_state = !matches!(function, RuntimeFn::Log | RuntimeFn::Round);
        let inst = self.builder.ins().call(func_ref, if takes_state { &all } else { args });
        self.builder.inst_results(inst).first().copied()
    }

    /// Calls a fallible runtime function, then leaves the function if it
    /// failed: `EvalState::failed` is the state's first field (offset 0).
    fn call_fallible(&mut self, function: RuntimeFn, args: &[ir::Value]) -> Option<ir::Value> {
        let result = self.call_runtime(function, args);
        let failed = self.builder.ins().load(types::I32, MemFlagsData::trusted(), self.state, 0);
        let next = self.builder.create_block();
        self.builder.ins().brif(failed, self.fault_exit, &[], next, &[]);
        self.builder.switch_to_block(next);
        self.builder.seal_block(next);
        result
    }

    /// The value as a float; a dummy in code after `stop()` or a failure.
    fn as_float(&mut self, v: Lowered) -> ir::Value {
        match v {
            Lowered::Float(x) => x,
            _ => self.builder.ins().f64const(0.0),
        }
    }

    /// The value as an integer; a dummy in code after `stop()` or a failure.
    fn as_int(&mut self, v: Lowered) -> ir::Value {
        match v {
            Lowered::Int(x) => x,
            _ => self.builder.ins().iconst(types::I64, 0),
        }
    }

    /// A double or vector as a vector handle.
    fn as_vector(&mut self, ty: Type, v: Lowered) -> ir::Value {
        match (ty, v) {
            (Type::Double, Lowered::Float(x)) => self.call_runtime(RuntimeFn::VecOf, &[x]).unwrap_or(x),
            (_, v) => self.as_int(v),
        }
    }

    /// Code after a jump or return goes into a block with no predecessors,
    /// which cranelift discards.
    fn start_unreachable_block(&mut self) -> Lowered {
        let dead = self.builder.create_block();
        self.builder.switch_to_block(dead);
        self.builder.seal_block(dead);
        Lowered::Never
    }

    /// User variable `id`'s cranelift variable of register type `ty`.
    fn user_variable(&mut self, id: VarId, ty: ir::Type) -> Variable {
        let register_class = usize::from(ty != types::F64);
        if let Some(v) = self.user_variables[id.0 as usize][register_class] {
            return v;
        }
        *self.user_variables[id.0 as usize][register_class].insert(self.builder.declare_var(ty))
    }

    fn bool_to_double(&mut self, flag: ir::Value) -> ir::Value {
        let one = self.builder.ins().f64const(1.0);
        let zero = self.builder.ins().f64const(0.0);
        self.builder.ins().select(flag, one, zero)
    }

    /// Whether a double is nonzero, as an `i8` flag.
    fn truthy(&mut self, v: Lowered) -> ir::Value {
        let x = self.as_float(v);
        let zero = self.builder.ins().f64const(0.0);
        self.builder.ins().fcmp(FloatCC::NotEqual, x, zero)
    }

    fn translate_statement(&mut self, statement: &Stmt) {
        match statement {
            Stmt::Eval(node) => {
                self.translate_expr(node);
            }
            Stmt::Assign { target, value, span } => {
                let v = self.translate_expr(value);
                if value.ty == Type::Never {
                    return;
                }
                match target {
                    Target::User(id) => self.assign_user(*id, value.ty, v),
                    Target::Service(ServiceVar::DeallocationOption) => {
                        let option = self.as_int(v);
                        self.call_runtime(RuntimeFn::SetDealloc, &[option]);
                    }
                    Target::Service(var) => {
                        let x = self.as_float(v);
                        let which = self.const_i32(target_code(*var));
                        let site = self.failure_site(Site::Expr(*span));
                        self.call_runtime(RuntimeFn::SetTarget, &[which, x, site]);
                    }
                }
            }
        }
    }

    /// Defines user variable `id` and writes the value through to its slot,
    /// noting which kind of value this statement leaves in it.
    fn assign_user(&mut self, id: VarId, ty: Type, v: Lowered) {
        let (register, kind) = match ty {
            Type::Double => (types::F64, SlotKind::Double),
            Type::Vector => (types::I64, SlotKind::Vector),
            Type::Str => (types::I64, SlotKind::Str),
            Type::Timestamp => (types::I64, SlotKind::Timestamp),
            _ => (types::I64, SlotKind::Interval),
        };
        let x = if register == types::F64 { self.as_float(v) } else { self.as_int(v) };
        let var = self.user_variable(id, register);
        self.builder.def_var(var, x);
        // Slot i is the 8 bytes at slots + 8 i.
        let offset = i32::try_from(id.0).unwrap_or(i32::MAX / 8).saturating_mul(8);
        self.builder.ins().store(MemFlagsData::trusted(), x, self.slots, offset);
        if let Some(a) = self.tables.assignments.get_mut(id.0 as usize) {
            a.push((self.statement, kind));
        }
    }

    /// Lowers an expression: one `translate_*` per node kind.
    fn translate_expr(&mut self, node: &Node) -> Lowered {
        let span = node.span;
        match &node.kind {
            NodeKind::Const(value) => self.translate_const(value),
            NodeKind::User(id) => self.translate_user(*id, node.ty),
            NodeKind::Service(var) => self.translate_service(*var),
            NodeKind::Neg(x) => self.translate_neg(x, span),
            NodeKind::Not(x) => self.translate_not(x),
            NodeKind::Arith(op, a, b) => self.translate_arith(*op, a, b, node.ty, span),
            NodeKind::Compare(cmp, a, b) => self.translate_compare(*cmp, a, b, node.ty),
            NodeKind::Logic(logic, a, b) => self.translate_logic(*logic, a, b),
            NodeKind::Ternary(cond, then, otherwise) => self.translate_ternary(cond, then, otherwise, node.ty),
            NodeKind::List(function, args) => self.translate_list(*function, args, span),
            NodeKind::Percentile(v, p) => self.translate_vector_lookup(RuntimeFn::Percentile, v, p, span),
            NodeKind::Val(v, i) => self.translate_vector_lookup(RuntimeFn::Val, v, i, span),
            NodeKind::Log(log, x) => self.translate_log(*log, x, node.ty),
            NodeKind::Round(rounding, x) => self.translate_round(*rounding, x),
            NodeKind::Rand => {
                let r = self.call_runtime(RuntimeFn::Rand, &[]);
                Lowered::from_float(r)
            }
            NodeKind::Stop => {
                self.return_status(STOPPED | i64::from(self.statement) << 2);
                self.start_unreachable_block()
            }
            NodeKind::Now => {
                let r = self.call_runtime(RuntimeFn::Now, &[]);
                Lowered::from_int(r)
            }
            NodeKind::ParseTime(s) => self.translate_parse_time(s, span),
            NodeKind::Member(field, t) => self.translate_member(*field, t),
            NodeKind::Sample { metric, query, args, paren } => {
                self.translate_sample(*metric, *query, args, span, *paren)
            }
            NodeKind::Fail { children, error } => self.translate_fail(children, error),
        }
    }

    /// A constant: doubles inline, ticks and codes as integers, strings as
    /// handles into [`Tables::strings`].
    fn translate_const(&mut self, value: &Value) -> Lowered {
        let ins = self.builder.ins();
        match value {
            Value::Double(x) => Lowered::Float(ins.f64const(*x)),
            Value::Interval(i) => Lowered::Int(ins.iconst(types::I64, i.0)),
            Value::Timestamp(t) => Lowered::Int(ins.iconst(types::I64, t.unix_ticks())),
            Value::Dealloc(o) => {
                let c = abi_code(&DeallocationOption::ALL.map(|(_, o)| o), o);
                Lowered::Int(ins.iconst(types::I64, c))
            }
            Value::Str(s) => {
                self.tables.strings.push(s.clone());
                Lowered::Int(ins.iconst(types::I64, self.tables.strings.len() as i64 - 1))
            }
            // The checker makes no vector constants; an empty handle if it ever did.
            Value::Vector(_) => Lowered::Int(ins.iconst(types::I64, -1)),
        }
    }

    /// A user variable's current SSA value.
    fn translate_user(&mut self, id: VarId, ty: Type) -> Lowered {
        let Some(register) = register_type(ty) else {
            return Lowered::Never;
        };
        let var = self.user_variable(id, register);
        let x = self.builder.use_var(var);
        if register == types::F64 { Lowered::Float(x) } else { Lowered::Int(x) }
    }

    /// A service variable, read through the runtime.
    fn translate_service(&mut self, var: ServiceVar) -> Lowered {
        match var {
            ServiceVar::DeallocationOption => {
                let r = self.call_runtime(RuntimeFn::Dealloc, &[]);
                Lowered::from_int(r)
            }
            ServiceVar::CurrentDedicated | ServiceVar::CurrentLowPriority | ServiceVar::TaskSlotsPerNode => {
                let which = self.const_i32(pool_code(var));
                let r = self.call_runtime(RuntimeFn::Pool, &[which]);
                Lowered::from_float(r)
            }
            target => {
                let which = self.const_i32(target_code(target));
                let r = self.call_runtime(RuntimeFn::Target, &[which]);
                Lowered::from_float(r)
            }
        }
    }

    /// `-x`: inline on a double, a fallible runtime call on an interval.
    fn translate_neg(&mut self, x: &Node, span: Span) -> Lowered {
        let v = self.translate_expr(x);
        match (x.ty, v) {
            (Type::Double, Lowered::Float(x)) => Lowered::Float(self.builder.ins().fneg(x)),
            (Type::Interval, Lowered::Int(x)) => {
                let site = self.failure_site(Site::Expr(span));
                let r = self.call_fallible(RuntimeFn::IntervalNeg, &[x, site]);
                Lowered::from_int(r)
            }
            _ => Lowered::Never,
        }
    }

    /// `!x`: 1 if `x` is zero, else 0.
    fn translate_not(&mut self, x: &Node) -> Lowered {
        let v = self.translate_expr(x);
        let x = self.as_float(v);
        let zero = self.builder.ins().f64const(0.0);
        let is_zero = self.builder.ins().fcmp(FloatCC::Equal, x, zero);
        Lowered::Float(self.bool_to_double(is_zero))
    }

    /// `a ∘ b`; a constant interval product is folded (see
    /// [`constant_interval`]).
    fn translate_arith(&mut self, op: Arith, a: &Node, b: &Node, ty: Type, span: Span) -> Lowered {
        if let Some(ticks) = constant_interval(op, a, b) {
            return Lowered::Int(self.builder.ins().iconst(types::I64, ticks));
        }
        let (va, vb) = (self.translate_expr(a), self.translate_expr(b));
        if ty == Type::Never {
            return Lowered::Never;
        }
        self.arith_on_values(op, (a.ty, va), (b.ty, vb), span)
    }

    /// `a ∘ b` on lowered operands of the given types: doubles, and
    /// timestamp differences, inline; everything else through the runtime.
    fn arith_on_values(
        &mut self,
        op: Arith,
        (lt, a): (Type, Lowered),
        (rt, b): (Type, Lowered),
        span: Span,
    ) -> Lowered {
        let op_code = abi_code(&Arith::ALL, &op);
        match (lt, rt) {
            (Type::Double, Type::Double) => {
                let (x, y) = (self.as_float(a), self.as_float(b));
                let ins = self.builder.ins();
                Lowered::Float(match op {
                    Arith::Add => ins.fadd(x, y),
                    Arith::Sub => ins.fsub(x, y),
                    Arith::Mul => ins.fmul(x, y),
                    Arith::Div => ins.fdiv(x, y),
                })
            }
            (Type::Vector, Type::Double) => {
                let (h, x, c) = (self.as_int(a), self.as_float(b), self.const_i32(op_code));
                let r = self.call_runtime(RuntimeFn::VecScalar, &[c, h, x]);
                Lowered::from_int(r)
            }
            (Type::Double, Type::Vector) => {
                let (x, h, c) = (self.as_float(a), self.as_int(b), self.const_i32(op_code));
                let r = self.call_runtime(RuntimeFn::ScalarVec, &[c, x, h]);
                Lowered::from_int(r)
            }
            (Type::Vector, Type::Vector) => {
                let (x, y, c) = (self.as_int(a), self.as_int(b), self.const_i32(op_code));
                let site = self.failure_site(Site::Expr(span));
                let r = self.call_fallible(RuntimeFn::VecVec, &[c, x, y, site]);
                Lowered::from_int(r)
            }
            (Type::Timestamp, Type::Timestamp) => {
                let (x, y) = (self.as_int(a), self.as_int(b));
                Lowered::Int(self.builder.ins().isub(x, y))
            }
            (Type::Double, Type::Interval) | (Type::Interval, Type::Double) => {
                let (ticks, x) = if lt == Type::Interval {
                    (self.as_int(a), self.as_float(b))
                } else {
                    (self.as_int(b), self.as_float(a))
                };
                let function = if op == Arith::Div { RuntimeFn::IntervalDivide } else { RuntimeFn::IntervalScale };
                let site = self.failure_site(Site::Expr(span));
                let r = self.call_fallible(function, &[ticks, x, site]);
                Lowered::from_int(r)
            }
            (Type::Interval, Type::Interval) => {
                let (x, y) = (self.as_int(a), self.as_int(b));
                let function = if op == Arith::Sub { RuntimeFn::IntervalSub } else { RuntimeFn::IntervalAdd };
                let site = self.failure_site(Site::Expr(span));
                let r = self.call_fallible(function, &[x, y, site]);
                Lowered::from_int(r)
            }
            (Type::Timestamp, Type::Interval) | (Type::Interval, Type::Timestamp) => {
                let (t, i) = if lt == Type::Timestamp {
                    (self.as_int(a), self.as_int(b))
                } else {
                    (self.as_int(b), self.as_int(a))
                };
                let site = self.failure_site(Site::Expr(span));
                let r = self.call_fallible(RuntimeFn::TsAdd, &[t, i, site]);
                Lowered::from_int(r)
            }
            _ => Lowered::Never,
        }
    }

    /// A comparison, as 1 or 0: doubles and ticks inline, strings through
    /// the runtime's ordering.
    fn translate_compare(&mut self, cmp: Comparison, a: &Node, b: &Node, ty: Type) -> Lowered {
        let (va, vb) = (self.translate_expr(a), self.translate_expr(b));
        if ty == Type::Never {
            return Lowered::Never;
        }
        let flag = match a.ty {
            Type::Double => {
                let (x, y) = (self.as_float(va), self.as_float(vb));
                self.builder.ins().fcmp(float_cc(cmp), x, y)
            }
            Type::Str => {
                let (x, y) = (self.as_int(va), self.as_int(vb));
                let order = self.call_runtime(RuntimeFn::StrCmp, &[x, y]).unwrap_or(x);
                self.builder.ins().icmp_imm_s(int_cc(cmp), order, 0)
            }
            _ => {
                let (x, y) = (self.as_int(va), self.as_int(vb));
                self.builder.ins().icmp(int_cc(cmp), x, y)
            }
        };
        Lowered::Float(self.bool_to_double(flag))
    }

    /// `a && b`, `a || b`: both sides are evaluated, as the service does.
    fn translate_logic(&mut self, logic: Logic, a: &Node, b: &Node) -> Lowered {
        let (va, vb) = (self.translate_expr(a), self.translate_expr(b));
        let (x, y) = (self.truthy(va), self.truthy(vb));
        let flag = match logic {
            Logic::And => self.builder.ins().band(x, y),
            Logic::Or => self.builder.ins().bor(x, y),
        };
        Lowered::Float(self.bool_to_double(flag))
    }

    /// `cond ? then : otherwise`: two blocks that jump to a merge block,
    /// whose parameter is the result.
    fn translate_ternary(&mut self, cond: &Node, then: &Node, otherwise: &Node, ty: Type) -> Lowered {
        let c = self.translate_expr(cond);
        let flag = self.truthy(c);
        let (then_block, else_block, merge) =
            (self.builder.create_block(), self.builder.create_block(), self.builder.create_block());
        let register = register_type(ty);
        if let Some(register) = register {
            self.builder.append_block_param(merge, register);
        }
        self.builder.ins().brif(flag, then_block, &[], else_block, &[]);
        for (block, branch) in [(then_block, then), (else_block, otherwise)] {
            self.builder.switch_to_block(block);
            self.builder.seal_block(block);
            let v = self.translate_expr(branch);
            let args: &[ir::BlockArg] = match register {
                Some(types::F64) => &[self.as_float(v).into()],
                Some(_) => &[self.as_int(v).into()],
                None => &[],
            };
            self.builder.ins().jump(merge, args);
        }
        self.builder.switch_to_block(merge);
        self.builder.seal_block(merge);
        match register {
            Some(types::F64) => Lowered::Float(self.builder.block_params(merge)[0]),
            Some(_) => Lowered::Int(self.builder.block_params(merge)[0]),
            None => Lowered::Never,
        }
    }

    /// A list function: of one vector or two doubles in one call, else of
    /// the arguments flattened into the state's scratch list.
    fn translate_list(&mut self, function: ListFunction, args: &[Node], span: Span) -> Lowered {
        // Evaluate every argument before touching the scratch list: an
        // argument may itself be a list function.
        let values: Vec<(Type, Lowered)> = args.iter().map(|a| (a.ty, self.translate_expr(a))).collect();
        let f = self.const_i32(abi_code(&ListFunction::ALL, &function));
        let site = self.failure_site(Site::Expr(span));
        match values.as_slice() {
            [(Type::Vector, v)] => {
                let h = self.as_int(*v);
                let r = self.call_fallible(RuntimeFn::VecFn, &[f, h, site]);
                return Lowered::from_float(r);
            }
            [(Type::Double, Lowered::Float(a)), (Type::Double, Lowered::Float(b))] => {
                let r = self.call_fallible(RuntimeFn::PairFn, &[f, *a, *b, site]);
                return Lowered::from_float(r);
            }
            _ => {}
        }
        self.call_runtime(RuntimeFn::ListClear, &[]);
        for (ty, v) in values {
            match (ty, v) {
                (Type::Vector, v) => {
                    let h = self.as_int(v);
                    self.call_runtime(RuntimeFn::ListExtend, &[h]);
                }
                (_, Lowered::Float(x)) => {
                    self.call_runtime(RuntimeFn::ListPush, &[x]);
                }
                _ => {}
            }
        }
        let r = self.call_fallible(RuntimeFn::ListFn, &[f, site]);
        Lowered::from_float(r)
    }

    /// `percentile(v, p)` or `val(v, i)` (`function`): a vector and a double
    /// to a double, fallible.
    fn translate_vector_lookup(&mut self, function: RuntimeFn, vector: &Node, x: &Node, span: Span) -> Lowered {
        let v = self.translate_expr(vector);
        let h = self.as_vector(vector.ty, v);
        let v = self.translate_expr(x);
        let x = self.as_float(v);
        let site = self.failure_site(Site::Expr(span));
        let r = self.call_fallible(function, &[h, x, site]);
        Lowered::from_float(r)
    }

    /// `lg`, `ln`, `log` of a double, or element-wise of a vector (`ty`).
    fn translate_log(&mut self, log: Log, x: &Node, ty: Type) -> Lowered {
        let v = self.translate_expr(x);
        let c = self.const_i32(abi_code(&Log::ALL, &log));
        if ty == Type::Vector {
            let h = self.as_int(v);
            let r = self.call_runtime(RuntimeFn::VecLog, &[c, h]);
            Lowered::from_int(r)
        } else {
            let x = self.as_float(v);
            let r = self.call_runtime(RuntimeFn::Log, &[c, x]);
            Lowered::from_float(r)
        }
    }

    /// `ceil`, `floor`, `round`.
    fn translate_round(&mut self, rounding: Rounding, x: &Node) -> Lowered {
        let v = self.translate_expr(x);
        let x = self.as_float(v);
        let c = self.const_i32(abi_code(&Rounding::ALL, &rounding));
        let r = self.call_runtime(RuntimeFn::Round, &[c, x]);
        Lowered::from_float(r)
    }

    /// `time(s)`: fallible.
    fn translate_parse_time(&mut self, s: &Node, span: Span) -> Lowered {
        let v = self.translate_expr(s);
        let h = self.as_int(v);
        let site = self.failure_site(Site::Expr(span));
        let r = self.call_fallible(RuntimeFn::ParseTime, &[h, site]);
        Lowered::from_int(r)
    }

    /// A timestamp member such as `t.hour`.
    fn translate_member(&mut self, field: TimestampField, t: &Node) -> Lowered {
        let v = self.translate_expr(t);
        let ticks = self.as_int(v);
        let c = self.const_i32(abi_code(&TimestampField::ALL.map(|(_, f)| f), &field));
        let r = self.call_runtime(RuntimeFn::TsField, &[ticks, c]);
        Lowered::from_float(r)
    }

    /// An error the checker found: its subexpressions run first (they may
    /// stop or fail before it), then the failure is recorded and the
    /// function leaves through the fault exit.
    fn translate_fail(&mut self, children: &[Node], error: &Diagnostic) -> Lowered {
        for child in children {
            self.translate_expr(child);
        }
        let site = self.failure_site(Site::Static(Box::new(error.clone())));
        self.call_runtime(RuntimeFn::Fail, &[site]);
        self.builder.ins().jump(self.fault_exit, &[]);
        self.start_unreachable_block()
    }

    /// A look-back argument of a sample query as (kind code, ticks): an
    /// interval is an age, a timestamp a point; none is an age of zero.
    fn look_back(&mut self, arg: Option<(Type, Lowered)>) -> [ir::Value; 2] {
        let (kind, ticks) = match arg {
            Some((Type::Timestamp, v)) => (LOOK_BACK_TIMESTAMP, self.as_int(v)),
            Some((_, v)) => (LOOK_BACK_INTERVAL, self.as_int(v)),
            None => (LOOK_BACK_INTERVAL, self.builder.ins().iconst(types::I64, 0)),
        };
        [self.const_i32(i64::from(kind)), ticks]
    }

    /// A metric's method.
    fn translate_sample(
        &mut self,
        metric: Metric,
        query: SampleQuery,
        args: &[Node],
        span: Span,
        paren: Span,
    ) -> Lowered {
        let values: Vec<(Type, Lowered)> = args.iter().map(|a| (a.ty, self.translate_expr(a))).collect();
        let m = self.const_i32(metric as i64);
        match query {
            SampleQuery::Last => {
                let n = self.as_float(values.first().map_or(Lowered::Never, |v| v.1));
                let site = self.failure_site(Site::Sample { span, metric, paren });
                let r = self.call_fallible(RuntimeFn::SampleLast, &[m, n, site]);
                Lowered::from_int(r)
            }
            SampleQuery::Window { to, percent } => {
                let [fk, from] = self.look_back(values.first().copied());
                let [tk, until] = self.look_back(if to { values.get(1).copied() } else { None });
                let pct = if percent { values.last().map_or(Lowered::Never, |v| v.1) } else { Lowered::Never };
                let pct = self.as_float(pct);
                let has = self.const_i32(i64::from(percent));
                let site = self.failure_site(Site::Sample { span, metric, paren });
                let args = [m, fk, from, tk, until, has, pct, site];
                // Only a required percentage can fail.
                let r = if percent {
                    self.call_fallible(RuntimeFn::SampleWindow, &args)
                } else {
                    self.call_runtime(RuntimeFn::SampleWindow, &args)
                };
                Lowered::from_int(r)
            }
            SampleQuery::Percent { to } => {
                let [fk, from] = self.look_back(values.first().copied());
                let [tk, until] = self.look_back(if to { values.get(1).copied() } else { None });
                let r = self.call_runtime(RuntimeFn::SamplePercent, &[m, fk, from, tk, until]);
                Lowered::from_float(r)
            }
            SampleQuery::Period => Lowered::Int(self.builder.ins().iconst(types::I64, SAMPLE_PERIOD.0)),
            SampleQuery::Count => {
                let r = self.call_runtime(RuntimeFn::SampleCount, &[m]);
                Lowered::from_float(r)
            }
            SampleQuery::BeginTime => {
                let r = self.call_runtime(RuntimeFn::SampleBegin, &[m]);
                Lowered::from_int(r)
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
