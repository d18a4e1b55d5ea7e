//! `compare` on one and on two worker threads: the parallel speed-up of
//! running formulas × seeds with rayon. Run with
//! `cargo bench --bench compare`.
//!
//! divan times each thread count on its own; on a virtual machine whose
//! speed drifts from second to second, the ratio of two medians measured a
//! few seconds apart is noisy. So after divan, the bench also measures
//! *paired* runs: one thread, then two, then two, then one, …, each pair
//! back to back, and prints the median of the per-pair ratios — the
//! speed-up the issue asks about (at least 1.7× on 2 cores).
//! `cargo bench --bench compare -- paired` runs that part alone.

use std::path::Path;
use std::time::{Duration, Instant};

use autoscale_sim::formula::Engine;
use autoscale_sim::report::compare::{CompareSpec, compare};

fn main() {
    divan::main();
    // Only under `cargo bench` (which passes `--bench`), unfiltered or
    // asked for by name: not under `cargo test --benches` or `--list`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if args.iter().any(|a| a == "--bench") && (filters.is_empty() || filters.iter().any(|f| *f == "paired")) {
        paired_speed_up(40);
    }
}

/// Two formulas × 16 seeds of the bursty day: 32 independent runs of
/// about 3 ms. Work-stealing leaves at most one run for one thread alone at
/// the end, so with few runs that tail, not the parallel part, would
/// decide the ratio; `compare`'s default is 10 seeds per formula.
fn spec(threads: usize) -> CompareSpec {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    CompareSpec {
        scenario: root.join("simulations/bursty-day.toml"),
        formulas: vec![
            root.join("simulations/formulas/pending-tasks.formula"),
            root.join("simulations/compare/pending-tasks-10.formula"),
        ],
        seeds: 16,
        engine: Engine::Jit,
        threads: Some(threads),
    }
}

fn run(threads: usize) {
    match compare(&spec(threads), &|| {}) {
        Ok(c) => {
            divan::black_box(c);
        }
        Err(e) => panic!("the bundled comparison fails: {e}"),
    }
}

#[divan::bench(args = [1, 2], sample_count = 10, sample_size = 1)]
fn bursty_day_2_formulas_16_seeds(threads: usize) {
    run(threads);
}

fn timed(threads: usize) -> Duration {
    let start = Instant::now();
    run(threads);
    start.elapsed()
}

/// The value at quantile `q` of sorted `values` (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Prints the median and quartiles of `pairs` one-thread/two-thread time
/// ratios. The order inside a pair alternates so that a drift in machine
/// speed favours neither side; two warm-up pairs are not counted.
fn paired_speed_up(pairs: usize) {
    for _ in 0..2 {
        timed(1);
        timed(2);
    }
    let mut ratios = Vec::with_capacity(pairs);
    let (mut one, mut two) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for i in 0..pairs {
        let (t1, t2) = if i % 2 == 0 {
            let t1 = timed(1);
            (t1, timed(2))
        } else {
            let t2 = timed(2);
            (timed(1), t2)
        };
        one.push(t1.as_secs_f64() * 1e3);
        two.push(t2.as_secs_f64() * 1e3);
        ratios.push(t1.as_secs_f64() / t2.as_secs_f64());
    }
    for v in [&mut ratios, &mut one, &mut two] {
        v.sort_by(f64::total_cmp);
    }
    println!();
    println!("paired speed-up, {pairs} back-to-back pairs of 1 and 2 threads:");
    println!("  1 thread  median {:.1} ms, 2 threads median {:.1} ms", quantile(&one, 0.5), quantile(&two, 0.5));
    println!(
        "  speed-up  median {:.2}×  (quartiles {:.2}× – {:.2}×)",
        quantile(&ratios, 0.5),
        quantile(&ratios, 0.25),
        quantile(&ratios, 0.75)
    );
}
