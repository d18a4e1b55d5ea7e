//! The table of runtime functions compiled code may call: name, address
//! and signature of each `asrt_*` function of `autoscale_runtime::abi`.

use autoscale_runtime::abi;
use cranelift_codegen::ir::{AbiParam, Signature, types};

/// A parameter or result type in the ABI.
#[derive(Clone, Copy)]
pub(super) enum AbiType {
    /// The `EvalState` pointer.
    State,
    /// A double.
    F64,
    /// Ticks and handles.
    I64,
    /// `u32`/`i32`: codes, sites, flags.
    I32,
}

/// One runtime function.
pub(super) struct Import {
    pub name: &'static str,
    pub address: *const u8,
    pub params: &'static [AbiType],
    pub returns: &'static [AbiType],
}

impl Import {
    /// Its cranelift signature in the host's calling convention.
    pub fn signature(&self, template: &Signature, pointer: types::Type) -> Signature {
        let mut sig = template.clone();
        let abi = |t: &AbiType| {
            AbiParam::new(match t {
                AbiType::State => pointer,
                AbiType::F64 => types::F64,
                AbiType::I64 => types::I64,
                AbiType::I32 => types::I32,
            })
        };
        sig.params.extend(self.params.iter().map(abi));
        sig.returns.extend(self.returns.iter().map(abi));
        sig
    }
}

macro_rules! imports {
    ($($id:ident => $f:path : ($($p:ident),*) -> ($($r:ident),*);)*) => {
        /// Names the runtime functions; the discriminant indexes the list [`imports()`] returns.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub(super) enum RuntimeFn { $($id),* }

        /// How many runtime functions there are.
        pub(super) const RUNTIME_FN_COUNT: usize = [$(stringify!($id)),*].len();

        /// Every runtime function, in [`RuntimeFn`] order.
        pub(super) fn imports() -> Vec<Import> {
            vec![$(Import {
                name: stringify!($id),
                address: $f as *const u8,
                params: &[$(AbiType::$p),*],
                returns: &[$(AbiType::$r),*],
            }),*]
        }
    };
}

imports! {
    VecScalar => abi::asrt_vec_scalar: (State, I32, I64, F64) -> (I64);
    ScalarVec => abi::asrt_scalar_vec: (State, I32, F64, I64) -> (I64);
    VecVec => abi::asrt_vec_vec: (State, I32, I64, I64, I32) -> (I64);
    VecOf => abi::asrt_vec_of: (State, F64) -> (I64);
    VecLog => abi::asrt_vec_log: (State, I32, I64) -> (I64);
    Log => abi::asrt_log: (I32, F64) -> (F64);
    Round => abi::asrt_round: (I32, F64) -> (F64);
    Rand => abi::asrt_rand: (State) -> (F64);
    TsField => abi::asrt_ts_field: (State, I64, I32) -> (F64);
    StrCmp => abi::asrt_str_cmp: (State, I64, I64) -> (I32);
    ListClear => abi::asrt_list_clear: (State) -> ();
    ListPush => abi::asrt_list_push: (State, F64) -> ();
    ListExtend => abi::asrt_list_extend: (State, I64) -> ();
    ListFn => abi::asrt_list_fn: (State, I32, I32) -> (F64);
    PairFn => abi::asrt_pair_fn: (State, I32, F64, F64, I32) -> (F64);
    VecFn => abi::asrt_vec_fn: (State, I32, I64, I32) -> (F64);
    Percentile => abi::asrt_percentile: (State, I64, F64, I32) -> (F64);
    Val => abi::asrt_val: (State, I64, F64, I32) -> (F64);
    ParseTime => abi::asrt_parse_time: (State, I64, I32) -> (I64);
    IntervalScale => abi::asrt_interval_scale: (State, I64, F64, I32) -> (I64);
    IntervalDivide => abi::asrt_interval_divide: (State, I64, F64, I32) -> (I64);
    IntervalAdd => abi::asrt_interval_add: (State, I64, I64, I32) -> (I64);
    IntervalSub => abi::asrt_interval_sub: (State, I64, I64, I32) -> (I64);
    IntervalNeg => abi::asrt_interval_neg: (State, I64, I32) -> (I64);
    TsAdd => abi::asrt_ts_add: (State, I64, I64, I32) -> (I64);
    SampleLast => abi::asrt_sample_last: (State, I32, F64, I32) -> (I64);
    SampleWindow => abi::asrt_sample_window: (State, I32, I32, I64, I32, I64, I32, F64, I32) -> (I64);
    SamplePercent => abi::asrt_sample_percent: (State, I32, I32, I64, I32, I64) -> (F64);
    SampleCount => abi::asrt_sample_count: (State, I32) -> (F64);
    SampleBegin => abi::asrt_sample_begin: (State, I32) -> (I64);
    Target => abi::asrt_target: (State, I32) -> (F64);
    Pool => abi::asrt_pool: (State, I32) -> (F64);
    Dealloc => abi::asrt_dealloc: (State) -> (I64);
    Now => abi::asrt_now: (State) -> (I64);
    SetTarget => abi::asrt_set_target: (State, I32, F64, I32) -> ();
    SetDealloc => abi::asrt_set_dealloc: (State, I64) -> ();
    Fail => abi::asrt_fail: (State, I32) -> ();
}
