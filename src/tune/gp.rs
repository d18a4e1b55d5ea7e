//! A small Gaussian process: the surrogate model of `tune`'s optimiser.
//!
//! Inputs are points of [0, 1]^d; outputs are standardised before the fit.
//! The kernel is Matérn 5/2 (smooth enough to extrapolate a trend, rough
//! enough for the kinks a cap or a threshold makes) with one length scale
//! for every dimension, plus a nugget for the noise that different
//! constants leave in a seed mean. The length scale and the nugget are
//! chosen among a few values by the marginal likelihood, with the signal
//! variance at its closed-form maximum. With a few dozen points at most,
//! the dense Cholesky factorisation below costs microseconds.

/// Length scales tried, in units of the whole range of a dimension.
const LENGTHS: [f64; 6] = [0.05, 0.1, 0.2, 0.35, 0.6, 1.0];
/// Nuggets tried, as a fraction of the signal variance.
const NUGGETS: [f64; 3] = [1e-6, 1e-3, 1e-1];

/// A fitted process.
#[derive(Debug, Clone)]
pub struct Gp {
    x: Vec<Vec<f64>>,
    /// `K⁻¹ y` (standardised `y`).
    alpha: Vec<f64>,
    /// The lower Cholesky factor of `K`, row by row.
    chol: Vec<Vec<f64>>,
    length: f64,
    /// The signal variance (standardised units).
    variance: f64,
    mean: f64,
    scale: f64,
}

/// A prediction: mean and standard deviation of the latent function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (noise excluded).
    pub sd: f64,
}

fn matern52(a: &[f64], b: &[f64], length: f64) -> f64 {
    let r = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt() / length;
    let s = 5f64.sqrt() * r;
    (1.0 + s + s * s / 3.0) * (-s).exp()
}

/// The lower Cholesky factor of the symmetric matrix `k`, or `None` when
/// it is not positive definite.
fn cholesky(k: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = k.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|m| l[i][m] * l[j][m]).sum();
            if i == j {
                let d = k[i][i] - sum;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (k[i][j] - sum) / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solves `L z = b` (forward substitution).
fn forward(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let mut z = vec![0.0; b.len()];
    for i in 0..b.len() {
        let sum: f64 = (0..i).map(|m| l[i][m] * z[m]).sum();
        z[i] = (b[i] - sum) / l[i][i];
    }
    z
}

/// Solves `Lᵀ z = b` (back substitution).
fn backward(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut z = vec![0.0; n];
    for i in (0..n).rev() {
        let sum: f64 = (i + 1..n).map(|m| l[m][i] * z[m]).sum();
        z[i] = (b[i] - sum) / l[i][i];
    }
    z
}

impl Gp {
    /// Fits `y` at `x` (at least one point, all finite), choosing the
    /// hyperparameters by the marginal likelihood.
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Gp {
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let scale = if sd > 0.0 { sd } else { 1.0 };
        let z: Vec<f64> = y.iter().map(|v| (v - mean) / scale).collect();
        let mut best: Option<(f64, Gp)> = None;
        for length in LENGTHS {
            for nugget in NUGGETS {
                let Some(gp) = Gp::with(x, &z, length, nugget, mean, scale) else { continue };
                // log p(z) with the variance at its maximum: -n/2 log σ² - log|L|.
                let log_det: f64 = gp.chol.iter().enumerate().map(|(i, row)| row[i].ln()).sum();
                let score = -0.5 * n * gp.variance.max(1e-300).ln() - log_det;
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((score, gp));
                }
            }
        }
        // The largest nugget keeps any kernel matrix positive definite.
        best.map(|(_, gp)| gp).unwrap_or_else(|| Gp::constant(x, mean, scale))
    }

    /// The process with these hyperparameters, if its matrix factorises.
    fn with(x: &[Vec<f64>], z: &[f64], length: f64, nugget: f64, mean: f64, scale: f64) -> Option<Gp> {
        let k: Vec<Vec<f64>> = x
            .iter()
            .enumerate()
            .map(|(i, a)| {
                x.iter().enumerate().map(|(j, b)| matern52(a, b, length) + if i == j { nugget } else { 0.0 }).collect()
            })
            .collect();
        let chol = cholesky(&k)?;
        let alpha = backward(&chol, &forward(&chol, z));
        let variance = (z.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>() / z.len() as f64).max(1e-12);
        Some(Gp { x: x.to_vec(), alpha, chol, length, variance, mean, scale })
    }

    /// A flat model, should no kernel factorise (not expected).
    fn constant(x: &[Vec<f64>], mean: f64, scale: f64) -> Gp {
        Gp { x: x.to_vec(), alpha: vec![0.0; x.len()], chol: Vec::new(), length: 1.0, variance: 1.0, mean, scale }
    }

    /// The prediction at `p`.
    pub fn predict(&self, p: &[f64]) -> Prediction {
        if self.chol.is_empty() {
            return Prediction { mean: self.mean, sd: self.scale };
        }
        let k: Vec<f64> = self.x.iter().map(|a| matern52(a, p, self.length)).collect();
        let mean = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum::<f64>();
        let v = forward(&self.chol, &k);
        let var = (1.0 - v.iter().map(|a| a * a).sum::<f64>()).max(0.0) * self.variance;
        Prediction { mean: self.mean + self.scale * mean, sd: self.scale * var.sqrt() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        let k = vec![vec![4.0, 2.0], vec![2.0, 3.0]];
        let l = cholesky(&k).unwrap();
        assert_eq!(l, vec![vec![2.0, 0.0], vec![1.0, 2f64.sqrt()]]);
        // K [1, 2] = [8, 8].
        let z = backward(&l, &forward(&l, &[8.0, 8.0]));
        assert!((z[0] - 1.0).abs() < 1e-12 && (z[1] - 2.0).abs() < 1e-12, "{z:?}");
        assert_eq!(cholesky(&[vec![1.0, 2.0], vec![2.0, 1.0]]), None);
    }

    #[test]
    fn the_fit_goes_through_smooth_data_and_is_unsure_far_from_it() {
        let x: Vec<Vec<f64>> = (0..6).map(|i| vec![f64::from(i) / 10.0]).collect();
        let y: Vec<f64> = x.iter().map(|p| 10.0 + 3.0 * p[0]).collect();
        let gp = Gp::fit(&x, &y);
        let at = gp.predict(&[0.2]);
        assert!((at.mean - 10.6).abs() < 1e-3 && at.sd < 1e-2, "{at:?}");
        let between = gp.predict(&[0.25]);
        assert!((between.mean - 10.75).abs() < 0.05, "{between:?}");
        assert!(gp.predict(&[1.0]).sd > 10.0 * between.sd, "{:?}", gp.predict(&[1.0]));
    }

    #[test]
    fn a_single_point_or_flat_data_fits() {
        let gp = Gp::fit(&[vec![0.5]], &[7.0]);
        assert_eq!(gp.predict(&[0.5]).mean, 7.0);
        let gp = Gp::fit(&[vec![0.0], vec![1.0]], &[2.0, 2.0]);
        assert!((gp.predict(&[0.5]).mean - 2.0).abs() < 1e-9);
    }
}
