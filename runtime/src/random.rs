//! `rand()`: a seeded stream, so that a simulation replays exactly.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random stream one evaluation draws `rand()` values from.
#[derive(Debug, Clone)]
pub struct Random(ChaCha8Rng);

impl Random {
    /// A stream that yields the same values for the same seed, on every platform.
    pub fn seeded(seed: u64) -> Self {
        Random(ChaCha8Rng::seed_from_u64(seed))
    }

    /// The next value, uniform in [0, 1).
    pub fn next_double(&mut self) -> f64 {
        self.0.random::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_in_unit_interval() {
        let mut a = Random::seeded(7);
        let mut b = Random::seeded(7);
        let mut c = Random::seeded(8);
        let xs: Vec<f64> = (0..100).map(|_| a.next_double()).collect();
        let ys: Vec<f64> = (0..100).map(|_| b.next_double()).collect();
        let zs: Vec<f64> = (0..100).map(|_| c.next_double()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
    }
}
