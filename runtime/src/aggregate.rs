//! The list functions: `avg`, `len`, `max`, `min`, `norm`, `percentile`,
//! `range`, `std`, `sum`, `val`.
//!
//! Each takes the already-flattened `doubleVecList`; an aggregate of an empty
//! list is an error (the service has no value to give), except `len` and
//! `sum`, which have natural answers.

use crate::RuntimeError;

fn non_empty<'a>(values: &'a [f64], function: &'static str) -> Result<&'a [f64], RuntimeError> {
    if values.is_empty() { Err(RuntimeError::EmptyAggregate { function }) } else { Ok(values) }
}

/// `avg(list)`: the arithmetic mean.
pub fn avg(values: &[f64]) -> Result<f64, RuntimeError> {
    let v = non_empty(values, "avg")?;
    Ok(sum(v) / v.len() as f64)
}

/// `len(list)`: the element count.
pub fn len(values: &[f64]) -> f64 {
    values.len() as f64
}

/// `max(list)`. NaN elements are skipped unless all are NaN.
pub fn max(values: &[f64]) -> Result<f64, RuntimeError> {
    let v = non_empty(values, "max")?;
    Ok(v.iter().copied().fold(f64::NAN, larger))
}

/// `min(list)`. NaN elements are skipped unless all are NaN.
pub fn min(values: &[f64]) -> Result<f64, RuntimeError> {
    let v = non_empty(values, "min")?;
    Ok(v.iter().copied().fold(f64::NAN, smaller))
}

/// The smaller of two values as IEEE 754-2019's `minimumNumber`: a NaN
/// loses to a number, and −0 is smaller than +0. Not `f64::min`, which may
/// return either zero: the result must not depend on how a call compiles
/// (a list fold here, a pair in [`ListFunction::apply_pair`]).
fn smaller(a: f64, b: f64) -> f64 {
    if a < b || b.is_nan() {
        a
    } else if b < a || a.is_nan() {
        b
    } else if a.is_sign_negative() {
        a
    } else {
        b
    }
}

/// The larger of two values as IEEE 754-2019's `maximumNumber`: a NaN
/// loses to a number, and +0 is larger than −0 (see [`smaller`]).
fn larger(a: f64, b: f64) -> f64 {
    if a > b || b.is_nan() {
        a
    } else if b > a || a.is_nan() {
        b
    } else if a.is_sign_positive() {
        a
    } else {
        b
    }
}

/// `norm(list)`: the Euclidean norm.
pub fn norm(values: &[f64]) -> Result<f64, RuntimeError> {
    let v = non_empty(values, "norm")?;
    Ok(v.iter().map(|x| x * x).sum::<f64>().sqrt())
}

/// `range(list)`: max − min.
pub fn range(values: &[f64]) -> Result<f64, RuntimeError> {
    let v = non_empty(values, "range")?;
    Ok(max(v)? - min(v)?)
}

/// `std(list)`: the sample standard deviation (divisor n − 1).
/// **(decision)** 0 for a single element.
pub fn std(values: &[f64]) -> Result<f64, RuntimeError> {
    let v = non_empty(values, "std")?;
    if v.len() == 1 {
        return Ok(0.0);
    }
    let mean = sum(v) / v.len() as f64;
    let squares: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    Ok((squares / (v.len() - 1) as f64).sqrt())
}

/// `sum(list)`: 0 for an empty list.
pub fn sum(values: &[f64]) -> f64 {
    // Not `Iterator::sum`: it starts from -0.0, so an empty list would
    // print as `-0`. Start from +0.0 as a C loop does.
    values.iter().fold(0.0, |total, x| total + x)
}

/// `percentile(v, p)`: **(decision)** nearest rank on the sorted values, so
/// the result is always one of the elements; `p` must lie in [0, 100].
pub fn percentile(values: &[f64], p: f64) -> Result<f64, RuntimeError> {
    if !(0.0..=100.0).contains(&p) {
        return Err(RuntimeError::PercentileOutOfRange(p));
    }
    let v = non_empty(values, "percentile")?;
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Ok(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `val(v, i)`: element `i`, counting from 0; the index is truncated toward
/// zero, and an index outside the vector is an error.
pub fn val(values: &[f64], index: f64) -> Result<f64, RuntimeError> {
    let out_of_range = RuntimeError::IndexOutOfRange { index, len: values.len() };
    if !(index > -1.0 && index < values.len() as f64) {
        return Err(out_of_range);
    }
    values.get(index.trunc() as usize).copied().ok_or(out_of_range)
}

/// A list function: takes a flattened `doubleVecList`, returns a double.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ListFunction {
    Avg,
    Len,
    Max,
    Min,
    Norm,
    Range,
    Std,
    Sum,
}

impl ListFunction {
    /// Every list function; the index is its code in the C ABI.
    pub const ALL: [ListFunction; 8] = [
        ListFunction::Avg,
        ListFunction::Len,
        ListFunction::Max,
        ListFunction::Min,
        ListFunction::Norm,
        ListFunction::Range,
        ListFunction::Std,
        ListFunction::Sum,
    ];

    /// Applies the function to the flattened list.
    pub fn apply(self, values: &[f64]) -> Result<f64, RuntimeError> {
        match self {
            ListFunction::Avg => avg(values),
            ListFunction::Len => Ok(len(values)),
            ListFunction::Max => max(values),
            ListFunction::Min => min(values),
            ListFunction::Norm => norm(values),
            ListFunction::Range => range(values),
            ListFunction::Std => std(values),
            ListFunction::Sum => Ok(sum(values)),
        }
    }

    /// `self.apply(&[a, b])`, with `min` and `max` — the commonest calls,
    /// `min(25, x)` — computed directly: their fold from NaN over `[a, b]`
    /// is `larger(a, b)` or `smaller(a, b)`, since a NaN loses.
    #[inline]
    pub fn apply_pair(self, a: f64, b: f64) -> Result<f64, RuntimeError> {
        match self {
            ListFunction::Max => Ok(larger(a, b)),
            ListFunction::Min => Ok(smaller(a, b)),
            _ => self.apply(&[a, b]),
        }
    }
}

/// A logarithm of the language; on a `doubleVec` it applies element-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Log {
    /// `lg`: base 2.
    Binary,
    /// `ln`: base e.
    Natural,
    /// `log`: base 10.
    Decimal,
}

impl Log {
    /// The logarithm of one value (IEEE: negative → NaN, 0 → −inf).
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Log::Binary => x.log2(),
            Log::Natural => x.ln(),
            Log::Decimal => x.log10(),
        }
    }
}

impl Log {
    /// Every logarithm; the index is its code in the C ABI.
    pub const ALL: [Log; 3] = [Log::Binary, Log::Natural, Log::Decimal];
}

impl Rounding {
    /// Every rounding; the index is its code in the C ABI.
    pub const ALL: [Rounding; 3] = [Rounding::Ceil, Rounding::Floor, Rounding::Round];
}

/// A rounding function of the language (`ceil`, `floor`, `round`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// `ceil`: toward +inf.
    Ceil,
    /// `floor`: toward −inf.
    Floor,
    /// `round`: to nearest, halfway cases away from zero.
    Round,
}

impl Rounding {
    /// Rounds one value.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Rounding::Ceil => x.ceil(),
            Rounding::Floor => x.floor(),
            Rounding::Round => x.round(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates() {
        let v = [3.0, 1.0, 4.0, 1.0, 5.0];
        assert_eq!(avg(&v), Ok(2.8));
        assert_eq!(len(&v), 5.0);
        assert_eq!(max(&v), Ok(5.0));
        assert_eq!(min(&v), Ok(1.0));
        assert_eq!(range(&v), Ok(4.0));
        assert_eq!(sum(&v), 14.0);
        assert_eq!(norm(&[3.0, 4.0]), Ok(5.0));
        assert_eq!(std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).map(|s| (s * 1e6).round()), Ok(2_138_090.0));
        assert_eq!(std(&[42.0]), Ok(0.0));
    }

    #[test]
    fn min_and_max_skip_nan_and_order_the_zeros() {
        for (list, low, high) in [
            ([0.0, -0.0], -0.0_f64, 0.0_f64),
            ([-0.0, 0.0], -0.0, 0.0),
            ([f64::NAN, 2.0], 2.0, 2.0),
            ([2.0, f64::NAN], 2.0, 2.0),
            ([1.0, 2.0], 1.0, 2.0),
        ] {
            assert_eq!(min(&list).map(f64::to_bits), Ok(low.to_bits()), "min{list:?}");
            assert_eq!(max(&list).map(f64::to_bits), Ok(high.to_bits()), "max{list:?}");
        }
        assert!(min(&[f64::NAN, f64::NAN]).is_ok_and(f64::is_nan));
    }

    #[test]
    fn a_pair_gives_what_the_list_of_two_gives() {
        let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1.5, -2.0, f64::MIN_POSITIVE];
        for f in ListFunction::ALL {
            for a in specials {
                for b in specials {
                    let (pair, list) = (f.apply_pair(a, b), f.apply(&[a, b]));
                    assert_eq!(pair.map(f64::to_bits), list.map(f64::to_bits), "{f:?}({a}, {b})");
                }
            }
        }
    }

    #[test]
    fn empty_aggregates_fail_except_len_and_sum() {
        for (f, name) in [
            (avg as fn(&[f64]) -> _, "avg"),
            (max, "max"),
            (min, "min"),
            (norm, "norm"),
            (range, "range"),
            (std, "std"),
        ] {
            assert_eq!(f(&[]), Err(RuntimeError::EmptyAggregate { function: name }));
        }
        assert_eq!(percentile(&[], 50.0), Err(RuntimeError::EmptyAggregate { function: "percentile" }));
        assert_eq!(len(&[]), 0.0);
        assert_eq!(sum(&[]), 0.0);
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v = [15.0, 20.0, 35.0, 40.0, 50.0];
        assert_eq!(percentile(&v, 0.0), Ok(15.0));
        assert_eq!(percentile(&v, 5.0), Ok(15.0));
        assert_eq!(percentile(&v, 30.0), Ok(20.0));
        assert_eq!(percentile(&v, 40.0), Ok(20.0));
        assert_eq!(percentile(&v, 50.0), Ok(35.0));
        assert_eq!(percentile(&v, 100.0), Ok(50.0));
        assert_eq!(percentile(&v, 101.0), Err(RuntimeError::PercentileOutOfRange(101.0)));
        assert!(percentile(&v, f64::NAN).is_err());
    }

    #[test]
    fn val_indexes_from_zero() {
        let v = [10.0, 20.0];
        assert_eq!(val(&v, 0.0), Ok(10.0));
        assert_eq!(val(&v, 1.9), Ok(20.0));
        assert!(val(&v, 2.0).is_err());
        assert!(val(&v, -1.0).is_err());
        assert!(val(&v, f64::NAN).is_err());
    }
}
