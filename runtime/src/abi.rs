//! The C ABI between JIT-compiled formulas and the built-ins.
//!
//! Compiled code receives one pointer, to an [`EvalState`], and passes it to
//! every `asrt_*` function below. Doubles travel as `f64`; timestamps and
//! intervals as `i64` ticks; vectors and strings as `i64` handles into the
//! state's arenas; enumerations (operators, functions, metrics) as `u32`
//! codes, the index of the value in the type's `ALL` array.
//!
//! Failure protocol: a fallible function takes a `site` (an index the
//! compiler gave to the calling expression). On failure it records
//! `(site, error)`, sets [`EvalState::failed`] — the first field, at offset
//! 0 — and returns a harmless value; compiled code loads that flag after the
//! call and leaves the function. Nothing here panics: a bad handle or code
//! (which a correct compiler never passes) reads as an empty vector or zero.
//!
//! These functions only wrap the crate's safe Rust built-ins, which the
//! interpreter calls directly: one implementation of each built-in.

use std::ops::Range;
use std::rc::Rc;

use crate::aggregate::{self, ListFunction, Log, Rounding};
use crate::random::Random;
use crate::samples::{History, Window};
use crate::time::TimestampField;
use crate::vector::Arith;
use crate::{DeallocationOption, Interval, RuntimeError, Timestamp, Value};

/// A vector value: owned, or a window of a metric's history (no copy).
#[derive(Debug, Clone)]
enum Vector {
    Owned(Rc<[f64]>),
    Samples { metric: usize, start: usize, end: usize },
}

/// A user variable's value as compiled code stores it: 64 bits (an
/// `f64`'s bits, ticks or a handle). Which kind of value a slot holds, and
/// whether it holds one at all, is known to the compiler from how far the
/// run got (statements run in order), so compiled code stores no tag: the
/// caller passes the [`SlotKind`] to [`EvalState::user`].
pub type Slot = u64;

/// The kind of value in a [`Slot`] that was assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// An `f64`'s bits.
    Double,
    /// A vector handle.
    Vector,
    /// A string handle.
    Str,
    /// Timestamp ticks.
    Timestamp,
    /// Interval ticks.
    Interval,
}

/// Byte offset of [`EvalState`]'s slot pointer, which compiled code loads
/// once and stores user variables through.
pub const SLOTS_OFFSET: i32 = 8;
const _: () = assert!(std::mem::offset_of!(EvalState<'static>, slots) == SLOTS_OFFSET as usize);

/// What a compiled formula reads: fixed for one evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The evaluation instant.
    pub now: Timestamp,
    /// Seed of `rand()`.
    pub seed: u64,
    /// Target dedicated, target low-priority, current dedicated, current
    /// low-priority, task slots per node (in that order: the `which` codes).
    pub pool: [f64; 5],
    /// Sample histories, indexed by metric code.
    pub histories: &'a [History],
    /// The formula's string constants, indexed by string handle.
    pub strings: &'a [Rc<str>],
}

/// The buffers an evaluation fills: user-variable slots, vector and string
/// arenas, the scratch list. A compiled formula keeps them between
/// evaluations and lends them to each new [`EvalState`], so that once they
/// have grown to the formula's needs an evaluation allocates nothing. They
/// hold the last evaluation's values until the next one starts.
#[derive(Debug, Default)]
pub struct Scratch {
    users: Vec<Slot>,
    vectors: Vec<Vector>,
    strings: Vec<Rc<str>>,
    list: Vec<f64>,
}

/// The state of one evaluation of a compiled formula.
#[repr(C)]
#[derive(Debug)]
pub struct EvalState<'a> {
    /// Nonzero once a built-in failed (see the module docs). Must stay the
    /// first field: compiled code reads it at offset 0.
    pub failed: u32,
    /// Points at `scratch.users`' buffer, one [`Slot`] per user variable (at
    /// [`SLOTS_OFFSET`]). Compiled code writes assignments there directly:
    /// a call per assignment would cost more than the arithmetic.
    slots: *mut Slot,
    /// Borrowed rather than moved in and out, which would copy the
    /// buffers' headers into the state and back on every evaluation.
    scratch: &'a mut Scratch,
    inputs: Inputs<'a>,
    /// Seeded on the first `rand()`: most formulas never call it. Boxed:
    /// the generator's state is larger than all the rest of the state,
    /// which every evaluation would otherwise copy.
    random: Option<Box<Random>>,
    targets: [(f64, Option<u32>); 4],
    deallocation: DeallocationOption,
    fault: Option<(u32, Option<RuntimeError>)>,
    /// The last window looked up: metric, window, and its samples' indices.
    last_window: Option<(u32, Window, Range<usize>)>,
}

impl<'a> EvalState<'a> {
    /// A fresh state for a formula with `user_variables` variables, in
    /// `scratch`'s buffers: the arenas are emptied, the variable slots are
    /// not. A run reads back only the variables its completed statements
    /// assigned, so a slot left from the last evaluation is never read as
    /// this one's.
    pub fn new(inputs: Inputs<'a>, user_variables: usize, scratch: &'a mut Scratch) -> EvalState<'a> {
        let [d, l, ..] = inputs.pool;
        if scratch.users.len() != user_variables {
            scratch.users.resize(user_variables, 0);
        }
        scratch.vectors.clear();
        scratch.strings.clear();
        scratch.list.clear();
        EvalState {
            failed: 0,
            // The buffer stays put while the state borrows `scratch`.
            slots: scratch.users.as_mut_ptr(),
            scratch,
            inputs,
            random: None,
            targets: [(d, None), (d, None), (l, None), (l, None)],
            deallocation: DeallocationOption::default(),
            fault: None,
            last_window: None,
        }
    }

    /// Value and assigning site of `$TargetDedicatedNodes`, `$TargetDedicated`,
    /// `$TargetLowPriorityNodes`, `$TargetLowPriority` (site `None`: never assigned).
    pub fn targets(&self) -> [(f64, Option<u32>); 4] {
        self.targets
    }

    /// `$NodeDeallocationOption`.
    pub fn deallocation(&self) -> DeallocationOption {
        self.deallocation
    }

    /// The failure: the site, and the built-in's error (`None` for a
    /// failure the compiler placed, an error found before run time).
    pub fn fault(&self) -> Option<(u32, Option<RuntimeError>)> {
        self.fault.clone()
    }

    /// The user variables' slots as compiled code left them. Only those
    /// that the run's completed statements assigned hold this run's
    /// values; the others may hold an earlier evaluation's.
    pub fn slots(&self) -> &[Slot] {
        &self.scratch.users
    }

    /// User variable `index`'s last value, which is of kind `kind`.
    pub fn user(&self, index: usize, kind: SlotKind) -> Value {
        // The slots are sized to the formula's variables: an index past
        // them (a compiler bug) reads as zero bits, as a bad handle does.
        let bits = self.scratch.users.get(index).copied().unwrap_or(0);
        match kind {
            SlotKind::Double => Value::Double(f64::from_bits(bits)),
            SlotKind::Vector => Value::Vector(Rc::from(self.vector(bits as i64))),
            SlotKind::Str => Value::Str(self.string(bits as i64)),
            SlotKind::Timestamp => Value::Timestamp(Timestamp::from_unix_ticks(bits as i64).unwrap_or(self.inputs.now)),
            SlotKind::Interval => Value::Interval(Interval(bits as i64)),
        }
    }

    fn vector(&self, handle: i64) -> &[f64] {
        match usize::try_from(handle).ok().and_then(|h| self.scratch.vectors.get(h)) {
            Some(Vector::Owned(v)) => v,
            Some(Vector::Samples { metric, start, end }) => {
                self.inputs.histories.get(*metric).map_or(&[], |h| h.values().get(*start..*end).unwrap_or(&[]))
            }
            None => &[],
        }
    }

    fn string(&self, handle: i64) -> Rc<str> {
        let h = usize::try_from(handle).unwrap_or(usize::MAX);
        let constants = self.inputs.strings.len();
        if h < constants {
            self.inputs.strings[h].clone()
        } else {
            self.scratch.strings.get(h - constants).cloned().unwrap_or_else(|| Rc::from(""))
        }
    }

    fn push(&mut self, v: Vector) -> i64 {
        self.scratch.vectors.push(v);
        self.scratch.vectors.len() as i64 - 1
    }

    fn owned(&mut self, v: Vec<f64>) -> i64 {
        self.push(Vector::Owned(v.into()))
    }

    fn fail(&mut self, site: u32, error: Option<RuntimeError>) {
        if self.fault.is_none() {
            self.fault = Some((site, error));
        }
        self.failed = 1;
    }

    /// Unwraps a built-in's result, recording its failure at `site`.
    fn check<T: Default>(&mut self, site: u32, result: Result<T, RuntimeError>) -> T {
        result.unwrap_or_else(|e| {
            self.fail(site, Some(e));
            T::default()
        })
    }

    fn history(&self, metric: u32) -> &'a History {
        static EMPTY: std::sync::OnceLock<History> = std::sync::OnceLock::new();
        let histories: &'a [History] = self.inputs.histories;
        histories.get(metric as usize).unwrap_or_else(|| EMPTY.get_or_init(History::default))
    }

    /// `metric`'s samples in `window`, as indices into its values. The last
    /// answer is kept: formulas often ask for one window twice, its
    /// percentage and then its samples (as the docs' examples do).
    fn window_range(&mut self, metric: u32, window: Window) -> Range<usize> {
        match &self.last_window {
            Some((m, w, range)) if *m == metric && *w == window => range.clone(),
            _ => {
                let range = self.history(metric).window_range(self.inputs.now, window);
                self.last_window = Some((metric, window, range.clone()));
                range
            }
        }
    }

    fn look_back(&self, kind: u32, ticks: i64) -> Interval {
        if kind == LOOK_BACK_TIMESTAMP {
            Interval(self.inputs.now.unix_ticks().saturating_sub(ticks))
        } else {
            Interval(ticks)
        }
    }
}

/// Look-back kind code: the point is an interval (an age).
pub const LOOK_BACK_INTERVAL: u32 = 0;
/// Look-back kind code: the point is a timestamp.
pub const LOOK_BACK_TIMESTAMP: u32 = 1;

fn code<T: Copy>(all: &[T], code: u32) -> Option<T> {
    all.get(code as usize).copied()
}

fn arith(op: u32) -> Arith {
    code(&Arith::ALL, op).unwrap_or(Arith::Add)
}

/// `v ∘ x`, element-wise.
pub extern "C" fn asrt_vec_scalar(s: &mut EvalState, op: u32, v: i64, x: f64) -> i64 {
    let r = arith(op).vector_scalar(s.vector(v), x);
    s.owned(r)
}

/// `x ∘ v`, element-wise.
pub extern "C" fn asrt_scalar_vec(s: &mut EvalState, op: u32, x: f64, v: i64) -> i64 {
    let r = arith(op).scalar_vector(x, s.vector(v));
    s.owned(r)
}

/// `a ∘ b`, pairwise. Fallible: lengths must match.
pub extern "C" fn asrt_vec_vec(s: &mut EvalState, op: u32, a: i64, b: i64, site: u32) -> i64 {
    let r = arith(op).vector_vector(s.vector(a), s.vector(b));
    match r {
        Ok(v) => s.owned(v),
        Err(e) => {
            s.fail(site, Some(e));
            0
        }
    }
}

/// A one-element vector (a double where a list is expected).
pub extern "C" fn asrt_vec_of(s: &mut EvalState, x: f64) -> i64 {
    s.owned(vec![x])
}

/// A logarithm of every element.
pub extern "C" fn asrt_vec_log(s: &mut EvalState, log: u32, v: i64) -> i64 {
    let log = code(&Log::ALL, log).unwrap_or(Log::Natural);
    let r = s.vector(v).iter().map(|&x| log.apply(x)).collect();
    s.owned(r)
}

/// A logarithm of a double.
pub extern "C" fn asrt_log(log: u32, x: f64) -> f64 {
    code(&Log::ALL, log).map_or(f64::NAN, |l| l.apply(x))
}

/// `ceil`, `floor` or `round` of a double.
pub extern "C" fn asrt_round(mode: u32, x: f64) -> f64 {
    code(&Rounding::ALL, mode).map_or(f64::NAN, |r| r.apply(x))
}

/// `rand()`.
pub extern "C" fn asrt_rand(s: &mut EvalState) -> f64 {
    let seed = s.inputs.seed;
    s.random.get_or_insert_with(|| Box::new(Random::seeded(seed))).next_double()
}

/// A timestamp member (`field` indexes [`TimestampField::ALL`]).
pub extern "C" fn asrt_ts_field(s: &mut EvalState, ticks: i64, field: u32) -> f64 {
    let t = Timestamp::from_unix_ticks(ticks).unwrap_or(s.inputs.now);
    code(&TimestampField::ALL, field).map_or(f64::NAN, |(_, f)| t.field(f))
}

/// Compares two strings: -1, 0 or 1.
pub extern "C" fn asrt_str_cmp(s: &mut EvalState, a: i64, b: i64) -> i32 {
    s.string(a).cmp(&s.string(b)) as i32
}

/// Empties the scratch list that flattens a `doubleVecList`.
pub extern "C" fn asrt_list_clear(s: &mut EvalState) {
    s.scratch.list.clear();
}

/// Appends a double to the scratch list.
pub extern "C" fn asrt_list_push(s: &mut EvalState, x: f64) {
    s.scratch.list.push(x);
}

/// Appends a vector's elements to the scratch list.
pub extern "C" fn asrt_list_extend(s: &mut EvalState, v: i64) {
    let mut list = std::mem::take(&mut s.scratch.list);
    list.extend_from_slice(s.vector(v));
    s.scratch.list = list;
}

/// A list function of the scratch list. Fallible: empty aggregates.
pub extern "C" fn asrt_list_fn(s: &mut EvalState, function: u32, site: u32) -> f64 {
    let f = code(&ListFunction::ALL, function).unwrap_or(ListFunction::Sum);
    let r = f.apply(&s.scratch.list);
    s.check(site, r)
}

/// A list function of two doubles — the commonest call, `min(25, x)` —
/// without the scratch list's three calls. Fallible like
/// [`asrt_list_fn`], whose result it gives.
pub extern "C" fn asrt_pair_fn(s: &mut EvalState, function: u32, a: f64, b: f64, site: u32) -> f64 {
    let f = code(&ListFunction::ALL, function).unwrap_or(ListFunction::Sum);
    let r = f.apply_pair(a, b);
    s.check(site, r)
}

/// A list function of one vector. Fallible: empty aggregates.
pub extern "C" fn asrt_vec_fn(s: &mut EvalState, function: u32, v: i64, site: u32) -> f64 {
    let f = code(&ListFunction::ALL, function).unwrap_or(ListFunction::Sum);
    let r = f.apply(s.vector(v));
    s.check(site, r)
}

/// `percentile(v, p)`. Fallible.
pub extern "C" fn asrt_percentile(s: &mut EvalState, v: i64, p: f64, site: u32) -> f64 {
    let r = aggregate::percentile(s.vector(v), p);
    s.check(site, r)
}

/// `val(v, i)`. Fallible.
pub extern "C" fn asrt_val(s: &mut EvalState, v: i64, i: f64, site: u32) -> f64 {
    let r = aggregate::val(s.vector(v), i);
    s.check(site, r)
}

/// `time(s)`. Fallible.
pub extern "C" fn asrt_parse_time(s: &mut EvalState, text: i64, site: u32) -> i64 {
    let r = Timestamp::parse(&s.string(text)).map(Timestamp::unix_ticks);
    s.check(site, r)
}

/// `interval * x`. Fallible.
pub extern "C" fn asrt_interval_scale(s: &mut EvalState, ticks: i64, x: f64, site: u32) -> i64 {
    let r = Interval(ticks).scale(x).map(|i| i.0);
    s.check(site, r)
}

/// `interval / x`. Fallible.
pub extern "C" fn asrt_interval_divide(s: &mut EvalState, ticks: i64, x: f64, site: u32) -> i64 {
    let r = Interval(ticks).divide(x).map(|i| i.0);
    s.check(site, r)
}

/// `a + b` on intervals. Fallible.
pub extern "C" fn asrt_interval_add(s: &mut EvalState, a: i64, b: i64, site: u32) -> i64 {
    let r = Interval(a).checked_add(Interval(b)).map(|i| i.0);
    s.check(site, r)
}

/// `a - b` on intervals. Fallible.
pub extern "C" fn asrt_interval_sub(s: &mut EvalState, a: i64, b: i64, site: u32) -> i64 {
    let r = Interval(a).checked_sub(Interval(b)).map(|i| i.0);
    s.check(site, r)
}

/// `-a` on an interval. Fallible.
pub extern "C" fn asrt_interval_neg(s: &mut EvalState, a: i64, site: u32) -> i64 {
    let r = Interval(a).checked_neg().map(|i| i.0);
    s.check(site, r)
}

/// `timestamp + interval`. Fallible.
pub extern "C" fn asrt_ts_add(s: &mut EvalState, t: i64, i: i64, site: u32) -> i64 {
    let r = Timestamp::from_unix_ticks(t).and_then(|t| t.checked_add(Interval(i))).map(Timestamp::unix_ticks);
    s.check(site, r)
}

/// `timestamp - timestamp` (cannot fail: both lie within years 1 to 9999).
pub extern "C" fn asrt_ts_since(a: i64, b: i64) -> i64 {
    a.saturating_sub(b)
}

/// `$M.GetSample(n)`. Fallible: n must be at least 0.
pub extern "C" fn asrt_sample_last(s: &mut EvalState, metric: u32, n: f64, site: u32) -> i64 {
    let history = s.history(metric);
    match history.last(n) {
        Ok(v) => {
            let end = history.count();
            s.push(Vector::Samples { metric: metric as usize, start: end - v.len(), end })
        }
        Err(e) => {
            s.fail(site, Some(e));
            0
        }
    }
}

/// `$M.GetSample(from [, to] [, pct])`; `has_pct` 0 means no percentage.
/// Fallible: too few samples, or a percentage outside [0, 100].
#[allow(clippy::too_many_arguments)]
pub extern "C" fn asrt_sample_window(
    s: &mut EvalState,
    metric: u32,
    from_kind: u32,
    from: i64,
    to_kind: u32,
    to: i64,
    has_pct: u32,
    pct: f64,
    site: u32,
) -> i64 {
    let window = Window::between(s.look_back(from_kind, from), s.look_back(to_kind, to));
    let range = s.window_range(metric, window);
    let range = if has_pct != 0 {
        match History::require_percent(range, window, pct) {
            Ok(range) => range,
            Err(e) => {
                s.fail(site, Some(e));
                return 0;
            }
        }
    } else {
        range
    };
    s.push(Vector::Samples { metric: metric as usize, start: range.start, end: range.end })
}

/// `$M.GetSamplePercent(from [, to])`.
pub extern "C" fn asrt_sample_percent(
    s: &mut EvalState,
    metric: u32,
    from_kind: u32,
    from: i64,
    to_kind: u32,
    to: i64,
) -> f64 {
    let window = Window::between(s.look_back(from_kind, from), s.look_back(to_kind, to));
    window.percent(s.window_range(metric, window).len())
}

/// `$M.Count()`.
pub extern "C" fn asrt_sample_count(s: &mut EvalState, metric: u32) -> f64 {
    s.history(metric).count() as f64
}

/// `$M.HistoryBeginTime()`: **(decision)** now for an empty history.
pub extern "C" fn asrt_sample_begin(s: &mut EvalState, metric: u32) -> i64 {
    s.history(metric).begin_time().unwrap_or(s.inputs.now).unix_ticks()
}

/// Reads a target (`which` 0–3: dedicated, its alias, low-priority, its alias).
pub extern "C" fn asrt_target(s: &mut EvalState, which: u32) -> f64 {
    s.targets.get(which as usize).map_or(0.0, |t| t.0)
}

/// Reads a pool scalar (`which` indexes [`Inputs::pool`]).
pub extern "C" fn asrt_pool(s: &mut EvalState, which: u32) -> f64 {
    s.inputs.pool.get(which as usize).copied().unwrap_or(0.0)
}

/// Reads `$NodeDeallocationOption` (its code).
pub extern "C" fn asrt_dealloc(s: &mut EvalState) -> i64 {
    DeallocationOption::ALL.iter().position(|(_, o)| *o == s.deallocation).unwrap_or(0) as i64
}

/// `time()`: the evaluation instant.
pub extern "C" fn asrt_now(s: &mut EvalState) -> i64 {
    s.inputs.now.unix_ticks()
}

/// Assigns a target (`which` as in [`asrt_target`]) at `site`.
pub extern "C" fn asrt_set_target(s: &mut EvalState, which: u32, x: f64, site: u32) {
    if let Some(t) = s.targets.get_mut(which as usize) {
        *t = (x, Some(site));
    }
}

/// Assigns `$NodeDeallocationOption` (`option` indexes [`DeallocationOption::ALL`]).
pub extern "C" fn asrt_set_dealloc(s: &mut EvalState, option: i64) {
    if let Some(&(_, o)) = usize::try_from(option).ok().and_then(|i| DeallocationOption::ALL.get(i)) {
        s.deallocation = o;
    }
}

/// Records a failure the compiler placed at `site` (an error found before
/// run time, which the service reports when evaluation reaches it).
pub extern "C" fn asrt_fail(s: &mut EvalState, site: u32) {
    s.fail(site, None);
}
