//! The cranelift JIT: compiles a checked [`Program`] once into native code
//! that evaluates it, calling `autoscale_runtime::abi` for everything but
//! double arithmetic, comparisons, logic and timestamp differences.
//!
//! The steps run in a fixed order: declare the runtime imports, declare the
//! entry function, lower the program (lower.rs), define, finalize, take the
//! pointer. The compiled code never panics. It accesses the evaluation state
//! directly in two places only, the failure flag and the user-variable slots
//! (the layout is in `call_compiled`'s safety section); vectors, strings
//! and everything else it reaches through the runtime functions, which
//! bounds-check every handle.

mod lower;
mod runtime;
mod status;
mod tables;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use autoscale_runtime::Value;
use autoscale_runtime::abi::{EvalState, Inputs, Scratch, SlotKind};
use cranelift_codegen::ir::{AbiParam, UserFuncName, types};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, default_libcall_names};

use super::builtins::{Metric, ServiceVar};
use super::context::EvalContext;
use super::ir::Program;
use super::results::{ErrorCode, Fault, Recorder, Run, VariableOrder};
use lower::Lowering;
use status::Status;
use tables::{Site, Tables};

/// The signature of a compiled formula: the state in, a status out.
type Entry = for<'s, 'a> extern "C" fn(&'s mut EvalState<'a>) -> i32;

/// Runs the compiled function whose first instruction is at `code` on
/// `state`, and returns its status (decoded by [`Status::of`]).
///
/// # Safety
///
/// `code` must be the entry that [`JitFormula::compile`] took from a module
/// that has not been freed, and `state` must have been made by
/// [`EvalState::new`] with that program's number of user variables. The
/// function then has the signature `(pointer) -> i32` in the host calling
/// convention, which is `extern "C"` on every target cranelift-native
/// supports.
///
/// Layout. [`EvalState`] is `#[repr(C)]`, and the compiled code reads and
/// writes it directly in three ways (lower.rs):
/// - once on entry it loads the field `slots`, a `*mut Slot`, at byte offset
///   [`SLOTS_OFFSET`](autoscale_runtime::abi::SLOTS_OFFSET) (which `abi`
///   asserts equals `offset_of!(EvalState, slots)`);
/// - after each fallible runtime call it loads the field `failed`, a `u32` at
///   offset 0 (the first field);
/// - it stores each assignment to user variable `i` as the 8 bytes at
///   `slots + 8 * i` (an `f64`'s bits, ticks or a handle), for `i` below the
///   program's variable count, which is the slot buffer's length
///   (`EvalState::new` sizes it).
///
/// Every other access goes through an `asrt_*` function, to which the code
/// passes the same pointer as `&mut EvalState`.
///
/// Aliasing. During the call `state` is borrowed mutably, and through it the
/// [`Scratch`] it borrows; the compiled code and the runtime functions it
/// calls, one at a time, are their only users, and the `&mut EvalState` each
/// runtime function receives ends when it returns, before the code touches
/// the state again. The slot buffer is written only through the raw `slots`
/// pointer: no runtime function touches `Scratch`'s slots (they use its
/// arenas and its list), so nothing reallocates or reborrows the buffer
/// while the pointer is in use.
unsafe fn call_compiled(code: *const u8, state: &mut EvalState) -> i32 {
    // SAFETY: the caller guarantees that `code` is the entry of a live
    // compiled function of signature `Entry`; a code pointer and a function
    // pointer have the same size and representation.
    let entry = unsafe { std::mem::transmute::<*const u8, Entry>(code) };
    entry(state)
}

/// Why a program could not be compiled (a bug: every checked program
/// should compile).
#[derive(Debug, thiserror::Error)]
#[error("JIT compilation failed: {0}")]
pub struct JitError(String);

/// A formula compiled to native code.
pub struct JitFormula {
    /// Owns the code `code` points into; freed on drop.
    module: Option<JITModule>,
    /// The compiled function's entry, called only through [`call_compiled`].
    code: *const u8,
    tables: Tables,
    variables: usize,
    statements: u32,
    order: VariableOrder,
    /// The results' user variables after a run that completed every
    /// statement, worked out once: most runs complete.
    completed: Completed,
    /// The last evaluation's buffers, reused by the next: allocating them
    /// afresh cost more than evaluating a small formula. A `RefCell` keeps
    /// [`JitFormula::run`] at `&self`; formulas are not shared across
    /// threads (`Rc`), and an evaluation never starts another.
    scratch: RefCell<Scratch>,
}

impl std::fmt::Debug for JitFormula {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitFormula").field("sites", &self.tables.sites.len()).finish_non_exhaustive()
    }
}

impl Drop for JitFormula {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: only `self.code` points into this module's memory,
            // and it is dropped with `self`: no call of it can be running
            // (`run` borrows `self`) or start after this.
            unsafe { module.free_memory() };
        }
    }
}

/// The host's instruction set, built once: detecting it costs more than
/// compiling a small formula.
fn isa() -> Result<OwnedTargetIsa, JitError> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        // The verifier re-checks the IR we build. It runs in debug builds,
        // and so in every test (the differential ones included), where a
        // lowering bug shows; release builds skip it, as it adds markedly to
        // the compile time.
        let verify = if cfg!(debug_assertions) { "true" } else { "false" };
        // No IR optimisation and the single-pass register allocator: the
        // optimising passes are much of the compile time, and they would
        // speed up only the inline arithmetic, while an evaluation's time
        // goes to runtime calls and to building the results. The trade's
        // figures are in docs/performance.md.
        for (name, value) in [
            ("opt_level", "none"),
            ("regalloc_algorithm", "single_pass"),
            ("enable_verifier", verify),
            ("is_pic", "false"),
            ("use_colocated_libcalls", "false"),
        ] {
            flags.set(name, value).map_err(|e| e.to_string())?;
        }
        let builder = cranelift_native::builder().map_err(|e| e.to_string())?;
        builder.finish(settings::Flags::new(flags)).map_err(|e| e.to_string())
    })
    .clone()
    .map_err(JitError)
}

impl JitFormula {
    /// Compiles `program`.
    pub fn compile(program: &Program) -> Result<JitFormula, JitError> {
        let err = |e: &dyn std::fmt::Display| JitError(e.to_string());
        let imports = runtime::imports();
        // 1. Declare the runtime functions as host symbols.
        let mut builder = JITBuilder::with_isa(isa()?, default_libcall_names());
        for import in &imports {
            builder.symbol(import.name, import.address);
        }
        let mut module = JITModule::new(builder);
        let pointer = module.target_config().pointer_type();
        let template = module.make_signature();
        let mut ids: Vec<FuncId> = Vec::with_capacity(imports.len());
        for import in &imports {
            let sig = import.signature(&template, pointer);
            ids.push(module.declare_function(import.name, Linkage::Import, &sig).map_err(|e| err(&e))?);
        }
        // 2. Declare the entry function: (state) -> status.
        let mut sig = template.clone();
        sig.params.push(AbiParam::new(pointer));
        sig.returns.push(AbiParam::new(types::I32));
        let entry_id = module.declare_function("formula", Linkage::Local, &sig).map_err(|e| err(&e))?;
        // 3. Lower the program into it.
        let mut ctx = module.make_context();
        ctx.func.signature = sig;
        ctx.func.name = UserFuncName::user(0, entry_id.as_u32());
        let mut fctx = FunctionBuilderContext::new();
        let mut tables = Tables::default();
        {
            let config = module.target_config();
            let mut declare_runtime_fn = |func: &mut cranelift_codegen::ir::Function, f: runtime::RuntimeFn| {
                module.declare_func_in_func(ids[f as usize], func)
            };
            let builder = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            Lowering::new(builder, &mut declare_runtime_fn, &mut tables, pointer, program.variables.len())
                .lower_program(program, config);
        }
        // 4. Define, clear the context, finalize, take the pointer.
        module.define_function(entry_id, &mut ctx).map_err(|e| err(&e))?;
        module.clear_context(&mut ctx);
        module.finalize_definitions().map_err(|e| err(&e))?;
        // Lives as long as `module`, which the result owns.
        let code = module.get_finalized_function(entry_id);
        let statements = program.statements.len() as u32;
        let completed = Completed::new(&program.order, &tables, statements);
        Ok(JitFormula {
            module: Some(module),
            code,
            tables,
            variables: program.variables.len(),
            statements,
            order: program.order.clone(),
            completed,
            scratch: RefCell::default(),
        })
    }

    /// Evaluates the compiled formula against `ctx`.
    pub fn run(&self, ctx: &EvalContext) -> Run {
        let pool = &ctx.pool;
        let inputs = Inputs {
            now: ctx.now,
            seed: ctx.seed,
            pool: [
                pool.target_dedicated,
                pool.target_low_priority,
                pool.current_dedicated,
                pool.current_low_priority,
                pool.task_slots_per_node,
            ],
            histories: ctx.histories(),
            strings: &self.tables.strings,
        };
        // Never borrowed already (see `scratch`); fresh buffers if it were.
        let (mut borrowed, mut fresh) = (self.scratch.try_borrow_mut().ok(), None);
        let scratch = match borrowed.as_deref_mut() {
            Some(scratch) => scratch,
            None => fresh.insert(Scratch::default()),
        };
        let mut state = EvalState::new(inputs, self.variables, scratch);
        // SAFETY: `self.code` is the entry `compile` took from
        // `self.module`, which is freed only on drop; `state` was made for
        // `self.variables`, the program's variable count.
        let status = Status::of(unsafe { call_compiled(self.code, &mut state) });

        let mut recorder = Recorder::new(pool);
        const TARGETS: [ServiceVar; 4] = [
            ServiceVar::TargetDedicated,
            ServiceVar::TargetDedicatedAlias,
            ServiceVar::TargetLowPriority,
            ServiceVar::TargetLowPriorityAlias,
        ];
        for (var, (value, site)) in TARGETS.into_iter().zip(state.targets()) {
            if let Some(site) = site {
                recorder.set_target(var, value, self.span(site));
            }
        }
        recorder.set_deallocation(state.deallocation());
        // How many statements ran to their end (they alone assigned
        // variables), and how the run ended.
        let (reached, status) = match (status, state.fault()) {
            (Status::Completed, _) => (self.statements, Ok(false)),
            (Status::Stopped(statement), _) => (statement, Ok(true)),
            (Status::Fault, Some((site, error))) => {
                (self.tables.sites.get(site as usize).map_or(0, |s| s.1), Err(self.fault(site, error)))
            }
            (Status::Fault, None) => (
                0,
                Err(Fault {
                    code: ErrorCode::EvaluationError,
                    span: Default::default(),
                    detail: "internal error: a failure without a cause".to_owned(),
                }),
            ),
        };
        let variables = if reached == self.statements {
            self.completed.values(&state)
        } else {
            self.order.values(|i| Some(state.user(i, self.tables.kind(i, reached)?)))
        };
        recorder.conclude(variables, status)
    }

    fn span(&self, site: u32) -> crate::formula::ast::Span {
        match self.tables.sites.get(site as usize).map(|s| &s.0) {
            Some(Site::Expr(span) | Site::Sample { span, .. }) => *span,
            Some(Site::Static(d)) => d.span,
            None => Default::default(),
        }
    }

    fn fault(&self, site: u32, error: Option<autoscale_runtime::RuntimeError>) -> Fault {
        let sample = |metric: Metric, paren| Some((metric, paren));
        match (self.tables.sites.get(site as usize).map(|s| &s.0), error) {
            (Some(Site::Static(d)), _) => {
                Fault { code: ErrorCode::EvaluationError, span: d.span, detail: d.message.clone() }
            }
            (Some(Site::Sample { span, metric, paren }), Some(e)) => {
                Fault::from_runtime(e, *span, sample(*metric, *paren))
            }
            (_, Some(e)) => Fault::from_runtime(e, self.span(site), None),
            (_, None) => Fault {
                code: ErrorCode::EvaluationError,
                span: self.span(site),
                detail: "internal error: a failure without a cause".to_owned(),
            },
        }
    }
}

/// The user variables a run that completed every statement leaves, in
/// results order.
#[derive(Debug)]
struct Completed {
    /// Each variable's index and name.
    variables: Vec<(usize, Rc<str>)>,
    /// The variables whose value is not a double: position in `variables`,
    /// index, kind. [`Completed::values`] reads every variable as a double
    /// and then replaces these, so that its loop over all of them — most
    /// are doubles — builds each value in place, as hand-written code would.
    others: Vec<(usize, usize, SlotKind)>,
}

impl Completed {
    fn new(order: &VariableOrder, tables: &Tables, statements: u32) -> Completed {
        let (mut variables, mut others) = (Vec::new(), Vec::new());
        for (i, name) in order.iter() {
            let Some(kind) = tables.kind(*i, statements) else { continue };
            if kind != SlotKind::Double {
                others.push((variables.len(), *i, kind));
            }
            variables.push((*i, name.clone()));
        }
        Completed { variables, others }
    }

    fn values(&self, state: &EvalState) -> Vec<(Rc<str>, Value)> {
        let slots = state.slots();
        let double = |i: usize| Value::Double(f64::from_bits(slots.get(i).copied().unwrap_or(0)));
        let mut values: Vec<_> = self.variables.iter().map(|(i, name)| (name.clone(), double(*i))).collect();
        for &(position, i, kind) in &self.others {
            if let Some((_, value)) = values.get_mut(position) {
                *value = state.user(i, kind);
            }
        }
        values
    }
}
