//! The parts of a job beyond its tasks: the service's special job tasks
//! (job manager, job preparation, job release) and how a task's run ends
//! (its exit code).

use std::collections::BTreeMap;

use rand::RngExt;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::Dist;

/// A job manager, preparation or release task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobTask {
    /// How long one run takes.
    pub duration: Dist,
    /// Probability that a run fails (0 to 1, default 0).
    #[serde(default)]
    pub failure_probability: f64,
    /// What a real agent runs (program and arguments, no shell); a
    /// simulated agent only waits `duration`.
    #[serde(default)]
    pub command_line: Option<String>,
}

impl JobTask {
    /// Draws one run: how long it takes and whether it succeeds.
    pub fn run(&self, rng: &mut ChaCha8Rng) -> (super::SimDuration, bool) {
        let took = self.duration.sample(rng);
        (took, self.succeeds(rng))
    }

    /// Draws whether one run succeeds.
    pub fn succeeds(&self, rng: &mut ChaCha8Rng) -> bool {
        !(self.failure_probability > 0.0 && rng.random_bool(self.failure_probability))
    }
}

/// How the runs of a job's tasks end: exit code 0 is success, anything
/// else a failure, as in the service.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitCodes {
    /// A run fails (exit code 1) with this probability.
    FailureProbability(f64),
    /// A run ends with `codes[i]` with probability proportional to its weight.
    Weighted {
        /// The codes.
        codes: Vec<i32>,
        /// Their weights, for drawing an index into `codes`.
        index: WeightedIndex<f64>,
    },
}

impl Default for ExitCodes {
    fn default() -> Self {
        ExitCodes::FailureProbability(0.0)
    }
}

impl ExitCodes {
    /// Reads the scenario's `exit_codes` table (`{ 0 = 95, 3 = 5 }`: code
    /// = relative weight), or an error message for its key.
    pub fn from_weights(table: BTreeMap<String, f64>) -> Result<ExitCodes, String> {
        let mut codes = Vec::with_capacity(table.len());
        let mut weights = Vec::with_capacity(table.len());
        for (code, weight) in table {
            let Ok(code) = code.parse::<i32>() else {
                return Err(format!("`{code}` is not an exit code; keys are integers such as 0 or 3"));
            };
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(format!("the weight of exit code {code} is {weight}; give a number at least 0"));
            }
            codes.push(code);
            weights.push(weight);
        }
        let index = WeightedIndex::new(&weights)
            .map_err(|_| "give at least one exit code with a weight above 0, e.g. { 0 = 95, 3 = 5 }".to_owned())?;
        Ok(ExitCodes::Weighted { codes, index })
    }

    /// Draws the exit code of one run. With a failure probability of 0
    /// nothing is drawn, so that a job without failures leaves its random
    /// stream untouched. Inlined: every task end draws, most often that
    /// nothing.
    #[inline]
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> i32 {
        match self {
            ExitCodes::FailureProbability(p) => i32::from(*p > 0.0 && rng.random_bool(*p)),
            ExitCodes::Weighted { codes, index } => codes[index.sample(rng)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn weights(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, w)| (k.to_string(), *w)).collect()
    }

    #[test]
    fn weighted_exit_codes_follow_their_weights() {
        let codes = ExitCodes::from_weights(weights(&[("0", 3.0), ("3", 1.0), ("-1", 0.0)])).unwrap();
        let mut r = ChaCha8Rng::seed_from_u64(7);
        let mut counts = BTreeMap::new();
        for _ in 0..40_000 {
            *counts.entry(codes.draw(&mut r)).or_insert(0u32) += 1;
        }
        assert_eq!(counts.get(&-1), None, "a code of weight 0 never comes out");
        let share = f64::from(counts[&3]) / 40_000.0;
        assert!((share - 0.25).abs() < 0.01, "code 3 came out {share} of the time, expected 0.25");
    }

    #[test]
    fn bad_exit_code_tables_are_refused_with_the_fix() {
        let e = ExitCodes::from_weights(weights(&[("ok", 1.0)])).unwrap_err();
        assert!(e.contains("`ok` is not an exit code"), "{e}");
        let e = ExitCodes::from_weights(weights(&[("0", -1.0)])).unwrap_err();
        assert!(e.contains("weight of exit code 0 is -1"), "{e}");
        let e = ExitCodes::from_weights(weights(&[("0", 0.0)])).unwrap_err();
        assert!(e.contains("at least one exit code with a weight above 0"), "{e}");
    }

    #[test]
    fn a_failure_probability_gives_exit_codes_0_and_1() {
        let mut r = ChaCha8Rng::seed_from_u64(1);
        assert!((0..100).all(|_| ExitCodes::FailureProbability(0.0).draw(&mut r) == 0));
        assert!((0..100).all(|_| ExitCodes::FailureProbability(1.0).draw(&mut r) == 1));
    }
}
