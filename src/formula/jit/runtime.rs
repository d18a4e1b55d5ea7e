//! The table of runtime functions compiled code may call: name, address
//! and signature of each `asrt_*` function of `autoscale_runtime::abi`.

use autoscale_runtime::abi;
use cranelift_codegen::ir::{AbiParam, Signature, types};

/// A parameter or result type in the ABI.
#[derive(Clone, Copy)]
pub(super) enum Ty {
    /// The `EvalState` pointer.
    State,
    /// `f64`.
    F,
    /// `i64`: ticks and handles.
    I,
    /// `u32`/`i32`: codes, sites, flags.
    W,
}

/// One runtime function.
pub(super) struct Import {
    pub name: &'static str,
    pub address: *const u8,
    pub params: &'static [Ty],
    pub returns: &'static [Ty],
}

impl Import {
    /// Its cranelift signature in the host's calling convention.
    pub fn signature(&self, template: &Signature, pointer: types::Type) -> Signature {
        let mut sig = template.clone();
        let abi = |t: &Ty| {
            AbiParam::new(match t {
                Ty::State => pointer,
                Ty::F => types::F64,
                Ty::I => types::I64,
                Ty::W => types::I32,
            })
        };
        sig.params.extend(self.params.iter().map(abi));
        sig.returns.extend(self.returns.iter().map(abi));
        sig
    }
}

macro_rules! imports {
    ($($id:ident => $f:path : ($($p:ident),*) -> ($($r:ident),*);)*) => {
        /// Names the runtime functions; the discriminant indexes [`IMPORTS`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub(super) enum Rt { $($id),* }

        /// How many runtime functions there are.
        pub(super) const RT_COUNT: usize = [$(stringify!($id)),*].len();

        /// Every runtime function, in [`Rt`] order.
        pub(super) fn imports() -> Vec<Import> {
            vec![$(Import {
                name: stringify!($id),
                address: $f as *const u8,
                params: &[$(Ty::$p),*],
                returns: &[$(Ty::$r),*],
            }),*]
        }
    };
}

imports! {
    VecScalar => abi::asrt_vec_scalar: (State, W, I, F) -> (I);
    ScalarVec => abi::asrt_scalar_vec: (State, W, F, I) -> (I);
    VecVec => abi::asrt_vec_vec: (State, W, I, I, W) -> (I);
    VecOf => abi::asrt_vec_of: (State, F) -> (I);
    VecLog => abi::asrt_vec_log: (State, W, I) -> (I);
    Log => abi::asrt_log: (W, F) -> (F);
    Round => abi::asrt_round: (W, F) -> (F);
    Rand => abi::asrt_rand: (State) -> (F);
    TsField => abi::asrt_ts_field: (State, I, W) -> (F);
    StrCmp => abi::asrt_str_cmp: (State, I, I) -> (W);
    ListClear => abi::asrt_list_clear: (State) -> ();
    ListPush => abi::asrt_list_push: (State, F) -> ();
    ListExtend => abi::asrt_list_extend: (State, I) -> ();
    ListFn => abi::asrt_list_fn: (State, W, W) -> (F);
    PairFn => abi::asrt_pair_fn: (State, W, F, F, W) -> (F);
    VecFn => abi::asrt_vec_fn: (State, W, I, W) -> (F);
    Percentile => abi::asrt_percentile: (State, I, F, W) -> (F);
    Val => abi::asrt_val: (State, I, F, W) -> (F);
    ParseTime => abi::asrt_parse_time: (State, I, W) -> (I);
    IntervalScale => abi::asrt_interval_scale: (State, I, F, W) -> (I);
    IntervalDivide => abi::asrt_interval_divide: (State, I, F, W) -> (I);
    IntervalAdd => abi::asrt_interval_add: (State, I, I, W) -> (I);
    IntervalSub => abi::asrt_interval_sub: (State, I, I, W) -> (I);
    IntervalNeg => abi::asrt_interval_neg: (State, I, W) -> (I);
    TsAdd => abi::asrt_ts_add: (State, I, I, W) -> (I);
    SampleLast => abi::asrt_sample_last: (State, W, F, W) -> (I);
    SampleWindow => abi::asrt_sample_window: (State, W, W, I, W, I, W, F, W) -> (I);
    SamplePercent => abi::asrt_sample_percent: (State, W, W, I, W, I) -> (F);
    SampleCount => abi::asrt_sample_count: (State, W) -> (F);
    SampleBegin => abi::asrt_sample_begin: (State, W) -> (I);
    Target => abi::asrt_target: (State, W) -> (F);
    Pool => abi::asrt_pool: (State, W) -> (F);
    Dealloc => abi::asrt_dealloc: (State) -> (I);
    Now => abi::asrt_now: (State) -> (I);
    SetTarget => abi::asrt_set_target: (State, W, F, W) -> ();
    SetDealloc => abi::asrt_set_dealloc: (State, I) -> ();
    Fail => abi::asrt_fail: (State, W) -> ();
}
