//! The optimiser of `tune`: constrained Bayesian optimisation on the
//! lattice of parameter values, and random search to measure it against.
//!
//! Every point is expensive (a simulation per seed) and its seed means are
//! noisy, some parameters are integers or lists, and the budget is a few
//! dozen points: the setting Bayesian optimisation is made for. The method:
//!
//! 1. A Latin hypercube of a few points (`2d + 2`, at most a third of the
//!    budget) spreads the first batch over every dimension.
//! 2. A Gaussian process ([`super::gp`]) is fitted to the objective, and one
//!    to each constraint's excess (how far past its limit, as a fraction).
//! 3. The next point is the lattice point, not yet evaluated, that
//!    maximises the expected improvement over the best feasible point times
//!    the probability that every constraint holds (before any point is
//!    feasible: that probability alone). Lattices over [`MAX_CANDIDATES`]
//!    points are searched on a fixed random subset plus the neighbours of
//!    the best point so far.
//! 4. A batch of `B` points is chosen at once, each assuming the previous
//!    ones gave their predicted values ("kriging believer"), so that the
//!    batch can run in parallel; then back to 2 until the budget is spent.
//!
//! Everything is seeded: the same settings and observations give the same
//! points, whatever the number of threads.

use std::collections::HashSet;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

use super::gp::{Gp, Prediction};
use super::space::{Point, Space};

/// The most lattice points scored for each choice.
pub const MAX_CANDIDATES: u64 = 4096;
/// Excesses beyond this (infinite ones included) are modelled as this:
/// the model needs finite values, and far from feasible is far enough.
const EXCESS_CAP: f64 = 10.0;

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Constrained Bayesian optimisation (the default).
    Bayes,
    /// Points drawn uniformly at random without repetition: the baseline.
    Random,
}

/// The search's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The method.
    pub method: Method,
    /// Points to evaluate in all (capped at the lattice's size).
    pub budget: usize,
    /// Points chosen and evaluated together.
    pub batch: usize,
    /// Seed of the initial design and the candidate subset.
    pub seed: u64,
}

/// What one point gave: seed means of the objective, and how far each
/// constraint is past its limit (`<= 0`: met).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The objective's seed mean.
    pub objective: f64,
    /// Each constraint's excess, in the order given.
    pub excess: Vec<f64>,
}

impl Observation {
    /// Whether every constraint is met.
    pub fn feasible(&self) -> bool {
        self.excess.iter().all(|e| *e <= 0.0)
    }

    /// The sum of the excesses past the limits: 0 when feasible.
    pub fn violation(&self) -> f64 {
        self.excess.iter().map(|e| e.max(0.0)).sum()
    }
}

/// Searches `space`, handing each batch of points to `evaluate`, which
/// returns their observations in order; returns every point evaluated
/// with its observation, in evaluation order.
pub fn search<E>(
    space: &Space,
    settings: Settings,
    mut evaluate: impl FnMut(&[Point]) -> Result<Vec<Observation>, E>,
) -> Result<Vec<(Point, Observation)>, E> {
    let budget = (settings.budget as u64).min(space.size()) as usize;
    let batch = settings.batch.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut done: Vec<(Point, Observation)> = Vec::with_capacity(budget);
    let mut seen: HashSet<u64> = HashSet::new();
    let mut first = match settings.method {
        Method::Bayes => latin_hypercube(space, initial_size(space.dims.len(), budget), &mut rng),
        Method::Random => Vec::new(),
    };
    let pool = candidates(space, &mut rng);
    while done.len() < budget {
        let room = batch.min(budget - done.len());
        // The initial design runs as one batch, whatever its size.
        let points: Vec<Point> = if !first.is_empty() {
            std::mem::take(&mut first)
        } else {
            match settings.method {
                Method::Bayes => next_batch(space, &pool, &done, &seen, room),
                Method::Random => random_points(space, &seen, room, &mut rng),
            }
        };
        if points.is_empty() {
            break;
        }
        seen.extend(points.iter().map(|p| space.index(p)));
        let observed = evaluate(&points)?;
        done.extend(points.into_iter().zip(observed));
    }
    Ok(done)
}

/// Size of the initial design: `2d + 2`, at most a third of the budget,
/// at least `d + 1` (and never more than the budget).
fn initial_size(dims: usize, budget: usize) -> usize {
    (2 * dims + 2).min(budget / 3).max(dims + 1).min(budget)
}

/// `n` distinct lattice points, one per stratum of every dimension; where
/// a dimension has fewer values than strata, duplicates are dropped and
/// replaced by random points.
fn latin_hypercube(space: &Space, n: usize, rng: &mut ChaCha8Rng) -> Vec<Point> {
    let mut columns: Vec<Vec<usize>> = Vec::with_capacity(space.dims.len());
    for dim in &space.dims {
        let mut strata: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            strata.swap(i, rng.random_range(0..=i));
        }
        let len = dim.values.len() as f64;
        columns.push(strata.iter().map(|&s| (((s as f64 + rng.random::<f64>()) / n as f64) * len) as usize).collect());
    }
    let mut seen = HashSet::new();
    let mut points: Vec<Point> = (0..n)
        .map(|j| columns.iter().zip(&space.dims).map(|(c, d)| c[j].min(d.values.len() - 1)).collect::<Point>())
        .filter(|p| seen.insert(space.index(p)))
        .collect();
    let missing = n - points.len();
    points.extend(random_points(space, &seen, missing, rng));
    points
}

/// Up to `n` lattice points drawn uniformly, none in `seen`, none twice.
fn random_points(space: &Space, seen: &HashSet<u64>, n: usize, rng: &mut ChaCha8Rng) -> Vec<Point> {
    let size = space.size();
    let left = size.saturating_sub(seen.len() as u64);
    let mut picked: HashSet<u64> = HashSet::new();
    let mut out = Vec::new();
    while (out.len() as u64) < left.min(n as u64) {
        let i = rng.random_range(0..size);
        if !seen.contains(&i) && picked.insert(i) {
            out.push(space.point(i));
        }
    }
    out
}

/// The lattice points the optimiser scores: all of them, or a fixed
/// random subset of [`MAX_CANDIDATES`].
fn candidates(space: &Space, rng: &mut ChaCha8Rng) -> Vec<Point> {
    if space.size() <= MAX_CANDIDATES {
        (0..space.size()).map(|i| space.point(i)).collect()
    } else {
        random_points(space, &HashSet::new(), MAX_CANDIDATES as usize, rng)
    }
}

/// The surrogate models: one for the objective, one per constraint.
struct Models {
    objective: Gp,
    excess: Vec<Gp>,
}

impl Models {
    fn fit(space: &Space, data: &[(Point, Observation)]) -> Models {
        let x: Vec<Vec<f64>> = data.iter().map(|(p, _)| space.coordinates(p)).collect();
        let objective = Gp::fit(&x, &data.iter().map(|(_, o)| o.objective).collect::<Vec<_>>());
        let constraints = data.first().map_or(0, |(_, o)| o.excess.len());
        let excess = (0..constraints)
            .map(|c| {
                let y: Vec<f64> = data.iter().map(|(_, o)| o.excess[c].clamp(-EXCESS_CAP, EXCESS_CAP)).collect();
                Gp::fit(&x, &y)
            })
            .collect();
        Models { objective, excess }
    }
}

/// The probability that a value predicted as `p` is at most 0.
fn probability_at_most_zero(p: Prediction, normal: &Normal) -> f64 {
    if p.sd <= 0.0 { if p.mean <= 0.0 { 1.0 } else { 0.0 } } else { normal.cdf(-p.mean / p.sd) }
}

/// The expected improvement of a value predicted as `p` below `best`.
fn expected_improvement(p: Prediction, best: f64, normal: &Normal) -> f64 {
    if p.sd <= 0.0 {
        return (best - p.mean).max(0.0);
    }
    let z = (best - p.mean) / p.sd;
    (best - p.mean) * normal.cdf(z) + p.sd * normal.pdf(z)
}

/// The next `n` points: each the candidate of highest acquisition, the
/// models refitted after each as if it had given its predicted values.
fn next_batch(
    space: &Space,
    pool: &[Point],
    done: &[(Point, Observation)],
    seen: &HashSet<u64>,
    n: usize,
) -> Vec<Point> {
    let Ok(normal) = Normal::new(0.0, 1.0) else { return Vec::new() };
    let mut data: Vec<(Point, Observation)> = done.to_vec();
    let best = done.iter().filter(|(_, o)| o.feasible()).min_by(|a, b| a.1.objective.total_cmp(&b.1.objective));
    let best_value = best.map(|(_, o)| o.objective);
    // The neighbours of the incumbent (or of the least violating point),
    // so that a large lattice is still searched finely where it matters.
    let anchor = best.or_else(|| done.iter().min_by(|a, b| a.1.violation().total_cmp(&b.1.violation())));
    let mut scored: Vec<Point> = pool.to_vec();
    if let Some((p, _)) = anchor {
        scored.extend(neighbours(space, p));
    }
    let mut taken: HashSet<u64> = seen.clone();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let models = Models::fit(space, &data);
        let mut choice: Option<(f64, f64, &Point)> = None;
        for p in &scored {
            if taken.contains(&space.index(p)) {
                continue;
            }
            let x = space.coordinates(p);
            let excess: Vec<Prediction> = models.excess.iter().map(|g| g.predict(&x)).collect();
            let feasible: f64 = excess.iter().map(|e| probability_at_most_zero(*e, &normal)).product();
            let score = match best_value {
                Some(b) => expected_improvement(models.objective.predict(&x), b, &normal) * feasible,
                None => feasible,
            };
            // Ties (every score 0 far from feasibility): the least predicted excess.
            let tie: f64 = -excess.iter().map(|e| e.mean.max(0.0)).sum::<f64>();
            if choice.is_none_or(|(s, t, _)| score > s || (score == s && tie > t)) {
                choice = Some((score, tie, p));
            }
        }
        let Some((_, _, p)) = choice else { break };
        let p = p.clone();
        taken.insert(space.index(&p));
        let x = space.coordinates(&p);
        let believed = Observation {
            objective: models.objective.predict(&x).mean,
            excess: models.excess.iter().map(|g| g.predict(&x).mean).collect(),
        };
        data.push((p.clone(), believed));
        out.push(p);
    }
    out
}

/// The lattice points one or two steps from `p` along one dimension.
fn neighbours(space: &Space, p: &[usize]) -> Vec<Point> {
    let mut out = Vec::new();
    for (k, dim) in space.dims.iter().enumerate() {
        for step in [-2i64, -1, 1, 2] {
            let i = p[k] as i64 + step;
            if (0..dim.values.len() as i64).contains(&i) {
                let mut q = p.to_vec();
                q[k] = i as usize;
                out.push(q);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(params: &[&str]) -> Space {
        Space::parse(&params.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    /// A cap-like problem: cost grows with the value, the wait falls; the
    /// cheapest feasible value is 23.
    fn cap(p: &Point) -> Observation {
        let v = p[0] as f64 + 1.0;
        Observation { objective: 10.0 + v, excess: vec![(23.0 - v) / 23.0] }
    }

    fn run(settings: Settings, s: &Space, f: fn(&Point) -> Observation) -> Vec<(Point, Observation)> {
        search(s, settings, |points: &[Point]| Ok::<_, ()>(points.iter().map(f).collect())).unwrap()
    }

    #[test]
    fn the_optimiser_finds_the_cheapest_feasible_cap_within_the_budget() {
        let s = space(&["formula.cap=1..40"]);
        for seed in 0..5 {
            let settings = Settings { method: Method::Bayes, budget: 15, batch: 2, seed };
            let trials = run(settings, &s, cap);
            assert_eq!(trials.len(), 15);
            let distinct: HashSet<u64> = trials.iter().map(|(p, _)| s.index(p)).collect();
            assert_eq!(distinct.len(), 15, "no point twice");
            let best = trials.iter().filter(|(_, o)| o.feasible()).map(|(p, _)| p[0] + 1).min();
            assert_eq!(best, Some(23), "seed {seed}: {trials:?}");
        }
    }

    #[test]
    fn the_search_is_reproducible_and_stops_at_the_lattice_size() {
        let s = space(&["formula.cap=1..40"]);
        let settings = Settings { method: Method::Bayes, budget: 12, batch: 3, seed: 9 };
        assert_eq!(run(settings, &s, cap), run(settings, &s, cap));
        let small = space(&["formula.cap=1..4"]);
        assert_eq!(run(Settings { budget: 50, ..settings }, &small, cap).len(), 4);
        let random = run(Settings { method: Method::Random, budget: 50, ..settings }, &small, cap);
        assert_eq!(random.len(), 4);
    }

    #[test]
    fn the_initial_design_covers_every_stratum() {
        assert_eq!((initial_size(1, 15), initial_size(2, 20), initial_size(1, 2)), (4, 6, 2));
        let s = space(&["a=0..39", "b=0..39"]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let points = latin_hypercube(&s, 4, &mut rng);
        for k in 0..2 {
            let mut strata: Vec<usize> = points.iter().map(|p| p[k] / 10).collect();
            strata.sort_unstable();
            assert_eq!(strata, [0, 1, 2, 3]);
        }
    }
}
