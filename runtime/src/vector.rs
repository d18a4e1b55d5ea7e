//! Element-wise arithmetic on `doubleVec` values.

use crate::RuntimeError;

/// A binary arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (IEEE: division by zero gives ±inf or NaN)
    Div,
}

impl Arith {
    /// Every operator; the index is its code in the C ABI.
    pub const ALL: [Arith; 4] = [Arith::Add, Arith::Sub, Arith::Mul, Arith::Div];

    /// Applies the operator to two doubles.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            Arith::Add => a + b,
            Arith::Sub => a - b,
            Arith::Mul => a * b,
            Arith::Div => a / b,
        }
    }

    /// `v ∘ s` for every element of `v`.
    pub fn vector_scalar(self, v: &[f64], s: f64) -> Vec<f64> {
        v.iter().map(|&x| self.apply(x, s)).collect()
    }

    /// `s ∘ v` for every element of `v`.
    pub fn scalar_vector(self, s: f64, v: &[f64]) -> Vec<f64> {
        v.iter().map(|&x| self.apply(s, x)).collect()
    }

    /// `a ∘ b` pairwise; the vectors must have the same length.
    pub fn vector_vector(self, a: &[f64], b: &[f64]) -> Result<Vec<f64>, RuntimeError> {
        if a.len() != b.len() {
            return Err(RuntimeError::LengthMismatch { left: a.len(), right: b.len() });
        }
        Ok(a.iter().zip(b).map(|(&x, &y)| self.apply(x, y)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_wise() {
        assert_eq!(Arith::Sub.vector_scalar(&[5.0, 7.0], 1.0), [4.0, 6.0]);
        assert_eq!(Arith::Sub.scalar_vector(10.0, &[5.0, 7.0]), [5.0, 3.0]);
        assert_eq!(Arith::Div.vector_vector(&[1.0, 1.0], &[2.0, 0.0]), Ok(vec![0.5, f64::INFINITY]));
        assert_eq!(
            Arith::Add.vector_vector(&[1.0], &[1.0, 2.0]),
            Err(RuntimeError::LengthMismatch { left: 1, right: 2 })
        );
    }
}
